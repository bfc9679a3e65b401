//! `etc/prosody/prosody.cfg.lua`: the Prosody configuration of the pod.
//!
//! The file Prose's own Pod API would write for the same `prose.toml` (reference
//! `prose-pod-upstream.md` §2), with upstream's bugs fixed, built as a typed Lua model
//! ([`lua`]) and printed by code that escapes every string, so no value can become code.
//!
//! # How a section's options are layered (lowest first)
//! 1. Prose's **baseline** for the section ([`generate`]).
//! 2. `prosody.<host>.defaults`.
//! 3. The **configured** settings: those that render a `prose.toml` key (domain, ports, log
//!    level, every `server.defaults.*` key, `auth.token_ttl`, `public_contacts`, the debug
//!    switch), then the modules features enable (upstream's `enable_module`).
//! 4. `prosody.<host>.overrides`: they win, and may add options.
//! 5. Global only: `prosody_ext.additional_modules_enabled`, enabled after everything else
//!    (as the configuration reference says).
//!
//! Each layer merges into the one below as the layers of `prose.toml` do: tables (`limits`,
//! `ssl`, `contact_info`, `log`, passthrough tables) key by key, anything else (lists
//! included) replaced. So `limits.c2s = { rate = "100kB/s" }` changes the c2s rate and keeps
//! its burst. `<host>` is `global`, or the hostname of a generated VirtualHost or Component;
//! any other hostname is an error listing the sections.
//!
//! # Security by construction
//! The settings the audit report calls critical (`c2s_require_encryption = false`,
//! `s2s_require_encryption = false`, `s2s_secure_auth = false`,
//! `allow_unencrypted_plain_auth = true`, `legacyauth` in `modules_enabled`) are never
//! generated, except the two that `debug_use_at_your_own_risk.c2s_unencrypted = true` asks
//! for. An operator who writes one in `prosody.<host>.defaults|overrides` (or enables
//! `legacyauth` through `prosody_ext`) made an explicit choice: it is rendered, with a
//! `-- WARNING:` comment above it naming the `prose.toml` key, and the audit command flags it.

pub mod convert;
pub mod generate;
pub mod layout;
pub mod lua;
pub mod overrides;
pub mod settings;

use crate::config::keys;
use generate::{ListOp, SectionPlan};
use lua::Value;
use settings::{Origin, Settings};

use super::{GeneratedFile, RenderContext};
use crate::config::formats;
use crate::config::prosody::ProsodySettings;
use crate::diagnostics::source::Span;
use crate::diagnostics::{Diagnosed, Diagnostic, code};
use crate::provenance::dotted;

/// Where the file goes in the output tree.
pub const PATH: &str = "etc/prosody/prosody.cfg.lua";
/// World-readable unless it holds a secret: Prosody runs as the pod's own user (uid 1001 in
/// the server container) and must read it after `rsync -a`.
pub const MODE: u32 = 0o644;
/// With a secret (`http_file_share_secret`, an `sql` or `ssl` password, …): owner and group only.
pub const SECRET_MODE: u32 = 0o640;

/// Whether any `prosody.<host>` option names a secret, at any depth: a key of a table option,
/// or of a table inside an array (`external_services = [{ secret = "…" }]`).
fn holds_secret(ctx: &RenderContext) -> bool {
    let hosts = ctx.tree.get_path(keys::PROSODY.path());
    let sections = hosts.and_then(|h| h.as_table()).into_iter().flat_map(|t| t.values());
    let mut options = sections.flat_map(|s| s.as_table().into_iter().flat_map(|t| t.values()));
    options.any(|layer| layer.any_key(&crate::diagnostics::is_secret_key))
}
/// The first line: the Pod Server backs up any configuration that does not start with it.
pub const FIRST_LINE: &str = "-- Prose Pod Server";

/// The target: `etc/prosody/prosody.cfg.lua`, printed from the typed Lua model.
pub struct ProsodyConfig;

impl super::Target for ProsodyConfig {
    fn name(&self) -> &'static str {
        "prosody"
    }
    fn paths(&self) -> &'static [&'static str] {
        &[PATH]
    }
    fn checks(&self) -> &'static [super::Check] {
        use super::{Check, Validator};
        &[
            Check {
                files: PATH,
                validator: Validator::Luac,
            },
            Check {
                files: PATH,
                validator: Validator::Prosodyctl,
            },
        ]
    }
    fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        render(ctx)
    }
}

pub fn render(ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
    let file = build(ctx)?;
    Ok(vec![GeneratedFile {
        path: PATH.into(),
        contents: file.print().into_bytes(),
        mode: if holds_secret(ctx) { SECRET_MODE } else { MODE },
    }])
}

/// The span of a key, for a label on the key itself (falls back to its value).
fn key_span(ctx: &RenderContext, path: &[&str]) -> Option<Span> {
    ctx.tree
        .get_path(path)
        .and_then(|n| n.key_span.or_else(|| n.origin.span()))
}

