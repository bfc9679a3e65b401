//! Writing a tree: staged, journaled, renamed into place, manifest last (see the module
//! documentation of `output`).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use camino::Utf8PathBuf;

use super::disk::{
    OnDisk, check_no_links, check_parents, check_root, fix_dir_modes, make_dirs, on_disk,
    read_on_disk,
};
use super::lock::{Access, lock};
use super::manifest::{JOURNAL, MAX_MANIFEST_BYTES, Ownership, sha256_hex};
use super::{MANIFEST, OutputTree, PRIVATE_MANIFEST, WORK_DIR, link_text, unified_diff};
use crate::targets::{GeneratedFile, GeneratedLink};

const STAGING: &str = "staging";

/// How a tree is written.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Overwrite generated files edited by hand.
    pub force: bool,
    /// How long to wait for another build of the same tree.
    pub lock_wait: std::time::Duration,
}

/// Why a build stopped without changing anything.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{0}")]
    Unsafe(String),
    #[error("{} generated file(s) were edited by hand", .0.len())]
    HandEdited(Vec<HandEdit>),
    #[error("{}: the manifest is corrupt ({reason})", .path.display())]
    CorruptManifest { path: PathBuf, reason: String },
    #[error(
        "another build holds {} (waited {} s for it to finish): run one build of a tree at a time",
        .path.display(),
        .waited.as_secs_f64()
    )]
    Locked {
        path: PathBuf,
        waited: std::time::Duration,
    },
}

/// A file on disk that differs from what the manifest says was generated (or that the tool
/// never generated but would now overwrite).
#[derive(Debug, Clone)]
pub struct HandEdit {
    pub path: Utf8PathBuf,
    /// Unified diff from the file on disk to what would be generated.
    pub diff: String,
    /// `false` when no manifest lists the file: it was never generated.
    pub was_generated: bool,
}

pub(super) fn io_error(path: &Path, error: std::io::Error) -> WriteError {
    WriteError::Io {
        path: path.to_owned(),
        message: error.to_string(),
    }
}

/// What a build did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    pub written: Vec<Utf8PathBuf>,
    pub unchanged: Vec<Utf8PathBuf>,
    pub removed: Vec<Utf8PathBuf>,
    /// Directories whose mode was set to 0755 (`""` is the root).
    pub directory_modes: Vec<Utf8PathBuf>,
    /// A previous interrupted build was completed.
    pub recovered: bool,
}

impl WriteSummary {
    pub fn changed(&self) -> bool {
        !self.written.is_empty() || !self.removed.is_empty() || !self.directory_modes.is_empty()
    }
}

/// Writes `tree` to `root` as described in the module documentation, waiting up to
/// [`DEFAULT_WAIT`](super::lock::DEFAULT_WAIT) for another build of the tree.
pub fn write(tree: &OutputTree, root: &Path, force: bool) -> Result<WriteSummary, WriteError> {
    write_with(
        tree,
        root,
        &WriteOptions {
            force,
            lock_wait: super::lock::DEFAULT_WAIT,
        },
    )
}

