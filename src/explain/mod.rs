//! `explain`: where a value comes from, and which keys produced a line of output.
//!
//! Origins come from the loader's provenance tree. The link between keys and output lines is
//! measured, not declared: each effective value is changed to another valid value, the pod is
//! rendered again, and the output lines that change are the ones that value produces. This
//! holds for every target alike (the Lua printer and the templates), and a line that no
//! change of configuration moves is "fixed by the template".
//!
//! `--from FILE:LINE` does not perturb every value one by one (a render per value, each as
//! large as the configuration: quadratic on a large one). The effective configuration is
//! serialised once, and values are perturbed by groups of neighbours (a subtree, or part of
//! one): a group whose change leaves the line alone is dropped whole, a group that moves it is
//! split in two, down to the single values, each of which is then tested alone exactly as
//! `explain KEY` does. A handful of causes among thousands of values costs a few dozen renders.
//!
//! Secrets never come out: a value under a secret-looking key is `<redacted>` at any depth (a
//! password inside `sql = { … }`), and so is a generated line that sets one.

use std::collections::BTreeMap;

use camino::Utf8Path;
use serde::Serialize;
use serde_json::Value as Json;

use crate::config::Config;
use crate::config::env::var_name;
use crate::config::formats;
use crate::config::load::Loaded;
use crate::config::schema_nav::{SchemaNav, did_you_mean};
use crate::diagnostics::source::Sources;
use crate::diagnostics::{REDACTED, looks_secret, redact_line};
use crate::output::OutputTree;
use crate::pipeline::compile_for;
use crate::provenance::{Node, Origin, OriginInfo, describe_origin, dotted};
use crate::targets::{Platform, embedded_templates};

/// One value that was replaced by a higher layer.
#[derive(Debug, Clone, Serialize)]
pub struct Replaced {
    pub value: Json,
    pub origin: OriginInfo,
}

/// Lines of one output file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Lines {
    pub file: String,
    pub lines: Vec<usize>,
}

/// Everything `explain KEY` says about a key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyReport {
    pub key: String,
    pub value: Json,
    pub origin: OriginInfo,
    /// Lower layers' values this one replaced, nearest first.
    pub overridden: Vec<Replaced>,
    pub description: Option<String>,
    pub kind: String,
    pub allowed: Vec<String>,
    pub default: Option<Json>,
    pub env_var: String,
    pub affects: Vec<Lines>,
    /// Which components read the key, at the pinned versions, and where the tree writes it.
    pub compatibility: Option<Compatibility>,
}

/// What `explain KEY` says about who reads a key.
#[derive(Debug, Clone, Serialize)]
pub struct Compatibility {
    /// `reads it since v0.16.0; Pod API 0.20.0 reads it`.
    pub pod_api: String,
    pub pod_server: String,
    /// `etc/prose/prose.toml`, `etc/prose/prose-server.env (Pod Server only)` or `nowhere: …`.
    pub written_to: String,
    pub note: Option<String>,
}

fn compatibility(config: &Config, path: &[String]) -> Option<Compatibility> {
    use crate::config::compat::{self, Component, Fate};
    use crate::config::containers::{Route, route};
    let segments: Vec<&str> = path.iter().map(String::as_str).collect();
    let entry = compat::entry(&segments)?;
    let pins = &config.deployment.pins;
    let component = |c: Component| {
        let fate = compat::fate(entry, c, pins.get(c).effective(c), &segments);
        let now = match fate {
            Fate::Reads => "reads it",
            Fate::Ignores => "ignores it",
            Fate::Refuses => "refuses it (does not start)",
        };
        format!(
            "read {}; {} {now}",
            entry.reads(c).describe(),
            pins.label(c)
        )
    };
    let written_to = match route(&segments, pins) {
        Route::ProseToml => "etc/prose/prose.toml".to_owned(),
        Route::ServerEnv => "etc/prose/prose-server.env (the Pod Server only)".to_owned(),
        Route::Ours => "nowhere: read by prose-compile only".to_owned(),
        Route::Nowhere { why, .. } => format!("nowhere: {why}"),
    };
    Some(Compatibility {
        pod_api: component(Component::PodApi),
        pod_server: component(Component::PodServer),
        written_to,
        note: (!entry.note.is_empty()).then(|| entry.note.to_owned()),
    })
}

