//! `audit`: the security review a reviewer would write about a pod (after the audit report
//! in `seeds/002_…`), computed from the effective configuration and the generated files.
//!
//! Every rule reads effective values, so a setting weakened through `prosody.<host>.overrides`,
//! an environment variable or a preset is caught like one written directly. A finding names
//! the key (with its span and layer) or the generated file and line that causes it.

mod kubernetes;
pub mod sarif;

use crate::config::keys;
use serde::Serialize;

use crate::config::Config;
use crate::config::load::Loaded;
use crate::diagnostics::source::Span;
use crate::output::OutputTree;
use crate::provenance::{Node, Origin, Value, dotted};
use crate::provenance::{OriginInfo, describe_origin};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Suggestion,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Suggestion => "suggestion",
        }
    }
}

/// A rule: its stable code, severity, title, why it matters and how to fix it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub explanation: &'static str,
    pub fix: &'static str,
}

macro_rules! rules {
    ($($name:ident = $code:literal, $sev:ident, $title:literal, $why:literal, $fix:literal;)*) => {
        $(pub const $name: Rule = Rule { code: $code, severity: Severity::$sev, title: $title, explanation: $why, fix: $fix };)*
        /// Every rule, in the order findings are listed.
        pub const RULES: &[Rule] = &[$($name),*];
    };
}