/// [`write`] with every option.
pub fn write_with(
    tree: &OutputTree,
    root: &Path,
    options: &WriteOptions,
) -> Result<WriteSummary, WriteError> {
    let force = options.force;
    check_root(root)?;
    make_dirs(root, camino::Utf8Path::new(""))?;
    // Held until the manifest is written (dropped on return, or with the process).
    let _lock = lock(root, Access::Exclusive, options.lock_wait)?;
    let ownership = Ownership::read(root)?;
    let recovered = ownership.pending.is_some();
    for file in tree.files() {
        check_no_links(root, &file.path)?;
    }
    for link in tree.links() {
        check_parents(root, &link.path)?;
    }

    // Refuse to overwrite hand edits and files we never generated.
    let mut edits = Vec::new();
    let mut unchanged = Vec::new();
    for file in tree.files() {
        let path = root.join(&file.path);
        let Ok(old) = read_on_disk(&path) else {
            continue;
        };
        let same_mode =
            fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o7777 == file.mode);
        if old == file.contents && same_mode {
            unchanged.push(file.path.clone());
            continue;
        }
        if !force && !ownership.owns(&file.path, &sha256_hex(&old)) {
            edits.push(HandEdit {
                path: file.path.clone(),
                diff: unified_diff(&file.path, &old, &file.contents, usize::MAX).0,
                was_generated: ownership.listed(&file.path),
            });
        }
    }
    // A link is replaced when it is missing, or when what is there is ours: never followed.
    let mut links_to_write: Vec<&GeneratedLink> = Vec::new();
    for link in tree.links() {
        let state = on_disk(&root.join(&link.path))?;
        let ours = link.target.as_str();
        let owned = match &state {
            OnDisk::Missing => true,
            OnDisk::Link(target) if target == ours => {
                unchanged.push(link.path.clone());
                continue;
            }
            OnDisk::Link(target) => ownership.owns_link(&link.path, target),
            OnDisk::File(old) => ownership.owns(&link.path, &sha256_hex(old)),
            OnDisk::Other(kind) => {
                return Err(WriteError::Unsafe(format!(
                    "{} is a {kind}: refusing to replace it",
                    root.join(&link.path).display()
                )));
            }
        };
        if !force && !owned {
            edits.push(HandEdit {
                path: link.path.clone(),
                diff: unified_diff(&link.path, &state.shown(), &link_text(ours), usize::MAX).0,
                was_generated: ownership.listed(&link.path),
            });
        }
        links_to_write.push(link);
    }
    let stale: Vec<Utf8PathBuf> = {
        let mut s: Vec<Utf8PathBuf> = ownership
            .all_paths()
            .filter(|p| !tree.contains(p))
            .cloned()
            .collect();
        s.sort();
        s.dedup();
        s
    };
    let mut to_remove = Vec::new();
    for path in stale {
        check_parents(root, &path)?;
        let state = on_disk(&root.join(&path))?;
        let owned = match &state {
            OnDisk::Missing => continue,
            OnDisk::File(old) => ownership.owns(&path, &sha256_hex(old)),
            OnDisk::Link(target) => ownership.owns_link(&path, target),
            OnDisk::Other(kind) => {
                return Err(WriteError::Unsafe(format!(
                    "{} is a {kind}: refusing to remove it",
                    root.join(&path).display()
                )));
            }
        };
        if !force && !owned {
            edits.push(HandEdit {
                diff: unified_diff(&path, &state.shown(), b"", usize::MAX).0,
                path: path.clone(),
                was_generated: true,
            });
        }
        to_remove.push(path);
    }
    if !edits.is_empty() {
        return Err(WriteError::HandEdited(edits));
    }

    let manifest = tree.manifest();
    let private = tree.private_manifest();
    let to_write: Vec<&GeneratedFile> = tree
        .files()
        .filter(|f| !unchanged.contains(&f.path))
        .collect();
    let manifests_current = manifest_on_disk(root, MANIFEST) == Some((manifest.clone(), 0o644))
        && manifest_on_disk(root, PRIVATE_MANIFEST) == private;
    if to_write.is_empty()
        && links_to_write.is_empty()
        && to_remove.is_empty()
        && manifests_current
        && !recovered
    {
        return Ok(WriteSummary {
            unchanged,
            directory_modes: fix_dir_modes(root, &tree.directories())?,
            ..Default::default()
        });
    }

    // 1. Stage (in a work directory only the build's user can enter).
    let work = root.join(WORK_DIR);
    let staging = work.join(STAGING);
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| io_error(&staging, e))?;
    }
    for dir in [&work, &staging] {
        match fs::DirBuilder::new().mode(0o700).create(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(io_error(dir, e));
            }
            _ => {}
        }
    }
    for (n, file) in to_write.iter().enumerate() {
        write_file(&staging.join(n.to_string()), &file.contents, file.mode)?;
    }
    let staged_link = |n: usize| staging.join(format!("link-{n}"));
    for (n, link) in links_to_write.iter().enumerate() {
        std::os::unix::fs::symlink(&link.target, staged_link(n))
            .map_err(|e| io_error(&staged_link(n), e))?;
    }
    // 2. Journal: from here on, an interruption is repaired by the next build. It lists every
    //    digest, the private ones too: readable by the build's user only.
    write_atomically(
        &work.join(JOURNAL),
        tree.full_manifest().as_bytes(),
        0o600,
        &work,
    )?;
    // 3. Install file by file, remove stale files, then the manifests (the private one first:
    //    the public one is last, as it was before there were two).
    for (n, file) in to_write.iter().enumerate() {
        let target = root.join(&file.path);
        if let Some(parent) = file.path.parent() {
            make_dirs(root, parent)?;
        }
        fs::rename(staging.join(n.to_string()), &target).map_err(|e| io_error(&target, e))?;
        fault_injection_point();
    }
    // After the files, so a link never names a file not yet in place. A rename replaces a
    // link itself, never what it points to.
    for (n, link) in links_to_write.iter().enumerate() {
        let target = root.join(&link.path);
        if let Some(parent) = link.path.parent() {
            make_dirs(root, parent)?;
        }
        fs::rename(staged_link(n), &target).map_err(|e| io_error(&target, e))?;
        fault_injection_point();
    }
    for path in &to_remove {
        let target = root.join(path);
        fs::remove_file(&target).map_err(|e| io_error(&target, e))?;
        remove_empty_parents(root, &target);
    }
    match &private {
        Some((text, mode)) => {
            write_atomically(&root.join(PRIVATE_MANIFEST), text.as_bytes(), *mode, &work)?
        }
        None => match fs::remove_file(root.join(PRIVATE_MANIFEST)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(&root.join(PRIVATE_MANIFEST), e));
            }
            _ => {}
        },
    }
    write_atomically(&root.join(MANIFEST), manifest.as_bytes(), 0o644, &work)?;
    let directory_modes = fix_dir_modes(root, &tree.directories())?;
    fs::remove_file(work.join(JOURNAL)).map_err(|e| io_error(&work, e))?;
    let _ = fs::remove_dir_all(&work);
    Ok(WriteSummary {
        written: to_write
            .iter()
            .map(|f| f.path.clone())
            .chain(links_to_write.iter().map(|l| l.path.clone()))
            .collect(),
        unchanged,
        removed: to_remove,
        directory_modes,
        recovered,
    })
}

