//! The repository workflow through the real binary: interrupted builds, hand edits,
//! `--check`, stale files, many pods, `init`.

use crate::support;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use support::prose_compile;

fn pod(dir: &Path, domain: &str) -> String {
    fs::create_dir_all(dir).expect("mkdir");
    let config = dir.join("prose.toml");
    fs::write(&config, format!("[server]\ndomain = \"{domain}\"\n")).expect("write");
    config.to_string_lossy().into_owned()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let ran = support::cli().args(args).run();
    (ran.status, ran.stdout, ran.stderr)
}

fn generated_only(tree: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    tree.into_iter()
        .filter(|(k, _)| !k.starts_with(".prose-compile"))
        .collect()
}

#[test]
fn an_interrupted_build_is_detected_and_completed_by_the_next_one() {
    interrupted_build_is_completed(&[]);
}

/// The same with `--durable` (the syncs add barriers; the protocol is the same).
#[test]
fn an_interrupted_durable_build_is_completed_by_the_next_one() {
    interrupted_build_is_completed(&["--durable"]);
}

/// Runs `args` with the fault hook aborting the build after `renames` renames: the generated
/// files of the tree at `out` as the kill left them (its journal is there).
fn kill_after_renames(args: &[&str], renames: usize, out: &Path) -> BTreeMap<String, Vec<u8>> {
    let killed = prose_compile(
        args,
        &[("PROSE_COMPILE_FAULT_AFTER_RENAMES", &renames.to_string())],
    );
    assert!(
        !killed.status.success(),
        "the fault hook must stop the build"
    );
    assert!(
        out.join(".prose-compile/pending").exists(),
        "the journal records the interrupted build"
    );
    generated_only(support::read_tree(out))
}

/// Runs `args`, which completes the build a kill interrupted.
fn complete_interrupted(args: &[&str]) {
    let (code, _, stderr) = run(args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("completed an interrupted build"),
        "{stderr}"
    );
}

/// A build into a fresh directory stages each top-level directory whole and renames it into
/// place: killed after 1, 2 and 3 renames, the tree holds whole directories of the new tree
/// (never part of one), and the next build completes it and leaves no staged directory.
#[test]
fn an_interrupted_fresh_build_leaves_whole_directories_and_is_completed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = pod(&dir.path().join("pod"), "new.example");
    let reference = dir.path().join("reference");
    let reference_s = reference.to_string_lossy().into_owned();
    assert_eq!(
        run(&["build", "--no-env", &config, "-o", &reference_s]).0,
        0
    );
    let new_tree = support::read_tree(&reference);
    let out = dir.path().join("out");
    let out_s = out.to_string_lossy().into_owned();
    for after in 1..=3 {
        let _ = fs::remove_dir_all(&out);
        let args = ["build", "--no-env", &config, "-o", &out_s];
        let mid = kill_after_renames(&args, after, &out);
        assert!(
            !mid.is_empty(),
            "after {after} renames, something is in place"
        );
        for (path, bytes) in &mid {
            assert_eq!(new_tree.get(path), Some(bytes), "{path}");
        }
        // Whole directories: a top-level directory in place holds all of its files.
        for path in mid.keys() {
            let Some((top, _)) = path.split_once('/') else {
                continue;
            };
            for expected in generated_only(new_tree.clone()).keys() {
                if expected.starts_with(&format!("{top}/")) {
                    assert!(
                        mid.contains_key(expected),
                        "{expected} missing beside {path}"
                    );
                }
            }
        }
        complete_interrupted(&args);
        assert_eq!(support::read_tree(&out), new_tree, "after {after} renames");
        let left: Vec<String> = fs::read_dir(out.join(".prose-compile"))
            .expect("work directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["inputs"], "only the record is left");
    }
}

