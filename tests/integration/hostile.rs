//! The hostile-input corpus: broken and hostile inputs beyond the front end's corpus
//! (`tests/cases/check/`). Each directory under `tests/cases/hostile/` holds a `case.toml` and
//! the files of a pod (`prose.toml`, maybe `prose.env` or other files), or names a generator
//! that writes a large input at run time (a 10 MB file, 10,000 nested tables, 100,000 keys: never
//! committed) and a setup that prepares a hostile output directory (a file, a symbolic link
//! pointing outside, a corrupt manifest, a directory the tool may not write).
//!
//! Each case runs the real binary in a scratch directory laid out as
//! `pod/` (the case's files), `sentinel/` (files outside the output tree) and `out/` (the
//! output tree), and asserts: the expected exit code; the expected messages; never a panic;
//! bounded wall time and peak memory (measured with `wait4`, and capped with `RLIMIT_AS`);
//! nothing changed outside `out/` (every file, mode and link under the scratch directory is
//! compared before and after); and, for a successful build, a tree the real validators accept.

use crate::support;

/// Issue 14: what running on a pull request in CI needs, one test per item, and the stress test.
mod pull_request;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prose_compile::verify::{self, Outcome, require_or_skip};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// The subcommand (`check`, `build`, `diff`, `explain`, `audit`, `verify`).
    #[serde(default = "check")]
    command: String,
    exit: i32,
    /// Substrings that must all appear in what the tool printed (stderr and stdout).
    messages: Vec<String>,
    /// Substrings that must appear nowhere in what it printed (a raw escape sequence, a secret).
    #[serde(default)]
    forbid: Vec<String>,
    /// The PATH argument, relative to the scratch directory (default `pod/prose.toml`).
    path: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// A generator writing a large input at run time (see [`generate`]).
    generate: Option<String>,
    /// A setup of the scratch directory (see [`setup`]).
    setup: Option<String>,
    /// Wall-time bound in seconds (default 10; the cases take far less).
    max_seconds: Option<f64>,
}

fn check() -> String {
    "check".into()
}

/// Peak memory any case may use.
const MAX_RSS_MIB: i64 = 512;
/// Address space a case gets: beyond it allocations fail (a runaway input aborts, not the
/// machine).
const ADDRESS_SPACE: u64 = 4 << 30;

struct Scratch {
    _dir: tempfile::TempDir,
    root: PathBuf,
    extra_args: Vec<String>,
    extra_env: Vec<(String, String)>,
    run_as_nobody: bool,
}

fn copy_case_files(case_dir: &Path, pod: &Path) {
    fs::create_dir_all(pod).unwrap();
    for entry in fs::read_dir(case_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name == "case.toml" || name == "expected.txt" {
            continue;
        }
        fs::copy(&path, pod.join(name)).unwrap();
    }
}

fn scratch(case_dir: &Path, case: &Case) -> Scratch {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    copy_case_files(case_dir, &root.join("pod"));
    let sentinel = root.join("sentinel");
    fs::create_dir_all(sentinel.join("staging")).unwrap();
    fs::write(sentinel.join("precious"), "do not touch\n").unwrap();
    fs::write(sentinel.join("staging/precious"), "nor this\n").unwrap();
    fs::write(sentinel.join("pending"), "not a journal\n").unwrap();
    let mut s = Scratch {
        _dir: dir,
        root,
        extra_args: Vec::new(),
        extra_env: Vec::new(),
        run_as_nobody: false,
    };
    if let Some(name) = &case.generate {
        generate(name, &mut s);
    }
    if let Some(name) = &case.setup {
        setup(name, &mut s);
    }
    s
}

// ---------------------------------------------------------------------------------------
// Generators: inputs too large to commit.

const HEAD: &str = "[server]\ndomain = \"example.org\"\n";

fn nested(open: &str, close: &str, n: usize) -> String {
    format!("{}1{}", open.repeat(n), close.repeat(n))
}

