//! prose-compile's deliberate differences from the Pod API's own file, carried to the API as
//! `prosody.<host>.overrides` entries of the installed `prose.toml`, so that the API's
//! regeneration writes them too.
//!
//! The generated `prosody.cfg.lua` is exactly what the Pod API 0.20.0 writes from the
//! installed `prose.toml`, which is the operator's plus these entries ([`carried`]): the
//! Prosody target applies them as the API will, and the `prose.toml` target writes them
//! ([`carried_overrides`]). Each is set only where the operator's own `overrides` table does
//! not set the option, and only where the API applies it (an option its global and upload
//! `overrides` may add, or one Prose generates in the chat rooms section):
//!
//! | section | option | why |
//! |---|---|---|
//! | global | `tls_profile` | the API ignores `server.defaults.tls_profile`; Prosody then uses its default (`intermediate`), not the profile nginx uses |
//! | global | `ssl = { ciphers = … }` | the profile's TLS 1.2 ciphers exactly as nginx's (`intermediate`, `old`): Prosody 13 embeds Mozilla's guideline 5.7, which adds three DHE suites to intermediate, and its `old` lacks `@SECLEVEL=0`, so OpenSSL 3 refuses TLS 1.0/1.1 (the live suite measured both) |
//! | global | `https_ports = []` | Prosody's HTTPS port 5281 would otherwise listen on every interface, serving `/rest`, OAuth2 and WebSocket past nginx (nothing uses it: nginx and the Pod Server use 5280) |
//! | global | `modules_enabled` | Prose's base modules without `posix`, which Prosody 13 deprecates (`prosodyctl check config` flags it) |
//! | chat rooms | `muc_log_expires_after` | the API keeps group chat messages forever whatever `message_archive_retention` says |
//! | upload | `http_file_share_expires_after` | the API rounds `file_storage_retention` down to its largest unit (`P30D` → 4 weeks) |
//! | upload | `http_external_url` | the API always uses `https://prose.<server.domain>/`, even when `pod.address.domain` differs |

use super::convert::{self, Period};
use super::generate::{self, Ctx};
use super::settings::{Origin, UserOption};
use crate::config::model::UPLOAD_HOST;
use crate::config::model::TlsProfile;
use crate::config::prosody::{ProsodyHost, ProsodySettings, SslSettings};
use crate::config::types::{ModuleName, ProsodyPeriod};
use crate::diagnostics::{Diagnostic, code};

/// One carried entry: `[prosody."<host>".overrides] <option> = <value>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Carried {
    /// The `prosody` table's key: `global`, or the section's hostname.
    pub host: String,
    pub option: &'static str,
    /// The value as `prose.toml` writes it for the Pod API.
    pub value: toml::Value,
    /// Why prose-compile sets it (for a comment in the installed `prose.toml`).
    pub reason: &'static str,
}

/// The carried entries of one section, as typed options (rendered like the operator's).
#[derive(Debug, Clone, Default)]
pub struct SectionCarry {
    pub settings: ProsodySettings,
    pub reasons: Vec<(&'static str, &'static str)>,
}

impl SectionCarry {
    fn add(&mut self, option: &'static str, reason: &'static str, set: impl FnOnce(&mut ProsodySettings)) {
        set(&mut self.settings);
        self.reasons.push((option, reason));
    }

    /// The entries as options of the section's `overrides`, marked as carried.
    pub fn options(&self) -> Vec<UserOption> {
        super::overrides::options(&self.settings)
            .expect("carried values are in the API's forms")
            .into_iter()
            .map(|(name, value)| UserOption {
                name,
                value,
                origin: Origin::Carried,
            })
            .collect()
    }
}

/// What is carried per section: global, the chat rooms, the upload component.
#[derive(Debug, Clone, Default)]
pub struct Carry {
    pub global: SectionCarry,
    pub groups: SectionCarry,
    pub upload: SectionCarry,
}

/// The operator's `overrides` table of the section `host` (matched as the sections are).
fn user_overrides<'c>(ctx: &Ctx<'c>, host: &str) -> Option<&'c ProsodySettings> {
    ctx.config
        .prosody
        .iter()
        .filter(|(key, _)| super::same_host(key, host))
        .find_map(|(_, ProsodyHost { overrides, .. })| overrides.as_ref())
}

