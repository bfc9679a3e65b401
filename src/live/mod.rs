//! Live proof of a built tree (`prose-compile verify --live`, and the live test suite): the
//! generated Prosody and nginx, started in a network namespace that has only loopback, talked
//! to with real clients.
//!
//! The checks are the Python suite in `suite/` (embedded in the binary, run with the machine's
//! `python3` and two PyPI packages, [`suite::PYTHON_PACKAGES`]): an XMPP client (slixmpp), a
//! WebSocket client, `openssl s_client` for TLS, raw sockets and `http.client` for the rest.
//! Python because those clients exist there, mature, and the checks are glue between them;
//! Rust drives the run, bounds it and reports it. A run has two stages:
//!
//! 1. `prep.py`, outside any namespace: copies the tree into a temporary directory, rewrites
//!    only environment paths in the copies (pid file, admin socket, certificates, web root;
//!    each rewrite is reported), makes a throwaway CA and a certificate for every generated
//!    name, and writes the harness' own files (nginx main configuration, /etc/hosts, a DNS
//!    server's configuration, a peer Prosody for s2s);
//! 2. `run.py`, as the first process of a fresh network, mount and PID namespace
//!    (`unshare --net --mount --pid --fork --kill-child --mount-proc`): only `lo` exists, so
//!    nothing leaves the machine and the generated ports are used unchanged; every server it
//!    starts is stopped by its PID, and the kernel ends whatever is left when the namespace's
//!    first process ends, which the deadline here enforces.
//!
//! Every check is a named [`Check`] with a [`Status`]; `NotAvailable` (a Prose module that is
//! not packaged here, say) is never a pass.

mod prerequisites;
mod suite;

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub use prerequisites::{Missing, check as missing_prerequisites, find_program};
pub use suite::PYTHON_PACKAGES;

/// The groups of checks `Options::only` may name (`run.py`'s list).
pub const GROUPS: &[&str] = &[
    "config", "reload", "c2s", "xmpp", "upload", "s2s", "http", "ws", "bosh", "tls", "exposure",
];

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Fail,
    /// What this machine cannot judge (a module that is not installed): never a pass.
    NotAvailable,
    /// A measurement with no verdict.
    Info,
    /// Does not apply to this tree (BOSH when it is off).
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotAvailable => "NOTAVAIL",
            Status::Info => "INFO",
            Status::Skip => "SKIP",
        }
    }

    fn parse(word: &str) -> Option<Status> {
        Some(match word {
            "PASS" => Status::Pass,
            "FAIL" => Status::Fail,
            "NOTAVAIL" => Status::NotAvailable,
            "INFO" => Status::Info,
            "SKIP" => Status::Skip,
            _ => return None,
        })
    }
}

/// One named check and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// e.g. `c2s.starttls_required`, `tls[nginx prose.example.org:443]`.
    pub id: String,
    pub status: Status,
    pub detail: String,
}

/// What the harness did: a rewrite, a mount, a certificate, a process started or stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// `REWRITE`, `MOUNT`, `CERT`, `ADD`, `ENV`, `START`, `STOP`, `PREP`, `DONE`, `OUTPUT`.
    pub kind: String,
    pub text: String,
}

/// What a run reports as it goes.
#[derive(Debug, Clone)]
pub enum Event {
    Note(Note),
    Check(Check),
}

/// The key type of the throwaway certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// RSA 2048: every profile can use it; the checks judge the `*-RSA-*` ciphers.
    #[default]
    Rsa,
    /// ECDSA P-256: the `*-ECDSA-*` ciphers.
    Ec,
}

/// How to run the checks on one tree.
#[derive(Debug, Clone)]
pub struct Options {
    /// A tree built by `prose-compile build` (rooted like `/`: `etc/prosody/…`).
    pub tree: PathBuf,
    /// The Python that has [`PYTHON_PACKAGES`].
    pub python: PathBuf,
    /// A directory holding (or to hold) the throwaway CA, shared by several runs so it is made
    /// once; default: one in the run's directory.
    pub ca: Option<PathBuf>,
    /// A directory of Prose's own Prosody modules (e.g. copied out of the Pod Server image),
    /// used instead of the generated `plugin_paths`, so that they are judged too.
    pub modules: Option<PathBuf>,
    pub keytype: KeyType,
    /// Only these groups of checks (`run.py`'s list); empty: all.
    pub only: Vec<String>,
    /// Keep the run's directory (copies, logs) instead of removing it.
    pub keep: bool,
    /// The whole run is stopped after this long.
    pub deadline: Duration,
}

