//! Helpers shared by the integration tests: running the binary, and snapshot files that are
//! only rewritten deliberately (`PROSE_COMPILE_BLESS=1`).
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod prosody;
pub mod targets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The environment variable that rewrites snapshots and golden trees instead of comparing.
pub const BLESS: &str = "PROSE_COMPILE_BLESS";

pub fn blessing() -> bool {
    std::env::var(BLESS).is_ok_and(|v| v == "1")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One run of the binary, built up and then checked:
///
/// ```ignore
/// cli().file("pod/prose.toml", "[server]\ndomain = \"a.org\"\n")
///     .args(&["build", "--no-env", "pod", "-o", "out"])
///     .run()
///     .status(0)
///     .stderr_has("built 1 pod")
///     .tree("out");
/// ```
///
/// It runs with a clean environment (no `PROSE_*` from the developer's shell), a fixed
/// terminal width and no terminal, from the repository root, or from a fresh temporary
/// directory once a file is given (paths in `args` are then relative to it).
#[must_use]
pub fn cli() -> Cli {
    Cli::default()
}

#[derive(Default)]
pub struct Cli {
    args: Vec<String>,
    env: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>)>,
    dir: Option<tempfile::TempDir>,
    /// A subdirectory of the run's directory to run in.
    cwd: Option<String>,
}

impl Cli {
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn envs(mut self, vars: &[(&str, &str)]) -> Self {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// A file to create (with its directories) in the run's temporary directory.
    pub fn file(mut self, path: &str, contents: impl AsRef<[u8]>) -> Self {
        self.files
            .push((path.to_owned(), contents.as_ref().to_vec()));
        self
    }

    /// Runs in this subdirectory of the run's directory (created if missing).
    pub fn cwd(mut self, relative: &str) -> Self {
        self.cwd = Some(relative.to_owned());
        self
    }

    /// Runs in this temporary directory (kept by the result) instead of a fresh one.
    pub fn in_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// The process's raw output.
    pub fn output(self) -> Output {
        self.spawn().1
    }

    pub fn run(self) -> Ran {
        let (dir, out) = self.spawn();
        Ran {
            dir,
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn spawn(mut self) -> (Option<tempfile::TempDir>, Output) {
        if self.dir.is_none() && !self.files.is_empty() {
            self.dir = Some(tempfile::tempdir().expect("tempdir"));
        }
        let cwd = self.dir.as_ref().map_or_else(repo, |d| d.path().to_owned());
        for (path, contents) in &self.files {
            let path = cwd.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&path, contents).expect("write a test file");
        }
        let cwd = match &self.cwd {
            Some(relative) => {
                let sub = cwd.join(relative);
                std::fs::create_dir_all(&sub).expect("mkdir");
                sub
            }
            None => cwd,
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_prose-compile"));
        cmd.current_dir(&cwd)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("COLUMNS", "100")
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        let out = cmd.output().expect("run prose-compile");
        (self.dir, out)
    }
}

/// What a run did; the checks panic with its output when they fail.
pub struct Ran {
    /// The temporary directory it ran in, if any (removed when this is dropped).
    pub dir: Option<tempfile::TempDir>,
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    #[track_caller]
    pub fn status(self, expected: i32) -> Self {
        assert_eq!(self.status, expected, "exit status\n{self}");
        self
    }

    #[track_caller]
    pub fn stdout_has(self, text: &str) -> Self {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Self {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}\n{self}");
        self
    }

    /// Standard output parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }

    /// A path in the directory the run used.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir
            .as_ref()
            .map_or_else(repo, |d| d.path().to_owned())
            .join(relative)
    }

    /// Every file below `relative`, by path relative to it.
    pub fn tree(&self, relative: &str) -> BTreeMap<String, Vec<u8>> {
        read_tree(&self.path(relative))
    }
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// The binary run from the repository root (see [`cli`]), for callers that want the raw
/// output.
pub fn prose_compile(args: &[&str], env: &[(&str, &str)]) -> Output {
    cli().args(args).envs(env).output()
}

/// Compares `actual` with the snapshot at `path` (or writes it when blessing). On mismatch,
/// fails with a unified diff.
pub fn assert_snapshot(path: &Path, actual: &str) {
    if blessing() {
        std::fs::write(path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {} (run with {BLESS}=1 to create it, then review it)",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        panic!(
            "{} differs from the output (run with {BLESS}=1 to accept):\n{diff}",
            path.display()
        );
    }
}

/// The input record a build leaves in a tree's work directory: state of the machine (inodes,
/// times), never part of what two trees are compared on.
pub const INPUT_RECORD: &str = ".prose-compile/inputs";

/// Every file below `root`, by path relative to it (but the input record).
pub fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.path().strip_prefix(root).ok() != Some(Path::new(INPUT_RECORD)))
        .map(|e| {
            let relative = e.path().strip_prefix(root).unwrap_or(e.path());
            (
                relative.to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect()
}
