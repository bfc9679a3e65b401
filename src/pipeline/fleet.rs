//! A Kubernetes build: each pod into `OUT/kubernetes/<server domain>/`, then the fleet root,
//! `OUT/kubernetes/`, whose kustomization includes every pod.
//!
//! In phases, so that pods that would share a directory or a namespace are found before
//! anything is written: every pod is loaded and compiled (on every core); each pair that
//! conflicts is refused, both pods; the trees are written or compared (on every core); the
//! root last, and only when every pod of the build made it: a root that left out a pod
//! which failed would make `kubectl apply --prune` delete that pod from the cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::config::Loaded;
use crate::diagnostics::{Diagnostic, code};
use crate::output::{self, Change, OutputTree, WriteError, WriteSummary};
use crate::targets::Platform;
use crate::targets::kubernetes::{self, fleet};

use super::discover::Pod;
use super::run::{Outcome, PodReport, Prepared, RunOptions, finish, prepare, stopped};
use super::{Action, parallel};

/// A pod between its compilation and its writing: taken once by the writing phase.
type Slot<X> = Mutex<Option<Result<Prepared, Box<PodReport<X>>>>>;

/// What a Kubernetes build did.
#[derive(Debug)]
pub struct FleetReport<X> {
    /// One report per pod, in the pods' order.
    pub pods: Vec<PodReport<X>>,
    /// `OUT/kubernetes/`.
    pub root_dir: PathBuf,
    pub root: RootOutcome,
}

/// What became of the fleet root.
#[derive(Debug)]
pub enum RootOutcome {
    /// Not written: that many pods did not make it, and the root must list every pod.
    Skipped {
        failed: usize,
    },
    Written(WriteSummary),
    Compared {
        changes: Vec<Change>,
        tree: OutputTree,
    },
    WriteFailed(WriteError),
}

/// Builds (or compares) every pod and the root. `progress` counts pods compiled.
pub fn run<X: Send + super::run::Inspection>(
    pods: &[Pod],
    output_root: &Path,
    run: &RunOptions<'_>,
    inspect: &(dyn Fn(&Loaded, &OutputTree) -> X + Sync),
    progress: &(dyn Fn(usize) + Sync),
) -> FleetReport<X> {
    let settings = match run.platform {
        Platform::Kubernetes(settings) => settings.clone(),
        Platform::Host => Default::default(),
    };
    let root_dir = output_root.join(kubernetes::DIR);
    // Load and compile.
    let compiled: Vec<Slot<X>> = parallel::map_in_order(pods, progress, |pod| {
        Mutex::new(Some(prepare(pod, &root_dir, run, Default::default())))
    });
    let places: Vec<Option<fleet::FleetPod>> = compiled
        .iter()
        .map(|slot| {
            let slot = slot.lock().ok()?;
            let prepared = slot.as_ref()?.as_ref().ok()?;
            fleet::fleet_pod(prepared.loaded.config.as_ref()?)
        })
        .collect();
    // Refuse pods that would share a directory or a namespace.
    let mut refused: BTreeMap<usize, Vec<Diagnostic>> = BTreeMap::new();
    for conflict in fleet::conflicts(&places) {
        for (pod, other) in [
            (conflict.first, conflict.second),
            (conflict.second, conflict.first),
        ] {
            refused
                .entry(pod)
                .or_default()
                .push(fleet::conflict_diagnostic(
                    &pods[other].config.display().to_string(),
                    &conflict.reason,
                ));
        }
    }
    // Write or compare.
    let indices: Vec<usize> = (0..pods.len()).collect();
    let reports = parallel::map_in_order(&indices, &|_| {}, |&i| {
        let pod = &pods[i];
        let taken = compiled[i].lock().ok().and_then(|mut slot| slot.take());
        match (taken, &places[i]) {
            (Some(Err(report)), _) => *report,
            (Some(Ok(prepared)), Some(place)) => match refused.get(&i) {
                Some(diagnostics) => stopped(
                    pod,
                    &root_dir,
                    Some(prepared.loaded),
                    Outcome::Invalid(diagnostics.clone()),
                ),
                None => finish(
                    pod,
                    &root_dir.join(&place.dir),
                    prepared,
                    run,
                    inspect,
                    None,
                ),
            },
            (Some(Ok(prepared)), None) => stopped(
                pod,
                &root_dir,
                Some(prepared.loaded),
                Outcome::Invalid(vec![Diagnostic::error(
                    code::INTERNAL,
                    "a compiled pod without a server domain",
                )]),
            ),
            (None, _) => unreachable!("each pod is taken once"),
        }
    });
    let failed = reports
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Written(_) | Outcome::Compared { .. }))
        .count();
    let root = if failed > 0 {
        RootOutcome::Skipped { failed }
    } else {
        let members: Vec<fleet::FleetPod> = places.into_iter().flatten().collect();
        write_root(&members, &settings, &root_dir, run)
    };
    FleetReport {
        pods: reports,
        root_dir,
        root,
    }
}

fn write_root(
    members: &[fleet::FleetPod],
    settings: &crate::config::repository::Kubernetes,
    root_dir: &Path,
    run: &RunOptions<'_>,
) -> RootOutcome {
    let mut tree = OutputTree::default();
    for file in fleet::root(members, settings) {
        if let Err(message) = tree.insert(file) {
            return RootOutcome::WriteFailed(WriteError::Unsafe(message));
        }
    }
    match run.action {
        // The root follows the build's durability policy like every pod's tree.
        Action::Write { force, durable } => match output::write_with(
            &tree,
            root_dir,
            &output::WriteOptions {
                force,
                lock_wait: run.lock_wait,
                durable,
                record: None,
            },
        ) {
            Ok(summary) => RootOutcome::Written(summary),
            Err(error) => RootOutcome::WriteFailed(error),
        },
        Action::Compare => match output::plan_with(&tree, root_dir, run.lock_wait) {
            Ok(changes) => RootOutcome::Compared { changes, tree },
            Err(error) => RootOutcome::WriteFailed(error),
        },
    }
}