pub const WHY_TLS_PROFILE: &str = "Pod API 0.20.0 does not write `server.defaults.tls_profile` into Prosody's configuration";
pub const WHY_SSL_CIPHERS: &str = "Prosody uses the TLS 1.2 ciphers nginx uses for `server.defaults.tls_profile` (Prosody 13's own list is Mozilla's older guideline, and its `old` refuses TLS 1.0/1.1 under OpenSSL 3)";
pub const WHY_HTTPS_PORTS: &str = "keeps Prosody's HTTPS port 5281 closed: nginx terminates TLS and proxies to port 5280";
pub const WHY_MODULES: &str = "Prose's base modules without `posix`, which Prosody 13 deprecates";
pub const WHY_MUC_RETENTION: &str = "group chat messages follow `server.defaults.message_archive_retention` (Pod API 0.20.0 keeps them forever)";
pub const WHY_FILE_RETENTION: &str = "keeps `server.defaults.file_storage_retention` exact (Pod API 0.20.0 rounds it down to its largest unit)";
pub const WHY_EXTERNAL_URL: &str = "uploads are served at `pod.address.domain` (Pod API 0.20.0 uses `prose.<server.domain>`)";

/// What prose-compile carries for this configuration (see the module docs). An entry the
/// operator's `overrides` already set to the same value is still listed, so building the
/// installed `prose.toml` again gives the same entries.
pub fn carried(ctx: &Ctx<'_>) -> Carry {
    let config = ctx.config;
    let d = &config.server.defaults;
    let mut carry = Carry::default();
    // Whether the operator's table leaves the option to prose-compile: unset, or set to the
    // value prose-compile carries.
    fn free<T: PartialEq>(table: Option<&ProsodySettings>, get: impl Fn(&ProsodySettings) -> &Option<T>, carried: &T) -> bool {
        table.and_then(|t| get(t).as_ref()).is_none_or(|v| v == carried)
    }
    let global = user_overrides(ctx, "global");

    if free(global, |s| &s.tls_profile, &d.tls_profile) {
        carry
            .global
            .add("tls_profile", WHY_TLS_PROFILE, |s| s.tls_profile = Some(d.tls_profile));
    }
    if let Some(ssl) = ssl_for_profile(d.tls_profile)
        && free(global, |s| &s.ssl, &ssl)
    {
        carry.global.add("ssl", WHY_SSL_CIPHERS, |s| s.ssl = Some(ssl));
    }
    if free(global, |s| &s.https_ports, &Vec::new()) {
        carry
            .global
            .add("https_ports", WHY_HTTPS_PORTS, |s| s.https_ports = Some(Vec::new()));
    }
    let modules: Vec<ModuleName> = generate::needed_base_modules()
        .map(|m| ModuleName(m.to_owned()))
        .collect();
    if free(global, |s| &s.modules_enabled, &modules) {
        carry
            .global
            .add("modules_enabled", WHY_MODULES, |s| s.modules_enabled = Some(modules));
    }

    let groups = user_overrides(ctx, &ctx.groups_domain());
    if d.message_archive_enabled {
        let retention = d.message_archive_retention.parsed();
        let period = convert::exact_period(&retention)
            .or_else(|| convert::api_retention(&retention).ok())
            .filter(|p| *p != Period::Never)
            .map(|p| ProsodyPeriod::trusted(&p.iso()));
        if let Some(period) = period
            && free(groups, |s| &s.muc_log_expires_after, &period)
        {
            carry.groups.add("muc_log_expires_after", WHY_MUC_RETENTION, |s| {
                s.muc_log_expires_after = Some(period)
            });
        }
    }

    if d.file_upload_allowed {
        let upload = user_overrides(ctx, UPLOAD_HOST);
        let retention = d.file_storage_retention.parsed();
        if let (Some(exact), Ok(api)) = (
            convert::exact_period(&retention),
            convert::api_retention(&retention),
        ) && exact != api
        {
            let exact = ProsodyPeriod::trusted(&exact.iso());
            if free(upload, |s| &s.http_file_share_expires_after, &exact) {
                carry.upload.add("http_file_share_expires_after", WHY_FILE_RETENTION, |s| {
                    s.http_file_share_expires_after = Some(exact)
                });
            }
        }
        let pod = config.pod_domain();
        let pod_url = format!(
            "https://{}/",
            crate::config::formats::hostname(&pod).unwrap_or(pod)
        );
        if pod_url != ctx.app_web_url() && free(upload, |s| &s.http_external_url, &pod_url) {
            carry.upload.add("http_external_url", WHY_EXTERNAL_URL, |s| {
                s.http_external_url = Some(pod_url)
            });
        }
    }
    carry
}

