//! `etc/prosody/prosody.cfg.lua`: the Prosody configuration of the pod.
//!
//! The Pod API rewrites this file from `/etc/prose/prose.toml` at every start and on every
//! Dashboard change (prose-pod-api 0.20.0, `init_server_config` and `save_config`), so the file
//! generated here is the one **the Pod API will write** for the installed `prose.toml`: the
//! operator's, plus the entries prose-compile carries ([`carry`]). It is built step by step as
//! upstream's `prosody_config_from_db_` builds it for a pristine database ([`generate`]) and
//! printed byte for byte as upstream prints it ([`lua`], [`layout`]), from a typed Lua model
//! in which every string is escaped, so no value can become code.
//!
//! # How the operator's `prosody.<host>` tables apply (upstream's merge rules)
//! Per section, per option, whole values (a table or list replaces Prose's):
//! - `global` and `upload.prose.local`: `defaults` keep only the options they name, with
//!   Prose's value where Prose sets one, and drop Prose's others (an error here:
//!   [`pod_api::drops_baseline`]); `overrides` set options, replacing or adding. Then
//!   upstream's `base_global_settings` fills in what the global section lacks.
//! - the VirtualHost and the chat rooms: `defaults` fill in options Prose does not generate,
//!   `overrides` replace options Prose generates; anything else is ignored (warnings).
//! - Then the steps driven by `server.defaults` (push notifications, federation, the debug
//!   switch, the upload component, archiving, `prosody_ext.additional_modules_enabled`)
//!   assign their values over the operator's (warnings name what they replace).
//!
//! `<host>` is `global`, or the hostname of a generated VirtualHost or Component (compared as
//! domain names); any other hostname is an error listing the sections.
//!
//! # Differences from the Pod API's own file
//! - Carried, so the API writes them too ([`carry`]): `tls_profile`, `https_ports = {}`, the
//!   modules without `posix`, the chat rooms' retention, the exact upload retention, the
//!   upload URL at `pod.address.domain`.
//! - Not carriable, so written as the API writes them, with a diagnostic ([`pod_api`]):
//!   `s2s_secure_auth = false` with federation on, the archive retention rounded down, the MAM
//!   and s2s options the API assigns after the overrides.
//! - Only in this file: the header naming prose-compile, `-- WARNING:` comments, and the Lua
//!   escapes of strings with control characters (the API prints Rust's `{:?}`).
//!
//! # Security by construction
//! The settings the audit report calls critical (`c2s_require_encryption = false`,
//! `s2s_require_encryption = false`, `s2s_secure_auth = false`,
//! `allow_unencrypted_plain_auth = true`, `legacyauth` in `modules_enabled`) are written only
//! when the operator asks (a `prosody.<host>` option, `prosody_ext`, or
//! `debug_use_at_your_own_risk.c2s_unencrypted`) or when the Pod API writes them whatever the
//! configuration says (`s2s_secure_auth = false` with federation on). Each gets a
//! `-- WARNING:` comment above it naming its source, and the audit command flags it.

pub mod carry;
pub mod convert;
pub mod generate;
pub mod layout;
pub mod lua;
pub mod overrides;
pub mod pod_api;
pub mod settings;

use crate::config::keys;
use generate::Section;
use lua::Value;
use pod_api::POD_API;
use settings::{Origin, Settings, UserOption};

