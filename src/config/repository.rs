//! `prose-compile.toml`: the settings of a config repository, not of a pod. It sits beside
//! the pods, never in `prose.toml` (the Pod API reads that file and refuses a key it does not
//! know). It chooses the target a build writes by default (`--target` overrides it) and the
//! cluster-wide names of the Kubernetes target:
//!
//! ```toml
//! target = "kubernetes"            # or "host" (the default: systemd, compose, nginx)
//!
//! [kubernetes]
//! ingress_class = "nginx"          # the IngressClass of the ingress-nginx controller
//! ingress_namespace = "ingress-nginx"  # where it runs (NetworkPolicies let it in)
//! secret = "prose-secrets"         # the Secret each pod's namespace holds
//! network_policies = true          # false: isolation is left to the cluster's own policies
//! ```
//!
//! A command looks for it as git looks for a repository: in the directory of the first path
//! it is given (the current directory without one), then in each parent, up to the root of
//! the git repository (the first directory with a `.git`). Only a regular file is read, and
//! only its first 64 KiB.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::k8s_names::{is_dns_label, is_dns_subdomain};
use crate::files::{Bounded, read_bounded};

pub const FILE_NAME: &str = "prose-compile.toml";
const MAX_BYTES: u64 = 64 * 1024;

/// The kind of tree a build writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A host: Prosody, nginx, host-meta, compose, the systemd unit (`etc/…`, `var/…`).
    #[default]
    Host,
    /// Kubernetes manifests and kustomizations (`kubernetes/<pod>/…`).
    Kubernetes,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Host => "host",
            TargetKind::Kubernetes => "kubernetes",
        }
    }
}

/// The Kubernetes target's cluster-wide names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kubernetes {
    /// `spec.ingressClassName` of every Ingress.
    pub ingress_class: String,
    /// The namespace of the ingress controller, the only one NetworkPolicies let reach the
    /// pods' HTTP ports.
    pub ingress_namespace: String,
    /// The Secret, in each pod's namespace, that the workloads take secrets from.
    pub secret: String,
    /// Whether each pod gets NetworkPolicies (`false`: the `audit` reports it).
    pub network_policies: bool,
}

impl Default for Kubernetes {
    fn default() -> Self {
        Kubernetes {
            ingress_class: "nginx".into(),
            ingress_namespace: "ingress-nginx".into(),
            secret: "prose-secrets".into(),
            network_policies: true,
        }
    }
}

/// What `prose-compile.toml` says (defaults when there is none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub target: TargetKind,
    pub kubernetes: Kubernetes,
    /// The file it was read from.
    pub file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    target: Option<TargetKind>,
    #[serde(default)]
    kubernetes: RawKubernetes,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKubernetes {
    ingress_class: Option<Spanned<String>>,
    ingress_namespace: Option<Spanned<String>>,
    secret: Option<Spanned<String>>,
    network_policies: Option<bool>,
}

/// The settings that apply to `start` (a directory or a file): the nearest
/// `prose-compile.toml` at or above it, or the defaults.
pub fn discover(start: &Path) -> Result<Settings, String> {
    match find(start) {
        Some(path) => read(&path),
        None => Ok(Settings::default()),
    }
}

/// The nearest `prose-compile.toml` at or above `start`, up to the root of its git repository.
pub fn find(start: &Path) -> Option<PathBuf> {
    let dir = if start.is_dir() {
        start.to_owned()
    } else {
        start.parent().unwrap_or(Path::new(".")).to_owned()
    };
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let absolute = dir.canonicalize().ok()?;
    for ancestor in absolute.ancestors() {
        let candidate = ancestor.join(FILE_NAME);
        if std::fs::symlink_metadata(&candidate).is_ok_and(|m| m.is_file()) {
            return Some(candidate);
        }
        if ancestor.join(".git").exists() {
            break;
        }
    }
    None
}