/// Prosody's `ssl` for a profile: the TLS 1.2 cipher string nginx's sites use (none for
/// `modern`, TLS 1.3 only, where both servers already agree).
pub fn ssl_for_profile(profile: TlsProfile) -> Option<SslSettings> {
    crate::targets::nginx::tls(profile)
        .ciphers
        .map(|ciphers| SslSettings {
            ciphers: Some(ciphers),
            ..SslSettings::default()
        })
}

/// A warning when the operator's own global `ssl` keeps the carried ciphers out: Prosody then
/// accepts other TLS 1.2 ciphers (and, for `old`, other protocol versions) than nginx.
pub fn ssl_not_carried(ctx: &Ctx<'_>, span_of: super::pod_api::SpanOf<'_>) -> Option<Diagnostic> {
    let profile = ctx.config.server.defaults.tls_profile;
    let carried = ssl_for_profile(profile)?;
    let own = user_overrides(ctx, "global")?.ssl.as_ref()?;
    if *own == carried || own.ciphers.is_some() {
        return None;
    }
    let path = ["prosody", "global", "overrides", "ssl"];
    Some(
        Diagnostic::warning(
            code::PROSODY_TLS,
            format!(
                "`{}` replaces Prosody's whole `ssl` table without `ciphers`: Prosody then uses \
                 its own TLS 1.2 ciphers for `tls_profile = \"{}\"`, not those of nginx",
                path.join("."),
                profile.as_str()
            ),
        )
        .key(path.join("."))
        .at(span_of(&path), "no `ciphers`")
        .help(format!(
            "add `ciphers = \"{}\"` to it (nginx's list for this profile)",
            carried.ciphers.unwrap_or_default()
        )),
    )
}

/// The carried entries as the installed `prose.toml` writes them, in the order of the
/// sections and then of the table above.
pub fn carried_overrides(ctx: &Ctx<'_>) -> Vec<Carried> {
    let carry = carried(ctx);
    let mut out = Vec::new();
    for (host, section) in [
        ("global".to_owned(), &carry.global),
        (ctx.groups_domain(), &carry.groups),
        (UPLOAD_HOST.to_owned(), &carry.upload),
    ] {
        // Most sections carry nothing: no need to serialise their ~150 options.
        if section.reasons.is_empty() {
            continue;
        }
        let json = serde_json::to_value(&section.settings).expect("settings serialize");
        for (option, reason) in &section.reasons {
            let value = json
                .get(*option)
                .map(without_nulls)
                .and_then(|v| toml::Value::try_from(v).ok())
                .expect("a carried option is set and has a TOML form");
            out.push(Carried {
                host: host.clone(),
                option,
                value,
                reason,
            });
        }
    }
    out
}