use super::{GeneratedFile, RenderContext};
use crate::config::formats;
use crate::config::model::UPLOAD_HOST;
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
    fn warnings(&self, ctx: &RenderContext) -> Vec<Diagnostic> {
        generate_file(ctx)
            .diagnostics
            .iter()
            .filter(|d| !d.is_error())
            .cloned()
            .collect()
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

/// The entries prose-compile carries to the Pod API in the installed `prose.toml`'s
/// `prosody.<host>.overrides` (see [`carry`]), for the `prose.toml` target.
pub fn carried_overrides(ctx: &RenderContext) -> Vec<carry::Carried> {
    carry::carried_overrides(&generate::Ctx {
        config: ctx.config,
        tree: Some(ctx.tree),
    })
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

/// Whether the `prosody` table key `key` names the section `host` (`global`, or a hostname
/// compared in its ASCII form, so `xn--bcher-kva.example` names the `bücher.example`
/// VirtualHost; the API compares parsed domain names).
pub(crate) fn same_host(key: &str, host: &str) -> bool {
    if key == "global" || host == "global" {
        return key == host;
    }
    let ascii = |h: &str| {
        formats::hostname(h)
            .unwrap_or_else(|_| h.to_owned())
            .to_ascii_lowercase()
    };
    ascii(key) == ascii(host)
}

/// A section the Pod API writes, known before it is generated.
struct Slot {
    which: pod_api::Section,
    /// `global` or the hostname.
    host: String,
    kind: Option<lua::SectionKind>,
}

fn slots(ctx: &generate::Ctx<'_>) -> Vec<Slot> {
    let mut slots = vec![
        Slot {
            which: pod_api::Section::Global,
            host: "global".into(),
            kind: None,
        },
        Slot {
            which: pod_api::Section::Host,
            host: ctx.domain(),
            kind: Some(lua::SectionKind::VirtualHost),
        },
        Slot {
            which: pod_api::Section::Groups,
            host: ctx.groups_domain(),
            kind: Some(lua::SectionKind::Component {
                plugin: generate::MUC_PLUGIN.into(),
            }),
        },
    ];
    if ctx.config.server.defaults.file_upload_allowed {
        slots.push(Slot {
            which: pod_api::Section::Upload,
            host: UPLOAD_HOST.into(),
            kind: Some(lua::SectionKind::Component {
                plugin: generate::UPLOAD_PLUGIN.into(),
            }),
        });
    }
    slots
}

fn no_section(ctx: &RenderContext, slots: &[Slot], key: &str) -> Diagnostic {
    let list: Vec<String> = slots
        .iter()
        .map(|p| match &p.kind {
            None => "`global`".to_owned(),
            Some(lua::SectionKind::VirtualHost) => format!("`{}` (VirtualHost)", p.host),
            Some(lua::SectionKind::Component { plugin }) => {
                format!("`{}` (Component \"{plugin}\")", p.host)
            }
        })
        .collect();
    let mut help = format!("the generated sections are: {}", list.join(", "));
    if key == UPLOAD_HOST {
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

/// One `defaults` or `overrides` table as options, or diagnostics at the values the Pod API
/// refuses.
fn user_options(
    ctx: &RenderContext,
    settings: &ProsodySettings,
    key: &[&str; 3],
) -> Diagnosed<Vec<UserOption>> {
    match overrides::options(settings) {
        Ok(options) => Ok(options
            .into_iter()
            .map(|(name, value)| {
                let mut path: Vec<String> = key.iter().map(|s| (*s).to_owned()).collect();
                path.push(name.clone());
                UserOption {
                    name,
                    value,
                    origin: Origin::User(path),
                }
            })
            .collect()),
        Err(problems) => Err(problems
            .into_iter()
            .map(|p| {
                let mut path: Vec<&str> = key.to_vec();
                path.extend(p.path.iter().map(String::as_str));
                Diagnostic::error(
                    code::PROSODY_VALUE,
                    format!(
                        "{POD_API} refuses `{}` and would not start: {}",
                        dotted(&path),
                        p.message
                    ),
                )
                .key(dotted(&path))
                .at(value_span(ctx, &path), "refused by the Pod API")
                .help(p.help)
            })
            .collect()),
    }
}

/// Global-only options a table adds to a host: Prosody ignores them there (and `prosodyctl
/// check config` fails), so they are errors rather than settings that silently do nothing.
fn misplaced(ctx: &RenderContext, options: &[UserOption]) -> Vec<Diagnostic> {
    options
        .iter()
        .filter(|o| layout::is_global_only(&o.name))
        .filter_map(|o| match &o.origin {
            Origin::User(path) => Some((o, path)),
            _ => None,
        })
        .map(|(o, path)| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            Diagnostic::error(
                code::PROSODY_GLOBAL_OPTION,
                format!(
                    "`{}` is a global Prosody option: Prosody ignores it under `{}`",
                    o.name, path[1]
                ),
            )
            .key(dotted(&path))
            .at(key_span(ctx, &path), "global option set for a host")
            .help("move it to `[prosody.global.overrides]`, where it applies to every host")
        })
        .collect()
}

/// Options Prosody no longer reads: `prosodyctl check config` reports them, and they do
/// nothing, so they are errors with what to write instead.
fn retired(ctx: &RenderContext, options: &[UserOption]) -> Vec<Diagnostic> {
    options
        .iter()
        .filter_map(|o| {
            let instead = layout::retired(&o.name)?;
            let Origin::User(path) = &o.origin else {
                return None;
            };
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            Some(
                Diagnostic::error(
                    code::PROSODY_RETIRED_OPTION,
                    format!("`{}` is obsolete: Prosody no longer reads it", o.name),
                )
                .key(dotted(&path))
                .at(key_span(ctx, &path), "obsolete option")
                .help(instead),
            )
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
                Origin::Generated if name == "s2s_secure_auth" => format!(
                    "written by {POD_API} whenever `server.defaults.federation_enabled = true`"
                ),
                Origin::Generated => {
                    "asked for by `debug_use_at_your_own_risk.c2s_unencrypted = true`".to_owned()
                }
                Origin::Carried => continue,
            }
        };
        entry
            .comments
            .push(format!("WARNING: weakens security, {why}: {source}"));
    }
}

/// The operator's tables of one section (and what prose-compile carries there).
#[derive(Default)]
struct Tables {
    /// The `defaults` options and the table's key.
    defaults: Option<(Vec<UserOption>, [String; 3])>,
    overrides: Vec<UserOption>,
    /// The `prosody` key that named the section, if any.
    named_by: Option<String>,
}

/// The file and every diagnostic about it, errors and warnings.
pub struct Generated {
    pub file: lua::File,
    pub diagnostics: Vec<Diagnostic>,
}

/// The typed Lua file for the context's configuration, or its errors.
pub fn build<'c>(ctx: &'c RenderContext) -> Diagnosed<&'c lua::File> {
    let Generated { file, diagnostics } = generate_file(ctx);
    let errors: Vec<Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    if errors.is_empty() {
        Ok(file)
    } else {
        Err(errors)
    }
}

