//! Loading one pod: read `prose.toml`, layer presets, environment and `--set` over it,
//! validate, fill computed defaults, and produce the typed [`Config`] with provenance.
//!
//! Precedence, lowest first: built-in defaults < preset chain < file < `prose.env` beside
//! the file < each `--env-file` < process environment < `--set`; then computed defaults.

use super::keys;
use std::path::{Path, PathBuf};

use super::Config;
use super::compat;
use super::containers;
use super::env::{self, FileVariable, SetArg};
use super::limits;
use super::parse::{mask_secrets, parse_toml};
use super::presets;
use crate::config::validate;
use crate::diagnostics::source::{SourceKind, Sources, Span};
use crate::diagnostics::{self, Diagnostic, code};
use crate::files::{Bounded, Reads};
use crate::provenance::{Node, Origin, Value};

/// How to gather the layers above the file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The process environment (pass an empty list for `--no-env`).
    pub environment: Vec<(String, String)>,
    /// Read `prose.env` beside the configuration file (off with `--no-env`).
    pub sibling_env_file: bool,
    /// `--env-file` arguments, in order (later ones win).
    pub env_files: Vec<PathBuf>,
    /// `--set` arguments, in order (later ones win).
    pub sets: Vec<SetArg>,
    /// The `PROSE_*` variables the generated files read (the targets' declarations): neither
    /// keys nor typos.
    pub file_variables: &'static [FileVariable],
}

/// The result of loading one pod: the typed configuration if it is valid, and diagnostics.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub sources: Sources,
    /// The effective configuration as written (all layers and computed defaults), with
    /// provenance; keys left to built-in defaults are absent.
    pub tree: Node,
    pub config: Option<Config>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The values in effect that a `PROSE_*` variable set, in the tree's order: inputs a reader of
    /// `prose.toml` does not see, which the commands name.
    pub fn environment_uses(&self) -> Vec<EnvUse> {
        let mut uses = Vec::new();
        self.tree.for_each_leaf(&mut Vec::new(), &mut |path, node| {
            if let Origin::Env { var, span } = &node.origin {
                let source = self.sources.get(span.source);
                let from_process = source.kind == SourceKind::Environment;
                uses.push(EnvUse {
                    variable: var.clone(),
                    key: crate::provenance::dotted(path),
                    source: if from_process {
                        PROCESS_ENVIRONMENT.to_owned()
                    } else {
                        source.name.clone()
                    },
                    line: (!from_process).then(|| self.sources.line_col(*span).0),
                });
            }
        });
        uses
    }
}

/// [`EnvUse::source`] of a variable of the process environment.
pub const PROCESS_ENVIRONMENT: &str = "environment";

/// A value set by an environment variable (never its value: it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnvUse {
    pub variable: String,
    pub key: String,
    /// `environment` (the process's), or the env file that holds it.
    pub source: String,
    /// The line of the env file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl EnvUse {
    pub fn from_process(&self) -> bool {
        self.source == PROCESS_ENVIRONMENT && self.line.is_none()
    }
}

/// An input that could not be read at all (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct LoadError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The sibling env file read by default (`/etc/prose/prose.env` on a pod): compose gives it
/// to the Pod API and the Pod Server, and prose.service reads it for compose.
pub const SIBLING_ENV_FILE: &str = "prose.env";
/// The generated sibling env file of the Pod Server's own keys (`etc/prose/prose-server.env`
/// in the tree; compose gives it to the server container only): read back like `prose.env`,
/// so building an installed `/etc/prose` gives the same tree.
pub const SERVER_ENV_FILE: &str = "prose-server.env";
/// The operator's sibling file of compose-only variables (`/etc/prose/compose.env`: image
/// versions, ports, users), which prose.service reads and no container gets.
pub const COMPOSE_ENV_FILE: &str = "compose.env";

/// What reads an env file at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EnvFileRole {
    /// `prose.env`: both containers (and compose).
    Containers,
    /// `prose-server.env`: the Pod Server only.
    Server,
    /// `compose.env`: compose only.
    Compose,
    /// `--env-file`: a layer of this build.
    Given,
}

pub fn load(path: &Path, options: &LoadOptions) -> Result<Loaded, LoadError> {
    load_read(path, options, Reads::default())
}

