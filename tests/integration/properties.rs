//! Property tests: arbitrary valid configurations (domains with IDNs, ports, durations,
//! retention, booleans, TLS profiles, federation lists, public contacts, Prosody overrides
//! with sizes, rates and passthrough strings full of every format's breakout characters)
//! render trees that are deterministic, whose `prosody.cfg.lua` passes `luac -p` and loads in
//! the Lua sandbox to the values written, whose YAML, JSON and XML parse back, and whose nginx
//! sites pass `nginx -t`.
//!
//! The number of cases is bounded (`PROPTEST_CASES`, default 32), and the slow external tools
//! run on a subset (nginx and xmllint on every 8th case). The seed is fixed so CI is
//! reproducible; `PROSE_COMPILE_PROPTEST_SEED=<n>` explores others.

use crate::support::prosody as prosody_support;

use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use prose_compile::pipeline::compile;
use prose_compile::verify::{self, require_or_skip};
use prosody_support::{load_str, sandbox};

/// A configuration and the values its Prosody passthrough options must load to.
#[derive(Debug, Clone)]
struct Pod {
    toml: String,
    /// Global overrides: option name -> the JSON the sandbox must report.
    overrides: Vec<(String, serde_json::Value)>,
    domain: String,
}

/// A TOML basic string: `"` and `\\` escaped, control characters (DEL too) as `\uXXXX`.
fn quoted(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9]{0,7}(-[a-z0-9]{1,4})?",
        1 => prop::sample::select(vec!["bücher", "пример", "例え", "café", "ελλάδα", "xn--bcher-kva"])
            .prop_map(str::to_owned),
    ]
}

fn domain() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(label(), 1..3),
        prop::sample::select(vec!["org", "net", "example", "chat", "fr"]),
    )
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..400).prop_map(|n| format!("P{n}D")),
        (1u32..36).prop_map(|n| format!("P{n}M")),
        (1u32..10).prop_map(|n| format!("P{n}Y")),
        // At least a day: the Pod API refuses a shorter retention.
        (1440u32..100_000).prop_map(|n| format!("PT{n}M")),
    ]
}

fn retention() -> impl Strategy<Value = String> {
    prop_oneof![Just("infinite".to_owned()), duration()]
}

/// Text with each output format's breakout characters, and any other printable text.
fn nasty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "\"",
            "'",
            "\\",
            ";",
            "{",
            "}",
            "$",
            "${x}",
            "%",
            "%n",
            "#",
            "]]",
            "[[",
            "--",
            "-->",
            "<!--",
            "&",
            "<",
            ">",
            ": ",
            "- ",
            "\n",
            "\r",
            "\t",
            "\u{2028}",
            "\u{85}",
            "\u{0}",
            "\u{1b}",
            "\u{7f}",
            "yes",
            "0123",
            "~",
            "os.execute('id')",
            "\u{feff}",
            "é",
            "漢",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,6}",
    ];
    prop::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

/// Free-text global options the Pod API writes as they are: strings, and lists it keeps as
/// sets (deduplicated, each item at its last place).
const FREE_OPTIONS: &[(&str, bool)] = &[
    ("pidfile", false),
    ("dont_archive_namespaces", true),
    ("archive_store", false),
    ("admins", true),
    ("groups_file", false),
];

fn free_value(list: bool) -> BoxedStrategy<(String, serde_json::Value)> {
    if list {
        prop::collection::vec(nasty(), 1..4)
            .prop_map(|items| {
                let toml: Vec<String> = items.iter().map(|s| quoted(s)).collect();
                let mut set: Vec<String> = Vec::new();
                for item in items {
                    set.retain(|i| *i != item);
                    set.push(item);
                }
                (
                    format!("[{}]", toml.join(", ")),
                    serde_json::Value::from(set),
                )
            })
            .boxed()
    } else {
        nasty()
            .prop_map(|s| (quoted(&s), serde_json::Value::from(s)))
            .boxed()
    }
}

fn free_options() -> impl Strategy<Value = Vec<(String, serde_json::Value)>> {
    let values: Vec<_> = FREE_OPTIONS
        .iter()
        .map(|(_, list)| prop::option::of(free_value(*list)))
        .collect();
    values.prop_map(|values| {
        FREE_OPTIONS
            .iter()
            .zip(values)
            .filter_map(|((name, _), v)| v.map(|(toml, json)| (format!("{name} = {toml}"), json)))
            .collect()
    })
}

fn contact(domain: String) -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9._+-]{0,10}".prop_map(move |local| format!("mailto:{local}@{domain}")),
        "[a-zA-Z0-9/._~-]{0,16}"
            .prop_map(|path| format!("https://example.org/{path}?q=%22%24%5D%5D")),
        "[a-z]{1,8}".prop_map(|node| format!("xmpp:{node}@example.net")),
    ]
}

