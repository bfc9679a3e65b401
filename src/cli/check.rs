//! `check`: validate each pod, print every problem.

use std::path::PathBuf;

use serde::Serialize;

use super::args::{Format, LoadArgs};
use super::exit::{Exit, Outcome};
use super::ui::{Ui, plural};
use prose_compile::config::EnvUse;
use prose_compile::config::Loaded;
use prose_compile::diagnostics::{self, JsonDiagnostic};
use prose_compile::pipeline::{self, Pod};
use prose_compile::targets::Platform;
use prose_compile::targets::kubernetes::fleet;

/// `--format json`.
#[derive(Serialize)]
struct Report {
    pods: Vec<CheckedPod>,
}

#[derive(Serialize)]
struct CheckedPod {
    path: String,
    valid: bool,
    diagnostics: Vec<JsonDiagnostic>,
    /// The values `PROSE_*` variables set.
    environment: Vec<EnvUse>,
}

pub fn run(ui: &Ui, paths: &[PathBuf], load: &LoadArgs) -> Outcome {
    // A pod named twice is checked once (as `build` builds it once): in a Kubernetes fleet it
    // would otherwise conflict with itself.
    let pods = pipeline::each_pod_once(super::find_pods(paths, None)?);
    let options = load.options();
    let platform = super::target::platform(ui, load, paths)?;
    let mut report = Report { pods: Vec::new() };
    // A pod that cannot be read (or named) is that pod's failure: the others are still checked.
    let mut failed = 0;
    let mut stopped = None;
    // Pods are checked on every core (the build's work queue); each is printed (and dropped)
    // in order as soon as it and those before it are done.
    let check = |pod: &Pod| match pod.name_problem() {
        Some(problem) => Err(problem),
        None => pipeline::load_and_check_for(&pod.config, &options, &platform)
            .map_err(|e| e.to_string()),
    };
    let mut consume = |(path, loaded): (String, Result<Loaded, String>)| {
        if stopped.is_some() {
            return;
        }
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(problem) => {
                super::exit::error(&problem);
                failed += 1;
                return;
            }
        };
        match ui.format {
            Format::Human => {
                ui.diagnostics(&loaded.diagnostics, &loaded.sources);
                super::environment::note(ui, &path, &loaded.environment_uses());
            }
            Format::Github => {
                if let Err(error) =
                    super::github::diagnostics(&mut ui.out(), &loaded.diagnostics, &loaded.sources)
                {
                    stopped = Some(error);
                    return;
                }
            }
            Format::Json | Format::Sarif => {}
        }
        report.pods.push(CheckedPod {
            environment: loaded.environment_uses(),
            path,
            valid: !loaded.has_errors(),
            diagnostics: if ui.human() {
                Vec::new()
            } else {
                diagnostics::all_to_json(&loaded.diagnostics, &loaded.sources)
            },
        });
    };
    let path = |pod: &Pod| pod.config.display().to_string();
    if let Platform::Kubernetes(_) = platform {
        // The pods of a fleet are checked against each other: every one is kept until then.
        let mut all = pipeline::parallel::map_in_order(&pods, &|_| {}, check);
        fleet_conflicts(&pods, &mut all);
        for (pod, loaded) in pods.iter().zip(all) {
            consume((path(pod), loaded));
        }
    } else {
        pipeline::parallel::for_each_in_order(
            &pods,
            &|_| {},
            |pod| (path(pod), check(pod)),
            &mut consume,
        );
    }
    if let Some(error) = stopped {
        return Err(error.into());
    }
    if ui.format == Format::Json {
        ui.json(&report, false)?;
    }
    let invalid = report.pods.iter().filter(|p| !p.valid).count();
    let n = pods.len();
    let failures = if failed > 0 {
        format!(", {failed} failed")
    } else {
        String::new()
    };
    ui.note(&format!(
        "checked {n} pod{}: {} valid, {invalid} invalid{failures}",
        plural(n),
        n - invalid - failed
    ));
    Ok(if failed > 0 {
        Exit::Error
    } else {
        Exit::failure_if(invalid > 0)
    })
}

/// Pods of one Kubernetes fleet that would share a directory or a namespace: an error on each
/// (`build` refuses them the same way).
fn fleet_conflicts(pods: &[Pod], loaded: &mut [Result<Loaded, String>]) {
    let places: Vec<_> = loaded
        .iter()
        .map(|l| {
            let l = l.as_ref().ok()?;
            l.config
                .as_ref()
                .filter(|_| !l.has_errors())
                .and_then(fleet::fleet_pod)
        })
        .collect();
    for conflict in fleet::conflicts(&places) {
        for (pod, other) in [
            (conflict.first, conflict.second),
            (conflict.second, conflict.first),
        ] {
            if let Ok(loaded) = &mut loaded[pod] {
                loaded.diagnostics.push(fleet::conflict_diagnostic(
                    &pods[other].config.display().to_string(),
                    &conflict.reason,
                ));
            }
        }
    }
}
