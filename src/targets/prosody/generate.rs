//! What the Pod API generates, step by step, for a pristine database (prose-pod-api 0.20.0,
//! `src/service/src/features/prosody/prosody_config.rs` `prose_default` and
//! `prosody_config_from_db.rs` `prosody_config_from_db_`).
//!
//! The API keeps only the Dashboard's changes in its database and rebuilds the file from
//! `prose.toml`'s `server.defaults` at every start, so for a pod whose Dashboard changed
//! nothing, the file is a function of `prose.toml` alone:
//!
//! 1. [`global_baseline`], [`main_host`] and [`groups_component`]: the sections as
//!    `prose_default` builds them. The operator's `prosody.<host>` tables are applied right
//!    after each (see `mod.rs`), then [`BASE_GLOBAL`] fills in what the global section lacks.
//! 2. [`from_server_defaults`]: the steps that follow, in upstream's order. They run after
//!    the operator's tables, so an option they assign replaces the operator's value (reported
//!    as [`Lost`]).
//!
//! Not modelled: the first admin's `contact_info.admin` entry (the API adds
//! `xmpp:<first admin JID>` once a pod has an admin, unless `admin` contacts are configured;
//! prose-compile cannot know that JID), and the Dashboard's own Prosody overrides.

use super::convert::{self, Period};
use super::lua::{EnvName, SectionKind, Value};
use super::settings::{Lost, Settings};
use crate::config::Config;
use crate::config::formats::{self, Retention};
use crate::config::keys;
use crate::config::model::{LogLevel, UPLOAD_HOST};
use crate::diagnostics::{Diagnostic, code};

/// Global modules every pod enables (upstream `prose_default`, in its order).
pub const BASE_MODULES: &[&str] = &[
    "auto_activate_hosts",
    "roster",
    "groups_internal",
    "groups_shell",
    "saslauth",
    "tls",
    "dialback",
    "disco",
    "smacks",
    "private",
    "vcard_legacy",
    "vcard4",
    "version",
    "uptime",
    "time",
    "ping",
    "lastactivity",
    "pep",
    "blocklist",
    "limits",
    "carbons",
    "csi",
    "server_contact_info",
    "websocket",
    "reload_modules",
];

/// Base modules Prosody 13 (the Prose server image) reports as deprecated: `prosodyctl check
/// config` flags `mod_posix` ("You can safely remove it"). prose-compile leaves them out, and
/// carries the list without them to the API (see `carry`).
pub const DEPRECATED_MODULES: &[&str] = &["posix"];

/// The base modules a pod needs: [`BASE_MODULES`] without the deprecated ones.
pub fn needed_base_modules() -> impl Iterator<Item = &'static str> {
    BASE_MODULES
        .iter()
        .copied()
        .filter(|m| !DEPRECATED_MODULES.contains(m))
}

/// Modules of the main VirtualHost.
pub const HOST_MODULES: &[&str] = &[
    "rest",
    "http_oauth2",
    "admin_rest",
    "cloud_notify",
    "register",
    "prose_version",
    "http_admin_api",
    "invites",
    "invites_groups",
    "invites_register",
    "invites_register_api",
];

/// Modules of the chat rooms component.
pub const MUC_MODULES: &[&str] = &["muc_public_affiliations", "muc_cloud_notify"];

pub const MUC_PLUGIN: &str = "muc";
pub const UPLOAD_PLUGIN: &str = "http_file_share";
pub const UPLOAD_NAME: &str = "HTTP File Upload";

const GROUP_CLOUD_NOTIFY: &str = "mod_cloud_notify";
const GROUP_OAUTH2: &str = "mod_http_oauth2";
pub const GROUP_DEBUG_C2S: &str = "Debug config: c2s_unencrypted";

/// A section of the file.
#[derive(Debug, Clone)]
pub struct Section {
    /// `None` for the global section.
    pub host: Option<String>,
    pub kind: Option<SectionKind>,
    pub settings: Settings,
}

impl Section {
    /// How the section is named to the operator (`global`, `example.org`).
    pub fn label(&self) -> &str {
        self.host.as_deref().unwrap_or("global")
    }
}

/// A hostname as Prosody wants it: the Unicode form of an IDN (Prosody nameprep's host names
/// and warns about A-labels).
pub fn prosody_hostname(host: &str) -> String {
    match idna::domain_to_unicode(host) {
        (unicode, Ok(())) => unicode,
        _ => host.to_owned(),
    }
}