/// `value` as explain may show it under `key`: `<redacted>` when the key looks secret, else
/// with every secret-looking key inside it (at any depth, arrays of tables included) redacted.
fn redact(key: &str, value: Json) -> Json {
    let last = key.rsplit('.').next().unwrap_or(key).trim_matches('"');
    if !value.is_null() && looks_secret(last) {
        return Json::String(REDACTED.into());
    }
    match value {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = redact(&k, v);
                    (k, v)
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(|v| redact("", v)).collect()),
        other => other,
    }
}

/// The effective configuration as JSON (defaults included).
fn effective(config: &Config) -> Json {
    serde_json::to_value(config).unwrap_or(Json::Null)
}

fn path_of(key: &str) -> Result<Vec<String>, String> {
    crate::config::env::parse_set(&format!("{key}=0")).map(|s| s.path)
}

/// `explain KEY`. `Err` carries a message with a "did you mean" for unknown keys.
pub fn explain_key(loaded: &Loaded, key: &str) -> Result<KeyReport, String> {
    explain_key_for(loaded, key, &Platform::Host)
}

/// [`explain_key`], with the lines it affects in the files of `platform`.
pub fn explain_key_for(
    loaded: &Loaded,
    key: &str,
    platform: &Platform,
) -> Result<KeyReport, String> {
    let config = loaded
        .config
        .as_ref()
        .ok_or("the configuration is invalid: run `check`")?;
    let schema = crate::config::schema::schema_cached();
    let nav = SchemaNav::new(schema);
    let path = path_of(key).map_err(|_| format!("`{}` is not a key path", formats::shown(key)))?;
    let Some(sub) = nav.at(&path) else {
        let paths = nav.all_paths();
        let hint = did_you_mean(key, paths.iter().map(String::as_str))
            .map(|c| format!(": did you mean `{c}`?"))
            .unwrap_or_default();
        return Err(format!("unknown key `{}`{hint}", formats::shown(key)));
    };
    let key = dotted(&path);
    let base = effective(config);
    let value = base.pointer(&pointer(&path)).cloned().unwrap_or(Json::Null);
    let node = loaded.tree.get_path(&path);
    let origin = node.map_or(Origin::Default, |n| n.origin.clone());
    let mut overridden: Vec<Replaced> = node
        .map(|n| {
            n.history
                .iter()
                .map(|h| Replaced {
                    value: redact(
                        &key,
                        Node::new(h.value.clone(), h.origin.clone(), None).to_json(),
                    ),
                    origin: describe_origin(&h.origin, &loaded.sources),
                })
                .collect()
        })
        .unwrap_or_default();
    let default = nav.annotation(&path, "default").cloned();
    if let (Some(default), false) = (&default, matches!(origin, Origin::Default)) {
        let lowest_is_default = overridden
            .last()
            .is_some_and(|r| r.origin.layer == "default");
        if !lowest_is_default {
            overridden.push(Replaced {
                value: redact(&key, default.clone()),
                origin: describe_origin(&Origin::Default, &loaded.sources),
            });
        }
    }
    let kinds = nav.kinds(sub);
    let kind = [
        (kinds.boolean, "boolean"),
        (kinds.integer, "integer"),
        (kinds.number && !kinds.integer, "number"),
        (kinds.string, "string"),
        (kinds.array, "array"),
        (kinds.object, "table"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect::<Vec<_>>()
    .join(" or ");
    let format = sub
        .get("format")
        .and_then(Json::as_str)
        .map(|f| format!(" ({f})"))
        .unwrap_or_default();
    let allowed = sub
        .get("enum")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let baseline = compile(loaded, platform).ok();
    let affects = baseline
        .as_ref()
        .map(|tree| affected_lines(&base, tree, &path, platform))
        .unwrap_or_default()
        .into_iter()
        .map(|l| Lines {
            file: shown(config, platform, &l.file),
            ..l
        })
        .collect();
    Ok(KeyReport {
        value: redact(&key, value),
        origin: describe_origin(&origin, &loaded.sources),
        overridden,
        description: nav
            .annotation(&path, "description")
            .and_then(Json::as_str)
            .map(str::to_owned),
        kind: format!("{kind}{format}"),
        allowed,
        default: default.map(|d| redact(&key, d)),
        env_var: var_name(&path.iter().map(String::as_str).collect::<Vec<_>>()),
        affects,
        compatibility: compatibility(config, &path),
        key,
    })
}

fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// One key set away from its default, for `explain` without a key.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub section: String,
    pub key: String,
    pub value: Json,
    pub origin: OriginInfo,
}

/// `explain` without a key: every value that differs from its built-in default, by section.
pub fn explain_all(loaded: &Loaded) -> Vec<Setting> {
    let schema = crate::config::schema::schema_cached();
    let nav = SchemaNav::new(schema);
    let mut out = Vec::new();
    loaded
        .tree
        .for_each_leaf(&mut Vec::new(), &mut |path, node| {
            if matches!(node.origin, Origin::Default) || path.is_empty() {
                return;
            }
            // The presets themselves are definitions, not settings; their effect shows on
            // the `vendor_analytics` keys they set.
            if path.len() >= 2 && path[0] == "vendor_analytics" && path[1] == "presets" {
                return;
            }
            let value = node.to_json();
            let default = nav.annotation(path, "default");
            if default == Some(&value) {
                return;
            }
            let key = dotted(path);
            out.push(Setting {
                section: path[0].to_owned(),
                value: redact(&key, value),
                origin: describe_origin(&node.origin, &loaded.sources),
                key,
            });
        });
    out.sort_by(|a, b| a.section.cmp(&b.section));
    out
}

/// A configuration key behind an output line.
#[derive(Debug, Clone, Serialize)]
pub struct LineCause {
    pub key: String,
    pub value: Json,
    pub origin: OriginInfo,
}

/// What `explain --from FILE:LINE` says.
#[derive(Debug, Clone, Serialize)]
pub struct LineReport {
    pub file: String,
    pub line: usize,
    pub text: String,
    /// Empty: the line is fixed by the template.
    pub causes: Vec<LineCause>,
}

/// `explain --from FILE:LINE`. `file` may be a path inside the tree (`etc/prosody/…`) or
/// one that ends with such a path (`out/etc/prosody/…`).
pub fn explain_line(loaded: &Loaded, file: &str, line: usize) -> Result<LineReport, String> {
    explain_line_for(loaded, file, line, &Platform::Host)
}

/// [`explain_line`] of a file of `platform`'s tree. A Kubernetes file is named from the
/// output directory (`kubernetes/<server domain>/server.yaml`), or from the pod's directory.
pub fn explain_line_for(
    loaded: &Loaded,
    file: &str,
    line: usize,
    platform: &Platform,
) -> Result<LineReport, String> {
    let config = loaded
        .config
        .as_ref()
        .ok_or("the configuration is invalid: run `check`")?;
    let tree = compile(loaded, platform)
        .map_err(|_| "the configuration does not compile: run `build`".to_owned())?;
    not_this_pod(config, platform, file)?;
    let file = file.trim_start_matches("./");
    let target = tree
        .files()
        .map(|f| f.path.to_string())
        .filter(|p| file == p || file.ends_with(&format!("/{p}")))
        .max_by_key(String::len)
        .ok_or_else(|| {
            let names: Vec<String> = tree
                .files()
                .map(|f| shown(config, platform, f.path.as_str()))
                .collect();
            format!(
                "`{file}` is not a generated file; generated files: {}",
                names.join(", ")
            )
        })?;
    let contents = tree
        .get(&target)
        .map(|f| f.text().into_owned())
        .unwrap_or_default();
    let total = contents.lines().count();
    let text = contents.lines().nth(line.wrapping_sub(1)).ok_or_else(|| {
        format!(
            "`{}` has {total} lines; line {line} does not exist",
            shown(config, platform, &target)
        )
    })?;
    let text = redact_line(text);
    let base = effective(config);
    let probe = LineProbe {
        base: &base,
        baseline: &tree,
        file: Utf8Path::new(&target),
        line,
        platform,
    };
    let leaves = leaf_paths(&base);
    let mut found = Vec::new();
    probe.search(&leaves, &mut found);
    let causes = found
        .into_iter()
        .map(|path| {
            let key = dotted(path);
            let node = loaded.tree.get_path(path);
            let origin = node.map_or(Origin::Default, |n| n.origin.clone());
            let value = base.pointer(&pointer(path)).cloned().unwrap_or(Json::Null);
            LineCause {
                value: redact(&key, value),
                origin: describe_origin(&origin, &loaded.sources),
                key,
            }
        })
        .collect();
    Ok(LineReport {
        file: shown(config, platform, &target),
        line,
        text,
        causes,
    })
}

/// Lines either side of the line asked about that a group's change must leave alone for the
/// group to be dropped.
const NEIGHBOURS: usize = 3;

/// What `explain --from` looks for: the values whose change moves one line of one file.
struct LineProbe<'a> {
    /// The effective configuration, serialised once.
    base: &'a Json,
    baseline: &'a OutputTree,
    file: &'a Utf8Path,
    line: usize,
    /// Whose files: a host's, or a pod's Kubernetes manifests.
    platform: &'a Platform,
}

