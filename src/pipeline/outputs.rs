//! Which output tree each pod of a `build` or `diff` goes to: one pod per tree. The same pod
//! named twice runs once; two pods whose trees would be the same directory are refused before
//! anything is written (each would delete the other's files as stale).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::discover::{DirIdentity, Pod};

/// The pods, each once (the first time it is named), after checking that no two of them write
/// the same tree under `root`. `Err` names the pods that collide.
pub fn one_pod_per_tree(pods: Vec<Pod>, root: &Path) -> Result<Vec<Pod>, String> {
    let pods = each_pod_once(pods);
    let mut trees: BTreeMap<PathBuf, &Pod> = BTreeMap::new();
    for pod in &pods {
        let tree = normalized(&root.join(&pod.relative_dir));
        if let Some(other) = trees.insert(tree.clone(), pod) {
            return Err(format!(
                "{} and {} would both be built into {}: build them into different output \
                 directories (one `-o` each), or give them one parent directory",
                other.config.display(),
                pod.config.display(),
                tree.display()
            ));
        }
    }
    Ok(pods)
}

/// The pods, each once (the first time it is named). A Kubernetes build needs no more: its
/// trees are named after the pods' domains, and `pipeline::fleet` refuses pods that collide.
///
/// A pod is its directory (where its env files are) and its file's name in it: two names of
/// one directory (a link to it, `a/../a`) are one pod; two directories whose `prose.toml` links
/// to one file are two. The directory is known by its device and inode, one `stat` (resolving
/// the whole path took a `readlink` per component of it).
pub fn each_pod_once(pods: Vec<Pod>) -> Vec<Pod> {
    let mut seen = BTreeSet::new();
    pods.into_iter()
        .filter(|pod| seen.insert(PodIdentity::of(pod)))
        .collect()
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PodIdentity {
    /// The directory, and the file's name in it.
    InDirectory(DirIdentity, OsString),
    /// Its path as given, when its directory cannot be looked at (the run reports why).
    Named(PathBuf),
}

impl PodIdentity {
    fn of(pod: &Pod) -> PodIdentity {
        let dir = match pod.config.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        match (DirIdentity::of(dir), pod.config.file_name()) {
            (Some(dir), Some(name)) => PodIdentity::InDirectory(dir, name.to_owned()),
            _ => PodIdentity::Named(pod.config.clone()),
        }
    }
}

/// A path without `.` components or trailing separators (not resolved: it may not exist yet).
fn normalized(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(config: &str, relative: &str) -> Pod {
        Pod {
            config: config.into(),
            relative_dir: relative.into(),
        }
    }

    #[test]
    fn the_same_pod_runs_once_and_two_pods_never_share_a_tree() {
        let kept = one_pod_per_tree(
            vec![pod("a/prose.toml", ""), pod("./a/../a/prose.toml", "")],
            Path::new("out"),
        );
        // Not on disk: the paths differ, so they are two pods sharing `out`.
        assert!(kept.is_err());
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prose.toml");
        std::fs::write(&config, "").unwrap();
        let twice = vec![
            pod(config.to_str().unwrap(), ""),
            pod(&format!("{}/./prose.toml", dir.path().display()), ""),
        ];
        assert_eq!(one_pod_per_tree(twice, Path::new("out")).unwrap().len(), 1);
        let error = one_pod_per_tree(
            vec![pod("a/prose.toml", ""), pod("b/prose.toml", "")],
            Path::new("out"),
        )
        .unwrap_err();
        assert!(error.contains("a/prose.toml and b/prose.toml"), "{error}");
        let fine = vec![pod("p/a/prose.toml", "a"), pod("p/b/prose.toml", "b")];
        assert_eq!(one_pod_per_tree(fine, Path::new("out/")).unwrap().len(), 2);
    }

    #[test]
    fn a_pod_is_its_directory_however_named_not_the_file_its_config_links_to() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        std::fs::write(a.join("prose.toml"), "").unwrap();
        // b's configuration is a's file, but b is another pod (its own env files, its tree).
        std::os::unix::fs::symlink(a.join("prose.toml"), b.join("prose.toml")).unwrap();
        // A link to a's directory names a again.
        std::os::unix::fs::symlink(&a, dir.path().join("a-again")).unwrap();
        let named = |path: std::path::PathBuf| pod(path.to_str().unwrap(), "");
        let pods = each_pod_once(vec![
            named(a.join("prose.toml")),
            named(b.join("prose.toml")),
            named(dir.path().join("a-again/prose.toml")),
        ]);
        let kept: Vec<_> = pods.iter().map(|p| p.config.clone()).collect();
        assert_eq!(kept, [a.join("prose.toml"), b.join("prose.toml")]);
    }
}