/// What generation reads.
pub struct Ctx<'a> {
    pub config: &'a Config,
    /// The configuration tree, to point diagnostics at keys (absent in some unit tests).
    pub tree: Option<&'a crate::provenance::Node>,
}

impl Ctx<'_> {
    fn span(&self, path: &[&str]) -> Option<crate::diagnostics::source::Span> {
        self.tree.and_then(|t| {
            t.get_path(path)
                .and_then(|n| n.origin.span().or(n.key_span))
        })
    }

    /// The main VirtualHost's name.
    pub fn domain(&self) -> String {
        prosody_hostname(self.config.server.domain.as_str())
    }

    /// The chat rooms component's name.
    pub fn groups_domain(&self) -> String {
        prosody_hostname(&self.config.groups_domain())
    }

    /// `app_config.app_web_url()`: `https://prose.<server.domain>/` (the API does not read
    /// `pod.address` here).
    pub fn app_web_url(&self) -> String {
        let host = format!("prose.{}", self.config.server.domain.as_str());
        format!("https://{}/", formats::hostname(&host).unwrap_or(host))
    }

    /// A `server.defaults` retention as the API converts it, with an error when the API
    /// refuses it and a warning when it rounds it down.
    /// `warn_rounding`: whether a rounding changes what runs (the feature is on, and nothing
    /// carries the exact value).
    pub fn retention(
        &self,
        key: keys::Key,
        what: &str,
        option: &str,
        warn_rounding: bool,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Period {
        let written = match key {
            keys::FILE_RETENTION => &self.config.server.defaults.file_storage_retention,
            _ => &self.config.server.defaults.message_archive_retention,
        };
        let retention: Retention = written.parsed();
        match convert::api_retention(&retention) {
            Ok(period) => {
                if warn_rounding && convert::exact_period(&retention) != Some(period) {
                    diagnostics.push(rounded_down(self, key, written.as_str(), what, option, period));
                }
                period
            }
            Err(refused) => {
                diagnostics.push(
                    Diagnostic::error(
                        code::RETENTION,
                        format!("Pod API 0.20.0 refuses `{key} = \"{}\"` and would not start: {}", written.as_str(), refused.message),
                    )
                    .key(key.to_string())
                    .at(self.span(key.path()), "refused by the Pod API")
                    .help(refused.help),
                );
                Period::Never
            }
        }
    }
}

fn rounded_down(
    ctx: &Ctx<'_>,
    key: keys::Key,
    written: &str,
    what: &str,
    option: &str,
    period: Period,
) -> Diagnostic {
    let days = period
        .prosody_seconds()
        .map(|s| format!(" ({} days)", s / 86_400))
        .unwrap_or_default();
    Diagnostic::warning(
        code::RETENTION,
        format!(
            "Pod API 0.20.0 keeps {what} for {}{days}, not `{written}`: it writes `{option} = {}`, \
             keeping only the largest unit, rounded down",
            period.iso(),
            period.lua().to_lua(),
        ),
    )
    .key(key.to_string())
    .at(ctx.span(key.path()), "rounded down by the Pod API")
    .help(format!(
        "write the retention in one unit the API keeps as is, e.g. `\"{}\"`",
        period.iso()
    ))
}

