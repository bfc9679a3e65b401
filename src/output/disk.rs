//! Looking at the output directory before touching it: no symbolic link is written through,
//! no special file is read, nothing larger than a generated file could be is read.

use std::fs;
use std::path::{Path, PathBuf};

use camino::{Utf8Path, Utf8PathBuf};

use super::write::{WriteError, io_error};
use super::{DIR_MODE, WORK_DIR};

/// Refuses output directories (or parents inside them) that are symlinks or not directories,
/// so nothing is ever written outside the tree through a link.
pub(super) fn check_no_links(root: &Path, relative: &camino::Utf8Path) -> Result<(), WriteError> {
    check_parents(root, relative)?;
    let file = root.join(relative);
    if let Ok(meta) = fs::symlink_metadata(&file)
        && !meta.is_file()
    {
        return Err(WriteError::Unsafe(format!(
            "{} is a {}: refusing to replace it",
            file.display(),
            kind_of(&meta)
        )));
    }
    Ok(())
}

/// Refuses a path whose directories (inside the tree) are symbolic links or not directories.
pub(super) fn check_parents(root: &Path, relative: &camino::Utf8Path) -> Result<(), WriteError> {
    let mut here = root.to_owned();
    let segments: Vec<&str> = relative.as_str().split('/').collect();
    for segment in &segments[..segments.len().saturating_sub(1)] {
        here.push(segment);
        match fs::symlink_metadata(&here) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(WriteError::Unsafe(format!(
                    "{} is a symbolic link: refusing to write through it",
                    here.display()
                )));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(WriteError::Unsafe(format!(
                    "{} is not a directory",
                    here.display()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

fn kind_of(meta: &fs::Metadata) -> &'static str {
    if meta.is_dir() {
        "directory"
    } else if meta.file_type().is_symlink() {
        "symbolic link"
    } else if meta.is_file() {
        "regular file"
    } else {
        "special file (not a regular file)"
    }
}

/// What is at a path of the tree, looked at without following a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OnDisk {
    Missing,
    /// A regular file and (at most [`MAX_ON_DISK_BYTES`] of) its contents.
    File(Vec<u8>),
    /// A symbolic link and the text it holds.
    Link(String),
    /// A directory or a special file: never replaced.
    Other(&'static str),
}

impl OnDisk {
    /// What a diff shows for it.
    pub(super) fn shown(&self) -> Vec<u8> {
        match self {
            OnDisk::File(bytes) => bytes.clone(),
            OnDisk::Link(target) => super::link_text(target),
            OnDisk::Missing | OnDisk::Other(_) => Vec::new(),
        }
    }
}

pub(super) fn on_disk(path: &Path) -> Result<OnDisk, WriteError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OnDisk::Missing),
        Err(e) => return Err(io_error(path, e)),
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path).map_err(|e| io_error(path, e))?;
        return Ok(OnDisk::Link(target.to_string_lossy().into_owned()));
    }
    if meta.is_file() {
        return read_on_disk(path)
            .map(OnDisk::File)
            .map_err(|e| io_error(path, e));
    }
    Ok(OnDisk::Other(kind_of(&meta)))
}

/// Largest file of the tree read back from the disk: a generated file is at most
/// [`MAX_FILE_BYTES`](crate::targets::MAX_FILE_BYTES), so a larger one is not ours and its first
/// 16 MiB are enough to tell (and to show).
const MAX_ON_DISK_BYTES: u64 = 16 << 20;
// A generated file is always read back whole: a file over the read-back bound cannot be one a
// build wrote (else every rebuild would call it edited by hand).
const _: () = assert!(crate::targets::MAX_FILE_BYTES < MAX_ON_DISK_BYTES);

/// A file of the tree as it is on disk: only a regular file (a FIFO would block, a device never
/// end), and at most [`MAX_ON_DISK_BYTES`] of it.
pub(super) fn read_on_disk(path: &Path) -> std::io::Result<Vec<u8>> {
    if !fs::metadata(path)?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    use std::io::Read as _;
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_ON_DISK_BYTES)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

pub(super) fn check_root(root: &Path) -> Result<(), WriteError> {
    // `out/` (as `out`.join("") gives) would make the checks below follow a link named `out`:
    // look at the path without its trailing separator.
    let root = &root.components().collect::<PathBuf>();
    // The work directory is removed and recreated by a build: through a link, that would
    // delete and write files outside the tree.
    let work = root.join(WORK_DIR);
    match fs::symlink_metadata(&work) {
        Ok(meta) if meta.file_type().is_symlink() || !meta.is_dir() => {
            return Err(WriteError::Unsafe(format!(
                "{} is a {}, not the build's work directory: remove it",
                work.display(),
                if meta.file_type().is_symlink() {
                    "symbolic link"
                } else {
                    "file"
                }
            )));
        }
        _ => {}
    }
    match fs::symlink_metadata(root) {
        Ok(meta) if meta.file_type().is_symlink() => Err(WriteError::Unsafe(format!(
            "the output directory {} is a symbolic link: give its target instead",
            root.display()
        ))),
        Ok(meta) if !meta.is_dir() => Err(WriteError::Unsafe(format!(
            "the output directory {} exists and is not a directory",
            root.display()
        ))),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(root, e)),
        _ => Ok(()),
    }
}

/// Creates `root` (and the directories above it) and `relative` below it, each new directory
/// with mode [`DIR_MODE`] as far as the umask lets it ([`fix_dir_modes`] makes it exact).
pub(super) fn make_dirs(root: &Path, relative: &Utf8Path) -> Result<(), WriteError> {
    use std::os::unix::fs::DirBuilderExt;
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true).mode(DIR_MODE);
    let dir = root.join(relative);
    builder.create(&dir).map_err(|e| io_error(&dir, e))
}

/// Sets every directory of the tree that exists (`""` is the root) to exactly [`DIR_MODE`],
/// whatever the umask was when it was created: the tree is installed with `rsync -a` onto `/`,
/// and a 0700 `etc/` there would lock everyone out of `/etc`. Returns the directories changed.
pub(super) fn fix_dir_modes(
    root: &Path,
    dirs: &std::collections::BTreeSet<Utf8PathBuf>,
) -> Result<Vec<Utf8PathBuf>, WriteError> {
    use std::os::unix::fs::PermissionsExt;
    let mut fixed = Vec::new();
    for dir in dirs {
        let path = root.join(dir);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() && meta.permissions().mode() & 0o7777 != DIR_MODE {
            fs::set_permissions(&path, fs::Permissions::from_mode(DIR_MODE))
                .map_err(|e| io_error(&path, e))?;
            fixed.push(dir.clone());
        }
    }
    Ok(fixed)
}

/// The directories of the tree whose mode is not [`DIR_MODE`], with their mode.
pub(super) fn dir_modes_to_fix(
    root: &Path,
    dirs: &std::collections::BTreeSet<Utf8PathBuf>,
) -> Vec<(Utf8PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    dirs.iter()
        .filter_map(|dir| {
            let meta = fs::symlink_metadata(root.join(dir)).ok()?;
            let mode = meta.permissions().mode() & 0o7777;
            (meta.is_dir() && mode != DIR_MODE).then(|| (dir.clone(), mode))
        })
        .collect()
}
