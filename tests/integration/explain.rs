//! `explain`: every kind of origin, override chains, presets, computed defaults, and the
//! keys behind generated lines (through the real binary, `--format json`).

use crate::support;

use std::path::Path;

use serde_json::Value;
use support::{prose_compile, repo};

fn explain(args: &[&str], env: &[(&str, &str)]) -> Value {
    support::cli()
        .args(&["--format", "json", "explain"])
        .args(args)
        .envs(env)
        .run()
        .status(0)
        .json()
}

fn layer(report: &Value) -> &str {
    report["origin"]["layer"].as_str().unwrap_or_default()
}

/// The 1-based number of the first line of a generated file that contains `needle`.
fn line_of(example: &str, file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(repo().join("golden").join(example).join(file))
        .expect("golden file");
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in {file}"))
}

#[test]
fn every_kind_of_origin_is_named() {
    let r = explain(
        &[
            "examples/minimal",
            "server.defaults.message_archive_retention",
            "--no-env",
        ],
        &[],
    );
    assert_eq!(layer(&r), "default");
    assert_eq!(r["value"], "infinite");
    assert_eq!(r["default"], "infinite");

    let r = explain(&["examples/full", "server.domain", "--no-env"], &[]);
    assert_eq!(layer(&r), "file");
    assert_eq!(r["origin"]["description"], "examples/full/prose.toml:16:10");

    let r = explain(&["examples/gdpr-analytics", "log.level"], &[]);
    assert_eq!(layer(&r), "env");
    assert_eq!(
        r["origin"]["description"],
        "env PROSE_LOG__LEVEL (examples/gdpr-analytics/prose.env:3)"
    );

    let r = explain(
        &["examples/minimal", "log.level"],
        &[("PROSE_LOG__LEVEL", "error")],
    );
    assert_eq!(
        r["origin"]["description"],
        "env PROSE_LOG__LEVEL (process environment)"
    );

    let r = explain(
        &[
            "examples/minimal",
            "log.level",
            "--no-env",
            "--set",
            "log.level=warn",
        ],
        &[],
    );
    assert_eq!(layer(&r), "set");

    let r = explain(&["examples/minimal", "pod.address.domain", "--no-env"], &[]);
    assert_eq!(layer(&r), "computed");
    assert_eq!(r["value"], "prose.crisp.chat");
    assert_eq!(r["origin"]["description"], "computed from `server.domain`");
}

