//! How people call the tool: a lone key for `explain`, commands run from inside a pod,
//! directory walks that skip what `.gitignore` excludes, `-o -`, JSON for every outcome
//! under `--format json`, and exit codes documented where people look.

use crate::support::cli;

const POD: &str = "[server]\ndomain = \"crisp.chat\"\n";

#[test]
fn a_lone_key_explains_the_pod_here() {
    let ran = cli()
        .cwd("examples/full")
        .args(&["explain", "--no-env", "server.domain"])
        .run()
        .status(0)
        .stdout_has("server.domain = \"crisp.chat\"")
        .stdout_has("set by: prose.toml:");
    drop(ran);
    // A key that names no pod's key is still reported as a key.
    cli()
        .cwd("examples/full")
        .args(&["explain", "--no-env", "server.domian"])
        .run()
        .status(2)
        .stderr_has("did you mean `server.domain`?");
    // A path and a key, as before.
    cli()
        .args(&["explain", "--no-env", "examples/minimal", "server.domain"])
        .run()
        .status(0)
        .stdout_has("\"crisp.chat\"");
}

#[test]
fn single_pod_and_default_commands_find_the_pod_around_a_subdirectory() {
    let ran = cli()
        .file("pods/crisp/prose.toml", POD)
        .file("pods/crisp/notes/todo.md", "")
        .cwd("pods/crisp/notes")
        .args(&["explain", "--no-env", "server.domain"])
        .run()
        .status(0)
        .stdout_has("set by: ../prose.toml:2:10");
    let dir = ran.dir.expect("temp dir");
    let ran = cli()
        .in_dir(dir)
        .cwd("pods/crisp/notes")
        .args(&["check", "--no-env"])
        .run()
        .status(0)
        .stderr_has("checked 1 pod: 1 valid");
    // Above the pods, no path means every pod below, as before.
    let ran = cli()
        .in_dir(ran.dir.expect("temp dir"))
        .cwd("pods")
        .args(&["check", "--no-env"])
        .run()
        .status(0)
        .stderr_has("checked 1 pod");
    // With neither, a clear error.
    let outside = tempfile::tempdir().expect("tempdir");
    cli()
        .in_dir(outside)
        .args(&["check", "--no-env"])
        .run()
        .status(2)
        .stderr_has("no prose.toml found");
    drop(ran);
}

#[test]
fn directory_walks_skip_what_gitignore_excludes() {
    let setup = || {
        cli()
            .file(".git/HEAD", "ref: refs/heads/main\n")
            .file(".gitignore", "/scratch/\nbuild-*/\n/solo/prose.toml\n")
            .file("pods/.gitignore", "!build-keep/\n")
            .file("pods/crisp/prose.toml", POD)
            .file("solo/prose.toml", POD)
            .file("pods/build-1/prose.toml", "not toml [")
            .file("pods/build-keep/prose.toml", POD)
            .file("scratch/broken/prose.toml", "not toml [")
    };
    // From the root: the scratch copy and the ignored build are not pods.
    setup()
        .args(&["check", "--no-env"])
        .run()
        .status(0)
        .stderr_has("checked 2 pods: 2 valid, 0 invalid");
    // The rules above the walked directory apply too.
    setup()
        .args(&["check", "--no-env", "pods"])
        .run()
        .status(0)
        .stderr_has("checked 2 pods: 2 valid");
    // A directory named on the command line is searched even if ignored.
    setup()
        .args(&["check", "--no-env", "scratch"])
        .run()
        .status(1)
        .stderr_has("checked 1 pod: 0 valid, 1 invalid");
    // So is a pod directory whose own prose.toml is ignored: it is the pod named (found from
    // above, it is skipped: the first run counts two pods).
    setup()
        .args(&["check", "--no-env", "solo"])
        .run()
        .status(0)
        .stderr_has("checked 1 pod: 1 valid");
}

#[test]
fn dash_output_means_standard_output() {
    let ran = cli()
        .file("keep", "")
        .args(&["schema", "-o", "-"])
        .run()
        .status(0);
    assert_eq!(ran.stdout, prose_compile::config::schema::schema_text());
    assert!(!ran.path("-").exists(), "wrote a file named `-`");
}

