//! Writing output trees: atomic replacement, the manifest, hand edits, stale and unrelated
//! files, and refusing unsafe directories. (The interrupted-build test, which needs the real
//! binary, is in `tests/build_workflow.rs`.)

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use prose_compile::output::{self, Change, MANIFEST, OutputTree, WriteError};
use prose_compile::targets::GeneratedFile;

fn tree(files: &[(&str, &str, u32)]) -> OutputTree {
    let mut tree = OutputTree::default();
    for (path, text, mode) in files {
        tree.insert(GeneratedFile {
            path: (*path).into(),
            contents: text.as_bytes().to_vec(),
            mode: *mode,
        })
        .expect("valid path");
    }
    tree
}

fn read(root: &Path, path: &str) -> String {
    fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn writes_files_with_modes_and_a_checkable_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("out");
    let summary = output::write(
        &tree(&[
            ("etc/a.conf", "a\n", 0o644),
            ("etc/secret.lua", "s\n", 0o640),
        ]),
        &root,
        false,
    )
    .expect("write");
    assert_eq!(summary.written.len(), 2);
    assert_eq!(
        fs::metadata(root.join("etc/secret.lua"))
            .expect("file")
            .permissions()
            .mode()
            & 0o777,
        0o640
    );
    assert_eq!(
        fs::metadata(root.join("etc/a.conf"))
            .expect("file")
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
    assert!(
        !root.join(output::WORK_DIR).exists(),
        "no work files left behind"
    );
    // The manifest is what sha256sum -c expects.
    let check = Command::new("sha256sum")
        .arg("-c")
        .arg(MANIFEST)
        .current_dir(&root)
        .output()
        .expect("sha256sum");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // A second identical build changes nothing.
    let again = output::write(
        &tree(&[
            ("etc/a.conf", "a\n", 0o644),
            ("etc/secret.lua", "s\n", 0o640),
        ]),
        &root,
        false,
    )
    .expect("write");
    assert!(!again.changed());
    assert_eq!(again.unchanged.len(), 2);
}

#[test]
fn hand_edits_stop_the_build_and_survive_until_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    output::write(&tree(&[("a.conf", "generated\n", 0o644)]), root, false).expect("first build");
    fs::write(root.join("a.conf"), "generated\nhand edit\n").expect("edit");
    let next = tree(&[("a.conf", "regenerated\n", 0o644)]);
    match output::write(&next, root, false) {
        Err(WriteError::HandEdited(edits)) => {
            assert_eq!(edits.len(), 1);
            assert_eq!(edits[0].path, "a.conf");
            assert!(edits[0].was_generated);
            assert!(edits[0].diff.contains("-hand edit"), "{}", edits[0].diff);
            assert!(edits[0].diff.contains("+regenerated"), "{}", edits[0].diff);
        }
        other => panic!("expected a hand-edit refusal, got {other:?}"),
    }
    assert_eq!(
        read(root, "a.conf"),
        "generated\nhand edit\n",
        "the edit survives"
    );
    output::write(&next, root, true).expect("forced build");
    assert_eq!(read(root, "a.conf"), "regenerated\n");
}

#[test]
fn stale_generated_files_go_and_unrelated_files_stay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    output::write(
        &tree(&[("etc/old/site", "old\n", 0o644), ("keep", "k\n", 0o644)]),
        root,
        false,
    )
    .expect("first");
    fs::write(root.join("README.operator"), "mine\n").expect("unrelated");
    fs::create_dir_all(root.join("etc/old/extra")).expect("dir");
    fs::write(root.join("etc/old/extra/note"), "mine too\n").expect("unrelated");
    let summary = output::write(
        &tree(&[("keep", "k\n", 0o644), ("new", "n\n", 0o644)]),
        root,
        false,
    )
    .expect("second");
    assert_eq!(summary.removed, ["etc/old/site"]);
    assert!(!root.join("etc/old/site").exists());
    assert_eq!(read(root, "README.operator"), "mine\n");
    assert_eq!(read(root, "etc/old/extra/note"), "mine too\n");
    assert!(!read(root, MANIFEST).contains("etc/old/site"));
}

#[test]
fn a_file_the_tool_never_generated_is_not_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    fs::write(root.join("a.conf"), "written by the operator\n").expect("write");
    match output::write(&tree(&[("a.conf", "generated\n", 0o644)]), root, false) {
        Err(WriteError::HandEdited(edits)) => assert!(!edits[0].was_generated),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(read(root, "a.conf"), "written by the operator\n");
}