/// The span of a value (falls back to its key).
fn value_span(ctx: &RenderContext, path: &[&str]) -> Option<Span> {
    ctx.tree
        .get_path(path)
        .and_then(|n| n.origin.span().or(n.key_span))
}

/// The section a `prosody.<host>` key names: `global`, or a hostname compared in its ASCII form
/// (so `xn--bcher-kva.example` names the `bücher.example` VirtualHost).
fn find_section(plans: &[SectionPlan], key: &str) -> Option<usize> {
    if key == "global" {
        return plans.iter().position(|p| p.host.is_none());
    }
    let ascii = |h: &str| formats::hostname(h).unwrap_or_else(|_| h.to_owned());
    let wanted = ascii(key);
    plans
        .iter()
        .position(|p| p.host.as_deref().is_some_and(|h| ascii(h) == wanted))
}

fn no_section(ctx: &RenderContext, plans: &[SectionPlan], key: &str) -> Diagnostic {
    let list: Vec<String> = plans
        .iter()
        .map(|p| match &p.kind {
            None => "`global`".to_owned(),
            Some(lua::SectionKind::VirtualHost) => format!("`{}` (VirtualHost)", p.label()),
            Some(lua::SectionKind::Component { plugin }) => {
                format!("`{}` (Component \"{plugin}\")", p.label())
            }
        })
        .collect();
    let mut help = format!("the generated sections are: {}", list.join(", "));
    if key == crate::config::model::UPLOAD_HOST {
        help.push_str(
            "; the upload component exists only while `server.defaults.file_upload_allowed = true`",
        );
    }
    Diagnostic::error(
        code::PROSODY_HOST,
        format!(
            "`{}` names no section of the Prosody configuration",
            dotted(&["prosody", key])
        ),
    )
    .key(dotted(&["prosody", key]))
    .at(
        key_span(ctx, &["prosody", key]),
        "no such VirtualHost or Component",
    )
    .help(help)
}

/// One `defaults` or `overrides` table as Lua options, or diagnostics at the bad values.
fn user_options(
    ctx: &RenderContext,
    settings: &ProsodySettings,
    key: &[&str],
) -> Diagnosed<Vec<(String, Value)>> {
    overrides::options(settings).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| {
                let mut path: Vec<&str> = key.to_vec();
                path.extend(p.path.iter().map(String::as_str));
                Diagnostic::error(
                    code::PROSODY_VALUE,
                    format!("`{}` has no Prosody form: {}", dotted(&path), p.message),
                )
                .key(dotted(&path))
                .at(value_span(ctx, &path), "not representable")
            })
            .collect()
    })
}

/// Global-only options set for a host: Prosody ignores them there (and `prosodyctl check
/// config` fails), so they are errors rather than settings that silently do nothing.
fn misplaced(ctx: &RenderContext, options: &[(String, Value)], key: &[&str; 3]) -> Vec<Diagnostic> {
    options
        .iter()
        .filter(|(name, _)| layout::is_global_only(name))
        .map(|(name, _)| {
            let path = [key[0], key[1], key[2], name.as_str()];
            Diagnostic::error(
                code::PROSODY_GLOBAL_OPTION,
                format!(
                    "`{name}` is a global Prosody option: Prosody ignores it under `{}`",
                    key[1]
                ),
            )
            .key(dotted(&path))
            .at(key_span(ctx, &path), "global option set for a host")
            .help(format!(
                "move it to `[prosody.global.{}]`, where it applies to every host",
                key[2]
            ))
        })
        .collect()
}

/// Options Prosody no longer reads: `prosodyctl check config` reports them, and they do
/// nothing, so they are errors with what to write instead.
fn retired(ctx: &RenderContext, options: &[(String, Value)], key: &[&str; 3]) -> Vec<Diagnostic> {
    options
        .iter()
        .filter_map(|(name, _)| Some((name, layout::retired(name)?)))
        .map(|(name, instead)| {
            let path = [key[0], key[1], key[2], name.as_str()];
            Diagnostic::error(
                code::PROSODY_RETIRED_OPTION,
                format!("`{name}` is obsolete: Prosody no longer reads it"),
            )
            .key(dotted(&path))
            .at(key_span(ctx, &path), "obsolete option")
            .help(instead)
        })
        .collect()
}

/// Why a setting weakens security (the audit report's critical findings), if it does.
pub fn weakens_security(name: &str, value: &Value) -> Option<&'static str> {
    let truthy = matches!(value, Value::Bool(true) | Value::Integer(1))
        || matches!(value, Value::String(s) if s == "true");
    let falsy = matches!(value, Value::Bool(false) | Value::Integer(0))
        || matches!(value, Value::String(s) if s == "false");
    match name {
        "c2s_require_encryption" if falsy => Some("clients may connect without encryption"),
        "s2s_require_encryption" if falsy => Some("servers may connect without encryption"),
        "s2s_secure_auth" if falsy => {
            Some("remote servers may authenticate with dialback instead of a certificate")
        }
        "allow_unencrypted_plain_auth" if truthy => {
            Some("passwords may be sent over unencrypted connections")
        }
        "modules_enabled" | "modules_disabled" => match value {
            Value::List(items)
                if name == "modules_enabled" && items.contains(&Value::string("legacyauth")) =>
            {
                Some("legacy authentication (mod_legacyauth, XEP-0078) is enabled")
            }
            _ => None,
        },
        _ => None,
    }
}

