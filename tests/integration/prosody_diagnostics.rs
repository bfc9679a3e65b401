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

/// The target's warnings for a configuration that builds.
fn warnings(toml: &str) -> (Loaded, Vec<Diagnostic>) {
    let loaded = load_str(toml);
    render_loaded(&loaded, "prose.toml").unwrap_or_else(|d| panic!("{d:#?}"));
    let ds = target_diagnostics(&loaded);
    assert!(
        ds.iter().all(|d| d.severity == Severity::Warning),
        "{ds:#?}"
    );
    (loaded, ds)
}

fn with_key<'a>(ds: &'a [Diagnostic], key: &str) -> &'a Diagnostic {
    ds.iter()
        .find(|d| d.key.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("no diagnostic at {key}: {ds:#?}"))
}

#[test]
fn global_only_options_added_to_a_host_are_errors() {
    // A VirtualHost's `defaults` add options; Prosody ignores these under a host, and
    // `prosodyctl check config` reports them as misplaced.
    let (loaded, ds) = errors(
        r#"
[server]
domain = "crisp.chat"

[prosody."crisp.chat".defaults]
limits.c2s = { rate = "100kB/s", burst = "PT2S" }
tls_profile = "old"
c2s_ports = [5222]
disco_hidden = true
"#,
    );
    let mut keys: Vec<_> = ds.iter().map(|d| d.key.clone().unwrap()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "prosody.\"crisp.chat\".defaults.c2s_ports",
            "prosody.\"crisp.chat\".defaults.limits",
            "prosody.\"crisp.chat\".defaults.tls_profile",
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
    assert_eq!(
        spanned(
            &loaded,
            with_key(&ds, "prosody.\"crisp.chat\".defaults.limits")
        ),
        "limits"
    );
}

#[test]
fn the_references_vhost_limits_example_builds_with_a_warning_that_it_is_ignored() {
    // Seed `000_…`: `[prosody."crisp.chat".overrides] limits.c2s = …`. The Pod API replaces
    // only options Prose generates for the VirtualHost, so it writes nothing for it.
    let toml = r#"
[server]
domain = "crisp.chat"

[prosody."crisp.chat".overrides]
limits.c2s = { rate = "100kB/s", burst = "PT2S" }
max_archive_query_results = 200
http_host = "replaced"
"#;
    let (loaded, ds) = warnings(toml);
    assert_eq!(ds.len(), 2, "{ds:#?}");
    let limits = with_key(&ds, "prosody.\"crisp.chat\".overrides.limits");
    assert_eq!(limits.code, "prosody-pod-api");
    assert!(
        limits.message.contains("Pod API 0.20.0 ignores"),
        "{}",
        limits.message
    );
    assert!(limits.message.contains("`http_host`"), "{}", limits.message);
    assert!(limits.help.as_deref().unwrap().contains("only globally"));
    assert_eq!(spanned(&loaded, limits), "limits");
    let mam = with_key(
        &ds,
        "prosody.\"crisp.chat\".overrides.max_archive_query_results",
    );
    assert!(
        mam.help
            .as_deref()
            .unwrap()
            .contains("[prosody.\"crisp.chat\".defaults]")
    );
    let text = render_str(toml);
    let host = text.split("VirtualHost \"crisp.chat\"\n").nth(1).unwrap();
    let host = host.split("\nComponent ").next().unwrap();
    assert!(host.contains("http_host = \"replaced\""), "{host}");
    assert!(
        !host.contains("limits") && !host.contains("max_archive_query_results"),
        "{host}"
    );
}

#[test]
fn a_global_defaults_table_is_an_error_listing_what_the_pod_api_would_drop() {
    // Issue 13, item 4: upstream keeps only the options a global `defaults` table names, so
    // `modules_enabled = ["foo"]` there would cost tls, saslauth, roster…
    let (loaded, ds) = errors(
        r#"
[server]
domain = "example.org"

[prosody.global.defaults]
modules_enabled = ["foo"]
"#,
    );
    assert_eq!(ds.len(), 1, "{ds:#?}");
    let d = &ds[0];
    assert_eq!(d.code, "prosody-baseline");
    assert_eq!(d.key.as_deref(), Some("prosody.global.defaults"));
    assert_eq!(spanned(&loaded, d), "defaults");
    for dropped in [
        "`log`",
        "`modules_disabled` (s2s)",
        "`c2s_require_encryption`",
        "`limits`",
    ] {
        assert!(d.message.contains(dropped), "{}", d.message);
    }
    let help = d.help.as_deref().unwrap();
    assert!(help.contains("[prosody.global.overrides]"), "{help}");
    assert!(
        help.contains("prosody_ext.additional_modules_enabled"),
        "{help}"
    );
}

#[test]
fn a_modules_override_that_drops_prose_modules_is_an_error_saying_how_to_write_it() {
    // Issue 13, item 4, the VirtualHost: `modules_enabled = ["bar"]` would cost rest and
    // http_oauth2.
    let (loaded, ds) = errors(
        r#"
[server]
domain = "example.org"

[prosody."example.org".overrides]
modules_enabled = ["bar"]

[prosody.global.overrides]
modules_enabled = ["foo"]
"#,
    );
    assert_eq!(ds.len(), 2, "{ds:#?}");
    let host = with_key(&ds, "prosody.\"example.org\".overrides.modules_enabled");
    assert_eq!(host.code, "prosody-baseline");
    assert!(
        host.message.contains("rest, http_oauth2"),
        "{}",
        host.message
    );
    assert_eq!(spanned(&loaded, host), "modules_enabled");
    let help = host.help.as_deref().unwrap();
    assert!(
        help.contains("modules_enabled = [\"rest\", \"http_oauth2\", \"admin_rest\"")
            && help.ends_with("\"invites_register_api\", \"bar\"]`"),
        "{help}"
    );
    let global = with_key(&ds, "prosody.global.overrides.modules_enabled");
    assert!(global.message.contains("saslauth"), "{}", global.message);
    assert!(!global.message.contains("posix"), "{}", global.message);
    let help = global.help.as_deref().unwrap();
    assert!(
        help.contains("prosody_ext.additional_modules_enabled"),
        "{help}"
    );
    assert!(help.contains("\"foo\"]"), "{help}");
}

#[test]
fn a_complete_modules_override_is_written_as_is() {
    let modules: Vec<String> = prose_compile::targets::prosody::generate::needed_base_modules()
        .map(|m| format!("\"{m}\""))
        .collect();
    let toml = format!(
        "[server]\ndomain = \"example.org\"\n\n[prosody.global.overrides]\nmodules_enabled = [{}, \"bosh\"]\n",
        modules.join(", ")
    );
    let (_, ds) = warnings(&toml);
    assert!(ds.is_empty(), "{ds:#?}");
    let text = render_str(&toml);
    assert!(
        text.contains("  \"reload_modules\";\n  \"bosh\";\n  \"mam\";\n}"),
        "{text}"
    );
}

#[test]
fn a_vhost_default_for_an_option_prose_generates_is_ignored_with_a_warning() {
    let (loaded, ds) = warnings(
        r#"
[server]
domain = "example.org"

[prosody."example.org".defaults]
modules_enabled = ["bar"]
disco_hidden = true
"#,
    );
    assert_eq!(ds.len(), 1, "{ds:#?}");
    let d = &ds[0];
    assert_eq!(
        d.key.as_deref(),
        Some("prosody.\"example.org\".defaults.modules_enabled")
    );
    assert!(d.message.contains("ignores"), "{}", d.message);
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("[prosody.\"example.org\".overrides]")
    );
    assert_eq!(spanned(&loaded, d), "modules_enabled");
}

