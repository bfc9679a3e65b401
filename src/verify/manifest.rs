//! Before any validator runs on a tree, the tree must be exactly what its manifests say a build
//! wrote: every listed file present, a regular file reached without a link, with its digest
//! (or a listed symbolic link naming, as text, the listed file with that digest); nothing else
//! in the tree. `verify` then runs tools on files a build wrote, not on whatever
//! a pull request put next to them (a line appended to `prosody.cfg.lua`, an extra nginx
//! site, a link to `/etc/shadow`).
//!
//! This is no signature (whoever writes the tree can rewrite its manifest too): each file must
//! also have the structure a build gives it (`targets::wellformed`: an nginx site holds only
//! the directives the sites use, no `include`), and the Lua validators run sandboxed and
//! unprivileged besides (see `tools`).

use std::path::{Path, PathBuf};

use crate::files::{Bounded, read_found};
use crate::output::{
    MANIFEST, Manifest, PRIVATE_MANIFEST, WORK_DIR, parse_manifest, resolve_link, sha256_hex,
};

/// Why a tree does not match its manifest: the file concerned and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub file: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.reason)
    }
}

/// Largest manifest read.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// Checks the tree at `root` against `SHA256SUMS` (and `SHA256SUMS.private`); the number of
/// files checked, or the first mismatch. Subdirectories holding their own `SHA256SUMS` are
/// other trees (several pods in one output directory), checked on their own.
pub fn check_manifest(root: &Path) -> Result<usize, Mismatch> {
    let mismatch = |file: &Path, reason: &str| Mismatch {
        file: file.to_owned(),
        reason: reason.to_owned(),
    };
    let mut listed = read_manifest(&root.join(MANIFEST))?.ok_or_else(|| {
        mismatch(
            &root.join(MANIFEST),
            "missing: not a tree built by prose-compile (build it first)",
        )
    })?;
    if let Some(private) = read_manifest(&root.join(PRIVATE_MANIFEST))? {
        listed.extend(private);
    }
    for (path, digest) in &listed {
        let file = root.join(path);
        // Every directory on the way is a real directory (no link out of the tree).
        let mut here = root.to_owned();
        for segment in path.parent().into_iter().flat_map(|p| p.iter()) {
            here.push(segment);
            match std::fs::symlink_metadata(&here) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(mismatch(&here, "is a link or a file, not a directory")),
                Err(_) => return Err(mismatch(&file, "listed in the manifest but missing")),
            }
        }
        // A link (nginx's `sites-enabled/`) is read as text, never followed: it must name a
        // listed regular file of the tree with the digest listed for the link; that file is
        // checked on its own.
        if std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_symlink()) {
            let target = std::fs::read_link(&file).map_err(|e| mismatch(&file, &e.to_string()))?;
            let named = target.to_str().and_then(|t| resolve_link(path, t));
            let Some(named) = named.filter(|n| listed.get(n) == Some(digest)) else {
                return Err(mismatch(
                    &file,
                    "is a symbolic link that does not name the file the manifest lists for it",
                ));
            };
            if !std::fs::symlink_metadata(root.join(&named)).is_ok_and(|m| m.is_file()) {
                return Err(mismatch(
                    &file,
                    "is a symbolic link to something not a regular file",
                ));
            }
            continue;
        }
        let bytes = match read_found(&file, crate::targets::MAX_FILE_BYTES) {
            Ok(Bounded::Bytes(bytes)) => bytes,
            Ok(Bounded::TooLarge { .. }) => {
                return Err(mismatch(&file, "larger than any generated file"));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(mismatch(&file, "listed in the manifest but missing"));
            }
            Err(e) => return Err(mismatch(&file, &e.to_string())),
        };
        if &sha256_hex(&bytes) != digest {
            return Err(mismatch(
                &file,
                "does not match its digest in the manifest: changed since it was built",
            ));
        }
        // A manifest can be rewritten with the file: the file must also be shaped as a build
        // writes it (nginx sites: only the directives the sites use, so `nginx -t` never
        // includes another file).
        let generated = crate::targets::GeneratedFile {
            path: path.clone(),
            contents: bytes,
            mode: 0o644,
        };
        if let Some(problem) = crate::targets::wellformed::problem(&generated) {
            return Err(mismatch(
                &file,
                &format!("is not a file a build writes: {problem}"),
            ));
        }
    }
    check_nothing_else(root, &listed)?;
    Ok(listed.len())
}

/// [`check_manifest`] of `root` and of every tree below it. A tree's tools may read the trees
/// it holds (`kubectl kustomize` renders a Kubernetes fleet root's pods), so they run only
/// when every one of them matches its manifest too.
pub fn check_tree(root: &Path) -> Result<usize, Mismatch> {
    let mut checked = check_manifest(root)?;
    let walker = walkdir::WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| Mismatch {
            file: root.to_owned(),
            reason: e.to_string(),
        })?;
        if entry.file_type().is_dir()
            && std::fs::symlink_metadata(entry.path().join(MANIFEST)).is_ok()
        {
            checked += check_manifest(entry.path())?;
        }
    }
    Ok(checked)
}

