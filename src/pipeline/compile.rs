//! A valid configuration to its output tree: every target rendered, the files gathered.

use crate::config::{LoadError, LoadOptions, Loaded, load};
use crate::diagnostics::{self, Diagnosed, Diagnostic, code};
use crate::output::OutputTree;
use crate::targets::templating::Templates;
use crate::targets::{self, Platform, RenderContext};

use super::discover::{CONFIG_FILE, Pod};

/// Renders every target of a valid configuration into one tree, with the embedded templates.
pub fn compile(loaded: &Loaded, input_label: &str) -> Diagnosed<OutputTree> {
    compile_with(loaded, input_label, targets::embedded_templates())
}

/// [`compile`] with the given templates (`--templates DIR`).
pub fn compile_with(
    loaded: &Loaded,
    input_label: &str,
    templates: &Templates,
) -> Diagnosed<OutputTree> {
    compile_for(loaded, input_label, templates, &Platform::Host)
}

/// [`compile_with`] for a platform: a host's tree, or a pod's Kubernetes manifests (paths
/// relative to `kubernetes/<server domain>/`).
pub fn compile_for(
    loaded: &Loaded,
    input_label: &str,
    templates: &Templates,
    platform: &Platform,
) -> Diagnosed<OutputTree> {
    let Some(config) = &loaded.config else {
        return Err(Vec::new());
    };
    tree_of(
        &RenderContext::new(config, &loaded.tree, input_label, templates),
        platform,
    )
}

/// The targets' warnings about a loaded pod (e.g. a Prosody option the Pod API will ignore)
/// added to its diagnostics and, when it is valid, its tree (`None` when it is not). One
/// render context serves both, so what they share (the Prosody file) is generated once.
pub fn warn_and_compile(
    loaded: &mut Loaded,
    input_label: &str,
    templates: &Templates,
    platform: &Platform,
) -> Option<Diagnosed<OutputTree>> {
    let config = loaded.config.as_ref()?;
    let ctx = RenderContext::new(config, &loaded.tree, input_label, templates);
    let warnings = platform.warnings(&ctx);
    let valid = !loaded.has_errors() && !warnings.iter().any(Diagnostic::is_error);
    let tree = valid.then(|| tree_of(&ctx, platform));
    drop(ctx);
    if !warnings.is_empty() {
        loaded.diagnostics.extend(warnings);
        diagnostics::normalize(&mut loaded.diagnostics);
    }
    tree
}

fn tree_of(ctx: &RenderContext, platform: &Platform) -> Diagnosed<OutputTree> {
    let files = platform.render(ctx)?;
    // Links name rendered files: when a render failed, its diagnostics say why already.
    let links = platform.links(ctx)?;
    let mut tree = OutputTree::default();
    diagnostics::check_all(files.into_iter().map(|file| {
        let code = if file.contents.len() as u64 > targets::MAX_FILE_BYTES {
            code::LIMIT
        } else {
            code::OUTPUT_PATH
        };
        tree.insert(file)
            .map_err(|message| vec![Diagnostic::error(code, message)])
    }))?;
    // After the files: a link must name one of them.
    diagnostics::check_all(links.into_iter().map(|link| {
        tree.insert_link(link)
            .map_err(|message| vec![Diagnostic::error(code::OUTPUT_PATH, message)])
    }))?;
    Ok(tree)
}

/// Loads a pod and, when its configuration is valid, renders it too, so the targets' own
/// checks (e.g. a Prosody option in a section that ignores it) are reported by `check` as
/// well as by `build`. The tree itself is discarded.
pub fn load_and_check(path: &std::path::Path, options: &LoadOptions) -> Result<Loaded, LoadError> {
    load_and_check_for(path, options, &Platform::Host)
}

/// [`load_and_check`] for a platform.
pub fn load_and_check_for(
    path: &std::path::Path,
    options: &LoadOptions,
    platform: &Platform,
) -> Result<Loaded, LoadError> {
    let mut loaded = load(path, options)?;
    let templates = targets::embedded_templates();
    if let Some(Err(more)) = warn_and_compile(&mut loaded, CONFIG_FILE, templates, platform) {
        loaded.diagnostics.extend(more);
        diagnostics::normalize(&mut loaded.diagnostics);
    }
    Ok(loaded)
}

/// The label naming a pod's input in generated headers: never an absolute path.
pub fn input_label(pod: &Pod) -> String {
    let label = pod.relative_dir.join(CONFIG_FILE);
    label.to_string_lossy().replace('\\', "/")
}
