//! `verify --live`: the live checks on one built tree, each check printed as it comes.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::args::LiveArgs;
use super::exit::{Exit, Outcome, Stop};
use super::ui::Ui;
use prose_compile::live::{self, Event, KeyType, Options, Status};

/// `--format json`.
#[derive(Serialize)]
struct Report {
    tree: String,
    checks: Vec<CheckEntry>,
    notes: Vec<NoteEntry>,
    counts: Counts,
    seconds: f64,
    kept: Option<String>,
}

#[derive(Serialize)]
struct CheckEntry {
    check: String,
    result: &'static str,
    detail: String,
}

#[derive(Serialize)]
struct NoteEntry {
    kind: String,
    text: String,
}

#[derive(Serialize)]
struct Counts {
    pass: usize,
    fail: usize,
    not_available: usize,
    info: usize,
    skip: usize,
}

pub fn run(ui: &Ui, dir: &Path, args: &LiveArgs) -> Outcome {
    let mut options = Options::new(dir);
    options.python = args.python.clone();
    options.modules = args.modules.clone();
    options.only = args.only.clone();
    options.keep = args.keep;
    options.keytype = if args.ecdsa {
        KeyType::Ec
    } else {
        KeyType::Rsa
    };
    let out = &mut ui.out();
    let mut write_error = None;
    let result = live::run(&options, &mut |event| {
        if !ui.human() || write_error.is_some() {
            return;
        }
        match event {
            // What the harness did (rewrites, mounts, certificates, processes): standard error.
            Event::Note(note) if note.kind != "DONE" => {
                if ui.verbose || !matches!(note.kind.as_str(), "START" | "STOP" | "OUTPUT") {
                    ui.note(&format!("{:8} {}", note.kind.to_lowercase(), note.text));
                }
            }
            Event::Note(_) => {}
            Event::Check(check) => {
                if let Err(e) = writeln!(
                    out,
                    "{:8} {}: {}",
                    check.status.as_str(),
                    check.id,
                    check.detail
                ) {
                    write_error = Some(e);
                }
            }
        }
    });
    if let Some(e) = write_error {
        return Err(Stop::Output(e));
    }
    let report = result.map_err(|e| Stop::Usage(e.to_string()))?;
    let counts = Counts {
        pass: report.count(Status::Pass),
        fail: report.count(Status::Fail),
        not_available: report.count(Status::NotAvailable),
        info: report.count(Status::Info),
        skip: report.count(Status::Skip),
    };
    let summary = format!(
        "{} passed, {} failed, {} not available here (not judged), {} measured, {} skipped in {:.1} s",
        counts.pass,
        counts.fail,
        counts.not_available,
        counts.info,
        counts.skip,
        report.elapsed.as_secs_f64()
    );
    if ui.human() {
        if let Some(kept) = &report.kept {
            ui.note(&format!("the run's directory is kept: {}", kept.display()));
        }
        ui.note(&summary);
    } else {
        ui.json(
            &Report {
                tree: report.tree.display().to_string(),
                checks: report
                    .checks
                    .iter()
                    .map(|c| CheckEntry {
                        check: c.id.clone(),
                        result: c.status.as_str(),
                        detail: c.detail.clone(),
                    })
                    .collect(),
                notes: report
                    .notes
                    .iter()
                    .map(|n| NoteEntry {
                        kind: n.kind.clone(),
                        text: n.text.clone(),
                    })
                    .collect(),
                counts,
                seconds: report.elapsed.as_secs_f64(),
                kept: report.kept.as_ref().map(|k| k.display().to_string()),
            },
            true,
        )?;
    }
    Ok(Exit::failure_if(report.failed()))
}