fn generate(name: &str, s: &mut Scratch) {
    let pod = s.root.join("pod");
    let toml = |text: String| fs::write(pod.join("prose.toml"), text).unwrap();
    match name {
        "file-10mb" => {
            let line = "# a comment line of a file far too large to be a pod's configuration\n";
            toml(format!(
                "{HEAD}{}",
                line.repeat(10 * 1024 * 1024 / line.len() + 1)
            ));
        }
        "string-10mb" => toml(format!(
            "{HEAD}[branding]\ncompany_name = \"{}\"\n",
            "x".repeat(10 << 20)
        )),
        "file-just-over-1mib" => toml(format!("{HEAD}{}", "#".repeat((1 << 20) - HEAD.len() + 1))),
        "file-exactly-1mib" => toml(format!(
            "{HEAD}{}\n",
            "#".repeat((1 << 20) - HEAD.len() - 1)
        )),
        "tables-10000" => toml(format!("{HEAD}[{}]\nx = 1\n", vec!["a"; 10_000].join("."))),
        "tables-33" => toml(format!(
            "{HEAD}[prosody.global.overrides.{}]\nx = 1\n",
            vec!["a"; 30].join(".")
        )),
        "inline-tables-10000" => toml(format!(
            "{HEAD}[prosody.global.overrides]\nx = {}\n",
            nested("{a = ", "}", 10_000)
        )),
        "arrays-10000" => toml(format!(
            "{HEAD}[prosody.global.overrides]\nx = {}\n",
            nested("[", "]", 10_000)
        )),
        "dotted-key-10000" => toml(format!("{HEAD}{} = 1\n", vec!["a"; 10_000].join("."))),
        "keys-100000" => {
            // Short keys, so the file stays under the size limit and the key limit is hit.
            let keys: String = (0..100_000).map(|i| format!("k{i:x}=1\n")).collect();
            toml(format!("{HEAD}[prosody.global.overrides]\n{keys}"))
        }
        "array-items-20000" => {
            let items = vec!["\"a.example\""; 20_000].join(",");
            toml(format!(
                "{HEAD}[server.defaults]\nfederation_friendly_servers = [{items}]\n"
            ))
        }
        "unknown-keys-5000" => {
            let keys: String = (0..5_000).map(|i| format!("unknown_{i} = 1\n")).collect();
            toml(format!("{HEAD}{keys}"))
        }
        "long-key-70k" => toml(format!(
            "{HEAD}[prosody.global.overrides]\n{} = 1\n",
            "k".repeat(70 << 10)
        )),
        "long-string-70k" => toml(format!(
            "{HEAD}[prosody.global.overrides]\nmotd_text = \"{}\"\n",
            "m".repeat(70 << 10)
        )),
        "env-file-10mb" => {
            toml(HEAD.to_owned());
            let line = "# padding of an env file far too large\n";
            fs::write(
                pod.join("prose.env"),
                line.repeat(10 * 1024 * 1024 / line.len()),
            )
            .unwrap();
        }
        "env-file-2000-lines" => {
            toml(HEAD.to_owned());
            let lines: String = (0..2_000)
                .map(|i| format!("PROSE_LOG__LEVEL=debug # {i}\n"))
                .collect();
            fs::write(pod.join("prose.env"), lines).unwrap();
        }
        "env-vars-1001" => {
            toml(HEAD.to_owned());
            for i in 0..1_001 {
                s.extra_env
                    .push((format!("PROSE_NOT_A_KEY_{i}"), "1".into()));
            }
        }
        "env-value-100k" => {
            toml(HEAD.to_owned());
            s.extra_env.push((
                "PROSE_PUBLIC_CONTACTS__DEFAULT".into(),
                format!("mailto:{}@example.org", "a".repeat(100 << 10)),
            ));
        }
        "sets-1001" => {
            toml(HEAD.to_owned());
            for i in 0..1_001 {
                s.extra_args.push("--set".into());
                s.extra_args.push(format!("server.http_port={}", 5000 + i));
            }
        }
        "set-value-100k" => {
            toml(HEAD.to_owned());
            s.extra_args.push("--set".into());
            s.extra_args.push(format!(
                "prosody.global.overrides.motd_text=\"{}\"",
                "m".repeat(100 << 10)
            ));
        }
        "set-inline-10000" => {
            toml(HEAD.to_owned());
            s.extra_args.push("--set".into());
            s.extra_args.push(format!(
                "prosody.global.overrides.x={}",
                nested("{a=", "}", 10_000)
            ));
        }
        "set-path-10000" => {
            toml(HEAD.to_owned());
            s.extra_args.push("--set".into());
            s.extra_args
                .push(format!("{}=1", vec!["a"; 10_000].join(".")));
        }
        other => panic!("unknown generator {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// Setups: hostile output directories and odd files.

/// A `SHA256SUMS`/journal line for `path` with some digest.
fn manifest_line(path: &str) -> String {
    format!("{}  {path}\n", "0".repeat(64))
}

fn setup(name: &str, s: &mut Scratch) {
    let root = s.root.clone();
    let out = root.join("out");
    let work = out.join(".prose-compile");
    match name {
        "output-is-file" => fs::write(&out, "a file\n").unwrap(),
        "output-parent-is-file" => fs::write(root.join("blocker"), "a file\n").unwrap(),
        "output-symlink-outside" => symlink("sentinel", &out).unwrap(),
        "output-subdir-symlink-outside" => {
            fs::create_dir_all(&out).unwrap();
            symlink("../sentinel", out.join("etc")).unwrap();
        }
        "output-file-symlink-outside" => {
            fs::create_dir_all(out.join("etc/prosody")).unwrap();
            symlink(
                root.join("sentinel/precious"),
                out.join("etc/prosody/prosody.cfg.lua"),
            )
            .unwrap();
        }
        "output-file-is-directory" => {
            fs::create_dir_all(out.join("etc/prosody/prosody.cfg.lua/inside")).unwrap();
        }
        "work-dir-symlink-outside" => {
            fs::create_dir_all(&out).unwrap();
            symlink("../sentinel", &work).unwrap();
        }
        "work-dir-is-file" => {
            fs::create_dir_all(&out).unwrap();
            fs::write(&work, "a file\n").unwrap();
        }
        "manifest-garbage" => {
            fs::create_dir_all(&out).unwrap();
            fs::write(out.join("SHA256SUMS"), "this is not a manifest\n").unwrap();
        }
        "manifest-not-utf8" => {
            fs::create_dir_all(&out).unwrap();
            fs::write(out.join("SHA256SUMS"), b"\xff\xfe\x00garbage\n").unwrap();
        }
        "manifest-dotdot" => {
            fs::create_dir_all(&out).unwrap();
            fs::write(
                out.join("SHA256SUMS"),
                manifest_line("../sentinel/precious"),
            )
            .unwrap();
        }
        "manifest-absolute" => {
            fs::create_dir_all(&out).unwrap();
            fs::write(out.join("SHA256SUMS"), manifest_line("/etc/passwd")).unwrap();
        }
        "manifest-nested-dotdot" => {
            fs::create_dir_all(&out).unwrap();
            fs::write(
                out.join("SHA256SUMS"),
                manifest_line("etc/../../sentinel/precious"),
            )
            .unwrap();
        }
        "manifest-stale-symlink" => {
            // The manifest claims a file the build would now remove as stale; it is a link out.
            fs::create_dir_all(out.join("etc")).unwrap();
            symlink(root.join("sentinel/precious"), out.join("etc/old.conf")).unwrap();
            let digest = prose_compile::output::sha256_hex(b"do not touch\n");
            fs::write(out.join("SHA256SUMS"), format!("{digest}  etc/old.conf\n")).unwrap();
        }
        "manifest-stale-under-symlinked-dir" => {
            fs::create_dir_all(&out).unwrap();
            symlink("../sentinel", out.join("old")).unwrap();
            let digest = prose_compile::output::sha256_hex(b"do not touch\n");
            fs::write(out.join("SHA256SUMS"), format!("{digest}  old/precious\n")).unwrap();
        }
        "output-file-is-fifo" => {
            fs::create_dir_all(out.join("etc/prosody")).unwrap();
            mkfifo(&out.join("etc/prosody/prosody.cfg.lua"));
        }
        "output-file-huge" => {
            // A sparse 8 GiB file where a generated file goes, listed in no manifest.
            fs::create_dir_all(out.join("etc/prosody")).unwrap();
            let file = fs::File::create(out.join("etc/prosody/prosody.cfg.lua")).unwrap();
            file.set_len(8 << 30).unwrap();
        }
        "manifest-endless" => {
            fs::create_dir_all(&out).unwrap();
            symlink("/dev/zero", out.join("SHA256SUMS")).unwrap();
        }
        "journal-endless" => {
            fs::create_dir_all(&work).unwrap();
            symlink("/dev/zero", work.join("pending")).unwrap();
        }
        "journal-garbage" => {
            fs::create_dir_all(&work).unwrap();
            fs::write(work.join("pending"), "garbage\x00\x01\n").unwrap();
        }
        "journal-dotdot" => {
            fs::create_dir_all(&work).unwrap();
            fs::write(
                work.join("pending"),
                manifest_line("../../sentinel/precious"),
            )
            .unwrap();
        }
        "staging-symlink-outside" => {
            // A journal left behind, and a staging directory that is a link out.
            fs::create_dir_all(&work).unwrap();
            symlink("../../sentinel/staging", work.join("staging")).unwrap();
        }
        "unwritable-output" => {
            fs::create_dir_all(&out).unwrap();
            if is_root() {
                // Root ignores permissions: run the tool as `nobody` instead, with the scratch
                // directory readable by all and the output directory still owned by root.
                s.run_as_nobody = true;
                for dir in [root.as_path(), &root.join("pod"), &out] {
                    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
                }
            } else {
                fs::set_permissions(&out, fs::Permissions::from_mode(0o555)).unwrap();
            }
        }
        "sibling-env-fifo" => mkfifo(&root.join("pod/prose.env")),
        "sibling-env-link-to-secret" => {
            fs::write(
                root.join("sentinel/shadow"),
                "root:$y$j9T$ShadowHashThatMustNotLeak:19000:0:99999:7:::\n",
            )
            .unwrap();
            symlink("../sentinel/shadow", root.join("pod/prose.env")).unwrap();
        }
        "config-is-fifo" => {
            let _ = fs::remove_file(root.join("pod/prose.toml"));
            mkfifo(&root.join("pod/prose.toml"));
        }
        "config-symlink-dev-zero" => {
            let _ = fs::remove_file(root.join("pod/prose.toml"));
            symlink("/dev/zero", root.join("pod/prose.toml")).unwrap();
        }
        "pods-hostile-directory-names" => {
            // Several pods whose directory names (the label in every generated header) carry
            // each format's breakout characters.
            let names = [
                "q\"uote's",
                "dollar$HOME%n%%",
                "comment --> <!-- ]] --[[",
                "semi;colon{brace}#",
                "back\\slash\\",
            ];
            let config = fs::read(root.join("pod/prose.toml")).unwrap();
            for name in names {
                let dir = root.join("pods").join(name);
                fs::create_dir_all(&dir).unwrap();
                fs::write(dir.join("prose.toml"), &config).unwrap();
            }
        }
        "pods-newline-directory-name" => {
            // The badly named pod fails; the good one beside it is built.
            let config = fs::read(root.join("pod/prose.toml")).unwrap();
            for name in ["new\nline\u{1b}[2J", "good"] {
                let dir = root.join("pods").join(name);
                fs::create_dir_all(&dir).unwrap();
                fs::write(dir.join("prose.toml"), &config).unwrap();
            }
        }
        other => panic!("unknown setup {other}"),
    }
}

fn mkfifo(path: &Path) {
    let path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
}

fn is_root() -> bool {
    // SAFETY: no arguments, no side effects.
    unsafe { libc::geteuid() == 0 }
}

// ---------------------------------------------------------------------------------------
// Running a case.

/// A snapshot of everything under the scratch directory except the output tree: path ->
/// kind, mode and contents (or link target).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let Ok(entry) = entry else { continue };
        let rel = entry.path().strip_prefix(root).unwrap().to_owned();
        if rel.starts_with("out") && rel != Path::new("out") {
            continue;
        }
        let meta = entry.path().symlink_metadata().unwrap();
        let mode = meta.permissions().mode();
        let what = if meta.file_type().is_symlink() {
            format!("link -> {}", fs::read_link(entry.path()).unwrap().display())
        } else if meta.is_file() {
            format!(
                "file {mode:o} {}",
                prose_compile::output::sha256_hex(&fs::read(entry.path()).unwrap())
            )
        } else if meta.is_dir() {
            if rel == Path::new("out") {
                continue; // created or filled by the build
            }
            format!("dir {mode:o}")
        } else {
            format!("other {mode:o}")
        };
        out.insert(rel, what);
    }
    out
}

struct Run {
    code: Option<i32>,
    signal: Option<i32>,
    output: String,
    elapsed: Duration,
    max_rss_kib: i64,
}

fn run(case: &Case, s: &Scratch) -> Run {
    let binary = env!("CARGO_BIN_EXE_prose-compile");
    let mut cmd = if s.run_as_nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(binary);
        c
    } else {
        Command::new(binary)
    };
    let subst = |text: &str| text.replace("{scratch}", &s.root.to_string_lossy());
    let path = case.path.clone().unwrap_or_else(|| "pod/prose.toml".into());
    cmd.current_dir(&s.root)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("COLUMNS", "100")
        .args(["--color", "never", &case.command, &subst(&path)]);
    if matches!(case.command.as_str(), "build" | "diff") && !case.args.iter().any(|a| a == "-o") {
        cmd.args(["-o", "out"]);
    }
    cmd.args(case.args.iter().map(|a| subst(a)))
        .args(&s.extra_args);
    for (k, v) in &case.env {
        cmd.env(k, subst(v));
    }
    for (k, v) in &s.extra_env {
        cmd.env(k, v);
    }
    let logs = tempfile::tempdir().unwrap();
    let stdout = fs::File::create(logs.path().join("stdout")).unwrap();
    let stderr = fs::File::create(logs.path().join("stderr")).unwrap();
    cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
    let start = Instant::now();
    // Reaped below with `wait4` (which also gives the peak memory), not `Child::wait`.
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().expect("run prose-compile");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value to be filled by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let deadline = Duration::from_secs(60);
    loop {
        // SAFETY: pid is our child; status and usage are valid for writes.
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if done == pid {
            break;
        }
        assert!(done == 0, "wait4 failed");
        if start.elapsed() > deadline {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed();
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else {
        (None, Some(libc::WTERMSIG(status)))
    };
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&fs::read(logs.path().join("stderr")).unwrap()),
        String::from_utf8_lossy(&fs::read(logs.path().join("stdout")).unwrap())
    );
    Run {
        code,
        signal,
        output,
        elapsed,
        max_rss_kib: usage.ru_maxrss,
    }
}