#[test]
fn the_upload_component_defaults_drop_its_settings_so_they_are_an_error() {
    let (_, ds) = errors(
        r#"
[server]
domain = "example.org"

[prosody."upload.prose.local".defaults]
http_file_share_size_limit = "50MB"
"#,
    );
    assert_eq!(ds.len(), 1, "{ds:#?}");
    assert_eq!(ds[0].code, "prosody-baseline");
    assert!(ds[0].message.contains("`http_paths`"), "{}", ds[0].message);
    assert!(
        ds[0]
            .help
            .as_deref()
            .unwrap()
            .contains("[prosody.\"upload.prose.local\".overrides]")
    );
}

#[test]
fn global_overrides_that_a_later_step_replaces_are_warnings_naming_the_cause() {
    let toml = r#"
[server]
domain = "example.org"
defaults.federation_enabled = true

[prosody.global.overrides]
s2s_secure_auth = true
max_archive_query_results = 20
modules_disabled = ["s2s", "bosh"]
limits.s2sin = { rate = "1MB/s", burst = "PT1S" }
limits.c2s = { rate = "10kB/s", burst = "PT1S" }
"#;
    let (loaded, ds) = warnings(toml);
    let auth = with_key(&ds, "prosody.global.overrides.s2s_secure_auth");
    assert!(
        auth.message
            .contains("server.defaults.federation_enabled = true"),
        "{}",
        auth.message
    );
    assert!(
        auth.message.contains("writes `s2s_secure_auth = false`"),
        "{}",
        auth.message
    );
    assert_eq!(spanned(&loaded, auth), "s2s_secure_auth");
    let mam = with_key(&ds, "prosody.global.overrides.max_archive_query_results");
    assert!(
        mam.message.contains("message_archive_enabled"),
        "{}",
        mam.message
    );
    with_key(&ds, "prosody.global.overrides.modules_disabled");
    let s2sin = with_key(&ds, "prosody.global.overrides.limits.s2sin");
    assert!(s2sin.message.contains("250kb/s"), "{}", s2sin.message);
    // And the dialback warning every federating pod gets.
    let dialback = with_key(&ds, "server.defaults.federation_enabled");
    assert!(
        dialback.message.contains("s2s_secure_auth = false"),
        "{}",
        dialback.message
    );
    assert_eq!(ds.len(), 5, "{ds:#?}");
    // The file is what the API writes: the table's keys sorted, Prose's s2sin moved last.
    let text = render_str(toml);
    assert!(text.contains("\ns2s_secure_auth = false\n"), "{text}");
    assert!(text.contains("modules_disabled = { \"bosh\" }\n"), "{text}");
    assert!(
        text.contains("limits = {\n  c2s = {\n    rate = \"10kb/s\";\n    burst = \"1s\";\n  };\n  s2sin = {\n    rate = \"250kb/s\";\n    burst = \"4s\";\n  };\n}\n"),
        "{text}"
    );
}