/// Adds a `-- WARNING:` comment above every setting that weakens security, naming its source.
fn annotate_security(ctx: &RenderContext, settings: &mut Settings) {
    let ext = &ctx.config.prosody_ext.additional_modules_enabled;
    for (name, entry) in settings.entries.iter_mut() {
        let Some(why) = weakens_security(name, &entry.value) else {
            continue;
        };
        let source = if name == "modules_enabled" && ext.iter().any(|m| m.0 == "legacyauth") {
            "set by `prosody_ext.additional_modules_enabled` in prose.toml".to_owned()
        } else {
            match &entry.origin {
                Origin::User(path) => format!("set by `{}` in prose.toml", dotted(path)),
                Origin::Generated => {
                    "asked for by `debug_use_at_your_own_risk.c2s_unencrypted = true`".to_owned()
                }
            }
        };
        entry
            .comments
            .push(format!("WARNING: weakens security, {why}: {source}"));
    }
}

fn apply(settings: &mut Settings, op: &ListOp) {
    match op {
        ListOp::Add(option, item) => settings.list_add(option, item),
        ListOp::Remove(option, item) => settings.list_remove(option, item),
    }
}

/// The operator's option tables for one section, each with the key it was written under
/// (`["prosody", host, "defaults" | "overrides"]`).
type UserTables<'a> = Vec<(Vec<(String, Value)>, [&'a str; 3])>;

/// The typed Lua file for the context's configuration.
pub fn build(ctx: &RenderContext) -> Diagnosed<lua::File> {
    let config = ctx.config;
    let (plans, mut errors) = generate::plan(&generate::Ctx {
        config,
        tree: Some(ctx.tree),
    });

    // The operator's tables, by section, in the order written.
    let mut defaults: Vec<UserTables> = vec![Vec::new(); plans.len()];
    let mut overrides = defaults.clone();
    for (host, tables) in &config.prosody {
        let Some(index) = find_section(&plans, host) else {
            errors.push(no_section(ctx, &plans, host));
            continue;
        };
        for (part, table, into) in [
            ("defaults", &tables.defaults, &mut defaults[index]),
            ("overrides", &tables.overrides, &mut overrides[index]),
        ] {
            let Some(table) = table else { continue };
            let key = ["prosody", host.as_str(), part];
            match user_options(ctx, table, &key) {
                Ok(options) => {
                    if plans[index].host.is_some() {
                        errors.extend(misplaced(ctx, &options, &key));
                    }
                    errors.extend(retired(ctx, &options, &key));
                    into.push((options, key));
                }
                Err(e) => errors.extend(e),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut global_groups = Vec::new();
    let mut sections = Vec::new();
    for ((plan, defaults), overrides) in plans.into_iter().zip(defaults).zip(overrides) {
        let SectionPlan {
            host,
            kind,
            baseline,
            configured,
            ops,
        } = plan;
        let mut s = baseline;
        for (options, key) in defaults {
            s.merge_user(options, &key);
        }
        s.merge_generated(configured);
        for op in &ops {
            apply(&mut s, op);
        }
        for (options, key) in overrides {
            s.merge_user(options, &key);
        }
        if host.is_none() {
            for module in &config.prosody_ext.additional_modules_enabled {
                s.list_add("modules_enabled", &module.0);
                s.list_remove("modules_disabled", &module.0);
            }
        }
        annotate_security(ctx, &mut s);
        let groups = match s.into_groups() {
            Ok(groups) => groups,
            Err(bad_names) => {
                for (origin, e) in bad_names {
                    let mut d = Diagnostic::error(code::PROSODY_OPTION, e.message).help(e.help);
                    if let Origin::User(path) = &origin {
                        let path: Vec<&str> = path.iter().map(String::as_str).collect();
                        d = d
                            .key(dotted(&path))
                            .at(key_span(ctx, &path), "not an option name");
                    }
                    errors.push(d);
                }
                continue;
            }
        };
        match (host, kind) {
            (Some(host), Some(kind)) => sections.push(lua::Section { host, kind, groups }),
            _ => global_groups = groups,
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(lua::File {
        header: vec![
            FIRST_LINE.trim_start_matches("-- ").to_owned(),
            "XMPP Server Configuration".to_owned(),
            ctx.notice(),
            "/!\\ Edit prose.toml and run `prose-compile build`: changes made here are overwritten."
                .to_owned(),
        ],
        global: global_groups,
        sections,
    })
}