impl LineProbe<'_> {
    /// Adds to `found`, in order, the leaves among `leaves` whose change alone moves the line.
    fn search<'p>(&self, leaves: &'p [Vec<String>], found: &mut Vec<&'p [String]>) {
        match leaves {
            [] => {}
            [leaf] => {
                if self.moved_by(leaf) {
                    found.push(leaf);
                }
            }
            _ => {
                // Perturb the whole group at once: if it renders and the line stays, none of
                // these values is behind the line. If it moves (or the group as a whole does
                // not render), look at each half.
                if self.group_moves(leaves) != Some(false) {
                    let (first, second) = leaves.split_at(leaves.len() / 2);
                    self.search(first, found);
                    self.search(second, found);
                }
            }
        }
    }

    /// One value alone, as `explain KEY` measures it: its first valid variant.
    fn moved_by(&self, path: &[String]) -> bool {
        variants(self.base, path)
            .first()
            .and_then(|variant| render(variant, self.platform))
            .is_some_and(|tree| self.line_moved(&tree))
    }

    /// Every value of the group changed at once: `None` when that configuration does not
    /// load or render.
    fn group_moves(&self, leaves: &[Vec<String>]) -> Option<bool> {
        let mut changed = self.base.clone();
        let mut renames = Vec::new();
        for path in leaves {
            let pointer = pointer(path);
            let Some(current) = self.base.pointer(&pointer) else {
                continue;
            };
            let Some(candidate) = candidates(path, current).into_iter().next() else {
                continue;
            };
            if let (Json::String(old), Json::String(new)) = (current, &candidate) {
                renames.push((old.clone(), new.clone()));
            }
            if let Some(slot) = changed.pointer_mut(&pointer) {
                *slot = candidate;
            }
        }
        // Renamed hosts move their `prosody.<host>` tables after every value is in place.
        for (old, new) in renames {
            rename_hosts(&mut changed, &old, &new);
        }
        let config = Config::from_json(&changed).ok()?;
        Some(self.lines_moved(&render(&config, self.platform)?, NEIGHBOURS))
    }

    fn line_moved(&self, tree: &OutputTree) -> bool {
        self.lines_moved(tree, 0)
    }

    /// Whether the line, or one of the `around` lines either side of it, changed in `tree`. A
    /// group is judged on the line's neighbourhood: when many values change, the diff may pair
    /// a blank line or a `}` with another one, and say it stayed, where one of them alone moves
    /// it; the blocks around such a line do change.
    fn lines_moved(&self, tree: &OutputTree, around: usize) -> bool {
        let Some(before) = self.baseline.get(self.file) else {
            return false;
        };
        let after = tree
            .get(self.file)
            .or_else(|| renamed_counterpart(self.baseline, tree, self.file))
            .map(|f| f.contents.as_slice())
            .unwrap_or_default();
        let near = self.line.saturating_sub(around)..=self.line + around;
        changed_lines(&before.contents, after)
            .iter()
            .any(|l| near.contains(l))
    }
}