#[test]
fn symlinks_and_files_in_the_way_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = dir.path().join("outside");
    fs::create_dir(&outside).expect("dir");
    // The output directory itself is a link.
    let link = dir.path().join("out-link");
    std::os::unix::fs::symlink(&outside, &link).expect("symlink");
    assert!(matches!(
        output::write(&tree(&[("a", "x", 0o644)]), &link, false),
        Err(WriteError::Unsafe(_))
    ));
    // A directory inside the tree is a link pointing outside.
    let root = dir.path().join("out");
    fs::create_dir(&root).expect("dir");
    std::os::unix::fs::symlink(&outside, root.join("etc")).expect("symlink");
    assert!(matches!(
        output::write(&tree(&[("etc/passwd", "x", 0o644)]), &root, false),
        Err(WriteError::Unsafe(_))
    ));
    assert!(
        fs::read_dir(&outside).expect("dir").next().is_none(),
        "nothing written outside"
    );
    // The output directory is a file.
    let file = dir.path().join("file");
    fs::write(&file, "x").expect("write");
    assert!(matches!(
        output::write(&tree(&[("a", "x", 0o644)]), &file, false),
        Err(WriteError::Unsafe(_))
    ));
}

#[test]
fn a_corrupt_manifest_is_reported_not_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    output::write(&tree(&[("a", "1\n", 0o644)]), root, false).expect("first");
    fs::write(root.join(MANIFEST), "this is not a manifest\n").expect("corrupt");
    assert!(matches!(
        output::write(&tree(&[("a", "2\n", 0o644)]), root, false),
        Err(WriteError::CorruptManifest { .. })
    ));
    assert_eq!(read(root, "a"), "1\n");
}

#[test]
fn plan_lists_what_would_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    output::write(
        &tree(&[("a", "1\n", 0o644), ("b", "1\n", 0o644)]),
        root,
        false,
    )
    .expect("first");
    let changes =
        output::plan(&tree(&[("a", "2\n", 0o644), ("c", "3\n", 0o644)]), root).expect("plan");
    let kinds: Vec<String> = changes
        .iter()
        .map(|c| match c {
            Change::Create { path } => format!("create {path}"),
            Change::Update { path, .. } => format!("update {path}"),
            Change::Remove { path, .. } => format!("remove {path}"),
            Change::Mode { path, .. } => format!("mode {path}"),
            Change::DirectoryMode { path, .. } => format!("directory mode {path}"),
            Change::Manifest { path } => format!("manifest {path}"),
        })
        .collect();
    assert_eq!(kinds, ["update a", "create c", "remove b"]);
    assert!(
        output::plan(&tree(&[("a", "1\n", 0o644), ("b", "1\n", 0o644)]), root)
            .expect("plan")
            .is_empty()
    );
}

#[test]
fn the_prosody_configuration_is_private_only_when_it_holds_a_secret() {
    use prose_compile::config::{LoadOptions, load};
    use prose_compile::pipeline::compile;
    let mode_of = |extra: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("prose.toml");
        fs::write(
            &path,
            format!("[server]\ndomain = \"example.org\"\n{extra}"),
        )
        .expect("write");
        let loaded = load(&path, &LoadOptions::default()).expect("load");
        let tree = compile(&loaded, "prose.toml").expect("compile");
        tree.get("etc/prosody/prosody.cfg.lua").expect("lua").mode
    };
    // Readable by the Prosody user after `rsync -a`…
    assert_eq!(mode_of(""), 0o644);
    // …unless an option carries a secret.
    assert_eq!(
        mode_of(
            "[prosody.\"upload.prose.local\".overrides]\nhttp_file_share_secret = \"s3cret-value\"\n"
        ),
        0o640
    );
    assert_eq!(
        mode_of(
            "[prosody.global.overrides]\nsql = { driver = \"PostgreSQL\", password = \"pw\" }\n"
        ),
        0o640
    );
}

// ---------------------------------------------------------------------------------------------
// Symbolic links (nginx's sites-enabled/): entries of the tree, never followed.

const SITE: &str = "etc/nginx/sites-available/a.example";
const ENABLED: &str = "etc/nginx/sites-enabled/a.example";

fn with_link(files: &[(&str, &str, u32)], links: &[(&str, &str)]) -> OutputTree {
    let mut tree = tree(files);
    for (path, target) in links {
        tree.insert_link(prose_compile::targets::GeneratedLink {
            path: (*path).into(),
            target: (*target).into(),
        })
        .expect("valid link");
    }
    tree
}