fn pod() -> impl Strategy<Value = Pod> {
    let server = (
        domain(),
        1024u16..=65535,
        prop::sample::select(vec!["trace", "debug", "info", "warn", "error"]),
        prop::sample::select(vec!["modern", "intermediate", "old"]),
        retention(),
        retention(),
        any::<(bool, bool, bool, bool)>(),
        prop::collection::btree_set(domain(), 0..4),
    );
    let rest = (
        free_options(),
        prop::option::of((
            1u32..5000,
            prop::sample::select(vec!["B/s", "kB/s", "MB/s"]),
        )),
        prop::option::of(1u32..60),
        prop::option::of((1u32..2000, prop::sample::select(vec!["MiB", "MB", "kB"]))),
        prop::option::of(8u8..=255),
        prop::option::of(1u32..48),
    );
    (server, rest)
        .prop_flat_map(|(server, rest)| {
            let domain = server.0.clone();
            let contacts = prop::collection::btree_set(contact(domain), 0..3);
            (Just(server), Just(rest), contacts)
        })
        .prop_map(|(server, rest, contacts)| {
            let (domain, port, log_level, tls, mam, files, flags, friends) = server;
            let (overrides, rate, burst, quota, min_password, ttl_hours) = rest;
            let mut t = format!(
                "[server]\ndomain = {}\nhttp_port = {port}\nlog_level = \"{log_level}\"\n\n\
                 [server.defaults]\ntls_profile = \"{tls}\"\nmessage_archive_retention = \"{mam}\"\n\
                 file_storage_retention = \"{files}\"\nfederation_enabled = {}\n\
                 federation_whitelist_enabled = {}\npush_notification_with_body = {}\n\
                 push_notification_with_sender = {}\nfederation_friendly_servers = [{}]\n",
                quoted(&domain),
                flags.0,
                flags.1,
                flags.2,
                flags.3,
                friends.iter().map(|d| quoted(d)).collect::<Vec<_>>().join(", ")
            );
            if !contacts.is_empty() {
                let list: Vec<String> = contacts.iter().map(|c| quoted(c)).collect();
                t.push_str(&format!("\n[public_contacts]\nsupport = [{}]\n", list.join(", ")));
            }
            if min_password.is_some() || ttl_hours.is_some() {
                t.push_str("\n[auth]\n");
                if let Some(n) = min_password {
                    t.push_str(&format!("min_password_length = {n}\n"));
                }
                if let Some(h) = ttl_hours {
                    t.push_str(&format!("token_ttl = \"PT{h}H\"\n"));
                }
            }
            if rate.is_some() || burst.is_some() {
                t.push_str("\n[prosody.global.overrides.limits.c2s]\n");
                if let Some((n, unit)) = rate {
                    t.push_str(&format!("rate = \"{n}{unit}\"\n"));
                }
                if let Some(s) = burst {
                    t.push_str(&format!("burst = \"PT{s}S\"\n"));
                }
            }
            let mut expected = Vec::new();
            t.push_str("\n[prosody.global.overrides]\n");
            for (line, json) in overrides {
                let name = line.split(" = ").next().unwrap_or_default().to_owned();
                t.push_str(&format!("{line}\n"));
                expected.push((name, json));
            }
            if let Some((n, unit)) = quota {
                t.push_str(&format!(
                    "\n[prosody.\"upload.prose.local\".overrides]\nhttp_file_share_daily_quota = \"{n}{unit}\"\n"
                ));
            }
            Pod {
                toml: t,
                overrides: expected,
                domain,
            }
        })
}

static CASE: AtomicUsize = AtomicUsize::new(0);

