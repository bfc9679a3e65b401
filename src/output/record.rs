//! The input record (`.prose-compile/inputs`): what lets a build of an up-to-date tree stop
//! after comparing digests and file metadata, without loading, rendering or reading the tree.
//!
//! It holds the digest of everything the last build's output depended on (computed by the
//! pipeline: tool and format version, platform, every input's bytes, the `PROSE_*`
//! variables, `--set`, `--templates`), the caller's summary of the written pod (the audit
//! counts: never a secret), and the metadata of every entry of the tree as the build left it:
//! each directory (the root included), file, link and manifest, by (device, inode, mode,
//! size, mtime, ctime). A hand edit changes a file's ctime, which user space cannot set back
//! (`touch` sets only atime and mtime), or its inode (an editor that saves by renaming);
//! creating, removing or renaming anything in a directory changes that directory's mtime.
//!
//! Written last by a build (after the manifests, under the tree's lock), removed first when
//! a build starts changing the tree (before anything is staged), so a killed build never
//! leaves a record that says "up to date". Readable by the build's user only (0600 in the
//! 0700 work directory): the input digest covers secrets (`PROSE_*` values, env files).
//!
//! The record is written only when every file is still the version the build compared or
//! wrote (same inode, size and times), every directory a directory and every link the link
//! the build writes: an edit made during the build is left to the next build's full
//! comparison.
//!
//! A record is trusted only when every entry's ctime is strictly older than the record's own
//! mtime: on a filesystem whose clock ticks coarsely, an edit in the same tick as the build
//! could keep every timestamp (git's "racily clean" files); such a tree takes the full
//! comparison once, which writes the record again.

use std::fmt::Write as _;

use camino::{Utf8Path, Utf8PathBuf};
use rustix::fs::{AtFlags, FileType, Stat, readlinkat, statat, unlinkat};
use rustix::io::Errno;

use super::dirs::{DirId, Dirs, FileId, read_at};
use super::write::{WriteError, io_error};
use super::{MANIFEST, OutputTree, PRIVATE_MANIFEST, WORK_DIR};

/// The record's name in the work directory.
pub(super) const RECORD: &str = "inputs";
/// The first line of a record: the format's version.
const HEADER: &str = "prose-compile inputs 1";
/// Largest record read (a tree's is a few KB).
const MAX_RECORD_BYTES: u64 = 1 << 20;

/// What the record of a tree says, when it still describes the tree on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The caller's summary of the pod, as it was given when the tree was written.
    pub summary: String,
    /// The tree's files and links, in the order a build lists them as unchanged.
    pub entries: Vec<Utf8PathBuf>,
}

/// What a build records when it has written (or found up to date) a tree.
#[derive(Debug, Clone, Copy)]
pub struct RecordInput<'a> {
    /// The digest of the build's inputs (hex).
    pub inputs: &'a str,
    /// The caller's summary of the pod (one line, no secret).
    pub summary: &'a str,
}

/// The record of the tree at `root` if its input digest is `inputs` and every entry it lists
/// is exactly as the build that wrote it left it; `None` otherwise (no tree, no record, a
/// different digest, any entry changed, a lock not free within `wait`): then the caller
/// takes the full path. Never writes.
pub fn recorded_up_to_date(
    root: &std::path::Path,
    inputs: &str,
    wait: std::time::Duration,
) -> Option<Recorded> {
    let mut dirs = Dirs::open_root(root, false).ok()??;
    // Shared, like `build --check`: a build of the tree removes the record before it changes
    // anything, and this never sees a tree half-written.
    super::lock::lock_dir(
        dirs.root_fd(),
        dirs.root_path(),
        super::lock::Access::Shared,
        wait,
    )
    .ok()?;
    let work = dirs.lookup(Utf8Path::new(WORK_DIR)).ok()??;
    let text = read_record(&dirs, work)?;
    let record_mtime = {
        let stat = statat(dirs.fd(work), RECORD, AtFlags::SYMLINK_NOFOLLOW).ok()?;
        (stat.st_mtime, stat.st_mtime_nsec)
    };
    let mut lines = text.lines();
    (lines.next()? == HEADER).then_some(())?;
    (lines.next()?.strip_prefix("inputs ")? == inputs).then_some(())?;
    let summary = lines.next()?.strip_prefix("summary ")?.to_owned();
    let mut entries = Vec::new();
    let mut fingerprint = String::new();
    for line in lines {
        let (kind, rest) = line.split_once(' ')?;
        let (meta, path) = rest.split_once("  ")?;
        let stat = lstat(&dirs, path).ok()?;
        fingerprint.clear();
        push_fingerprint(&mut fingerprint, &stat);
        (fingerprint == meta).then_some(())?;
        // Racily clean: changed in the tick the record was written, maybe after it.
        ((stat.st_ctime, stat.st_ctime_nsec) < record_mtime).then_some(())?;
        if matches!(kind, "f" | "l") {
            entries.push(Utf8PathBuf::from(path));
        }
    }
    Some(Recorded { summary, entries })
}

