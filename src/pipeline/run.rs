//! The per-pod work of `build`, `build --check` and `diff`: load, compile, then write the tree
//! or compare it with the disk. Pods run on every core, from one work queue.

use std::path::{Path, PathBuf};

use crate::config::{LoadError, LoadOptions, Loaded, load_read};
use crate::diagnostics::Diagnostic;
use crate::files::Reads;
use crate::output::{self, Change, OutputTree, RecordInput, WriteError, WriteSummary};
use crate::targets::Platform;
use crate::targets::templating::Templates;

use super::compile::{input_label, warn_and_compile};
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

/// What a caller's inspection of a written pod (`X`) keeps in the tree's input record, so
/// that a build of the tree when nothing changed can give it back without loading the pod
/// (`output::recorded_up_to_date`): everything the caller reports about a written pod must be
/// in it. One line; secrets only as the diagnostics show them (masked).
pub trait Inspection: Sized {
    /// The line to record, or `None` to record nothing (the next build takes the full path).
    fn to_record(&self) -> Option<String>;
    /// The inspection a recorded line stands for.
    fn from_record(line: &str) -> Option<Self>;
}

impl Inspection for () {
    fn to_record(&self) -> Option<String> {
        Some(String::new())
    }
    fn from_record(_: &str) -> Option<Self> {
        Some(())
    }
}

/// A summary line (the CLI's audit counts).
impl Inspection for String {
    fn to_record(&self) -> Option<String> {
        (!self.contains(['\n', '\r'])).then(|| self.clone())
    }
    fn from_record(line: &str) -> Option<Self> {
        Some(line.to_owned())
    }
}

/// What every pod of a run shares.
pub struct RunOptions<'a> {
    pub load: &'a LoadOptions,
    pub action: Action,
    /// `--templates DIR`'s, or `None` for the embedded ones (compiled on first use: a run
    /// whose pods are all up to date never compiles them).
    pub templates: Option<&'a Templates>,
    /// What the trees are: a host's, or Kubernetes manifests (see [`super::fleet`]).
    pub platform: &'a Platform,
    /// How long to wait for another build of the same tree (see `output::lock`).
    pub lock_wait: std::time::Duration,
    /// What else the caller's inspection depends on (the CLI: its output format, colours,
    /// width, `--quiet`, `--verbose`): part of the input digest, so a tree's record is used
    /// only by a build that would show the same.
    pub inspection_key: &'a str,
}

impl RunOptions<'_> {
    /// The templates pods are rendered with.
    pub fn templates(&self) -> &Templates {
        self.templates
            .unwrap_or_else(|| crate::targets::embedded_templates())
    }
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