/// Paths of every scalar leaf of the effective configuration (analytics preset definitions
/// excluded: they act through the `vendor_analytics` keys).
fn leaf_paths(value: &Json) -> Vec<Vec<String>> {
    fn walk(value: &Json, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match value {
            Json::Object(map) => {
                for (k, v) in map {
                    if path.len() == 1 && path[0] == "vendor_analytics" && k == "presets" {
                        continue;
                    }
                    path.push(k.clone());
                    walk(v, path, out);
                    path.pop();
                }
            }
            Json::Null => {}
            _ => out.push(path.clone()),
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// The output lines (1-based, per file) that change when the value at `path` changes.
fn affected_lines(
    base: &Json,
    baseline: &OutputTree,
    path: &[String],
    platform: &Platform,
) -> Vec<Lines> {
    let mut changed: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for variant in variants(base, path) {
        let Some(tree) = render(&variant, platform) else {
            continue;
        };
        for file in baseline.files() {
            let after = tree
                .get(&file.path)
                .or_else(|| renamed_counterpart(baseline, &tree, &file.path))
                .map(|f| f.contents.as_slice())
                .unwrap_or_default();
            for line in changed_lines(&file.contents, after) {
                changed.entry(file.path.to_string()).or_default().push(line);
            }
        }
    }
    changed
        .into_iter()
        .map(|(file, mut lines)| {
            lines.sort_unstable();
            lines.dedup();
            Lines { file, lines }
        })
        .collect()
}

/// A file named after a value (an nginx site named by its domain) is renamed, not removed,
/// when the value changes: the new file in the same directory whose name is closest to the
/// old one is its new version (`crisp.chat_http` and `crisp.chat` both renamed: each keeps
/// its own suffix), when one is closest.
fn renamed_counterpart<'t>(
    baseline: &OutputTree,
    variant: &'t OutputTree,
    path: &Utf8Path,
) -> Option<&'t crate::targets::GeneratedFile> {
    let old = path.file_name().unwrap_or_default();
    let closeness = |new: &str| {
        let prefix = old
            .bytes()
            .zip(new.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = old
            .bytes()
            .rev()
            .zip(new.bytes().rev())
            .take_while(|(a, b)| a == b)
            .count();
        (
            prefix + suffix,
            std::cmp::Reverse(old.len().abs_diff(new.len())),
        )
    };
    let mut new_files: Vec<_> = variant
        .files()
        .filter(|f| baseline.get(&f.path).is_none() && f.path.parent() == path.parent())
        .map(|f| (closeness(f.path.file_name().unwrap_or_default()), f))
        .collect();
    new_files.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    match new_files.as_slice() {
        [(_, only)] => Some(only),
        [(best, file), (next, _), ..] if best != next => Some(file),
        _ => None,
    }
}

fn render(config: &Config, platform: &Platform) -> Option<OutputTree> {
    let loaded = Loaded {
        path: "prose.toml".into(),
        sources: Sources::default(),
        tree: Node::table(Origin::Default),
        config: Some(config.clone()),
        diagnostics: Vec::new(),
    };
    compile(&loaded, platform).ok()
}

/// The pod's tree for `platform`, named as in `prose.toml`'s own directory.
fn compile(loaded: &Loaded, platform: &Platform) -> crate::diagnostics::Diagnosed<OutputTree> {
    compile_for(loaded, "prose.toml", embedded_templates(), platform)
}

/// A generated file as the user sees it: a host's path, or a Kubernetes pod's file below the
/// output directory (`kubernetes/crisp.chat/server.yaml`).
fn shown(config: &Config, platform: &Platform, path: &str) -> String {
    match (
        platform,
        crate::targets::kubernetes::fleet::fleet_pod(config),
    ) {
        (Platform::Kubernetes(_), Some(pod)) => {
            format!("{}/{}/{path}", crate::targets::kubernetes::DIR, pod.dir)
        }
        _ => path.to_owned(),
    }
}

/// A `kubernetes/…` path that names no file of this pod: the fleet root's, or another pod's.
fn not_this_pod(config: &Config, platform: &Platform, file: &str) -> Result<(), String> {
    let Platform::Kubernetes(_) = platform else {
        return Ok(());
    };
    let Some(pod) = crate::targets::kubernetes::fleet::fleet_pod(config) else {
        return Ok(());
    };
    let segments: Vec<&str> = file.split('/').collect();
    let Some(at) = segments
        .iter()
        .rposition(|s| *s == crate::targets::kubernetes::DIR)
    else {
        return Ok(());
    };
    match &segments[at + 1..] {
        [_] => Err(format!(
            "`{file}` is a file of the fleet root, made from every pod: explain a file of this \
             pod, `kubernetes/{}/…`",
            pod.dir
        )),
        [dir, _, ..] if *dir != pod.dir => Err(format!(
            "`{file}` is a file of the pod {dir}, not of this one ({})",
            pod.dir
        )),
        _ => Ok(()),
    }
}

/// Lines of `before` (1-based) that are deleted or replaced in `after`.
fn changed_lines(before: &[u8], after: &[u8]) -> Vec<usize> {
    let before = String::from_utf8_lossy(before);
    let after = String::from_utf8_lossy(after);
    let ops = crate::output::line_ops(
        &crate::output::lines(&before),
        &crate::output::lines(&after),
    );
    let mut out = Vec::new();
    for op in &ops {
        if let similar::DiffOp::Delete {
            old_index, old_len, ..
        }
        | similar::DiffOp::Replace {
            old_index, old_len, ..
        } = *op
        {
            out.extend(old_index + 1..=old_index + old_len);
        }
    }
    out
}

/// Valid configurations that differ from `base` (the effective configuration as JSON) only
/// at `path`: the first candidate that loads.
fn variants(base: &Json, path: &[String]) -> Vec<Config> {
    let Some(current) = base.pointer(&pointer(path)) else {
        return Vec::new();
    };
    for candidate in candidates(path, current) {
        let mut changed = base.clone();
        if let (Json::String(old), Json::String(new)) = (current, &candidate) {
            rename_hosts(&mut changed, old, new);
        }
        if let Some(slot) = changed.pointer_mut(&pointer(path)) {
            *slot = candidate;
        }
        if let Ok(variant) = Config::from_json(&changed) {
            return vec![variant];
        }
    }
    Vec::new()
}

/// Other values for the key at `path`, most likely valid first: its other allowed values,
/// known-valid samples of its format, then values of the same form.
fn candidates(path: &[String], current: &Json) -> Vec<Json> {
    let nav_schema = crate::config::schema::schema_cached();
    let nav = SchemaNav::new(nav_schema);
    let schema = nav.at(path);
    let allowed: Vec<Json> = schema
        .and_then(|s| s.get("enum"))
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let mut candidates: Vec<Json> = allowed.into_iter().filter(|v| v != current).collect();
    // Strings with a format: known-valid values of that format.
    let format = schema.and_then(|s| s.get("format")).and_then(Json::as_str);
    let samples = format
        .and_then(formats::find)
        .map_or(&[][..], |f| f.samples);
    candidates.extend(samples.iter().map(|v| Json::String((*v).to_owned())));
    match current {
        Json::Bool(b) => candidates.push(Json::Bool(!b)),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                candidates.extend(
                    [i.checked_add(1), i.checked_sub(1)]
                        .into_iter()
                        .flatten()
                        .map(Json::from),
                );
            }
        }
        Json::String(s) => {
            candidates.push(Json::String(bump_digits(s)));
            candidates.push(Json::String(format!("x{s}")));
            candidates.push(Json::String(format!("{s}x")));
        }
        Json::Array(items) if !items.is_empty() => {
            candidates.push(Json::Array(items[..items.len() - 1].to_vec()));
        }
        _ => {}
    }
    candidates.retain(|c| c != current);
    candidates
}

