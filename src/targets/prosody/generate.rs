//! What Prose generates for each section, from the effective configuration (reference
//! `prose-pod-upstream.md` §2.5), in two tiers:
//!
//! - the **baseline**: Prose's fixed choices every pod gets (process paths, storage, the base
//!   modules, c2s limits, the upload size limit and quota, MUC behaviour, OAuth2 grant types…),
//!   some of them only while a feature is on (the MAM policy while archiving is on, s2s ports,
//!   s2s encryption and limits while federating). `prosody.<host>.defaults` replace these.
//! - the **configured** settings: those that render a `prose.toml` key (`server.domain`,
//!   `server.local_hostname`, `server.http_port`, `server.log_level`, every
//!   `server.defaults.*` key, `auth.token_ttl`, `public_contacts`, the pod address,
//!   `debug_use_at_your_own_risk.c2s_unencrypted`), and the modules features turn on. These
//!   beat `defaults`: what the configuration says is what the pod does.
//!
//! `prosody.<host>.overrides` then beat both (see `mod.rs`).

use super::convert;
use super::lua::{EnvName, SectionKind, Value};
use super::settings::Settings;
use crate::config::Config;
use crate::config::formats;
use crate::config::keys;
use crate::config::model::{LogLevel, UPLOAD_HOST};
use crate::diagnostics::{Diagnostic, code};

/// Global modules every pod enables (upstream `prose_default`).
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

pub const MUC_PLUGIN: &str = "muc";
pub const UPLOAD_PLUGIN: &str = "http_file_share";
pub const UPLOAD_NAME: &str = "HTTP File Upload";

const GROUP_CLOUD_NOTIFY: &str = "mod_cloud_notify";
const GROUP_OAUTH2: &str = "mod_http_oauth2";
pub const GROUP_DEBUG_C2S: &str = "Debug config: c2s_unencrypted";

/// A change to a list option that a feature makes (upstream's `enable_module`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOp {
    Add(&'static str, String),
    Remove(&'static str, String),
}

/// One section to generate.
#[derive(Debug, Clone)]
pub struct SectionPlan {
    /// `None` for the global section.
    pub host: Option<String>,
    pub kind: Option<SectionKind>,
    pub baseline: Settings,
    pub configured: Settings,
    /// Applied after `configured`.
    pub ops: Vec<ListOp>,
}

impl SectionPlan {
    fn new(host: Option<String>, kind: Option<SectionKind>) -> Self {
        SectionPlan {
            host,
            kind,
            baseline: Settings::default(),
            configured: Settings::default(),
            ops: Vec::new(),
        }
    }

    /// How the section is named to the operator (`global`, `example.org`).
    pub fn label(&self) -> &str {
        self.host.as_deref().unwrap_or("global")
    }
}

/// A hostname as Prosody wants it: the Unicode form of an IDN (Prosody nameprep's host names
/// and, from 0.12.5, warns about A-labels).
pub fn prosody_hostname(host: &str) -> String {
    match idna::domain_to_unicode(host) {
        (unicode, Ok(())) => unicode,
        _ => host.to_owned(),
    }
}

fn key_span(ctx_config: &Ctx<'_>, path: &[&str]) -> Option<crate::diagnostics::source::Span> {
    ctx_config.tree.and_then(|t| {
        t.get_path(path)
            .and_then(|n| n.origin.span().or(n.key_span))
    })
}

/// What generation reads.
pub struct Ctx<'a> {
    pub config: &'a Config,
    /// The configuration tree, to point diagnostics at keys (absent in some unit tests).
    pub tree: Option<&'a crate::provenance::Node>,
}