#[test]
fn an_override_chain_lists_every_replaced_layer_nearest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("prose.toml"),
        "[server]\ndomain = \"example.org\"\nlog_level = \"warn\"\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("prose.env"),
        "PROSE_SERVER__LOG_LEVEL=error\n",
    )
    .expect("write");
    let config = dir.path().join("prose.toml");
    let r = explain(
        &[
            &config.to_string_lossy(),
            "server.log_level",
            "--set",
            "server.log_level=debug",
        ],
        &[("PROSE_SERVER__LOG_LEVEL", "trace")],
    );
    assert_eq!(r["value"], "debug");
    assert_eq!(layer(&r), "set");
    let chain: Vec<(String, String)> = r["overridden"]
        .as_array()
        .expect("overridden")
        .iter()
        .map(|o| {
            (
                o["value"].as_str().unwrap_or_default().to_owned(),
                o["origin"]["layer"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("trace", "env"),
        ("error", "env"),
        ("warn", "file"),
        ("info", "default"),
    ];
    assert_eq!(chain, expected.map(|(v, l)| (v.to_owned(), l.to_owned())));
}

#[test]
fn a_preset_chain_names_the_preset_and_how_it_was_reached() {
    let r = explain(
        &[
            "examples/gdpr-analytics",
            "vendor_analytics.usage.pod_version.enabled",
            "--no-env",
        ],
        &[],
    );
    assert_eq!(layer(&r), "preset");
    assert_eq!(
        r["origin"]["description"],
        "preset `all` (inherited via `acme` -> `gdpr` -> `default`)"
    );
    let r = explain(
        &[
            "examples/gdpr-analytics",
            "vendor_analytics.usage.user_lang.max_locales",
            "--no-env",
        ],
        &[],
    );
    assert!(
        r["origin"]["description"]
            .as_str()
            .unwrap_or_default()
            .starts_with("preset `gdpr` (inherited via `acme`), defined at")
    );
    assert_eq!(
        r["overridden"][0]["origin"]["description"], "preset `gdpr`",
        "the built-in gdpr value it replaced"
    );
}

#[test]
fn keys_report_the_lines_they_affect() {
    let r = explain(
        &[
            "examples/minimal",
            "server.defaults.message_archive_retention",
            "--no-env",
        ],
        &[],
    );
    let line = line_of(
        "minimal",
        "etc/prosody/prosody.cfg.lua",
        "archive_expires_after",
    );
    let affects = &r["affects"];
    let lua = affects
        .as_array()
        .expect("affects")
        .iter()
        .find(|a| a["file"] == "etc/prosody/prosody.cfg.lua")
        .unwrap_or_else(|| panic!("{affects}"));
    assert!(
        lua["lines"]
            .as_array()
            .expect("lines")
            .contains(&Value::from(line)),
        "{affects}"
    );
    let r = explain(&["examples/minimal", "log.with_ansi", "--no-env"], &[]);
    let files: Vec<&str> = r["affects"]
        .as_array()
        .expect("affects")
        .iter()
        .filter_map(|a| a["file"].as_str())
        .collect();
    assert_eq!(
        files,
        ["etc/prose/prose.toml"],
        "an API-only key affects only the configuration the Pod API reads"
    );
    assert_eq!(r["compatibility"]["written_to"], "etc/prose/prose.toml");
    assert!(
        r["compatibility"]["pod_server"]
            .as_str()
            .is_some_and(|s| s.contains("ignores it")),
        "{}",
        r["compatibility"]
    );
    let r = explain(
        &["examples/full", "policies.auto_update_enabled", "--no-env"],
        &[],
    );
    assert_eq!(
        r["compatibility"]["written_to"],
        "etc/prose/prose-server.env (the Pod Server only)"
    );
    assert!(
        r["compatibility"]["pod_api"]
            .as_str()
            .is_some_and(|s| s.contains("Pod API 0.20.0 refuses it")),
        "{}",
        r["compatibility"]
    );
}

fn causes(example: &str, file: &str, line: usize) -> Vec<String> {
    let from = format!("{file}:{line}");
    let r = explain(
        &[&format!("examples/{example}"), "--from", &from, "--no-env"],
        &[],
    );
    r["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| c["key"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn generated_lines_name_the_keys_behind_them() {
    let lua = "etc/prosody/prosody.cfg.lua";
    // The retention sets the value; turning archiving off removes the line.
    assert_eq!(
        causes(
            "minimal",
            lua,
            line_of("minimal", lua, "archive_expires_after")
        ),
        [
            "server.defaults.message_archive_enabled",
            "server.defaults.message_archive_retention"
        ]
    );
    assert!(
        causes("minimal", lua, 1).is_empty(),
        "the header is fixed by the template"
    );
    let out = prose_compile(
        &[
            "explain",
            "examples/minimal",
            "--from",
            &format!("{lua}:1"),
            "--no-env",
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("fixed by the template"));

    let site = "etc/nginx/sites-available/prose.crisp.chat";
    let server_name = line_of("minimal", site, "server_name prose.crisp.chat;");
    assert_eq!(causes("minimal", site, server_name), ["pod.address.domain"]);
    let body = line_of("minimal", site, "client_max_body_size 20m;");
    assert_eq!(
        causes("minimal", site, body),
        ["server.defaults.file_upload_allowed"],
        "the upload location exists only with uploads"
    );
    let http = "etc/nginx/sites-available/crisp.chat_http";
    let redirect = line_of("minimal", http, "return 301 https://$host$request_uri;");
    assert_eq!(
        causes("minimal", http, redirect),
        Vec::<String>::new(),
        "the redirect is fixed by the template"
    );

    let meta = "var/www/default/.well-known/host-meta.json";
    assert_eq!(
        causes("minimal", meta, line_of("minimal", meta, "wss://")),
        ["pod.address.domain"]
    );

    let compose = "etc/prose/compose.yaml";
    assert_eq!(
        causes(
            "minimal",
            compose,
            line_of(
                "minimal",
                compose,
                "${PROSE_POD_SERVER_PORT_HTTP:-5280}:5280"
            )
        ),
        ["server.http_port"]
    );
    assert_eq!(
        causes(
            "minimal",
            compose,
            line_of("minimal", compose, "- prose-pod-server")
        ),
        Vec::<String>::new(),
        "upstream's alias stays whatever server.local_hostname says"
    );
    // A path under the output directory is accepted too.
    let r = explain(
        &[
            "examples/minimal",
            "--from",
            &format!("out/{compose}:1"),
            "--no-env",
        ],
        &[],
    );
    assert_eq!(r["file"], compose);
}

#[test]
fn listing_shows_every_non_default_value_with_its_origin() {
    let r = explain(&["examples/gdpr-analytics"], &[]);
    let entries: Vec<(String, String)> = r
        .as_array()
        .expect("list")
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap_or_default().to_owned(),
                e["origin"]["layer"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("server.domain", "file"),
        ("log.level", "env"),
        ("pod.address.domain", "computed"),
        ("vendor_analytics.min_cohort_size", "preset"),
    ] {
        assert!(
            entries.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} missing from {entries:?}"
        );
    }
    assert!(
        !entries
            .iter()
            .any(|(k, _)| k.starts_with("vendor_analytics.presets")),
        "preset definitions are not settings"
    );
}

#[test]
fn secrets_are_redacted_and_unknown_keys_get_a_suggestion() {
    let r = explain(
        &["examples/full", "notifiers.email.smtp_password", "--no-env"],
        &[],
    );
    assert_eq!(r["value"], "<redacted>");
    assert_eq!(layer(&r), "file");
    let listing = prose_compile(&["explain", "examples/full", "--no-env"], &[]);
    assert!(!String::from_utf8_lossy(&listing.stdout).contains("foobar"));

    let out = prose_compile(
        &["explain", "examples/full", "server.domian", "--no-env"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `server.domain`?"));
    assert!(Path::new(&repo().join("examples/full/prose.toml")).exists());
}

#[test]
fn dns_records_name_the_keys_behind_them() {
    let zone = "dns/example.org.zone";
    let a = line_of(
        "static-address",
        zone,
        "prose.example.org. 10800 IN A 203.0.113.10",
    );
    // The pod domain is `prose.<server.domain>` here: both keys move the record.
    assert_eq!(
        causes("static-address", zone, a),
        ["pod.address.ipv4", "server.domain"]
    );
    let aaaa = line_of(
        "static-address",
        zone,
        "admin.example.org. 10800 IN AAAA 2001:db8::10",
    );
    let keys = causes("static-address", zone, aaaa);
    assert!(keys.contains(&"pod.address.ipv6".to_owned()), "{keys:?}");
    assert!(keys.contains(&"dashboard.url".to_owned()), "{keys:?}");
    let zone = "dns/crisp.chat.zone";
    let s2s = line_of("full", zone, "_xmpp-server._tcp.crisp.chat. 10800 IN SRV");
    let keys = causes("full", zone, s2s);
    assert!(
        keys.contains(&"server.defaults.federation_enabled".to_owned()),
        "{keys:?}"
    );
    let c2s = line_of("full", zone, "_xmpp-client._tcp.crisp.chat. 10800 IN SRV");
    assert_eq!(
        causes("full", zone, c2s),
        ["pod.address.domain", "server.domain"]
    );
}
