//! The output tree: generated files in memory, and writing them to disk safely.
//!
//! A build never leaves a half-written tree behind unnoticed and never loses a file it did
//! not generate:
//! 1. every new file is staged in `DIR/.prose-compile/staging/` (same filesystem);
//! 2. a journal (`DIR/.prose-compile/pending`) records the new manifest and the stale files;
//! 3. staged files are renamed into place one by one (each rename is atomic), stale ones are
//!    removed, and `SHA256SUMS` is replaced last; then the journal goes.
//!
//! A build killed during step 3 leaves the journal: the next build sees it, accepts files
//! matching either manifest as its own, and finishes the job. `SHA256SUMS` lets `build`
//! recognise hand edits (a generated file whose hash changed) and refuse to overwrite them
//! without `--force`; files that no manifest lists are never touched.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::targets::GeneratedFile;

/// The manifest at the root of every pod's tree.
pub const MANIFEST: &str = "SHA256SUMS";
/// The tool's work directory inside the output tree (staging and journal).
pub const WORK_DIR: &str = ".prose-compile";
const JOURNAL: &str = "pending";
const STAGING: &str = "staging";

/// Generated files by relative path, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputTree {
    files: BTreeMap<String, GeneratedFile>,
}

impl OutputTree {
    /// Adds a file; refuses a path that could leave the tree or collide with the tool's own.
    pub fn insert(&mut self, file: GeneratedFile) -> Result<(), String> {
        check_relative_path(&file.path)?;
        if file.path == MANIFEST || file.path.starts_with(WORK_DIR) {
            return Err(format!(
                "`{}` is reserved for prose-compile's own files",
                file.path
            ));
        }
        if self.files.contains_key(&file.path) {
            return Err(format!("two targets generate `{}`", file.path));
        }
        self.files.insert(file.path.clone(), file);
        Ok(())
    }

    pub fn files(&self) -> impl Iterator<Item = &GeneratedFile> {
        self.files.values()
    }

    pub fn get(&self, path: &str) -> Option<&GeneratedFile> {
        self.files.get(path)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The `sha256sum -c` compatible manifest of the tree.
    pub fn manifest(&self) -> String {
        self.files
            .values()
            .map(|f| format!("{}  {}\n", sha256_hex(&f.contents), f.path))
            .collect()
    }
}

/// A relative, normalised, `/`-separated path of plain segments: nothing that can climb out
/// of the tree or confuse `sha256sum` (backslashes, newlines).
pub fn check_relative_path(path: &str) -> Result<(), String> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.chars().any(|c| c.is_control() || c == '\\')
        || path
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..");
    let escapes = Path::new(path)
        .components()
        .any(|c| !matches!(c, Component::Normal(_)));
    if bad || escapes {
        Err(format!(
            "generated path `{}` would escape the output directory",
            path.escape_debug()
        ))
    } else {
        Ok(())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A parsed manifest: relative path -> hex digest.
pub type Manifest = BTreeMap<String, String>;

/// Parses a `SHA256SUMS` file; `Err` names the first malformed line.
pub fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let mut out = Manifest::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let parsed = line
            .split_once("  ")
            .or_else(|| line.split_once(" *"))
            .filter(|(hash, path)| {
                hash.len() == 64
                    && hash.bytes().all(|b| b.is_ascii_hexdigit())
                    && check_relative_path(path).is_ok()
            });
        let Some((hash, path)) = parsed else {
            return Err(format!("line {} is not `<sha256>  <path>`", n + 1));
        };
        out.insert(path.to_owned(), hash.to_ascii_lowercase());
    }
    Ok(out)
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
}

/// A file on disk that differs from what the manifest says was generated (or that the tool
/// never generated but would now overwrite).
#[derive(Debug, Clone)]
pub struct HandEdit {
    pub path: String,
    /// Unified diff from the file on disk to what would be generated.
    pub diff: String,
    /// `false` when no manifest lists the file: it was never generated.
    pub was_generated: bool,
}

fn io_error(path: &Path, error: std::io::Error) -> WriteError {
    WriteError::Io {
        path: path.to_owned(),
        message: error.to_string(),
    }
}

/// What a build did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    pub written: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
    /// A previous interrupted build was completed.
    pub recovered: bool,
}

impl WriteSummary {
    pub fn changed(&self) -> bool {
        !self.written.is_empty() || !self.removed.is_empty()
    }
}

