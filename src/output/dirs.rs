//! A tree's directories, opened one name at a time relative to the directory above
//! (`openat` with `O_NOFOLLOW`): no path of the tree is ever resolved through a symbolic link,
//! without a `stat` of every segment of every path, and each directory is looked up once per
//! build however many files it holds.
//!
//! Files are read, created, renamed and removed relative to these descriptors
//! ([`read_at`], [`create_at`]), so a file costs one `openat` to read or create, whatever its
//! depth.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use camino::{Utf8Path, Utf8PathBuf};
use rustix::fs::{
    AtFlags, CWD, FileType, Mode, OFlags, RenameFlags, fchmod, fstat, mkdirat, openat, readlinkat,
    renameat, renameat_with, statat,
};
use rustix::io::Errno;

use super::DIR_MODE;
use super::write::{WriteError, io_error};

/// One directory of the tree: its descriptor and its mode, or absent.
struct Entry {
    path: Utf8PathBuf,
    /// `None`: the directory does not exist (yet).
    fd: Option<OwnedFd>,
    mode: u32,
    /// Created by this build (its mode is the one it was created with).
    created: bool,
    /// Created by this build in the work directory, not renamed into the tree yet (it, or a
    /// directory above it, is one of the staged directories of [`Dirs::create_staged`]).
    staged: bool,
}

/// The root of a tree and every directory of it looked up so far, by relative path.
pub(super) struct Dirs {
    root_path: PathBuf,
    entries: Vec<Entry>,
    /// Entries by relative path, as text: hashing and comparing a `Path` goes component by
    /// component (the paths are checked relative paths, one spelling each).
    index: std::collections::HashMap<String, usize>,
}

/// A directory of [`Dirs`] (an index: descriptors stay owned by `Dirs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DirId(usize);