#[test]
fn a_limits_override_without_c2s_warns_that_clients_are_no_longer_limited() {
    let (loaded, ds) = warnings(
        r#"
[server]
domain = "example.org"

[prosody.global.overrides]
limits.s2sout = { rate = "1MB/s", burst = "PT1S" }
"#,
    );
    assert_eq!(ds.len(), 1, "{ds:#?}");
    assert_eq!(spanned(&loaded, &ds[0]), "limits");
    assert!(ds[0].help.as_deref().unwrap().contains("c2s = {"));
}

#[test]
fn retentions_the_pod_api_rounds_warn_and_those_it_refuses_are_errors() {
    let (loaded, ds) = warnings(
        r#"
[server]
domain = "example.org"
defaults.message_archive_retention = "P30D"
defaults.file_storage_retention = "P1Y6M"
"#,
    );
    assert_eq!(ds.len(), 2, "{ds:#?}");
    let archive = with_key(&ds, "server.defaults.message_archive_retention");
    assert!(
        archive.message.contains("P4W (28 days), not `P30D`"),
        "{}",
        archive.message
    );
    assert_eq!(spanned(&loaded, archive), "\"P30D\"");
    with_key(&ds, "server.defaults.file_storage_retention");
    // A retention of 30 days for files has a one-unit form: carried, no warning.
    let (_, ds) = warnings(
        "[server]\ndomain = \"example.org\"\ndefaults.file_storage_retention = \"P30D\"\n",
    );
    assert!(ds.is_empty(), "{ds:#?}");

    let (loaded, ds) = errors(
        r#"
[server]
domain = "example.org"
defaults.message_archive_retention = "PT12H"
defaults.file_storage_retention = "P1W3D"
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
    assert_eq!(spanned(&loaded, &ds[0]), "\"PT12H\"");
    assert!(ds.iter().all(|d| d.code == "retention"));
    assert!(
        ds[1].help.as_deref().unwrap().contains("`P10D`"),
        "{:?}",
        ds[1].help
    );
}

#[test]
fn values_the_pod_api_refuses_are_errors_at_the_value() {
    let (loaded, ds) = errors(
        r#"
[server]
domain = "example.org"

[prosody.global.overrides]
limits.c2s = { burst = "never" }
archive_expires_after = "P999999999999Y"
c2s_timeout = 300
"#,
    );
    let keys: Vec<_> = ds.iter().map(|d| d.key.as_deref().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "prosody.global.overrides.limits.c2s.burst",
            "prosody.global.overrides.c2s_timeout",
            "prosody.global.overrides.archive_expires_after",
        ]
    );
    assert_eq!(spanned(&loaded, &ds[0]), "\"never\"");
    assert!(ds[1].help.as_deref().unwrap().contains("\"PT300S\""));
    assert!(ds.iter().all(|d| d.message.contains("would not start")));
}

