//! `build`, `build --check` and `diff`: write each pod's tree, or compare it with the disk and
//! print the difference.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::args::LoadArgs;
use super::exit::{Exit, Outcome as CommandOutcome, Stop};
use super::ui::{Ui, plural};
use prose_compile::audit;
use prose_compile::config::Loaded;
use prose_compile::diagnostics;
use prose_compile::output::{Change, OutputTree, WriteError, unified_diff};
use prose_compile::pipeline::fleet::{self, RootOutcome};
use prose_compile::pipeline::{self, Action, Inspection, Outcome, PodReport, RunOptions};
use prose_compile::targets::{self, Platform, kubernetes};

/// Diff lines shown before the rest is summarised.
const DIFF_LINES: usize = 400;

/// What the command was asked to do.
pub struct Request<'a> {
    pub paths: &'a [PathBuf],
    pub output: &'a Path,
    pub load: &'a LoadArgs,
    pub action: Action,
    /// `build --check`: drift is a failure (exit 1); `diff` only shows it.
    pub fail_on_drift: bool,
    pub templates: Option<&'a Path>,
}

/// `--format json`.
#[derive(Serialize)]
struct Report {
    pods: Vec<BuiltPod>,
}

#[derive(Serialize)]
struct BuiltPod {
    path: String,
    output: String,
    status: &'static str,
    /// `[JsonDiagnostic]`.
    diagnostics: serde_json::Value,
    /// The values `PROSE_*` variables set (`[EnvUse]`).
    environment: serde_json::Value,
    /// Why the pod could not be read or written (`unreadable`, `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// `build --check` and `diff`: what differs on disk, file by file, with its diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<Vec<JsonChange>>,
}

/// One file that differs from what `build` would write.
#[derive(Serialize)]
struct JsonChange {
    /// The file's path in the tree.
    path: String,
    /// `create`, `update`, `remove`, `mode`, `directory-mode` or `manifest`.
    change: &'static str,
    /// The unified diff (`mode`: a sentence).
    diff: String,
}

/// What is reported about a written pod besides its outcome, worked out on the pod's thread
/// from the pod as loaded and compiled, and kept in the tree's input record: a build that
/// finds the tree up to date by its record reports exactly this, without loading the pod.
#[derive(Serialize, Deserialize)]
struct Inspected {
    /// The human report before the outcome: the diagnostics and the environment notes, as
    /// `Ui` prints them under this build's settings (secrets masked, as always).
    shown: String,
    /// `--format json`: the pod's `diagnostics` and `environment`.
    diagnostics: serde_json::Value,
    environment: serde_json::Value,
    /// The audit summary of the tree: `0 critical, 2 warnings, 0 suggestions`.
    audit: String,
}

impl Inspected {
    fn new(ui: &Ui, loaded: &Loaded, tree: &OutputTree) -> Inspected {
        let uses = loaded.environment_uses();
        let json = |value: serde_json::Result<serde_json::Value>| value.unwrap_or_default();
        Inspected {
            shown: if ui.human() {
                ui.diagnostics_text(&loaded.diagnostics, &loaded.sources)
                    + &super::environment::note_text(ui, &loaded.path.display().to_string(), &uses)
            } else {
                String::new()
            },
            diagnostics: json(serde_json::to_value(diagnostics::all_to_json(
                &loaded.diagnostics,
                &loaded.sources,
            ))),
            environment: json(serde_json::to_value(&uses)),
            audit: super::audit::counts(&audit::audit(loaded, Some(tree))),
        }
    }
}

impl Inspection for Inspected {
    fn to_record(&self) -> Option<String> {
        // One line: JSON escapes the line breaks of the shown text.
        serde_json::to_string(self).ok()
    }
    fn from_record(line: &str) -> Option<Self> {
        serde_json::from_str(line).ok()
    }
}

/// Pods by outcome, for the summary line and the exit code.
#[derive(Default)]
struct Counts {
    invalid: usize,
    failed: usize,
    changed: usize,
    unchanged: usize,
    drift: usize,
    /// A Kubernetes fleet root left unwritten (a pod failed).
    root_failed: bool,
}

