//! Injection corpus over every value the nginx, host-meta, compose and systemd templates
//! interpolate: the escaping filters directly (each output parsed back, by the real tool where
//! there is one), then whole renders with hostile values, from the front end where it lets a
//! string through (the dashboard URL, the input label of the notice) and straight into every
//! string variable of every template. Outcome: refused, or inert (no extra nginx directive,
//! YAML key, XML element or attribute, JSON member, systemd directive).

use crate::support::targets as targets_common;

use std::fs;
use std::process::Command;

use prose_compile::targets::templating::escape;
use prose_compile::targets::{compose, host_meta, nginx, systemd};
use prose_compile::verify::{self, require_or_skip};
use targets_common::*;

/// Breakout characters of every format (output-formats.md §7) and payloads built from them.
pub(crate) const CORPUS: &[&str] = &[
    "\"",
    "'",
    "\\",
    ";",
    "{",
    "}",
    "{}",
    "$",
    "$host",
    "${x}",
    "$$",
    "$(id)",
    "%",
    "%n",
    "%%",
    "#",
    "# x",
    "]]",
    "\n",
    "\r",
    "\r\n",
    "\0",
    "\t",
    "\u{7}",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{feff}",
    "\u{fffe}",
    "\u{fdd0}",
    "\u{1fffe}",
    ": ",
    "a: b",
    "- x",
    "-",
    "--",
    "-->",
    "<!--",
    "yes",
    "no",
    "on",
    "~",
    "null",
    "0123",
    "1e3",
    "&",
    "<",
    ">",
    "&amp;",
    "]]>",
    "<x/>",
    "?",
    "|",
    "@",
    "`",
    "*alias",
    "&anchor",
    "!!python/object/apply:os.system ['id']",
    "a; include /etc/passwd",
    "x;\n}\nserver { listen 81; }",
    "x\" ; add_header X-Evil 1; \"",
    "x' ; add_header X-Evil 1; '",
    "x\n    privileged: true",
    "x\"\n    privileged: true\n    y: \"",
    "{\"a\": 1}",
    "[a, b]",
    "x\"/><Link rel=\"evil\" href=\"x",
    "x' evil='1",
    "\"},{\"rel\":\"evil\",\"href\":\"",
    "x\nExecStartPre=/bin/sh -c id",
    "x\\",
    "x\\\nExecStartPre=/bin/sh",
    "x ; /bin/sh -c id",
    "\\;",
    "-/bin/sh",
    "@/bin/sh",
    "x\r\nExecStartPre=/bin/sh",
    "x\u{2028}privileged: true",
    "x\u{85}privileged: true",
    "héllo wörld",
    "日本語",
    "😀",
    "",
    " ",
    "  leading",
    "trailing  ",
];

fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// What systemd refuses in a unit line besides control characters.
fn is_noncharacter(c: char) -> bool {
    matches!(c, '\u{fdd0}'..='\u{fdef}') || (c as u32 & 0xfffe) == 0xfffe
}

// --- nginx -----------------------------------------------------------------------------------

#[test]
fn nginx_str_is_one_token_with_the_value_or_refused() {
    let mut accepted = Vec::new();
    for value in CORPUS {
        let result = escape::nginx_str(value);
        if value.contains('$') || value.chars().any(is_control) {
            assert!(result.is_err(), "{value:?} must be refused, got {result:?}");
            continue;
        }
        let out = result.unwrap_or_else(|e| panic!("{value:?}: {e}"));
        let parsed = parse_nginx(&format!("add_header X-Test {out} always;\n"))
            .unwrap_or_else(|e| panic!("{value:?} -> {out}: {e}"));
        assert_eq!(parsed.len(), 1, "{value:?} -> {out}: {parsed:?}");
        assert_eq!(
            parsed[0].args,
            ["X-Test", value, "always"],
            "{value:?} -> {out}"
        );
        accepted.push(out);
    }
    assert!(accepted.len() > 40);
    // The real parser agrees: one add_header per value, three arguments each.
    let dir = tempfile::tempdir().unwrap();
    let mut site =
        String::from("server {\n    listen 8443;\n    server_name t.example;\n    location / {\n");
    for (i, out) in accepted.iter().enumerate() {
        site.push_str(&format!("        add_header X-Test-{i} {out} always;\n"));
    }
    site.push_str("        return 204;\n    }\n}\n");
    let path = dir.path().join("t.example");
    fs::write(&path, &site).unwrap();
    let outcome = verify::nginx_sites(&[path]);
    if require_or_skip(&outcome) {
        assert!(outcome.is_passed(), "{outcome}\n{site}");
    }
}