/// Refuses output directories (or parents inside them) that are symlinks or not directories,
/// so nothing is ever written outside the tree through a link.
fn check_no_links(root: &Path, relative: &str) -> Result<(), WriteError> {
    let mut here = root.to_owned();
    let segments: Vec<&str> = relative.split('/').collect();
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
    let file = root.join(relative);
    if let Ok(meta) = fs::symlink_metadata(&file)
        && !meta.is_file()
    {
        return Err(WriteError::Unsafe(format!(
            "{} is a {}: refusing to replace it",
            file.display(),
            if meta.is_dir() {
                "directory"
            } else if meta.file_type().is_symlink() {
                "symbolic link"
            } else {
                "special file (not a regular file)"
            }
        )));
    }
    Ok(())
}

/// Largest file of the tree read back from the disk: a generated file is a few KiB, so a
/// larger one is not ours and its first 16 MiB are enough to tell (and to show).
const MAX_ON_DISK_BYTES: u64 = 16 << 20;

/// A file of the tree as it is on disk: only a regular file (a FIFO would block, a device never
/// end), and at most [`MAX_ON_DISK_BYTES`] of it.
fn read_on_disk(path: &Path) -> std::io::Result<Vec<u8>> {
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

fn check_root(root: &Path) -> Result<(), WriteError> {
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

/// Largest manifest (or journal) read: a tree's is a few hundred bytes.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// The manifests that say which files on disk are ours: the last complete build's, plus the
/// interrupted build's if a journal is left.
struct Ownership {
    manifest: Manifest,
    pending: Option<Manifest>,
}

impl Ownership {
    fn read(root: &Path) -> Result<Self, WriteError> {
        let read = |path: PathBuf| -> Result<Option<Manifest>, WriteError> {
            // Bounded: a manifest that is a link to `/dev/zero` must not eat the memory.
            match crate::files::read_bounded(&path, MAX_MANIFEST_BYTES) {
                Ok(crate::files::Bounded::TooLarge { .. }) => {
                    Err(WriteError::CorruptManifest {
                        path,
                        reason: format!("larger than {} MiB", MAX_MANIFEST_BYTES >> 20),
                    })
                }
                Ok(crate::files::Bounded::Bytes(bytes)) => {
                    let text =
                        String::from_utf8(bytes).map_err(|_| WriteError::CorruptManifest {
                            path: path.clone(),
                            reason: "not UTF-8".into(),
                        })?;
                    parse_manifest(&text)
                        .map(Some)
                        .map_err(|reason| WriteError::CorruptManifest { path, reason })
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_error(&path, e)),
            }
        };
        Ok(Ownership {
            manifest: read(root.join(MANIFEST))?.unwrap_or_default(),
            pending: read(root.join(WORK_DIR).join(JOURNAL))?,
        })
    }

    /// Whether `hash` is what some build of ours wrote at `path`.
    fn owns(&self, path: &str, hash: &str) -> bool {
        self.manifest.get(path).is_some_and(|h| h == hash)
            || self
                .pending
                .as_ref()
                .is_some_and(|m| m.get(path).is_some_and(|h| h == hash))
    }

    fn listed(&self, path: &str) -> bool {
        self.manifest.contains_key(path)
            || self.pending.as_ref().is_some_and(|m| m.contains_key(path))
    }

    fn all_paths(&self) -> impl Iterator<Item = &String> {
        self.manifest
            .keys()
            .chain(self.pending.iter().flat_map(|m| m.keys()))
    }
}

/// The state of one file on disk compared with the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create { path: String },
    Update { path: String, old: Vec<u8> },
    Mode { path: String, old: u32 },
    Remove { path: String, old: Vec<u8> },
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
    let mut stale: Vec<&String> = ownership
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

/// Writes `tree` to `root` as described in the module documentation.
pub fn write(tree: &OutputTree, root: &Path, force: bool) -> Result<WriteSummary, WriteError> {
    check_root(root)?;
    let ownership = Ownership::read(root)?;
    let recovered = ownership.pending.is_some();
    for file in tree.files() {
        check_no_links(root, &file.path)?;
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
    let stale: Vec<String> = {
        let mut s: Vec<String> = ownership
            .all_paths()
            .filter(|p| tree.get(p).is_none())
            .cloned()
            .collect();
        s.sort();
        s.dedup();
        s
    };
    for path in &stale {
        check_no_links(root, path)?;
        if let Ok(old) = read_on_disk(&root.join(path))
            && !force
            && !ownership.owns(path, &sha256_hex(&old))
        {
            edits.push(HandEdit {
                path: path.clone(),
                diff: unified_diff(path, &old, b"", usize::MAX).0,
                was_generated: true,
            });
        }
    }
    if !edits.is_empty() {
        return Err(WriteError::HandEdited(edits));
    }

    let manifest = tree.manifest();
    let on_disk_manifest = fs::read_to_string(root.join(MANIFEST)).unwrap_or_default();
    let to_write: Vec<&GeneratedFile> = tree
        .files()
        .filter(|f| !unchanged.contains(&f.path))
        .collect();
    let to_remove: Vec<String> = stale
        .into_iter()
        .filter(|p| root.join(p).exists())
        .collect();
    if to_write.is_empty() && to_remove.is_empty() && on_disk_manifest == manifest && !recovered {
        return Ok(WriteSummary {
            unchanged,
            ..Default::default()
        });
    }

    // 1. Stage.
    let work = root.join(WORK_DIR);
    let staging = work.join(STAGING);
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| io_error(&staging, e))?;
    }
    fs::create_dir_all(&staging).map_err(|e| io_error(&staging, e))?;
    for (n, file) in to_write.iter().enumerate() {
        write_file(&staging.join(n.to_string()), &file.contents, file.mode)?;
    }
    // 2. Journal: from here on, an interruption is repaired by the next build.
    write_atomically(&work.join(JOURNAL), manifest.as_bytes(), 0o644, &work)?;
    // 3. Install file by file, remove stale files, then the manifest.
    for (n, file) in to_write.iter().enumerate() {
        let target = root.join(&file.path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        }
        fs::rename(staging.join(n.to_string()), &target).map_err(|e| io_error(&target, e))?;
        fault_injection_point();
    }
    for path in &to_remove {
        let target = root.join(path);
        fs::remove_file(&target).map_err(|e| io_error(&target, e))?;
        remove_empty_parents(root, &target);
    }
    write_atomically(&root.join(MANIFEST), manifest.as_bytes(), 0o644, &work)?;
    fs::remove_file(work.join(JOURNAL)).map_err(|e| io_error(&work, e))?;
    let _ = fs::remove_dir_all(&work);
    Ok(WriteSummary {
        written: to_write.iter().map(|f| f.path.clone()).collect(),
        unchanged,
        removed: to_remove,
        recovered,
    })
}

/// Test hook: `PROSE_COMPILE_FAULT_AFTER_RENAMES=N` aborts the process after N renames, the
/// way a kill or power loss would, so tests can prove an interrupted build is repaired.
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

fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), WriteError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
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
    fs::create_dir_all(work).map_err(|e| io_error(work, e))?;
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