/// A changed hostname carries the `prosody.<host>` tables that name it (or a subdomain of it,
/// like `groups.<domain>`), so the variant still renders.
fn rename_hosts(config: &mut Json, old: &str, new: &str) {
    let Some(Json::Object(hosts)) = config.get_mut("prosody") else {
        return;
    };
    let renamed: serde_json::Map<String, Json> = std::mem::take(hosts)
        .into_iter()
        .map(|(host, tables)| {
            let host = match host.strip_suffix(old) {
                Some("") => new.to_owned(),
                Some(prefix) if prefix.ends_with('.') => format!("{prefix}{new}"),
                _ => host,
            };
            (host, tables)
        })
        .collect();
    *hosts = renamed;
}

/// `"P2Y"` -> `"P3Y"`: another value of the same form.
fn bump_digits(s: &str) -> String {
    let mut done = false;
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if !done => {
                done = true;
                char::from_digit((d + 1) % 10, 10).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// Human rendering of a `Value` for listings.
pub fn show(value: &Json) -> String {
    match value {
        Json::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, load};

    fn example(name: &str) -> Loaded {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name)
            .join("prose.toml");
        let options = LoadOptions {
            file_variables: crate::targets::file_variables(),
            ..LoadOptions::default()
        };
        load(&path, &options).expect("example loads")
    }

    /// Perturbing by groups finds exactly the values that perturbing each value alone finds,
    /// on every line of the examples' files.
    #[test]
    fn group_perturbation_finds_what_one_by_one_perturbation_finds() {
        for name in ["minimal", "prosody-overrides"] {
            let loaded = example(name);
            let config = loaded.config.as_ref().expect("valid");
            let base = effective(config);
            let tree = compile(&loaded, &Platform::Host).expect("compiles");
            // The reference: each value alone, every file at once.
            let mut expected: BTreeMap<(String, usize), Vec<String>> = BTreeMap::new();
            for path in leaf_paths(&base) {
                for lines in affected_lines(&base, &tree, &path, &Platform::Host) {
                    for line in lines.lines {
                        expected
                            .entry((lines.file.clone(), line))
                            .or_default()
                            .push(dotted(&path));
                    }
                }
            }
            for file in tree.files() {
                let count = file.text().lines().count();
                // Every other line of minimal's Prosody configuration, every ninth line of the
                // rest (a search costs a few dozen renders, and the test runs in a debug build).
                let dense = name == "minimal" && file.path.as_str().contains("prosody");
                for line in (1..=count).step_by(if dense { 2 } else { 9 }) {
                    let report = explain_line(&loaded, file.path.as_str(), line).unwrap();
                    let got: Vec<String> = report.causes.iter().map(|c| c.key.clone()).collect();
                    let want = expected
                        .get(&(file.path.to_string(), line))
                        .cloned()
                        .unwrap_or_default();
                    assert_eq!(got, want, "{name}: {}:{line}", file.path);
                }
            }
        }
    }

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let value = serde_json::json!({
            "driver": "PostgreSQL",
            "password": 12345678,
            "external": [{ "type": "turn", "secret": "s3cr3t" }],
        });
        let shown = redact("prosody.global.overrides.sql", value);
        assert_eq!(
            shown,
            serde_json::json!({
                "driver": "PostgreSQL",
                "password": "<redacted>",
                "external": [{ "type": "turn", "secret": "<redacted>" }],
            })
        );
        assert_eq!(
            redact(
                "prosody.global.overrides.http_file_share_secret",
                Json::from(987654321)
            ),
            Json::String(REDACTED.into())
        );
    }
}