pub fn run(ui: &Ui, request: &Request<'_>) -> CommandOutcome {
    let pods = super::find_pods(request.paths, Some(request.output))?;
    let platform = super::target::platform(ui, request.load, request.paths)?;
    let pods = match platform {
        Platform::Host => pipeline::one_pod_per_tree(pods, request.output).map_err(Stop::Usage)?,
        Platform::Kubernetes(_) => pipeline::each_pod_once(pods),
    };
    let custom;
    let templates = match request.templates {
        // The embedded ones, compiled when a pod is rendered.
        None => None,
        Some(dir) => {
            custom = targets::templates_from_dir(dir)
                .map_err(|error| Stop::Usage(format!("--templates {}: {error}", dir.display())))?;
            Some(&custom)
        }
    };
    let options = request.load.options();
    let show_progress = pods.len() > 1 && !ui.quiet && std::io::stderr().is_terminal();
    let progress = |done: usize| {
        if show_progress {
            ui.err(&format!("\r[{done}/{}] pods", pods.len()));
        }
    };
    let presentation = ui.presentation_key();
    let run = RunOptions {
        load: &options,
        action: request.action,
        templates,
        platform: &platform,
        lock_wait: lock_wait()?,
        inspection_key: &presentation,
    };
    // What is reported about each written tree (its diagnostics, its audit summary), on the
    // pod's own thread; kept in the tree's input record for a build that skips the pod.
    let audit = |loaded: &Loaded, tree: &OutputTree| Inspected::new(ui, loaded, tree);

    let mut counts = Counts::default();
    let mut diff = DiffBudget {
        left: DIFF_LINES,
        hidden: 0,
    };
    let mut json = Report { pods: Vec::new() };
    let mut stopped = None;
    // Each pod is printed (and its report dropped) as soon as it and those before it are done.
    let consume = |report: PodReport<Inspected>| {
        if stopped.is_some() {
            return;
        }
        if show_progress {
            ui.err("\r\x1b[K");
        }
        match print_pod(ui, &report, &mut counts, &mut diff) {
            Ok(status) if !ui.human() => json.pods.push(BuiltPod {
                path: report.pod.config.display().to_string(),
                output: report.output_dir.display().to_string(),
                status,
                diagnostics: match &report.inspection {
                    Some(inspected) => inspected.diagnostics.clone(),
                    None => json_value(
                        report
                            .loaded
                            .as_ref()
                            .map(|l| diagnostics::all_to_json(&report.diagnostics(), &l.sources))
                            .unwrap_or_default(),
                    ),
                },
                environment: match &report.inspection {
                    Some(inspected) => inspected.environment.clone(),
                    None => json_value(
                        report
                            .loaded
                            .as_ref()
                            .map(|l| l.environment_uses())
                            .unwrap_or_default(),
                    ),
                },
                error: match &report.outcome {
                    Outcome::Refused(problem) => Some(problem.clone()),
                    Outcome::Unreadable(error) => Some(error.to_string()),
                    Outcome::WriteFailed(error) => Some(error.to_string()),
                    _ => None,
                },
                changes: match &report.outcome {
                    Outcome::Compared { changes, tree } => Some(
                        changes
                            .iter()
                            .map(|change| json_change(change, tree))
                            .collect(),
                    ),
                    _ => None,
                },
            }),
            Ok(_) => {}
            Err(stop) => stopped = Some(stop),
        }
    };
    let fleet = match &platform {
        Platform::Host => {
            pipeline::run_each(&pods, request.output, &run, &audit, &progress, consume);
            None
        }
        // The pods' reports come after every pod is written: the phases of a fleet build
        // (see `pipeline::fleet`) refuse conflicting pods before anything is written.
        Platform::Kubernetes(_) => {
            let report = fleet::run(&pods, request.output, &run, &audit, &progress);
            report.pods.into_iter().for_each(consume);
            Some((report.root_dir, report.root))
        }
    };
    if show_progress {
        ui.err("\r\x1b[K");
    }
    if let Some(stop) = stopped {
        return Err(stop);
    }
    if let Some((dir, root)) = &fleet {
        print_root(ui, dir, root, &mut counts, &mut diff, &mut json)?;
    }
    if diff.hidden > 0 {
        writeln!(
            ui.out(),
            "… {} more diff line{} not shown",
            diff.hidden,
            plural(diff.hidden)
        )?;
    }
    if !ui.human() {
        ui.json(&json, false)?;
    }
    ui.note(&summary(&request.action, pods.len(), &counts));
    Ok(if counts.failed > 0 {
        Exit::Error
    } else {
        Exit::failure_if(
            counts.invalid > 0 || counts.root_failed || (request.fail_on_drift && counts.drift > 0),
        )
    })
}

