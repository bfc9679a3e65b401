//! Reading files found on disk: never more than a bound, so that a link to `/dev/zero`, a huge
//! file or a growing one cannot exhaust the memory; and, for the files the tool finds by itself
//! (the `prose.env` beside a pod, the files of a template directory, a tree's manifest), only
//! regular files reached without a symbolic link, so a pull request cannot make the tool read
//! (and print) `/etc/shadow` or block on a FIFO.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What [`read_bounded`] found.
pub enum Bounded {
    /// The whole file, within the limit.
    Bytes(Vec<u8>),
    /// The file is larger than the limit: its size when it is a regular file (not a device
    /// or a pipe), and the beginning of its first line (lossy, at most 200 bytes) so a
    /// diagnostic can show where it is.
    TooLarge {
        size: Option<u64>,
        first_line: String,
    },
}

/// Reads at most `limit` bytes of `path` (never more, even from a device or a growing file).
/// For inputs named on the command line: a link is followed, a pipe is read.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Bounded> {
    read_limited(std::fs::File::open(path)?, path, limit)
}

/// [`read_bounded`] for a file the tool found by itself: refused (an error saying why) when it
/// is a symbolic link or not a regular file.
pub fn read_found(path: &Path, limit: u64) -> std::io::Result<Bounded> {
    read_limited(open_found(path)?, path, limit)
}

/// Opens a file the tool found by itself for reading: never through a symbolic link (the last
/// component; `O_NOFOLLOW`), never blocking on a FIFO (`O_NONBLOCK`), and only a regular file.
pub fn open_found(path: &Path) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refused(path, "is a symbolic link"),
            _ => e,
        })?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(refused(
            path,
            if kind.is_dir() {
                "is a directory"
            } else {
                "is not a regular file (a FIFO, a socket or a device)"
            },
        ));
    }
    Ok(file)
}

/// Why a file found on disk is not read: the error names the path and the fix.
fn refused(path: &Path, what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "{} {what}: refusing to read it (only regular files are read from where the tool \
             looks by itself)",
            path.display().to_string().escape_debug()
        ),
    )
}

/// Whether an error is one of [`open_found`]'s refusals (not a plain I/O failure).
pub fn is_refusal(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::InvalidInput
        && error.to_string().contains("refusing to read it")
}

/// The input files of one pod, each read once: the digest its tree's record keeps
/// (`pipeline::inputs`) and the configuration the tree is built from are then the same bytes,
/// even when a file changes during the build. (Read twice, a tree built from an edit made
/// between the reads was recorded under the digest of the file before it, and taken as up to
/// date once the edit was undone.) Only what was read is kept: a reader that met an error
/// reads again, and reports it.
#[derive(Default)]
pub struct Reads {
    kept: Vec<(PathBuf, Option<Bounded>)>,
}

impl Reads {
    /// [`read_bounded`], kept for the next reader of `path`.
    pub fn read_bounded(&mut self, path: &Path, limit: u64) -> std::io::Result<&Bounded> {
        let read = read_bounded(path, limit)?;
        Ok(self.keep(path, Some(read)).expect("just kept"))
    }

    /// [`read_found`], kept for the next reader of `path`; `Ok(None)` when nothing is there
    /// (not even a link), which is kept too.
    pub fn read_found(&mut self, path: &Path, limit: u64) -> std::io::Result<Option<&Bounded>> {
        match read_found(path, limit) {
            Ok(read) => Ok(self.keep(path, Some(read))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(self.keep(path, None)),
            Err(e) => Err(e),
        }
    }

    /// What an earlier reader found at `path`, handed over: `Some(None)` when it found nothing
    /// there, `None` when no reader kept anything of it.
    pub fn take(&mut self, path: &Path) -> Option<Option<Bounded>> {
        let at = self.kept.iter().position(|(kept, _)| kept == path)?;
        Some(self.kept.swap_remove(at).1)
    }

    fn keep(&mut self, path: &Path, read: Option<Bounded>) -> Option<&Bounded> {
        self.kept.retain(|(kept, _)| kept != path);
        self.kept.push((path.to_owned(), read));
        self.kept.last().and_then(|(_, read)| read.as_ref())
    }
}

fn read_limited(file: File, path: &Path, limit: u64) -> std::io::Result<Bounded> {
    let metadata = file.metadata().ok();
    let is_file = metadata.as_ref().is_some_and(|m| m.is_file());
    // Room for the whole file (up to the limit) and one byte more: one read takes it all and
    // the next sees its end (`take` hides the size, so `read_to_end` would otherwise probe
    // with a 32-byte read and double from there: nine reads for a 2 KB prose.toml).
    let expected = metadata
        .filter(|_| is_file)
        .map_or(0, |m| m.len().min(limit));
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0) + 1);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 <= limit {
        return Ok(Bounded::Bytes(bytes));
    }
    let size = is_file
        .then(|| std::fs::metadata(path).ok())
        .flatten()
        .map(|m| m.len().max(limit + 1));
    let head = &bytes[..bytes.len().min(200)];
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    Ok(Bounded::TooLarge {
        size,
        first_line: String::from_utf8_lossy(line).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_read_stops_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'#'; 100]).unwrap();
        assert!(matches!(read_bounded(&path, 100).unwrap(), Bounded::Bytes(b) if b.len() == 100));
        assert!(matches!(
            read_bounded(&path, 99).unwrap(),
            Bounded::TooLarge {
                size: Some(100),
                ..
            }
        ));
        // A device that never ends is cut at the limit.
        if Path::new("/dev/zero").exists() {
            assert!(matches!(
                read_bounded(Path::new("/dev/zero"), 1000).unwrap(),
                Bounded::TooLarge { size: None, .. }
            ));
        }
    }

    #[test]
    fn files_found_by_the_tool_are_regular_files_reached_without_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("prose.env");
        std::fs::write(&file, "A=1\n").unwrap();
        assert!(matches!(read_found(&file, 100).unwrap(), Bounded::Bytes(b) if b == b"A=1\n"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let error = read_found(&link, 100).err().expect("a link is refused");
        assert!(is_refusal(&error), "{error}");
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let error = read_found(&fifo, 100)
            .err()
            .expect("a FIFO is refused, without blocking");
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let error = read_found(dir.path(), 100)
            .err()
            .expect("a directory is refused");
        assert!(error.to_string().contains("is a directory"), "{error}");
    }
}