fn site_tree(text: &str) -> OutputTree {
    with_link(
        &[(SITE, text, 0o644)],
        &[(ENABLED, "../sites-available/a.example")],
    )
}

#[test]
fn links_are_written_relative_listed_with_their_files_digest_and_checkable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let summary = output::write(&site_tree("server {}\n"), root, false).expect("write");
    assert_eq!(summary.written.len(), 2);
    assert_eq!(
        fs::read_link(root.join(ENABLED)).expect("a link"),
        Path::new("../sites-available/a.example")
    );
    let manifest = read(root, MANIFEST);
    let digest = output::sha256_hex(b"server {}\n");
    assert!(
        manifest.contains(&format!("{digest}  {ENABLED}\n"))
            && manifest.contains(&format!("{digest}  {SITE}\n")),
        "{manifest}"
    );
    // sha256sum -c reads through the link: the manifest checks as is, in the tree and once
    // copied elsewhere with `cp -a` (links kept).
    let check = Command::new("sha256sum")
        .args(["-c", "--strict", MANIFEST])
        .current_dir(root)
        .output()
        .expect("sha256sum");
    assert!(check.status.success(), "{check:?}");
    assert!(
        prose_compile::verify::check_manifest(root).is_ok(),
        "{:?}",
        prose_compile::verify::check_manifest(root)
    );
    // Unchanged on a second build; `plan` sees nothing to do.
    let again = output::write(&site_tree("server {}\n"), root, false).expect("again");
    assert!(!again.changed(), "{again:?}");
    assert!(
        output::plan(&site_tree("server {}\n"), root)
            .expect("plan")
            .is_empty()
    );
}

#[test]
fn a_link_to_anything_but_a_generated_file_is_refused_in_the_tree() {
    let mut tree = tree(&[(SITE, "x\n", 0o644)]);
    for target in [
        "/etc/shadow",
        "../../../../etc/shadow",
        "../../../../../../x",
        "../sites-available/missing",
        "../sites-available//a.example",
        "./../sites-available/a.example",
        "",
    ] {
        let error = tree
            .insert_link(prose_compile::targets::GeneratedLink {
                path: ENABLED.into(),
                target: target.into(),
            })
            .expect_err(target);
        assert!(error.contains("does not name a generated file"), "{error}");
    }
    // A link may not take the place of a file, nor be declared twice.
    let link = |target: &str| prose_compile::targets::GeneratedLink {
        path: ENABLED.into(),
        target: target.into(),
    };
    tree.insert_link(link("../sites-available/a.example"))
        .expect("valid");
    assert!(
        tree.insert_link(link("../sites-available/a.example"))
            .is_err()
    );
    assert!(
        tree.insert_link(prose_compile::targets::GeneratedLink {
            path: SITE.into(),
            target: "a.example".into(),
        })
        .is_err()
    );
}