/// The root directory.
pub(super) const ROOT: DirId = DirId(0);

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl Dirs {
    /// Opens the tree's root, creating it (and the directories above it) when `create`; `None`
    /// when it does not exist and `create` is false. Refuses a root that is a symbolic link or
    /// not a directory.
    pub(super) fn open_root(root: &Path, create: bool) -> Result<Option<Dirs>, WriteError> {
        // `out/` would follow a link named `out`: look at the path without its trailing
        // separator.
        let root: PathBuf = root.components().collect();
        let open = |root: &Path| openat(CWD, root, DIR_FLAGS, Mode::empty());
        let fd = match open(&root) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if create => {
                let mut builder = std::fs::DirBuilder::new();
                std::os::unix::fs::DirBuilderExt::mode(builder.recursive(true), DIR_MODE);
                builder.create(&root).map_err(|e| io_error(&root, e))?;
                open(&root).map_err(|e| io_error(&root, e.into()))?
            }
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::NOTDIR | Errno::LOOP) => {
                let is_link = std::fs::symlink_metadata(&root).is_ok_and(|m| m.is_symlink());
                return Err(WriteError::Unsafe(if is_link {
                    format!(
                        "the output directory {} is a symbolic link: give its target instead",
                        root.display()
                    )
                } else {
                    format!(
                        "the output directory {} exists and is not a directory",
                        root.display()
                    )
                }));
            }
            Err(e) => return Err(io_error(&root, e.into())),
        };
        let mode = fstat(&fd).map_err(|e| io_error(&root, e.into()))?.st_mode & 0o7777;
        Ok(Some(Dirs {
            root_path: root,
            entries: vec![Entry {
                path: Utf8PathBuf::new(),
                fd: Some(fd),
                mode,
                created: false,
                staged: false,
            }],
            index: std::collections::HashMap::from([(String::new(), 0)]),
        }))
    }

    pub(super) fn root_path(&self) -> &Path {
        &self.root_path
    }

    /// The descriptor of a directory that exists.
    pub(super) fn fd(&self, dir: DirId) -> BorrowedFd<'_> {
        self.entries[dir.0]
            .fd
            .as_ref()
            .expect("only existing directories are handed out")
            .as_fd()
    }

    /// The relative path of a directory.
    pub(super) fn path_of(&self, dir: DirId) -> &Utf8Path {
        &self.entries[dir.0].path
    }

    /// The root's descriptor (what the lock is taken on).
    pub(super) fn root_fd(&self) -> BorrowedFd<'_> {
        self.fd(ROOT)
    }

    /// The path of `relative` below the root, for messages.
    pub(super) fn display(&self, relative: &Utf8Path) -> PathBuf {
        self.root_path.join(relative)
    }

    /// Looks up the directory `relative` (`""`: the root), opening each segment not looked up
    /// yet; `None` when it (or a directory above it) does not exist. A segment that is a
    /// symbolic link or not a directory is refused.
    pub(super) fn lookup(&mut self, relative: &Utf8Path) -> Result<Option<DirId>, WriteError> {
        if let Some(&i) = self.index.get(relative.as_str()) {
            return Ok(self.entries[i].fd.is_some().then_some(DirId(i)));
        }
        let parent = relative.parent().unwrap_or(Utf8Path::new(""));
        let name = relative.file_name().unwrap_or_default();
        let parent = self.lookup(parent)?;
        let (fd, mode) = match parent {
            None => (None, 0),
            Some(parent) => match openat(self.fd(parent), name, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => {
                    let mode = fstat(&fd)
                        .map_err(|e| io_error(&self.display(relative), e.into()))?
                        .st_mode
                        & 0o7777;
                    (Some(fd), mode)
                }
                Err(Errno::NOENT) => (None, 0),
                Err(Errno::NOTDIR | Errno::LOOP) => {
                    return Err(self.not_a_directory(parent, name, relative));
                }
                Err(e) => return Err(io_error(&self.display(relative), e.into())),
            },
        };
        Ok(self.remember(relative, fd, mode, false))
    }

    /// [`lookup`](Self::lookup), creating what is missing (mode [`DIR_MODE`]).
    pub(super) fn create(&mut self, relative: &Utf8Path) -> Result<DirId, WriteError> {
        if let Some(dir) = self.lookup(relative)? {
            return Ok(dir);
        }
        let parent = self.create(relative.parent().unwrap_or(Utf8Path::new("")))?;
        let name = relative.file_name().unwrap_or_default();
        self.make(parent, name, relative, false)
    }

    /// Whether `dir` is still in the work directory (see [`create_staged`](Self::create_staged)).
    pub(super) fn is_staged(&self, dir: DirId) -> bool {
        self.entries[dir.0].staged
    }

    /// [`create`](Self::create) for a directory of a tree being staged: the highest directory
    /// missing from the tree is made in the work directory `work` instead, as
    /// [`staged_dir_name`]`(n)` where `n` is its place in `staged` (pushed here), and what is
    /// below it inside it. Nothing of it is in the tree until [`install`](Self::install)
    /// renames it into place, whole; a descriptor follows its directory through a rename, so
    /// what `Dirs` knows of these directories stays true.
    pub(super) fn create_staged(
        &mut self,
        relative: &Utf8Path,
        work: DirId,
        staged: &mut Vec<Utf8PathBuf>,
    ) -> Result<DirId, WriteError> {
        if let Some(dir) = self.lookup(relative)? {
            return Ok(dir);
        }
        let parent_path = relative.parent().unwrap_or(Utf8Path::new(""));
        let parent = match self.lookup(parent_path)? {
            Some(parent) => parent,
            None => self.create_staged(parent_path, work, staged)?,
        };
        if self.is_staged(parent) {
            let name = relative.file_name().unwrap_or_default();
            return self.make(parent, name, relative, true);
        }
        staged.push(relative.to_owned());
        self.make(work, &staged_dir_name(staged.len() - 1), relative, true)
    }

    /// Renames the `n`th directory of [`create_staged`](Self::create_staged), `relative`, from
    /// the work directory into the tree; never over anything (a directory that appeared
    /// there during the build is an error, the journal lets the next build finish).
    pub(super) fn install(
        &mut self,
        work: DirId,
        n: usize,
        relative: &Utf8Path,
    ) -> Result<(), WriteError> {
        let parent = self.create(relative.parent().unwrap_or(Utf8Path::new("")))?;
        let name = relative.file_name().unwrap_or_default();
        let (from, to) = (self.fd(work), self.fd(parent));
        let staged = staged_dir_name(n);
        match renameat_with(from, staged.as_str(), to, name, RenameFlags::NOREPLACE) {
            Ok(()) => {}
            // A filesystem without `renameat2`'s flags: `rename(2)` replaces at most an empty
            // directory.
            Err(Errno::INVAL | Errno::NOSYS) => renameat(from, staged.as_str(), to, name)
                .map_err(|e| io_error(&self.display(relative), e.into()))?,
            Err(Errno::EXIST) => {
                return Err(WriteError::Unsafe(format!(
                    "{} appeared during the build: run the build again",
                    self.display(relative).display()
                )));
            }
            Err(e) => return Err(io_error(&self.display(relative), e.into())),
        }
        for entry in &mut self.entries {
            if entry.path.starts_with(relative) {
                entry.staged = false;
            }
        }
        Ok(())
    }

    /// Makes the directory `name` in `at`, known as `relative` from now on (already looked up:
    /// missing).
    fn make(
        &mut self,
        at: DirId,
        name: &str,
        relative: &Utf8Path,
        staged: bool,
    ) -> Result<DirId, WriteError> {
        let path = self.display(relative);
        match mkdirat(self.fd(at), name, Mode::from_raw_mode(DIR_MODE)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(io_error(&path, e.into())),
        }
        let fd = match openat(self.fd(at), name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOTDIR | Errno::LOOP) => {
                return Err(self.not_a_directory(at, name, relative));
            }
            Err(e) => return Err(io_error(&path, e.into())),
        };
        // What the umask left of DIR_MODE (fix_modes makes it exact).
        let mode = DIR_MODE & !umask().unwrap_or(0o777);
        let i = self.index[relative.as_str()];
        self.entries[i] = Entry {
            path: relative.to_owned(),
            fd: Some(fd),
            mode,
            created: true,
            staged,
        };
        Ok(DirId(i))
    }

    fn remember(
        &mut self,
        relative: &Utf8Path,
        fd: Option<OwnedFd>,
        mode: u32,
        created: bool,
    ) -> Option<DirId> {
        let exists = fd.is_some();
        self.entries.push(Entry {
            path: relative.to_owned(),
            fd,
            mode,
            created,
            staged: false,
        });
        let i = self.entries.len() - 1;
        self.index.insert(relative.as_str().to_owned(), i);
        exists.then_some(DirId(i))
    }

    /// Forgets what is known of `relative` (created behind `Dirs`' back): looked up again next.
    pub(super) fn refresh(&mut self, relative: &Utf8Path) {
        if let Some(&i) = self.index.get(relative.as_str()) {
            self.index.remove(relative.as_str());
            self.entries[i].fd = None;
        }
    }

    /// Forgets a directory that was removed (and everything below it).
    pub(super) fn forget(&mut self, relative: &Utf8Path) {
        for entry in &mut self.entries {
            if entry.path.starts_with(relative) {
                entry.fd = None;
            }
        }
    }

    /// Why `name` in `parent` (the tree's `relative`) cannot be opened as a directory.
    fn not_a_directory(&self, parent: DirId, name: &str, relative: &Utf8Path) -> WriteError {
        let is_link = statat(self.fd(parent), name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Symlink);
        let path = self.display(relative);
        WriteError::Unsafe(if is_link {
            format!(
                "{} is a symbolic link: refusing to write through it",
                path.display()
            )
        } else {
            format!("{} is not a directory", path.display())
        })
    }

    /// The directories of `relative_dirs` that exist and whose mode is not [`DIR_MODE`], with
    /// their mode (each was looked up already, or is looked up now).
    pub(super) fn wrong_modes<'a>(
        &mut self,
        relative_dirs: impl Iterator<Item = &'a Utf8Path>,
    ) -> Result<Vec<(Utf8PathBuf, u32)>, WriteError> {
        let mut wrong = Vec::new();
        for dir in relative_dirs {
            if let Some(id) = self.lookup(dir)? {
                let mode = self.entries[id.0].mode;
                if mode != DIR_MODE {
                    wrong.push((dir.to_owned(), mode));
                }
            }
        }
        Ok(wrong)
    }

    /// Sets every directory of `relative_dirs` that exists to exactly [`DIR_MODE`], whatever
    /// the umask was when it was created: the tree is installed with `rsync -a` onto `/`, and a
    /// 0700 `etc/` there would lock everyone out of `/etc`. Returns the directories changed
    /// that existed before this build (a directory the build created is new, not changed).
    pub(super) fn fix_modes<'a>(
        &mut self,
        relative_dirs: impl Iterator<Item = &'a Utf8Path>,
    ) -> Result<Vec<Utf8PathBuf>, WriteError> {
        let mut fixed = Vec::new();
        for (dir, _) in self.wrong_modes(relative_dirs)? {
            let i = self.index[dir.as_str()];
            let path = self.display(&dir);
            fchmod(self.fd(DirId(i)), Mode::from_raw_mode(DIR_MODE))
                .map_err(|e| io_error(&path, e.into()))?;
            self.entries[i].mode = DIR_MODE;
            if !self.entries[i].created {
                fixed.push(dir);
            }
        }
        Ok(fixed)
    }
}