/// What the Pod API writes for the installed `prose.toml` (the operator's plus the carried
/// overrides), step by step as `prosody_config_from_db_` does, with a diagnostic wherever the
/// API does not do what a `prosody.<host>` table says. Generated once per context: the
/// target's warnings and its render (and the Kubernetes manifests) share it.
pub fn generate_file<'c>(ctx: &'c RenderContext) -> &'c Generated {
    ctx.prosody.get_or_init(|| generate(ctx))
}

fn generate(ctx: &RenderContext) -> Generated {
    let config = ctx.config;
    let gctx = generate::Ctx {
        config,
        tree: Some(ctx.tree),
    };
    let span_of = |path: &[&str]| key_span(ctx, path);
    let mut diagnostics = Vec::new();
    let d = &config.server.defaults;
    let archive = gctx.retention(
        keys::ARCHIVE_RETENTION,
        "archived messages",
        "archive_expires_after",
        d.message_archive_enabled,
        &mut diagnostics,
    );
    let files = gctx.retention(
        keys::FILE_RETENTION,
        "uploaded files",
        "http_file_share_expires_after",
        d.file_upload_allowed
            && convert::exact_period(&d.file_storage_retention.parsed()).is_none(),
        &mut diagnostics,
    );

    // The operator's tables, by section.
    let slots = slots(&gctx);
    let mut tables: Vec<Tables> = slots.iter().map(|_| Tables::default()).collect();
    for (host, host_tables) in &config.prosody {
        let Some(index) = slots.iter().position(|s| same_host(host, &s.host)) else {
            diagnostics.push(no_section(ctx, &slots, host));
            continue;
        };
        if let Some(first) = &tables[index].named_by {
            diagnostics.push(
                Diagnostic::error(
                    code::PROSODY_HOST,
                    format!(
                        "`{}` and `{}` name the same section",
                        dotted(&["prosody", first]),
                        dotted(&["prosody", host])
                    ),
                )
                .key(dotted(&["prosody", host]))
                .at(key_span(ctx, &["prosody", host]), "named twice")
                .help("merge the two tables into one"),
            );
            continue;
        }
        tables[index].named_by = Some(host.clone());
        for (part, table) in [
            ("defaults", &host_tables.defaults),
            ("overrides", &host_tables.overrides),
        ] {
            let Some(table) = table else { continue };
            let key = ["prosody", host.as_str(), part];
            // A table with refused values still counts (a `defaults` table drops Prose's
            // settings whatever it holds), so every problem is reported in one pass.
            let options = user_options(ctx, table, &key).unwrap_or_else(|e| {
                diagnostics.extend(e);
                Vec::new()
            });
            diagnostics.extend(retired(ctx, &options));
            if part == "defaults" {
                tables[index].defaults = Some((options, key.map(str::to_owned)));
            } else {
                tables[index].overrides = options;
            }
        }
    }
    let carry = carry::carried(&gctx);
    diagnostics.extend(carry::ssl_not_carried(&gctx, &span_of));
    for (slot, table) in slots.iter().zip(tables.iter_mut()) {
        let carried = match slot.which {
            pod_api::Section::Global => &carry.global,
            pod_api::Section::Groups => &carry.groups,
            pod_api::Section::Upload => &carry.upload,
            pod_api::Section::Host => continue,
        };
        table.overrides.extend(carried.options());
    }
    let mut tables = slots.iter().map(|s| s.which).zip(tables).collect::<Vec<_>>();
    let mut take = |which: pod_api::Section| {
        tables
            .iter_mut()
            .find(|(w, _)| *w == which)
            .map(|(_, t)| std::mem::take(t))
            .unwrap_or_default()
    };

    // `prose_default`: each section, then its tables.
    let mut global = generate::global_baseline(config);
    apply_replacing(
        &mut global,
        take(pod_api::Section::Global),
        pod_api::Section::Global,
        &span_of,
        &mut diagnostics,
    );
    for (name, value) in generate::base_global_settings() {
        if !global.contains(name) {
            global.set(name, value);
        }
    }
    let mut host = generate::main_host(&gctx, &mut diagnostics);
    apply_filling(
        ctx,
        &mut host,
        take(pod_api::Section::Host),
        pod_api::Section::Host,
        &mut diagnostics,
    );
    let mut muc = generate::groups_component(&gctx);
    apply_filling(
        ctx,
        &mut muc,
        take(pod_api::Section::Groups),
        pod_api::Section::Groups,
        &mut diagnostics,
    );

    // `prosody_config_from_db_`: the steps driven by `server.defaults`.
    let upload_tables = take(pod_api::Section::Upload);
    let mut upload_diagnostics = Vec::new();
    let (upload, lost) = generate::from_server_defaults(
        &gctx,
        &mut global,
        &mut host.settings,
        &mut muc.settings,
        archive,
        || {
            let mut upload = generate::upload_component(&gctx, files);
            apply_replacing(
                &mut upload.settings,
                upload_tables,
                pod_api::Section::Upload,
                &span_of,
                &mut upload_diagnostics,
            );
            upload
        },
    );
    diagnostics.extend(upload_diagnostics);
    for (lost, cause) in &lost {
        diagnostics.push(pod_api::lost(lost, cause, &span_of));
    }
    if d.federation_enabled {
        diagnostics.push(pod_api::dialback(&span_of));
    }

    let mut global_groups = Vec::new();
    let mut sections = Vec::new();
    let all = [
        Section {
            host: None,
            kind: None,
            settings: global,
        },
        host,
        muc,
    ]
    .into_iter()
    .chain(upload);
    for section in all {
        let Section {
            host,
            kind,
            mut settings,
        } = section;
        annotate_security(ctx, &mut settings);
        let groups = match settings.into_groups() {
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
                    diagnostics.push(d);
                }
                Vec::new()
            }
        };
        match (host, kind) {
            (Some(host), Some(kind)) => sections.push(lua::Section { host, kind, groups }),
            _ => global_groups = groups,
        }
    }
    Generated {
        file: lua::File {
            header: vec![
                FIRST_LINE.trim_start_matches("-- ").to_owned(),
                "XMPP Server Configuration".to_owned(),
                ctx.notice(),
                "/!\\ The Pod API rewrites this file from prose.toml: edit prose.toml and run \
                 `prose-compile build`."
                    .to_owned(),
            ],
            global: global_groups,
            sections,
        },
        diagnostics,
    }
}