#[test]
fn a_link_changed_by_hand_is_a_hand_edit_and_never_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    output::write(&site_tree("server {}\n"), root, false).expect("first");
    // The operator points the enabled site elsewhere: their edit, shown as a diff of targets.
    fs::remove_file(root.join(ENABLED)).expect("rm");
    std::os::unix::fs::symlink("/etc/nginx/sites-available/mine", root.join(ENABLED))
        .expect("symlink");
    match output::write(&site_tree("server { }\n"), root, false) {
        Err(WriteError::HandEdited(edits)) => {
            assert_eq!(edits.len(), 1, "{edits:?}");
            assert_eq!(edits[0].path, ENABLED);
            assert!(
                edits[0]
                    .diff
                    .contains("-symbolic link to /etc/nginx/sites-available/mine")
                    && edits[0]
                        .diff
                        .contains("+symbolic link to ../sites-available/a.example"),
                "{}",
                edits[0].diff
            );
        }
        other => panic!("expected a hand-edit refusal, got {other:?}"),
    }
    assert_eq!(
        fs::read_link(root.join(ENABLED)).expect("link"),
        Path::new("/etc/nginx/sites-available/mine"),
        "the edit survives"
    );
    // `plan` shows the same, without following the link (its target does not exist).
    let changes = output::plan(&site_tree("server { }\n"), root).expect("plan");
    assert!(
        changes.iter().any(
            |c| matches!(c, Change::Update { path, old } if path == ENABLED
                && old == b"symbolic link to /etc/nginx/sites-available/mine\n")
        ),
        "{changes:?}"
    );
    // --force replaces the link itself; what it pointed to is never written.
    output::write(&site_tree("server { }\n"), root, true).expect("forced");
    assert_eq!(
        fs::read_link(root.join(ENABLED)).expect("link"),
        Path::new("../sites-available/a.example")
    );
    // A link the operator put where no build wrote one is never replaced without --force.
    let fresh = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(fresh.path().join("etc/nginx/sites-enabled")).expect("mkdir");
    std::os::unix::fs::symlink("/etc/passwd", fresh.path().join(ENABLED)).expect("symlink");
    match output::write(&site_tree("server {}\n"), fresh.path(), false) {
        Err(WriteError::HandEdited(edits)) => assert!(!edits[0].was_generated),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_stale_link_goes_only_when_it_is_the_one_a_build_wrote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let other = || tree(&[("etc/nginx/sites-available/b.example", "b\n", 0o644)]);
    output::write(&site_tree("server {}\n"), root, false).expect("first");
    // The next build no longer has the site: its file and its link both go, the link
    // without being followed (its file is removed in the same build).
    let summary = output::write(&other(), root, false).expect("second");
    assert_eq!(
        summary.removed,
        [SITE, ENABLED].map(camino::Utf8PathBuf::from)
    );
    assert!(fs::symlink_metadata(root.join(ENABLED)).is_err());

    // A stale link the operator retargeted is theirs: refused, then removed with --force
    // (the link only: the file it names stays).
    output::write(&site_tree("server {}\n"), root, false).expect("third");
    let mine = root.join("mine.conf");
    fs::write(&mine, "mine\n").expect("write");
    fs::remove_file(root.join(ENABLED)).expect("rm");
    std::os::unix::fs::symlink(&mine, root.join(ENABLED)).expect("symlink");
    assert!(matches!(
        output::write(&other(), root, false),
        Err(WriteError::HandEdited(_))
    ));
    assert!(fs::symlink_metadata(root.join(ENABLED)).is_ok());
    output::write(&other(), root, true).expect("forced");
    assert!(fs::symlink_metadata(root.join(ENABLED)).is_err());
    assert_eq!(read(root, "mine.conf"), "mine\n");
}

#[test]
fn a_directory_or_a_linked_directory_in_a_links_place_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("out");
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).expect("dir");
    fs::create_dir_all(root.join("etc/nginx")).expect("dir");
    // sites-enabled is a link out of the tree: nothing is written through it.
    std::os::unix::fs::symlink(&outside, root.join("etc/nginx/sites-enabled")).expect("symlink");
    assert!(matches!(
        output::write(&site_tree("x\n"), &root, false),
        Err(WriteError::Unsafe(_))
    ));
    assert!(fs::read_dir(&outside).expect("dir").next().is_none());
    fs::remove_file(root.join("etc/nginx/sites-enabled")).expect("rm");
    // A directory where the link goes.
    fs::create_dir_all(root.join(ENABLED)).expect("dir");
    assert!(matches!(
        output::write(&site_tree("x\n"), &root, false),
        Err(WriteError::Unsafe(_))
    ));
}

#[test]
fn verify_accepts_only_the_links_a_build_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    output::write(
        &with_link(
            &[(SITE, "server {}\n", 0o644), ("etc/other", "o\n", 0o644)],
            &[(ENABLED, "../sites-available/a.example")],
        ),
        root,
        false,
    )
    .expect("write");
    assert!(prose_compile::verify::check_manifest(root).is_ok());
    let relink = |target: &str| {
        fs::remove_file(root.join(ENABLED)).expect("rm");
        std::os::unix::fs::symlink(target, root.join(ENABLED)).expect("symlink");
        prose_compile::verify::check_manifest(root)
    };
    for target in [
        "/etc/passwd",
        "../../other",
        "../../../../../etc/passwd",
        "a.example",
    ] {
        let error = relink(target).expect_err(target);
        assert!(error.reason.contains("symbolic link"), "{target}: {error}");
    }
    // The same file by another spelling is the same link.
    assert!(relink("../../nginx/sites-available/a.example").is_ok());
    // An extra link no build wrote.
    relink("../sites-available/a.example").expect("restored");
    std::os::unix::fs::symlink(
        "../sites-available/a.example",
        root.join("etc/nginx/sites-enabled/b"),
    )
    .expect("symlink");
    let error = prose_compile::verify::check_manifest(root).expect_err("extra link");
    assert!(error.reason.contains("no build wrote"), "{error}");
}