/// The name in the work directory of the `n`th directory [`Dirs::create_staged`] stages.
pub(super) fn staged_dir_name(n: usize) -> String {
    format!("dir-{n}")
}

/// Largest file of the tree read back from the disk: a generated file is at most
/// [`MAX_FILE_BYTES`](crate::targets::MAX_FILE_BYTES), so a larger one is not ours and its first
/// 16 MiB are enough to tell (and to show).
pub(super) const MAX_ON_DISK_BYTES: u64 = 16 << 20;
// A generated file is always read back whole: a file over the read-back bound cannot be one a
// build wrote (else every rebuild would call it edited by hand).
const _: () = assert!(crate::targets::MAX_FILE_BYTES < MAX_ON_DISK_BYTES);

/// A file of the tree as it is on disk: its bytes (at most `limit`) and its mode.
#[derive(Debug)]
pub(super) struct OnDisk {
    pub(super) bytes: Vec<u8>,
    pub(super) mode: u32,
    /// Which file it was, as read (see [`FileId`]).
    pub(super) id: FileId,
}

/// What identifies a file's version: the input record (`super::record`) is written only when
/// every file is still the one this build read or wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId {
    pub(super) dev: u64,
    pub(super) ino: u64,
    pub(super) size: i64,
    pub(super) mtime: (i64, u64),
    pub(super) ctime: (i64, u64),
}

