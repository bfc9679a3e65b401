//! The output tree: generated files in memory, and writing them to disk safely.
//!
//! A build never leaves a half-written tree behind unnoticed and never loses a file it did
//! not generate:
//! 1. every new file is staged in the work directory `DIR/.prose-compile/` (same filesystem):
//!    alone when its directory is in the tree, else in a directory staged whole there, the
//!    highest one the tree does not have yet (a fresh tree: one per top-level directory);
//! 2. a journal (`DIR/.prose-compile/pending`) records the new manifest and the stale files;
//! 3. staged files and directories are renamed into place one by one (each rename is atomic:
//!    a new directory appears whole), links last, stale files are removed, and `SHA256SUMS`
//!    is replaced last; then the journal goes.
//!
//! A build killed during step 3 leaves the journal: the next build sees it, accepts files
//! matching either manifest as its own, and finishes the job. `SHA256SUMS` lets `build`
//! recognise hand edits (a generated file whose hash changed) and refuse to overwrite them
//! without `--force`; files that no manifest lists are never touched.
//!
//! What the manifests protect: they record what the last build wrote, so hand edits are
//! recognised and `sha256sum -c` checks that an installed tree is the one built. They are not a
//! signature: whoever can write the tree can rewrite them. A file that is not world-readable
//! (a `prosody.cfg.lua` holding a secret, 0640) is listed in `SHA256SUMS.private`, written with
//! the files' own restrictive mode, never in the world-readable `SHA256SUMS`: the digest of a
//! file whose only unknown part is a short secret would give the secret away to brute force.
//!
//! Symbolic links (nginx's `sites-enabled/<name>`, [`GeneratedLink`]) are entries of the tree
//! too: relative, to a file of the same tree, listed in the manifest with the digest of that
//! file (what `sha256sum -c` reads through them). A link on disk is never followed: it is the
//! build's own only when it is exactly the link the build writes, or, for one an earlier build
//! wrote, when it names the file its manifest listed with the same digest ([`resolve_link`]).
//!
//! A build whose caller gives it an input record ([`RecordInput`]) writes it last, in the work
//! directory, which then stays; the next build compares it before doing anything else
//! ([`recorded_up_to_date`], see `record`).
//!
//! Around all of it, a build holds an exclusive lock on the tree's root ([`lock`]), so two
//! builds of one tree take turns; every directory of the tree, its root included, is 0755
//! whatever the umask (the tree is installed with `rsync -a` onto `/`).

mod diff;
mod dirs;
pub mod lock;
mod manifest;
mod plan;
mod record;
mod write;

use std::collections::BTreeMap;
use std::path::{Component, Path};

pub use diff::{line_ops, lines, unified_diff};
pub use manifest::{Manifest, parse_manifest, sha256_hex};
pub use plan::{Change, plan, plan_with};
pub use record::{RecordInput, Recorded, recorded_up_to_date};
pub use write::{HandEdit, WriteError, WriteOptions, WriteSummary, write, write_with};

use camino::{Utf8Path, Utf8PathBuf};

use crate::targets::{GeneratedFile, GeneratedLink};

/// The manifest at the root of every pod's tree (world-readable files).
pub const MANIFEST: &str = "SHA256SUMS";
/// The manifest of the files that are not world-readable, with their mode (absent when none).
pub const PRIVATE_MANIFEST: &str = "SHA256SUMS.private";
/// The mode of every directory of a tree, its root included.
pub const DIR_MODE: u32 = 0o755;
/// The tool's work directory inside the output tree (staging, journal, input record).
pub const WORK_DIR: &str = ".prose-compile";

/// Generated files by relative path, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputTree {
    files: BTreeMap<Utf8PathBuf, GeneratedFile>,
    links: BTreeMap<Utf8PathBuf, GeneratedLink>,
}