/// [`load`], taking the input files an earlier reader of the pod kept in `reads` (the input
/// digest's: see [`Reads`]) instead of reading them again.
pub fn load_read(
    path: &Path,
    options: &LoadOptions,
    mut reads: Reads,
) -> Result<Loaded, LoadError> {
    // What loading asks of the schema on every run: its structure (the full schema is read
    // only to explain an invalid configuration).
    let schema = crate::config::schema_structure::structure();
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let mut server_env_source = None;
    let file = read_config(
        path,
        reads.take(path).flatten(),
        &mut sources,
        &mut diagnostics,
    )?;

    // Layers above the file, in precedence order.
    let mut upper_layers = Vec::new();
    // Every assignment of the env files and the environment, in precedence order: the
    // compose variables among them pin the component versions.
    let mut all_assignments: Vec<env::Assignment> = Vec::new();
    let dir = path.parent().unwrap_or(Path::new("."));
    // The siblings are found by the tool itself: whatever is there is looked at, and read only
    // as a regular file reached without a link (`read_text`).
    // Each env file with what an earlier reader read of it, if one did.
    let mut sibling = |name: &str| {
        let file = dir.join(name);
        if !options.sibling_env_file {
            return None;
        }
        match reads.take(&file) {
            Some(None) => None,
            Some(read) => Some((file, read)),
            None => std::fs::symlink_metadata(&file)
                .is_ok()
                .then_some((file, None)),
        }
    };
    let mut env_files: Vec<(PathBuf, Option<Bounded>, EnvFileRole)> = Vec::new();
    for (name, role) in [
        (SIBLING_ENV_FILE, EnvFileRole::Containers),
        (SERVER_ENV_FILE, EnvFileRole::Server),
        (COMPOSE_ENV_FILE, EnvFileRole::Compose),
    ] {
        env_files.extend(sibling(name).map(|(file, read)| (file, read, role)));
    }
    for file in &options.env_files {
        let read = reads.take(file).flatten();
        env_files.push((file.clone(), read, EnvFileRole::Given));
    }
    let mut container_assignments = Vec::new();
    let mut compose_assignments = Vec::new();
    for (env_file, read, role) in env_files {
        let found = role != EnvFileRole::Given;
        let Some(text) = read_text(&env_file, read, found, &mut sources, &mut diagnostics)? else {
            continue;
        };
        let id = sources.add(
            env_file.display().to_string(),
            SourceKind::EnvFile,
            String::new(),
        );
        let mut assignments = env::parse_env_file(&text, id, &mut diagnostics);
        let shown = env::mask_env_file(&text, &assignments, &mut sources);
        limits::check_entries(
            &mut assignments,
            "the env file",
            |a| Some(a.value_span),
            &mut diagnostics,
        );
        sources.set_text(id, shown);
        match role {
            EnvFileRole::Containers => container_assignments.extend(assignments.iter().cloned()),
            EnvFileRole::Compose => {
                compose_assignments.extend(assignments.iter().cloned());
                all_assignments.extend(assignments);
                continue;
            }
            EnvFileRole::Server => {
                server_env_source = Some(id);
            }
            EnvFileRole::Given => {}
        }
        upper_layers.push(env::env_layer(
            &assignments,
            options.file_variables,
            schema,
            &sources,
            &mut diagnostics,
        ));
        all_assignments.extend(assignments);
    }
    let mut assignments = env::environment_source(&options.environment, &mut sources);
    limits::check_entries(
        &mut assignments,
        "the environment (`PROSE_*` variables)",
        |a| Some(a.value_span),
        &mut diagnostics,
    );
    upper_layers.push(env::env_layer(
        &assignments,
        options.file_variables,
        schema,
        &sources,
        &mut diagnostics,
    ));
    all_assignments.extend(assignments);
    let pins = compat::Pins::from_variables(
        all_assignments
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_str())),
    );
    containers::check_env_files(
        &container_assignments,
        &compose_assignments,
        options.file_variables,
        &pins,
        schema,
        &mut diagnostics,
    );
    let mut sets = options.sets.clone();
    limits::check_entries(
        &mut sets,
        "the command line (`--set`)",
        |_| None,
        &mut diagnostics,
    );
    upper_layers.push(env::set_layer(
        &sets,
        schema,
        &mut sources,
        &mut diagnostics,
    ));

    // The limits bound the merged tree, which is what the rest of loading walks.
    let user = file.map(|mut user| {
        for layer in upper_layers {
            user.merge(layer);
        }
        user
    });
    let Some(user) = user.filter(|user| limits::check_tree(user, &mut diagnostics)) else {
        diagnostics::normalize(&mut diagnostics);
        limits::cap_diagnostics(&mut diagnostics);
        return Ok(Loaded {
            path: path.to_owned(),
            sources,
            tree: Node::table(Origin::Default),
            config: None,
            diagnostics,
        });
    };
    let mut tree = with_presets(user, &mut diagnostics);
    validate::schema_errors(&tree, &sources, &mut diagnostics);
    validate::whole_floats(&tree, schema, &mut diagnostics);
    validate::explicit_checks(&tree, &mut diagnostics);
    computed_defaults(&mut tree);
    validate::computed_values(&tree, schema, &mut diagnostics);
    validate::semantic(&tree, &mut diagnostics);
    containers::check_http_port(&all_assignments, &tree, &mut diagnostics);
    super::host::check_variables(&all_assignments, &mut diagnostics);
    // Where each key goes is advice about a valid configuration: not beside its errors.
    if !diagnostics.iter().any(Diagnostic::is_error) {
        containers::check_keys(&tree, &pins, schema, &mut diagnostics);
    }
    diagnostics::normalize(&mut diagnostics);
    limits::cap_diagnostics(&mut diagnostics);

    let config = if diagnostics.iter().any(Diagnostic::is_error) {
        None
    } else {
        match Config::from_json(&tree.to_json()) {
            Ok(mut config) => {
                config.deployment = compat::Deployment {
                    pins,
                    env_secrets: containers::env_secrets(&tree, server_env_source, &sources),
                };
                Some(config)
            }
            Err(error) => {
                // The schema accepted what serde refuses: a defect of ours, reported as such.
                diagnostics.push(Diagnostic::error(
                    code::INTERNAL,
                    format!("internal error: the validated configuration does not load: {error}"),
                ));
                None
            }
        }
    };
    Ok(Loaded {
        path: path.to_owned(),
        sources,
        tree,
        config,
        diagnostics,
    })
}