/// A unified diff of two versions of a file, cut after `max_lines` lines of diff. Returns the
/// text and the number of lines left out.
pub fn unified_diff(path: &str, old: &[u8], new: &[u8], max_lines: usize) -> (String, usize) {
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(old.as_ref(), new.as_ref());
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= max_lines {
        return (text, 0);
    }
    let mut cut = lines[..max_lines].join("\n");
    cut.push('\n');
    (cut, lines.len() - max_lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> GeneratedFile {
        GeneratedFile {
            path: path.into(),
            contents: text.as_bytes().to_vec(),
            mode: 0o644,
        }
    }

    #[test]
    fn paths_that_escape_are_refused() {
        let mut tree = OutputTree::default();
        for bad in [
            "../x",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a/../../b",
            "",
            "a\\b",
            "a\nb",
            "SHA256SUMS",
            ".prose-compile/pending",
        ] {
            assert!(tree.insert(file(bad, "")).is_err(), "{bad:?} accepted");
        }
        assert!(
            tree.insert(file("etc/prosody/prosody.cfg.lua", "x"))
                .is_ok()
        );
        assert!(
            tree.insert(file("etc/prosody/prosody.cfg.lua", "y"))
                .is_err(),
            "duplicate accepted"
        );
    }

    #[test]
    fn manifest_round_trips() {
        let mut tree = OutputTree::default();
        tree.insert(file("b/c", "2")).unwrap();
        tree.insert(file("a", "1")).unwrap();
        let text = tree.manifest();
        assert!(text.starts_with(&format!("{}  a\n", sha256_hex(b"1"))));
        let parsed = parse_manifest(&text).unwrap();
        assert_eq!(parsed.len(), 2);
        assert!(parse_manifest("nonsense\n").is_err());
        assert!(parse_manifest(&format!("{}  ../x\n", sha256_hex(b"1"))).is_err());
    }
}