impl OutputTree {
    /// Adds a file; refuses a path that could leave the tree or collide with the tool's own.
    pub fn insert(&mut self, file: GeneratedFile) -> Result<(), String> {
        self.check_new_path(&file.path)?;
        if file.contents.len() as u64 > crate::targets::MAX_FILE_BYTES {
            return Err(format!(
                "generated `{}` would be {} bytes, more than the limit of {} MiB per file",
                file.path,
                file.contents.len(),
                crate::targets::MAX_FILE_BYTES >> 20
            ));
        }
        self.files.insert(file.path.clone(), file);
        Ok(())
    }

    /// Adds a symbolic link; refuses one whose target is not a file already in the tree
    /// (reached without climbing out of it), so every link of a tree resolves inside it.
    pub fn insert_link(&mut self, link: GeneratedLink) -> Result<(), String> {
        self.check_new_path(&link.path)?;
        let plain =
            link.target.as_str().split('/').all(|s| {
                !s.is_empty() && s != "." && !s.chars().any(|c| c.is_control() || c == '\\')
            });
        let resolved = resolve_link(&link.path, link.target.as_str());
        if !plain
            || resolved
                .as_ref()
                .is_none_or(|p| !self.files.contains_key(p))
        {
            return Err(format!(
                "generated link `{}` -> `{}` does not name a generated file",
                link.path,
                link.target.as_str().escape_debug()
            ));
        }
        self.links.insert(link.path.clone(), link);
        Ok(())
    }

    fn check_new_path(&self, path: &Utf8Path) -> Result<(), String> {
        check_relative_path(path.as_str())?;
        if path == MANIFEST || path == PRIVATE_MANIFEST || path.as_str().starts_with(WORK_DIR) {
            return Err(format!(
                "`{path}` is reserved for prose-compile's own files"
            ));
        }
        if self.files.contains_key(path) || self.links.contains_key(path) {
            return Err(format!("two targets generate `{path}`"));
        }
        Ok(())
    }

    pub fn files(&self) -> impl Iterator<Item = &GeneratedFile> {
        self.files.values()
    }

    pub fn get(&self, path: impl AsRef<Utf8Path>) -> Option<&GeneratedFile> {
        self.files.get(path.as_ref())
    }

    /// The symbolic links, by path.
    pub fn links(&self) -> impl Iterator<Item = &GeneratedLink> {
        self.links.values()
    }

    pub fn get_link(&self, path: impl AsRef<Utf8Path>) -> Option<&GeneratedLink> {
        self.links.get(path.as_ref())
    }

    /// Whether the tree has a file or a link at `path`.
    pub fn contains(&self, path: impl AsRef<Utf8Path>) -> bool {
        self.files.contains_key(path.as_ref()) || self.links.contains_key(path.as_ref())
    }

    /// What a diff shows for the entry at `path`: a file's contents, or [`link_text`].
    pub fn shown(&self, path: impl AsRef<Utf8Path>) -> Option<Vec<u8>> {
        let path = path.as_ref();
        self.files
            .get(path)
            .map(|f| f.contents.clone())
            .or_else(|| self.links.get(path).map(|l| link_text(l.target.as_str())))
    }