/// Reads and checks one `prose-compile.toml`. The error names the file, the line and the key.
pub fn read(path: &Path) -> Result<Settings, String> {
    let shown = path.display();
    let bytes = match read_bounded(path, MAX_BYTES) {
        Ok(Bounded::Bytes(bytes)) => bytes,
        Ok(Bounded::TooLarge { .. }) => {
            return Err(format!(
                "{shown}: larger than {} KiB; it holds a few settings",
                MAX_BYTES / 1024
            ));
        }
        Err(e) => return Err(format!("{shown}: {e}")),
    };
    let text = String::from_utf8(bytes).map_err(|_| format!("{shown}: not UTF-8"))?;
    let raw: Raw = toml::from_str(&text).map_err(|e| {
        format!(
            "{shown}: {}",
            e.to_string()
                .trim_end()
                .replace("TOML parse error", "invalid")
        )
    })?;
    let defaults = Kubernetes::default();
    let name = |value: Option<Spanned<String>>,
                key: &str,
                valid: fn(&str) -> bool,
                what: &str,
                default: String|
     -> Result<String, String> {
        let Some(value) = value else {
            return Ok(default);
        };
        let line = text[..value.span().start].matches('\n').count() + 1;
        let value = value.into_inner();
        if valid(&value) {
            Ok(value)
        } else {
            Err(format!(
                "{shown}:{line}: kubernetes.{key}: {value:?} is not {what}; write lower-case \
                 letters, digits and `-` (the name of the object in the cluster)"
            ))
        }
    };
    let k = raw.kubernetes;
    Ok(Settings {
        target: raw.target.unwrap_or_default(),
        kubernetes: Kubernetes {
            ingress_class: name(
                k.ingress_class,
                "ingress_class",
                is_dns_subdomain,
                "an IngressClass name (a DNS-1123 subdomain)",
                defaults.ingress_class,
            )?,
            ingress_namespace: name(
                k.ingress_namespace,
                "ingress_namespace",
                is_dns_label,
                "a namespace name (a DNS-1123 label, at most 63 characters)",
                defaults.ingress_namespace,
            )?,
            secret: name(
                k.secret,
                "secret",
                is_dns_subdomain,
                "a Secret name (a DNS-1123 subdomain)",
                defaults.secret,
            )?,
            network_policies: k.network_policies.unwrap_or(defaults.network_policies),
        },
        file: Some(path.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join(FILE_NAME);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_nearest_file_up_to_the_repository_root_applies() {
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("pods/crisp")).unwrap();
        write(root.path(), "target = \"kubernetes\"\n");
        // Above the repository: not read.
        assert_eq!(find(&repo.join("pods/crisp")), None);
        let inside = write(&repo, "target = \"kubernetes\"\n");
        let found = find(&repo.join("pods/crisp/prose.toml")).unwrap();
        assert_eq!(
            found.canonicalize().unwrap(),
            inside.canonicalize().unwrap()
        );
        let settings = discover(&repo.join("pods")).unwrap();
        assert_eq!(settings.target, TargetKind::Kubernetes);
        assert_eq!(settings.kubernetes, Kubernetes::default());
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "target = \"kubernetes\"\n[kubernetes]\ningress_namespace = \"Ingress_NGINX\"\n",
        );
        let error = read(&path).unwrap_err();
        assert!(
            error.contains(":3: kubernetes.ingress_namespace"),
            "{error}"
        );
        let path = write(dir.path(), "target = \"swarm\"\n");
        let error = read(&path).unwrap_err();
        assert!(
            error.contains("swarm") && error.contains("line 1"),
            "{error}"
        );
        let path = write(dir.path(), "[kubernetes]\nsecrets = \"x\"\n");
        let error = read(&path).unwrap_err();
        assert!(error.contains("unknown field `secrets`"), "{error}");
    }

    #[test]
    fn only_a_regular_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(FILE_NAME)).unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        assert_eq!(find(dir.path()), None);
    }
}
