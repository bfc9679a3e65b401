//! The front end's bad-input corpus: every directory under `tests/cases/check/` holds a
//! `prose.toml` (and maybe a `prose.env`) and a `case.toml` stating the expected exit code,
//! the message and the line its label points at. The full human rendering is snapshot-tested
//! in `expected.txt` next to them.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use support::{assert_snapshot, prose_compile};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    exit: i32,
    message: String,
    line: usize,
    /// The source the diagnostic points into (default: the case's prose.toml).
    file: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// A secret that must appear in no output.
    secret: Option<String>,
}

fn run_case(dir: &Path) -> Result<(), String> {
    let case: Case =
        toml::from_str(&std::fs::read_to_string(dir.join("case.toml")).map_err(|e| e.to_string())?)
            .map_err(|e| format!("case.toml: {e}"))?;
    let relative = dir
        .strip_prefix(support::repo())
        .unwrap_or(dir)
        .join("prose.toml");
    let config = relative.to_string_lossy().into_owned();
    let env: Vec<(&str, &str)> = case
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let run = |format: &str| {
        let mut args = vec!["--color", "never", "--format", format, "check", &config];
        args.extend(case.args.iter().map(String::as_str));
        prose_compile(&args, &env)
    };

    let json = run("json");
    if json.status.code() != Some(case.exit) {
        return Err(format!(
            "exit code {:?}, expected {}",
            json.status.code(),
            case.exit
        ));
    }
    let report: serde_json::Value =
        serde_json::from_slice(&json.stdout).map_err(|e| format!("--format json output: {e}"))?;
    let diagnostics = report["pods"][0]["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let found = diagnostics
        .iter()
        .find(|d| {
            d["message"]
                .as_str()
                .is_some_and(|m| m.contains(&case.message))
        })
        .ok_or_else(|| {
            format!(
                "no diagnostic contains {:?}; got {:#?}",
                case.message, diagnostics
            )
        })?;
    if found["line"].as_u64() != Some(case.line as u64) {
        return Err(format!(
            "label on line {}, expected {}",
            found["line"], case.line
        ));
    }
    let expected_file = case.file.clone().unwrap_or_else(|| config.clone());
    let file = found["file"].as_str().unwrap_or_default();
    if !file.ends_with(&expected_file) && !expected_file.ends_with(file) || file.is_empty() {
        return Err(format!(
            "diagnostic in {file:?}, expected {expected_file:?}"
        ));
    }
    if found["help"].as_str().is_none_or(str::is_empty) {
        return Err("the diagnostic has no help line".into());
    }

    let human = run("human");
    let stderr = String::from_utf8_lossy(&human.stderr);
    if let Some(secret) = &case.secret {
        let all = format!(
            "{stderr}{}{}",
            String::from_utf8_lossy(&json.stdout),
            String::from_utf8_lossy(&human.stdout)
        );
        if all.contains(secret.as_str()) {
            return Err("the secret appears in the output".into());
        }
    }
    let snapshot = format!("exit: {}\n{stderr}", human.status.code().unwrap_or(-1));
    std::panic::catch_unwind(|| assert_snapshot(&dir.join("expected.txt"), &snapshot)).map_err(
        |e| {
            e.downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "snapshot mismatch".into())
        },
    )
}

#[test]
fn every_bad_input_gets_its_diagnostic() {
    let root = support::repo().join("tests/cases/check");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/cases/check")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 30,
        "the corpus must keep at least 30 cases, found {}",
        dirs.len()
    );
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            run_case(dir).err().map(|e| {
                format!(
                    "{}: {e}",
                    dir.file_name().unwrap_or_default().to_string_lossy()
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
