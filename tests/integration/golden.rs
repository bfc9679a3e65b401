//! Golden trees: `golden/<name>/` is the reviewed output of `examples/<name>/prose.toml`
//! (with its `prose.env`). Any difference fails with a diff; `PROSE_COMPILE_BLESS=1`
//! rewrites the golden tree instead (review the git diff like code). The examples' audit
//! reports are golden too, and every example's tree must pass the real validators.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prose_compile::config::{LoadOptions, Loaded, load};
use prose_compile::output::{MANIFEST, OutputTree};
use prose_compile::pipeline::compile;
use prose_compile::verify::{Outcome, require_or_skip, verify_tree};
use support::{assert_snapshot, blessing, repo};

fn examples() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("prose.toml").is_file())
        .map(|p| {
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                p.join("prose.toml"),
            )
        })
        .collect();
    out.sort();
    out
}

fn load_example(path: &Path) -> Loaded {
    let options = LoadOptions {
        sibling_env_file: true,
        ..LoadOptions::default()
    };
    let loaded = load(path, &options).expect("readable");
    assert!(
        !loaded.has_errors(),
        "{}: {:#?}",
        path.display(),
        loaded.diagnostics
    );
    loaded
}

/// The tree as `build` writes it: the generated files plus the manifest.
fn files_of(tree: &OutputTree) -> BTreeMap<String, Vec<u8>> {
    let mut files: BTreeMap<String, Vec<u8>> = tree
        .files()
        .map(|f| (f.path.to_string(), f.contents.clone()))
        .collect();
    let manifests = tree.manifests();
    files.insert(MANIFEST.into(), manifests.public.into_bytes());
    if let Some((private, _)) = manifests.private {
        files.insert(
            prose_compile::output::PRIVATE_MANIFEST.into(),
            private.into_bytes(),
        );
    }
    files
}

#[test]
fn examples_match_their_golden_trees() {
    let mut failures = Vec::new();
    for (name, path) in examples() {
        let loaded = load_example(&path);
        let tree = compile(&loaded, "prose.toml").unwrap_or_else(|d| panic!("{name}: {d:#?}"));
        let expected_root = repo().join("golden").join(&name);
        let actual = files_of(&tree);
        if blessing() {
            let _ = std::fs::remove_dir_all(&expected_root);
            for (file, bytes) in &actual {
                let target = expected_root.join(file);
                std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
                std::fs::write(target, bytes).expect("write golden");
            }
            for link in tree.links() {
                let path = expected_root.join(link.path.as_str());
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::os::unix::fs::symlink(link.target.as_str(), path).expect("link golden");
            }
            continue;
        }
        // Links (nginx's sites-enabled), as links: their targets compared.
        let expected_links = links_of(&expected_root);
        let actual_links: BTreeMap<String, String> = tree
            .links()
            .map(|l| (l.path.to_string(), l.target.to_string()))
            .collect();
        if expected_links != actual_links {
            failures.push(format!(
                "golden/{name}: links {expected_links:?}, built {actual_links:?}"
            ));
        }
        let expected = support::read_tree(&expected_root);
        for file in expected
            .keys()
            .chain(actual.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let (old, new) = (expected.get(file), actual.get(file));
            if old == new {
                continue;
            }
            let (diff, _) = prose_compile::output::unified_diff(
                file.as_str().into(),
                old.map_or(&[][..], |v| v),
                new.map_or(&[][..], |v| v),
                200,
            );
            failures.push(format!("golden/{name}/{file}:\n{diff}"));
        }
    }
    assert!(
        failures.is_empty(),
        "output differs from golden trees (PROSE_COMPILE_BLESS=1 to accept after review):\n{}",
        failures.join("\n")
    );
}

/// The symbolic links of a tree on disk, by relative path, with what they hold.
fn links_of(root: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path_is_symlink())
        .map(|e| {
            let relative = e.path().strip_prefix(root).unwrap_or(e.path());
            let target = std::fs::read_link(e.path()).expect("readlink");
            (
                relative.to_string_lossy().into_owned(),
                target.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

#[test]
fn golden_trees_cover_every_file_of_the_design() {
    for (name, path) in examples() {
        let loaded = load_example(&path);
        let config = loaded.config.as_ref().expect("valid");
        let tree = compile(&loaded, "prose.toml").expect("compiles");
        let server = config.server.domain.ascii();
        let pod = config
            .pod
            .address
            .domain
            .as_ref()
            .map_or_else(|| config.pod_domain(), |d| d.ascii());
        for file in [
            "etc/prosody/prosody.cfg.lua".to_owned(),
            format!("etc/nginx/sites-available/{pod}"),
            format!("etc/nginx/sites-available/{server}"),
            "var/www/default/.well-known/host-meta".to_owned(),
            "var/www/default/.well-known/host-meta.json".to_owned(),
            "etc/prose/compose.yaml".to_owned(),
            "etc/prose/prose.toml".to_owned(),
            "etc/prose/prose-server.env".to_owned(),
            "etc/systemd/system/prose.service".to_owned(),
            format!("etc/nginx/sites-available/{server}_http"),
            "etc/sysusers.d/prose.conf".to_owned(),
            "etc/tmpfiles.d/prose.conf".to_owned(),
            format!("etc/letsencrypt/prose/{server}-deploy-hook"),
            format!("dns/{server}.zone"),
            "INSTALL.md".to_owned(),
        ] {
            assert!(tree.get(&file).is_some(), "{name}: no {file}");
        }
        for site in [pod, format!("{server}_http")] {
            let link = tree
                .get_link(format!("etc/nginx/sites-enabled/{site}"))
                .unwrap_or_else(|| panic!("{name}: {site} is not enabled"));
            assert_eq!(link.target, format!("../sites-available/{site}"));
        }
    }
}

#[test]
fn examples_audits_match_their_snapshots() {
    let dir = repo().join("tests/snapshots/audit");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (name, path) in examples() {
        let loaded = load_example(&path);
        let tree = compile(&loaded, "prose.toml").ok();
        let findings = prose_compile::audit::audit(&loaded, tree.as_ref());
        let mut text = String::new();
        for f in &findings {
            text += &format!(
                "{} {}: {}\n",
                f.rule.severity.as_str(),
                f.rule.code,
                prose_compile::audit::message(f)
            );
        }
        let text = text.replace(&format!("{}/", repo().display()), "");
        assert_snapshot(&dir.join(format!("{name}.txt")), &text);
    }
}

#[test]
fn examples_pass_the_real_validators() {
    for (name, path) in examples() {
        let loaded = load_example(&path);
        let tree = compile(&loaded, "prose.toml").expect("compiles");
        let dir = tempfile::tempdir().expect("tempdir");
        for file in tree.files() {
            let target = dir.path().join(&file.path);
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::write(&target, &file.contents).expect("write");
        }
        let reports = verify_tree(dir.path());
        assert!(
            reports.len() >= 7,
            "{name}: only {} validator reports",
            reports.len()
        );
        for report in reports {
            match &report.outcome {
                Outcome::Failed { output } => panic!(
                    "{name}: {} rejects {}:\n{output}",
                    report.tool,
                    report.file.display()
                ),
                Outcome::Skipped { .. } => {
                    require_or_skip(&report.outcome);
                }
                Outcome::Passed => {}
            }
        }
    }
}