#[test]
fn nginx_name_only_writes_hostnames_and_ip_literals() {
    for value in CORPUS {
        if let Ok(out) = escape::nginx_name(value) {
            assert!(
                out.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'),
                "{value:?} -> {out}"
            );
            assert_eq!(&out, value);
        }
    }
    for good in [
        "example.org",
        "xn--bcher-kva.example",
        "203.0.113.10",
        "[2001:db8::10]",
    ] {
        assert_eq!(escape::nginx_name(good).unwrap(), good);
    }
    for bad in [
        "example.org;",
        "example.org include",
        "bücher.example",
        "Example.org",
        "example.org.",
        "2001:db8::10",
        "[not-an-ip]",
        "*.example.org",
        "~^regex$",
    ] {
        assert!(escape::nginx_name(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn comments_stay_on_their_line() {
    for value in CORPUS {
        let out = escape::line_comment(value);
        assert!(
            !out.chars().any(|c| matches!(
                c,
                '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{b}' | '\u{c}'
            )),
            "{value:?} -> {out:?}"
        );
        assert!(!out.ends_with('\\'), "{value:?} -> {out:?}");
        // nginx: still a comment, nothing else.
        assert_eq!(parse_nginx(&format!("# {out}\n")).unwrap(), [], "{value:?}");
        // YAML: one key.
        assert_eq!(
            yaml_key_paths(&format!("# {out}\nk: v\n")),
            [".k"],
            "{value:?}"
        );
        // systemd: one directive.
        let unit = systemd_shape(&format!("# {out}\n[Unit]\nDescription=x\n")).unwrap();
        assert_eq!(unit.len(), 1, "{value:?}: {unit:?}");

        let xml = escape::xml_comment(value);
        assert!(
            !xml.contains("--") && !xml.ends_with('-'),
            "{value:?} -> {xml:?}"
        );
    }
}

#[test]
fn xml_comments_are_well_formed() {
    if !tool_or_skip("xmllint", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.xml");
    for value in CORPUS {
        let out = escape::xml_comment(value);
        fs::write(
            &path,
            format!("<?xml version='1.0' encoding='utf-8'?>\n<!-- {out} -->\n<a/>\n"),
        )
        .unwrap();
        let outcome = verify::xml(&path);
        assert!(outcome.is_passed(), "{value:?} -> {out:?}: {outcome}");
        assert_eq!(
            xml_shape(&path).unwrap(),
            ["1 elements, 0 attributes, 1 comments"],
            "{value:?}"
        );
    }
}

// --- YAML ------------------------------------------------------------------------------------

#[test]
fn yaml_str_is_one_scalar_with_the_value_and_dollars_doubled() {
    let mut doc = String::new();
    let mut expected = Vec::new();
    for (i, value) in CORPUS.iter().enumerate() {
        let out = escape::yaml_str(value).unwrap();
        assert!(out.starts_with('"') && out.ends_with('"'), "{out}");
        assert!(
            !out.contains('\n') && !out.contains('\r'),
            "{value:?} -> {out}"
        );
        let parsed: serde_yaml_ng::Mapping = serde_yaml_ng::from_str(&format!("key: {out}\n"))
            .unwrap_or_else(|e| panic!("{value:?} -> {out}: {e}"));
        assert_eq!(parsed.len(), 1, "{value:?}");
        let compose_value = value.replace('$', "$$");
        assert_eq!(
            parsed.get("key").and_then(|v| v.as_str()),
            Some(compose_value.as_str()),
            "{value:?} -> {out}"
        );
        doc.push_str(&format!("v{i}: {out}\n"));
        expected.push(compose_value);
    }
    // PyYAML (YAML 1.1, an independent parser) reads the same values.
    if !tool_or_skip("python3", &["-c", "import yaml"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("doc.yaml"), &doc).unwrap();
    fs::write(
        dir.path().join("expected.json"),
        serde_json::to_string(&expected).unwrap(),
    )
    .unwrap();
    let run = Command::new("python3")
        .arg("-c")
        .arg(
            "import json, sys, yaml\n\
             doc = yaml.safe_load(open(sys.argv[1], encoding='utf-8'))\n\
             expected = json.load(open(sys.argv[2], encoding='utf-8'))\n\
             assert list(doc) == ['v%d' % i for i in range(len(expected))], list(doc)\n\
             for i, e in enumerate(expected):\n\
             \x20   assert doc['v%d' % i] == e, (i, doc['v%d' % i], e)\n",
        )
        .arg(dir.path().join("doc.yaml"))
        .arg(dir.path().join("expected.json"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

// --- XML and JSON ----------------------------------------------------------------------------

#[test]
fn xml_attr_round_trips_through_xmllint_or_is_refused() {
    let xmllint = tool_or_skip("xmllint", &["--version"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.xml");
    for value in CORPUS {
        let refused = value
            .chars()
            .any(|c| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'));
        let result = escape::xml_attr(value);
        if refused {
            assert!(result.is_err(), "{value:?}: {result:?}");
            continue;
        }
        let out = result.unwrap();
        assert!(!out.contains(['<', '>', '"', '\'']), "{value:?} -> {out}");
        if !xmllint {
            continue;
        }
        for quote in ['"', '\''] {
            fs::write(&path, format!("<a x={quote}{out}{quote}/>\n")).unwrap();
            assert_eq!(
                xml_shape(&path).unwrap(),
                ["1 elements, 1 attributes, 0 comments"],
                "{value:?}"
            );
            assert_eq!(
                xml_attribute(&path, "/a/@x").unwrap(),
                *value,
                "{value:?} -> {out}"
            );
        }
    }
}

#[test]
fn json_filter_round_trips() {
    let env = prose_compile::targets::templating::environment();
    for value in CORPUS {
        let out = env
            .render_str("{{ v | json }}", minijinja::context! { v => *value })
            .unwrap();
        let parsed: String = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
        assert_eq!(parsed, *value);
    }
}

// --- systemd ---------------------------------------------------------------------------------

/// The words of an `Exec*=` command line as systemd splits and unescapes them (double
/// quotes with C escapes), then `%%` and `$$` as written by the filter.
fn exec_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ') {
            chars.next();
        }
        let Some(c) = chars.next() else { break };
        let mut word = String::new();
        if c == '"' {
            loop {
                match chars.next().expect("unbalanced quote") {
                    '"' => break,
                    '\\' => word.push(chars.next().expect("escape")),
                    c => word.push(c),
                }
            }
            assert!(
                chars.peek().is_none_or(|c| *c == ' '),
                "text after a quote: {line}"
            );
        } else {
            word.push(c);
            while let Some(c) = chars.next_if(|c| *c != ' ') {
                word.push(c);
            }
        }
        words.push(word.replace("%%", "%").replace("$$", "$"));
    }
    words
}

#[test]
fn systemd_values_are_one_directive_or_refused() {
    let mut unit = String::from("[Unit]\nDescription=x\n[Service]\nExecStart=/usr/bin/sh\n");
    for value in CORPUS {
        let controls = value.chars().any(|c| is_control(c) || is_noncharacter(c));
        match escape::systemd_value(value) {
            Err(_) => assert!(controls || value.ends_with('\\'), "{value:?} refused"),
            Ok(out) => {
                assert!(!controls && !value.ends_with('\\'), "{value:?} -> {out:?}");
                let shape = systemd_shape(&format!("[Unit]\nDescription={out}\n")).unwrap();
                assert_eq!(shape.len(), 1, "{value:?}: {shape:?}");
                assert_eq!(shape[0].2, value.trim().replace('%', "%%"), "{value:?}");
            }
        }
        match escape::systemd_exec_arg(value) {
            Err(_) => assert!(controls, "{value:?} refused"),
            Ok(out) => {
                assert!(!controls, "{value:?} -> {out:?}");
                let line = format!("/usr/bin/env {out}");
                let shape = systemd_shape(&format!("[Service]\nExecStartPre={line}\n")).unwrap();
                assert_eq!(shape.len(), 1, "{value:?}: {shape:?}");
                assert_eq!(
                    exec_words(&line),
                    ["/usr/bin/env", value],
                    "{value:?} -> {out}"
                );
                unit.push_str(&format!("ExecStartPre={line}\n"));
            }
        }
    }
    // systemd's own parser: no warning, no error (unbalanced quotes would be fatal).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.service");
    fs::write(&path, &unit).unwrap();
    let outcome = verify::systemd_unit(&path);
    if require_or_skip(&outcome) {
        assert!(outcome.is_passed(), "{outcome}");
    }
}

// --- Whole renders ---------------------------------------------------------------------------

/// The structure of every file, keyed by path: what an injection would change.
/// Every key path of a TOML document.
fn toml_key_paths(value: &toml::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let toml::Value::Table(table) = value {
        for (key, child) in table {
            out.push(key.clone());
            out.extend(
                toml_key_paths(child)
                    .into_iter()
                    .map(|p| format!("{key}.{p}")),
            );
        }
    }
    out
}

fn shapes(files: &[prose_compile::targets::GeneratedFile]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), files);
    files
        .iter()
        .map(|f| {
            let text = std::str::from_utf8(&f.contents).unwrap();
            let shape = if f.path.as_str().starts_with("etc/nginx/") {
                format!("{:?}", nginx_shape(text))
            } else if f.path.as_str().ends_with(".yaml") {
                format!("{:?}", yaml_key_paths(text))
            } else if f.path.as_str().ends_with(".json") {
                format!("{:?}", json_shape(text))
            } else if f.path.as_str().ends_with(".toml") {
                let table: toml::Table =
                    toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
                format!("{:?}", toml_key_paths(&toml::Value::Table(table)))
            } else if f.path.as_str().ends_with(".env") {
                let names: Vec<&str> = text
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .filter_map(|l| l.split_once('=').map(|(name, _)| name))
                    .collect();
                format!("{names:?}")
            } else if f.path.as_str().ends_with(".service") {
                let shape = systemd_shape(text).unwrap();
                format!(
                    "{:?}",
                    shape.iter().map(|(s, k, _)| (s, k)).collect::<Vec<_>>()
                )
            } else {
                format!("{:?}", xml_shape(&dir.path().join(&f.path)))
            };
            (f.path.to_string(), shape)
        })
        .collect()
}

#[test]
fn a_hostile_input_label_stays_in_its_comments() {
    let labels = [
        "pods/x\nExecStartPre=/bin/sh -c id\n[Service]\nUser=root/prose.toml",
        "pods/x;\n}\nserver { listen 81; }\n#/prose.toml",
        "pods/x\n    privileged: true\nx: y/prose.toml",
        "pods/x --> <evil/> <!-- -/prose.toml",
        "pods/x\u{2028}key: v\u{85}k2: v/prose.toml",
        "pods/x\r\n[Install]\r\nWantedBy=evil.target\\",
        "pods/$(id)%n${HOME}\"'\\/prose.toml",
    ];
    for config in [example("full"), fixture("same-domain")] {
        let l = load(&config);
        let benign = l.render("prose.toml").unwrap();
        let expected = shapes(&benign);
        for label in labels {
            let files = l
                .render(label)
                .unwrap_or_else(|e| panic!("{label:?}: {e:#?}"));
            assert_eq!(shapes(&files), expected, "{label:?}");
        }
        // And the real tools accept the most hostile one.
        let files = l.render(labels[0]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &files);
        for report in verify::verify_tree(dir.path()) {
            if require_or_skip(&report.outcome) {
                assert!(
                    report.outcome.is_passed(),
                    "{}: {}",
                    report.tool,
                    report.outcome
                );
            }
        }
    }
}

#[test]
fn dashboard_urls_the_front_end_accepts_are_refused_or_inert() {
    let urls = [
        "https://admin.example.org/%0Aevil",
        "https://admin.example.org/;include /etc/passwd",
        "https://admin.example.org/a;b",
        "https://admin.example.org/$host",
        "https://admin.example.org/}",
        "https://admin.example.org/\"",
        "https://admin.example.org/..%2F..%2Fetc",
        "https://admin.example.org:443/",
        "https://admin.example.org:8443/",
        "http://admin.example.org/",
        "https://203.0.113.7/",
        "https://[2001:db8::7]/",
        "https://ADMIN.Example.org/",
        "https://admin.example.org./",
        "https://bücher.example/",
        "https://admin.example.org/?x=1",
        "https://admin.example.org/#x",
        "https://u:p@admin.example.org/",
        "https://admin.example.org\\@evil.example/",
        "https://admin.example.org%0a.evil/",
        "https://prose.example.org/",
    ];
    let benign = load_str(
        "[server]\ndomain = \"example.org\"\n[dashboard]\nurl = \"https://admin.example.org\"\n",
    );
    let expected = shapes(&benign.render("prose.toml").unwrap());
    let (mut refused_by_front_end, mut refused_by_target, mut rendered) = (0, 0, 0);
    for url in urls {
        let toml = format!(
            "[server]\ndomain = \"example.org\"\n[dashboard]\nurl = {}\n",
            toml_string(url)
        );
        let Some(l) = try_load_str(&toml) else {
            refused_by_front_end += 1;
            continue;
        };
        match l.render("prose.toml") {
            Err(errors) => {
                refused_by_target += 1;
                assert!(
                    errors
                        .iter()
                        .all(|e| e.key.as_deref() == Some("dashboard.url")),
                    "{url}: {errors:#?}"
                );
            }
            Ok(files) => {
                rendered += 1;
                assert_eq!(shapes(&files), expected, "{url}");
                let dir = tempfile::tempdir().unwrap();
                write_tree(dir.path(), &files);
                let sites: Vec<_> = files
                    .iter()
                    .filter(|f| f.path.as_str().starts_with("etc/nginx/"))
                    .map(|f| dir.path().join(&f.path))
                    .collect();
                let outcome = verify::nginx_sites(&sites);
                if require_or_skip(&outcome) {
                    assert!(outcome.is_passed(), "{url}: {outcome}");
                }
            }
        }
    }
    // The corpus exercises all three outcomes.
    assert!(
        refused_by_front_end > 0 && refused_by_target > 0 && rendered > 0,
        "{refused_by_front_end} {refused_by_target} {rendered}"
    );
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Every string leaf of a context, replaced by each corpus value in turn, rendered with the
/// real template: an error (a filter refused it) or the benign file's structure.
fn every_string_variable(
    template: &str,
    context: serde_json::Value,
    shape: &dyn Fn(&str) -> String,
) -> (usize, usize) {
    fn leaves(value: &serde_json::Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        match value {
            serde_json::Value::String(_) => out.push(path),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let mut p = path.clone();
                    p.push(i.to_string());
                    leaves(item, p, out);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let mut p = path.clone();
                    p.push(k.clone());
                    leaves(v, p, out);
                }
            }
            _ => {}
        }
    }
    let templates = prose_compile::targets::embedded_templates();
    let expected = shape(&templates.render(template, &context).unwrap());
    let mut paths = Vec::new();
    leaves(&context, Vec::new(), &mut paths);
    assert!(!paths.is_empty());
    let (mut refused, mut inert) = (0, 0);
    for path in &paths {
        for value in CORPUS {
            let mut mutated = context.clone();
            let mut slot = &mut mutated;
            for key in path {
                slot = match slot {
                    serde_json::Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
                    serde_json::Value::Object(map) => map.get_mut(key).unwrap(),
                    _ => unreachable!(),
                };
            }
            *slot = serde_json::Value::from(*value);
            match templates.render(template, &mutated) {
                Err(_) => refused += 1,
                Ok(text) => {
                    assert_eq!(
                        shape(&text),
                        expected,
                        "{template}: {path:?} = {value:?}\n{text}"
                    );
                    inert += 1;
                }
            }
        }
    }
    (refused, inert)
}

fn benign() -> Loaded {
    load(&fixture("idn-bosh-old"))
}

#[test]
fn every_nginx_variable_is_escaped() {
    let l = benign();
    let plan = nginx::plan(&l.ctx("prose.toml")).unwrap();
    let shape = |t: &str| format!("{:?}", nginx_shape(t));
    let (refused, inert) = every_string_variable(
        "nginx-pod.conf.j2",
        serde_json::to_value(&plan.pod).unwrap(),
        &shape,
    );
    assert!(refused > 0 && inert > 0, "{refused} {inert}");
    let site = plan.well_known.unwrap();
    let (refused, inert) = every_string_variable(
        "nginx-well-known.conf.j2",
        serde_json::to_value(&site).unwrap(),
        &shape,
    );
    assert!(refused > 0 && inert > 0, "{refused} {inert}");
}

#[test]
fn every_host_meta_variable_is_escaped() {
    let l = benign();
    let context =
        serde_json::to_value(host_meta::host_meta(&l.ctx("prose.toml")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host-meta");
    let xmllint = tool_or_skip("xmllint", &["--version"]);
    let xml_shape_of = |t: &str| {
        if !xmllint {
            return String::new();
        }
        fs::write(&path, t).unwrap();
        format!("{:?}", xml_shape(&path))
    };
    let (refused, inert) = every_string_variable("host-meta.j2", context.clone(), &xml_shape_of);
    assert!(refused > 0 && inert > 0, "{refused} {inert}");
    let json_shape_of = |t: &str| format!("{:?}", json_shape(t));
    let (refused, inert) = every_string_variable("host-meta.json.j2", context, &json_shape_of);
    assert_eq!(refused, 0, "JSON escapes everything");
    assert!(inert > 0);
}

#[test]
fn every_compose_variable_is_escaped() {
    let l = benign();
    let mut context =
        serde_json::to_value(compose::compose(&l.ctx("prose.toml")).unwrap()).unwrap();
    // An extra alias (server.local_hostname), so the corpus reaches it too.
    context["extra_aliases"] = serde_json::json!(["prosody-internal"]);
    let shape = |t: &str| format!("{:?}", yaml_key_paths(t));
    let (refused, inert) = every_string_variable("compose.yaml.j2", context.clone(), &shape);
    assert_eq!(refused, 0, "YAML escapes everything");
    assert!(inert > 0);

    // Compose v2 reads a hostile alias as one value, `$` included: parsed as YAML, then
    // interpolated as compose does, it is the alias written, and the file is still valid.
    let hostile = "x$HOME\"\n    privileged: true";
    context["extra_aliases"] = serde_json::json!([hostile]);
    let text = prose_compile::targets::embedded_templates()
        .render("compose.yaml.j2", &context)
        .unwrap();
    let yaml: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    let env = [("HOME".to_owned(), "/root".to_owned())]
        .into_iter()
        .collect();
    let doc = prose_compile::verify::interpolate::interpolate_document(&yaml, &env).unwrap();
    let server = &doc["services"]["server"];
    assert_eq!(server["networks"]["prose-network"]["aliases"][1], hostile);
    assert!(server.get("privileged").is_none(), "{server}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compose.yaml");
    fs::write(&path, &text).unwrap();
    fs::write(dir.path().join("prose-server.env"), "").unwrap();
    let outcome = verify::compose_schema(&path);
    assert!(outcome.is_passed(), "{outcome}");
}

#[test]
fn every_systemd_variable_is_escaped() {
    let l = benign();
    let context = serde_json::to_value(systemd::unit(&l.ctx("prose.toml"))).unwrap();
    let shape = |t: &str| {
        let shape = systemd_shape(t).unwrap_or_else(|e| panic!("{e}\n{t}"));
        format!(
            "{:?}",
            shape.iter().map(|(s, k, _)| (s, k)).collect::<Vec<_>>()
        )
    };
    let (refused, inert) = every_string_variable("prose.service.j2", context, &shape);
    assert!(refused > 0 && inert > 0, "{refused} {inert}");
}
