//! The injection corpus: hostile strings in every `prose.toml` value that reaches
//! `prosody.cfg.lua`. Each is either rejected when the configuration loads (with an error
//! diagnostic) or rendered inert: the sandbox shows that no payload runs (no global read, no
//! call, no extra option or section) and that the value arrives byte for byte. A negative
//! control proves the sandbox catches a real injection. Where `prosodyctl` is installed, it
//! loads every rendered file too (Prosody 0.12 exposes `os` to the config) and the marker file
//! the payloads try to create must not exist afterwards.

use crate::support::prosody as prosody_support;

use std::path::Path;

use prose_compile::targets::RenderContext;
use prose_compile::targets::prosody;
use prose_compile::verify::{self, require_or_skip};
use prosody_support::*;
use serde_json::{Value as J, json};

/// A TOML basic string holding exactly `s`.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The payloads, each trying to end the string, comment out the rest, or add a statement.
/// `{marker}` is replaced by a file path that must never be created.
const PAYLOADS: &[&str] = &[
    "\"",
    "\\",
    "\\\"",
    "]]",
    "]=]",
    "x\ny = 1",
    "x\r\ny = 1",
    "--",
    "--[[",
    ";",
    "\0",
    "a\0b",
    "\u{2028}",
    "\u{2029}\u{85}",
    "\t\u{7}\u{1b}[2J\u{7f}",
    "os.execute(\"touch {marker}\")",
    "\"; os.execute(\"touch {marker}\") --",
    "\"..os.execute(\"touch {marker}\")..\"",
    "]] os.execute(\"touch {marker}\") --[[",
    "\\\"; os.execute('touch {marker}') --",
    "\n os.execute(\"touch {marker}\")\n",
    "\"}; os.execute(\"touch {marker}\"); x = {\"",
    "\" VirtualHost \"evil.example",
    "ENV_HOME",
    "\\000\\n\\\\",
    "é ü 中文 🙂",
];

