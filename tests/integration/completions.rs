//! Shell completions, tried in each shell as a user's TAB would: subcommands, a
//! subcommand's flags, and the values of `--deny` and `--format`. bash is driven through
//! its `COMP_*` protocol, zsh in a pseudo-terminal (zpty), fish with `complete -C`.

use std::path::Path;
use std::process::Command;

use prose_compile::verify::{Outcome, require_or_skip};

use crate::support::{cli, repo};

/// A command line (cursor at its end) and candidates the completion must offer.
const CASES: &[(&str, &[&str])] = &[
    (
        "prose-compile ",
        &["build", "check", "audit", "explain", "init"],
    ),
    (
        "prose-compile build --",
        &["--check", "--env-file", "--no-env", "--output", "--set"],
    ),
    (
        "prose-compile audit --deny ",
        &["critical", "warning", "suggestion"],
    ),
    (
        "prose-compile check --format ",
        &["human", "json", "sarif", "github"],
    ),
    ("prose-compile completions ", &["bash", "fish", "zsh"]),
];

/// The script `completions SHELL` prints, written to a file in a temporary directory.
fn script(shell: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let ran = cli().args(&["completions", shell]).run().status(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("prose-compile.{shell}"));
    std::fs::write(&path, ran.stdout).expect("write the script");
    (dir, path)
}

/// Whether `shell` runs here; else a visible skip (and a failure in CI).
fn available(shell: &str, package: &str) -> bool {
    let runs = Command::new(shell)
        .args(["-c", "exit 0"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        require_or_skip(&Outcome::Skipped {
            reason: format!("{shell} not installed (apt-get install {package})"),
        });
    }
    runs
}

fn check_offers(shell: &str, line: &str, offered: &[String], expected: &[&str]) {
    for candidate in expected {
        assert!(
            offered.iter().any(|o| o == candidate),
            "{shell}: `{line}<TAB>` does not offer {candidate}; it offers {offered:?}"
        );
    }
}

fn candidates(out: std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // fish prints `candidate<TAB>description`.
        .map(|l| l.split('\t').next().unwrap_or_default().trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_subcommands_flags_and_values() {
    if !available("bash", "bash") {
        return;
    }
    let (_dir, script) = script("bash");
    let driver = repo().join("tests/integration/support/complete.bash");
    for (line, expected) in CASES {
        let out = Command::new("bash")
            .arg(&driver)
            .arg(&script)
            .arg(line)
            .output()
            .expect("bash");
        check_offers("bash", line, &candidates(out), expected);
    }
    // `--deny` offers its values only, not file names.
    let out = Command::new("bash")
        .arg(&driver)
        .arg(&script)
        .arg("prose-compile audit --deny ")
        .current_dir(repo())
        .output()
        .expect("bash");
    assert_eq!(candidates(out), ["critical", "warning", "suggestion"]);
}

#[test]
fn zsh_completes_subcommands_flags_and_values() {
    if !available("zsh", "zsh") {
        return;
    }
    let (_dir, script) = script("zsh");
    let driver = repo().join("tests/integration/support/complete.zsh");
    // Each run waits for a second of quiet: run the cases side by side.
    let runs: Vec<_> = CASES
        .iter()
        .map(|(line, _)| {
            let (driver, script) = (driver.clone(), script.clone());
            std::thread::spawn(move || {
                Command::new("zsh")
                    .arg("-f")
                    .arg(&driver)
                    .arg(&script)
                    .arg(line)
                    .output()
                    .expect("zsh")
            })
        })
        .collect();
    for ((line, expected), run) in CASES.iter().zip(runs) {
        let out = run.join().expect("zsh run");
        check_offers("zsh", line, &candidates(out), expected);
    }
}

#[test]
fn fish_completes_subcommands_flags_and_values() {
    if !available("fish", "fish") {
        return;
    }
    let (_dir, script) = script("fish");
    for (line, expected) in CASES {
        let out = Command::new("fish")
            .arg("--no-config")
            .arg("-c")
            .arg(format!(
                "source {}; complete -C {}",
                quote(&script),
                quote(Path::new(line))
            ))
            .output()
            .expect("fish");
        check_offers("fish", line, &candidates(out), expected);
    }
}

/// A single-quoted fish word.
fn quote(text: &Path) -> String {
    format!(
        "'{}'",
        text.to_string_lossy()
            .replace('\\', "\\\\")
            .replace('\'', "\\'")
    )
}