rules! {
    C2S_ENCRYPTION_OFF = "c2s-encryption-off", Critical,
        "Client connections may be unencrypted",
        "With `c2s_require_encryption = false` clients may connect without TLS, and their credentials and messages cross the network in clear.",
        "Remove `debug_use_at_your_own_risk.c2s_unencrypted` and any `c2s_require_encryption = false` override.";
    S2S_ENCRYPTION_OFF = "s2s-encryption-off", Critical,
        "Server-to-server connections may be unencrypted",
        "With `s2s_require_encryption = false` (or `s2s_allow_encryption = false`) federated traffic may travel in clear.",
        "Remove the `s2s_require_encryption` / `s2s_allow_encryption` override.";
    PLAINTEXT_AUTH = "plaintext-auth", Critical,
        "Plaintext passwords allowed over unencrypted connections",
        "`allow_unencrypted_plain_auth = true` lets clients send their password in clear.",
        "Remove `allow_unencrypted_plain_auth` (and `debug_use_at_your_own_risk.c2s_unencrypted`).";
    WEAK_TLS_OVERRIDE = "weak-tls-override", Critical,
        "TLS settings overridden with obsolete protocols or ciphers",
        "An `ssl` override enables SSLv3/TLS 1.0/1.1 or broken ciphers (RC4, 3DES, NULL, EXPORT, MD5), which attackers can downgrade to.",
        "Remove the `ssl` override and choose `server.defaults.tls_profile` instead.";
    LEGACYAUTH = "legacyauth", Warning,
        "`legacyauth` is enabled",
        "XEP-0078 legacy authentication only serves some old clients and bots and widens the attack surface.",
        "Remove `legacyauth` from the enabled modules.";
    TLS_PROFILE_OLD = "tls-profile-old", Warning,
        "TLS profile `old`",
        "Mozilla has dropped the `old` profile: it accepts TLS 1.0/1.1 and weak ciphers.",
        "Use `intermediate` (or `modern`) for `server.defaults.tls_profile`.";
    S2S_DIALBACK = "s2s-dialback", Warning,
        "Federation authenticates servers by DNS dialback",
        "With federation on, Pod API 0.20.0 writes `s2s_secure_auth = false` into Prosody's configuration (after `prose.toml`'s overrides): remote servers are authenticated by dialback, which trusts DNS, instead of certificates.",
        "Keep `federation_whitelist_enabled` on with a short list of peers, or set `s2s_secure_auth = true` through the Pod API's own Prosody overrides (`PUT /v1/server/config/prosody-overrides`).";
    FEDERATION_NO_WHITELIST = "federation-no-whitelist", Warning,
        "Federation without a whitelist",
        "Any server of the XMPP network can reach your users.",
        "Set `server.defaults.federation_whitelist_enabled = true` and list `federation_friendly_servers`.";
    OPEN_REGISTRATION = "open-registration", Warning,
        "In-band registration is open",
        "`allow_registration = true` lets anyone create an account (accounts are managed through the Dashboard).",
        "Remove the `allow_registration` override.";
    TRUSTED_PROXIES_OPEN = "trusted-proxies-open", Warning,
        "Every address is a trusted proxy",
        "`trusted_proxies` covers all addresses, so any client can forge `X-Forwarded-For` and appear to come from anywhere.",
        "List only nginx's addresses (e.g. `127.0.0.1`, `::1`, the pod's network).";
    PUSH_BODY = "push-body", Warning,
        "Push notifications carry message bodies",
        "Without end-to-end encryption, message contents go to the push service of the app developer and the OS vendor.",
        "Set `server.defaults.push_notification_with_body = false`.";
    PUSH_SENDER = "push-sender", Warning,
        "Push notifications carry the sender",
        "Senders (your users' contacts) go to the push service of the app developer and the OS vendor.",
        "Set `server.defaults.push_notification_with_sender = false`.";
    DEBUG_SETTING = "debug-setting", Warning,
        "A `debug_use_at_your_own_risk` setting is on",
        "These settings are for temporary debugging; they may expose user data or weaken security.",
        "Remove the key once debugging is done.";
    SMTP_UNENCRYPTED = "smtp-unencrypted", Warning,
        "SMTP encryption is optional",
        "With `smtp_encrypt = false` invitation e-mails (with their links) may be sent in clear.",
        "Set `notifiers.email.smtp_encrypt = true`.";
    SMTP_PASSWORD_IN_FILE = "smtp-password-in-file", Warning,
        "SMTP password written in prose.toml",
        "The password is stored with the configuration (and in its git history) instead of the environment.",
        "Move it to `prose.env` as `PROSE_NOTIFIERS__EMAIL__SMTP_PASSWORD` and remove it from prose.toml.";
    ANALYTICS_CONTRADICTS_PRESET = "analytics-contradicts-preset", Warning,
        "Vendor analytics settings undo the chosen privacy preset",
        "An explicit value shares more than the selected preset allows (seed: identifying data must be opt-in; cohorts and locales limit identifiability).",
        "Remove the explicit value, or choose a preset that matches your policy.";
    NGINX_NO_HSTS = "nginx-no-hsts", Warning,
        "nginx site without HSTS",
        "Without `Strict-Transport-Security`, a first visit can be downgraded to HTTP.",
        "Add `add_header Strict-Transport-Security \"max-age=63072000\" always;` to every HTTPS server.";
    K8S_SECRET_UNREFERENCED = "k8s-secret-unreferenced", Critical,
        "A secret is not taken from the Kubernetes Secret",
        "The configuration sets (or needs) this secret, but the container that reads it does not take its variable from the Secret: on Kubernetes the manifests never carry a secret, so the component runs without it.",
        "Build the manifests with prose-compile and apply them unchanged; create the Secret with the keys the pod's kustomization.yaml lists.";
    K8S_NO_NETWORK_POLICY = "k8s-no-network-policy", Warning,
        "A Kubernetes workload no NetworkPolicy selects",
        "Without a NetworkPolicy, any pod of the cluster reaches the Pod Server's admin interfaces (Prosody's HTTP port and its admin API, the Pod Server API), the Pod API and the Dashboard.",
        "Keep `network_policies = true` in prose-compile.toml (the default), or acknowledge this finding when the cluster isolates namespaces by policies of its own.";
    DNS_ADDRESS_UNKNOWN = "dns-address-unknown", Suggestion,
        "The pod's address records cannot be derived",
        "Without `pod.address.ipv4`/`ipv6` the tree's DNS fragment (`dns/<server domain>.zone`) cannot give the A/AAAA records of the pod domain and of the server domain (the zone's apex, which cannot be a CNAME): certbot's challenges and XMPP clients need them.",
        "Set `pod.address.ipv4` (and `ipv6`) to the host's public addresses, or add those records yourself and acknowledge this finding.";
    DNS_NO_IPV6 = "dns-no-ipv6", Suggestion,
        "IPv6 is enabled in compose but the pod has no IPv6 address",
        "compose enables IPv6 on the pod's network, but without `pod.address.ipv6` the DNS fragment has no AAAA records: IPv6-only clients and servers cannot reach the pod.",
        "Set `pod.address.ipv6` to the host's public IPv6 address, or acknowledge this finding if the host has none.";
    ARCHIVE_KEPT_FOREVER = "archive-kept-forever", Suggestion,
        "Message archives are kept forever",
        "Prosody's default is one week; an infinite retention should be a deliberate decision, with monitoring of the database size.",
        "Set `server.defaults.message_archive_retention` (e.g. \"P1Y\") or acknowledge this finding.";
}