fn check(pod: &Pod) -> Result<(), TestCaseError> {
    let n = CASE.fetch_add(1, Ordering::SeqCst);
    let loaded = load_str(&pod.toml);
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    prop_assert!(
        errors.is_empty(),
        "a valid configuration was refused: {errors:#?}\n{}",
        pod.toml
    );
    let tree = compile(&loaded, "prose.toml")
        .map_err(|d| TestCaseError::fail(format!("render failed: {d:#?}\n{}", pod.toml)))?;
    // Deterministic: the same bytes from the same load, and from a second load.
    let again = compile(&load_str(&pod.toml), "prose.toml").expect("second render");
    prop_assert_eq!(tree.manifests(), again.manifests());
    for file in tree.files() {
        prop_assert_eq!(&file.contents, &again.get(&file.path).unwrap().contents);
    }

    let dir = tempfile::tempdir().unwrap();
    for file in tree.files() {
        let path = dir.path().join(&file.path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &file.contents).unwrap();
    }
    let text = |path: &str| String::from_utf8(tree.get(path).unwrap().contents.clone()).unwrap();

    // YAML and JSON parse back; the JSON names the pod's domain.
    let compose: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text("etc/prose/compose.yaml"))
        .map_err(|e| TestCaseError::fail(format!("compose.yaml: {e}")))?;
    prop_assert!(compose.get("services").is_some());
    let jrd: serde_json::Value =
        serde_json::from_str(&text("var/www/default/.well-known/host-meta.json"))
            .map_err(|e| TestCaseError::fail(format!("host-meta.json: {e}")))?;
    prop_assert!(jrd["links"].is_array());

    // Lua: syntax, then the sandbox loads it to the values written.
    let lua_path = dir.path().join("etc/prosody/prosody.cfg.lua");
    let luac = verify::lua_syntax(&lua_path);
    if require_or_skip(&luac) {
        prop_assert!(luac.is_passed(), "luac -p: {luac:?}");
    }
    let lua = text("etc/prosody/prosody.cfg.lua");
    if let Some(run) = sandbox(&lua) {
        prop_assert!(
            run.status == 0 && run.error().is_empty() && run.violations().is_empty(),
            "sandbox: {}\n{lua}",
            run.raw
        );
        for (name, want) in &pod.overrides {
            prop_assert_eq!(&run.global()[name], want, "option {} in\n{}", name, lua);
        }
        let hosts = run.section_names();
        let unicode = idna::domain_to_unicode(&pod.domain).0;
        prop_assert!(
            hosts.contains(&pod.domain) || hosts.contains(&unicode),
            "no VirtualHost {} in {hosts:?}",
            pod.domain
        );
    }

    // The slow tools on a subset of the cases.
    if n.is_multiple_of(8) {
        let xml = verify::xml(&dir.path().join("var/www/default/.well-known/host-meta"));
        if require_or_skip(&xml) {
            prop_assert!(xml.is_passed(), "xmllint: {xml:?}");
        }
        let sites: Vec<_> = fs::read_dir(dir.path().join("etc/nginx/sites-available"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let nginx = verify::nginx_sites(&sites);
        if require_or_skip(&nginx) {
            prop_assert!(nginx.is_passed(), "nginx -t: {nginx:?}\n{}", pod.toml);
        }
    }
    Ok(())
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let seed = std::env::var("PROSE_COMPILE_PROPTEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x0050_524f_5345);
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

#[test]
fn valid_configurations_render_sound_trees() {
    let mut runner = TestRunner::new(config());
    let result = runner.run(&pod(), |pod| check(&pod));
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(CASE.load(Ordering::SeqCst) >= 8, "too few cases ran");
}

/// A scalar as TOML writes it: the kinds of value that were once accepted by the schema and
/// refused by serde (whole decimals for integers, IP literals and long names for domains).
fn any_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0u32..70_000).prop_map(|n| format!("{n}.0")),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        any::<bool>().prop_map(|b| b.to_string()),
        prop::sample::select(vec![
            "192.168.1.1",
            "::1",
            "prose.10",
            "a.0x1f",
            "http://localhost:8081",
            "https://u:p@a.org/x?y#z",
            "P1Y",
            "PT0S",
            "infinite",
            "",
        ])
        .prop_map(quoted),
        "[a-z0-9.:/-]{0,300}".prop_map(|s| quoted(&s)),
        "[a-z]{1,63}(\\.[a-z]{1,63}){1,4}".prop_map(|s| quoted(&s)),
    ]
}

/// No input ends in "internal error": a value the schema accepts, the typed model accepts too.
#[test]
fn any_value_at_any_key_gets_a_diagnostic_never_an_internal_error() {
    let nav = prose_compile::config::schema_nav::SchemaNav::new(
        prose_compile::config::schema::schema_cached(),
    );
    let keys: Vec<String> = nav.all_paths();
    let strategy = (
        prop::sample::select(keys),
        any_scalar(),
        prop::sample::select(vec!["crisp.chat", "192.168.1.1", "a.b.c.d.e.example.org"]),
    );
    let mut runner = TestRunner::new(Config {
        cases: config().cases * 8,
        ..config()
    });
    let result = runner.run(&strategy, |(key, value, domain)| {
        let segments: Vec<&str> = key.split('.').collect();
        let key = prose_compile::provenance::dotted(&segments);
        let toml = if key == "server.domain" {
            format!("server.domain = {value}\n")
        } else {
            format!("server.domain = \"{domain}\"\n{key} = {value}\n")
        };
        let loaded = load_str(&toml);
        let internal: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.code == prose_compile::diagnostics::code::INTERNAL)
            .collect();
        prop_assert!(internal.is_empty(), "{toml}\n{internal:#?}");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
