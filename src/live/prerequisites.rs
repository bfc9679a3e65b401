//! What a live run needs on the machine: root (network namespaces), the servers, the tools the
//! harness drives, and a Python with the two client libraries.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use super::suite::PYTHON_PACKAGES;

/// One thing the machine lacks, and how to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub what: String,
    pub fix: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.what, self.fix)
    }
}

/// Programs the harness runs, with the Debian package that provides each.
const PROGRAMS: &[(&str, &str)] = &[
    ("unshare", "util-linux"),
    ("setpriv", "util-linux"),
    ("mount", "mount"),
    ("ip", "iproute2"),
    ("ss", "iproute2"),
    (
        "prosody",
        "prosody (bookworm-backports: apt-get install -t bookworm-backports prosody)",
    ),
    ("prosodyctl", "prosody (bookworm-backports)"),
    ("lua5.4", "lua5.4"),
    ("nginx", "nginx-light"),
    ("openssl", "openssl"),
    ("dnsmasq", "dnsmasq-base"),
];

/// Everything missing for a live run with `python` (empty: ready).
pub fn check(python: &Path) -> Vec<Missing> {
    let mut missing = Vec::new();
    if !is_root() {
        missing.push(Missing {
            what: "root".into(),
            fix: "run as root: the checks need network and mount namespaces (`unshare --net --mount`)".into(),
        });
    }
    for (program, package) in PROGRAMS {
        if find_program(program).is_none() {
            missing.push(Missing {
                what: format!("`{program}`"),
                fix: format!("apt-get install {package}"),
            });
        }
    }
    if find_program("prosodyctl").is_some() {
        match prosody_version() {
            Some(version) if version.starts_with("13.") => {}
            found => missing.push(Missing {
                what: format!(
                    "Prosody 13 (found {})",
                    found.unwrap_or_else(|| "no version".into())
                ),
                fix:
                    "apt-get install -t bookworm-backports prosody: the Pod Server runs Prosody 13"
                        .into(),
            }),
        }
        if !user_exists("prosody") {
            missing.push(Missing {
                what: "the `prosody` user (Prosody 13 refuses to run as root)".into(),
                fix: "reinstall the prosody package, which creates it".into(),
            });
        }
    }
    missing.extend(python_modules(python));
    missing
}

fn is_root() -> bool {
    // The effective UID is the second field of `Uid:`.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|id| id == "0"))
        })
        .unwrap_or(false)
}

/// The program's path on `PATH`, if it is there.
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn quiet(cmd: &mut Command) -> Option<std::process::Output> {
    cmd.stdin(Stdio::null()).output().ok()
}

/// `13.0.1` from `prosodyctl about`.
fn prosody_version() -> Option<String> {
    let out = quiet(Command::new("prosodyctl").arg("about"))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // Not the first `Prosody …` line: "Prosody was unable to find lua-unbound" may come first.
    text.lines().find_map(|l| {
        let version = l.strip_prefix("Prosody ")?.split_whitespace().next()?;
        version
            .starts_with(|c: char| c.is_ascii_digit())
            .then(|| version.to_owned())
    })
}

fn user_exists(name: &str) -> bool {
    quiet(Command::new("id").args(["-u", name])).is_some_and(|o| o.status.success())
}

/// The Python packages `python` cannot import (or the interpreter itself).
fn python_modules(python: &Path) -> Vec<Missing> {
    let pins: Vec<String> = PYTHON_PACKAGES
        .iter()
        .map(|(name, version)| format!("{name}=={version}"))
        .collect();
    let probe = PYTHON_PACKAGES
        .iter()
        .map(|(name, _)| format!("\ntry:\n import {name}\nexcept Exception:\n print('{name}')"))
        .collect::<String>();
    let Some(out) = quiet(Command::new(python).args(["-B", "-c", &probe])) else {
        return vec![Missing {
            what: format!("Python (`{}`)", python.display()),
            fix: "apt-get install python3, or pass --python PATH".into(),
        }];
    };
    let absent: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if absent.is_empty() && out.status.success() {
        return Vec::new();
    }
    vec![Missing {
        what: format!(
            "the Python packages {} for `{}`",
            if absent.is_empty() {
                "(the interpreter failed)".to_owned()
            } else {
                absent.join(", ")
            },
            python.display()
        ),
        fix: format!(
            "python3 -m venv /opt/prose-live && /opt/prose-live/bin/pip install {}, then pass \
             --python /opt/prose-live/bin/python",
            pins.join(" ")
        ),
    }]
}