/// A manifest on disk and its mode, when it is a regular file of at most the manifest bound.
fn manifest_on_disk(root: &Path, name: &str) -> Option<(String, u32)> {
    let path = root.join(name);
    let meta = fs::symlink_metadata(&path).ok().filter(|m| m.is_file())?;
    match crate::files::read_bounded(&path, MAX_MANIFEST_BYTES) {
        Ok(crate::files::Bounded::Bytes(bytes)) => String::from_utf8(bytes)
            .ok()
            .map(|text| (text, meta.permissions().mode() & 0o7777)),
        _ => None,
    }
}

/// Test hook (feature `fault-injection`, on in the tests' build only):
/// `PROSE_COMPILE_FAULT_AFTER_RENAMES=N` aborts the process after N renames, the way a kill or
/// power loss would, so tests can prove an interrupted build is repaired.
#[cfg(feature = "fault-injection")]
fn fault_injection_point() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static RENAMES: AtomicUsize = AtomicUsize::new(0);
    if let Some(limit) = std::env::var("PROSE_COMPILE_FAULT_AFTER_RENAMES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        && RENAMES.fetch_add(1, Ordering::SeqCst) + 1 >= limit
    {
        std::process::abort();
    }
}

#[cfg(not(feature = "fault-injection"))]
fn fault_injection_point() {}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), WriteError> {
    // Created with no permission for others, then given its mode explicitly (whatever the
    // umask): a secret is never readable by others, not even while it is being written.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o700)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| io_error(path, e))?;
    file.write_all(contents).map_err(|e| io_error(path, e))?;
    file.sync_all().map_err(|e| io_error(path, e))
}

fn write_atomically(
    path: &Path,
    contents: &[u8],
    mode: u32,
    work: &Path,
) -> Result<(), WriteError> {
    let temp = work.join(format!("tmp-{}", std::process::id()));
    let _ = fs::remove_file(&temp);
    write_file(&temp, contents, mode)?;
    fs::rename(&temp, path).map_err(|e| io_error(path, e))
}

fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}