fn run_case(dir: &Path, report: &mut Vec<String>) -> Result<(), String> {
    let case: Case =
        toml::from_str(&fs::read_to_string(dir.join("case.toml")).map_err(|e| e.to_string())?)
            .map_err(|e| format!("case.toml: {e}"))?;
    let s = scratch(dir, &case);
    let before = snapshot(&s.root);
    let result = run(&case, &s);
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    report.push(format!(
        "{name:<44} exit {:>4} {:>7.0} ms {:>6.1} MiB",
        result.code.map_or("sig".into(), |c| c.to_string()),
        result.elapsed.as_secs_f64() * 1000.0,
        result.max_rss_kib as f64 / 1024.0
    ));
    let shown = || {
        let mut text: String = result.output.chars().take(3000).collect();
        if result.output.len() > text.len() {
            text.push_str("\n[…]");
        }
        text
    };
    if result.output.contains("panicked") || result.code == Some(101) {
        return Err(format!("PANIC:\n{}", shown()));
    }
    if let Some(signal) = result.signal {
        return Err(format!("killed by signal {signal}:\n{}", shown()));
    }
    if result.code != Some(case.exit) {
        return Err(format!(
            "exit code {:?}, expected {}:\n{}",
            result.code,
            case.exit,
            shown()
        ));
    }
    for message in &case.messages {
        if !result.output.contains(message.as_str()) {
            return Err(format!("no {message:?} in the output:\n{}", shown()));
        }
    }
    for forbidden in &case.forbid {
        if result.output.contains(forbidden.as_str()) {
            return Err(format!("{forbidden:?} appears in the output:\n{}", shown()));
        }
    }
    let max = Duration::from_secs_f64(case.max_seconds.unwrap_or(10.0));
    if result.elapsed > max {
        return Err(format!("took {:?} (bound {max:?})", result.elapsed));
    }
    if result.max_rss_kib > MAX_RSS_MIB * 1024 {
        return Err(format!(
            "peak memory {} MiB (bound {MAX_RSS_MIB} MiB)",
            result.max_rss_kib / 1024
        ));
    }
    let after = snapshot(&s.root);
    if before != after {
        let changed: Vec<String> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| format!("{}: {:?} -> {:?}", k.display(), before.get(k), after.get(k)))
            .collect();
        return Err(format!(
            "files outside the output tree changed:\n{}",
            changed.join("\n")
        ));
    }
    if case.command == "build" && case.exit == 0 {
        verify_outputs(&s.root.join("out"))?;
    }
    Ok(())
}