/// The fleet root of a Kubernetes build: written, compared, or left out because a pod did
/// not make it (which fails the build: the root must list every pod).
fn print_root(
    ui: &Ui,
    dir: &Path,
    root: &RootOutcome,
    counts: &mut Counts,
    diff: &mut DiffBudget,
    json: &mut Report,
) -> Result<(), Stop> {
    let shown = dir.join(kubernetes::KUSTOMIZATION).display().to_string();
    let (status, error, changes) = match root {
        RootOutcome::Skipped { failed } => {
            counts.root_failed = true;
            let message = format!(
                "{shown} not written: {failed} pod{} did not build, and the fleet root lists \
                 every pod of the build",
                plural(*failed)
            );
            if ui.human() {
                super::exit::error(&message);
            }
            ("not written", Some(message), None)
        }
        RootOutcome::WriteFailed(error) => {
            counts.failed += 1;
            if ui.human() {
                write_error(ui, dir, error);
            }
            ("failed", Some(error.to_string()), None)
        }
        RootOutcome::Written(summary) => {
            if summary.changed() {
                ui.note(&format!(
                    "fleet root: wrote {} file{} in {}",
                    summary.written.len(),
                    plural(summary.written.len()),
                    dir.display()
                ));
                ("changed", None, None)
            } else {
                ("unchanged", None, None)
            }
        }
        RootOutcome::Compared { changes, tree } => {
            if changes.is_empty() {
                ("up to date", None, Some(Vec::new()))
            } else {
                counts.drift += 1;
                if ui.human() {
                    print_changes(ui, dir, changes, tree, diff)?;
                }
                (
                    "out of date",
                    None,
                    Some(changes.iter().map(|c| json_change(c, tree)).collect()),
                )
            }
        }
    };
    if !ui.human() {
        json.pods.push(BuiltPod {
            path: shown,
            output: dir.display().to_string(),
            status,
            diagnostics: serde_json::Value::Array(Vec::new()),
            environment: serde_json::Value::Array(Vec::new()),
            error,
            changes,
        });
    }
    Ok(())
}

/// The variable that sets how long a build waits for another build of the same tree.
const LOCK_WAIT_VARIABLE: &str = "PROSE_COMPILE_LOCK_WAIT";

/// `PROSE_COMPILE_LOCK_WAIT=SECONDS` (default 10): how long to wait for another build of the
/// same tree before giving up with exit 2.
fn lock_wait() -> Result<std::time::Duration, Stop> {
    match std::env::var(LOCK_WAIT_VARIABLE) {
        Err(_) => Ok(prose_compile::output::lock::DEFAULT_WAIT),
        Ok(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| {
                Stop::Usage(format!(
                    "{LOCK_WAIT_VARIABLE}={}: expected a number of seconds",
                    text.escape_debug()
                ))
            }),
    }
}

