//! A build of an up-to-date tree compares the digest of its inputs with the tree's input
//! record (`.prose-compile/inputs`) and the metadata of the tree's files, and stops there: the
//! pod is not loaded or rendered, its files are not read (issue 18, item 3). What it prints
//! is byte for byte what the full comparison prints; any change to an input, or to the tree,
//! takes the full path again. The tests' build says each pod it loads on standard error
//! (`PROSE_COMPILE_TRACE_LOADS`, feature `fault-injection`).

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support;

const TRACE: &str = "trace: loading ";

/// One run: its status, its output without the trace lines, and how many pods it loaded.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
    loaded: usize,
}

fn build(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_prose-compile"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("COLUMNS", "100")
        .env("PROSE_COMPILE_TRACE_LOADS", "1")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run prose-compile");
    let stderr = String::from_utf8_lossy(&out.stderr);
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: stderr
            .lines()
            .filter(|l| !l.starts_with(TRACE))
            .map(|l| format!("{l}\n"))
            .collect(),
        loaded: stderr.lines().filter(|l| l.starts_with(TRACE)).count(),
    }
}

/// Builds until a build skips the pod: the record written by a build is trusted only once
/// the clock has moved past the tree's last change (coarse timestamps), which the next full
/// build settles. Returns the skipping run.
#[track_caller]
fn settle(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    for _ in 0..5 {
        let run = build(dir, args, env);
        assert_eq!(run.status, 0, "{run:?}");
        if run.loaded == 0 {
            return run;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("an up-to-date tree is still loaded after 5 builds")
}

fn pod_dir(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("pod")).unwrap();
    fs::write(dir.path().join("pod/prose.toml"), config).unwrap();
    dir
}

#[test]
fn an_up_to_date_tree_is_not_loaded_and_the_report_is_the_same() {
    // The full example has warnings, notes and audit findings: everything a report holds.
    let config = fs::read_to_string(support::repo().join("examples/full/prose.toml")).unwrap();
    let dir = pod_dir(&config);
    // A value from the process environment (a note) and one from the sibling env file.
    fs::write(dir.path().join("pod/prose.env"), "PROSE_LOG__LEVEL=warn\n").unwrap();
    let env = [("PROSE_SERVER__DEFAULTS__TLS_PROFILE", "modern")];
    for flags in [
        &["--no-env"][..],
        &[],
        &["-q"],
        &["-v"],
        &["--format", "json"],
        &["--color", "always"],
    ] {
        let mut args = vec!["build", "pod", "-o", "out"];
        args.extend(flags);
        let first = build(dir.path(), &args, &env);
        assert!(first.status == 0 || first.status == 1, "{first:?}");
        let fast = settle(dir.path(), &args, &env);
        // The same build, made to take the full path by removing the record.
        fs::remove_file(dir.path().join("out").join(support::INPUT_RECORD)).unwrap();
        let full = build(dir.path(), &args, &env);
        assert_eq!(full.loaded, 1, "{flags:?}: no record, the pod is loaded");
        assert_eq!(
            Run { loaded: 0, ..full },
            fast,
            "{flags:?}: a skipped pod is reported as a loaded one"
        );
    }
    let fast = settle(dir.path(), &["build", "pod", "-o", "out"], &env);
    assert!(fast.stderr.contains("audit: 0 critical"), "{fast:?}");
    assert!(
        fast.stderr.contains("PROSE_SERVER__DEFAULTS__TLS_PROFILE"),
        "{fast:?}"
    );
    assert!(fast.stderr.contains("unchanged"), "{fast:?}");
    // `--check`, `diff` and `--durable` keep their meaning: they compare (or sync) in full.
    for flags in [&["--check"][..], &["--durable"]] {
        let mut args = vec!["build", "pod", "-o", "out"];
        args.extend(flags);
        let run = build(dir.path(), &args, &env);
        assert_eq!((run.status, run.loaded), (0, 1), "{flags:?}: {run:?}");
    }
    let diff = build(dir.path(), &["diff", "pod", "-o", "out"], &env);
    assert_eq!((diff.status, diff.loaded), (0, 1), "{diff:?}");
    // The record holds digests and metadata, never a value of the environment.
    let record = fs::read_to_string(dir.path().join("out").join(support::INPUT_RECORD)).unwrap();
    assert!(!record.contains("modern"), "{record}");
    let mode = fs::metadata(dir.path().join("out").join(support::INPUT_RECORD))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
}

/// Runs a program file this test has just written. A process another test thread started
/// while the file was open for writing holds that descriptor until its own exec, and until
/// then the kernel refuses to run the file (ETXTBSY): the run is tried again, for a second
/// at most.
fn run_just_written(command: impl Fn() -> Command) -> std::process::Output {
    for _ in 0..100 {
        match command().output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return result.unwrap(),
        }
    }
    panic!("the copied binary stayed busy (ETXTBSY) for a second")
}

