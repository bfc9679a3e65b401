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