/// A file as a build compared or wrote it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    path: Utf8PathBuf,
    id: FileId,
    /// Read by the build (every field must match), or written by it (a rename changes the
    /// ctime: device, inode, size and mtime must match).
    read: bool,
}

impl Seen {
    pub(super) fn read(path: &Utf8Path, id: FileId) -> Seen {
        Seen {
            path: path.to_owned(),
            id,
            read: true,
        }
    }

    pub(super) fn written(path: &Utf8Path, id: FileId) -> Seen {
        Seen {
            path: path.to_owned(),
            id,
            read: false,
        }
    }

    fn still(&self, now: &FileId) -> bool {
        if self.read {
            *now == self.id
        } else {
            (now.dev, now.ino, now.size, now.mtime)
                == (self.id.dev, self.id.ino, self.id.size, self.id.mtime)
        }
    }
}

/// The record's text for the tree as it is on disk now (every entry of `tree`), or `None`
/// when something is not what this build compared or wrote (changed by someone else during
/// the build: the next build must look at it in full).
fn record_text(
    dirs: &Dirs,
    tree: &OutputTree,
    directories: &[&Utf8Path],
    input: RecordInput<'_>,
    seen: &[Seen],
) -> Result<Option<String>, WriteError> {
    if input.summary.contains(['\n', '\r']) || input.inputs.contains(['\n', '\r']) {
        return Err(WriteError::Unsafe(
            "internal error: a record's line holds a line break".into(),
        ));
    }
    let mut text = format!(
        "{HEADER}\ninputs {}\nsummary {}\n",
        input.inputs, input.summary
    );
    let entries = directories
        .iter()
        .map(|d| ("d", d.as_str()))
        .chain(tree.files().map(|f| ("f", f.path.as_str())))
        .chain(tree.links().map(|l| ("l", l.path.as_str())))
        .chain([("m", MANIFEST)])
        .chain(tree.has_private_files().then_some(("m", PRIVATE_MANIFEST)));
    let seen: std::collections::HashMap<&Utf8Path, &Seen> =
        seen.iter().map(|s| (s.path.as_path(), s)).collect();
    for (kind, path) in entries {
        let stat = match lstat(dirs, path) {
            Ok(stat) => stat,
            Err(Errno::NOENT | Errno::NOTDIR) => return Ok(None),
            Err(e) => return Err(io_error(&dirs.display(Utf8Path::new(path)), e.into())),
        };
        let file_type = FileType::from_raw_mode(stat.st_mode);
        let as_built = match kind {
            "d" => file_type == FileType::Directory,
            "m" => file_type == FileType::RegularFile,
            "f" => {
                file_type == FileType::RegularFile
                    && seen
                        .get(Utf8Path::new(path))
                        .is_some_and(|s| s.still(&FileId::of(&stat)))
            }
            _ => {
                file_type == FileType::Symlink
                    && tree.get_link(path).is_some_and(|link| {
                        readlinkat(dirs.root_fd(), path, Vec::new())
                            .is_ok_and(|text| text.as_bytes() == link.target.as_str().as_bytes())
                    })
            }
        };
        if !as_built {
            return Ok(None);
        }
        // The root is `.`: a record line's path is never empty.
        let shown = if path.is_empty() { "." } else { path };
        text.push_str(kind);
        text.push(' ');
        push_fingerprint(&mut text, &stat);
        text.push_str("  ");
        text.push_str(shown);
        text.push('\n');
    }
    Ok(Some(text))
}

/// Writes the record of `tree` (already on disk; `directories` as
/// [`OutputTree::directories`] lists them) in the work directory `work`: last, once
/// everything else is in place.
pub(super) fn write_record(
    dirs: &Dirs,
    work: DirId,
    tree: &OutputTree,
    directories: &[&Utf8Path],
    input: RecordInput<'_>,
    seen: &[Seen],
) -> Result<(), WriteError> {
    let Some(text) = record_text(dirs, tree, directories, input, seen)? else {
        return remove_record(dirs, Some(work));
    };
    const TEMP: &str = "inputs.new";
    let temp = dirs.display(&Utf8Path::new(WORK_DIR).join(TEMP));
    match unlinkat(dirs.fd(work), TEMP, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return Err(io_error(&temp, e.into())),
    }
    super::dirs::create_at(dirs.fd(work), TEMP, text.as_bytes(), 0o600, &temp)?;
    rustix::fs::renameat(dirs.fd(work), TEMP, dirs.fd(work), RECORD)
        .map_err(|e| io_error(&temp, e.into()))
}