/// Kills a build (`extra`: its options) after 1, 2 and 3 renames; the next one repairs it.
fn interrupted_build_is_completed(extra: &[&str]) {
    let build = |config: &str, out: &str| -> Vec<String> {
        ["build", "--no-env", config, "-o", out]
            .iter()
            .chain(extra)
            .map(|a| (*a).to_owned())
            .collect()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = pod(&dir.path().join("pod"), "old.example");
    let out = dir.path().join("out");
    let out_s = out.to_string_lossy().into_owned();
    assert_eq!(run(&["build", "--no-env", &config, "-o", &out_s]).0, 0);
    let old = generated_only(support::read_tree(&out));
    fs::write(&config, "[server]\ndomain = \"new.example\"\n").expect("write");
    let new_tree = {
        let other = tempfile::tempdir().expect("tempdir");
        let other_out = other.path().join("out");
        assert_eq!(
            run(&[
                "build",
                "--no-env",
                &config,
                "-o",
                &other_out.to_string_lossy()
            ])
            .0,
            0
        );
        support::read_tree(&other_out)
    };
    // Kill the build after 1, 2 and 3 renames: every file is old or new, never torn.
    for after in 1..=3 {
        let args = build(&config, &out_s);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mid = kill_after_renames(&args, after, &out);
        for (path, bytes) in &mid {
            let matches_old = old.get(path) == Some(bytes);
            let matches_new = new_tree.get(path) == Some(bytes);
            assert!(
                matches_old || matches_new,
                "{path} is neither the old nor the new version after a kill"
            );
        }
        // Checking reports the drift; building completes the job.
        assert_eq!(
            run(&["build", "--check", "--no-env", &config, "-o", &out_s]).0,
            1
        );
        complete_interrupted(&args);
        assert_eq!(
            support::read_tree(&out),
            new_tree,
            "after the repair the tree is exactly the new one"
        );
        // Go back to the old tree for the next round.
        fs::write(&config, "[server]\ndomain = \"old.example\"\n").expect("write");
        assert_eq!(run(&["build", "--no-env", &config, "-o", &out_s]).0, 0);
        fs::write(&config, "[server]\ndomain = \"new.example\"\n").expect("write");
    }
}

#[test]
fn check_diff_hand_edits_and_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = pod(&dir.path().join("pod"), "example.org");
    let out = dir.path().join("out");
    let out_s = out.to_string_lossy().into_owned();
    let (code, _, _) = run(&["build", "--check", "--no-env", &config, "-o", &out_s]);
    assert_eq!(code, 1, "nothing built yet: out of date");
    assert_eq!(run(&["build", "--no-env", &config, "-o", &out_s]).0, 0);
    assert_eq!(
        run(&["build", "--check", "--no-env", &config, "-o", &out_s]).0,
        0,
        "up to date"
    );
    assert!(
        !out.join(".prose-compile/pending").exists(),
        "no journal left"
    );
    assert!(
        out.join(support::INPUT_RECORD).exists(),
        "the input record is left for the next build"
    );

    // A change in prose.toml: --check fails with a diff; diff shows it and exits 0.
    fs::write(
        &config,
        "[server]\ndomain = \"example.org\"\nhttp_port = 5380\n",
    )
    .expect("write");
    let (code, stdout, _) = run(&["build", "--check", "--no-env", &config, "-o", &out_s]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("-http_ports = { 5280 }") && stdout.contains("+http_ports = { 5380 }"),
        "{stdout}"
    );
    let (code, diff_out, _) = run(&["diff", "--no-env", &config, "-o", &out_s]);
    assert_eq!(code, 0);
    assert_eq!(diff_out, stdout);

    // A hand edit stops the build, names the file, shows the edit and survives.
    let lua = out.join("etc/prosody/prosody.cfg.lua");
    let mut edited = fs::read_to_string(&lua).expect("lua");
    edited.push_str("-- my hand edit\n");
    fs::write(&lua, &edited).expect("edit");
    let (code, _, stderr) = run(&["build", "--no-env", &config, "-o", &out_s]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("prosody.cfg.lua was edited by hand"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--- my hand edit") || stderr.contains("-- my hand edit"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&lua).expect("lua"), edited);
    // --force overwrites it.
    assert_eq!(
        run(&["build", "--force", "--no-env", &config, "-o", &out_s]).0,
        0
    );
    assert!(
        !fs::read_to_string(&lua)
            .expect("lua")
            .contains("my hand edit")
    );
    assert_eq!(
        run(&["build", "--check", "--no-env", &config, "-o", &out_s]).0,
        0
    );
}

#[test]
fn stale_files_go_and_unrelated_files_stay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = pod(&dir.path().join("pod"), "example.org");
    let out = dir.path().join("out");
    let out_s = out.to_string_lossy().into_owned();
    fs::create_dir_all(out.join("etc/nginx/sites-available")).expect("mkdir");
    fs::write(
        out.join("etc/nginx/sites-available/default"),
        "operator's own site\n",
    )
    .expect("write");
    assert_eq!(run(&["build", "--no-env", &config, "-o", &out_s]).0, 0);
    assert!(
        out.join("etc/nginx/sites-available/prose.example.org")
            .exists()
    );
    // A new pod domain: the old site file is stale and goes; the operator's stays.
    fs::write(
        &config,
        "[server]\ndomain = \"example.org\"\n[pod.address]\ndomain = \"chat.example.org\"\n",
    )
    .expect("write");
    assert_eq!(run(&["build", "--no-env", &config, "-o", &out_s]).0, 0);
    assert!(
        !out.join("etc/nginx/sites-available/prose.example.org")
            .exists()
    );
    assert!(
        out.join("etc/nginx/sites-available/chat.example.org")
            .exists()
    );
    assert_eq!(
        fs::read_to_string(out.join("etc/nginx/sites-available/default")).expect("kept"),
        "operator's own site\n"
    );
}

#[test]
fn fifty_pods_build_and_one_broken_pod_does_not_stop_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    for i in 0..50 {
        pod(
            &repo.join(format!("pods/pod{i:02}")),
            &format!("pod{i:02}.example"),
        );
    }
    fs::write(
        repo.join("pods/pod17/prose.toml"),
        "[server]\ndomain = \"bad domain\"\n",
    )
    .expect("break one");
    let out = dir.path().join("out");
    let (code, _, stderr) = run(&[
        "build",
        "--no-env",
        &repo.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("built 50 pods: 49 changed, 0 unchanged, 1 invalid, 0 failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pod17/prose.toml"),
        "the broken pod is named: {stderr}"
    );
    for i in (0..50).filter(|i| *i != 17) {
        let lua = out.join(format!("pods/pod{i:02}/etc/prosody/prosody.cfg.lua"));
        assert!(lua.exists(), "{}", lua.display());
    }
    assert!(!out.join("pods/pod17").exists());
    // A second run changes nothing for the 49.
    let (_, _, stderr) = run(&[
        "build",
        "--no-env",
        &repo.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert!(
        stderr.contains("0 changed, 49 unchanged, 1 invalid"),
        "{stderr}"
    );
}

#[test]
fn init_writes_a_starter_that_checks_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("newpod");
    let target_s = target.to_string_lossy().into_owned();
    assert_eq!(run(&["init", &target_s, "--domain", "crisp.chat"]).0, 0);
    let text = fs::read_to_string(target.join("prose.toml")).expect("written");
    assert!(text.starts_with("#:schema ./prose.schema.json\n"));
    assert!(target.join("prose.schema.json").exists());
    assert_eq!(run(&["check", "--no-env", &target_s]).0, 0);
    fs::write(
        target.join("prose.toml"),
        "[server]\ndomain = \"mine.example\"\n",
    )
    .expect("write");
    assert_eq!(run(&["init", &target_s, "--domain", "crisp.chat"]).0, 2);
    assert_eq!(
        fs::read_to_string(target.join("prose.toml")).expect("kept"),
        "[server]\ndomain = \"mine.example\"\n"
    );
    assert_eq!(
        run(&[
            "init",
            &dir.path().join("x").to_string_lossy(),
            "--domain",
            "bad domain"
        ])
        .0,
        2
    );
}

/// The starter passes the CI gate the README recommends (`audit --deny warning`), checks
/// and builds; in a repository the schema is written once, at its root, and editors (taplo)
/// follow the starter's `#:schema` line to it.
#[test]
fn init_starter_passes_the_audit_gate_and_shares_one_schema_per_repository() {
    let ran = support::cli()
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .args(&["init", "pods/crisp", "--domain", "crisp.chat"])
        .run()
        .status(0)
        .stderr_has("wrote pods/crisp/prose.toml")
        .stderr_has("wrote prose.schema.json");
    let dir = ran.dir.expect("temp dir");
    let root = dir.path();
    let config = fs::read_to_string(root.join("pods/crisp/prose.toml")).expect("written");
    assert!(
        config.starts_with("#:schema ../../prose.schema.json\n"),
        "{config}"
    );
    assert_eq!(
        fs::read_to_string(root.join("prose.schema.json")).expect("schema"),
        prose_compile::config::schema::schema_text()
    );
    let in_root = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_prose-compile"))
            .current_dir(root)
            .env_clear()
            .args(args)
            .output()
            .expect("run");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = in_root(&["init", "pods/acme", "--domain", "acme.org"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stderr.contains("prose.schema.json"),
        "written once: {stderr}"
    );
    assert!(!root.join("pods/acme/prose.schema.json").exists());
    for pod in ["pods/crisp", "pods/acme"] {
        let (code, stderr) = in_root(&["audit", "--no-env", pod, "--deny", "warning"]);
        assert_eq!(code, 0, "{pod}: {stderr}");
        let (code, stderr) = in_root(&["build", "--no-env", pod, "-o", &format!("out/{pod}")]);
        assert_eq!(code, 0, "{pod}: {stderr}");
    }
    // The starter without its explicit privacy choices is what the gate refuses.
    let stripped: String = config
        .lines()
        .filter(|l| !l.starts_with("push_notification_with"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(root.join("pods/crisp/prose.toml"), stripped).expect("write");
    let (code, _) = in_root(&["audit", "--no-env", "pods/crisp", "--deny", "warning"]);
    assert_eq!(code, 1);
    let taplo = std::process::Command::new("taplo")
        .args(["check", "--no-auto-config", "prose.toml"])
        .current_dir(root.join("pods/acme"))
        .output();
    match taplo {
        Ok(out) => assert!(
            out.status.success(),
            "taplo: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => {
            prose_compile::verify::require_or_skip(&prose_compile::verify::Outcome::Skipped {
                reason: "taplo not installed (pip install taplo)".into(),
            });
        }
    }
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let (code, stdout, _) = run(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("prose-compile") && stdout.contains("--env-file"));
    let (code, stdout, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(".TH prose-compile"));
}

#[test]
fn templates_dir_overrides_a_shipped_template_and_its_output_is_still_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = pod(&dir.path().join("pod"), "example.org");
    let templates = dir.path().join("templates");
    fs::create_dir(&templates).expect("mkdir");
    let shipped =
        fs::read_to_string(support::repo().join("templates/host-meta.json.j2")).expect("template");
    fs::write(
        templates.join("host-meta.json.j2"),
        shipped.replace(
            "\"links\"",
            "\"subject\": \"acct:example.org\",\n  \"links\"",
        ),
    )
    .expect("write");
    let out = dir.path().join("out");
    let args = |out: &Path| {
        vec![
            "build".to_owned(),
            "--no-env".into(),
            config.clone(),
            "-o".into(),
            out.to_string_lossy().into_owned(),
            "--templates".into(),
            templates.to_string_lossy().into_owned(),
        ]
    };
    let run_with = |out: &Path| {
        let a = args(out);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&refs)
    };
    let (code, _, stderr) = run_with(&out);
    assert_eq!(code, 0, "{stderr}");
    let json = fs::read_to_string(out.join("var/www/default/.well-known/host-meta.json"))
        .expect("written");
    assert!(json.contains("acct:example.org"));
    // A template that renders malformed output stops the build before anything is written.
    fs::write(
        templates.join("host-meta.json.j2"),
        "{ \"links\": [ {{ websocket | json }} \n",
    )
    .expect("write");
    let broken_out = dir.path().join("broken");
    let (code, _, stderr) = run_with(&broken_out);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("host-meta.json` is not valid JSON") || stderr.contains("template"),
        "{stderr}"
    );
    assert!(!broken_out.exists());
}

#[test]
fn verify_runs_the_real_validators_over_a_built_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = pod(&dir.path().join("pod"), "example.org");
    let out = dir.path().join("out");
    assert_eq!(
        run(&["build", "--no-env", &config, "-o", &out.to_string_lossy()]).0,
        0
    );
    let (code, stdout, stderr) = run(&["--format", "json", "verify", &out.to_string_lossy()]);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let reports = report["reports"].as_array().expect("reports");
    assert!(reports.len() >= 7, "{stdout}");
    let required = std::env::var("PROSE_COMPILE_REQUIRE_VALIDATORS").is_ok_and(|v| v == "1");
    for r in reports {
        let result = r["result"].as_str().unwrap_or_default();
        assert_ne!(result, "fail", "{r}");
        if required {
            assert_eq!(result, "pass", "{r}");
        }
    }
    assert_eq!(code, 0, "{stderr}");
    // A broken file is reported as failed with the tool's output, and the exit code says so.
    fs::write(out.join("var/www/default/.well-known/host-meta"), "<XRD>").expect("break");
    let (code, stdout, _) = run(&["verify", &out.to_string_lossy()]);
    if stdout.contains("FAIL") {
        assert_eq!(code, 1);
        assert!(stdout.contains("host-meta"));
    } else {
        assert!(!required, "xmllint must be installed in CI: {stdout}");
    }
}

#[test]
fn a_pod_directory_with_control_characters_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    pod(&dir.path().join("evil\nname"), "example.org");
    let (code, _, stderr) = run(&["check", "--no-env", &dir.path().to_string_lossy()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("control characters") && stderr.contains("evil\\nname"),
        "{stderr}"
    );
}

/// `check` and `audit` run pods on every core (the build's work queue) and still report them
/// in path order, one broken pod among them: each pod's report is printed in turn.
#[test]
fn check_and_audit_of_many_pods_report_every_pod_in_order() {
    let mut cli = support::cli();
    for i in 0..30 {
        let domain = if i == 7 {
            "bad domain".to_owned()
        } else {
            format!("pod{i:02}.example")
        };
        cli = cli.file(
            &format!("pods/pod{i:02}/prose.toml"),
            format!("[server]\ndomain = \"{domain}\"\n"),
        );
    }
    let ran = cli
        .args(&["--format", "json", "check", "--no-env", "pods"])
        .run()
        .status(1);
    let dir = ran.dir.expect("the run's directory");
    let expected: Vec<(String, bool)> = (0..30)
        .map(|i| (format!("pods/pod{i:02}/prose.toml"), i != 7))
        .collect();
    let listed = |json: &serde_json::Value| -> Vec<(String, bool)> {
        json["pods"]
            .as_array()
            .expect("pods")
            .iter()
            .map(|pod| {
                (
                    pod["path"].as_str().expect("path").to_owned(),
                    pod["valid"].as_bool().expect("valid"),
                )
            })
            .collect()
    };
    let check: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON");
    assert_eq!(listed(&check), expected);
    let ran = support::cli()
        .in_dir(dir)
        .args(&["--format", "json", "audit", "--no-env", "pods"])
        .run();
    assert_eq!(listed(&ran.json()), expected, "{ran}");
    let human = support::cli()
        .in_dir(ran.dir.expect("the run's directory"))
        .args(&["audit", "--no-env", "pods"])
        .run();
    let order: Vec<usize> = (0..30)
        .filter(|i| *i != 7)
        .map(|i| {
            human
                .stdout
                .find(&format!("pods/pod{i:02}/prose.toml"))
                .unwrap_or_else(|| panic!("pod{i:02} is reported\n{human}"))
        })
        .collect();
    assert!(order.is_sorted(), "pods are reported in order\n{human}");
}
