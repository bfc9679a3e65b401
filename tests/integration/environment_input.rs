//! The environment is never an invisible input: the commands name the `PROSE_*` variables
//! that set a value (human and JSON), `-v` lists every one with its source, and the README's
//! CI and pre-commit commands do not depend on the caller's environment.

use crate::support::{cli, repo};

const POD: &str = "[server]\ndomain = \"crisp.chat\"\n";
const VAR: &str = "PROSE_SERVER__DEFAULTS__TLS_PROFILE";

#[test]
fn a_build_names_the_variables_of_the_process_environment_it_used() {
    let ran = cli()
        .file("pod/prose.toml", POD)
        .file("pod/prose.env", "PROSE_LOG__LEVEL=warn\n")
        .env(VAR, "intermediate")
        .args(&["build", "pod", "-o", "out"])
        .run()
        .status(0)
        .stderr_has(&format!(
            "pod/prose.toml: values set by the process environment: {VAR} (`--no-env` ignores it)"
        ));
    // prose.env is a file in the repository, reviewed like prose.toml: listed only with -v.
    assert!(!ran.stderr.contains("PROSE_LOG__LEVEL"), "{ran}");

    let ran = cli()
        .file("pod/prose.toml", POD)
        .file("pod/prose.env", "PROSE_LOG__LEVEL=warn\n")
        .env(VAR, "intermediate")
        .args(&["-v", "build", "pod", "-o", "out"])
        .run()
        .status(0)
        .stderr_has(&format!(
            "  {VAR} sets `server.defaults.tls_profile` (process environment)"
        ))
        .stderr_has("  PROSE_LOG__LEVEL sets `log.level` (pod/prose.env:1)");
    drop(ran);
}

#[test]
fn json_reports_carry_the_environment_of_each_pod() {
    for command in ["build", "check", "audit", "diff"] {
        let mut args = vec!["--format", "json", command, "pod"];
        if command == "build" || command == "diff" {
            args.extend(["-o", "out"]);
        }
        let ran = cli()
            .file("pod/prose.toml", POD)
            .file("pod/prose.env", "PROSE_LOG__LEVEL=warn\n")
            .env(VAR, "old")
            .args(&args)
            .run();
        let json = ran.json();
        assert_eq!(
            json["pods"][0]["environment"],
            serde_json::json!([
                {"variable": VAR, "key": "server.defaults.tls_profile", "source": "environment"},
                {"variable": "PROSE_LOG__LEVEL", "key": "log.level", "source": "pod/prose.env", "line": 1},
            ]),
            "{command}: {ran}"
        );
        // Secrets stay out: no value is printed.
        assert!(!ran.stdout.contains("\"old\""), "{command}: {ran}");
    }
}

#[test]
fn a_drift_caused_by_the_environment_names_the_variable() {
    let dir = cli()
        .file("pod/prose.toml", POD)
        .args(&["build", "--no-env", "pod", "-o", "out"])
        .run()
        .status(0)
        .dir
        .expect("temp dir");
    let ran = cli()
        .in_dir(dir)
        .env(VAR, "old")
        .args(&["-v", "build", "--check", "pod", "-o", "out"])
        .run()
        .status(1)
        .stderr_has(VAR)
        .stderr_has("sets `server.defaults.tls_profile` (process environment)")
        .stdout_has("(changed)");
    // Without the environment the same tree is up to date.
    cli()
        .in_dir(ran.dir.expect("temp dir"))
        .env(VAR, "old")
        .args(&["build", "--check", "--no-env", "pod", "-o", "out"])
        .run()
        .status(0);
}

/// Every `prose-compile` command of the README's CI and pre-commit sections, and of the
/// shipped pre-commit hooks, ignores the caller's environment or pins an env file.
#[test]
fn the_documented_ci_and_hook_commands_do_not_read_the_callers_environment() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let hooks = std::fs::read_to_string(repo().join(".pre-commit-hooks.yaml")).expect("hooks file");
    let mut commands: Vec<&str> = Vec::new();
    let mut section = "";
    for line in readme.lines() {
        if line.starts_with('#') {
            section = line;
        }
        let ci = section.contains("CI") || section.contains("re-commit");
        if ci && let Some(at) = line.find("prose-compile ") {
            let command = &line[at..];
            let subcommand = command.split_whitespace().nth(1).unwrap_or_default();
            if ["build", "check", "audit", "diff"].contains(&subcommand) {
                commands.push(command);
            }
        }
    }
    commands.extend(
        hooks
            .lines()
            .filter_map(|l| l.trim().strip_prefix("entry: ")),
    );
    assert!(commands.len() >= 5, "{commands:#?}");
    for command in commands {
        assert!(
            command.contains("--no-env") || command.contains("--env-file"),
            "reads the caller's environment: {command}"
        );
    }
}
