//! The front end's bad-input corpus. Each directory under `tests/cases/check/` is one case:
//! its input (`prose.toml`, maybe a `prose.env`, and a `case.toml` for the few that also need
//! command-line arguments, environment variables or a secret that must never be printed) and
//! its expectation, in one place: `expected.txt`, the exit code and the whole human rendering,
//! reviewed like code. The JSON output must agree with it diagnostic for diagnostic (code,
//! severity, file and line), and every error must carry a help line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::support::{self, assert_snapshot, cli};

/// A case's inputs beyond its files (`case.toml`, optional).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A secret that must appear in no output.
    pub secret: Option<String>,
}

pub struct Case {
    pub dir: PathBuf,
    pub inputs: Inputs,
    /// `expected.txt`: `exit: N`, then standard error.
    pub expected: String,
}

impl Case {
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }

    /// The exit code `expected.txt` records.
    pub fn exit(&self) -> i32 {
        self.expected
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("exit: "))
            .and_then(|n| n.parse().ok())
            .unwrap_or(-1)
    }

    /// Whether the case is about the file alone (no arguments, environment or env file).
    pub fn file_only(&self) -> bool {
        self.inputs.args.is_empty()
            && self.inputs.env.is_empty()
            && !self.dir.join("prose.env").exists()
            && !self.dir.join("compose.env").exists()
    }
}

/// Every case of the corpus, sorted by name.
pub fn cases() -> Vec<Case> {
    let root = support::repo().join("tests/cases/check");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/cases/check")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let inputs = match std::fs::read_to_string(dir.join("case.toml")) {
                Ok(text) => toml::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}/case.toml: {e}", dir.display())),
                Err(_) => Inputs::default(),
            };
            let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap_or_default();
            Case {
                dir,
                inputs,
                expected,
            }
        })
        .collect()
}

/// One diagnostic as both renderings can tell it.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    code: String,
    error: bool,
    place: Option<(String, u64)>,
}

/// The diagnostics of a human rendering: `prose::<code>`, then `×` (error) or `⚠`
/// (warning), then `╭─[file:line:col]` when it points into a source.
fn in_human(stderr: &str) -> Vec<Seen> {
    let mut seen: Vec<Seen> = Vec::new();
    let mut place_pending = false;
    for line in stderr.lines() {
        let line = line.trim();
        if let Some(code) = line.strip_prefix("prose::") {
            seen.push(Seen {
                code: code.to_owned(),
                error: false,
                place: None,
            });
            place_pending = true;
            continue;
        }
        let Some(last) = seen.last_mut() else {
            continue;
        };
        if line.starts_with('×') {
            last.error = true;
        }
        if place_pending && let Some(at) = line.find("╭─[") {
            let inside = line[at + "╭─[".len()..].trim_end_matches(']');
            let mut parts = inside.rsplitn(3, ':');
            let _column = parts.next();
            let number = parts.next().and_then(|n| n.parse().ok());
            let file = parts.next();
            last.place = file.zip(number).map(|(f, n)| (f.to_owned(), n));
            place_pending = false;
        }
    }
    seen
}

fn in_json(report: &serde_json::Value) -> Vec<Seen> {
    report["pods"][0]["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| Seen {
            code: d["code"].as_str().unwrap_or_default().to_owned(),
            error: d["severity"] == "error",
            place: d["file"]
                .as_str()
                .zip(d["line"].as_u64())
                .map(|(f, l)| (f.to_owned(), l)),
        })
        .collect()
}

fn run_case(case: &Case) -> Result<(), String> {
    let relative = case
        .dir
        .strip_prefix(support::repo())
        .unwrap_or(&case.dir)
        .join("prose.toml");
    let config = relative.to_string_lossy().into_owned();
    let run = |format: &str| {
        let mut args = vec!["--color", "never", "--format", format, "check", &config];
        args.extend(case.inputs.args.iter().map(String::as_str));
        let mut run = cli().args(&args);
        for (k, v) in &case.inputs.env {
            run = run.env(k, v);
        }
        run.run()
    };

    let human = run("human");
    let snapshot = format!("exit: {}\n{}", human.status, human.stderr);
    std::panic::catch_unwind(|| assert_snapshot(&case.dir.join("expected.txt"), &snapshot))
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "snapshot mismatch".into())
        })?;

    let json = run("json");
    if json.status != case.exit() {
        return Err(format!(
            "--format json exits {}, expected {}",
            json.status,
            case.exit()
        ));
    }
    let report: serde_json::Value =
        serde_json::from_str(&json.stdout).map_err(|e| format!("--format json output: {e}"))?;
    let (from_json, from_human) = (in_json(&report), in_human(&human.stderr));
    if from_human.is_empty() {
        return Err("no diagnostic: a case of this corpus is a bad input".into());
    }
    if from_json != from_human {
        return Err(format!(
            "JSON and human output disagree:\n  json:  {from_json:?}\n  human: {from_human:?}"
        ));
    }
    let without_help = report["pods"][0]["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["severity"] == "error" && d["help"].as_str().is_none_or(str::is_empty))
        .count();
    if without_help > 0 {
        return Err(format!("{without_help} error(s) without a help line"));
    }
    if let Some(secret) = &case.inputs.secret {
        let all = format!("{}{}{}", human.stderr, human.stdout, json.stdout);
        if all.contains(secret.as_str()) {
            return Err("the secret appears in the output".into());
        }
    }
    Ok(())
}

#[test]
fn every_bad_input_gets_its_diagnostic() {
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "the corpus must keep at least 30 cases, found {}",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            run_case(case)
                .err()
                .map(|e| format!("{}: {e}", case.name()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// A case directory's `prose.toml`.
pub fn config_of(case: &Case) -> PathBuf {
    Path::new(&case.dir).join("prose.toml")
}
