//! Real configuration files of the Prose project (`tests/fixtures/upstream/`, MPL-2.0, see
//! its README): upstream accepts them, so prose-compile builds them, and their trees pass
//! every validator. Their `dashboard.url = "http://localhost:8081"` (the Dashboard container
//! reached directly, as in upstream's local runs) is not a URL the generated nginx serves:
//! the build warns and nginx serves the Dashboard at `admin.<pod domain>`.

use crate::support::{cli, repo};

use prose_compile::verify::{Outcome, require_or_skip, verify_tree};

fn upstream_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("tests/fixtures/upstream"))
        .expect("tests/fixtures/upstream")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    files
}

#[test]
fn upstream_files_build_with_a_warning_and_pass_every_validator() {
    for file in upstream_files() {
        let text = std::fs::read_to_string(&file).expect("read");
        let domain = if text.contains("test.local") {
            "test.local"
        } else {
            "example.org"
        };
        let ran = cli()
            .file("pod/prose.toml", &text)
            .args(&["build", "--no-env", "pod/prose.toml", "-o", "out"])
            .run()
            .status(0)
            .stderr_has("the generated nginx does not serve `dashboard.url` (it has the port 8081)")
            .stderr_has(&format!("https://admin.prose.{domain}"));
        let tree = ran.tree("out");
        let site =
            String::from_utf8(tree[&format!("etc/nginx/sites-available/prose.{domain}")].clone())
                .expect("utf-8");
        assert!(
            site.contains(&format!("server_name admin.prose.{domain};")),
            "{}: the Dashboard is not served at admin.prose.{domain}:\n{site}",
            file.display()
        );
        assert!(!site.contains("localhost"), "{site}");
        let reports = verify_tree(&ran.path("out"));
        assert!(reports.len() >= 6, "{}: {reports:?}", file.display());
        for report in reports {
            match &report.outcome {
                Outcome::Failed { output } => panic!(
                    "{}: {} rejects {}:\n{output}",
                    file.display(),
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