#[test]
fn every_error_is_reported_in_one_pass() {
    let (_, ds) = errors(
        r#"
[server]
domain = "example.org"
defaults.message_archive_retention = "PT1H"

[prosody."nope.example".overrides]
http_host = "x"

[prosody."example.org".defaults]
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
            "prosody-baseline",
            "prosody-global-option",
            "prosody-host",
            "prosody-value",
            "retention"
        ]
    );
}

#[test]
fn names_reserved_by_prosodys_config_environment_never_reach_the_file() {
    // They are not options the Pod API knows: left out of the installed prose.toml with a
    // warning, so never written (the printer's own check, `lua::Ident`, stays as a second
    // line of defence).
    for name in [
        "__currenthost",
        "VirtualHost",
        "Include",
        "RunScript",
        "ENV_HOME",
        "_ENV",
        "_G",
    ] {
        let toml = format!(
            "[server]\ndomain = \"example.org\"\n\n[prosody.global.overrides]\n{name} = \"evil.example\"\n"
        );
        let loaded = load_str(&toml);
        let d = loaded
            .diagnostics
            .iter()
            .find(|d| d.key.as_deref() == Some(format!("prosody.global.overrides.{name}").as_str()))
            .unwrap_or_else(|| panic!("{name}: {:#?}", loaded.diagnostics));
        assert!(!d.is_error(), "{d:#?}");
        assert_eq!(spanned(&loaded, d), name);
        let text = render_str(&toml);
        assert!(!text.contains("evil.example"), "{name}:\n{text}");
    }
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
"#,
    );
    let mut found: Vec<(&str, &str)> = ds
        .iter()
        .map(|d| (d.key.as_deref().unwrap(), d.help.as_deref().unwrap()))
        .collect();
    found.sort();
    assert_eq!(found.len(), 2, "{ds:#?}");
    assert!(found[0].1.contains("cross-domain"), "{found:?}");
    assert!(found[1].1.contains("network_backend"), "{found:?}");
    assert!(ds.iter().all(|d| d.code == "prosody-retired-option"));
    assert_eq!(spanned(&loaded, &ds[0]), "cross_domain_websocket");
}

/// One render context generates the Prosody file once: the target's warnings, its render and
/// the pipeline (`warn_and_compile`) share it, and what is shared is what each would produce.
#[test]
fn the_prosody_file_is_generated_once_per_context() {
    use prose_compile::targets::{RenderContext, Target, embedded_templates, prosody};
    let loaded = load_file(&crate::support::repo().join("examples/full/prose.toml"));
    let config = loaded.config.as_ref().expect("valid");
    let ctx = RenderContext::new(config, &loaded.tree, "prose.toml", embedded_templates());
    let first = prosody::generate_file(&ctx);
    assert!(std::ptr::eq(first, prosody::generate_file(&ctx)));
    let rendered = prosody::render(&ctx).expect("renders");
    assert_eq!(rendered[0].contents, first.file.print().into_bytes());
    // A fresh context generates the same file and the same warnings.
    let fresh = RenderContext::new(config, &loaded.tree, "prose.toml", embedded_templates());
    assert_eq!(
        prosody::ProsodyConfig.warnings(&fresh),
        prosody::ProsodyConfig.warnings(&ctx)
    );
    assert_eq!(prosody::render(&fresh).expect("renders"), rendered);
}