/// The sections Prose generates, global first, and errors about keys Prosody cannot be given
/// (the sections are complete either way, so later stages can report their errors too).
pub fn plan(ctx: &Ctx<'_>) -> (Vec<SectionPlan>, Vec<Diagnostic>) {
    let config = ctx.config;
    let defaults = &config.server.defaults;
    let mut errors = Vec::new();
    let mut period = |path: &[&str], r: Result<Value, String>| -> Value {
        r.unwrap_or_else(|message| {
            errors.push(
                Diagnostic::error(
                    code::RETENTION,
                    format!("`{}` cannot be given to Prosody: {message}", path.join(".")),
                )
                .key(path.join("."))
                .at(key_span(ctx, path), "too long")
                .help("write a shorter period, or `infinite` to keep data forever"),
            );
            Value::string("never")
        })
    };
    let archive_retention = period(
        keys::ARCHIVE_RETENTION.path(),
        convert::archive_retention(&defaults.message_archive_retention.parsed()),
    );
    let file_retention = period(
        keys::FILE_RETENTION.path(),
        convert::file_retention(&defaults.file_storage_retention.parsed()),
    );
    let domain = prosody_hostname(config.server.domain.as_str());
    let federation = defaults.federation_enabled;
    let unencrypted = config.debug_use_at_your_own_risk.c2s_unencrypted;

    // Global section.
    let mut global = SectionPlan::new(None, None);
    let b = &mut global.baseline;
    b.set("pidfile", Value::string("/var/run/prosody/prosody.pid"));
    b.set(
        "admin_socket",
        Value::string("/var/run/prosody/prosody.sock"),
    );
    b.set("authentication", Value::string("internal_hashed"));
    b.set("default_storage", Value::string("internal"));
    b.set(
        "plugin_paths",
        Value::strings(["/usr/local/lib/prosody/modules"]),
    );
    b.set(
        "modules_enabled",
        Value::strings(BASE_MODULES.iter().copied()),
    );
    b.set("modules_disabled", Value::strings(["s2s"]));
    b.set("reload_modules", Value::strings(["tls"]));
    b.set("allow_registration", Value::Bool(false));
    b.set("c2s_stanza_size_limit", Value::Product(vec![256, 1024]));
    let mut limits = vec![("c2s", rate_limit("50kb/s", "2s"))];
    if federation {
        b.set("s2s_ports", Value::List(vec![Value::Integer(5269)]));
        b.set("s2s_require_encryption", Value::Bool(true));
        // Certificate-only s2s authentication: upstream writes `false` (dialback allowed),
        // which the audit report lists among its critical findings.
        b.set("s2s_secure_auth", Value::Bool(true));
        limits.push(("s2sin", rate_limit("250kb/s", "4s")));
    }
    b.set("limits", Value::map(limits));
    b.set("consider_websocket_secure", Value::Bool(true));
    if defaults.message_archive_enabled {
        b.set("default_archive_policy", Value::Bool(true));
        b.set("max_archive_query_results", Value::Integer(100));
    }
    b.set("upgrade_legacy_vcards", Value::Bool(true));

    let c = &mut global.configured;
    let level = match config.server.log_level {
        // Prosody has no `trace`: its most verbose level is `debug`.
        LogLevel::Trace | LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    c.set("log", Value::map([(level, Value::string("*console"))]));
    c.set(
        "http_ports",
        Value::List(vec![Value::Integer(i64::from(config.server.http_port))]),
    );
    c.set("tls_profile", Value::string(defaults.tls_profile.as_str()));
    if unencrypted {
        c.set_custom(
            GROUP_DEBUG_C2S,
            "c2s_require_encryption",
            Value::Bool(false),
        );
        c.set_custom(
            GROUP_DEBUG_C2S,
            "allow_unencrypted_plain_auth",
            Value::Bool(true),
        );
    } else {
        c.set("c2s_require_encryption", Value::Bool(true));
    }
    if federation && defaults.federation_whitelist_enabled {
        c.set(
            "s2s_whitelist",
            Value::strings(
                defaults
                    .federation_friendly_servers
                    .iter()
                    .map(|h| prosody_hostname(h.as_str())),
            ),
        );
    }
    if defaults.message_archive_enabled {
        c.set("archive_expires_after", archive_retention.clone());
    }
    c.set_custom(
        GROUP_CLOUD_NOTIFY,
        "push_notification_with_body",
        Value::Bool(defaults.push_notification_with_body),
    );
    c.set_custom(
        GROUP_CLOUD_NOTIFY,
        "push_notification_with_sender",
        Value::Bool(defaults.push_notification_with_sender),
    );
    let enable = |ops: &mut Vec<ListOp>, module: &str| {
        ops.push(ListOp::Add("modules_enabled", module.to_owned()));
        ops.push(ListOp::Remove("modules_disabled", module.to_owned()));
    };
    if federation {
        enable(&mut global.ops, "s2s");
        enable(&mut global.ops, "s2s_bidi");
        if defaults.federation_whitelist_enabled {
            enable(&mut global.ops, "s2s_whitelist");
        }
    }
    if defaults.message_archive_enabled {
        enable(&mut global.ops, "mam");
    }
    if unencrypted {
        enable(&mut global.ops, "reload_modules");
        global
            .ops
            .push(ListOp::Add("reload_modules", "saslauth".to_owned()));
    }

    // The main VirtualHost.
    let mut host = SectionPlan::new(Some(domain.clone()), Some(SectionKind::VirtualHost));
    let b = &mut host.baseline;
    b.set(
        "modules_enabled",
        Value::strings(HOST_MODULES.iter().copied()),
    );
    b.set("reload_modules", Value::strings(["http_oauth2"]));
    b.set_custom(
        GROUP_OAUTH2,
        "allowed_oauth2_grant_types",
        Value::strings(["authorization_code", "refresh_token", "password"]),
    );
    let c = &mut host.configured;
    if let Some(contacts) = contact_info(config) {
        c.set("contact_info", contacts);
    }
    c.set(
        "http_host",
        Value::string(config.server.local_hostname.as_str()),
    );
    if defaults.file_upload_allowed {
        c.set(
            "disco_items",
            Value::List(vec![Value::Tuple(vec![
                Value::string(UPLOAD_HOST),
                Value::string(UPLOAD_NAME),
            ])]),
        );
    }
    let ttl = match config
        .auth
        .token_ttl
        .parsed()
        .as_seconds()
        .map(i64::try_from)
    {
        Some(Ok(seconds)) => Value::Integer(seconds),
        _ => {
            errors.push(
                Diagnostic::error(
                    code::DURATION,
                    "`auth.token_ttl` must be a fixed number of seconds",
                )
                .key(keys::AUTH_TOKEN_TTL)
                .at(
                    key_span(ctx, keys::AUTH_TOKEN_TTL.path()),
                    "not a fixed length",
                )
                .help("write it in weeks, days, hours, minutes or seconds, e.g. `PT3H`"),
            );
            Value::Integer(0)
        }
    };
    c.set_custom(GROUP_OAUTH2, "oauth2_access_token_ttl", ttl);
    let b = &mut host.baseline;
    b.set_custom(GROUP_OAUTH2, "oauth2_refresh_token_ttl", Value::Integer(0));
    if let Some(env) = EnvName::new("OAUTH2_REGISTRATION_KEY") {
        b.set_custom(GROUP_OAUTH2, "oauth2_registration_key", Value::Env(env));
    }

    // The chat rooms.
    let mut muc = SectionPlan::new(
        Some(prosody_hostname(&config.groups_domain())),
        Some(SectionKind::Component {
            plugin: MUC_PLUGIN.into(),
        }),
    );
    let b = &mut muc.baseline;
    b.set_header("name", Value::string("Chatrooms"));
    b.set(
        "modules_enabled",
        Value::strings(["muc_public_affiliations", "muc_cloud_notify"]),
    );
    b.set("max_archive_query_results", Value::Integer(100));
    b.set("restrict_room_creation", Value::string("local"));
    b.set("muc_log_all_rooms", Value::Bool(true));
    b.set("muc_log_by_default", Value::Bool(true));
    // Group chat messages are messages: `message_archive_retention` applies to them too
    // (upstream keeps them forever whatever the retention says).
    muc.configured
        .set("muc_log_expires_after", archive_retention);
    if defaults.message_archive_enabled {
        muc.ops
            .push(ListOp::Add("modules_enabled", "muc_mam".into()));
    }

    let mut sections = vec![global, host, muc];

    // File upload.
    if defaults.file_upload_allowed {
        let mut upload = SectionPlan::new(
            Some(UPLOAD_HOST.to_owned()),
            Some(SectionKind::Component {
                plugin: UPLOAD_PLUGIN.into(),
            }),
        );
        let b = &mut upload.baseline;
        b.set_header("name", Value::string(UPLOAD_NAME));
        b.set(
            "http_paths",
            Value::map([("file_share", Value::string("/upload"))]),
        );
        b.set(
            "http_file_share_size_limit",
            convert::size_from_bytes(crate::config::model::DEFAULT_UPLOAD_SIZE_LIMIT),
        );
        b.set(
            "http_file_share_daily_quota",
            Value::Product(vec![100, 1024, 1024]),
        );
        let c = &mut upload.configured;
        let pod = config.pod_domain();
        let pod_ascii = formats::hostname(&pod).unwrap_or(pod);
        c.set(
            "http_external_url",
            Value::String(format!("https://{pod_ascii}/")),
        );
        c.set("http_file_share_expires_after", file_retention);
        c.set("http_file_share_access", Value::strings([domain.as_str()]));
        sections.push(upload);
    }
    (sections, errors)
}

fn rate_limit(rate: &str, burst: &str) -> Value {
    Value::map([
        ("rate", Value::string(rate)),
        ("burst", Value::string(burst)),
    ])
}

/// XEP-0157 contacts: each category from `public_contacts.<category>`, else
/// `public_contacts.default`; empty categories are left out (and the option with them).
pub fn contact_info(config: &Config) -> Option<Value> {
    let p = &config.public_contacts;
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
        .filter_map(|(name, urls)| {
            let urls = if urls.is_empty() { &p.default } else { urls };
            (!urls.is_empty()).then(|| (name, Value::strings(urls.iter().map(|u| u.as_str()))))
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

    fn plans(json: serde_json::Value) -> Vec<SectionPlan> {
        let config = config(json);
        let (plans, errors) = plan(&Ctx {
            config: &config,
            tree: None,
        });
        assert!(errors.is_empty(), "{errors:#?}");
        plans
    }

    /// A section's options after baseline, configured values and feature operations.
    fn effective(plan: &SectionPlan) -> Settings {
        let mut s = plan.baseline.clone();
        s.merge_generated(plan.configured.clone());
        for op in &plan.ops {
            match op {
                ListOp::Add(o, i) => s.list_add(o, i),
                ListOp::Remove(o, i) => s.list_remove(o, i),
            }
        }
        s
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

    #[test]
    fn minimal_pod_sections_and_modules() {
        let p = plans(serde_json::json!({ "server": { "domain": "example.org" } }));
        let hosts: Vec<&str> = p.iter().map(SectionPlan::label).collect();
        assert_eq!(
            hosts,
            [
                "global",
                "example.org",
                "groups.example.org",
                "upload.prose.local"
            ]
        );
        let global = effective(&p[0]);
        let mut expected: Vec<String> = BASE_MODULES.iter().map(|s| s.to_string()).collect();
        expected.push("mam".into());
        assert_eq!(strings(global.get("modules_enabled")), expected);
        assert_eq!(strings(global.get("modules_disabled")), ["s2s"]);
        assert_eq!(global.get("tls_profile"), Some(&Value::string("modern")));
        assert_eq!(
            global.get("archive_expires_after"),
            Some(&Value::string("never"))
        );
        assert_eq!(global.get("s2s_secure_auth"), None);
        let upload = effective(&p[3]);
        assert_eq!(
            upload.get("http_file_share_size_limit"),
            Some(&Value::Product(vec![20, 1024, 1024]))
        );
        assert_eq!(
            upload.get("http_external_url"),
            Some(&Value::string("https://prose.example.org/"))
        );
        assert_eq!(
            effective(&p[1]).get("oauth2_access_token_ttl"),
            Some(&Value::Integer(10_800))
        );
    }

    #[test]
    fn federation_modules_come_in_upstream_order() {
        let p = plans(serde_json::json!({
            "server": {
                "domain": "example.org",
                "defaults": {
                    "federation_enabled": true,
                    "federation_whitelist_enabled": true,
                    "federation_friendly_servers": ["a.example", "xn--bcher-kva.example"],
                },
            },
        }));
        let global = effective(&p[0]);
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
        assert_eq!(global.get("s2s_secure_auth"), Some(&Value::Bool(true)));
        assert_eq!(
            global.get("s2s_require_encryption"),
            Some(&Value::Bool(true))
        );
        assert_eq!(
            global.get("s2s_ports"),
            Some(&Value::List(vec![Value::Integer(5269)]))
        );
    }

    #[test]
    fn trace_is_debug_for_prosody() {
        for (level, prosody) in [
            ("trace", "debug"),
            ("debug", "debug"),
            ("info", "info"),
            ("warn", "warn"),
            ("error", "error"),
        ] {
            let p = plans(
                serde_json::json!({ "server": { "domain": "example.org", "log_level": level } }),
            );
            assert_eq!(
                effective(&p[0]).get("log"),
                Some(&Value::map([(prosody, Value::string("*console"))]))
            );
        }
    }

    #[test]
    fn features_off_leave_their_settings_out() {
        let p = plans(serde_json::json!({
            "server": {
                "domain": "example.org",
                "defaults": { "message_archive_enabled": false, "file_upload_allowed": false },
            },
        }));
        assert_eq!(p.len(), 3, "no upload component");
        let global = effective(&p[0]);
        for absent in [
            "archive_expires_after",
            "default_archive_policy",
            "max_archive_query_results",
        ] {
            assert_eq!(global.get(absent), None, "{absent}");
        }
        assert!(!strings(global.get("modules_enabled")).contains(&"mam".to_owned()));
        assert_eq!(effective(&p[1]).get("disco_items"), None);
        assert!(!strings(effective(&p[2]).get("modules_enabled")).contains(&"muc_mam".to_owned()));
    }

    #[test]
    fn contacts_fall_back_to_default_per_category() {
        let c = config(serde_json::json!({
            "server": { "domain": "example.org" },
            "public_contacts": { "default": ["mailto:a@example.org"], "support": ["https://example.org/help"] },
        }));
        let v = contact_info(&c).unwrap();
        let Value::Map(m) = v else { panic!() };
        assert_eq!(
            m.keys().collect::<Vec<_>>(),
            ["abuse", "admin", "feedback", "sales", "security", "support"]
        );
        assert_eq!(m["support"], Value::strings(["https://example.org/help"]));
        assert_eq!(m["admin"], Value::strings(["mailto:a@example.org"]));
        let none = config(serde_json::json!({ "server": { "domain": "example.org" } }));
        assert_eq!(contact_info(&none), None);
    }
}
