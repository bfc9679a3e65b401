//! Runs the real validator of each output format on generated files.
//!
//! Every check drives the tool a server operator would trust (`luac`, `prosodyctl`, `nginx -t`,
//! `systemd-analyze verify`, `xmllint`, Python's `tomllib`; compose files against the
//! Compose Specification schema, interpolated as Compose v2 does) in a throwaway directory, so
//! nothing outside the temp dir is read for writing or changed. Where a tool needs the server's
//! environment (certificates, `docker.service`, `/etc/prose/prose.env`), a stand-in is created
//! in the temp dir and only *paths* in a copy of the file are redirected to it: directives are
//! never rewritten, so an error in the file still reaches the tool.
//!
//! A missing tool gives [`Outcome::Skipped`] naming the Debian package; tests call
//! [`require_or_skip`], which turns a skip into a panic when `PROSE_COMPILE_REQUIRE_VALIDATORS=1`.
//!
//! A tree from a pull request is not trusted: `verify` first checks it against its manifests
//! ([`check_manifest`]), and the Lua validators read a private copy as `nobody` when the tool
//! runs as root; prosodyctl, which executes the file, runs only after the file has loaded in a
//! Lua sandbox without touching `os`, `io` or anything but Prosody's configuration calls.

pub mod host;
pub mod interpolate;
pub mod kubernetes;
mod manifest;
mod tools;

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::targets::{self, Validator};
pub use manifest::{Mismatch, check_manifest, check_tree};
pub use tools::{
    ComposeSpec, compose_schema, json, lua_syntax, nginx_sites, prosody_config, systemd_unit, toml,
    xml,
};

/// The verdict of one validator on one file (or one set of nginx sites).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// `output` holds the tool's own output, verbatim (trimmed).
    Failed {
        output: String,
    },
    /// The tool is not installed (or cannot run here); `reason` says what to install.
    Skipped {
        reason: String,
    },
}

impl Outcome {
    pub fn is_passed(&self) -> bool {
        matches!(self, Outcome::Passed)
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }

    pub fn is_skipped(&self) -> bool {
        matches!(self, Outcome::Skipped { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Passed => f.write_str("passed"),
            Outcome::Failed { output } => write!(f, "failed:\n{output}"),
            Outcome::Skipped { reason } => write!(f, "skipped: {reason}"),
        }
    }
}

/// One validator run by [`verify_tree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tool: &'static str,
    pub file: PathBuf,
    pub outcome: Outcome,
}

/// Set to `1` (CI does) to make a skipped validator a test failure instead of a notice.
pub const REQUIRE_ENV: &str = "PROSE_COMPILE_REQUIRE_VALIDATORS";

/// For tests: `true` when the validator ran (assert on the outcome), `false` when it was
/// skipped, after printing a visible `SKIP:` line. Panics on a skip when [`REQUIRE_ENV`] is `1`.
pub fn require_or_skip(outcome: &Outcome) -> bool {
    let Outcome::Skipped { reason } = outcome else {
        return true;
    };
    if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
        panic!("{REQUIRE_ENV}=1 but a validator was skipped: {reason}");
    }
    // Straight to the stderr handle: the test harness captures `eprintln!`, and a skip must
    // stay visible in a passing run.
    let _ = writeln!(io::stderr(), "SKIP: {reason}");
    false
}

// ---------------------------------------------------------------------------------------------
// A built tree

/// Runs every validator on the files of a built tree rooted at `root` (paths as on the server),
/// in the order of the targets that write them. Files absent from the tree are skipped without
/// a report.
pub fn verify_tree(root: &Path) -> Vec<Report> {
    // A Kubernetes tree (a pod's, or the fleet root) has a kustomization at its root.
    if root.join(targets::kubernetes::KUSTOMIZATION).is_file() {
        return kubernetes::verify(root);
    }
    let mut reports = Vec::new();
    for check in targets::checks() {
        // `dir/*`: every file of a directory, checked together (nginx loads every site).
        if let Some(dir) = check.files.strip_suffix("/*") {
            let dir = root.join(dir);
            let files = tools::files_in(&dir);
            if !files.is_empty()
                && let Some((tool, outcome)) = run_on_set(check.validator, &files)
            {
                reports.push(Report {
                    tool,
                    file: dir,
                    outcome,
                });
            }
            continue;
        }
        let file = root.join(check.files);
        if !file.is_file() {
            continue;
        }
        if let Some((tool, outcome)) = run_on_file(check.validator, &file) {
            reports.push(Report {
                tool,
                file,
                outcome,
            });
        }
    }
    reports
}

/// The tool name and verdict of a validator on one file.
fn run_on_file(validator: Validator, file: &Path) -> Option<(&'static str, Outcome)> {
    Some(match validator {
        Validator::Luac => ("luac", lua_syntax(file)),
        Validator::Prosodyctl => ("prosodyctl", prosody_config(file)),
        Validator::Xmllint => ("xmllint", xml(file)),
        Validator::Json => ("serde_json", json(file)),
        Validator::Toml => ("tomllib", toml(file)),
        Validator::ComposeSchema => ("compose-spec", compose_schema(file)),
        Validator::SystemdAnalyze => ("systemd-analyze", systemd_unit(file)),
        Validator::Sysusers => ("systemd-sysusers", host::sysusers(file)),
        Validator::Tmpfiles => ("systemd-tmpfiles", host::tmpfiles(file)),
        Validator::NamedCheckzone => ("named-checkzone", host::zone_fragment(file)),
        Validator::Nginx => return run_on_set(validator, &[file.to_owned()]),
    })
}

/// A validator that checks a set of files together.
fn run_on_set(validator: Validator, files: &[PathBuf]) -> Option<(&'static str, Outcome)> {
    match validator {
        Validator::Nginx => Some(("nginx", nginx_sites(files))),
        // One zone per file: the first failure, else a pass.
        Validator::NamedCheckzone => {
            let outcomes: Vec<Outcome> = files.iter().map(|f| host::zone_fragment(f)).collect();
            let worst = outcomes
                .iter()
                .find(|o| o.is_failed())
                .or_else(|| outcomes.iter().find(|o| o.is_skipped()))
                .cloned()
                .unwrap_or(Outcome::Passed);
            Some(("named-checkzone", worst))
        }
        other => run_on_file(other, files.first()?),
    }
}
