//! `SHA256SUMS`: the manifest of a tree, and which files on disk a previous build wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use camino::{Utf8Path, Utf8PathBuf};

use sha2::{Digest, Sha256};

use super::write::{WriteError, io_error};
use super::{MANIFEST, PRIVATE_MANIFEST, WORK_DIR, check_relative_path};

/// The journal of an interrupted build, in the work directory.
pub(super) const JOURNAL: &str = "pending";

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A parsed manifest: relative path -> hex digest.
pub type Manifest = BTreeMap<Utf8PathBuf, String>;

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
        out.insert(path.into(), hash.to_ascii_lowercase());
    }
    Ok(out)
}

/// Largest manifest (or journal) read: a tree's is a few hundred bytes.
pub(super) const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// The manifests that say which files on disk are ours: the last complete build's (both
/// manifests), plus the interrupted build's if a journal is left.
pub(super) struct Ownership {
    pub(super) manifest: Manifest,
    pub(super) pending: Option<Manifest>,
}

impl Ownership {
    pub(super) fn read(root: &Path) -> Result<Self, WriteError> {
        let read = |path: PathBuf| -> Result<Option<Manifest>, WriteError> {
            // Bounded: a manifest that is a link to `/dev/zero` must not eat the memory.
            match crate::files::read_bounded(&path, MAX_MANIFEST_BYTES) {
                Ok(crate::files::Bounded::TooLarge { .. }) => Err(WriteError::CorruptManifest {
                    path,
                    reason: format!("larger than {} MiB", MAX_MANIFEST_BYTES >> 20),
                }),
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
        let mut manifest = read(root.join(MANIFEST))?.unwrap_or_default();
        manifest.extend(read(root.join(PRIVATE_MANIFEST))?.unwrap_or_default());
        Ok(Ownership {
            manifest,
            pending: read(root.join(WORK_DIR).join(JOURNAL))?,
        })
    }

    /// Whether `hash` is what some build of ours wrote at `path`.
    pub(super) fn owns(&self, path: &Utf8Path, hash: &str) -> bool {
        self.manifest.get(path).is_some_and(|h| h == hash)
            || self
                .pending
                .as_ref()
                .is_some_and(|m| m.get(path).is_some_and(|h| h == hash))
    }

    /// Whether a symbolic link at `path` holding `target` is one a build of ours wrote: it
    /// names (read as text, never followed) a file that the same manifest listed with the
    /// digest it listed for the link.
    pub(super) fn owns_link(&self, path: &Utf8Path, target: &str) -> bool {
        let Some(file) = super::resolve_link(path, target) else {
            return false;
        };
        let consistent = |m: &Manifest| {
            m.get(path)
                .is_some_and(|digest| m.get(&file) == Some(digest))
        };
        consistent(&self.manifest) || self.pending.as_ref().is_some_and(consistent)
    }

    pub(super) fn listed(&self, path: &Utf8Path) -> bool {
        self.manifest.contains_key(path)
            || self.pending.as_ref().is_some_and(|m| m.contains_key(path))
    }

    pub(super) fn all_paths(&self) -> impl Iterator<Item = &Utf8PathBuf> {
        self.manifest
            .keys()
            .chain(self.pending.iter().flat_map(|m| m.keys()))
    }
}
