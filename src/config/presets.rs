//! Built-in vendor analytics presets, exactly as the Pod configuration reference lists them.

use super::keys;
use indexmap::IndexMap;

use super::formats::shown;
use super::schema_nav::{did_you_mean, name_list};
use crate::diagnostics::{Diagnostic, code};
use crate::provenance::{Node, Origin};

/// [`BUILTIN_PRESETS_TOML`] as a tree, parsed once per process: the loader layers it under
/// every pod's values and the typed defaults (`builtin_presets`, in the model) read it too.
/// `None` would be a build defect (a unit test parses the constant).
pub fn builtin_tree() -> Option<&'static Node> {
    static TREE: std::sync::OnceLock<Option<Node>> = std::sync::OnceLock::new();
    TREE.get_or_init(|| {
        super::parse::parse_toml(
            BUILTIN_PRESETS_TOML,
            crate::diagnostics::source::SourceId(usize::MAX),
            &mut Vec::new(),
        )
    })
    .as_ref()
}

/// The reference's default `vendor_analytics.presets`, as TOML (also the source of the
/// preset layer's provenance: these tables are "built-in").
pub const BUILTIN_PRESETS_TOML: &str = r#"
[all]
enabled = true
# Product usage analytics
usage.enabled = true
usage.meta_user_count.enabled = true
usage.pod_version.enabled = true
usage.user_app_version.enabled = true
usage.user_lang.enabled = true
usage.user_platform.enabled = true
# Acquisition analytics
acquisition.enabled = true
acquisition.pod_domain.enabled = true

[default]
inherits = "all"
# Make identifying data points opt-in
acquisition.pod_domain.enabled = false

[gdpr]
inherits = "default"
# Disable all analytics events if the Prose Workspace has less than 20 users.
min_cohort_size = 20
# Limit locales to reduce identifiability.
usage.user_lang.max_locales = 2

[lgpd]
inherits = "gdpr"
"#;

/// Resolves the selected vendor analytics preset into a layer for `vendor_analytics`.
///
/// `presets` is the built-in presets merged with the user's (`vendor_analytics.presets`), and
/// `selected` the `vendor_analytics.preset` node, if set. As upstream: the chosen preset beats
/// its ancestors, and the `default` chain fills what the chosen chain leaves unset.
pub fn resolve(presets: &Node, selected: Option<&Node>, diagnostics: &mut Vec<Diagnostic>) -> Node {
    let name = selected.and_then(Node::as_str).unwrap_or("default");
    let empty = IndexMap::new();
    let table = presets.as_table().unwrap_or(&empty);
    let mut layer = Node::table(Origin::Default);
    {
        // Unknown selected preset: report against the `preset` value.
        if !table.contains_key(name) {
            let names: Vec<&str> = table.keys().map(String::as_str).collect();
            let mut d = Diagnostic::error(
                code::PRESET,
                format!("unknown vendor analytics preset `{}`", shown(name)),
            )
            .key(keys::ANALYTICS_PRESET)
            .at(selected.and_then(|n| n.origin.span()), "no such preset");
            let list = name_list(names.iter().copied());
            d.help = Some(match did_you_mean(name, names.iter().copied()) {
                Some(close) => format!("did you mean `{}`? Presets: {list}", shown(close)),
                None => format!("presets: {list}"),
            });
            diagnostics.push(d);
            return layer;
        }
    }
    if let Some(base) = chain_layer("default", table, diagnostics, name == "default") {
        layer.merge(base);
    }
    if name != "default"
        && let Some(chosen) = chain_layer(name, table, diagnostics, true)
    {
        layer.merge(chosen);
    }
    layer
}

/// A chain of preset names for a message, each shortened, at most 20.
fn shown_chain(chain: &[String]) -> String {
    name_list(chain.iter().map(String::as_str)).replace(", ", " -> ")
}

/// The merged values of a preset and its ancestors, each leaf tagged with the preset that set
/// it. Reports unknown `inherits` targets and cycles (when `report`).
fn chain_layer(
    name: &str,
    presets: &IndexMap<String, Node>,
    diagnostics: &mut Vec<Diagnostic>,
    report: bool,
) -> Option<Node> {
    let mut chain: Vec<String> = Vec::new();
    let mut current = name.to_owned();
    loop {
        let preset = presets.get(&current)?;
        chain.push(current.clone());
        let Some(inherits) = preset.as_table().and_then(|t| t.get("inherits")) else {
            break;
        };
        let Some(parent) = inherits.as_str() else {
            break; // not a string: the schema reports it
        };
        let span = inherits.origin.span();
        if chain.iter().any(|c| c == parent) {
            if report {
                diagnostics.push(
                    Diagnostic::error(
                        code::PRESET,
                        format!(
                            "vendor analytics presets inherit in a cycle: {} -> {}",
                            shown_chain(&chain),
                            shown(parent)
                        ),
                    )
                    .key(format!(
                        "vendor_analytics.presets.{}.inherits",
                        shown(&current)
                    ))
                    .at(span, "closes the cycle")
                    .help(
                        "remove one `inherits` so the chain ends at a preset that inherits nothing",
                    ),
                );
            }
            return None;
        }
        if !presets.contains_key(parent) {
            if report {
                let names: Vec<&str> = presets.keys().map(String::as_str).collect();
                let close = did_you_mean(parent, names.iter().copied())
                    .map(|c| format!("did you mean `{}`? ", shown(c)))
                    .unwrap_or_default();
                let (current, parent) = (shown(&current), shown(parent));
                diagnostics.push(
                    Diagnostic::error(code::PRESET,
                        format!("preset `{current}` inherits unknown preset `{parent}` (chain: {} -> {parent})", shown_chain(&chain)),
                    )
                    .key(format!("vendor_analytics.presets.{current}.inherits"))
                    .at(span, "no such preset")
                    .help(format!("{close}presets: {}", name_list(names.iter().copied()))),
                );
            }
            return None;
        }
        current = parent.to_owned();
    }
    let mut layer = Node::table(Origin::Default);
    for preset_name in chain.iter().rev() {
        let mut values = presets.get(preset_name)?.clone();
        if let Some(t) = values.as_table_mut() {
            t.shift_remove("inherits");
        }
        let via: Vec<String> = chain
            .iter()
            .take_while(|c| *c != preset_name)
            .cloned()
            .collect();
        tag(&mut values, preset_name, &via);
        layer.merge(values);
    }
    Some(layer)
}

/// Marks every value of a preset's tree as set by that preset (reached via `via`).
pub fn tag(node: &mut Node, name: &str, via: &[String]) {
    let at = node.origin.span();
    node.origin = Origin::Preset {
        name: name.to_owned(),
        chain: via.to_vec(),
        at,
    };
    match &mut node.value {
        crate::provenance::Value::Table(t) => t.values_mut().for_each(|n| tag(n, name, via)),
        crate::provenance::Value::Array(items) => items.iter_mut().for_each(|n| tag(n, name, via)),
        _ => {}
    }
}
