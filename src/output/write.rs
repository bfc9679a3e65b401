//! Writing a tree: staged, journaled, renamed into place, manifest last (see the module
//! documentation of `output`).

use std::fs;
use std::path::{Path, PathBuf};

use camino::{Utf8Path, Utf8PathBuf};
use rustix::fs::{AtFlags, Mode, mkdirat, renameat, symlinkat, syncfs, unlinkat};
use rustix::io::Errno;

use super::dirs::{
    DirId, Dirs, MAX_ON_DISK_BYTES, OnDisk, ROOT, State, create_at, look_at, read_at,
};
use super::lock::{Access, lock_dir};
use super::manifest::{JOURNAL, Ownership, sha256_hex};
use super::record::{RecordInput, Seen, remove_record, write_record};
use super::{MANIFEST, OutputTree, PRIVATE_MANIFEST, WORK_DIR, link_text, unified_diff};
use crate::targets::GeneratedLink;

/// How a tree is written.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions<'a> {
    /// Overwrite generated files edited by hand.
    pub force: bool,
    /// How long to wait for another build of the same tree.
    pub lock_wait: std::time::Duration,
    /// `--durable`: the tree is on disk when the build returns, and a power cut during it is
    /// repaired by the next build like a kill (two `syncfs` per tree: after staging, at the
    /// end). Without it nothing is synced: a kill is still repaired (the page cache outlives
    /// the process), a power cut may leave files empty, which the next build reports.
    pub durable: bool,
    /// Leave an input record (`super::record`) for the next build, written last; `None`
    /// removes any record and leaves no work directory behind.
    pub record: Option<RecordInput<'a>>,
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
            durable: false,
            record: None,
        },
    )
}