/// Where a finding comes from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Location {
    /// A configuration key, with where its value was set.
    Key {
        key: String,
        origin: OriginInfo,
        #[serde(skip)]
        span: Option<Span>,
    },
    /// A line of a generated file.
    Output { file: String, line: usize },
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    #[serde(flatten)]
    pub rule: Rule,
    pub location: Location,
    /// The reason given in `[audit.acknowledged]`, if any.
    pub acknowledged: Option<String>,
}

struct Auditor<'a> {
    loaded: &'a Loaded,
    config: &'a Config,
    findings: Vec<Finding>,
}

impl Auditor<'_> {
    fn key(&self, path: &[&str]) -> Location {
        let node = self.loaded.tree.get_path(path);
        let origin = node.map_or(Origin::Default, |n| n.origin.clone());
        Location::Key {
            key: dotted(path),
            origin: describe_origin(&origin, &self.loaded.sources),
            span: origin.span().or(node.and_then(|n| n.key_span)),
        }
    }

    fn report(&mut self, rule: Rule, location: Location) {
        let acknowledged = self
            .config
            .audit
            .acknowledged
            .get(rule.code)
            .map(|r| r.0.clone());
        self.findings.push(Finding {
            rule,
            location,
            acknowledged,
        });
    }

    /// Every place a Prosody option is set in `prosody.<host>.overrides` (and `.defaults`
    /// for options Prose does not generate, which stay effective).
    fn prosody_settings(&self, option: &str) -> Vec<(Vec<String>, &Node)> {
        let mut out = Vec::new();
        let Some(hosts) = self
            .loaded
            .tree
            .get_path(keys::PROSODY.path())
            .and_then(Node::as_table)
        else {
            return out;
        };
        for (host, tables) in hosts {
            for part in ["overrides", "defaults"] {
                if part == "defaults" && GENERATED_OPTIONS.contains(&option) {
                    continue; // replaced by what Prose generates
                }
                if let Some(node) = tables.get_path(&[part, option]) {
                    out.push((
                        vec!["prosody".into(), host.clone(), part.into(), option.into()],
                        node,
                    ));
                }
            }
        }
        out
    }

    fn option_is(&mut self, option: &str, bad: impl Fn(&Value) -> bool, rule: Rule) {
        let hits: Vec<Vec<String>> = self
            .prosody_settings(option)
            .into_iter()
            .filter(|(_, node)| bad(&node.value))
            .map(|(path, _)| path)
            .collect();
        for path in hits {
            let refs: Vec<&str> = path.iter().map(String::as_str).collect();
            let location = self.key(&refs);
            self.report(rule, location);
        }
    }

    fn modules_enabled(&self) -> Vec<(Vec<String>, String)> {
        let mut out: Vec<(Vec<String>, String)> = self
            .config
            .prosody_ext
            .additional_modules_enabled
            .iter()
            .map(|m| {
                (
                    vec!["prosody_ext".into(), "additional_modules_enabled".into()],
                    m.0.clone(),
                )
            })
            .collect();
        for (path, node) in self.prosody_settings("modules_enabled") {
            if let Value::Array(items) = &node.value {
                out.extend(
                    items
                        .iter()
                        .filter_map(|i| i.as_str())
                        .map(|m| (path.clone(), m.to_owned())),
                );
            }
        }
        out
    }
}

/// Options Prose's generator always sets: a `defaults` value for them never takes effect.
const GENERATED_OPTIONS: &[&str] = &[
    "c2s_require_encryption",
    "allow_registration",
    "tls_profile",
    "modules_enabled",
];

fn is_false(v: &Value) -> bool {
    *v == Value::Bool(false)
}

