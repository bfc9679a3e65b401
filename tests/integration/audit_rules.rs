//! Every audit rule has a configuration that triggers it and a close one that does not.

use prose_compile::audit::{self, Finding, Location, RULES, Severity};
use prose_compile::config::{LoadOptions, load};
use prose_compile::output::OutputTree;
use prose_compile::targets::GeneratedFile;

/// A pod that triggers no rule: private push and a finite retention (set through the
/// environment layer, so the cases' own `[server.defaults]` tables do not collide).
const QUIET_ENV: &[(&str, &str)] = &[
    ("PROSE_SERVER__DEFAULTS__MESSAGE_ARCHIVE_RETENTION", "P1Y"),
    (
        "PROSE_SERVER__DEFAULTS__PUSH_NOTIFICATION_WITH_BODY",
        "false",
    ),
    (
        "PROSE_SERVER__DEFAULTS__PUSH_NOTIFICATION_WITH_SENDER",
        "false",
    ),
];

fn findings_for(extra: &str, env: &[(&str, &str)], tree: Option<&OutputTree>) -> Vec<Finding> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prose.toml");
    std::fs::write(
        &path,
        format!("[server]\ndomain = \"example.org\"\n{extra}"),
    )
    .expect("write");
    let mut environment: std::collections::BTreeMap<String, String> = QUIET_ENV
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    environment.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let options = LoadOptions {
        environment: environment.into_iter().collect(),
        ..LoadOptions::default()
    };
    let loaded = load(&path, &options).expect("readable");
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{extra}: {errors:#?}");
    audit::audit(&loaded, tree)
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule.code).collect()
}

/// (code, settings that trigger it, close settings that do not)
const CASES: &[(&str, &str, &str)] = &[
    (
        "c2s-encryption-off",
        "[debug_use_at_your_own_risk]\nc2s_unencrypted = true\n",
        "[debug_use_at_your_own_risk]\nc2s_unencrypted = false\n",
    ),
    (
        "s2s-encryption-off",
        "[prosody.global.overrides]\ns2s_require_encryption = false\n",
        "[prosody.global.overrides]\ns2s_require_encryption = true\n",
    ),
    (
        "plaintext-auth",
        "[debug_use_at_your_own_risk]\nc2s_unencrypted = true\n",
        "[debug_use_at_your_own_risk]\nc2s_unencrypted = false\n",
    ),
    (
        "weak-tls-override",
        "[prosody.global.overrides]\nssl = { protocol = \"tlsv1+\" }\n",
        "[prosody.global.overrides]\nssl = { protocol = \"tlsv1_2+\", ciphers = \"ECDHE+AESGCM:!aNULL:!MD5\" }\n",
    ),
    (
        "legacyauth",
        "[prosody_ext]\nadditional_modules_enabled = [\"legacyauth\"]\n",
        "[prosody_ext]\nadditional_modules_enabled = [\"bosh\"]\n",
    ),
    (
        "tls-profile-old",
        "[server.defaults]\ntls_profile = \"old\"\n",
        "[server.defaults]\ntls_profile = \"intermediate\"\n",
    ),
    (
        "s2s-dialback",
        "[server.defaults]\nfederation_enabled = true\nfederation_whitelist_enabled = true\n",
        "[server.defaults]\nfederation_enabled = false\n",
    ),
    (
        "federation-no-whitelist",
        "[server.defaults]\nfederation_enabled = true\n[prosody.global.overrides]\ns2s_secure_auth = true\n",
        "[server.defaults]\nfederation_enabled = true\nfederation_whitelist_enabled = true\n[prosody.global.overrides]\ns2s_secure_auth = true\n",
    ),
    (
        "open-registration",
        "[prosody.global.overrides]\nallow_registration = true\n",
        "[prosody.global.overrides]\nallow_registration = false\n",
    ),
    (
        "trusted-proxies-open",
        "[prosody.global.overrides]\ntrusted_proxies = [\"127.0.0.1\", \"0.0.0.0/0\"]\n",
        "[prosody.global.overrides]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n",
    ),
    (
        "push-body",
        "[prosody.global.overrides]\nc2s_timeout = \"PT60S\"\n",
        "",
    ),
    (
        "push-sender",
        "[prosody.global.overrides]\nc2s_timeout = \"PT60S\"\n",
        "",
    ),
    (
        "debug-setting",
        "[debug_use_at_your_own_risk]\ndetailed_error_responses = true\n",
        "[debug_use_at_your_own_risk]\ndetailed_error_responses = false\n",
    ),
    (
        "smtp-unencrypted",
        "[notifiers.email]\nsmtp_host = \"mail.example.org\"\nsmtp_encrypt = false\n",
        "[notifiers.email]\nsmtp_host = \"mail.example.org\"\n",
    ),
    (
        "smtp-password-in-file",
        "[notifiers.email]\nsmtp_host = \"mail.example.org\"\nsmtp_password = \"hunter22\"\n",
        "[notifiers.email]\nsmtp_host = \"mail.example.org\"\n",
    ),
    (
        "analytics-contradicts-preset",
        "[vendor_analytics]\npreset = \"gdpr\"\nmin_cohort_size = 5\n",
        "[vendor_analytics]\npreset = \"gdpr\"\nmin_cohort_size = 30\n",
    ),
    ("archive-kept-forever", "", ""),
];

