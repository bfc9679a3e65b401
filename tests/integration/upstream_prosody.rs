//! prose-pod-api's own references for the file it writes (`tests/fixtures/upstream/`, MPL-2.0,
//! see its README): its printer's snapshot, reproduced byte for byte by the typed Lua printer;
//! and its generator's snapshots (`src/service/tests/prosody/snapshots/`) and integration
//! scenario, each compared with prose-compile's file for the same configuration. The
//! difference must be exactly the reviewed `cases/<name>.diff`: prose-compile's header, the
//! entries it carries to the Pod API (`targets::prosody::carry`) and what only the Pod
//! Server's database knows (the first admin's contact). Anything else is a regression.

use std::path::{Path, PathBuf};

use crate::support::{assert_snapshot, prosody as prosody_support};
use prose_compile::config::{LoadOptions, load};
use prose_compile::targets::prosody::lua::{
    Definition, File, Group, Ident, Section, SectionKind, Value,
};
use prosody_support::render_loaded;

fn upstream(path: &str) -> PathBuf {
    crate::support::repo()
        .join("tests/fixtures/upstream/prose-pod-api")
        .join(path)
}

fn cases() -> PathBuf {
    crate::support::repo().join("tests/fixtures/upstream/cases")
}

/// An insta snapshot's content: after its `---` header, with the final newline the file
/// printer adds (insta trims it).
fn snapshot_body(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut parts = text.splitn(3, "---\n");
    let (_, _, body) = (parts.next(), parts.next(), parts.next());
    let mut body = body
        .unwrap_or_else(|| panic!("{}: no insta header", path.display()))
        .to_owned();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    body
}

/// prose-compile's `prosody.cfg.lua` for one configuration (and environment).
fn ours(config: &Path, environment: &[(&str, &str)]) -> String {
    let options = LoadOptions {
        environment: environment
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..LoadOptions::default()
    };
    let loaded = load(config, &options).expect("readable");
    let files = render_loaded(&loaded, "prose.toml").unwrap_or_else(|d| panic!("{d:#?}"));
    String::from_utf8(files[0].contents.clone()).unwrap()
}

