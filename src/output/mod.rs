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

mod diff;
mod disk;
mod manifest;
mod plan;
mod write;

use std::collections::BTreeMap;
use std::path::{Component, Path};

pub use diff::unified_diff;
pub use manifest::{Manifest, parse_manifest, sha256_hex};
pub use plan::{Change, plan};
pub use write::{HandEdit, WriteError, WriteSummary, write};

use camino::{Utf8Path, Utf8PathBuf};

use crate::targets::GeneratedFile;

/// The manifest at the root of every pod's tree.
pub const MANIFEST: &str = "SHA256SUMS";
/// The tool's work directory inside the output tree (staging and journal).
pub const WORK_DIR: &str = ".prose-compile";

/// Generated files by relative path, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputTree {
    files: BTreeMap<Utf8PathBuf, GeneratedFile>,
}

impl OutputTree {
    /// Adds a file; refuses a path that could leave the tree or collide with the tool's own.
    pub fn insert(&mut self, file: GeneratedFile) -> Result<(), String> {
        check_relative_path(file.path.as_str())?;
        if file.path == MANIFEST || file.path.as_str().starts_with(WORK_DIR) {
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

    pub fn get(&self, path: impl AsRef<Utf8Path>) -> Option<&GeneratedFile> {
        self.files.get(path.as_ref())
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