/// Where a payload can be written, as a `prose.toml` fragment (`P` = the payload as a TOML
/// string), and where it shows up in the sandbox output when it is not rejected.
struct Point {
    name: &'static str,
    toml: &'static str,
    /// Written before the payload (so a URL stays a URL).
    prefix: &'static str,
    /// Section (`global` or a host) and JSON path inside its settings, when the value may be
    /// accepted.
    found_at: Option<(&'static str, &'static [&'static str])>,
    /// Whether the value may be accepted and left out of the file (an option the Pod API does
    /// not know, dropped with a warning).
    may_be_left_out: bool,
}

const BASE: &str = "[server]\ndomain = \"example.org\"\n";

const POINTS: &[Point] = &[
    // Validated values: the front end must reject anything hostile.
    Point {
        name: "server.domain",
        toml: "[server]\ndomain = P\n",
        prefix: "",
        found_at: None,
        may_be_left_out: false,
    },
    Point {
        name: "server.local_hostname",
        toml: "[server]\ndomain = \"example.org\"\nlocal_hostname = P\n",
        prefix: "",
        found_at: None,
        may_be_left_out: false,
    },
    Point {
        name: "pod.address.domain",
        toml: "[server]\ndomain = \"example.org\"\n[pod.address]\ndomain = P\n",
        prefix: "",
        found_at: None,
        may_be_left_out: false,
    },
    Point {
        name: "federation_friendly_servers",
        toml: "[server]\ndomain = \"example.org\"\n[server.defaults]\nfederation_enabled = true\nfederation_whitelist_enabled = true\nfederation_friendly_servers = [P]\n",
        prefix: "",
        found_at: None,
        may_be_left_out: false,
    },
    Point {
        name: "prosody_ext.additional_modules_enabled",
        toml: "[server]\ndomain = \"example.org\"\n[prosody_ext]\nadditional_modules_enabled = [P]\n",
        prefix: "",
        found_at: None,
        may_be_left_out: false,
    },
    Point {
        name: "prosody.<host>",
        toml: "[server]\ndomain = \"example.org\"\n[prosody.P.overrides]\nhttp_host = \"x\"\n",
        prefix: "",
        found_at: None,
        may_be_left_out: false,
    },
    Point {
        name: "prosody option name",
        toml: "[server]\ndomain = \"example.org\"\n[prosody.global.overrides]\nP = 1\n",
        prefix: "",
        found_at: None,
        may_be_left_out: true,
    },
    Point {
        name: "auth.token_ttl",
        toml: "[server]\ndomain = \"example.org\"\n[auth]\ntoken_ttl = P\n",
        prefix: "",
        found_at: None,
        may_be_left_out: false,
    },
    Point {
        name: "message_archive_retention",
        toml: "[server]\ndomain = \"example.org\"\n[server.defaults]\nmessage_archive_retention = P\n",
        prefix: "",
        found_at: None,
        may_be_left_out: false,
    },
    // URLs: validated, but some hostile characters are legal in a URL: those must be inert.
    Point {
        name: "public_contacts.support",
        toml: "[server]\ndomain = \"example.org\"\n[public_contacts]\nsupport = [P]\n",
        prefix: "https://example.org/",
        found_at: Some(("example.org", &["contact_info", "support", "0"])),
        may_be_left_out: false,
    },
    Point {
        name: "public_contacts.default",
        toml: "[server]\ndomain = \"example.org\"\n[public_contacts]\ndefault = [P]\n",
        prefix: "mailto:admin@example.org?subject=",
        found_at: Some(("example.org", &["contact_info", "admin", "0"])),
        may_be_left_out: false,
    },
];

/// Free strings: every one must arrive exactly. (Only options the Pod API knows and writes
/// as strings: it refuses unknown options, and ignores a VirtualHost override of an option it
/// does not generate there.)
const FREE_POINTS: &[(&str, &str, &[&str])] = &[
    // (table, `key = P` line, where it is found: section then path)
    (
        "prosody.global.overrides",
        "pidfile = P",
        &["global", "pidfile"],
    ),
    (
        "prosody.global.overrides",
        "admins = [P, \"ok@example.org\"]",
        &["global", "admins", "0"],
    ),
    (
        "prosody.global.overrides",
        "storage = { P = P }",
        &["global", "storage", "$"],
    ),
    (
        "prosody.global.overrides",
        "http_paths = { P = P }",
        &["global", "http_paths", "$"],
    ),
    (
        "prosody.global.overrides",
        "ssl = { ciphers = P, certificate = P }",
        &["global", "ssl", "ciphers"],
    ),
    (
        "prosody.global.overrides",
        "dont_archive_namespaces = [P]",
        &["global", "dont_archive_namespaces", "0"],
    ),
    (
        "prosody.global.overrides",
        "sql = { database = P }",
        &["global", "sql", "database"],
    ),
    (
        "prosody.\"example.org\".overrides",
        "http_host = P",
        &["example.org", "http_host"],
    ),
    (
        "prosody.\"example.org\".defaults",
        "contact_info = { abuse = [P], admin = [], feedback = [], sales = [], security = [], support = [] }",
        &["example.org", "contact_info", "abuse", "0"],
    ),
    (
        "prosody.\"example.org\".defaults",
        "disco_items = [{ address = P, name = P }]",
        &["example.org", "disco_items", "0", "1"],
    ),
    (
        "prosody.\"groups.example.org\".defaults",
        "groups_file = P",
        &["groups.example.org", "groups_file"],
    ),
    (
        "prosody.\"upload.prose.local\".overrides",
        "http_external_url = P",
        &["upload.prose.local", "http_external_url"],
    ),
    (
        "prosody.\"upload.prose.local\".overrides",
        "http_file_share_secret = P",
        &["upload.prose.local", "http_file_share_secret"],
    ),
    (
        "prosody.\"upload.prose.local\".overrides",
        "http_file_share_base_url = P",
        &["upload.prose.local", "http_file_share_base_url"],
    ),
];

fn free_toml(p: &str) -> String {
    let q = toml_str(p);
    let mut out = String::from(BASE);
    let mut table = "";
    for (t, line, _) in FREE_POINTS {
        if *t != table {
            out.push_str(&format!("\n[{t}]\n"));
            table = t;
        }
        out.push_str(&line.replace('P', &q));
        out.push('\n');
    }
    out
}

fn lookup<'a>(s: &'a Sandboxed, section: &str, path: &[&str], payload: &str) -> &'a J {
    let mut v = if section == "global" {
        s.global()
    } else {
        &s.section(section)["settings"]
    };
    for step in path {
        let step = if *step == "$" { payload } else { step };
        v = match v {
            J::Array(items) => &items[step.parse::<usize>().unwrap()],
            _ => &v[step],
        };
    }
    v
}

