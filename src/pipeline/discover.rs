//! Finding the pods to work on: `prose.toml` files given directly or found below directories.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// The configuration file name a pod directory holds.
pub const CONFIG_FILE: &str = "prose.toml";

/// Directories never searched: VCS metadata, build output, and hidden directories (and,
/// through `gitignore`, whatever the repository's `.gitignore` files exclude).
fn skipped(entry: &walkdir::DirEntry, output_dirs: &[DirIdentity]) -> bool {
    let name = entry.file_name().to_string_lossy();
    entry.depth() > 0
        && entry.file_type().is_dir()
        && (name.starts_with('.')
            || name == "target"
            || name == "node_modules"
            || is_one_of(entry, output_dirs))
}

/// A directory's device and inode: what two names of it share.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct DirIdentity {
    dev: u64,
    ino: u64,
}

impl DirIdentity {
    /// The directory `path` names (a link followed), if it exists.
    pub(super) fn of(path: &Path) -> Option<DirIdentity> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok().filter(|m| m.is_dir())?;
        Some(DirIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

/// Whether the walk's directory `entry` is one of `dirs`: its inode comes with the directory
/// listing, so only a directory with a matching inode is looked at (for its device).
fn is_one_of(entry: &walkdir::DirEntry, dirs: &[DirIdentity]) -> bool {
    use walkdir::DirEntryExt;
    dirs.iter().any(|dir| dir.ino == entry.ino())
        && DirIdentity::of(entry.path()).is_some_and(|found| dirs.contains(&found))
}

/// Whether the repository's `.gitignore` rules keep the walk from `entry`: they apply to the
/// directories below the searched one and to the `prose.toml` files in them. Not to the
/// searched directory's own `prose.toml`: that is the pod named, as the directory is searched
/// even when ignored; nor to other files, never pods. So a pod directory with no
/// subdirectory is found without reading a `.gitignore` (the matcher's start-up costs
/// a one-pod command ~5 %: docs/performance.md).
fn ignored_by_git(entry: &walkdir::DirEntry, ignores: &super::gitignore::GitIgnores) -> bool {
    let is_dir = entry.file_type().is_dir();
    let rules_apply = match entry.depth() {
        0 => false,
        1 => is_dir,
        _ => is_dir || entry.file_name() == CONFIG_FILE,
    };
    rules_apply && ignores.is_ignored(entry.path(), is_dir)
}

/// A pod found on disk: its config file, and the directory (relative to the search root)
/// its output tree goes to when several pods are built at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    pub config: PathBuf,
    pub relative_dir: PathBuf,
}

impl Pod {
    /// Why this pod cannot be run, when its directory name cannot name it: the name goes into
    /// the headers of generated files and the output path, so it must be printable.
    pub fn name_problem(&self) -> Option<String> {
        let dir = self.config.parent().unwrap_or(Path::new(""));
        dir.to_string_lossy()
            .chars()
            .any(char::is_control)
            .then(|| {
                format!(
                    "{}: a pod directory name contains control characters; rename it",
                    dir.display().to_string().escape_debug()
                )
            })
    }
}

/// Resolves command-line paths to pods, sorted by path. A path that is neither a file nor a
/// directory is an error (exit 2); a directory with no pod is an error too.
pub fn discover(paths: &[PathBuf], output_dirs: &[PathBuf]) -> Result<Vec<Pod>, String> {
    let mut pods = Vec::new();
    // The output directories that exist (one that does not yet cannot be in the walk).
    let output_dirs: Vec<DirIdentity> = output_dirs
        .iter()
        .filter_map(|dir| DirIdentity::of(dir))
        .collect();
    for path in paths {
        if path.is_file() {
            pods.push(Pod {
                config: path.clone(),
                relative_dir: PathBuf::new(),
            });
            continue;
        }
        if !path.is_dir() {
            return Err(format!("{}: no such file or directory", path.display()));
        }
        let before = pods.len();
        let ignores = super::gitignore::GitIgnores::for_walk(path);
        let walker = WalkDir::new(path)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !(skipped(e, &output_dirs) || ignored_by_git(e, &ignores)));
        for entry in walker {
            let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
            if entry.file_type().is_file() && entry.file_name() == CONFIG_FILE {
                let dir = entry.path().parent().unwrap_or(path);
                // A directory name that cannot name a pod is that pod's failure, reported when
                // it is run (`Pod::name_problem`): the other pods still run.
                pods.push(Pod {
                    config: entry.path().to_owned(),
                    relative_dir: dir.strip_prefix(path).unwrap_or(Path::new("")).to_owned(),
                });
            }
        }
        if pods.len() == before {
            return Err(format!("{}: no {CONFIG_FILE} found", path.display()));
        }
    }
    Ok(pods)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_directory_in_the_walk_is_not_searched_however_it_is_named() {
        let repo = tempfile::tempdir().unwrap();
        for dir in ["a", "b", "out/etc/prose"] {
            std::fs::create_dir_all(repo.path().join(dir)).unwrap();
        }
        for config in ["a/prose.toml", "b/prose.toml", "out/etc/prose/prose.toml"] {
            std::fs::write(repo.path().join(config), "").unwrap();
        }
        std::os::unix::fs::symlink(repo.path().join("out"), repo.path().join("out-link")).unwrap();
        let found = |outputs: &[PathBuf]| -> Vec<PathBuf> {
            let pods = discover(&[repo.path().to_owned()], outputs).unwrap();
            pods.into_iter().map(|pod| pod.relative_dir).collect()
        };
        let pods = [PathBuf::from("a"), PathBuf::from("b")];
        assert_eq!(found(&[repo.path().join("out")]), pods);
        // Named through a link to it, or not existing yet: the same.
        assert_eq!(found(&[repo.path().join("out-link")]), pods);
        assert_eq!(
            found(&[repo.path().join("new")]),
            [
                PathBuf::from("a"),
                PathBuf::from("b"),
                PathBuf::from("out/etc/prose")
            ]
        );
    }
}