/// Removes the record (before a build changes anything in the tree).
pub(super) fn remove_record(dirs: &Dirs, work: Option<DirId>) -> Result<(), WriteError> {
    let Some(work) = work else {
        return Ok(());
    };
    match unlinkat(dirs.fd(work), RECORD, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(io_error(
            &dirs.display(&Utf8Path::new(WORK_DIR).join(RECORD)),
            e.into(),
        )),
    }
}

fn read_record(dirs: &Dirs, work: DirId) -> Option<String> {
    let path = dirs.display(&Utf8Path::new(WORK_DIR).join(RECORD));
    let file = read_at(dirs.fd(work), RECORD, &path, MAX_RECORD_BYTES + 1).ok()??;
    if file.bytes.len() as u64 > MAX_RECORD_BYTES {
        return None;
    }
    String::from_utf8(file.bytes).ok()
}

/// The entry at `path` of the tree (`""` or `.`: the root), never followed when a link.
fn lstat(dirs: &Dirs, path: &str) -> Result<Stat, Errno> {
    let path = if path.is_empty() { "." } else { path };
    statat(dirs.root_fd(), path, AtFlags::SYMLINK_NOFOLLOW)
}

/// What must not have changed about an entry, appended to `out`: `dev:ino mode size
/// mtime ctime`, the mode in octal, each time with its nanoseconds in nine digits. The
/// decimal numbers are written with `itoa`: `format!` of all eight, two of them zero-padded,
/// was 13 % of the instructions of an up-to-date build, which formats one per entry.
fn push_fingerprint(out: &mut String, stat: &Stat) {
    let mut number = itoa::Buffer::new();
    out.push_str(number.format(stat.st_dev));
    out.push(':');
    out.push_str(number.format(stat.st_ino));
    // One number without padding: `core::fmt` costs little here.
    let _ = write!(out, " {:o} ", stat.st_mode);
    out.push_str(number.format(stat.st_size));
    for (seconds, nanoseconds) in [
        (stat.st_mtime, stat.st_mtime_nsec),
        (stat.st_ctime, stat.st_ctime_nsec),
    ] {
        out.push(' ');
        out.push_str(number.format(seconds));
        out.push('.');
        let digits = number.format(nanoseconds);
        for _ in digits.len()..9 {
            out.push('0');
        }
        out.push_str(digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::GeneratedFile;

    #[test]
    fn a_fingerprint_reads_as_the_stat_it_was_made_from() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "one\n").unwrap();
        let stat = rustix::fs::stat(dir.path().join("a")).unwrap();
        let mut text = String::from("f ");
        push_fingerprint(&mut text, &stat);
        let expected = format!(
            "f {}:{} {:o} {} {}.{:09} {}.{:09}",
            stat.st_dev,
            stat.st_ino,
            stat.st_mode,
            stat.st_size,
            stat.st_mtime,
            stat.st_mtime_nsec,
            stat.st_ctime,
            stat.st_ctime_nsec
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn a_record_matches_until_anything_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let mut tree = OutputTree::default();
        tree.insert(GeneratedFile {
            path: "etc/a.conf".into(),
            contents: b"one\n".to_vec(),
            mode: 0o644,
        })
        .unwrap();
        let input = RecordInput {
            inputs: "abc",
            summary: "0 critical",
        };
        let options = super::super::WriteOptions {
            force: false,
            lock_wait: std::time::Duration::from_secs(1),
            durable: false,
            record: Some(input),
        };
        super::super::write_with(&tree, &root, &options).unwrap();
        let wait = std::time::Duration::from_secs(1);
        // Racily clean right after the write on a coarse clock: let the clock move on, and
        // write the record again (what the next full build does).
        std::thread::sleep(std::time::Duration::from_millis(20));
        super::super::write_with(&tree, &root, &options).unwrap();
        let recorded = recorded_up_to_date(&root, "abc", wait).expect("up to date");
        assert_eq!(recorded.summary, "0 critical");
        assert_eq!(recorded.entries, [Utf8PathBuf::from("etc/a.conf")]);
        assert!(recorded_up_to_date(&root, "abd", wait).is_none());
        // A new file in a directory of the tree changes the directory.
        std::fs::write(root.join("etc/new"), "x").unwrap();
        assert!(recorded_up_to_date(&root, "abc", wait).is_none());
    }
}