/// The option names of every section: an injected statement would add one.
fn shape(s: &Sandboxed) -> Vec<(String, Vec<String>)> {
    let keys = |v: &J| -> Vec<String> {
        let mut k: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };
    let mut out = vec![("global".to_owned(), keys(s.global()))];
    for name in s.section_names() {
        out.push((name.clone(), keys(&s.section(&name)["settings"])));
    }
    out
}

fn marker_payloads(marker: &Path) -> Vec<String> {
    let m = marker.display().to_string();
    PAYLOADS.iter().map(|p| p.replace("{marker}", &m)).collect()
}

/// Runs prosodyctl on the file (it executes the config, with `os` reachable in 0.12).
fn prosodyctl_loads(text: &str) {
    let (_dir, file) = temp_lua(text);
    let outcome = verify::prosody_config(&file);
    // The values are hostile but still options: prosodyctl must not die on a Lua error.
    if require_or_skip(&outcome)
        && let verify::Outcome::Failed { output } = &outcome
    {
        assert!(
            !output.contains("while reading the config") && !output.contains("Error"),
            "prosodyctl could not read the file: {output}\n{text}"
        );
    }
}

#[test]
fn free_strings_arrive_exactly_and_run_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let benign = render_str(&free_toml("benign"));
    let Some(benign_run) = sandbox(&benign) else {
        return;
    };
    benign_run.assert_clean();
    let expected_shape = shape(&benign_run);
    for payload in marker_payloads(&marker) {
        let loaded = load_str(&free_toml(&payload));
        let Some(_) = &loaded.config else {
            // Rejected: only with an error diagnostic.
            assert!(loaded.has_errors(), "{payload:?}: no config and no error");
            continue;
        };
        let text = String::from_utf8(
            render_loaded(&loaded, "prose.toml").unwrap()[0]
                .contents
                .clone(),
        )
        .unwrap();
        let s = sandbox(&text).unwrap();
        s.assert_clean();
        // Same options and sections as with a benign value (keys named by the payload aside).
        let normalize =
            |shape: Vec<(String, Vec<String>)>, p: &str| -> Vec<(String, Vec<String>)> {
                shape
                    .into_iter()
                    .map(|(n, k)| (n, k.into_iter().filter(|k| k != p).collect()))
                    .collect()
            };
        assert_eq!(
            normalize(shape(&s), &payload),
            normalize(expected_shape.clone(), "benign"),
            "{payload:?}\n{text}"
        );
        for (_, _, at) in FREE_POINTS {
            let v = lookup(&s, at[0], &at[1..], &payload);
            assert_eq!(
                v,
                &J::from(payload.as_str()),
                "{payload:?} at {at:?}\n{text}"
            );
        }
        assert!(!marker.exists(), "{payload:?} ran");
        prosodyctl_loads(&text);
        assert!(!marker.exists(), "{payload:?} ran under prosodyctl");
    }
}

#[test]
fn free_strings_are_not_all_rejected() {
    // The corpus exercises the printer, not only the front end's validation: whatever the front
    // end decides about control characters, quotes, backslashes, brackets, `--` and `;` are
    // legitimate in free text and must reach the printer.
    for payload in PAYLOADS.iter().filter(|p| !p.chars().any(char::is_control)) {
        let loaded = load_str(&free_toml(payload));
        assert!(
            loaded.config.is_some(),
            "{payload:?} rejected: {:#?}",
            loaded.diagnostics
        );
    }
}

