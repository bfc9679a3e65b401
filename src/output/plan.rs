//! What writing a tree would change on disk (`build --check`, `diff`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use camino::Utf8PathBuf;

use super::OutputTree;
use super::disk::{check_root, read_on_disk};
use super::manifest::Ownership;
use super::write::{WriteError, io_error};

/// The state of one file on disk compared with the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create { path: Utf8PathBuf },
    Update { path: Utf8PathBuf, old: Vec<u8> },
    Mode { path: Utf8PathBuf, old: u32 },
    Remove { path: Utf8PathBuf, old: Vec<u8> },
}

/// What would change on disk if `tree` were written to `root`.
pub fn plan(tree: &OutputTree, root: &Path) -> Result<Vec<Change>, WriteError> {
    check_root(root)?;
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
    let mut stale: Vec<&Utf8PathBuf> = ownership
        .all_paths()
        .filter(|p| tree.get(p).is_none())
        .collect();
    stale.sort();
    stale.dedup();
    for path in stale {
        if let Ok(old) = read_on_disk(&root.join(path)) {
            changes.push(Change::Remove {
                path: path.clone(),
                old,
            });
        }
    }
    Ok(changes)
}
