//! The pod a command means when it is given no path: the pods below the current directory,
//! or, when there are none (a subdirectory of a pod), the nearest `prose.toml` above it, as
//! git and cargo find their repository.

use std::path::{Path, PathBuf};

use super::discover::{CONFIG_FILE, Pod, discover};

/// Every pod below `.` (named `pods/crisp/prose.toml`, not `./pods/…`); when there is none,
/// the pod that encloses `.`.
pub fn pods_here(output_dirs: &[PathBuf]) -> Result<Vec<Pod>, String> {
    match discover(&[PathBuf::from(".")], output_dirs) {
        Ok(pods) => Ok(pods.into_iter().map(without_dot).collect()),
        Err(below) => enclosing(Path::new(".")).map(|pod| vec![pod]).ok_or(below),
    }
}

fn without_dot(pod: Pod) -> Pod {
    Pod {
        config: tidy(&pod.config),
        ..pod
    }
}

/// The one pod a single-pod command (`explain`) means without a path: `./prose.toml`, else
/// the nearest one above, else the only one below.
pub fn pod_here() -> Result<Pod, String> {
    if let Some(pod) = enclosing(Path::new(".")) {
        return Ok(pod);
    }
    one_pod(Path::new(".")).map(without_dot)
}

/// The only pod `path` names (a `prose.toml`, or a directory holding exactly one).
pub fn one_pod(path: &Path) -> Result<Pod, String> {
    let mut pods = discover(&[path.to_owned()], &[])?;
    match pods.len() {
        1 => Ok(pods.remove(0)),
        n => Err(format!(
            "{} holds {n} pods: name one prose.toml",
            path.display()
        )),
    }
}

/// The nearest `prose.toml` in `dir` or above it, as a path relative to `dir` when `dir` is
/// relative (`../../prose.toml`).
fn enclosing(dir: &Path) -> Option<Pod> {
    let absolute = dir.canonicalize().ok()?;
    let mut up = dir.to_owned();
    for ancestor in absolute.ancestors() {
        if ancestor.join(CONFIG_FILE).is_file() {
            let config = if dir.is_absolute() {
                ancestor.join(CONFIG_FILE)
            } else {
                up.join(CONFIG_FILE)
            };
            return Some(Pod {
                config: tidy(&config),
                relative_dir: PathBuf::new(),
            });
        }
        up.push("..");
    }
    None
}

/// `./../../prose.toml` → `../../prose.toml`.
fn tidy(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_config_above_a_directory_is_found() {
        let root = tempfile::tempdir().unwrap();
        let pod = root.path().join("pods/crisp");
        std::fs::create_dir_all(pod.join("notes/old")).unwrap();
        std::fs::write(pod.join(CONFIG_FILE), "").unwrap();
        let found = enclosing(&pod.join("notes/old")).unwrap();
        assert_eq!(
            found.config.canonicalize().unwrap(),
            pod.join(CONFIG_FILE).canonicalize().unwrap()
        );
        assert_eq!(
            enclosing(&pod).unwrap().config.canonicalize().unwrap(),
            pod.join(CONFIG_FILE).canonicalize().unwrap()
        );
        assert!(enclosing(&root.path().join("pods")).is_none());
    }
}
