//! Diagnostics about what the Pod API 0.20.0 does with the operator's `prosody.<host>`
//! tables when it regenerates `prosody.cfg.lua`, where that is not what the table says:
//! options it ignores, values a later step of its generator replaces, baselines a table makes
//! it drop. Each names the key, what will happen at run time, and what to write instead.

use super::generate;
use super::settings::{Lost, UserOption};
use crate::diagnostics::source::Span;
use crate::diagnostics::{Diagnostic, code};
use crate::provenance::dotted;

/// The component and version whose behaviour these diagnostics describe.
pub const POD_API: &str = "Pod API 0.20.0";

/// Where a diagnostic points: a key's span, found by the caller.
pub type SpanOf<'a> = &'a dyn Fn(&[&str]) -> Option<Span>;

fn path_of(option: &UserOption) -> Vec<&str> {
    match &option.origin {
        super::settings::Origin::User(path) => path.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A `defaults` table of the global section or the upload component: the API keeps only the
/// options it names (with Prose's values where Prose sets them) and drops Prose's others.
pub fn drops_baseline(
    table: &[&str; 3],
    dropped: &[String],
    ignored: &[UserOption],
    span_of: SpanOf<'_>,
) -> Diagnostic {
    let shown: Vec<String> = dropped
        .iter()
        .map(|name| match name.as_str() {
            "modules_enabled" => "`modules_enabled` (tls, saslauth, roster…)".to_owned(),
            "modules_disabled" => "`modules_disabled` (s2s)".to_owned(),
            other => format!("`{other}`"),
        })
        .collect();
    let key = dotted(table);
    let ignored: Vec<String> = ignored.iter().map(|o| format!("`{}`", o.name)).collect();
    let ignored = if ignored.is_empty() {
        String::new()
    } else {
        format!(
            "; it keeps Prose's value of {}, not the table's",
            ignored.join(", ")
        )
    };
    Diagnostic::error(
        code::PROSODY_BASELINE,
        format!(
            "with `[{key}]`, {POD_API} keeps only the options the table names and drops the rest \
             of Prose's settings there: {}{ignored}",
            shown.join(", ")
        ),
    )
    .key(key.clone())
    .at(span_of(table), "drops Prose's settings")
    .help(format!(
        "write these options under `[{}.overrides]`, which changes only the options it names{}",
        dotted(&table[..2]),
        if table[1] == "global" {
            " (add modules with `prosody_ext.additional_modules_enabled`)"
        } else {
            ""
        }
    ))
}

/// A `defaults` option of a VirtualHost or the chat rooms that Prose generates there: the API
/// keeps Prose's value.
pub fn default_ignored(option: &UserOption, section: &str, span_of: SpanOf<'_>) -> Diagnostic {
    let path = path_of(option);
    let name = &option.name;
    let mut help = format!(
        "write it under `[{}]` to replace Prose's value",
        dotted(&[path[0], path[1], "overrides"])
    );
    if name == "modules_enabled" {
        help.push_str(", listing Prose's modules too");
    }
    Diagnostic::warning(
        code::PROSODY_POD_API,
        format!(
            "{POD_API} ignores `{}`: Prose generates `{name}` for `{section}`, and a default only \
             fills options Prose leaves unset",
            dotted(&path)
        ),
    )
    .key(dotted(&path))
    .at(span_of(&path), "ignored by the Pod API")
    .help(help)
}

/// An `overrides` option of a VirtualHost or the chat rooms that Prose does not generate
/// there: the API replaces only existing options, so it is not written.
pub fn override_ignored(
    option: &UserOption,
    section: &str,
    generated: &[&str],
    span_of: SpanOf<'_>,
) -> Diagnostic {
    let path = path_of(option);
    let name = option.name.as_str();
    let defaults = dotted(&[path[0], path[1], "defaults"]);
    let help = if super::layout::is_global_only(name) {
        format!("Prosody reads `{name}` only globally: write it under `[prosody.global.overrides]`")
    } else {
        match name {
            "disco_items" => format!(
                "Prose adds `disco_items` after the overrides: write yours under `[{defaults}]` \
                 (the Pod API then lists them and its own upload item)"
            ),
            "contact_info" => format!(
                "set `public_contacts` (Prose writes it as `contact_info`), or write it under \
                 `[{defaults}]`"
            ),
            _ => format!("write it under `[{defaults}]`, which adds options the section lacks"),
        }
    };
    Diagnostic::warning(
        code::PROSODY_POD_API,
        format!(
            "{POD_API} ignores `{}`: an override only replaces an option Prose generates for \
             `{section}` ({})",
            dotted(&path),
            generated.join(", ")
        ),
    )
    .key(dotted(&path))
    .at(span_of(&path), "ignored by the Pod API")
    .help(help)
}

/// An operator's value a later step of the API's generator replaces.
pub fn lost(lost: &Lost, cause: &str, span_of: SpanOf<'_>) -> Diagnostic {
    let path: Vec<&str> = lost.key.iter().map(String::as_str).collect();
    let what = match &lost.instead {
        Some(value) => format!("writes `{} = {}`", path.last().unwrap_or(&""), value.to_lua()),
        None => format!("removes `{}`", path.last().unwrap_or(&"")),
    };
    let what = if lost.key.get(3).is_some_and(|o| o == "modules_disabled") {
        "enables the module it disables".to_owned()
    } else {
        what
    };
    Diagnostic::warning(
        code::PROSODY_POD_API,
        format!(
            "{POD_API} replaces `{}`: because of `{cause}`, it {what} after applying the overrides",
            dotted(&path)
        ),
    )
    .key(dotted(&path))
    .at(span_of(&path), "replaced by the Pod API")
    .help(format!(
        "remove it, or change `{cause}`; only the Pod API's own Prosody overrides \
         (`PUT /v1/server/config/prosody-overrides`, kept in its database) apply after this step"
    ))
}

/// With federation on, the API writes `s2s_secure_auth = false` whatever `prose.toml` says.
pub fn dialback(span_of: SpanOf<'_>) -> Diagnostic {
    let key = crate::config::keys::FEDERATION_ENABLED;
    Diagnostic::warning(
        code::PROSODY_POD_API,
        format!(
            "with federation on, {POD_API} writes `s2s_secure_auth = false`: remote servers may \
             authenticate by DNS dialback instead of a certificate, and `prose.toml` cannot change it"
        ),
    )
    .key(key.to_string())
    .at(span_of(key.path()), "dialback allowed by the Pod API")
    .help(
        "keep the whitelist on (`federation_whitelist_enabled`), or set `s2s_secure_auth = true` \
         through the Pod API's own Prosody overrides (`PUT /v1/server/config/prosody-overrides`)",
    )
}

/// A `modules_enabled` the API writes as is (an override) that leaves out modules Prose needs
/// in the section.
pub fn modules_missing(
    option: &UserOption,
    needed: &[&str],
    global: bool,
    span_of: SpanOf<'_>,
) -> Option<Diagnostic> {
    let super::lua::Value::List(items) = &option.value else {
        return None;
    };
    let has = |m: &str| items.contains(&super::lua::Value::string(m));
    let missing: Vec<&str> = needed.iter().copied().filter(|m| !has(m)).collect();
    if missing.is_empty() {
        return None;
    }
    let path = path_of(option);
    let mut complete: Vec<String> = needed.iter().map(|m| format!("\"{m}\"")).collect();
    complete.extend(
        items
            .iter()
            .filter_map(|i| match i {
                super::lua::Value::String(s) if !needed.contains(&s.as_str()) => {
                    Some(format!("\"{s}\""))
                }
                _ => None,
            }),
    );
    let help = if global {
        format!(
            "to add modules, list them in `prosody_ext.additional_modules_enabled` and remove \
             this option; to replace the list, keep Prose's modules: `modules_enabled = [{}]` \
             (and disable a module with `modules_disabled`)",
            complete.join(", ")
        )
    } else {
        format!(
            "keep Prose's modules in the list: `modules_enabled = [{}]`",
            complete.join(", ")
        )
    };
    Some(
        Diagnostic::error(
            code::PROSODY_BASELINE,
            format!(
                "`{}` replaces the modules Prose enables, and leaves out {}: the pod would not \
                 work without them",
                dotted(&path),
                missing.join(", ")
            ),
        )
        .key(dotted(&path))
        .at(span_of(&path), "drops modules the pod needs")
        .help(help),
    )
}

/// A `limits` override of the global section that leaves out the `c2s` limit Prose sets:
/// the table replaces Prose's whole table.
pub fn limits_without_c2s(option: &UserOption, span_of: SpanOf<'_>) -> Option<Diagnostic> {
    let super::lua::Value::Map(kinds) = &option.value else {
        return None;
    };
    if kinds.contains_key("c2s") {
        return None;
    }
    let path = path_of(option);
    Some(
        Diagnostic::warning(
            code::PROSODY_POD_API,
            format!(
                "`{}` replaces Prose's whole `limits` table: client connections are no longer \
                 rate-limited (Prose sets `c2s = {{ rate = \"50kB/s\", burst = \"PT2S\" }}`)",
                dotted(&path)
            ),
        )
        .key(dotted(&path))
        .at(span_of(&path), "drops the c2s limit")
        .help("add `c2s = { rate = \"50kB/s\", burst = \"PT2S\" }` to the table to keep it"),
    )
}

/// The modules Prose enables in a section and a replacement must keep.
pub fn needed_modules(section: Section) -> Vec<&'static str> {
    match section {
        Section::Global => generate::needed_base_modules().collect(),
        Section::Host => generate::HOST_MODULES.to_vec(),
        Section::Groups => generate::MUC_MODULES.to_vec(),
        Section::Upload => Vec::new(),
    }
}

/// The sections the Pod API writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Global,
    Host,
    Groups,
    Upload,
}