/// Reads an env file (unless an earlier reader did: `read`); `Ok(None)` when it is over its
/// size limit, or when the tool `found` it by itself and it is a link or not a regular file
/// (diagnosed).
fn read_text(
    path: &Path,
    read: Option<Bounded>,
    found: bool,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<String>, LoadError> {
    let read = match read {
        Some(read) => Ok(read),
        None if found => crate::files::read_found(path, limits::MAX_ENV_FILE_BYTES),
        None => crate::files::read_bounded(path, limits::MAX_ENV_FILE_BYTES),
    };
    let read = match read {
        Ok(read) => read,
        Err(error) if crate::files::is_refusal(&error) => {
            diagnostics.push(
                Diagnostic::error(code::UNSAFE_INPUT, error.to_string()).help(
                    "an env file beside prose.toml is read only as a regular file: make it one \
                     (not a link, a FIFO or a device), or name the file with `--env-file` if you \
                     mean it",
                ),
            );
            return Ok(None);
        }
        Err(source) => {
            return Err(LoadError {
                path: path.to_owned(),
                source,
            });
        }
    };
    Ok(match read {
        Bounded::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Bounded::TooLarge { size, first_line } => {
            // Whatever the file is, only the start of its first line is shown.
            let mut shown = first_line.into_bytes();
            let end = shown.len();
            crate::diagnostics::mask_line_after(&mut shown, 0..end, env::SHOWN_CHARACTERS);
            let first_line = String::from_utf8(shown).unwrap_or_default();
            diagnostics.push(limits::file_too_large(
                path,
                SourceKind::EnvFile,
                size,
                first_line,
                sources,
            ));
            None
        }
    })
}

/// Reads and parses `prose.toml`. `Ok(None)` when it is unreadable as TOML (diagnosed).
fn read_config(
    path: &Path,
    read: Option<Bounded>,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<Node>, LoadError> {
    let read = match read {
        Some(read) => read,
        None => crate::files::read_bounded(path, limits::MAX_CONFIG_BYTES).map_err(|source| {
            LoadError {
                path: path.to_owned(),
                source,
            }
        })?,
    };
    let bytes = match read {
        Bounded::Bytes(bytes) => bytes,
        Bounded::TooLarge { size, first_line } => {
            let too_large =
                limits::file_too_large(path, SourceKind::File, size, first_line, sources);
            diagnostics.push(too_large);
            return Ok(None);
        }
    };
    let name = path.display().to_string();
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(error.as_bytes()).into_owned();
            // No tree to find the secrets by: mask them by key name on the raw text.
            let mut secrets = crate::diagnostics::Secrets::default();
            let shown = crate::diagnostics::mask_toml_text(&lossy, &mut secrets);
            sources.add_secrets(&secrets);
            let id = sources.add(name, SourceKind::File, shown);
            diagnostics.push(
                Diagnostic::error(code::ENCODING, "the file is not valid UTF-8")
                    .at(Some(Span::new(id, at..at + 1)), "invalid byte")
                    .help("save the file as UTF-8"),
            );
            return Ok(None);
        }
    };
    // A byte-order mark is harmless: drop it (lines and columns do not change).
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text);
    let id = sources.add(name, SourceKind::File, String::new());
    let root = parse_toml(&text, id, diagnostics);
    let mut secrets = crate::diagnostics::Secrets::default();
    let shown = mask_secrets(&text, root.as_ref(), &mut secrets);
    sources.add_secrets(&secrets);
    sources.set_text(id, shown);
    Ok(root)
}