/// [`write`] with every option.
pub fn write_with(
    tree: &OutputTree,
    root: &Path,
    options: &WriteOptions<'_>,
) -> Result<WriteSummary, WriteError> {
    let force = options.force;
    let Some(mut dirs) = Dirs::open_root(root, true)? else {
        unreachable!("open_root creates the root")
    };
    // Held until the manifest is written (released with the root's descriptor on return, or
    // with the process).
    lock_dir(
        dirs.root_fd(),
        dirs.root_path(),
        Access::Exclusive,
        options.lock_wait,
    )?;
    let work = open_work_dir(&mut dirs)?;
    let ownership = Ownership::read(&dirs, work)?;
    let recovered = ownership.pending.is_some();

    // Refuse to overwrite hand edits and files we never generated.
    let mut edits = Vec::new();
    let mut unchanged = Vec::new();
    let mut to_write = Vec::new();
    // Which version of each file this build compared or wrote: the input record is written
    // only if they are still there at the end.
    let mut seen = Vec::new();
    for file in tree.files() {
        match read_tree_file(&mut dirs, &file.path)? {
            Some(old) if old.bytes == file.contents && old.mode == file.mode => {
                unchanged.push(file.path.clone());
                seen.push(Seen::read(&file.path, old.id));
            }
            Some(old) => {
                if !force && !ownership.owns(&file.path, &sha256_hex(&old.bytes)) {
                    edits.push(HandEdit {
                        path: file.path.clone(),
                        diff: unified_diff(&file.path, &old.bytes, &file.contents, usize::MAX).0,
                        was_generated: ownership.listed(&file.path),
                    });
                }
                to_write.push(file);
            }
            None => to_write.push(file),
        }
    }
    // A link is replaced when it is missing, or when what is there is ours: never followed.
    let mut links_to_write: Vec<&GeneratedLink> = Vec::new();
    for link in tree.links() {
        let state = look_tree_entry(&mut dirs, &link.path)?;
        let ours = link.target.as_str();
        let owned = match &state {
            State::Missing => true,
            State::Link(target) if target == ours => {
                unchanged.push(link.path.clone());
                continue;
            }
            State::Link(target) => ownership.owns_link(&link.path, target),
            State::File(old) => ownership.owns(&link.path, &sha256_hex(&old.bytes)),
            State::Other(kind) => {
                return Err(WriteError::Unsafe(format!(
                    "{} is a {kind}: refusing to replace it",
                    dirs.display(&link.path).display()
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
    let stale = ownership.stale(tree);
    let mut to_remove = Vec::new();
    for path in stale {
        let state = look_tree_entry(&mut dirs, path)?;
        let owned = match &state {
            State::Missing => continue,
            State::File(old) => ownership.owns(path, &sha256_hex(&old.bytes)),
            State::Link(target) => ownership.owns_link(path, target),
            State::Other(kind) => {
                return Err(WriteError::Unsafe(format!(
                    "{} is a {kind}: refusing to remove it",
                    dirs.display(path).display()
                )));
            }
        };
        if !force && !owned {
            edits.push(HandEdit {
                path: path.clone(),
                diff: unified_diff(path, &state.shown(), b"", usize::MAX).0,
                was_generated: true,
            });
        }
        to_remove.push(path.clone());
    }
    if !edits.is_empty() {
        return Err(WriteError::HandEdited(edits));
    }

    let manifests = tree.manifests();
    let directories = tree.directories();
    let (manifest, private) = (&manifests.public, &manifests.private);
    let manifests_current = ownership
        .public
        .as_ref()
        .is_some_and(|(text, mode)| text == manifest && *mode == 0o644)
        && ownership.private == *private;
    if to_write.is_empty()
        && links_to_write.is_empty()
        && to_remove.is_empty()
        && manifests_current
        && !recovered
    {
        let directory_modes = dirs.fix_modes(directories.iter().copied())?;
        // Up to date, yet the next build could not tell from the record: (re)write it.
        match options.record {
            Some(input) => leave_record(&mut dirs, work, tree, &directories, input, &seen),
            None => remove_record(&dirs, work)?,
        }
        if options.durable {
            sync(&dirs)?;
        }
        return Ok(WriteSummary {
            unchanged,
            directory_modes,
            ..Default::default()
        });
    }

    // 0. From here on the tree changes: the record of the last build goes first.
    remove_record(&dirs, work)?;
    // 1. Stage, in a work directory only the build's user can enter: a file whose directory
    //    is in the tree alone (renamed into it in step 3), a directory the tree does not have
    //    yet whole, with its files in place (one rename in step 3 for all of them: a fresh tree
    //    takes a rename per top-level directory, not one per file).
    let work = match work {
        Some(work) => {
            clear_work_dir(&dirs)?;
            work
        }
        None => create_work_dir(&mut dirs)?,
    };
    let mut staged_dirs: Vec<Utf8PathBuf> = Vec::new();
    // Which files and links are staged alone (the others are in a staged directory).
    let mut alone = Vec::with_capacity(to_write.len());
    for (n, file) in to_write.iter().enumerate() {
        let (dir, name, staged_alone) = staging_place(
            &mut dirs,
            work,
            &file.path,
            || staged_name(n),
            &mut staged_dirs,
        )?;
        alone.push(staged_alone);
        let path = dirs.display(&dirs.path_of(dir).join(&name));
        let id = create_at(dirs.fd(dir), &name, &file.contents, file.mode, &path)?;
        seen.push(Seen::written(&file.path, id));
    }
    let mut links_alone = Vec::with_capacity(links_to_write.len());
    for (n, link) in links_to_write.iter().enumerate() {
        let (dir, name, staged_alone) = staging_place(
            &mut dirs,
            work,
            &link.path,
            || staged_link_name(n),
            &mut staged_dirs,
        )?;
        links_alone.push(staged_alone);
        symlinkat(link.target.as_str(), dirs.fd(dir), name.as_str())
            .map_err(|e| io_error(&dirs.display(&dirs.path_of(dir).join(&name)), e.into()))?;
    }
    // 2. Journal: from here on, an interruption is repaired by the next build. It lists every
    //    digest, the private ones too: readable by the build's user only.
    write_atomically(
        &dirs,
        work,
        (work, JOURNAL),
        manifests.full.as_bytes(),
        0o600,
    )?;
    // `--durable`: the staged files and the journal reach the disk before anything is renamed
    // into place, so a power cut from here on is repaired like a kill.
    if options.durable {
        sync(&dirs)?;
    }
    // 3. Install: the files staged alone, the staged directories (those holding links last),
    //    then the links staged alone, so a link never names a file not yet in place; remove
    //    stale files, then the manifests (the private one first: the public one is last, as it
    //    was before there were two).
    for (n, file) in to_write.iter().enumerate().filter(|(n, _)| alone[*n]) {
        let parent = file.path.parent().unwrap_or(Utf8Path::new(""));
        let dir = dirs.create(parent)?;
        let name = file.path.file_name().unwrap_or_default();
        renameat(dirs.fd(work), staged_name(n), dirs.fd(dir), name)
            .map_err(|e| io_error(&dirs.display(&file.path), e.into()))?;
        fault_injection_point();
    }
    let holds_links = |dir: &Utf8Path| {
        (links_to_write.iter().zip(&links_alone))
            .any(|(link, alone)| !alone && link.path.starts_with(dir))
    };
    let (with_links, without): (Vec<_>, Vec<_>) = staged_dirs
        .iter()
        .enumerate()
        .partition(|(_, dir)| holds_links(dir));
    for (n, dir) in without.into_iter().chain(with_links) {
        dirs.install(work, n, dir)?;
        fault_injection_point();
    }
    // A rename replaces a link itself, never what it points to.
    for (n, link) in links_to_write
        .iter()
        .enumerate()
        .filter(|(n, _)| links_alone[*n])
    {
        let parent = link.path.parent().unwrap_or(Utf8Path::new(""));
        let dir = dirs.create(parent)?;
        let name = link.path.file_name().unwrap_or_default();
        renameat(dirs.fd(work), staged_link_name(n), dirs.fd(dir), name)
            .map_err(|e| io_error(&dirs.display(&link.path), e.into()))?;
        fault_injection_point();
    }
    for path in &to_remove {
        remove_file(&mut dirs, path)?;
    }
    match private {
        Some((text, mode)) => write_atomically(
            &dirs,
            work,
            (ROOT, PRIVATE_MANIFEST),
            text.as_bytes(),
            *mode,
        )?,
        None => match unlinkat(dirs.root_fd(), PRIVATE_MANIFEST, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => {
                return Err(io_error(
                    &dirs.display(Utf8Path::new(PRIVATE_MANIFEST)),
                    e.into(),
                ));
            }
        },
    }
    write_atomically(&dirs, work, (ROOT, MANIFEST), manifest.as_bytes(), 0o644)?;
    let directory_modes = dirs.fix_modes(directories.iter().copied())?;
    unlinkat(dirs.fd(work), JOURNAL, AtFlags::empty())
        .map_err(|e| io_error(&dirs.display(Utf8Path::new(WORK_DIR)), e.into()))?;
    // 4. The record of this build, last; without one, no work directory is left.
    match options.record {
        Some(input) => leave_record(&mut dirs, Some(work), tree, &directories, input, &seen),
        None => {
            let _ = unlinkat(dirs.root_fd(), WORK_DIR, AtFlags::REMOVEDIR);
        }
    }
    if options.durable {
        sync(&dirs)?;
    }
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

/// Leaves the input record of `tree` for the next build, at best: a record is an
/// optimisation, and a tree this build cannot write into (an installed tree it found up to
/// date) still builds; without a record, the next build compares in full. (Removing the
/// previous record before changing the tree is no optimisation: that one is never skipped.)
fn leave_record(
    dirs: &mut Dirs,
    work: Option<DirId>,
    tree: &OutputTree,
    directories: &[&Utf8Path],
    input: RecordInput<'_>,
    seen: &[Seen],
) {
    let work = match work {
        Some(work) => work,
        None => match create_work_dir(dirs) {
            Ok(work) => work,
            Err(_) => return,
        },
    };
    let _ = write_record(dirs, work, tree, directories, input, seen);
}

/// `--durable`: everything written so far on the tree's filesystem reaches the disk (one
/// `syncfs`, not an `fsync` per file).
fn sync(dirs: &Dirs) -> Result<(), WriteError> {
    syncfs(dirs.root_fd()).map_err(|e| io_error(dirs.root_path(), e.into()))
}

/// The file `path` of the tree on disk, read without following a link; `None` when it (or its
/// directory) does not exist.
pub(super) fn read_tree_file(
    dirs: &mut Dirs,
    path: &Utf8Path,
) -> Result<Option<OnDisk>, WriteError> {
    let parent = path.parent().unwrap_or(Utf8Path::new(""));
    let Some(dir) = dirs.lookup(parent)? else {
        return Ok(None);
    };
    let name = path.file_name().unwrap_or_default();
    read_at(dirs.fd(dir), name, &dirs.display(path), MAX_ON_DISK_BYTES)
}

/// What is at `path` of the tree, looked at without following a link (a link in one of its
/// directories is refused).
pub(super) fn look_tree_entry(dirs: &mut Dirs, path: &Utf8Path) -> Result<State, WriteError> {
    let parent = path.parent().unwrap_or(Utf8Path::new(""));
    let Some(dir) = dirs.lookup(parent)? else {
        return Ok(State::Missing);
    };
    let name = path.file_name().unwrap_or_default();
    look_at(dirs.fd(dir), name, &dirs.display(path), MAX_ON_DISK_BYTES)
}

/// Removes a stale file, then its directories left empty (up to the root).
fn remove_file(dirs: &mut Dirs, path: &Utf8Path) -> Result<(), WriteError> {
    let parent = path.parent().unwrap_or(Utf8Path::new(""));
    let Some(dir) = dirs.lookup(parent)? else {
        return Ok(());
    };
    let name = path.file_name().unwrap_or_default();
    unlinkat(dirs.fd(dir), name, AtFlags::empty())
        .map_err(|e| io_error(&dirs.display(path), e.into()))?;
    let mut here = parent;
    while let Some(above) = here.parent() {
        let Some(above_id) = dirs.lookup(above)? else {
            break;
        };
        let name = here.file_name().unwrap_or_default();
        if unlinkat(dirs.fd(above_id), name, AtFlags::REMOVEDIR).is_err() {
            break;
        }
        dirs.forget(here);
        here = above;
    }
    Ok(())
}

/// The work directory an interrupted build left (a finished build removes it), if any;
/// refused when it is a link or not a directory (it is emptied and written into).
pub(super) fn open_work_dir(dirs: &mut Dirs) -> Result<Option<DirId>, WriteError> {
    dirs.lookup(Utf8Path::new(WORK_DIR))
        .map_err(|error| match error {
            WriteError::Unsafe(_) => {
                let path = dirs.display(Utf8Path::new(WORK_DIR));
                let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
                WriteError::Unsafe(format!(
                    "{} is a {}, not the build's work directory: remove it",
                    path.display(),
                    if is_link { "symbolic link" } else { "file" }
                ))
            }
            other => other,
        })
}

/// Creates the work directory, which only the build's user can enter.
fn create_work_dir(dirs: &mut Dirs) -> Result<DirId, WriteError> {
    let work = Utf8Path::new(WORK_DIR);
    match mkdirat(dirs.root_fd(), WORK_DIR, Mode::from_raw_mode(0o700)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(io_error(&dirs.display(work), e.into())),
    }
    dirs.refresh(work);
    open_work_dir(dirs)?.ok_or_else(|| {
        io_error(
            &dirs.display(work),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    })
}

/// Removes what an interrupted build left in the work directory but its journal: staged files
/// (and the `staging/` directory of earlier versions).
fn clear_work_dir(dirs: &Dirs) -> Result<(), WriteError> {
    let path = dirs.display(Utf8Path::new(WORK_DIR));
    let entries = fs::read_dir(&path).map_err(|e| io_error(&path, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(&path, e))?;
        if entry.file_name() == JOURNAL {
            continue;
        }
        let leftover = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            fs::remove_dir_all(&leftover)
        } else {
            fs::remove_file(&leftover)
        };
        removed.map_err(|e| io_error(&leftover, e))?;
    }
    Ok(())
}

/// Where a new file or link at `path` is staged, as (directory, name, staged alone): alone in
/// the work directory under `alone_name` when its directory is in the tree (renamed into it
/// on its own), else under its own name in its directory, itself staged (see
/// [`Dirs::create_staged`]).
fn staging_place(
    dirs: &mut Dirs,
    work: DirId,
    path: &Utf8Path,
    alone_name: impl FnOnce() -> String,
    staged_dirs: &mut Vec<Utf8PathBuf>,
) -> Result<(DirId, String, bool), WriteError> {
    let parent = path.parent().unwrap_or(Utf8Path::new(""));
    let dir = match dirs.lookup(parent)? {
        Some(dir) if !dirs.is_staged(dir) => return Ok((work, alone_name(), true)),
        Some(dir) => dir,
        None => dirs.create_staged(parent, work, staged_dirs)?,
    };
    Ok((dir, path.file_name().unwrap_or_default().to_owned(), false))
}

/// The name of the `n`th staged file in the work directory.
fn staged_name(n: usize) -> String {
    format!("new-{n}")
}

/// The name of the `n`th staged link in the work directory.
fn staged_link_name(n: usize) -> String {
    format!("link-{n}")
}

/// Writes `contents` to `name` in `dir` atomically: staged in the work directory, renamed over.
fn write_atomically(
    dirs: &Dirs,
    work: DirId,
    (dir, name): (DirId, &str),
    contents: &[u8],
    mode: u32,
) -> Result<(), WriteError> {
    const TEMP: &str = "new";
    let temp = dirs.display(&Utf8Path::new(WORK_DIR).join(TEMP));
    create_at(dirs.fd(work), TEMP, contents, mode, &temp)?;
    renameat(dirs.fd(work), TEMP, dirs.fd(dir), name)
        .map_err(|e| io_error(&dirs.display(&dirs.path_of(dir).join(name)), e.into()))
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