#[test]
fn every_input_is_part_of_the_digest() {
    let dir = pod_dir("[server]\ndomain = \"example.org\"\n");
    let path = |p: &str| dir.path().join(p);
    fs::create_dir_all(path("tpl")).unwrap();
    fs::write(path("given.env"), "PROSE_LOG__LEVEL=info\n").unwrap();
    let base = [
        "build",
        "pod",
        "-o",
        "out",
        "--env-file",
        "given.env",
        "--templates",
        "tpl",
    ];
    let host_meta = fs::read_to_string(support::repo().join("templates/host-meta.j2")).unwrap();
    type Change<'a> = (
        &'a str,
        Box<dyn Fn() + 'a>,
        Vec<&'a str>,
        Vec<(&'a str, &'a str)>,
    );
    let changes: Vec<Change<'_>> = vec![
        (
            "a byte of prose.toml",
            Box::new(|| {
                fs::write(
                    path("pod/prose.toml"),
                    "[server]\ndomain = \"example.org\"\n#\n",
                )
                .unwrap()
            }),
            vec![],
            vec![],
        ),
        (
            "a sibling env file appears",
            Box::new(|| fs::write(path("pod/compose.env"), "\n").unwrap()),
            vec![],
            vec![],
        ),
        (
            "a sibling env file changes",
            Box::new(|| fs::write(path("pod/compose.env"), "\n\n").unwrap()),
            vec![],
            vec![],
        ),
        ("--no-env", Box::new(|| {}), vec!["--no-env"], vec![]),
        (
            "--env-file",
            Box::new(|| fs::write(path("given.env"), "PROSE_LOG__LEVEL=warn\n").unwrap()),
            vec![],
            vec![],
        ),
        (
            "a PROSE_ variable",
            Box::new(|| {}),
            vec![],
            vec![("PROSE_LOG__LEVEL", "debug")],
        ),
        (
            "another value of it",
            Box::new(|| {}),
            vec![],
            vec![("PROSE_LOG__LEVEL", "error")],
        ),
        (
            "--set",
            Box::new(|| {}),
            vec!["--set", "log.level=warn"],
            vec![],
        ),
        (
            "a template appears",
            Box::new(|| fs::write(path("tpl/host-meta.j2"), &host_meta).unwrap()),
            vec![],
            vec![],
        ),
        (
            "a template changes",
            Box::new(|| {
                fs::write(path("tpl/host-meta.j2"), host_meta.replace("XRD", "XRD ")).unwrap()
            }),
            vec![],
            vec![],
        ),
        (
            "--quiet (what is printed)",
            Box::new(|| {}),
            vec!["-q"],
            vec![],
        ),
    ];
    let mut previous: (Vec<&str>, Vec<(&str, &str)>) = (Vec::new(), Vec::new());
    for (what, change, flags, env) in &changes {
        let mut args = base.to_vec();
        args.extend(&previous.0);
        settle(dir.path(), &args, &previous.1);
        change();
        let mut args = base.to_vec();
        args.extend(flags);
        let run = build(dir.path(), &args, env);
        assert_eq!(run.loaded, 1, "{what}: the pod is loaded again\n{run:?}");
        previous = (flags.clone(), env.clone());
    }
    // Another build of the tool (here a copy of it: another inode), whatever its version
    // number says.
    settle(dir.path(), &base, &[]);
    let copy = dir.path().join("prose-compile-rebuilt");
    fs::copy(env!("CARGO_BIN_EXE_prose-compile"), &copy).unwrap();
    let out = run_just_written(|| {
        let mut command = Command::new(&copy);
        command
            .current_dir(dir.path())
            .env_clear()
            .env("COLUMNS", "100")
            .env("PROSE_COMPILE_TRACE_LOADS", "1")
            .args(base);
        command
    });
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(TRACE),
        "{out:?}"
    );
    // A variable the loader does not take is no input.
    settle(dir.path(), &base, &[]);
    let run = build(dir.path(), &base, &[("PROSE_COMPILE_UNRELATED", "1")]);
    assert_eq!(run.loaded, 0, "{run:?}");
}

#[test]
fn a_hand_edit_is_refused_whatever_times_and_size_it_keeps() {
    let dir = pod_dir("[server]\ndomain = \"example.org\"\n");
    let args = ["build", "--no-env", "pod", "-o", "out"];
    let file = dir.path().join("out/etc/prosody/prosody.cfg.lua");
    let reference = dir.path().join("reference");
    for editor_renames in [false, true] {
        settle(dir.path(), &args, &[]);
        let original = fs::read(&file).unwrap();
        // Same size, same mtime (set back with `touch -r`): only the ctime (or the inode)
        // tells.
        assert!(
            Command::new("cp")
                .arg("-p")
                .arg(&file)
                .arg(&reference)
                .status()
                .unwrap()
                .success()
        );
        let mut edited = original.clone();
        let at = edited.iter().position(|b| *b == b'=').unwrap();
        edited[at - 1] = b'\t';
        assert_ne!(edited, original);
        if editor_renames {
            let temp = dir.path().join("out/etc/prosody/.prosody.cfg.lua.swp");
            fs::write(&temp, &edited).unwrap();
            fs::rename(&temp, &file).unwrap();
        } else {
            fs::write(&file, &edited).unwrap();
        }
        assert!(
            Command::new("touch")
                .arg("-r")
                .arg(&reference)
                .arg(&file)
                .status()
                .unwrap()
                .success()
        );
        let (before, after) = (
            fs::metadata(&reference).unwrap(),
            fs::metadata(&file).unwrap(),
        );
        assert_eq!(
            (before.len(), before.modified().unwrap()),
            (after.len(), after.modified().unwrap())
        );
        let run = build(dir.path(), &args, &[]);
        assert_eq!((run.status, run.loaded), (2, 1), "{run:?}");
        assert!(run.stderr.contains("edited by hand"), "{run:?}");
        fs::write(&file, &original).unwrap();
    }
    // A file removed, or one more in a directory of the tree: the full comparison again
    // (which rewrites the missing file; the extra one is not the build's).
    settle(dir.path(), &args, &[]);
    fs::remove_file(&file).unwrap();
    let run = build(dir.path(), &args, &[]);
    assert_eq!((run.status, run.loaded), (0, 1), "{run:?}");
    assert!(run.stderr.contains("wrote 1 file"), "{run:?}");
    settle(dir.path(), &args, &[]);
    fs::write(dir.path().join("out/etc/prosody/extra.lua"), "x").unwrap();
    let run = build(dir.path(), &args, &[]);
    assert_eq!((run.status, run.loaded), (0, 1), "{run:?}");
}
