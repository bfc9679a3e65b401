//! The durability policy (README, "What survives a kill, what survives a power cut"): a build
//! syncs nothing by default (the journal repairs a killed build from the page cache, which
//! outlives the process); `--durable` adds one `syncfs` once the staged files and the journal
//! are written and one at the end, never an `fsync` per file. Counted with `strace`.

use std::path::Path;
use std::process::Command;

use prose_compile::verify::{Outcome, require_or_skip};

use crate::support;

/// The calls that force data to the disk.
const SYNC_CALLS: &str = "trace=fsync,fdatasync,syncfs,sync,sync_file_range,msync";

/// Runs the binary under `strace` in `dir`; the sync calls it made, by name.
fn sync_calls(dir: &Path, args: &[&str]) -> Option<Vec<String>> {
    let strace = Command::new("strace").arg("-V").output();
    if !require_or_skip(&match strace {
        Ok(out) if out.status.success() => Outcome::Passed,
        _ => Outcome::Skipped {
            reason: "strace is missing (apt-get install -y strace)".into(),
        },
    }) {
        return None;
    }
    let log = dir.join("strace.log");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", SYNC_CALLS, "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_prose-compile"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .output()
        .expect("run strace");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(&log).expect("strace log");
    Some(
        log.lines()
            .filter_map(|line| {
                // "PID name(args) = result"
                let call = line.split_once(' ').map_or(line, |(_, rest)| rest);
                call.split_once('(').map(|(name, _)| name.trim().to_owned())
            })
            .collect(),
    )
}

#[test]
fn a_build_syncs_nothing_by_default_and_syncs_the_tree_twice_when_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("pod")).unwrap();
    std::fs::write(
        dir.path().join("pod/prose.toml"),
        "[server]\ndomain = \"example.org\"\n",
    )
    .unwrap();
    let build = |out: &str, extra: &[&str]| {
        let mut args = vec!["build", "--no-env", "pod", "-o", out];
        args.extend(extra);
        sync_calls(dir.path(), &args)
    };
    let Some(default) = build("fast", &[]) else {
        return;
    };
    assert_eq!(
        default,
        Vec::<String>::new(),
        "a default build syncs nothing"
    );
    let durable = build("durable", &["--durable"]).unwrap();
    assert_eq!(
        durable,
        ["syncfs", "syncfs"],
        "after staging and journaling, and at the end: never a sync per file"
    );
    // Up to date: nothing is written, but the tree is made durable (it may be a previous
    // build's that was not).
    assert_eq!(build("fast", &["--durable"]).unwrap(), ["syncfs"]);
    assert_eq!(
        support::read_tree(&dir.path().join("fast")),
        support::read_tree(&dir.path().join("durable")),
        "the policy changes when bytes reach the disk, never which bytes"
    );
}

#[test]
fn durable_cannot_be_asked_of_a_check() {
    support::cli()
        .file("pod/prose.toml", "[server]\ndomain = \"example.org\"\n")
        .args(&[
            "build",
            "--check",
            "--durable",
            "--no-env",
            "pod",
            "-o",
            "out",
        ])
        .run()
        .status(2)
        .stderr_has("--durable");
}

/// A Kubernetes build (its own phases, `pipeline/fleet.rs`) follows the same policy: each
/// pod's tree and the fleet root are synced twice with `--durable`, nothing without.
#[test]
fn a_kubernetes_fleet_build_follows_the_same_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["a", "b"] {
        std::fs::create_dir_all(dir.path().join(format!("pods/{name}"))).unwrap();
        std::fs::write(
            dir.path().join(format!("pods/{name}/prose.toml")),
            format!("[server]\ndomain = \"{name}.example\"\n"),
        )
        .unwrap();
    }
    let build = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "build",
            "--no-env",
            "--target",
            "kubernetes",
            "pods",
            "-o",
            out,
        ];
        args.extend(extra);
        sync_calls(dir.path(), &args)
    };
    let Some(default) = build("fast", &[]) else {
        return;
    };
    assert_eq!(
        default,
        Vec::<String>::new(),
        "a default build syncs nothing"
    );
    assert!(
        dir.path()
            .join("fast/kubernetes/kustomization.yaml")
            .exists(),
        "the fleet root is written"
    );
    let durable = build("durable", &["--durable"]).unwrap();
    assert_eq!(
        durable,
        vec!["syncfs"; 2 * 3],
        "two pods and the fleet root, twice each"
    );
}