    /// The file a link of the tree resolves to.
    fn link_file(&self, link: &GeneratedLink) -> Option<&GeneratedFile> {
        self.files
            .get(&resolve_link(&link.path, link.target.as_str())?)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The tree's manifests, each file hashed once: a build writes all three, and hashing is
    /// most of what making them costs.
    pub fn manifests(&self) -> Manifests {
        let digests: std::collections::HashMap<&str, String> = self
            .files
            .values()
            .map(|f| (f.path.as_str(), sha256_hex(&f.contents)))
            .collect();
        // A link is listed with the digest of the file it names: what `sha256sum -c` reads
        // through it.
        let files = self.files.values().map(|f| (f.path.as_str(), f));
        let links = self
            .links
            .values()
            .filter_map(|link| Some((link.path.as_str(), self.link_file(link)?)));
        let mut entries: Vec<(&str, &GeneratedFile)> = files.chain(links).collect();
        entries.sort_unstable_by(|(a, _), (b, _)| component_order(a, b));
        let (mut public, mut private, mut full) = (String::new(), String::new(), String::new());
        let mut private_mode = 0o666;
        for (path, file) in entries {
            let line = format!("{}  {path}\n", digests[file.path.as_str()]);
            full.push_str(&line);
            if is_public(file) {
                public.push_str(&line);
            } else {
                private.push_str(&line);
                private_mode &= file.mode;
            }
        }
        Manifests {
            public,
            private: (!private.is_empty()).then_some((private, private_mode | 0o600)),
            full,
        }
    }

    /// Whether a file of the tree is not world-readable (the tree has a `SHA256SUMS.private`).
    pub fn has_private_files(&self) -> bool {
        self.files.values().any(|f| !is_public(f))
    }

    /// Every directory of the tree, by relative path (`""` is the root), parents first, in
    /// the order of their components. A directory of an entry is a prefix of the entry's
    /// path (up to a `/`), so this borrows them and compares their bytes, not their
    /// components (`Path`'s order, several times dearer in a build of small pods).
    pub fn directories(&self) -> Vec<&Utf8Path> {
        let mut dirs = vec![Utf8Path::new("")];
        for path in self.files.keys().chain(self.links.keys()) {
            let path = path.as_str();
            dirs.extend(
                path.match_indices('/')
                    .map(|(end, _)| Utf8Path::new(&path[..end])),
            );
        }
        dirs.sort_unstable_by(|a, b| component_order(a.as_str(), b.as_str()));
        dirs.dedup_by(|a, b| a.as_str() == b.as_str());
        dirs
    }
}

/// The order of two checked relative paths ([`check_relative_path`]: no empty, `.` or `..`
/// segment) by their components, as `Path` orders them: byte by byte with `/` before any
/// other byte, so `etc/x` (components `etc`, `x`) comes before `etc-x`.
fn component_order(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |byte: u8| if byte == b'/' { 0 } else { byte };
    a.bytes().map(key).cmp(b.bytes().map(key))
}

/// The manifests of a tree ([`OutputTree::manifests`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifests {
    /// `SHA256SUMS` (`sha256sum -c` compatible): the world-readable files and the links to
    /// them.
    pub public: String,
    /// `SHA256SUMS.private`, with the mode it is written with (no wider than any of its
    /// files'), or `None` when every file is world-readable.
    pub private: Option<(String, u32)>,
    /// Both in one: the journal's, which is private to the build.
    pub full: String,
}

/// Whether a generated file may be listed in the world-readable manifest.
fn is_public(file: &GeneratedFile) -> bool {
    file.mode & 0o004 != 0
}

/// How a diff shows a symbolic link (a link has no contents of its own).
pub fn link_text(target: &str) -> Vec<u8> {
    format!("symbolic link to {target}\n").into_bytes()
}