#[test]
fn validated_values_are_rejected_or_inert() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let mut reached_printer = 0;
    for point in POINTS {
        for payload in marker_payloads(&marker) {
            let payload = format!("{}{payload}", point.prefix);
            let toml = point.toml.replace('P', &toml_str(&payload));
            let loaded = load_str(&toml);
            if loaded.config.is_none() {
                assert!(
                    loaded.has_errors(),
                    "{}: {payload:?} rejected without an error",
                    point.name
                );
                continue;
            }
            let rendered = render_loaded(&loaded, "prose.toml");
            let Ok(files) = rendered else {
                // Refused by the target itself, with its diagnostics.
                continue;
            };
            let text = String::from_utf8(files[0].contents.clone()).unwrap();
            let Some(s) = sandbox(&text) else { return };
            s.assert_clean();
            if point.may_be_left_out {
                assert!(
                    !text.contains(&payload)
                        && shape(&s) == shape(&sandbox(&render_str(BASE)).unwrap()),
                    "{}: {payload:?} reached the file:\n{text}",
                    point.name
                );
                continue;
            }
            let Some((section, path)) = point.found_at else {
                panic!(
                    "{}: {payload:?} was accepted by a validated key:\n{text}",
                    point.name
                );
            };
            reached_printer += 1;
            // A contact URL arrives as the Pod API's `Url` prints it (percent-encoded).
            let expected = url::Url::parse(&payload).unwrap().to_string();
            assert_eq!(
                lookup(&s, section, path, &payload),
                &J::from(expected.as_str()),
                "{}: {payload:?}",
                point.name
            );
            assert!(!marker.exists());
            prosodyctl_loads(&text);
            assert!(!marker.exists(), "{payload:?} ran under prosodyctl");
        }
    }
    // URLs may legally hold quotes, `;`, `]]` and `--`: those must have reached the printer.
    assert!(
        reached_printer >= 4,
        "only {reached_printer} URL payloads rendered"
    );
}

#[test]
fn the_input_label_cannot_escape_its_header_comment() {
    let loaded = load_str(BASE);
    let config = loaded.config.as_ref().unwrap();
    let label = "pods/evil\nos.execute(\"touch /tmp/pwned\")\r--\u{2028}x/prose.toml";
    let templates = prose_compile::targets::embedded_templates();
    let ctx = RenderContext::new(config, &loaded.tree, label, templates);
    let text = String::from_utf8(prosody::render(&ctx).unwrap()[0].contents.clone()).unwrap();
    let header: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(header.len(), 4, "{text}");
    assert!(header.iter().all(|l| l.starts_with("-- ")), "{header:?}");
    assert!(header[2].contains("pods/evil\\nos.execute"), "{header:?}");
    let Some(s) = sandbox(&text) else { return };
    s.assert_clean();
}

#[test]
fn negative_control_the_sandbox_catches_real_injections() {
    let Some(_) = sandbox("x = 1\n") else { return };
    // What naive string concatenation would produce for one payload.
    let payload = "\"; os.execute(\"touch /tmp/never\") --";
    let naive = format!("pidfile = \"{payload}\"\n");
    let s = sandbox(&naive).unwrap();
    assert_ne!(s.status, 0, "{}", s.raw);
    assert!(
        s.violations()
            .iter()
            .any(|v| v.contains("read of global os")),
        "{}",
        s.raw
    );
    for (code, expected) in [
        ("x = (\"a\"):rep(3)\n", "string method rep"),
        ("Include \"other.cfg.lua\"\n", "call to Include"),
        ("x = 1\nx = 2\n", "duplicate option */x"),
        ("x = require\n", "read of global require"),
        ("x = _G\n", "read of global _G"),
        ("x = load\n", "read of global load"),
        ("while true do end\n", "instruction budget exceeded"),
        (
            "VirtualHost \"a\" { x = 1 }\n",
            "VirtualHost given an options table",
        ),
    ] {
        let s = sandbox(code).unwrap();
        assert_ne!(s.status, 0, "{code}: {}", s.raw);
        assert!(
            s.violations().iter().any(|v| v.contains(expected)),
            "{code}: {}",
            s.raw
        );
    }
    let s = sandbox("x = \"unfinished\n").unwrap();
    assert_eq!(s.status, 2);
    assert!(!s.error().is_empty());
    // The marker of an ENV_ reference, and a clean run.
    let s = sandbox("k = ENV_SECRET\nVirtualHost \"h\"\n  y = { 1, 2.5, \"z\" }\n").unwrap();
    s.assert_clean();
    assert_eq!(s.global()["k"], json!({ "$env": "SECRET" }));
    assert_eq!(s.section("h")["settings"]["y"], json!([1, 2.5, "z"]));
}