/// A JSON field's value (`Null` if it cannot be one, which these types always can).
fn json_value(value: impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// `built 3 pods: 1 changed, 2 unchanged, 0 invalid, 0 failed`.
fn summary(action: &Action, n: usize, c: &Counts) -> String {
    let compare = matches!(action, Action::Compare);
    let verb = if compare { "compared" } else { "built" };
    let mut summary = format!("{verb} {n} pod{}: ", plural(n));
    summary += &if compare {
        format!("{} up to date, {} out of date", c.unchanged, c.drift)
    } else {
        format!("{} changed, {} unchanged", c.changed, c.unchanged)
    };
    summary + &format!(", {} invalid, {} failed", c.invalid, c.failed)
}

/// Prints one pod's diagnostics, notes and diff; counts it; returns its status word.
fn print_pod(
    ui: &Ui,
    report: &PodReport<Inspected>,
    counts: &mut Counts,
    diff: &mut DiffBudget,
) -> Result<&'static str, Stop> {
    let name = report.pod.config.display().to_string();
    // A written pod is reported from its inspection, whether it was loaded by this build or
    // found up to date by its tree's record: one way to print both.
    if let Some(inspected) = &report.inspection {
        if ui.human() {
            ui.err(&inspected.shown);
        }
    } else if let Some(loaded) = &report.loaded
        && ui.human()
    {
        ui.diagnostics(&report.diagnostics(), &loaded.sources);
        super::environment::note(ui, &name, &loaded.environment_uses());
    }
    Ok(match &report.outcome {
        Outcome::Refused(problem) => {
            super::exit::error(problem);
            counts.failed += 1;
            "refused"
        }
        Outcome::Unreadable(error) => {
            if ui.human() {
                super::exit::error(&error.to_string());
            }
            counts.failed += 1;
            "unreadable"
        }
        Outcome::Invalid(_) => {
            counts.invalid += 1;
            "invalid"
        }
        Outcome::WriteFailed(error) => {
            counts.failed += 1;
            if ui.human() {
                write_error(ui, &report.output_dir, error);
            }
            "failed"
        }
        Outcome::Written(summary) => {
            if summary.recovered {
                ui.note(&format!(
                    "{name}: completed an interrupted build in {}",
                    report.output_dir.display()
                ));
            }
            let status = if summary.changed() {
                counts.changed += 1;
                let directories = match summary.directory_modes.len() {
                    0 => String::new(),
                    n => format!(
                        ", set {n} director{} to 0755",
                        if n == 1 { "y" } else { "ies" }
                    ),
                };
                ui.note(&format!(
                    "{name}: wrote {} file{}, removed {}{directories} in {}",
                    summary.written.len(),
                    plural(summary.written.len()),
                    summary.removed.len(),
                    report.output_dir.display()
                ));
                if ui.verbose {
                    for path in &summary.written {
                        ui.err(&format!("  wrote {path}\n"));
                    }
                    for path in &summary.removed {
                        ui.err(&format!("  removed {path}\n"));
                    }
                    for path in &summary.directory_modes {
                        ui.err(&format!("  set directory {path}/ to 0755\n"));
                    }
                }
                "changed"
            } else {
                counts.unchanged += 1;
                "unchanged"
            };
            if let Some(inspected) = &report.inspection {
                ui.note(&format!("{name}: audit: {}", inspected.audit));
            }
            status
        }
        Outcome::Compared { changes, tree } => {
            if changes.is_empty() {
                counts.unchanged += 1;
                "up to date"
            } else {
                counts.drift += 1;
                if ui.human() {
                    print_changes(ui, &report.output_dir, changes, tree, diff)?;
                }
                "out of date"
            }
        }
    })
}

fn write_error(ui: &Ui, dir: &Path, error: &WriteError) {
    match error {
        WriteError::HandEdited(edits) => {
            for edit in edits {
                let why = if edit.was_generated {
                    "was edited by hand since it was generated"
                } else {
                    "exists but was not generated by prose-compile"
                };
                super::exit::error(&format!(
                    "{} {why}; not overwriting it",
                    dir.join(&edit.path).display()
                ));
                ui.err(&edit.diff);
            }
            ui.err(
                "help: move your change into prose.toml, or run `build --force` to discard it\n",
            );
        }
        WriteError::CorruptManifest { .. } => {
            super::exit::error(&error.to_string());
            ui.err("help: delete it and run `build --force` to regenerate the whole tree\n");
        }
        other => super::exit::error(&other.to_string()),
    }
}

