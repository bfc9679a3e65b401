//! `SHA256SUMS`: the manifest of a tree, and which files on disk a previous build wrote.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};

use sha2::{Digest, Sha256};

use super::dirs::{DirId, Dirs, ROOT, read_at};
use super::write::WriteError;
use super::{MANIFEST, PRIVATE_MANIFEST, check_relative_path};

/// The journal of an interrupted build, in the work directory.
pub(super) const JOURNAL: &str = "pending";

pub fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
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

/// A manifest (or the journal) `name` of the directory `dir` as text, or `None` when there is
/// none. Bounded (a manifest that is a link to `/dev/zero` must not eat the memory: it is not
/// even followed).
pub(super) fn manifest_text(
    dirs: &Dirs,
    dir: DirId,
    name: &str,
) -> Result<Option<(String, u32)>, WriteError> {
    let path = dirs.display(&dirs.path_of(dir).join(name));
    let Some(file) = read_at(dirs.fd(dir), name, &path, MAX_MANIFEST_BYTES + 1)? else {
        return Ok(None);
    };
    if file.bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(WriteError::CorruptManifest {
            path,
            reason: format!("larger than {} MiB", MAX_MANIFEST_BYTES >> 20),
        });
    }
    let text = String::from_utf8(file.bytes).map_err(|_| WriteError::CorruptManifest {
        path: path.clone(),
        reason: "not UTF-8".into(),
    })?;
    Ok(Some((text, file.mode)))
}

fn parse(dirs: &Dirs, dir: DirId, name: &str, text: &str) -> Result<Manifest, WriteError> {
    parse_manifest(text).map_err(|reason| WriteError::CorruptManifest {
        path: dirs.display(&dirs.path_of(dir).join(name)),
        reason,
    })
}

/// The manifests that say which files on disk are ours: the last complete build's (both
/// manifests), plus the interrupted build's if a journal is left.
pub(super) struct Ownership {
    pub(super) manifest: Manifest,
    pub(super) pending: Option<Manifest>,
    /// `SHA256SUMS` and `SHA256SUMS.private` as they are on disk (text and mode).
    pub(super) public: Option<(String, u32)>,
    pub(super) private: Option<(String, u32)>,
}

impl Ownership {
    /// The manifests of the tree `dirs`, and the journal in its work directory `work` if any.
    pub(super) fn read(dirs: &Dirs, work: Option<DirId>) -> Result<Self, WriteError> {
        let public = manifest_text(dirs, ROOT, MANIFEST)?;
        let private = manifest_text(dirs, ROOT, PRIVATE_MANIFEST)?;
        let mut manifest = Manifest::new();
        for (name, text) in [(MANIFEST, &public), (PRIVATE_MANIFEST, &private)] {
            if let Some((text, _)) = text {
                manifest.extend(parse(dirs, ROOT, name, text)?);
            }
        }
        let pending = match work {
            Some(work) => match manifest_text(dirs, work, JOURNAL)? {
                Some((text, _)) => Some(parse(dirs, work, JOURNAL, &text)?),
                None => None,
            },
            None => None,
        };
        Ok(Ownership {
            manifest,
            pending,
            public,
            private,
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

    /// The paths a build of ours listed (in the manifest or the pending one) that `tree` no
    /// longer holds: what a build removes if they are still ours. Sorted, each once.
    pub(super) fn stale(&self, tree: &super::OutputTree) -> Vec<&Utf8PathBuf> {
        let mut stale: Vec<&Utf8PathBuf> = self
            .manifest
            .keys()
            .chain(self.pending.iter().flat_map(|m| m.keys()))
            .filter(|p| !tree.contains(p))
            .collect();
        stale.sort();
        stale.dedup();
        stale
    }
}
