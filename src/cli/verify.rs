//! `verify`: the real validators over a built tree (or every pod tree below a directory).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::exit::{Exit, Outcome, Stop};
use super::ui::Ui;
use prose_compile::output::MANIFEST;
use prose_compile::verify::{self, Outcome as Verdict};

/// `--format json`.
#[derive(Serialize)]
struct Report {
    reports: Vec<Entry>,
}

#[derive(Serialize)]
struct Entry {
    tool: &'static str,
    file: String,
    result: &'static str,
    output: String,
}

pub fn run(ui: &Ui, dir: &Path) -> Outcome {
    if !dir.is_dir() {
        return Err(Stop::Usage(format!(
            "{}: not a directory (build first)",
            dir.display()
        )));
    }
    // Every tree has a manifest at its root: several pods, several trees.
    let roots: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == MANIFEST)
        .filter_map(|e| e.path().parent().map(Path::to_owned))
        .collect();
    if roots.is_empty() {
        return Err(Stop::Usage(format!(
            "{}: no {MANIFEST}: not a tree built by prose-compile (build first)",
            dir.display()
        )));
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut json = Report {
        reports: Vec::new(),
    };
    let out = &mut ui.out();
    for root in roots {
        // The tree first: the tools run only on files a build wrote, unchanged (those of the
        // trees below it too: a Kubernetes fleet root's tools read its pods).
        let manifest = verify::check_tree(&root);
        let checked = match &manifest {
            Ok(_) => Verdict::Passed,
            Err(mismatch) => Verdict::Failed {
                output: format!("{mismatch}: refusing to run the validators on this tree"),
            },
        };
        let mut reports = vec![verify::Report {
            tool: "manifest",
            file: root.join(MANIFEST),
            outcome: checked,
        }];
        if manifest.is_ok() {
            reports.extend(verify::verify_tree(&root));
        }
        for report in reports {
            let (word, detail) = match &report.outcome {
                Verdict::Passed => {
                    passed += 1;
                    ("pass", String::new())
                }
                Verdict::Failed { output } => {
                    failed += 1;
                    ("FAIL", output.clone())
                }
                Verdict::Skipped { reason } => {
                    skipped += 1;
                    ("skip", reason.clone())
                }
            };
            if ui.human() {
                writeln!(
                    out,
                    "{word:4}  {:<16} {}",
                    report.tool,
                    report.file.display()
                )?;
                for line in detail.lines().filter(|_| word != "pass") {
                    writeln!(out, "      {line}")?;
                }
            } else {
                json.reports.push(Entry {
                    tool: report.tool,
                    file: report.file.display().to_string(),
                    result: match word {
                        "FAIL" => "fail",
                        other => other,
                    },
                    output: detail,
                });
            }
        }
    }
    if !ui.human() {
        ui.json(&json, false)?;
    }
    ui.note(&format!(
        "{passed} passed, {failed} failed, {skipped} skipped"
    ));
    Ok(Exit::failure_if(failed > 0))
}