/// Every tree under `out` (one per manifest) passes the real validators.
fn verify_outputs(out: &Path) -> Result<(), String> {
    let mut roots = Vec::new();
    for entry in walkdir::WalkDir::new(out)
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_name() == "SHA256SUMS" {
            roots.push(entry.path().parent().unwrap().to_owned());
        }
    }
    if roots.is_empty() {
        return Err("the build wrote no tree".into());
    }
    for root in roots {
        for report in verify::verify_tree(&root) {
            match &report.outcome {
                Outcome::Failed { output } => {
                    return Err(format!(
                        "{} fails {}: {output}",
                        report.file.display(),
                        report.tool
                    ));
                }
                skipped @ Outcome::Skipped { .. } => {
                    require_or_skip(skipped);
                }
                Outcome::Passed => {}
            }
        }
    }
    Ok(())
}

#[test]
fn every_hostile_input_is_refused_or_handled_safely() {
    let root = support::repo().join("tests/cases/hostile");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .expect("tests/cases/hostile")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    // `HOSTILE_CASE=substring` runs only the matching cases (while working on one).
    if let Ok(only) = std::env::var("HOSTILE_CASE") {
        dirs.retain(|d| d.to_string_lossy().contains(&only));
        assert!(!dirs.is_empty(), "no case matches {only:?}");
    } else {
        assert!(
            dirs.len() >= 60,
            "the hostile corpus must keep at least 60 cases, found {}",
            dirs.len()
        );
    }
    if dirs.is_empty() {
        return;
    }
    let mut report = Vec::new();
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            run_case(dir, &mut report).err().map(|e| {
                format!(
                    "{}: {e}",
                    dir.file_name().unwrap_or_default().to_string_lossy()
                )
            })
        })
        .collect();
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "hostile corpus:\n{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
