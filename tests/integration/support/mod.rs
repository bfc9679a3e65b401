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

/// The binary, run from the repository root with a clean environment (no `PROSE_*` from the
/// developer's shell), a fixed terminal width and no colours.
pub fn prose_compile(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_prose-compile"));
    cmd.current_dir(repo())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("COLUMNS", "100")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run prose-compile")
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

/// Every file below `root`, by path relative to it.
pub fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e.path().strip_prefix(root).unwrap_or(e.path());
            (
                relative.to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect()
}