/// Diff lines still to show, and how many were left out.
struct DiffBudget {
    left: usize,
    hidden: usize,
}

/// A change with its whole diff (the JSON report is not cut to a screenful).
fn json_change(change: &Change, tree: &OutputTree) -> JsonChange {
    let generated = |path: &camino::Utf8Path| tree.shown(path).unwrap_or_default();
    let (path, kind, old, new) = match change {
        Change::Create { path } => (path, "create", Vec::new(), generated(path)),
        Change::Update { path, old } => (path, "update", old.clone(), generated(path)),
        Change::Remove { path, old } => (path, "remove", old.clone(), Vec::new()),
        Change::Mode { path, old } => {
            return JsonChange {
                path: path.to_string(),
                change: "mode",
                diff: format!(
                    "mode {old:o}, expected {:o}",
                    tree.get(path).map_or(0, |f| f.mode)
                ),
            };
        }
        Change::DirectoryMode { path, old } => {
            return JsonChange {
                path: path.to_string(),
                change: "directory-mode",
                diff: format!(
                    "mode {old:o}, expected {:o}",
                    prose_compile::output::DIR_MODE
                ),
            };
        }
        Change::Manifest { path } => {
            return JsonChange {
                path: path.to_string(),
                change: "manifest",
                diff: "out of date (the files it lists are up to date)".to_owned(),
            };
        }
    };
    JsonChange {
        path: path.to_string(),
        change: kind,
        diff: unified_diff(path, &old, &new, usize::MAX).0,
    }
}

fn print_changes(
    ui: &Ui,
    output_dir: &Path,
    changes: &[Change],
    tree: &OutputTree,
    budget: &mut DiffBudget,
) -> std::io::Result<()> {
    let generated = |path: &camino::Utf8Path| tree.shown(path).unwrap_or_default();
    let mut out = String::new();
    for change in changes {
        let (path, old, new, note) = match change {
            Change::Create { path } => (path, Vec::new(), generated(path), "new file"),
            Change::Update { path, old } => (path, old.clone(), generated(path), "changed"),
            Change::Remove { path, old } => (path, old.clone(), Vec::new(), "would be removed"),
            Change::Mode { path, old } => {
                out += &format!(
                    "mode of {} is {old:o}, expected {:o}\n",
                    path,
                    tree.get(path).map_or(0, |f| f.mode)
                );
                continue;
            }
            Change::DirectoryMode { path, old } => {
                out += &format!(
                    "mode of directory {} is {old:o}, expected {:o}\n",
                    output_dir.join(path).display(),
                    prose_compile::output::DIR_MODE
                );
                continue;
            }
            Change::Manifest { path } => {
                out += &format!(
                    "# {} is out of date (the files it lists are up to date)\n",
                    output_dir.join(path).display()
                );
                continue;
            }
        };
        out += &format!("# {} ({note})\n", output_dir.join(path).display());
        let (text, left) = unified_diff(path, &old, &new, budget.left);
        budget.left = budget.left.saturating_sub(text.lines().count());
        budget.hidden += left;
        out += &text;
    }
    let colored = if ui.color_out { colorize(&out) } else { out };
    ui.out().write_all(colored.as_bytes())
}

fn colorize(diff: &str) -> String {
    diff.lines()
        .map(|line| {
            let code = match line.as_bytes().first() {
                Some(b'+') if !line.starts_with("+++") => "32",
                Some(b'-') if !line.starts_with("---") => "31",
                Some(b'@') => "36",
                Some(b'#') => "1",
                _ => return format!("{line}\n"),
            };
            format!("\x1b[{code}m{line}\x1b[0m\n")
        })
        .collect()
}