#[test]
fn every_rule_triggers_and_stays_quiet_where_it_should() {
    // Rules on generated files are tested where those files are: `nginx-no-hsts` with
    // templates, the `k8s-*` rules in `kubernetes.rs` (they read the Kubernetes manifests), the
    // `dns-*` rules below (they read the host tree).
    let on_outputs = [
        "nginx-no-hsts",
        "k8s-secret-unreferenced",
        "k8s-no-network-policy",
        "dns-address-unknown",
        "dns-no-ipv6",
    ];
    let tested: Vec<&str> = CASES.iter().map(|c| c.0).chain(on_outputs).collect();
    for rule in RULES {
        assert!(
            tested.contains(&rule.code),
            "rule {} has no test case",
            rule.code
        );
    }
    assert!(
        codes(&findings_for("", &[], None)).is_empty(),
        "the quiet pod triggers nothing"
    );
    for (code, trigger, clean) in CASES {
        // These rules read built-in defaults: the trigger restores the default.
        let env: &[(&str, &str)] = match *code {
            "push-body" => &[(
                "PROSE_SERVER__DEFAULTS__PUSH_NOTIFICATION_WITH_BODY",
                "true",
            )],
            "push-sender" => &[(
                "PROSE_SERVER__DEFAULTS__PUSH_NOTIFICATION_WITH_SENDER",
                "true",
            )],
            "archive-kept-forever" => &[(
                "PROSE_SERVER__DEFAULTS__MESSAGE_ARCHIVE_RETENTION",
                "infinite",
            )],
            _ => &[],
        };
        let hit = findings_for(trigger, env, None);
        assert!(
            codes(&hit).contains(code),
            "{code} not triggered by {trigger:?}: {:?}",
            codes(&hit)
        );
        let miss = findings_for(clean, &[], None);
        assert!(
            !codes(&miss).contains(code),
            "{code} triggered by {clean:?}"
        );
    }
}

#[test]
fn findings_point_at_the_key_and_its_layer() {
    let findings = findings_for("", &[("PROSE_SERVER__DEFAULTS__TLS_PROFILE", "old")], None);
    let finding = findings
        .iter()
        .find(|f| f.rule.code == "tls-profile-old")
        .expect("finding");
    match &finding.location {
        Location::Key { key, origin, span } => {
            assert_eq!(key, "server.defaults.tls_profile");
            assert_eq!(origin.layer, "env");
            assert!(
                origin
                    .description
                    .contains("PROSE_SERVER__DEFAULTS__TLS_PROFILE")
            );
            assert!(span.is_some());
        }
        other => panic!("unexpected location {other:?}"),
    }
    // An override that weakens security is caught at the override.
    let findings = findings_for(
        "[prosody.global.overrides]\nc2s_require_encryption = false\n",
        &[],
        None,
    );
    let finding = findings
        .iter()
        .find(|f| f.rule.code == "c2s-encryption-off")
        .expect("finding");
    assert!(
        matches!(&finding.location, Location::Key { key, .. } if key == "prosody.global.overrides.c2s_require_encryption")
    );
}

#[test]
fn acknowledged_findings_are_reported_and_do_not_fail_deny() {
    let extra = "[server.defaults]\nfederation_enabled = true\n[audit.acknowledged]\nfederation-no-whitelist = \"we talk to the whole XMPP network on purpose\"\ns2s-dialback = \"Pod API 0.20.0 writes it\"\n";
    let findings = findings_for(extra, &[], None);
    let finding = findings
        .iter()
        .find(|f| f.rule.code == "federation-no-whitelist")
        .expect("still reported");
    assert_eq!(
        finding.acknowledged.as_deref(),
        Some("we talk to the whole XMPP network on purpose")
    );
    assert!(!audit::denied(&findings, Severity::Suggestion));
    let unacknowledged = findings_for("[server.defaults]\nfederation_enabled = true\n", &[], None);
    assert!(audit::denied(&unacknowledged, Severity::Warning));
    assert!(!audit::denied(&unacknowledged, Severity::Critical));
}

fn site(text: &str) -> OutputTree {
    let mut tree = OutputTree::default();
    tree.insert(GeneratedFile {
        path: "etc/nginx/sites-available/prose.example.org".into(),
        contents: text.as_bytes().to_vec(),
        mode: 0o644,
    })
    .expect("path");
    tree
}

#[test]
fn nginx_without_hsts_is_found_at_its_server_block() {
    let without = site(
        "server {\n    listen 80;\n    return 301 https://$host$request_uri;\n}\n\nserver {\n    listen 443 ssl;\n    location / { }\n}\n",
    );
    let findings = findings_for("", &[], Some(&without));
    let finding = findings
        .iter()
        .find(|f| f.rule.code == "nginx-no-hsts")
        .expect("finding");
    assert!(
        matches!(&finding.location, Location::Output { line: 6, .. }),
        "{:?}",
        finding.location
    );
    let with = site(
        "server {\n    listen 443 ssl;\n    add_header Strict-Transport-Security \"max-age=63072000\" always;\n}\n",
    );
    assert!(!codes(&findings_for("", &[], Some(&with))).contains(&"nginx-no-hsts"));
}

