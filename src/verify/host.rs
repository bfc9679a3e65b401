//! The host files of a tree, applied by the real tools in a scratch root: `systemd-sysusers
//! --root`, `systemd-tmpfiles --create --root` (after the tree's sysusers.d, whose names it
//! resolves), and `named-checkzone` on the DNS fragment wrapped in a minimal zone. Tests call
//! the `apply_*` functions with a root of their own and assert what the tools created.

use std::fs;
use std::path::Path;
use std::process::Command;

use super::Outcome;
use super::tools::{judge, run, setup_failed, temp_dir};

/// Copies `conf` into `root/etc/<dir>/` (the tools resolve a bare file name there).
fn place(conf: &Path, root: &Path, dir: &str) -> Result<String, Outcome> {
    let name = conf
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| setup_failed("the scratch root", "file has no name"))?;
    let target = root.join("etc").join(dir);
    fs::create_dir_all(&target)
        .and_then(|_| fs::copy(conf, target.join(name)))
        .map_err(|e| setup_failed("the scratch root", e))?;
    Ok(name.to_owned())
}

fn quiet_systemd(cmd: &mut Command) -> &mut Command {
    for var in [
        "SYSTEMD_LOG_LEVEL",
        "SYSTEMD_LOG_TARGET",
        "SYSTEMD_LOG_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `systemd-sysusers --root=ROOT` on `conf` (copied into `ROOT/etc/sysusers.d/`).
pub fn apply_sysusers(conf: &Path, root: &Path) -> Outcome {
    let name = match place(conf, root, "sysusers.d") {
        Ok(name) => name,
        Err(outcome) => return outcome,
    };
    let mut cmd = Command::new("systemd-sysusers");
    cmd.arg(format!("--root={}", root.display())).arg(&name);
    judge(
        run(quiet_systemd(&mut cmd)),
        "systemd-sysusers",
        "systemd",
        |run| {
            if run.success {
                Outcome::Passed
            } else {
                Outcome::Failed {
                    output: run.output(),
                }
            }
        },
    )
}

/// Runs `systemd-tmpfiles --create --root=ROOT` on `conf` (copied into
/// `ROOT/etc/tmpfiles.d/`). Owners can only be set by root: a skip otherwise.
pub fn apply_tmpfiles(conf: &Path, root: &Path) -> Outcome {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return Outcome::Skipped {
            reason: "systemd-tmpfiles --create sets owners: run as root".to_owned(),
        };
    }
    let name = match place(conf, root, "tmpfiles.d") {
        Ok(name) => name,
        Err(outcome) => return outcome,
    };
    let mut cmd = Command::new("systemd-tmpfiles");
    cmd.arg("--create")
        .arg(format!("--root={}", root.display()))
        .arg(&name);
    judge(
        run(quiet_systemd(&mut cmd)),
        "systemd-tmpfiles",
        "systemd",
        |run| {
            // It reports what it could not do on stderr, also with status 0 for some problems.
            if run.success && run.stderr.trim().is_empty() {
                Outcome::Passed
            } else {
                Outcome::Failed {
                    output: run.output(),
                }
            }
        },
    )
}

/// `verify`'s check of a sysusers.d file: applied to an empty scratch root.
pub fn sysusers(file: &Path) -> Outcome {
    match temp_dir() {
        Ok(dir) => apply_sysusers(file, dir.path()),
        Err(e) => setup_failed("the scratch root", e),
    }
}

/// `verify`'s check of a tmpfiles.d file: applied to a scratch root where the tree's
/// sysusers.d files (beside it, `../sysusers.d/`) were applied first.
pub fn tmpfiles(file: &Path) -> Outcome {
    let dir = match temp_dir() {
        Ok(dir) => dir,
        Err(e) => return setup_failed("the scratch root", e),
    };
    let sysusers_dir = file
        .parent()
        .and_then(Path::parent)
        .map(|etc| etc.join("sysusers.d"));
    let mut confs: Vec<_> = sysusers_dir
        .and_then(|d| fs::read_dir(d).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    confs.sort();
    for conf in confs {
        let outcome = apply_sysusers(&conf, dir.path());
        if !outcome.is_passed() {
            return outcome;
        }
    }
    apply_tmpfiles(file, dir.path())
}

/// The fragment `dns/<origin>.zone` inside a minimal zone of `origin`: SOA, NS and the name
/// server's address, none of which the fragment writes.
pub fn wrap_zone(origin: &str, fragment: &str) -> String {
    format!(
        "$ORIGIN {origin}.\n$TTL 3600\n\
         @ IN SOA ns.prose-compile-check.invalid. hostmaster.{origin}. 1 3600 600 86400 300\n\
         @ IN NS ns.prose-compile-check.invalid.\n\
         {fragment}"
    )
}

/// Runs `named-checkzone` on a fragment wrapped by [`wrap_zone`]; with the canonical zone it
/// loaded (`-o`), one record a line, when it passed.
pub fn check_zone_fragment(origin: &str, fragment: &str) -> (Outcome, Option<String>) {
    let dir = match temp_dir() {
        Ok(dir) => dir,
        Err(e) => return (setup_failed("the zone", e), None),
    };
    let input = dir.path().join("zone");
    let output = dir.path().join("canonical");
    if let Err(e) = fs::write(&input, wrap_zone(origin, fragment)) {
        return (setup_failed("the zone", e), None);
    }
    let mut cmd = Command::new("named-checkzone");
    cmd.arg("-i")
        .arg("full")
        .arg("-k")
        .arg("fail")
        .arg("-n")
        .arg("fail");
    cmd.arg("-o").arg(&output).arg(origin).arg(&input);
    let outcome = judge(run(&mut cmd), "named-checkzone", "bind9-utils", |run| {
        if run.success {
            Outcome::Passed
        } else {
            Outcome::Failed {
                output: run.output(),
            }
        }
    });
    let canonical = outcome
        .is_passed()
        .then(|| fs::read_to_string(&output).ok())
        .flatten();
    (outcome, canonical)
}

/// `verify`'s check of a DNS fragment: its zone is the file name without `.zone`.
pub fn zone_fragment(file: &Path) -> Outcome {
    let origin = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".zone"));
    let Some(origin) = origin else {
        return setup_failed("the zone", "the file name is not <zone>.zone");
    };
    match fs::read_to_string(file) {
        Ok(text) => check_zone_fragment(origin, &text).0,
        Err(e) => setup_failed("the zone", e),
    }
}