/// The tables of the global section or the upload component, as the API applies them
/// (`with_defaults_and_overrides_from`): `defaults` keep only the options they name,
/// `overrides` set options (added or replaced).
fn apply_replacing(
    settings: &mut Settings,
    tables: Tables,
    which: pod_api::Section,
    span_of: pod_api::SpanOf<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if let Some((defaults, key)) = tables.defaults {
        let (dropped, ignored) = settings.keep_only_named(defaults);
        let key = [key[0].as_str(), key[1].as_str(), key[2].as_str()];
        diagnostics.push(pod_api::drops_baseline(&key, &dropped, &ignored, span_of));
    }
    check_overrides(&tables.overrides, which, span_of, diagnostics);
    settings.override_all(tables.overrides);
}

/// The tables of a VirtualHost or the chat rooms, as the API applies them
/// (`apply_defaults_and_overrides_from`): `defaults` fill in options Prose does not generate,
/// `overrides` replace options Prose generates; anything else is ignored.
fn apply_filling(
    ctx: &RenderContext,
    section: &mut Section,
    tables: Tables,
    which: pod_api::Section,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let span_of = |path: &[&str]| key_span(ctx, path);
    let label = section.label().to_owned();
    let settings = &mut section.settings;
    let generated: Vec<String> = settings.option_names().map(|n| format!("`{n}`")).collect();
    let generated: Vec<&str> = generated.iter().map(String::as_str).collect();
    if let Some((defaults, _)) = tables.defaults {
        let ignored = settings.fill_in(defaults.clone());
        let added: Vec<UserOption> = defaults
            .into_iter()
            .filter(|o| !ignored.iter().any(|i| i.name == o.name))
            .collect();
        diagnostics.extend(misplaced(ctx, &added));
        for option in &ignored {
            diagnostics.push(pod_api::default_ignored(option, &label, &span_of));
        }
    }
    check_overrides(&tables.overrides, which, &span_of, diagnostics);
    for option in settings.replace_existing(tables.overrides) {
        if matches!(option.origin, Origin::User(_)) {
            diagnostics.push(pod_api::override_ignored(
                &option, &label, &generated, &span_of,
            ));
        }
    }
}

/// Overrides the API writes as is, but that would drop what the pod needs.
fn check_overrides(
    overrides: &[UserOption],
    which: pod_api::Section,
    span_of: pod_api::SpanOf<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let needed = pod_api::needed_modules(which);
    for option in overrides.iter().filter(|o| matches!(o.origin, Origin::User(_))) {
        match option.name.as_str() {
            "modules_enabled" => diagnostics.extend(pod_api::modules_missing(
                option,
                &needed,
                which == pod_api::Section::Global,
                span_of,
            )),
            "limits" if which == pod_api::Section::Global => {
                diagnostics.extend(pod_api::limits_without_c2s(option, span_of))
            }
            _ => {}
        }
    }
}