impl FileId {
    pub(super) fn of(stat: &rustix::fs::Stat) -> FileId {
        FileId {
            dev: stat.st_dev,
            ino: stat.st_ino,
            size: stat.st_size,
            mtime: (stat.st_mtime, stat.st_mtime_nsec),
            ctime: (stat.st_ctime, stat.st_ctime_nsec),
        }
    }
}

/// What is at a path of the tree, looked at without following a link.
#[derive(Debug)]
pub(super) enum State {
    Missing,
    /// A regular file: (at most the bound of) its contents, and its mode.
    File(OnDisk),
    /// A symbolic link and the text it holds (never followed).
    Link(String),
    /// A directory or a special file: never read, never replaced.
    Other(&'static str),
}

impl State {
    /// What a diff shows for it.
    pub(super) fn shown(&self) -> Vec<u8> {
        match self {
            State::File(file) => file.bytes.clone(),
            State::Link(target) => super::link_text(target),
            State::Missing | State::Other(_) => Vec::new(),
        }
    }
}

/// Looks at the entry `name` of the directory `dir` without following a link: a regular file
/// is read (at most `limit` bytes: one `openat`, one `fstat`, reads sized from the file), a
/// link's text is read with `readlinkat`; a FIFO, a device or a directory is opened at most
/// (non-blocking), never read. `path` names it in errors.
pub(super) fn look_at(
    dir: BorrowedFd<'_>,
    name: &str,
    path: &Path,
    limit: u64,
) -> Result<State, WriteError> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = match openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(State::Missing),
        Err(Errno::LOOP) => {
            let target = readlinkat(dir, name, Vec::new()).map_err(|e| io_error(path, e.into()))?;
            return Ok(State::Link(target.to_string_lossy().into_owned()));
        }
        // A socket cannot be opened.
        Err(Errno::NXIO) => return Ok(State::Other(SPECIAL)),
        Err(e) => return Err(io_error(path, e.into())),
    };
    let stat = fstat(&fd).map_err(|e| io_error(path, e.into()))?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => {}
        FileType::Directory => return Ok(State::Other("directory")),
        _ => return Ok(State::Other(SPECIAL)),
    }
    let size = (stat.st_size.max(0) as u64).min(limit);
    // One byte more than the size, so a file that grew since is still read to the end in the
    // common case; bounded by `limit` whatever it does.
    let mut bytes = Vec::with_capacity(size as usize + 1);
    File::from(fd)
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    Ok(State::File(OnDisk {
        bytes,
        mode: stat.st_mode & 0o7777,
        id: FileId::of(&stat),
    }))
}

const SPECIAL: &str = "special file (not a regular file)";

