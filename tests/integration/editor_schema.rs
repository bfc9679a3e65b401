//! The schema as an editor uses it: taplo (the engine of Even Better TOML) over the bad-input
//! corpus and the examples, and the shape of the schema where taplo reads it.

use std::path::{Path, PathBuf};
use std::process::Command;

use prose_compile::verify::{Outcome, require_or_skip};

use crate::support::repo;

/// How many of the corpus' invalid cases taplo must flag: every case a JSON Schema can
/// express (45 when this was written; the rest are about env files, `--set`, presets and
/// cross-key Prosody rules, which no schema sees).
const TAPLO_FLOOR: usize = 45;

/// `taplo` on `PATH` (`pip install taplo`), or `None` after a visible skip.
fn taplo() -> Option<&'static str> {
    let runs = Command::new("taplo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if runs {
        return Some("taplo");
    }
    require_or_skip(&Outcome::Skipped {
        reason: "taplo not installed (pip install taplo)".into(),
    });
    None
}

fn schema_url() -> String {
    format!(
        "file://{}",
        repo()
            .join(prose_compile::config::schema::SCHEMA_PATH)
            .display()
    )
}

/// Whether `taplo check` accepts the file: against the committed schema when `schema` is
/// set, else against what the file's own `#:schema` line names.
fn taplo_accepts(taplo: &str, file: &Path, schema: Option<&str>) -> (bool, String) {
    let mut command = Command::new(taplo);
    command.arg("check").arg("--no-auto-config");
    if let Some(url) = schema {
        command.args(["--schema", url]);
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let out = command
        .arg(file.file_name().unwrap_or_default())
        .current_dir(dir)
        .output()
        .expect("run taplo");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), text)
}

#[test]
fn taplo_flags_the_invalid_corpus_and_no_valid_case() {
    let Some(taplo) = taplo() else { return };
    let url = schema_url();
    let (mut flagged, mut missed) = (Vec::new(), Vec::new());
    for case in crate::check_cases::cases() {
        let config = crate::check_cases::config_of(&case);
        let (accepted, output) = taplo_accepts(taplo, &config, Some(&url));
        if case.exit() == 0 {
            assert!(
                accepted,
                "{}: a valid configuration flagged by taplo:\n{output}",
                case.name()
            );
        } else if accepted {
            missed.push(case.name());
        } else {
            flagged.push(case.name());
        }
    }
    println!(
        "taplo flags {} invalid cases; misses {}: {}",
        flagged.len(),
        missed.len(),
        missed.join(", ")
    );
    assert!(
        flagged.len() >= TAPLO_FLOOR,
        "taplo flags only {} invalid cases (floor {TAPLO_FLOOR}); missed: {missed:?}",
        flagged.len()
    );
}

fn example_configs() -> Vec<PathBuf> {
    let mut configs: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path().join("prose.toml")))
        .filter(|p| p.is_file())
        .collect();
    configs.sort();
    configs
}

/// Every example names the committed schema on its first line, and taplo, following that
/// line, accepts it.
#[test]
fn every_example_points_at_the_schema_and_taplo_accepts_it() {
    for config in example_configs() {
        let text = std::fs::read_to_string(&config).expect("read example");
        let first = text.lines().next().unwrap_or_default();
        let target = first
            .strip_prefix("#:schema ")
            .unwrap_or_else(|| panic!("{}: no `#:schema` first line", config.display()));
        let schema = config.parent().expect("dir").join(target);
        assert_eq!(
            schema.canonicalize().ok(),
            repo()
                .join(prose_compile::config::schema::SCHEMA_PATH)
                .canonicalize()
                .ok(),
            "{}: `#:schema` names {target}, not the committed schema",
            config.display()
        );
    }
    let Some(taplo) = taplo() else { return };
    for config in example_configs() {
        let (accepted, output) = taplo_accepts(taplo, &config, None);
        assert!(accepted, "{}: {output}", config.display());
        // The directive is followed: the same file with a typo is flagged.
        let dir = tempfile::tempdir().expect("tempdir");
        let copy = dir.path().join("prose.toml");
        let text = std::fs::read_to_string(&config).expect("read example");
        let absolute = format!("#:schema {}\n", schema_url());
        let body = text.split_once('\n').map_or("", |(_, rest)| rest);
        std::fs::write(&copy, format!("{absolute}{body}\n[serverr]\n")).expect("write");
        let (accepted, _) = taplo_accepts(taplo, &copy, None);
        assert!(
            !accepted,
            "{}: taplo ignored the `#:schema` line",
            config.display()
        );
    }
}

/// taplo ignores every sibling of a `$ref` (it reads the schema with Draft 4 rules): a
/// description there would show nothing on hover. The schema puts them in an `allOf`.
#[test]
fn no_annotation_sits_beside_a_ref() {
    fn walk(value: &serde_json::Value, at: &str, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if map.contains_key("$ref") && map.len() > 1 {
                    found.push(at.to_owned());
                }
                for (key, child) in map {
                    walk(child, &format!("{at}/{key}"), found);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    let schema = prose_compile::config::schema::schema();
    let mut found = Vec::new();
    walk(&schema, "", &mut found);
    assert!(found.is_empty(), "`$ref` with siblings at {found:#?}");
    // And the descriptions are still there, where `explain` reads them too.
    let nav = prose_compile::config::schema_nav::SchemaNav::new(&schema);
    for path in [
        &["server"][..],
        &["server", "defaults", "tls_profile"],
        &["log", "level"],
    ] {
        assert!(
            nav.annotation(path, "description").is_some(),
            "{path:?} has no description"
        );
    }
}

/// Every string with a format carries the format's pattern, which editors check.
#[test]
fn every_format_in_the_schema_carries_its_pattern() {
    fn walk(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(name) = map.get("format").and_then(|f| f.as_str())
                    && let Some(format) = prose_compile::config::formats::find(name)
                {
                    let pattern = map.get("pattern").and_then(|p| p.as_str());
                    if pattern != format.pattern {
                        found.push(format!("{name}: {pattern:?}"));
                    }
                }
                map.values().for_each(|child| walk(child, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|child| walk(child, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&prose_compile::config::schema::schema(), &mut found);
    assert!(found.is_empty(), "{found:#?}");
}
