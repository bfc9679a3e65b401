//! What the Prosody target refuses to render, and how it says so: every error names the
//! `prose.toml` key and points at it.

use crate::support::prosody as prosody_support;

use prose_compile::config::Loaded;
use prose_compile::diagnostics::{Diagnostic, Severity};
use prosody_support::*;

fn errors(toml: &str) -> (Loaded, Vec<Diagnostic>) {
    let loaded = load_str(toml);
    let result = render_loaded(&loaded, "prose.toml");
    let diagnostics = result.expect_err("rendering should fail");
    assert!(!diagnostics.is_empty());
    assert!(diagnostics.iter().all(|d| d.severity == Severity::Error));
    (loaded, diagnostics)
}

/// The source text a diagnostic's span covers.
fn spanned<'a>(loaded: &'a Loaded, d: &Diagnostic) -> &'a str {
    let span = d.span.unwrap_or_else(|| panic!("no span: {d:#?}"));
    &loaded.sources.get(span.source).text[span.range()]
}

#[test]
fn a_host_that_matches_no_section_is_an_error_listing_the_sections() {
    let (loaded, ds) = errors(
        r#"
[server]
domain = "example.org"

[prosody."crisp.chat".overrides]
http_host = "x"
"#,
    );
    assert_eq!(ds.len(), 1, "{ds:#?}");
    let d = &ds[0];
    assert_eq!(d.code, "prosody-host");
    assert_eq!(d.key.as_deref(), Some("prosody.\"crisp.chat\""));
    assert!(d.message.contains("crisp.chat"), "{}", d.message);
    assert_eq!(spanned(&loaded, d), "\"crisp.chat\"");
    let help = d.help.as_deref().unwrap();
    for section in [
        "`global`",
        "`example.org` (VirtualHost)",
        "`groups.example.org` (Component \"muc\")",
        "`upload.prose.local` (Component \"http_file_share\")",
    ] {
        assert!(help.contains(section), "{help}");
    }
}

#[test]
fn the_upload_host_exists_only_while_uploads_are_allowed() {
    let (_, ds) = errors(
        r#"
[server]
domain = "example.org"
defaults.file_upload_allowed = false

[prosody."upload.prose.local".overrides]
http_file_share_daily_quota = "200MiB"
"#,
    );
    assert_eq!(ds[0].code, "prosody-host");
    let help = ds[0].help.as_deref().unwrap();
    assert!(help.contains("file_upload_allowed"), "{help}");
    assert!(!help.contains("`upload.prose.local` (Component"), "{help}");
}

#[test]
fn global_only_options_under_a_host_are_errors() {
    // The configuration reference's own example: Prosody ignores `limits` under a host, and
    // `prosodyctl check config` reports it as misplaced.
    let (loaded, ds) = errors(
        r#"
[server]
domain = "crisp.chat"

[prosody."crisp.chat".overrides]
limits.c2s = { rate = "100kB/s" }
tls_profile = "old"
c2s_ports = [5222]
http_host = "fine-here"
"#,
    );
    let keys: Vec<_> = ds.iter().map(|d| d.key.clone().unwrap()).collect();
    assert_eq!(ds.len(), 3, "{ds:#?}");
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "prosody.\"crisp.chat\".overrides.c2s_ports",
            "prosody.\"crisp.chat\".overrides.limits",
            "prosody.\"crisp.chat\".overrides.tls_profile",
        ]
    );
    for d in &ds {
        assert_eq!(d.code, "prosody-global-option");
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .contains("[prosody.global.overrides]")
        );
    }
    let limits = ds
        .iter()
        .find(|d| d.key.as_deref().unwrap().ends_with("limits"))
        .unwrap();
    assert_eq!(spanned(&loaded, limits), "limits");
}

#[test]
fn names_reserved_by_prosodys_config_environment_are_errors() {
    for name in [
        "__currenthost",
        "VirtualHost",
        "Include",
        "RunScript",
        "ENV_HOME",
        "_ENV",
        "_G",
    ] {
        let (loaded, ds) = errors(&format!(
            "[server]\ndomain = \"example.org\"\n\n[prosody.global.overrides]\n{name} = \"evil.example\"\n"
        ));
        assert_eq!(ds.len(), 1, "{name}: {ds:#?}");
        assert_eq!(ds[0].code, "prosody-option");
        assert_eq!(
            ds[0].key.as_deref(),
            Some(format!("prosody.global.overrides.{name}").as_str())
        );
        assert_eq!(spanned(&loaded, &ds[0]), name);
    }
}

#[test]
fn a_retention_prosody_cannot_hold_exactly_is_an_error_at_the_key() {
    let (loaded, ds) = errors(
        r#"
[server]
domain = "example.org"
defaults.message_archive_retention = "P999999999999Y"
defaults.file_storage_retention = "PT9007199254740992S"
"#,
    );
    let keys: Vec<_> = ds.iter().map(|d| d.key.as_deref().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "server.defaults.message_archive_retention",
            "server.defaults.file_storage_retention"
        ]
    );
    assert_eq!(spanned(&loaded, &ds[0]), "\"P999999999999Y\"");
    assert!(ds.iter().all(|d| d.code == "retention"));
}

#[test]
fn values_without_a_prosody_form_are_errors_at_the_value() {
    let (loaded, ds) = errors(
        r#"
[server]
domain = "example.org"

[prosody.global.overrides]
limits.c2s = { burst = "never" }
archive_expires_after = "P999999999999Y"
"#,
    );
    let keys: Vec<_> = ds.iter().map(|d| d.key.as_deref().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "prosody.global.overrides.limits.c2s.burst",
            "prosody.global.overrides.archive_expires_after"
        ]
    );
    assert_eq!(spanned(&loaded, &ds[0]), "\"never\"");
}

#[test]
fn every_error_is_reported_in_one_pass() {
    let (_, ds) = errors(
        r#"
[server]
domain = "example.org"
defaults.message_archive_retention = "P999999999999Y"

[prosody."nope.example".overrides]
x = 1

[prosody."example.org".overrides]
limits.c2s = { rate = "1kB/s" }

[prosody.global.defaults]
limits.c2s = { burst = "never" }
"#,
    );
    let mut codes: Vec<_> = ds.iter().map(|d| d.code).collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            "prosody-global-option",
            "prosody-host",
            "prosody-value",
            "retention"
        ]
    );
}

#[test]
fn obsolete_options_are_errors_with_their_replacement() {
    let (loaded, ds) = errors(
        r#"
[server]
domain = "example.org"

[prosody.global.overrides]
cross_domain_websocket = true
use_libevent = true
bosh_ports = [5280]
"#,
    );
    let mut found: Vec<(&str, &str)> = ds
        .iter()
        .map(|d| (d.key.as_deref().unwrap(), d.help.as_deref().unwrap()))
        .collect();
    found.sort();
    assert_eq!(found.len(), 3, "{ds:#?}");
    assert_eq!(found[0].0, "prosody.global.overrides.bosh_ports");
    assert_eq!(found[0].1, "use `http_ports`");
    assert!(found[1].1.contains("cross-domain"), "{found:?}");
    assert!(found[2].1.contains("network_backend"), "{found:?}");
    assert!(ds.iter().all(|d| d.code == "prosody-retired-option"));
    assert_eq!(spanned(&loaded, &ds[0]), "cross_domain_websocket");
}