/// Reads the file `name` of the directory `dir`: `None` when there is none. Only a regular file
/// reached without a link is read (a FIFO would block, a device never end, a link lead out of
/// the tree): anything else is refused, naming `path`.
pub(super) fn read_at(
    dir: BorrowedFd<'_>,
    name: &str,
    path: &Path,
    limit: u64,
) -> Result<Option<OnDisk>, WriteError> {
    match look_at(dir, name, path, limit)? {
        State::Missing => Ok(None),
        State::File(file) => Ok(Some(file)),
        State::Link(_) => Err(WriteError::Unsafe(format!(
            "{} is a symbolic link: refusing to replace it",
            path.display()
        ))),
        State::Other(kind) => Err(WriteError::Unsafe(format!(
            "{} is a {kind}: refusing to replace it",
            path.display()
        ))),
    }
}

/// Creates the new file `name` in `dir` with exactly `mode` (it must not exist): created with
/// its mode, so it is never more readable than that; `fchmod` only when the umask took bits
/// away. Returns what the file is once written (a rename changes its ctime, nothing else).
pub(super) fn create_at(
    dir: BorrowedFd<'_>,
    name: &str,
    contents: &[u8],
    mode: u32,
    path: &Path,
) -> Result<FileId, WriteError> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = openat(dir, name, flags, Mode::from_raw_mode(mode))
        .map_err(|e| io_error(path, e.into()))?;
    if umask().is_none_or(|umask| mode & umask != 0) {
        fchmod(&fd, Mode::from_raw_mode(mode)).map_err(|e| io_error(path, e.into()))?;
    }
    let mut file = File::from(fd);
    file.write_all(contents).map_err(|e| io_error(path, e))?;
    let stat = fstat(&file).map_err(|e| io_error(path, e.into()))?;
    Ok(FileId::of(&stat))
}

/// The process's umask, read once from `/proc/self/status` (reading it with `umask(2)` means
/// setting it, which would race with the other threads creating files); `None` when unknown.
/// One `read` of the file's start: `Umask:` is its second line, after `Name:` (at most 64
/// bytes, escaped), where `read_to_string` would take eight reads of the whole file.
fn umask() -> Option<u32> {
    static UMASK: OnceLock<Option<u32>> = OnceLock::new();
    *UMASK.get_or_init(|| {
        let mut start = [0u8; 256];
        let read = File::open("/proc/self/status")
            .ok()?
            .read(&mut start)
            .ok()?;
        // Up to the last whole character (the read may end inside one).
        let start = &start[..read];
        let status = std::str::from_utf8(start)
            .or_else(|e| std::str::from_utf8(&start[..e.valid_up_to()]))
            .ok()?;
        let line = status.lines().find(|l| l.starts_with("Umask:"))?;
        u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_umask_is_read_without_changing_it() {
        let umask = umask().expect("Linux reports the umask in /proc/self/status");
        // SAFETY: umask(2) cannot fail; set back at once (tests of this module only).
        let actual = unsafe { libc::umask(0o022) };
        unsafe { libc::umask(actual) };
        assert_eq!(umask, actual as u32);
    }

    #[test]
    fn directories_are_opened_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let mut dirs = Dirs::open_root(&root, true).unwrap().expect("created");
        assert!(dirs.lookup(Utf8Path::new("a/b")).unwrap().is_none());
        let b = dirs.create(Utf8Path::new("a/b")).unwrap();
        create_at(dirs.fd(b), "f", b"x", 0o640, Path::new("f")).unwrap();
        let meta = std::fs::metadata(root.join("a/b/f")).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
            0o640
        );
        let read = read_at(dirs.fd(b), "f", Path::new("f"), 100)
            .unwrap()
            .unwrap();
        assert_eq!((read.bytes, read.mode), (b"x".to_vec(), 0o640));
        assert!(
            read_at(dirs.fd(b), "g", Path::new("g"), 100)
                .unwrap()
                .is_none()
        );
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        let mut fresh = Dirs::open_root(&root, false).unwrap().unwrap();
        let Err(error) = fresh.lookup(Utf8Path::new("link/x")) else {
            panic!("a link is refused")
        };
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        let Err(error) = read_at(fresh.fd(ROOT), "link", Path::new("link"), 100) else {
            panic!("a link is refused")
        };
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        assert!(Dirs::open_root(&root.join("link"), true).is_err());
    }
}