/// The unified diff from upstream's file to ours, without line numbers (so a reviewed diff
/// does not change when an unrelated line moves).
fn difference(upstream: &str, ours: &str) -> String {
    let diff = similar::TextDiff::from_lines(upstream, ours);
    let mut out = String::from("--- Pod API 0.20.0\n+++ prose-compile\n");
    for group in diff.grouped_ops(1) {
        out.push_str("@@\n");
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                out.push(sign);
                out.push_str(change.value());
                if !change.value().ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[test]
fn the_generator_snapshots_differ_only_as_reviewed() {
    for name in [
        "default_config",
        "minimal_config",
        "default_config__contact_default",
        "default_config__default_contact_admin",
    ] {
        let snapshot = upstream(&format!(
            "src/service/tests/prosody/snapshots/behavior__prosody__{name}.snap"
        ));
        let expected = snapshot_body(&snapshot);
        let actual = ours(&cases().join(format!("{name}.prose.toml")), &[]);
        assert_snapshot(
            &cases().join(format!("{name}.diff")),
            &difference(&expected, &actual),
        );
    }
}

#[test]
fn the_integration_scenario_differs_only_as_reviewed() {
    // `tests/integration/scenarios/default`: prose-test.toml with test.env's Prosody log level
    // (its other variables configure a debug build of the API, which prose-compile refuses:
    // a 4-character minimum password), after onboarding (its first admin is
    // evan.turner@test.local).
    let expected = std::fs::read_to_string(upstream(
        "tests/integration/scenarios/default/prosody/config/prosody.cfg.lua",
    ))
    .unwrap();
    let actual = ours(
        &upstream("tests/integration/prose-test.toml"),
        &[("PROSE_SERVER__LOG_LEVEL", "debug")],
    );
    assert_snapshot(
        &cases().join("integration_default.diff"),
        &difference(&expected, &actual),
    );
}

#[test]
fn the_reviewed_differences_are_the_documented_ones() {
    // Each line a reviewed diff removes or adds: prose-compile's header; `https_ports`,
    // `tls_profile` and the module list without `posix`, carried to the Pod API; the first
    // admin's contact, which only the Pod Server's database knows.
    let removable = |line: &str| {
        line.starts_with("-- /!\\ ")
            || line == "  \"posix\";"
            || line.trim_start().starts_with("admin = { \"xmpp:")
            || [
                "-- XEP-0157: Contact Addresses for XMPP Services",
                "contact_info = {",
                "}",
                "",
            ]
            .contains(&line.trim())
    };
    let addable = |line: &str| {
        line.starts_with("-- generated by prose-compile from ")
            || line.starts_with("-- /!\\ The Pod API rewrites this file")
            || line == "https_ports = {}"
            || line.starts_with("tls_profile = \"")
            || line.is_empty()
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(cases()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "diff") {
            continue;
        }
        checked += 1;
        let diff = std::fs::read_to_string(&path).unwrap();
        for line in diff.lines().skip(2) {
            if let Some(removed) = line.strip_prefix('-') {
                assert!(
                    removable(removed),
                    "{}: removes {removed:?}",
                    path.display()
                );
            } else if let Some(added) = line.strip_prefix('+') {
                assert!(addable(added), "{}: adds {added:?}", path.display());
            }
        }
    }
    assert_eq!(checked, 5);
}

fn def(name: &str, value: Value) -> Definition {
    Definition {
        comments: Vec::new(),
        name: Ident::new(name).unwrap(),
        value,
    }
}

fn commented(comment: &str, name: &str, value: Value) -> Definition {
    Definition {
        comments: vec![comment.to_owned()],
        ..def(name, value)
    }
}

fn group(comment: Option<&str>, definitions: Vec<Definition>) -> Group {
    Group {
        comment: comment.map(str::to_owned),
        definitions,
    }
}

fn one(definition: Definition) -> Group {
    group(None, vec![definition])
}

fn strings(items: &[&str]) -> Value {
    Value::strings(items.iter().copied())
}

/// The file of upstream's printer test (`src/prosody-config/tests/prosody_config_file.rs`),
/// built with prose-compile's typed Lua model.
fn printer_test_file() -> File {
    let map = |entries: &[(&str, Value)]| Value::map(entries.iter().cloned());
    File {
        header: vec![
            "Prose Pod Server".into(),
            "XMPP Server Configuration".into(),
            r"/!\ This file has been automatically generated by Prose Pod API.".into(),
            r"/!\ Do NOT edit this file manually or your changes will be overridden during the next reload.".into(),
        ],
        global: vec![
            one(def("pidfile", Value::string("/var/run/prosody/prosody.pid"))),
            one(def("admins", strings(&["prose-pod-api@admin.prose.local"]))),
            group(
                None,
                vec![
                    def("authentication", Value::string("internal_hashed")),
                    def("storage", Value::string("internal")),
                ],
            ),
            one(def(
                "log",
                map(&[
                    ("info", Value::string("*console")),
                    ("warn", Value::string("*console")),
                    ("error", Value::string("*console")),
                ]),
            )),
            group(
                Some("Network interfaces/ports"),
                vec![
                    def("interfaces", strings(&["*"])),
                    def("c2s_ports", Value::List(vec![Value::Integer(5222)])),
                    def("s2s_ports", Value::List(vec![Value::Integer(5269)])),
                    def("http_ports", Value::List(vec![Value::Integer(5280)])),
                    def("http_interfaces", strings(&["*"])),
                    def("https_ports", Value::List(vec![])),
                    def("https_interfaces", Value::List(vec![])),
                ],
            ),
            group(
                Some("Modules"),
                vec![def(
                    "modules_enabled",
                    strings(&[
                        "roster",
                        "groups",
                        "saslauth",
                        "tls",
                        "dialback",
                        "disco",
                        "posix",
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
                        "mam",
                        "csi",
                        "server_contact_info",
                        "websocket",
                        "s2s_bidi",
                    ]),
                )],
            ),
            one(commented(
                "Path to SSL key and certificate for all server domains",
                "ssl",
                map(&[
                    ("certificate", Value::string("/etc/prosody/certs/prose.local.crt")),
                    ("key", Value::string("/etc/prosody/certs/prose.local.key")),
                ]),
            )),
            one(commented(
                "Disable in-band registrations (done through the Prose Pod Dashboard/API)",
                "allow_registration",
                Value::Bool(false),
            )),
            group(
                Some("Mandate highest security levels"),
                vec![
                    def("c2s_require_encryption", Value::Bool(true)),
                    def("s2s_require_encryption", Value::Bool(true)),
                    def("s2s_secure_auth", Value::Bool(false)),
                ],
            ),
            group(
                Some("Enforce safety C2S/S2S limits"),
                vec![
                    def("c2s_stanza_size_limit", Value::Product(vec![256, 1024])),
                    def("s2s_stanza_size_limit", Value::Product(vec![512, 1024])),
                ],
            ),
            one(def(
                "limits",
                map(&[
                    (
                        "c2s",
                        map(&[
                            ("rate", Value::string("50kb/s")),
                            ("burst", Value::string("2s")),
                        ]),
                    ),
                    (
                        "s2sin",
                        map(&[
                            ("rate", Value::string("250kb/s")),
                            ("burst", Value::string("4s")),
                        ]),
                    ),
                ]),
            )),
            group(
                Some("Allow reverse-proxying to WebSocket service over insecure local HTTP"),
                vec![def("consider_websocket_secure", Value::Bool(true))],
            ),
            one(commented(
                "Specify server administrator",
                "contact_info",
                map(&[("admin", strings(&["mailto:hostmaster@prose.local"]))]),
            )),
            group(
                Some("MAM settings"),
                vec![
                    def("archive_expires_after", Value::string("never")),
                    def("default_archive_policy", Value::Bool(true)),
                    def("max_archive_query_results", Value::Integer(100)),
                ],
            ),
            one(commented(
                "Enable vCard legacy compatibility layer",
                "upgrade_legacy_vcards",
                Value::Bool(true),
            )),
            one(commented(
                "Define server members groups file",
                "groups_file",
                Value::string("/etc/prosody/roster_groups.txt"),
            )),
            group(
                Some("HTTP settings"),
                vec![
                    def("http_host", Value::string("prose-pod-server")),
                    def(
                        "http_external_url",
                        Value::string("http://prose-pod-server:5280"),
                    ),
                ],
            ),
            group(
                Some("mod_init_admin"),
                vec![
                    def(
                        "init_admin_jid",
                        Value::string("prose-pod-api@admin.prose.local"),
                    ),
                    def(
                        "init_admin_password_env_var_name",
                        Value::string("PROSE_BOOTSTRAP__PROSE_POD_API_XMPP_PASSWORD"),
                    ),
                ],
            ),
        ],
        sections: vec![
            Section {
                host: "admin.prose.local".into(),
                kind: SectionKind::VirtualHost,
                groups: Vec::new(),
            },
            Section {
                host: "prose.local".into(),
                kind: SectionKind::VirtualHost,
                groups: Vec::new(),
            },
            Section {
                host: "groups.prose.local".into(),
                kind: SectionKind::Component {
                    plugin: "muc".into(),
                },
                groups: vec![
                    one(def("name", Value::string("Chatrooms"))),
                    group(
                        Some("Modules"),
                        vec![def("modules_enabled", strings(&["muc_mam"]))],
                    ),
                    group(
                        Some("MAM settings"),
                        vec![def("max_archive_query_results", Value::Integer(100))],
                    ),
                    one(def("restrict_room_creation", Value::string("local"))),
                    group(
                        Some("MUC settings"),
                        vec![
                            def("muc_log_all_rooms", Value::Bool(true)),
                            def("muc_log_by_default", Value::Bool(true)),
                            def("muc_log_expires_after", Value::string("never")),
                        ],
                    ),
                ],
            },
            Section {
                host: "upload.prose.local".into(),
                kind: SectionKind::Component {
                    plugin: "http_file_share".into(),
                },
                groups: vec![
                    one(def("name", Value::string("HTTP File Upload"))),
                    group(
                        Some("HTTP settings"),
                        vec![
                            def(
                                "http_file_share_size_limit",
                                Value::Product(vec![20, 1024, 1024]),
                            ),
                            def(
                                "http_file_share_daily_quota",
                                Value::Product(vec![250, 1024, 1024]),
                            ),
                            def("http_file_share_expires_after", Value::Integer(-1)),
                            def("http_host", Value::string("localhost")),
                            def("http_external_url", Value::string("http://localhost:5280")),
                        ],
                    ),
                ],
            },
        ],
    }
}

#[test]
fn the_printer_reproduces_upstreams_printer_snapshot() {
    let expected = snapshot_body(&upstream(
        "src/prosody-config/tests/snapshots/prosody_config_file__prose_default_config.snap",
    ));
    assert_eq!(printer_test_file().print(), expected);
}

#[test]
fn every_golden_file_is_what_the_pod_api_writes_from_the_installed_configuration() {
    // `tests/fixtures/pod-api/<example>.prosody.cfg.lua`: what Pod API 0.20.0's generator wrote
    // from `golden/<example>/etc/prose/prose.toml` (the example's keys plus the carried
    // overrides). The golden file is the same but for its header and its `-- WARNING:`
    // comments.
    let comparable = |text: &str| -> Vec<String> {
        text.lines()
            .enumerate()
            .filter(|(i, line)| {
                !matches!(i, 2 | 3) && !line.trim_start().starts_with("-- WARNING:")
            })
            .map(|(_, line)| line.to_owned())
            .collect()
    };
    let repo = crate::support::repo();
    let mut checked = 0;
    for entry in std::fs::read_dir(repo.join("tests/fixtures/pod-api")).unwrap() {
        let path = entry.unwrap().path();
        let Some(example) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".prosody.cfg.lua"))
        else {
            continue;
        };
        let api = std::fs::read_to_string(&path).unwrap();
        let golden = std::fs::read_to_string(
            repo.join("golden")
                .join(example)
                .join("etc/prosody/prosody.cfg.lua"),
        )
        .unwrap();
        assert_eq!(comparable(&golden), comparable(&api), "{example}");
        assert!(api.starts_with("-- Prose Pod Server\n-- XMPP Server Configuration\n-- /!\\ This file has been automatically generated by Prose Pod API.\n"));
        checked += 1;
    }
    let examples = std::fs::read_dir(repo.join("examples")).unwrap().count();
    assert_eq!(checked, examples, "one reference per example");
}