/// A value without its unset (`null`) table entries, which TOML cannot hold (`ssl`'s fields).
fn without_nulls(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), without_nulls(v)))
            .collect(),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn entries(json: serde_json::Value) -> Vec<(String, String, String)> {
        let config: Config = serde_json::from_value(json).unwrap();
        let ctx = Ctx {
            config: &config,
            tree: None,
        };
        carried_overrides(&ctx)
            .into_iter()
            .map(|c| (c.host, c.option.to_owned(), c.value.to_string()))
            .collect()
    }

    #[test]
    fn a_minimal_pod_carries_the_tls_profile_the_closed_https_port_and_the_modules() {
        let e = entries(serde_json::json!({ "server": { "domain": "example.org" } }));
        let options: Vec<(&str, &str)> = e.iter().map(|(h, o, _)| (h.as_str(), o.as_str())).collect();
        assert_eq!(
            options,
            [("global", "tls_profile"), ("global", "https_ports"), ("global", "modules_enabled")]
        );
        assert_eq!(e[0].2, "\"modern\"");
        assert_eq!(e[1].2, "[]");
        assert!(!e[2].2.contains("posix") && e[2].2.contains("\"saslauth\""), "{}", e[2].2);
    }

    #[test]
    fn retentions_and_the_upload_url_are_carried_when_the_api_would_differ() {
        let e = entries(serde_json::json!({
            "server": { "domain": "example.org", "defaults": {
                "message_archive_retention": "P30D", "file_storage_retention": "P30D" } },
            "pod": { "address": { "domain": "chat.example.org" } },
        }));
        let find = |host: &str, option: &str| {
            e.iter()
                .find(|(h, o, _)| h == host && o == option)
                .map(|(_, _, v)| v.clone())
        };
        assert_eq!(find("groups.example.org", "muc_log_expires_after").as_deref(), Some("\"P30D\""));
        assert_eq!(find(UPLOAD_HOST, "http_file_share_expires_after").as_deref(), Some("\"P30D\""));
        assert_eq!(find(UPLOAD_HOST, "http_external_url").as_deref(), Some("\"https://chat.example.org/\""));
    }

    #[test]
    fn an_operator_value_equal_to_the_carried_one_is_still_carried() {
        // So the installed prose.toml, built again, lists the same entries.
        let e = entries(serde_json::json!({
            "server": { "domain": "example.org" },
            "prosody": { "global": { "overrides": { "tls_profile": "modern", "https_ports": [] } } },
        }));
        let options: Vec<&str> = e.iter().map(|(_, o, _)| o.as_str()).collect();
        assert_eq!(options, ["tls_profile", "https_ports", "modules_enabled"]);
    }

    #[test]
    fn prosody_gets_nginxs_ciphers_for_intermediate_and_old() {
        // Prosody 13's intermediate adds three DHE suites, and its old lacks `@SECLEVEL=0` (no
        // TLS 1.0/1.1 under OpenSSL 3): the live suite measured both against nginx.
        for (profile, start) in [("intermediate", "\"ECDHE-ECDSA-AES128"), ("old", "\"@SECLEVEL=0:ECDHE")] {
            let e = entries(serde_json::json!({
                "server": { "domain": "example.org", "defaults": { "tls_profile": profile } },
            }));
            let ssl = e.iter().find(|(h, o, _)| h == "global" && o == "ssl").map(|(_, _, v)| v.clone());
            let ssl = ssl.unwrap_or_else(|| panic!("{profile}: no ssl carried in {e:?}"));
            let profile_value: TlsProfile = serde_json::from_value(serde_json::json!(profile)).unwrap();
            let nginx = crate::targets::nginx::tls(profile_value).ciphers.unwrap();
            assert!(ssl.contains(&format!("ciphers = \"{nginx}\"")), "{ssl}");
            assert!(ssl.contains(&format!("ciphers = {start}")), "{ssl}");
            assert!(!ssl.split(['"', ':']).any(|c| c.starts_with("DHE-")), "{ssl}");
        }
        // Modern (TLS 1.3 only) already agrees: nothing.
        let e = entries(serde_json::json!({ "server": { "domain": "example.org" } }));
        assert!(!e.iter().any(|(_, o, _)| o == "ssl"), "{e:?}");
    }

    #[test]
    fn an_operators_ssl_without_ciphers_is_warned_about() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "server": { "domain": "example.org", "defaults": { "tls_profile": "intermediate" } },
            "prosody": { "global": { "overrides": { "ssl": { "curve": "secp384r1" } } } },
        }))
        .unwrap();
        let ctx = Ctx { config: &config, tree: None };
        assert!(!carried_overrides(&ctx).iter().any(|c| c.option == "ssl"));
        let warning = ssl_not_carried(&ctx, &|_| None).expect("a warning");
        assert_eq!(warning.code, code::PROSODY_TLS);
        assert!(warning.message.contains("without `ciphers`"), "{}", warning.message);
        // With their own ciphers, the operator decided: no warning.
        let config: Config = serde_json::from_value(serde_json::json!({
            "server": { "domain": "example.org", "defaults": { "tls_profile": "intermediate" } },
            "prosody": { "global": { "overrides": { "ssl": { "ciphers": "HIGH" } } } },
        }))
        .unwrap();
        assert!(ssl_not_carried(&Ctx { config: &config, tree: None }, &|_| None).is_none());
    }

    #[test]
    fn nothing_is_carried_where_the_api_agrees_or_the_operator_decided() {
        let e = entries(serde_json::json!({
            "server": { "domain": "example.org", "defaults": {
                "message_archive_retention": "infinite", "file_storage_retention": "P1Y" } },
            "prosody": { "global": { "overrides": {
                "tls_profile": "old", "https_ports": [5281],
                "modules_enabled": ["roster", "saslauth", "tls"] } } },
        }));
        assert!(e.is_empty(), "{e:?}");
        let e = entries(serde_json::json!({
            "server": { "domain": "example.org", "defaults": { "message_archive_retention": "P1Y" } },
            "prosody": { "groups.example.org": { "overrides": { "muc_log_expires_after": "P2Y" } } },
        }));
        assert!(!e.iter().any(|(_, o, _)| o == "muc_log_expires_after"), "{e:?}");
    }
}