/// Puts the resolved preset chain under the user's values.
fn with_presets(user: Node, diagnostics: &mut Vec<Diagnostic>) -> Node {
    let mut builtin = presets::builtin_tree()
        .cloned()
        .unwrap_or_else(|| Node::table(Origin::Default));
    forget_origin(&mut builtin);
    // Each built-in preset's values are that preset's (what `explain` shows them replaced by).
    if let Some(table) = builtin.as_table_mut() {
        for (name, preset) in table.iter_mut() {
            presets::tag(preset, name, &[]);
        }
    }
    let analytics = user.get_path(keys::VENDOR_ANALYTICS.path());
    if let Some(user_presets) = analytics.and_then(|a| a.get_path(&["presets"]))
        && user_presets.as_table().is_some()
    {
        builtin.merge(user_presets.clone());
    }
    let selected = analytics.and_then(|a| a.get_path(&["preset"]));
    let preset_layer = presets::resolve(&builtin, selected, diagnostics);
    // The root keeps the file's origin, so a missing top-level key points at the file.
    let mut tree = Node::table(user.origin.clone());
    tree.insert_path(keys::VENDOR_ANALYTICS.path(), preset_layer);
    tree.insert_path(keys::ANALYTICS_PRESETS.path(), builtin);
    tree.merge(user);
    tree
}

/// Marks a built-in tree as default (its spans point into no user-visible source).
fn forget_origin(node: &mut Node) {
    node.origin = Origin::Default;
    node.key_span = None;
    match &mut node.value {
        Value::Table(t) => t.values_mut().for_each(forget_origin),
        Value::Array(items) => items.iter_mut().for_each(forget_origin),
        _ => {}
    }
}

/// Defaults that depend on other keys, filled only where nothing set them.
fn computed_defaults(tree: &mut Node) {
    let text = |tree: &Node, path: &[&str]| {
        tree.get_path(path)
            .and_then(Node::as_str)
            .map(str::to_owned)
    };
    let Some(domain) = text(tree, keys::SERVER_DOMAIN.path()) else {
        return;
    };
    let computed = |value: String, from: keys::Key| {
        Node::new(
            Value::String(value),
            Origin::Computed {
                from: vec![from.to_string()],
            },
            None,
        )
    };
    let has = |tree: &Node, path: &[&str]| tree.get_path(path).is_some();
    let static_address = has(tree, keys::POD_IPV4.path()) || has(tree, keys::POD_IPV6.path());
    if !has(tree, keys::POD_DOMAIN.path()) && !static_address {
        tree.insert_path(
            keys::POD_DOMAIN.path(),
            computed(format!("prose.{domain}"), keys::SERVER_DOMAIN),
        );
    }
    if let Some(pod_domain) = text(tree, keys::POD_DOMAIN.path())
        && !has(tree, keys::DASHBOARD_URL.path())
    {
        tree.insert_path(
            keys::DASHBOARD_URL.path(),
            computed(format!("https://admin.{pod_domain}"), keys::POD_DOMAIN),
        );
    }
    if has(tree, keys::EMAIL.path()) && !has(tree, keys::EMAIL_POD_ADDRESS.path()) {
        tree.insert_path(
            keys::EMAIL_POD_ADDRESS.path(),
            computed(format!("prose@{domain}"), keys::SERVER_DOMAIN),
        );
    }
}