fn is_true(v: &Value) -> bool {
    *v == Value::Bool(true)
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn world(cidr: &str) -> bool {
    matches!(cidr.trim(), "0.0.0.0/0" | "::/0" | "*" | "0.0.0.0" | "::")
}

/// LuaSec protocol values that allow SSLv3, TLS 1.0 or 1.1 (`+` means "and above").
const WEAK_PROTOCOLS: &[&str] = &[
    "sslv3", "sslv23", "any", "tlsv1", "tlsv1+", "tlsv1_1", "tlsv1_1+",
];
/// OpenSSL cipher-string fragments of broken ciphers.
const WEAK_CIPHERS: &[&str] = &["rc4", "3des", "des-cbc", "null", "export", "md5"];

/// Whether an `ssl` table enables an obsolete protocol or a broken cipher (negated cipher
/// tokens such as `!aNULL` exclude, so they do not count).
fn weak_tls(v: &Value) -> bool {
    let Value::Table(t) = v else { return false };
    let text = |k: &str| {
        t.get(k)
            .map(|n| strings(&n.value).join(":").to_ascii_lowercase())
            .unwrap_or_default()
    };
    let protocol = text("protocol");
    let weak_protocol = protocol
        .split(':')
        .any(|p| WEAK_PROTOCOLS.contains(&p.trim()));
    let weak_cipher = text("ciphers").split([':', ' ']).any(|token| {
        let token = token.trim_start_matches('+');
        !token.starts_with(['!', '-']) && WEAK_CIPHERS.iter().any(|w| token.contains(w))
    });
    weak_protocol || weak_cipher
}

/// Whether an `ssl` table sets `ciphers` to exactly `ciphers`, and nothing else.
fn is_only_ciphers(v: &Value, ciphers: Option<&str>) -> bool {
    let (Value::Table(t), Some(ciphers)) = (v, ciphers) else {
        return false;
    };
    t.len() == 1 && t.get("ciphers").and_then(|n| n.as_str()) == Some(ciphers)
}

/// Runs every rule. `tree` is the generated output, for the rules that read it.
pub fn audit(loaded: &Loaded, tree: Option<&OutputTree>) -> Vec<Finding> {
    let Some(config) = &loaded.config else {
        return Vec::new();
    };
    let mut a = Auditor {
        loaded,
        config,
        findings: Vec::new(),
    };
    let debug = &config.debug_use_at_your_own_risk;
    // Encryption and authentication.
    if debug.c2s_unencrypted {
        let location = a.key(&["debug_use_at_your_own_risk", "c2s_unencrypted"]);
        a.report(C2S_ENCRYPTION_OFF, location.clone());
        a.report(PLAINTEXT_AUTH, location);
    }
    a.option_is("c2s_require_encryption", is_false, C2S_ENCRYPTION_OFF);
    a.option_is("s2s_require_encryption", is_false, S2S_ENCRYPTION_OFF);
    a.option_is("s2s_allow_encryption", is_false, S2S_ENCRYPTION_OFF);
    a.option_is("allow_unencrypted_plain_auth", is_true, PLAINTEXT_AUTH);
    // The `ssl` prose-compile carries for `old` (nginx's ciphers, `@SECLEVEL=0` and 3DES
    // included) is the profile itself, reported once as `tls-profile-old`: an installed
    // `prose.toml` built again holds it as an override.
    let carried =
        crate::targets::prosody::carry::ssl_for_profile(config.server.defaults.tls_profile)
            .and_then(|ssl| ssl.ciphers);
    a.option_is(
        "ssl",
        |v| weak_tls(v) && !is_only_ciphers(v, carried.as_deref()),
        WEAK_TLS_OVERRIDE,
    );
    for (path, module) in a.modules_enabled() {
        if module == "legacyauth" {
            let refs: Vec<&str> = path.iter().map(String::as_str).collect();
            let location = a.key(&refs);
            a.report(LEGACYAUTH, location);
        }
    }
    // TLS.
    if config.server.defaults.tls_profile == crate::config::model::TlsProfile::Old {
        let location = a.key(keys::TLS_PROFILE.path());
        a.report(TLS_PROFILE_OLD, location);
    }
    a.option_is(
        "tls_profile",
        |v| *v == Value::String("old".into()),
        TLS_PROFILE_OLD,
    );
    // Exposure.
    a.option_is("allow_registration", is_true, OPEN_REGISTRATION);
    a.option_is(
        "trusted_proxies",
        |v| strings(v).iter().any(|c| world(c)),
        TRUSTED_PROXIES_OPEN,
    );
    // Federation.
    let defaults = &config.server.defaults;
    if defaults.federation_enabled {
        let location = a.key(keys::FEDERATION_ENABLED.path());
        a.report(S2S_DIALBACK, location);
        if !defaults.federation_whitelist_enabled {
            let location = a.key(keys::FEDERATION_ENABLED.path());
            a.report(FEDERATION_NO_WHITELIST, location);
        }
    }
    // Privacy.
    if defaults.push_notification_with_body {
        let location = a.key(keys::PUSH_WITH_BODY.path());
        a.report(PUSH_BODY, location);
    }
    if defaults.push_notification_with_sender {
        let location = a.key(keys::PUSH_WITH_SENDER.path());
        a.report(PUSH_SENDER, location);
    }
    analytics(&mut a);
    // Debug settings: every one that is set.
    if let Some(table) = loaded
        .tree
        .get_path(keys::DEBUG.path())
        .and_then(Node::as_table)
    {
        let keys: Vec<String> = table
            .iter()
            .filter(|(_, n)| {
                !matches!(n.value, Value::Bool(false))
                    && !matches!(&n.value, Value::Array(a) if a.is_empty())
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let location = a.key(&["debug_use_at_your_own_risk", &key]);
            a.report(DEBUG_SETTING, location);
        }
    }
    // E-mail.
    if let Some(email) = &config.notifiers.email {
        if !email.smtp_encrypt {
            let location = a.key(keys::EMAIL_SMTP_ENCRYPT.path());
            a.report(SMTP_UNENCRYPTED, location);
        }
        let in_file = loaded
            .tree
            .get_path(keys::EMAIL_SMTP_PASSWORD.path())
            .is_some_and(|n| matches!(n.origin, Origin::File(_)));
        if in_file {
            let location = a.key(keys::EMAIL_SMTP_PASSWORD.path());
            a.report(SMTP_PASSWORD_IN_FILE, location);
        }
    }
    // Retention.
    if defaults.message_archive_enabled && defaults.message_archive_retention.as_str() == "infinite"
    {
        let location = a.key(keys::ARCHIVE_RETENTION.path());
        a.report(ARCHIVE_KEPT_FOREVER, location);
    }
    if let Some(tree) = tree {
        nginx_hsts(&mut a, tree);
        kubernetes::check(&mut a, tree);
        dns_addresses(&mut a, tree);
    }
    let mut findings = a.findings;
    findings.sort_by_key(|f| {
        (
            f.rule.severity,
            RULES.iter().position(|r| r.code == f.rule.code),
        )
    });
    findings
}

/// Explicit analytics values that share more than the preset chain would.
fn analytics(a: &mut Auditor<'_>) {
    let mut hits = Vec::new();
    let Some(root) = a.loaded.tree.get_path(keys::VENDOR_ANALYTICS.path()) else {
        return;
    };
    root.for_each_leaf(&mut vec!["vendor_analytics"], &mut |path, node| {
        if path.get(1).is_some_and(|p| *p == "presets") {
            return;
        }
        let explicit = matches!(
            node.origin,
            Origin::File(_) | Origin::Env { .. } | Origin::Set(_)
        );
        let Some(preset) = node
            .history
            .iter()
            .find(|h| matches!(h.origin, Origin::Preset { .. }))
        else {
            return;
        };
        if !explicit {
            return;
        }
        let last = path.last().copied().unwrap_or_default();
        let looser = match (&preset.value, &node.value) {
            (Value::Bool(false), Value::Bool(true)) => last == "enabled",
            (Value::Integer(was), Value::Integer(now)) => match last {
                "min_cohort_size" => now < was,
                "max_locales" => now > was,
                _ => false,
            },
            _ => false,
        };
        if looser {
            hits.push(path.to_vec());
        }
    });
    for path in hits {
        let location = a.key(&path);
        a.report(ANALYTICS_CONTRADICTS_PRESET, location);
    }
}

/// Every HTTPS `server` block of the generated nginx sites must send HSTS.
fn nginx_hsts(a: &mut Auditor<'_>, tree: &OutputTree) {
    for file in tree
        .files()
        .filter(|f| f.path.starts_with(crate::targets::nginx::SITES_DIR))
    {
        let text = file.text();
        let mut block: Option<(usize, bool, bool)> = None; // (start line, https, hsts)
        let mut depth = 0usize;
        for (n, line) in text.lines().enumerate() {
            let code = line.split('#').next().unwrap_or_default();
            if depth == 0 && code.trim_start().starts_with("server") && code.contains('{') {
                block = Some((n + 1, false, false));
            }
            if let Some(b) = block.as_mut() {
                b.1 |= code.contains("listen") && code.contains("ssl");
                b.2 |= code.contains("Strict-Transport-Security");
            }
            depth += code.matches('{').count();
            depth = depth.saturating_sub(code.matches('}').count());
            if depth == 0
                && let Some((start, https, hsts)) = block.take()
                && https
                && !hsts
            {
                a.report(
                    NGINX_NO_HSTS,
                    Location::Output {
                        file: file.path.to_string(),
                        line: start,
                    },
                );
            }
        }
    }
}

/// What the DNS fragment cannot give: addresses without a static address, AAAA records while
/// compose enables IPv6 on the pod's network.
fn dns_addresses(a: &mut Auditor<'_>, tree: &OutputTree) {
    let has_zone = tree
        .files()
        .any(|f| f.path.starts_with(crate::targets::dns::DIR));
    if !has_zone {
        return;
    }
    let address = &a.config.pod.address;
    if address.ipv4.is_none() && address.ipv6.is_none() {
        let location = a.key(keys::POD_ADDRESS.path());
        a.report(DNS_ADDRESS_UNKNOWN, location);
        return;
    }
    if address.ipv6.is_some() {
        return;
    }
    let compose = tree.get(crate::targets::compose::PATH);
    let line = compose.and_then(|f| {
        f.text()
            .lines()
            .position(|l| l.split('#').next().unwrap_or_default().trim() == "enable_ipv6: true")
    });
    if let Some(line) = line {
        a.report(
            DNS_NO_IPV6,
            Location::Output {
                file: crate::targets::compose::PATH.to_owned(),
                line: line + 1,
            },
        );
    }
}

/// Whether any unacknowledged finding is at least as severe as `level`.
pub fn denied(findings: &[Finding], level: Severity) -> bool {
    findings
        .iter()
        .any(|f| f.acknowledged.is_none() && f.rule.severity <= level)
}

/// Codes in `[audit.acknowledged]` that name no rule (reported as warnings).
pub fn unknown_acknowledgements(config: &Config) -> Vec<String> {
    config
        .audit
        .acknowledged
        .keys()
        .filter(|code| !RULES.iter().any(|r| r.code == code.as_str()))
        .cloned()
        .collect()
}

/// One line: the title and where.
pub fn message(f: &Finding) -> String {
    match &f.location {
        Location::Key { key, origin, .. } => {
            format!("{} (`{key}`, {})", f.rule.title, origin.description)
        }
        Location::Output { file, line } => format!("{} ({file}:{line})", f.rule.title),
    }
}

/// Where a finding points on disk, for SARIF, JSON and CI annotations: the file that holds
/// the value (a `prose.toml` or an env file) with its line and column, or a line of a
/// generated file under the pod's tree. A value with no line of its own (a default, the
/// process environment, `--set`, a preset) points at the pod's `prose.toml`, without a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// The [`Place`] of a finding of the pod `loaded`, whose tree is built in `tree_dir`.
pub fn place(finding: &Finding, loaded: &Loaded, tree_dir: &std::path::Path) -> Place {
    use crate::diagnostics::source::SourceKind;
    match &finding.location {
        Location::Key {
            span: Some(span), ..
        } if matches!(
            loaded.sources.get(span.source).kind,
            SourceKind::File | SourceKind::EnvFile
        ) =>
        {
            let (line, column) = loaded.sources.line_col(*span);
            Place {
                file: loaded.sources.get(span.source).name.clone(),
                line: Some(line),
                column: Some(column),
            }
        }
        Location::Key { .. } => Place {
            file: loaded.path.display().to_string(),
            line: None,
            column: None,
        },
        Location::Output { file, line } => Place {
            file: tree_dir.join(file).display().to_string(),
            line: Some(*line),
            column: None,
        },
    }
}
