//! The per-pod pipeline behind `build`, `build --check` and `diff`: load, compile to an
//! [`OutputTree`], then write it or compare it with the disk. Pods run in parallel.

use std::path::{Path, PathBuf};

use crate::audit::{self, Finding};
use crate::config::{LoadError, LoadOptions, Loaded, load};
use crate::diagnostics::Diagnostic;
pub mod discover;

use discover::{CONFIG_FILE, Pod};
use crate::output::{self, Change, OutputTree, WriteError, WriteSummary};
use crate::targets::templating::{self, Templates};
use crate::targets::{self, RenderContext};

/// Renders every target of a valid configuration into one tree, with the embedded templates.
pub fn compile(loaded: &Loaded, input_label: &str) -> Result<OutputTree, Vec<Diagnostic>> {
    compile_with(loaded, input_label, templating::embedded())
}

/// [`compile`] with the given templates (`--templates DIR`).
pub fn compile_with(
    loaded: &Loaded,
    input_label: &str,
    templates: &Templates,
) -> Result<OutputTree, Vec<Diagnostic>> {
    let Some(config) = &loaded.config else {
        return Err(Vec::new());
    };
    let ctx = RenderContext {
        config,
        tree: &loaded.tree,
        input_label: input_label.to_owned(),
        templates,
    };
    let files = targets::render_all(&ctx)?;
    let mut tree = OutputTree::default();
    let mut errors = Vec::new();
    for file in files {
        if let Err(message) = tree.insert(file) {
            errors.push(Diagnostic::error("output-path", message));
        }
    }
    if errors.is_empty() {
        Ok(tree)
    } else {
        Err(errors)
    }
}

/// Loads a pod and, when its configuration is valid, renders it too, so the targets' own
/// checks (e.g. a Prosody option in a section that ignores it) are reported by `check` as
/// well as by `build`. The tree itself is discarded.
pub fn load_and_check(path: &Path, options: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut loaded = load(path, options)?;
    if !loaded.has_errors()
        && let Err(diagnostics) = compile(&loaded, CONFIG_FILE)
    {
        loaded.diagnostics.extend(diagnostics);
        crate::diagnostics::normalize(&mut loaded.diagnostics);
    }
    Ok(loaded)
}

/// What to do with a pod's compiled tree.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    Write {
        force: bool,
    },
    /// Compare with the disk, write nothing (`build --check`, `diff`).
    Compare,
}

/// The result of one pod.
#[derive(Debug)]
pub struct PodReport {
    pub pod: Pod,
    pub output_dir: PathBuf,
    pub loaded: Option<Loaded>,
    pub outcome: Outcome,
    /// The audit of a written pod (`Outcome::Written`), over its configuration and the tree
    /// just compiled: run on the pod's worker thread, so the tree is neither kept nor
    /// compiled a second time.
    pub findings: Option<Vec<Finding>>,
}

#[derive(Debug)]
pub enum Outcome {
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

impl PodReport {
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

/// The label naming a pod's input in generated headers: never an absolute path.
pub fn input_label(pod: &Pod) -> String {
    let label = pod.relative_dir.join(CONFIG_FILE);
    label.to_string_lossy().replace('\\', "/")
}

/// What every pod of a run shares.
pub struct RunOptions<'a> {
    pub load: &'a LoadOptions,
    pub action: Action,
    pub templates: &'a Templates,
}

pub fn run_pod(pod: &Pod, output_root: &Path, run: &RunOptions<'_>) -> PodReport {
    let (options, action) = (run.load, run.action);
    let output_dir = output_root.join(&pod.relative_dir);
    let report = |loaded, outcome| PodReport {
        pod: pod.clone(),
        output_dir: output_dir.clone(),
        loaded,
        outcome,
        findings: None,
    };
    let loaded = match load(&pod.config, options) {
        Ok(loaded) => loaded,
        Err(error) => return report(None, Outcome::Unreadable(error)),
    };
    if loaded.has_errors() {
        return report(Some(loaded), Outcome::Invalid(Vec::new()));
    }
    let tree = match compile_with(&loaded, &input_label(pod), run.templates) {
        Ok(tree) => tree,
        Err(diagnostics) => return report(Some(loaded), Outcome::Invalid(diagnostics)),
    };
    let outcome = match action {
        Action::Write { force } => match output::write(&tree, &output_dir, force) {
            Ok(summary) => {
                let findings = audit::audit(&loaded, Some(&tree));
                return PodReport {
                    findings: Some(findings),
                    ..report(Some(loaded), Outcome::Written(summary))
                };
            }
            Err(error) => Outcome::WriteFailed(error),
        },
        Action::Compare => match output::plan(&tree, &output_dir) {
            Ok(changes) => Outcome::Compared { changes, tree },
            Err(error) => Outcome::WriteFailed(error),
        },
    };
    report(Some(loaded), outcome)
}

/// Runs every pod on all cores; reports come back in the pods' order. `progress` is called
/// after each pod with the number done so far.
pub fn run_all(
    pods: &[Pod],
    output_root: &Path,
    run: &RunOptions<'_>,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<PodReport> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(pods.len().max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let mut slots: Vec<Option<PodReport>> = (0..pods.len()).map(|_| None).collect();
    let results = std::sync::Mutex::new(&mut slots);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(pod) = pods.get(i) else { break };
                    let report = run_pod(pod, output_root, run);
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(report);
                    }
                    progress(done.fetch_add(1, Ordering::SeqCst) + 1);
                }
            });
        }
    });
    slots.into_iter().flatten().collect()
}
