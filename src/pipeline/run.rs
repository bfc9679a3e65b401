//! The per-pod work of `build`, `build --check` and `diff`: load, compile, then write the tree
//! or compare it with the disk. Pods run on every core, from one work queue.

use std::path::{Path, PathBuf};

use crate::config::{LoadError, LoadOptions, Loaded, load};
use crate::diagnostics::Diagnostic;
use crate::output::{self, Change, OutputTree, WriteError, WriteSummary};
use crate::targets::Platform;
use crate::targets::templating::Templates;

use super::compile::{compile_for, input_label};
use super::discover::Pod;

/// What to do with a pod's compiled tree.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    Write {
        force: bool,
        /// `--durable` (see `output::WriteOptions::durable`).
        durable: bool,
    },
    /// Compare with the disk, write nothing (`build --check`, `diff`).
    Compare,
}

/// The result of one pod. `X` is what the caller's inspection of a written tree produced
/// (the CLI audits it), computed on the pod's worker thread so the tree is not kept.
#[derive(Debug)]
pub struct PodReport<X = ()> {
    pub pod: Pod,
    pub output_dir: PathBuf,
    pub loaded: Option<Loaded>,
    pub outcome: Outcome,
    /// The inspection of a written pod (`Outcome::Written`).
    pub inspection: Option<X>,
}

#[derive(Debug)]
pub enum Outcome {
    /// The pod cannot be run as it is named (its directory name): why.
    Refused(String),
    /// The configuration file could not be read (usage/I-O error).
    Unreadable(LoadError),
    /// Invalid configuration, or a target refused it (diagnostics in `loaded` and here).
    Invalid(Vec<Diagnostic>),
    Written(WriteSummary),
    /// What differs on disk, and the tree it was compared with (for the diff).
    Compared {
        changes: Vec<Change>,
        tree: OutputTree,
    },
    WriteFailed(WriteError),
}

impl<X> PodReport<X> {
    /// Every diagnostic of the pod, loader's and targets' together.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut all: Vec<Diagnostic> = self
            .loaded
            .iter()
            .flat_map(|l| l.diagnostics.clone())
            .collect();
        if let Outcome::Invalid(more) = &self.outcome {
            all.extend(more.iter().cloned());
        }
        all
    }
}

/// What every pod of a run shares.
pub struct RunOptions<'a> {
    pub load: &'a LoadOptions,
    pub action: Action,
    pub templates: &'a Templates,
    /// What the trees are: a host's, or Kubernetes manifests (see [`super::fleet`]).
    pub platform: &'a Platform,
    /// How long to wait for another build of the same tree (see `output::lock`).
    pub lock_wait: std::time::Duration,
}

/// A pod loaded and compiled, not written yet.
pub(super) struct Prepared {
    pub loaded: Loaded,
    pub tree: OutputTree,
}

/// A report for a pod that stops before its tree is written.
pub(super) fn stopped<X>(
    pod: &Pod,
    output_dir: &Path,
    loaded: Option<Loaded>,
    outcome: Outcome,
) -> PodReport<X> {
    PodReport {
        pod: pod.clone(),
        output_dir: output_dir.to_owned(),
        loaded,
        outcome,
        inspection: None,
    }
}

/// Loads and compiles one pod, or says why it stops there.
pub(super) fn prepare<X>(
    pod: &Pod,
    output_dir: &Path,
    run: &RunOptions<'_>,
) -> Result<Prepared, Box<PodReport<X>>> {
    if let Some(problem) = pod.name_problem() {
        return Err(Box::new(stopped(
            pod,
            output_dir,
            None,
            Outcome::Refused(problem),
        )));
    }
    let mut loaded = match load(&pod.config, run.load) {
        Ok(loaded) => loaded,
        Err(error) => {
            return Err(Box::new(stopped(
                pod,
                output_dir,
                None,
                Outcome::Unreadable(error),
            )));
        }
    };
    super::compile::add_target_warnings_for(&mut loaded, run.platform);
    if loaded.has_errors() {
        return Err(Box::new(stopped(
            pod,
            output_dir,
            Some(loaded),
            Outcome::Invalid(Vec::new()),
        )));
    }
    match compile_for(&loaded, &input_label(pod), run.templates, run.platform) {
        Ok(tree) => Ok(Prepared { loaded, tree }),
        Err(diagnostics) => Err(Box::new(stopped(
            pod,
            output_dir,
            Some(loaded),
            Outcome::Invalid(diagnostics),
        ))),
    }
}