/// The global section as `prose_default` generates it, before the operator's tables.
pub fn global_baseline(config: &Config) -> Settings {
    let mut g = Settings::default();
    let level = match config.server.log_level {
        // The API has no `trace` level for Prosody (part of the compatibility checks); its
        // most verbose level is `debug`.
        LogLevel::Trace | LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    g.set("log", Value::map([(level, Value::string("*console"))]));
    g.set(
        "http_ports",
        Value::List(vec![Value::Integer(i64::from(config.server.http_port))]),
    );
    g.set("modules_enabled", Value::strings(BASE_MODULES.iter().copied()));
    g.set("modules_disabled", Value::strings(["s2s"]));
    g.set("c2s_require_encryption", Value::Bool(true));
    g.set("c2s_stanza_size_limit", Value::Product(vec![256, 1024]));
    g.set("limits", Value::map([("c2s", rate_limit("50kb/s", "2s"))]));
    g.set("reload_modules", Value::strings(["tls"]));
    g
}

/// `base_global_settings`: filled in after the operator's global tables (so they may replace
/// these).
pub fn base_global_settings() -> Vec<(&'static str, Value)> {
    vec![
        ("pidfile", Value::string("/var/run/prosody/prosody.pid")),
        ("admin_socket", Value::string("/var/run/prosody/prosody.sock")),
        ("authentication", Value::string("internal_hashed")),
        ("default_storage", Value::string("internal")),
        (
            "plugin_paths",
            Value::strings(["/usr/local/lib/prosody/modules"]),
        ),
        ("allow_registration", Value::Bool(false)),
        ("consider_websocket_secure", Value::Bool(true)),
        ("upgrade_legacy_vcards", Value::Bool(true)),
    ]
}

/// The main VirtualHost as `prose_default` generates it, or an error when the API cannot
/// compute the token lifetime (it panics on years and months).
pub fn main_host(ctx: &Ctx<'_>, diagnostics: &mut Vec<Diagnostic>) -> Section {
    let config = ctx.config;
    let mut s = Settings::default();
    s.set("modules_enabled", Value::strings(HOST_MODULES.iter().copied()));
    s.set(
        "http_host",
        Value::string(config.server.local_hostname.as_str()),
    );
    s.set_custom(
        GROUP_OAUTH2,
        "allowed_oauth2_grant_types",
        Value::strings(["authorization_code", "refresh_token", "password"]),
    );
    let ttl = match convert::token_ttl_seconds(&config.auth.token_ttl.parsed()) {
        Some(seconds) => Value::Integer(i64::from(seconds)),
        None => {
            diagnostics.push(
                Diagnostic::error(
                    code::DURATION,
                    "`auth.token_ttl` must be a fixed number of seconds: Pod API 0.20.0 stops \
                     on years and months",
                )
                .key(keys::AUTH_TOKEN_TTL)
                .at(ctx.span(keys::AUTH_TOKEN_TTL.path()), "not a fixed length")
                .help("write it in weeks, days, hours, minutes or seconds, e.g. `PT3H`"),
            );
            Value::Integer(0)
        }
    };
    s.set_custom(GROUP_OAUTH2, "oauth2_access_token_ttl", ttl);
    s.set_custom(GROUP_OAUTH2, "oauth2_refresh_token_ttl", Value::Integer(0));
    if let Some(env) = EnvName::new("OAUTH2_REGISTRATION_KEY") {
        s.set_custom(GROUP_OAUTH2, "oauth2_registration_key", Value::Env(env));
    }
    s.set("reload_modules", Value::strings(["http_oauth2"]));
    if let Some(contacts) = contact_info(config) {
        s.set("contact_info", contacts);
    }
    Section {
        host: Some(ctx.domain()),
        kind: Some(SectionKind::VirtualHost),
        settings: s,
    }
}

/// The chat rooms component as `prose_default` generates it.
pub fn groups_component(ctx: &Ctx<'_>) -> Section {
    let mut s = Settings::default();
    s.set_header("name", Value::string("Chatrooms"));
    s.set("restrict_room_creation", Value::string("local"));
    s.set("max_archive_query_results", Value::Integer(100));
    s.set("muc_log_all_rooms", Value::Bool(true));
    // Upstream keeps group chat messages forever whatever the retention says (prose-compile
    // carries the retention as an override, see `carry`).
    s.set("muc_log_expires_after", Value::string("never"));
    s.set("muc_log_by_default", Value::Bool(true));
    s.set("modules_enabled", Value::strings(MUC_MODULES.iter().copied()));
    Section {
        host: Some(ctx.groups_domain()),
        kind: Some(SectionKind::Component {
            plugin: MUC_PLUGIN.into(),
        }),
        settings: s,
    }
}

/// The upload component as the API generates it when uploads are allowed, before its
/// `prosody."upload.prose.local"` tables.
pub fn upload_component(ctx: &Ctx<'_>, retention: Period) -> Section {
    let mut s = Settings::default();
    s.set_header("name", Value::string(UPLOAD_NAME));
    s.set(
        "http_file_share_size_limit",
        Value::Product(vec![20, 1024, 1024]),
    );
    s.set(
        "http_file_share_daily_quota",
        Value::Product(vec![100, 1024, 1024]),
    );
    s.set("http_file_share_expires_after", retention.lua());
    s.set("http_file_share_access", Value::strings([ctx.domain()]));
    s.set("http_external_url", Value::string(ctx.app_web_url()));
    s.set(
        "http_paths",
        Value::map([("file_share", Value::string("/upload"))]),
    );
    Section {
        host: Some(UPLOAD_HOST.to_owned()),
        kind: Some(SectionKind::Component {
            plugin: UPLOAD_PLUGIN.into(),
        }),
        settings: s,
    }
}

/// The steps of `prosody_config_from_db_` after `prose_default`, in upstream's order, on the
/// sections built so far. `upload` builds the upload component (with its tables applied) when
/// uploads are allowed. Returns the operator's values these steps replaced, each with the
/// setting that made the API replace it.
pub fn from_server_defaults(
    ctx: &Ctx<'_>,
    global: &mut Settings,
    host: &mut Settings,
    muc: &mut Settings,
    archive_retention: Period,
    upload: impl FnOnce() -> Section,
) -> (Option<Section>, Vec<(Lost, &'static str)>) {
    let config = ctx.config;
    let d = &config.server.defaults;
    let mut lost = Vec::new();
    let mut because = |cause: &'static str, l: Option<Lost>| lost.extend(l.map(|l| (l, cause)));
    const FEDERATION: &str = "server.defaults.federation_enabled = true";
    const WHITELIST: &str = "server.defaults.federation_whitelist_enabled = true";
    const UNENCRYPTED: &str = "debug_use_at_your_own_risk.c2s_unencrypted = true";
    const ARCHIVE: &str = "server.defaults.message_archive_enabled = true";
    const EXT: &str = "prosody_ext.additional_modules_enabled";

    global.set_custom(
        GROUP_CLOUD_NOTIFY,
        "push_notification_with_body",
        Value::Bool(d.push_notification_with_body),
    );
    global.set_custom(
        GROUP_CLOUD_NOTIFY,
        "push_notification_with_sender",
        Value::Bool(d.push_notification_with_sender),
    );

    if d.federation_enabled {
        because(FEDERATION, global.enable_module("s2s"));
        because(FEDERATION, global.enable_module("s2s_bidi"));
        because(FEDERATION, global.assign("s2s_ports", Value::List(vec![Value::Integer(5269)])));
        because(FEDERATION, global.assign("s2s_require_encryption", Value::Bool(true)));
        because(FEDERATION, global.assign("s2s_secure_auth", Value::Bool(false)));
        because(FEDERATION, global.table_insert("limits", "s2sin", rate_limit("250kb/s", "4s")));
        if d.federation_whitelist_enabled {
            because(WHITELIST, global.enable_module("s2s_whitelist"));
            because(WHITELIST, global.assign(
                "s2s_whitelist",
                Value::strings(
                    d.federation_friendly_servers
                        .iter()
                        .map(|h| prosody_hostname(h.as_str())),
                ),
            ));
        }
    }

    if config.debug_use_at_your_own_risk.c2s_unencrypted {
        because(UNENCRYPTED, global.enable_module("reload_modules"));
        global.insert_moving_to_end("reload_modules", Value::string("saslauth"));
        because(UNENCRYPTED, global.unset("c2s_require_encryption"));
        global.set_custom(
            GROUP_DEBUG_C2S,
            "c2s_require_encryption",
            Value::Bool(false),
        );
        global.set_custom(
            GROUP_DEBUG_C2S,
            "allow_unencrypted_plain_auth",
            Value::Bool(true),
        );
    }

    let upload = d.file_upload_allowed.then(|| {
        host.insert_moving_to_end(
            "disco_items",
            Value::strings([UPLOAD_HOST, UPLOAD_NAME]),
        );
        upload()
    });

    if d.message_archive_enabled {
        global.insert_moving_to_end("modules_enabled", Value::string("mam"));
        because(ARCHIVE, global.assign("archive_expires_after", archive_retention.lua()));
        because(ARCHIVE, global.assign("default_archive_policy", Value::Bool(true)));
        because(ARCHIVE, global.assign("max_archive_query_results", Value::Integer(100)));
        muc.insert_moving_to_end("modules_enabled", Value::string("muc_mam"));
    }

    for module in &config.prosody_ext.additional_modules_enabled {
        because(EXT, global.enable_module(&module.0));
    }
    (upload, lost)
}

fn rate_limit(rate: &str, burst: &str) -> Value {
    Value::map([
        ("rate", Value::string(rate)),
        ("burst", Value::string(burst)),
    ])
}

/// A contact address as the API's `Url` prints it (scheme and host lower-cased, a `/` path
/// for a host without one).
fn normalized_url(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| url.to_owned())
}

/// A list deduplicated as a `LinkedHashSet` built by `insert` keeps it: each item at its last
/// occurrence.
pub fn linked_set<T: PartialEq + Clone>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        out.retain(|i| i != item);
        out.push(item.clone());
    }
    out
}