/// Where the link at `link` (a relative path of the tree) leads when it holds `target`, read
/// as text and never followed: a relative path of the tree, or `None` when the target is
/// absolute, climbs out of the tree, or is not a plain relative path.
pub fn resolve_link(link: &Utf8Path, target: &str) -> Option<Utf8PathBuf> {
    if target.is_empty() || target.starts_with('/') {
        return None;
    }
    let mut segments: Vec<&str> = link.parent()?.as_str().split('/').collect();
    segments.retain(|s| !s.is_empty());
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            other => segments.push(other),
        }
    }
    let path = segments.join("/");
    check_relative_path(&path).ok().map(|()| path.into())
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
            "SHA256SUMS.private",
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
        let huge = "x".repeat(crate::targets::MAX_FILE_BYTES as usize + 1);
        let error = tree.insert(file("etc/huge", &huge)).unwrap_err();
        assert!(error.contains("more than the limit of 8 MiB"), "{error}");
    }

    #[test]
    fn manifest_round_trips() {
        let mut tree = OutputTree::default();
        tree.insert(file("b/c", "2")).unwrap();
        tree.insert(file("a", "1")).unwrap();
        let text = tree.manifests().public;
        assert!(text.starts_with(&format!("{}  a\n", sha256_hex(b"1"))));
        let parsed = parse_manifest(&text).unwrap();
        assert_eq!(parsed.len(), 2);
        assert!(parse_manifest("nonsense\n").is_err());
        // A file that is not world-readable has its digest in the private manifest only.
        tree.insert(GeneratedFile {
            mode: 0o640,
            ..file("etc/secret.lua", "password")
        })
        .unwrap();
        let manifests = tree.manifests();
        assert!(!manifests.public.contains("secret.lua"));
        let (private, mode) = manifests.private.unwrap();
        assert_eq!(
            private,
            format!("{}  etc/secret.lua\n", sha256_hex(b"password"))
        );
        assert_eq!(mode, 0o640);
        assert_eq!(manifests.full.lines().count(), 3);
        assert!(tree.has_private_files());
        let dirs: Vec<String> = tree.directories().iter().map(|d| d.to_string()).collect();
        assert_eq!(dirs, ["", "b", "etc"]);
        // Components' order, which is not the bytes' (`-` is below `/`).
        let mut tree = OutputTree::default();
        for path in [
            "etc-x/a",
            "etc/nginx/sites-enabled/a",
            "etc/nginx/b",
            "etc/n/c",
            "z",
        ] {
            tree.insert(file(path, "")).unwrap();
        }
        let expected: std::collections::BTreeSet<&Utf8Path> = [
            "",
            "etc",
            "etc/n",
            "etc/nginx",
            "etc/nginx/sites-enabled",
            "etc-x",
        ]
        .into_iter()
        .map(Utf8Path::new)
        .collect();
        assert_eq!(tree.directories(), expected.into_iter().collect::<Vec<_>>());
        assert!(parse_manifest(&format!("{}  ../x\n", sha256_hex(b"1"))).is_err());
    }

    /// A directory the tree does not have yet is staged whole and renamed into place once;
    /// a file whose directory exists is staged alone. Either way the tree ends as built, links
    /// included, with nothing left in the work directory but the record.
    #[test]
    fn new_directories_go_in_whole_next_to_files_staged_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let mut tree = OutputTree::default();
        tree.insert(file("a/x", "1")).unwrap();
        write(&tree, &root, false).unwrap();
        // One file in an existing directory, a new directory two levels deep with a link to a
        // file of another new directory, and one beside a file of the existing one.
        for (path, text) in [("a/y", "2"), ("b/c/z", "3"), ("a/n/w", "4"), ("d/e", "5")] {
            tree.insert(file(path, text)).unwrap();
        }
        for (path, target) in [("b/l", "../d/e"), ("a/m/l", "../y")] {
            tree.insert_link(GeneratedLink {
                path: path.into(),
                target: target.into(),
            })
            .unwrap();
        }
        let options = WriteOptions {
            force: false,
            lock_wait: std::time::Duration::from_secs(1),
            durable: false,
            record: Some(RecordInput {
                inputs: "abc",
                summary: "0 critical",
            }),
        };
        let summary = write_with(&tree, &root, &options).unwrap();
        assert_eq!(summary.written.len(), 6, "{summary:?}");
        for (path, text) in [("a/x", "1"), ("a/y", "2"), ("b/c/z", "3"), ("a/n/w", "4")] {
            assert_eq!(std::fs::read_to_string(root.join(path)).unwrap(), text);
        }
        assert_eq!(std::fs::read_to_string(root.join("b/l")).unwrap(), "5");
        assert_eq!(std::fs::read_to_string(root.join("a/m/l")).unwrap(), "2");
        assert_eq!(
            std::fs::read_link(root.join("b/l")).unwrap(),
            Path::new("../d/e")
        );
        let left: Vec<String> = std::fs::read_dir(root.join(WORK_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["inputs"]);
        // The next build finds it all in place.
        let again = write_with(&tree, &root, &options).unwrap();
        assert!(again.written.is_empty(), "{again:?}");
        assert!(again.directory_modes.is_empty(), "{again:?}");
        use std::os::unix::fs::PermissionsExt;
        for made in ["b", "b/c", "a/n", "a/m", "d"] {
            let mode = std::fs::metadata(root.join(made))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o7777, DIR_MODE, "{made}");
        }
    }
}
