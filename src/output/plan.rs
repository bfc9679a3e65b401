//! What writing a tree would change on disk (`build --check`, `diff`).

use std::path::Path;

use camino::Utf8PathBuf;

use super::dirs::{Dirs, State};
use super::lock::{Access, lock_dir};
use super::manifest::Ownership;
use super::write::WriteError;
use super::write::look_tree_entry;
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
    let Some(mut dirs) = Dirs::open_root(root, false)? else {
        // No tree yet: every file is new.
        return Ok(tree
            .files()
            .map(|f| &f.path)
            .chain(tree.links().map(|l| &l.path))
            .map(|path| Change::Create { path: path.clone() })
            .collect());
    };
    lock_dir(dirs.root_fd(), dirs.root_path(), Access::Shared, wait)?;
    let work = super::write::open_work_dir(&mut dirs)?;
    let ownership = Ownership::read(&dirs, work)?;
    let mut changes = Vec::new();
    for file in tree.files() {
        match super::write::read_tree_file(&mut dirs, &file.path)? {
            Some(old) if old.bytes != file.contents => changes.push(Change::Update {
                path: file.path.clone(),
                old: old.bytes,
            }),
            Some(old) if old.mode != file.mode => changes.push(Change::Mode {
                path: file.path.clone(),
                old: old.mode,
            }),
            Some(_) => {}
            None => changes.push(Change::Create {
                path: file.path.clone(),
            }),
        }
    }
    // Links are compared as text, never followed.
    for link in tree.links() {
        let path = link.path.clone();
        match look_tree_entry(&mut dirs, &link.path)? {
            State::Missing => changes.push(Change::Create { path }),
            State::Link(target) if target == link.target.as_str() => {}
            other => changes.push(Change::Update {
                path,
                old: other.shown(),
            }),
        }
    }
    let stale = ownership.stale(tree);
    for path in stale {
        match look_tree_entry(&mut dirs, path) {
            // Under a link or not a file: not ours to remove (a build refuses it).
            Ok(State::Missing | State::Other(_)) | Err(WriteError::Unsafe(_)) => {}
            Ok(state) => changes.push(Change::Remove {
                path: path.clone(),
                old: state.shown(),
            }),
            Err(e) => return Err(e),
        }
    }
    for (path, old) in dirs.wrong_modes(tree.directories().into_iter())? {
        changes.push(Change::DirectoryMode { path, old });
    }
    if changes.is_empty() {
        let manifests = tree.manifests();
        let private = manifests.private.map(|(text, _)| text);
        for (name, expected) in [
            (MANIFEST, Some(manifests.public)),
            (PRIVATE_MANIFEST, private),
        ] {
            let on_disk = if name == MANIFEST {
                &ownership.public
            } else {
                &ownership.private
            };
            if on_disk.as_ref().map(|(text, _)| text) != expected.as_ref() {
                changes.push(Change::Manifest { path: name.into() });
            }
        }
    }
    Ok(changes)
}