/// Loads and compiles one pod (from the files already in `reads`, as read), or says why it
/// stops there.
pub(super) fn prepare<X>(
    pod: &Pod,
    output_dir: &Path,
    run: &RunOptions<'_>,
    reads: Reads,
) -> Result<Prepared, Box<PodReport<X>>> {
    if let Some(problem) = pod.name_problem() {
        return Err(Box::new(stopped(
            pod,
            output_dir,
            None,
            Outcome::Refused(problem),
        )));
    }
    trace_load(pod);
    let mut loaded = match load_read(&pod.config, run.load, reads) {
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
    let templates = run.templates();
    match warn_and_compile(&mut loaded, &input_label(pod), templates, run.platform) {
        Some(Ok(tree)) => Ok(Prepared { loaded, tree }),
        // Invalid: the render's diagnostics, or none beyond the loader's.
        compiled => Err(Box::new(stopped(
            pod,
            output_dir,
            Some(loaded),
            Outcome::Invalid(compiled.and_then(Result::err).unwrap_or_default()),
        ))),
    }
}

/// Writes (or compares) a compiled pod's tree in `output_dir`; `inspect` looks at it (the
/// tree in memory, as written). With the digest of the pod's `inputs`, a written tree gets an
/// input record holding the inspection ([`Inspection::to_record`]): all a build that skips
/// the pod has to report it.
pub(super) fn finish<X: Inspection>(
    pod: &Pod,
    output_dir: &Path,
    prepared: Prepared,
    run: &RunOptions<'_>,
    inspect: &(dyn Fn(&Loaded, &OutputTree) -> X + Sync),
    inputs: Option<&str>,
) -> PodReport<X> {
    let Prepared { loaded, tree } = prepared;
    let outcome = match run.action {
        Action::Write { force, durable } => {
            let inspection = inspect(&loaded, &tree);
            let summary = inputs.and(inspection.to_record());
            let record = inputs
                .zip(summary.as_deref())
                .map(|(inputs, summary)| RecordInput { inputs, summary });
            match output::write_with(
                &tree,
                output_dir,
                &output::WriteOptions {
                    force,
                    lock_wait: run.lock_wait,
                    durable,
                    record,
                },
            ) {
                Ok(summary) => {
                    return PodReport {
                        inspection: Some(inspection),
                        ..stopped(pod, output_dir, Some(loaded), Outcome::Written(summary))
                    };
                }
                Err(error) => Outcome::WriteFailed(error),
            }
        }
        Action::Compare => match output::plan_with(&tree, output_dir, run.lock_wait) {
            Ok(changes) => Outcome::Compared { changes, tree },
            Err(error) => Outcome::WriteFailed(error),
        },
    };
    stopped(pod, output_dir, Some(loaded), outcome)
}

/// Runs one host pod into `output_root/<its directory>`; `inspect` looks at a tree once it is
/// written.
///
/// A build (not `--durable`) first compares the digest of the pod's inputs with the tree's
/// input record: when it matches and nothing in the tree changed since, the pod is neither
/// loaded nor rendered, and its report is the one the full path gives for an up-to-date
/// tree (`output::record`).
pub fn run_pod<X: Inspection>(
    pod: &Pod,
    output_root: &Path,
    run: &RunOptions<'_>,
    inspect: &(dyn Fn(&Loaded, &OutputTree) -> X + Sync),
) -> PodReport<X> {
    let output_dir = output_root.join(&pod.relative_dir);
    let mut reads = Reads::default();
    let inputs = match (run.action, run.platform) {
        (Action::Write { .. }, Platform::Host) if pod.name_problem().is_none() => {
            super::inputs::input_digest(pod, run, &mut reads)
        }
        _ => None,
    };
    if let (Some(inputs), Action::Write { durable: false, .. }) = (&inputs, run.action)
        && let Some(recorded) = output::recorded_up_to_date(&output_dir, inputs, run.lock_wait)
        && let Some(inspection) = X::from_record(&recorded.summary)
    {
        let summary = WriteSummary {
            unchanged: recorded.entries,
            ..WriteSummary::default()
        };
        return PodReport {
            inspection: Some(inspection),
            ..stopped(pod, &output_dir, None, Outcome::Written(summary))
        };
    }
    match prepare(pod, &output_dir, run, reads) {
        Ok(prepared) => finish(pod, &output_dir, prepared, run, inspect, inputs.as_deref()),
        Err(report) => *report,
    }
}

/// Test hook (feature `fault-injection`, on in the tests' build only):
/// `PROSE_COMPILE_TRACE_LOADS=1` says on standard error each pod the pipeline loads, so a test
/// can tell a pod skipped from one loaded and rendered.
#[cfg(feature = "fault-injection")]
fn trace_load(pod: &Pod) {
    if std::env::var_os("PROSE_COMPILE_TRACE_LOADS").is_some() {
        eprintln!("trace: loading {}", pod.config.display());
    }
}

#[cfg(not(feature = "fault-injection"))]
fn trace_load(_: &Pod) {}

/// Runs every pod on all cores; each report is handed to `consume` on the calling thread, in
/// the pods' order, as soon as it is ready (so a run over many pods does not keep every pod's
/// report, with its loaded configuration, until the end). `progress` is called after each pod
/// with the number done so far.
pub fn run_each<X: Send + Inspection>(
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
pub fn run_all<X: Send + Inspection>(
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