/// Writes (or compares) a compiled pod's tree in `output_dir`; `inspect` looks at it once it
/// is written.
pub(super) fn finish<X>(
    pod: &Pod,
    output_dir: &Path,
    prepared: Prepared,
    run: &RunOptions<'_>,
    inspect: &(dyn Fn(&Loaded, &OutputTree) -> X + Sync),
) -> PodReport<X> {
    let Prepared { loaded, tree } = prepared;
    let outcome = match run.action {
        Action::Write { force, durable } => match output::write_with(
            &tree,
            output_dir,
            &output::WriteOptions {
                force,
                lock_wait: run.lock_wait,
                durable,
            },
        ) {
            Ok(summary) => {
                let inspection = inspect(&loaded, &tree);
                return PodReport {
                    inspection: Some(inspection),
                    ..stopped(pod, output_dir, Some(loaded), Outcome::Written(summary))
                };
            }
            Err(error) => Outcome::WriteFailed(error),
        },
        Action::Compare => match output::plan_with(&tree, output_dir, run.lock_wait) {
            Ok(changes) => Outcome::Compared { changes, tree },
            Err(error) => Outcome::WriteFailed(error),
        },
    };
    stopped(pod, output_dir, Some(loaded), outcome)
}

/// Runs one host pod into `output_root/<its directory>`; `inspect` looks at a tree once it is
/// written.
pub fn run_pod<X>(
    pod: &Pod,
    output_root: &Path,
    run: &RunOptions<'_>,
    inspect: &(dyn Fn(&Loaded, &OutputTree) -> X + Sync),
) -> PodReport<X> {
    let output_dir = output_root.join(&pod.relative_dir);
    match prepare(pod, &output_dir, run) {
        Ok(prepared) => finish(pod, &output_dir, prepared, run, inspect),
        Err(report) => *report,
    }
}

/// Runs every pod on all cores; each report is handed to `consume` on the calling thread, in
/// the pods' order, as soon as it is ready (so a run over many pods does not keep every pod's
/// report, with its loaded configuration, until the end). `progress` is called after each pod
/// with the number done so far.
pub fn run_each<X: Send>(
    pods: &[Pod],
    output_root: &Path,
    run: &RunOptions<'_>,
    inspect: &(dyn Fn(&Loaded, &OutputTree) -> X + Sync),
    progress: &(dyn Fn(usize) + Sync),
    consume: impl FnMut(PodReport<X>),
) {
    super::parallel::for_each_in_order(
        pods,
        progress,
        |pod| run_pod(pod, output_root, run, inspect),
        consume,
    );
}

/// Runs every pod on all cores; reports come back in the pods' order. `progress` is called
/// after each pod with the number done so far. Kubernetes pods go through
/// [`super::fleet::run`] (which also writes the fleet root; use it to see that outcome).
pub fn run_all<X: Send>(
    pods: &[Pod],
    output_root: &Path,
    run: &RunOptions<'_>,
    inspect: &(dyn Fn(&Loaded, &OutputTree) -> X + Sync),
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<PodReport<X>> {
    if let Platform::Kubernetes(_) = run.platform {
        return super::fleet::run(pods, output_root, run, inspect, progress).pods;
    }
    super::parallel::map_in_order(pods, progress, |pod| {
        run_pod(pod, output_root, run, inspect)
    })
}