/// XEP-0157 contacts: each category from `public_contacts.<category>`, else
/// `public_contacts.default`; empty categories are left out (and the option with them).
pub fn contact_info(config: &Config) -> Option<Value> {
    let p = &config.public_contacts;
    let urls = |list: &[crate::config::types::Url]| -> Vec<String> {
        linked_set(&list.iter().map(|u| normalized_url(u.as_str())).collect::<Vec<_>>())
    };
    let default = urls(&p.default);
    let categories = [
        ("abuse", &p.abuse),
        ("admin", &p.admin),
        ("feedback", &p.feedback),
        ("sales", &p.sales),
        ("security", &p.security),
        ("support", &p.support),
    ];
    let entries: Vec<(&str, Value)> = categories
        .into_iter()
        .filter_map(|(name, list)| {
            let list = if list.is_empty() {
                default.clone()
            } else {
                urls(list)
            };
            (!list.is_empty()).then(|| (name, Value::strings(list)))
        })
        .collect();
    (!entries.is_empty()).then(|| Value::map(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> Config {
        serde_json::from_value(json).unwrap()
    }

    fn strings(v: Option<&Value>) -> Vec<String> {
        match v {
            Some(Value::List(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("not a list: {other:?}"),
        }
    }

    /// The sections of a pod with no `prosody` tables, after every step.
    fn generated(json: serde_json::Value) -> (Settings, Settings, Settings, Option<Section>) {
        let config = config(json);
        let ctx = Ctx {
            config: &config,
            tree: None,
        };
        let mut diagnostics = Vec::new();
        let archive = ctx.retention(keys::ARCHIVE_RETENTION, "messages", "archive_expires_after", true, &mut diagnostics);
        let files = ctx.retention(keys::FILE_RETENTION, "files", "http_file_share_expires_after", true, &mut diagnostics);
        let mut global = global_baseline(&config);
        for (name, value) in base_global_settings() {
            if !global.contains(name) {
                global.set(name, value);
            }
        }
        let mut host = main_host(&ctx, &mut diagnostics).settings;
        let mut muc = groups_component(&ctx).settings;
        let (upload, lost) = from_server_defaults(&ctx, &mut global, &mut host, &mut muc, archive, || {
            upload_component(&ctx, files)
        });
        assert!(lost.is_empty());
        assert!(diagnostics.iter().all(|d| !d.is_error()), "{diagnostics:#?}");
        (global, host, muc, upload)
    }

    #[test]
    fn minimal_pod() {
        let (global, host, muc, upload) =
            generated(serde_json::json!({ "server": { "domain": "example.org" } }));
        let mut expected: Vec<String> = BASE_MODULES.iter().map(|s| s.to_string()).collect();
        expected.push("mam".into());
        assert_eq!(strings(global.get("modules_enabled")), expected);
        assert_eq!(strings(global.get("modules_disabled")), ["s2s"]);
        assert_eq!(global.get("tls_profile"), None, "the API never writes it");
        assert_eq!(global.get("archive_expires_after"), Some(&Value::string("never")));
        assert_eq!(global.get("s2s_secure_auth"), None);
        assert_eq!(muc.get("muc_log_expires_after"), Some(&Value::string("never")));
        assert_eq!(strings(muc.get("modules_enabled")).last().unwrap(), "muc_mam");
        assert_eq!(host.get("disco_items"), Some(&Value::List(vec![Value::strings([UPLOAD_HOST, UPLOAD_NAME])])));
        let upload = upload.unwrap().settings;
        assert_eq!(
            upload.get("http_external_url"),
            Some(&Value::string("https://prose.example.org/"))
        );
        assert_eq!(
            host.get("oauth2_access_token_ttl"),
            Some(&Value::Integer(10_800))
        );
    }

    #[test]
    fn federation_is_assigned_after_the_tables() {
        let (global, ..) = generated(serde_json::json!({
            "server": {
                "domain": "example.org",
                "defaults": {
                    "federation_enabled": true,
                    "federation_whitelist_enabled": true,
                    "federation_friendly_servers": ["a.example", "xn--bcher-kva.example"],
                },
            },
        }));
        let modules = strings(global.get("modules_enabled"));
        assert_eq!(
            &modules[BASE_MODULES.len()..],
            ["s2s", "s2s_bidi", "s2s_whitelist", "mam"]
        );
        assert_eq!(global.get("modules_disabled"), None, "emptied, so dropped");
        assert_eq!(
            strings(global.get("s2s_whitelist")),
            ["a.example", "bücher.example"]
        );
        assert_eq!(global.get("s2s_secure_auth"), Some(&Value::Bool(false)));
        let Some(Value::Map(limits)) = global.get("limits") else {
            panic!()
        };
        assert_eq!(limits.keys().collect::<Vec<_>>(), ["c2s", "s2sin"]);
    }

    #[test]
    fn the_debug_switch_moves_c2s_encryption_to_its_group() {
        let (global, ..) = generated(serde_json::json!({
            "server": { "domain": "example.org" },
            "debug_use_at_your_own_risk": { "c2s_unencrypted": true },
        }));
        assert_eq!(strings(global.get("reload_modules")), ["tls", "saslauth"]);
        let e = &global.entries["c2s_require_encryption"];
        assert_eq!(e.place, super::super::settings::Place::Custom(GROUP_DEBUG_C2S));
        assert_eq!(e.value, Value::Bool(false));
    }

    #[test]
    fn features_off_leave_their_settings_out() {
        let (global, host, muc, upload) = generated(serde_json::json!({
            "server": {
                "domain": "example.org",
                "defaults": { "message_archive_enabled": false, "file_upload_allowed": false },
            },
        }));
        assert!(upload.is_none());
        for absent in [
            "archive_expires_after",
            "default_archive_policy",
            "max_archive_query_results",
        ] {
            assert_eq!(global.get(absent), None, "{absent}");
        }
        assert!(!strings(global.get("modules_enabled")).contains(&"mam".to_owned()));
        assert_eq!(host.get("disco_items"), None);
        assert!(!strings(muc.get("modules_enabled")).contains(&"muc_mam".to_owned()));
    }

    #[test]
    fn rounded_retentions_warn_and_refused_ones_are_errors() {
        let c = config(serde_json::json!({
            "server": { "domain": "example.org", "defaults": {
                "message_archive_retention": "P30D", "file_storage_retention": "PT1H" } },
        }));
        let ctx = Ctx { config: &c, tree: None };
        let mut d = Vec::new();
        let archive = ctx.retention(keys::ARCHIVE_RETENTION, "messages", "archive_expires_after", true, &mut d);
        assert_eq!(archive.iso(), "P4W");
        assert_eq!(d.len(), 1);
        assert!(!d[0].is_error());
        assert!(d[0].message.contains("P4W (28 days), not `P30D`"), "{}", d[0].message);
        ctx.retention(keys::FILE_RETENTION, "files", "http_file_share_expires_after", true, &mut d);
        assert!(d[1].is_error(), "{:?}", d[1]);
    }

    #[test]
    fn contacts_fall_back_to_default_per_category() {
        let c = config(serde_json::json!({
            "server": { "domain": "example.org" },
            "public_contacts": { "default": ["mailto:a@example.org"], "support": ["HTTPS://Example.org", "https://example.org/"] },
        }));
        let v = contact_info(&c).unwrap();
        let Value::Map(m) = v else { panic!() };
        assert_eq!(
            m.keys().collect::<Vec<_>>(),
            ["abuse", "admin", "feedback", "sales", "security", "support"]
        );
        assert_eq!(m["support"], Value::strings(["https://example.org/"]), "normalised, deduplicated");
        assert_eq!(m["admin"], Value::strings(["mailto:a@example.org"]));
        let none = config(serde_json::json!({ "server": { "domain": "example.org" } }));
        assert_eq!(contact_info(&none), None);
    }

    #[test]
    fn linked_sets_keep_last_occurrences() {
        assert_eq!(linked_set(&["a", "b", "a", "c"]), ["b", "a", "c"]);
    }
}