fn binary(args: &[&str]) -> (i32, String) {
    let ran = crate::support::cli().args(args).run();
    (ran.status, ran.stdout)
}

#[test]
fn deny_sets_the_exit_code_and_sarif_is_well_formed() {
    // The minimal example has warnings (push privacy) and a suggestion, no critical finding.
    assert_eq!(
        binary(&[
            "audit",
            "--no-env",
            "examples/minimal",
            "--deny",
            "critical"
        ])
        .0,
        0
    );
    assert_eq!(
        binary(&["audit", "--no-env", "examples/minimal", "--deny", "warning"]).0,
        1
    );
    assert_eq!(binary(&["audit", "--no-env", "examples/minimal"]).0, 0);
    let (code, sarif) = binary(&["--format", "sarif", "audit", "--no-env", "examples/minimal"]);
    assert_eq!(code, 0);
    let sarif: serde_json::Value = serde_json::from_str(&sarif).expect("json");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().map(Vec::len),
        Some(RULES.len())
    );
    let results = run["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "push-body" && r["level"] == "warning")
    );
    assert!(results.iter().all(|r| {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .is_some()
    }));
    let (code, json) = binary(&["--format", "json", "audit", "--no-env", "examples/full"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(
        json["pods"][0]["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["code"] == "smtp-password-in-file"))
    );
}

#[test]
fn the_ssl_carried_for_the_old_profile_is_not_a_weak_override() {
    // An installed prose.toml built again holds prose-compile's own `ssl` (nginx's old list,
    // `@SECLEVEL=0` and 3DES included): the profile, reported once as `tls-profile-old`.
    let carried = prose_compile::targets::nginx::tls(prose_compile::config::model::TlsProfile::Old)
        .ciphers
        .unwrap();
    let old = format!(
        "[server.defaults]\ntls_profile = \"old\"\n[prosody.global.overrides]\nssl = {{ ciphers = \"{carried}\" }}\n"
    );
    let found = codes(&findings_for(&old, &[], None));
    assert!(!found.contains(&"weak-tls-override"), "{found:?}");
    assert!(found.contains(&"tls-profile-old"), "{found:?}");
    // The same ciphers under another profile, or with more settings, are the operator's.
    let other = old.replace("tls_profile = \"old\"", "tls_profile = \"intermediate\"");
    assert!(codes(&findings_for(&other, &[], None)).contains(&"weak-tls-override"));
    let more = old.replace("ssl = {", "ssl = { protocol = \"tlsv1+\",");
    assert!(codes(&findings_for(&more, &[], None)).contains(&"weak-tls-override"));
}

/// The findings of a pod audited with the tree it builds (the DNS rules read the tree).
fn built_findings(pod_address: &str) -> Vec<Finding> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prose.toml");
    std::fs::write(
        &path,
        format!("[server]\ndomain = \"example.org\"\n[pod.address]\n{pod_address}[dashboard]\nurl = \"https://admin.example.org\"\n"),
    )
    .expect("write");
    let options = LoadOptions {
        environment: QUIET_ENV
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..LoadOptions::default()
    };
    let loaded = load(&path, &options).expect("readable");
    let tree = prose_compile::pipeline::compile(&loaded, "prose.toml").expect("builds");
    audit::audit(&loaded, Some(&tree))
}

#[test]
fn dns_findings_say_which_records_the_fragment_cannot_give() {
    // A pod domain only: no address record can be derived.
    let findings = built_findings("domain = \"prose.example.org\"\n");
    let finding = findings
        .iter()
        .find(|f| f.rule.code == "dns-address-unknown")
        .expect("dns-address-unknown");
    assert!(matches!(&finding.location, Location::Key { key, .. } if key == "pod.address"));
    assert!(!codes(&findings).contains(&"dns-no-ipv6"));
    // An IPv4 only, while compose enables IPv6: no AAAA records.
    let findings = built_findings("ipv4 = \"203.0.113.10\"\n");
    assert!(!codes(&findings).contains(&"dns-address-unknown"));
    let finding = findings
        .iter()
        .find(|f| f.rule.code == "dns-no-ipv6")
        .expect("dns-no-ipv6");
    assert!(
        matches!(&finding.location, Location::Output { file, .. } if file == "etc/prose/compose.yaml"),
        "{:?}",
        finding.location
    );
    // Both addresses: every record is derived.
    let findings = built_findings("ipv4 = \"203.0.113.10\"\nipv6 = \"2001:db8::10\"\n");
    assert!(!codes(&findings).iter().any(|c| c.starts_with("dns-")));
    // Without the tree (audit of a configuration alone) neither rule speaks.
    assert!(
        !codes(&findings_for("", &[], None))
            .iter()
            .any(|c| c.starts_with("dns-"))
    );
}
