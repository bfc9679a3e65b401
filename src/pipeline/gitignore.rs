//! What a directory walk skips because git would: the `.gitignore` files from the root of
//! the repository down to each directory, read with the `ignore` crate's gitignore matcher
//! (walkdir stays the walker). Built trees, scratch copies and vendored checkouts that a
//! repository ignores are not pods to check.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::files::{Bounded, read_bounded};

/// A `.gitignore` larger than this is not read (a real one is a few kilobytes).
const MAX_GITIGNORE_BYTES: u64 = 1024 * 1024;

/// The ignore rules of one walk. Nothing is read from disk until a path is asked about.
pub struct GitIgnores {
    /// The walk's root as given.
    root: PathBuf,
    /// Found on the first question: see [`Place`].
    place: OnceCell<Place>,
    /// The matcher of each directory seen (`None`: it has no `.gitignore`).
    matchers: RefCell<HashMap<PathBuf, Option<Gitignore>>>,
}

/// Where the walk is.
struct Place {
    /// The walk's root as an absolute path (matchers work on absolute paths).
    absolute_root: PathBuf,
    /// The highest directory whose `.gitignore` applies: the repository's root (the nearest
    /// directory with a `.git`), or the walk's root outside a repository.
    top: PathBuf,
}

impl GitIgnores {
    /// The rules for a walk of `root` (a directory).
    pub fn for_walk(root: &Path) -> GitIgnores {
        GitIgnores {
            root: root.to_owned(),
            place: OnceCell::new(),
            matchers: RefCell::default(),
        }
    }

    fn place(&self) -> &Place {
        self.place.get_or_init(|| {
            let absolute_root = self
                .root
                .canonicalize()
                .unwrap_or_else(|_| self.root.clone());
            let top = absolute_root
                .ancestors()
                .find(|dir| dir.join(".git").exists())
                .unwrap_or(&absolute_root)
                .to_owned();
            Place { absolute_root, top }
        })
    }

    /// Whether the walk skips `path` (a path the walk of the root yielded, not the root):
    /// the deepest `.gitignore` with a matching pattern decides, so a `!pattern` below
    /// re-includes what one above ignores. Ignored directories are not entered, so what is
    /// below them is never asked about.
    pub fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        let Ok(relative) = path.strip_prefix(&self.root) else {
            return false;
        };
        let place = self.place();
        let absolute = place.absolute_root.join(relative);
        for dir in absolute.ancestors().skip(1) {
            if let Some(matcher) = self.matcher(dir) {
                match matcher.matched(&absolute, is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
            if dir == place.top {
                break;
            }
        }
        false
    }

    fn matcher(&self, dir: &Path) -> Option<Gitignore> {
        self.matchers
            .borrow_mut()
            .entry(dir.to_owned())
            .or_insert_with(|| read(dir))
            .clone()
    }
}

/// The matcher of `dir/.gitignore`, if it is a regular file of sane size. A line the matcher
/// cannot parse is skipped, as git does.
fn read(dir: &Path) -> Option<Gitignore> {
    let path = dir.join(".gitignore");
    if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let Ok(Bounded::Bytes(bytes)) = read_bounded(&path, MAX_GITIGNORE_BYTES) else {
        return None;
    };
    let mut builder = GitignoreBuilder::new(dir);
    for line in String::from_utf8_lossy(&bytes).lines() {
        let _ = builder.add_line(Some(path.clone()), line);
    }
    builder.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn the_deepest_matching_gitignore_decides_up_to_the_repository_root() {
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path();
        std::fs::create_dir(root.join(".git")).unwrap();
        write(root, ".gitignore", "/scratch/\nbuilt-*\n");
        write(root, "pods/.gitignore", "!built-keep\n");
        let walk = GitIgnores::for_walk(&root.join("pods"));
        let pods = root.join("pods");
        assert!(
            walk.is_ignored(&pods.join("built-x"), true),
            "from above the walk"
        );
        assert!(
            !walk.is_ignored(&pods.join("built-keep"), true),
            "re-included"
        );
        assert!(!walk.is_ignored(&pods.join("crisp"), true));
        // An anchored pattern names the root's own `scratch`, not one below.
        assert!(!walk.is_ignored(&pods.join("scratch"), true));
        let top = GitIgnores::for_walk(root);
        assert!(top.is_ignored(&root.join("scratch"), true));
    }
}