/// `Ok(None)` when the manifest does not exist.
fn read_manifest(path: &Path) -> Result<Option<Manifest>, Mismatch> {
    let mismatch = |reason: String| Mismatch {
        file: path.to_owned(),
        reason,
    };
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let bytes = match read_found(path, MAX_MANIFEST_BYTES) {
        Ok(Bounded::Bytes(bytes)) => bytes,
        Ok(Bounded::TooLarge { .. }) => return Err(mismatch("larger than any manifest".into())),
        Err(e) => return Err(mismatch(e.to_string())),
    };
    let text = String::from_utf8(bytes).map_err(|_| mismatch("not UTF-8".into()))?;
    parse_manifest(&text)
        .map(Some)
        .map_err(|reason| mismatch(format!("not a manifest: {reason}")))
}

/// No file, link or special file in the tree but the listed files and the manifests.
fn check_nothing_else(root: &Path, listed: &Manifest) -> Result<(), Mismatch> {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            // Another pod's tree, below this one, is checked on its own.
            entry.depth() == 0
                || !entry.file_type().is_dir()
                || std::fs::symlink_metadata(entry.path().join(MANIFEST)).is_err()
        });
    for entry in walker {
        let entry = entry.map_err(|e| Mismatch {
            file: root.to_owned(),
            reason: e.to_string(),
        })?;
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let kind = entry.file_type();
        if entry.depth() == 0 || kind.is_dir() {
            continue;
        }
        let mismatch = |reason: &str| {
            Err(Mismatch {
                file: entry.path().to_owned(),
                reason: reason.to_owned(),
            })
        };
        if relative.starts_with(WORK_DIR) {
            if relative.ends_with("pending") {
                return mismatch("an interrupted build's journal: run `build` to complete it");
            }
            continue;
        }
        let is_manifest =
            relative == Path::new(MANIFEST) || relative == Path::new(PRIVATE_MANIFEST);
        let listed_here = relative
            .to_str()
            .is_some_and(|p| listed.contains_key(camino::Utf8Path::new(p)));
        if kind.is_symlink() && !listed_here {
            return mismatch("is a symbolic link that no build wrote");
        }
        if !kind.is_file() && !kind.is_symlink() {
            return mismatch("is not a regular file: a built tree holds none");
        }
        if !is_manifest && !listed_here {
            return mismatch("is not listed in the manifest: no build wrote it");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc/prosody")).unwrap();
        std::fs::write(root.join("etc/prosody/prosody.cfg.lua"), "a = 1\n").unwrap();
        std::fs::write(root.join("etc/secret"), "s\n").unwrap();
        std::fs::write(
            root.join(MANIFEST),
            format!("{}  etc/prosody/prosody.cfg.lua\n", sha256_hex(b"a = 1\n")),
        )
        .unwrap();
        std::fs::write(
            root.join(PRIVATE_MANIFEST),
            format!("{}  etc/secret\n", sha256_hex(b"s\n")),
        )
        .unwrap();
        dir
    }

    #[test]
    fn a_tree_must_be_what_its_manifests_say() {
        let dir = tree();
        let root = dir.path();
        assert_eq!(check_manifest(root), Ok(2));

        let lua = root.join("etc/prosody/prosody.cfg.lua");
        std::fs::write(&lua, "a = 1\nos.execute('id')\n").unwrap();
        let error = check_manifest(root).unwrap_err();
        assert_eq!(error.file, lua);
        assert!(error.reason.contains("does not match"), "{error}");
        std::fs::write(&lua, "a = 1\n").unwrap();

        std::fs::write(root.join("etc/prosody/extra.lua"), "").unwrap();
        assert!(
            check_manifest(root)
                .unwrap_err()
                .reason
                .contains("not listed")
        );
        std::fs::remove_file(root.join("etc/prosody/extra.lua")).unwrap();

        std::os::unix::fs::symlink("/etc/passwd", root.join("etc/link")).unwrap();
        assert!(
            check_manifest(root)
                .unwrap_err()
                .reason
                .contains("symbolic link")
        );
        std::fs::remove_file(root.join("etc/link")).unwrap();

        std::fs::remove_file(&lua).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &lua).unwrap();
        assert!(
            check_manifest(root)
                .unwrap_err()
                .reason
                .contains("symbolic link")
        );
        std::fs::remove_file(&lua).unwrap();
        assert!(check_manifest(root).unwrap_err().reason.contains("missing"));

        // A forged manifest that matches a forged site: its structure gives it away.
        let site = "server {\n    include /etc/shadow;\n}\n";
        std::fs::create_dir_all(root.join("etc/nginx/sites-available")).unwrap();
        std::fs::write(root.join("etc/nginx/sites-available/x"), site).unwrap();
        std::fs::write(
            root.join(MANIFEST),
            format!(
                "{}  etc/nginx/sites-available/x\n",
                sha256_hex(site.as_bytes())
            ),
        )
        .unwrap();
        let error = check_manifest(root).unwrap_err();
        assert!(
            error.reason.contains("`include` is not a directive"),
            "{error}"
        );

        let empty = tempfile::tempdir().unwrap();
        assert!(
            check_manifest(empty.path())
                .unwrap_err()
                .reason
                .contains("missing")
        );
    }
}