/// Every failure under `--format json` is a JSON document on standard output.
#[test]
fn under_format_json_errors_are_json_too() {
    let cases: &[(&[&str], &str)] = &[
        (&["check", "no/such/dir"], "usage"),
        (&["build", "no/such/dir"], "usage"),
        (&["audit", "no/such/dir"], "usage"),
        (&["diff", "no/such/dir"], "usage"),
        (&["explain", "examples/minimal", "no.such.key"], "usage"),
        (&["explain", "examples"], "usage"),
        (&["verify", "no/such/dir"], "usage"),
        (&["init", "x", "--domain", "bad domain"], "usage"),
        (&["check", "--no-such-flag"], "usage"),
        (&["no-such-command"], "usage"),
        (&["schema", "-o", "/no/such/dir/schema.json"], "usage"),
    ];
    for (args, kind) in cases {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let ran = cli().file("keep", "").args(&all).run().status(2);
        let json = ran.json();
        assert_eq!(json["error"]["kind"], *kind, "{args:?}: {ran}");
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        // `--format=json` is understood too, even when clap fails.
        let mut all = vec!["--format=json"];
        all.extend_from_slice(args);
        let ran = cli().file("keep", "").args(&all).run().status(2);
        assert!(ran.json()["error"].is_object(), "{args:?}: {ran}");
    }
    // A pod whose tree cannot be written is reported in the pod's record.
    let ran = cli()
        .file("pod/prose.toml", POD)
        .file("out", "a file where the output directory should be")
        .args(&["--format", "json", "build", "--no-env", "pod", "-o", "out"])
        .run()
        .status(2);
    let json = ran.json();
    assert_eq!(json["pods"][0]["status"], "failed", "{ran}");
    assert!(json["pods"][0]["error"].is_string(), "{ran}");
    assert!(ran.stderr.is_empty(), "JSON only: {ran}");
    // An invalid pod under `explain` gives its diagnostics as JSON.
    let ran = cli()
        .file("pod/prose.toml", "[server]\ndomain = 1\n")
        .args(&[
            "--format",
            "json",
            "explain",
            "--no-env",
            "pod",
            "server.domain",
        ])
        .run()
        .status(1);
    assert_eq!(ran.json()["diagnostics"][0]["code"], "type");
}

#[test]
fn diff_as_json_carries_each_changed_file_and_its_diff() {
    let dir = cli()
        .file("pod/prose.toml", POD)
        .args(&["build", "--no-env", "pod", "-o", "out"])
        .run()
        .status(0)
        .dir
        .expect("temp dir");
    std::fs::write(
        dir.path().join("pod/prose.toml"),
        "[server]\ndomain = \"crisp.chat\"\n[server.defaults]\ntls_profile = \"intermediate\"\n",
    )
    .expect("write");
    for command in ["diff", "build --check"] {
        let mut args = vec!["--format", "json"];
        args.extend(command.split(' '));
        args.extend(["--no-env", "pod", "-o", "out"]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_prose-compile"))
            .current_dir(dir.path())
            .env_clear()
            .args(&args)
            .output()
            .expect("run");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let pod = &json["pods"][0];
        assert_eq!(pod["status"], "out of date", "{command}");
        let changes = pod["changes"].as_array().expect("changes");
        assert!(!changes.is_empty(), "{command}");
        for change in changes {
            assert_eq!(change["change"], "update", "{change}");
            let diff = change["diff"].as_str().expect("diff");
            let path = change["path"].as_str().expect("path");
            assert!(
                diff.starts_with(&format!("--- a/{path}\n+++ b/{path}\n@@")),
                "{diff}"
            );
        }
        assert!(
            changes.iter().any(|c| c["diff"]
                .as_str()
                .is_some_and(|d| d.contains("\n+") && d.contains("\n-"))),
            "{changes:?}"
        );
    }
}

#[test]
fn exit_codes_are_in_the_help_and_the_man_page_whose_references_exist() {
    for args in [&["--help"][..], &["build", "--help"], &["audit", "-h"]] {
        cli()
            .args(args)
            .run()
            .status(0)
            .stdout_has("Exit status:")
            .stdout_has("2  a usage or I/O error");
    }
    let page = cli().args(&["man"]).run().status(0);
    assert!(
        page.stdout.contains(".SH \"EXIT STATUS\"") || page.stdout.contains(".SH EXIT STATUS"),
        "{}",
        page.stdout
    );
    assert!(
        !page.stdout.contains("(1)"),
        "the page printed alone refers to pages that are not installed"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    cli()
        .args(&["man", "-o", &dir.path().to_string_lossy()])
        .run()
        .status(0);
    let main = std::fs::read_to_string(dir.path().join("prose-compile.1")).expect("main page");
    let mut referenced = 0;
    for reference in main.split("prose\\-compile\\-").skip(1) {
        let name: String = reference
            .chars()
            .take_while(|c| c.is_ascii_lowercase())
            .collect();
        if name.is_empty() {
            continue;
        }
        referenced += 1;
        assert!(
            dir.path().join(format!("prose-compile-{name}.1")).is_file(),
            "prose-compile-{name}(1) is referenced but not written"
        );
    }
    assert!(referenced >= 9, "{main}");
}
