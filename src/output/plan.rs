//! What writing a tree would change on disk (`build --check`, `diff`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use camino::Utf8PathBuf;

use super::disk::{OnDisk, check_root, dir_modes_to_fix, on_disk, read_on_disk};
use super::lock::{Access, lock};
use super::manifest::Ownership;
use super::write::{WriteError, io_error};
use super::{MANIFEST, OutputTree, PRIVATE_MANIFEST};

/// The state of one file on disk compared with the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create {
        path: Utf8PathBuf,
    },
    Update {
        path: Utf8PathBuf,
        old: Vec<u8>,
    },
    Mode {
        path: Utf8PathBuf,
        old: u32,
    },
    /// A directory of the tree (`""`: the root) whose mode is not 0755.
    DirectoryMode {
        path: Utf8PathBuf,
        old: u32,
    },
    Remove {
        path: Utf8PathBuf,
        old: Vec<u8>,
    },
    /// Every file is up to date but a manifest is not (`SHA256SUMS` or
    /// `SHA256SUMS.private`): its content is not shown (the private one lists digests of
    /// files that hold secrets).
    Manifest {
        path: Utf8PathBuf,
    },
}

/// What would change on disk if `tree` were written to `root`, waiting up to
/// [`DEFAULT_WAIT`](super::lock::DEFAULT_WAIT) for a build of the tree to finish.
pub fn plan(tree: &OutputTree, root: &Path) -> Result<Vec<Change>, WriteError> {
    plan_with(tree, root, super::lock::DEFAULT_WAIT)
}

/// [`plan`], waiting up to `wait` for a build of the same tree (it reads the tree under a
/// shared lock, so it never sees one half-written).
pub fn plan_with(
    tree: &OutputTree,
    root: &Path,
    wait: std::time::Duration,
) -> Result<Vec<Change>, WriteError> {
    check_root(root)?;
    let _lock = if root.is_dir() {
        Some(lock(root, Access::Shared, wait)?)
    } else {
        None
    };
    let ownership = Ownership::read(root)?;
    let mut changes = Vec::new();
    for file in tree.files() {
        let path = root.join(&file.path);
        match read_on_disk(&path) {
            Ok(old) if old != file.contents => changes.push(Change::Update {
                path: file.path.clone(),
                old,
            }),
            Ok(_) => {
                let mode = fs::metadata(&path)
                    .map_err(|e| io_error(&path, e))?
                    .permissions()
                    .mode()
                    & 0o7777;
                if mode != file.mode {
                    changes.push(Change::Mode {
                        path: file.path.clone(),
                        old: mode,
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => changes.push(Change::Create {
                path: file.path.clone(),
            }),
            Err(e) => return Err(io_error(&path, e)),
        }
    }
    // Links are compared as text, never followed.
    for link in tree.links() {
        let path = link.path.clone();
        match on_disk(&root.join(&link.path))? {
            OnDisk::Missing => changes.push(Change::Create { path }),
            OnDisk::Link(target) if target == link.target.as_str() => {}
            other => changes.push(Change::Update {
                path,
                old: other.shown(),
            }),
        }
    }
    let mut stale: Vec<&Utf8PathBuf> = ownership
        .all_paths()
        .filter(|p| !tree.contains(p))
        .collect();
    stale.sort();
    stale.dedup();
    for path in stale {
        match on_disk(&root.join(path))? {
            OnDisk::Missing | OnDisk::Other(_) => {}
            state => changes.push(Change::Remove {
                path: path.clone(),
                old: state.shown(),
            }),
        }
    }
    for (path, old) in dir_modes_to_fix(root, &tree.directories()) {
        changes.push(Change::DirectoryMode { path, old });
    }
    if changes.is_empty() && root.is_dir() {
        let private = tree.private_manifest().map(|(text, _)| text);
        for (name, expected) in [
            (MANIFEST, Some(tree.manifest())),
            (PRIVATE_MANIFEST, private),
        ] {
            let on_disk = read_on_disk(&root.join(name)).ok();
            if on_disk != expected.map(String::into_bytes) {
                changes.push(Change::Manifest { path: name.into() });
            }
        }
    }
    Ok(changes)
}