impl Options {
    pub fn new(tree: impl Into<PathBuf>) -> Options {
        Options {
            tree: tree.into(),
            python: PathBuf::from("python3"),
            ca: None,
            modules: None,
            keytype: KeyType::Rsa,
            only: Vec::new(),
            keep: false,
            deadline: Duration::from_secs(240),
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct Report {
    pub tree: PathBuf,
    pub checks: Vec<Check>,
    pub notes: Vec<Note>,
    pub elapsed: Duration,
    /// The run's directory, when kept.
    pub kept: Option<PathBuf>,
}

impl Report {
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    pub fn failed(&self) -> bool {
        self.count(Status::Fail) > 0
    }

    /// The check named `id`.
    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// Why a run could not start.
#[derive(Debug)]
pub enum Error {
    /// The machine lacks these.
    Prerequisites(Vec<Missing>),
    /// The tree is not a built tree, or the run's directory could not be made.
    Setup(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Prerequisites(missing) => {
                let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
                write!(f, "the live checks need: {}", list.join("; "))
            }
            Error::Setup(message) => f.write_str(message),
        }
    }
}

/// Runs every check on `options.tree`, calling `on_event` for each note and result as it comes.
pub fn run(options: &Options, on_event: &mut dyn FnMut(&Event)) -> Result<Report, Error> {
    if let Some(unknown) = options.only.iter().find(|g| !GROUPS.contains(&g.as_str())) {
        return Err(Error::Setup(format!(
            "no group of checks is named `{unknown}`; the groups: {}",
            GROUPS.join(", ")
        )));
    }
    if !options.tree.join("etc/prosody/prosody.cfg.lua").is_file() {
        return Err(Error::Setup(format!(
            "{}: no etc/prosody/prosody.cfg.lua (give a tree built by `prose-compile build`)",
            options.tree.display()
        )));
    }
    let missing = missing_prerequisites(&options.python);
    if !missing.is_empty() {
        return Err(Error::Prerequisites(missing));
    }
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("prose-live-")
        .tempdir()
        .map_err(|e| Error::Setup(format!("cannot make the run's directory: {e}")))?;
    let work = dir.path().to_owned();
    let suite_dir = work.join("suite");
    suite::write(&suite_dir).map_err(|e| Error::Setup(format!("cannot write the suite: {e}")))?;
    fs::create_dir_all(work.join("log")).map_err(|e| Error::Setup(e.to_string()))?;
    let mut report = Report {
        tree: options.tree.clone(),
        checks: Vec::new(),
        notes: Vec::new(),
        elapsed: Duration::ZERO,
        kept: None,
    };
    let mut sink = |event: Event| {
        on_event(&event);
        match event {
            Event::Note(n) => report.notes.push(n),
            Event::Check(c) => report.checks.push(c),
        }
    };
    let deadline = started + options.deadline;

    let mut prep = Command::new(&options.python);
    prep.arg("-B")
        .arg(suite_dir.join("prep.py"))
        .arg("--tree")
        .arg(absolute(&options.tree))
        .arg("--work")
        .arg(&work)
        .args(["--keytype", key_name(options.keytype)]);
    if let Some(ca) = &options.ca {
        prep.arg("--ca").arg(absolute(ca));
    }
    if let Some(modules) = &options.modules {
        prep.arg("--modules").arg(absolute(modules));
    }
    let prepared = stage(&mut prep, deadline, &work.join("log/prep.err"), &mut sink);
    if judge_stage(
        "harness.prep",
        prepared,
        &work.join("log/prep.err"),
        &mut sink,
    ) {
        let mut live = Command::new("unshare");
        live.args([
            "--net",
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--propagation",
            "private",
            "--",
        ])
        .arg(&options.python)
        .arg("-B")
        .arg(suite_dir.join("run.py"))
        .arg(&work);
        if !options.only.is_empty() {
            live.arg("--only").arg(options.only.join(","));
        }
        let ran = stage(&mut live, deadline, &work.join("log/run.err"), &mut sink);
        judge_stage("harness.run", ran, &work.join("log/run.err"), &mut sink);
    }
    report.elapsed = started.elapsed();
    if options.keep {
        report.kept = Some(dir.keep());
    }
    Ok(report)
}

fn key_name(keytype: KeyType) -> &'static str {
    match keytype {
        KeyType::Rsa => "rsa",
        KeyType::Ec => "ec",
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// How a stage ended.
enum Ended {
    Exited(Option<i32>),
    TimedOut,
    NotStarted(io::Error),
}

/// Runs one stage, turning each line of its standard output into an event, its standard error
/// into `log`; kills it at `deadline` (for the namespace stage, `--kill-child` then ends the
/// namespace's first process and the kernel every other one).
fn stage(cmd: &mut Command, deadline: Instant, log: &Path, sink: &mut dyn FnMut(Event)) -> Ended {
    let stderr = match File::create(log) {
        Ok(f) => f,
        Err(e) => return Ended::NotStarted(e),
    };
    let mut child = match cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .env("PYTHONUNBUFFERED", "1")
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Ended::NotStarted(e),
    };
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut timed_out = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => sink(parse_line(&line)),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait();
    let _ = reader.join();
    // Lines read after a kill still count.
    while let Ok(line) = rx.try_recv() {
        sink(parse_line(&line));
    }
    match status {
        _ if timed_out => Ended::TimedOut,
        Ok(status) => Ended::Exited(status.code()),
        Err(e) => Ended::NotStarted(e),
    }
}

/// A FAIL named `id` when the stage did not end well (with the end of its error output);
/// whether the run may go on.
fn judge_stage(id: &str, ended: Ended, log: &Path, sink: &mut dyn FnMut(Event)) -> bool {
    let tail = || {
        let text = fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    let detail = match ended {
        Ended::Exited(Some(0)) => return true,
        Ended::Exited(code) => format!(
            "exited with status {}: {}",
            code.map_or("(killed)".to_owned(), |c| c.to_string()),
            tail()
        ),
        Ended::TimedOut => format!("stopped at the deadline: {}", tail()),
        Ended::NotStarted(e) => format!("could not run: {e}"),
    };
    sink(Event::Check(Check {
        id: id.to_owned(),
        status: Status::Fail,
        detail,
    }));
    false
}

/// One line of the suite's output: a JSON event, or plain text (kept as an `OUTPUT` note).
fn parse_line(line: &str) -> Event {
    let plain = || {
        Event::Note(Note {
            kind: "OUTPUT".into(),
            text: line.to_owned(),
        })
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
        return plain();
    };
    let text = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    match value.get("type").and_then(|t| t.as_str()) {
        Some("note") => Event::Note(Note {
            kind: text("kind"),
            text: text("text"),
        }),
        Some("result") => match Status::parse(&text("status")) {
            Some(status) => Event::Check(Check {
                id: text("check"),
                status,
                detail: text("detail"),
            }),
            None => plain(),
        },
        _ => plain(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_line_is_a_check_and_anything_else_a_note() {
        let Event::Check(c) = parse_line(
            r#"{"type": "result", "check": "ws.close", "status": "NOTAVAIL", "detail": "d", "t": 1}"#,
        ) else {
            panic!("not a check")
        };
        assert_eq!(
            (c.id.as_str(), c.status, c.detail.as_str()),
            ("ws.close", Status::NotAvailable, "d")
        );
        let Event::Note(n) = parse_line(r#"{"type": "note", "kind": "REWRITE", "text": "a -> b"}"#)
        else {
            panic!("not a note")
        };
        assert_eq!((n.kind.as_str(), n.text.as_str()), ("REWRITE", "a -> b"));
        for other in [
            "Traceback (most recent call last):",
            r#"{"type": "result", "status": "MAYBE"}"#,
        ] {
            let Event::Note(n) = parse_line(other) else {
                panic!("{other}")
            };
            assert_eq!((n.kind.as_str(), n.text.as_str()), ("OUTPUT", other));
        }
    }

    #[test]
    fn the_groups_are_run_pys() {
        let run = suite::FILES.iter().find(|(n, _)| *n == "run.py").unwrap().1;
        let line = run.lines().find(|l| l.starts_with("GROUPS = {")).unwrap();
        let mut theirs: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        let mut ours = GROUPS.to_vec();
        theirs.sort_unstable();
        ours.sort_unstable();
        assert_eq!(theirs, ours);
    }

    #[test]
    fn every_suite_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/live/suite");
        let mut on_disk: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && n != "__pycache__")
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = suite::FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}
