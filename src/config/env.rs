//! The environment layer (`PROSE_*` variables from the process and from env files) and the
//! `--set` layer. Values are parsed by the type of the key they name; a value of the wrong
//! type is kept as a string so the schema reports it, naming the variable.

use toml::de::DeValue;

use super::schema_nav::{Kinds, SchemaNav, did_you_mean};
use super::schema_structure::Structure;
use crate::diagnostics::source::{SourceId, SourceKind, Sources, Span};
use crate::diagnostics::{Diagnostic, Secrets, code, looks_secret, mask_line_after, mask_range};
use crate::provenance::{Node, Origin, Value, dotted};

pub const PREFIX: &str = "PROSE_";

/// Variables of the tool itself: never configuration keys.
const OWN_PREFIX: &str = "PROSE_COMPILE_";

/// A `PROSE_*` variable that names no configuration key because a generated file reads it
/// from `prose.env` (compose's images, versions, users, ports). The targets declare theirs
/// (`Target::variables`); the loader neither treats them as keys nor as typos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileVariable {
    pub name: &'static str,
    pub status: VariableStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableStatus {
    /// Read by a generated file.
    Read,
    /// No longer read by the generated files: a warning says what to set instead.
    Retired { instead: &'static str },
    /// Read, but another generated file assumes `value`: a warning when it is changed.
    Pinned {
        value: &'static str,
        /// "a port the nginx site still proxies to".
        what: &'static str,
        /// Who does not follow a change ("nginx").
        by: &'static str,
        /// What to do instead, before "or keep VALUE".
        instead: &'static str,
    },
}

impl FileVariable {
    pub const fn read(name: &'static str) -> Self {
        FileVariable {
            name,
            status: VariableStatus::Read,
        }
    }
}

/// One `NAME=value` assignment with the span of its value.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub name: String,
    pub value: String,
    pub value_span: Span,
}

/// Characters of a line of an env file shown when the line is not an assignment: enough to
/// recognise it, not enough to leak it (the file could be anything: `/etc/shadow`).
pub const SHOWN_CHARACTERS: usize = 4;

/// Parses a dotenv file (`NAME=value`, optional `export `, `#` comments, single- or
/// double-quoted values). Malformed lines are reported, not skipped silently: the first
/// [`MAX_DIAGNOSTICS`](super::limits::MAX_DIAGNOSTICS)` - 1` of them one by one, the rest
/// counted in one more diagnostic (a megabyte of `a` lines must not become half a million
/// diagnostics).
pub fn parse_env_file(
    text: &str,
    source: SourceId,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Assignment> {
    let mut out = Vec::new();
    let mut offset = 0;
    // Lines reported one by one, then where the rest start (and how many there are).
    let shown = super::limits::MAX_DIAGNOSTICS - 1;
    let mut malformed = 0usize;
    let mut rest: Option<Span> = None;
    let mut report = |diagnostic: Diagnostic, diagnostics: &mut Vec<Diagnostic>| {
        malformed += 1;
        if malformed <= shown {
            diagnostics.push(diagnostic);
        } else if rest.is_none() {
            rest = diagnostic.span;
        }
    };
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let lead = content.len() - trimmed.len();
        let body = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let body_start = start + lead + (trimmed.len() - body.len());
        let line_span = Span::new(source, start..start + content.len());
        let Some(eq) = body.find('=') else {
            report(
                Diagnostic::error(
                    code::ENV_FILE,
                    "this line of the env file is not `NAME=value`",
                )
                .at(Some(line_span), "no `=`")
                .help("write `NAME=value`, or start the line with `#` to comment it out"),
                diagnostics,
            );
            continue;
        };
        let name = body[..eq].trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            report(
                Diagnostic::error(code::ENV_FILE, "invalid variable name in the env file")
                    .at(Some(line_span), "here")
                    .help("variable names are letters, digits and `_`"),
                diagnostics,
            );
            continue;
        }
        let raw = &body[eq + 1..];
        let value_start = body_start + eq + 1 + (raw.len() - raw.trim_start().len());
        let raw = raw.trim();
        let value = unquote(raw);
        out.push(Assignment {
            name: name.to_owned(),
            value,
            value_span: Span::new(source, value_start..value_start + raw.len()),
        });
    }
    let more = malformed.saturating_sub(shown);
    if more > 0 {
        // A limit's diagnostic: always shown, whatever the cap on the others.
        diagnostics.push(
            Diagnostic::error(
                super::limits::CODE,
                format!(
                    "this line and {} more of the env file are not `NAME=value` assignments \
                     (only the first {shown} are reported one by one)",
                    more - 1
                ),
            )
            .at(rest, "not an assignment")
            .help("check that the env file is the pod's: a few `PROSE_*=value` lines"),
        );
    }
    out
}

fn unquote(raw: &str) -> String {
    let quoted = |q: char| raw.len() >= 2 && raw.starts_with(q) && raw.ends_with(q);
    if quoted('\'') {
        raw[1..raw.len() - 1].to_owned()
    } else if quoted('"') {
        raw[1..raw.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else {
        // An unquoted value ends at an inline comment.
        raw.split(" #").next().unwrap_or(raw).trim_end().to_owned()
    }
}

/// Makes a source of the process environment's `PROSE_*` variables (sorted, one
/// `NAME=value` line each, secrets masked) so diagnostics can show them like a file.
pub fn environment_source(vars: &[(String, String)], sources: &mut Sources) -> Vec<Assignment> {
    let mut vars: Vec<_> = vars
        .iter()
        .filter(|(name, _)| taken_from_environment(name))
        .collect();
    vars.sort();
    let mut text = String::new();
    let mut spans = Vec::new();
    for (name, value) in &vars {
        text.push_str(name);
        text.push('=');
        let start = text.len();
        // A value's own newlines would break the one-line-per-variable display.
        text.push_str(&value.replace(['\n', '\r'], " "));
        spans.push(start..text.len());
        text.push('\n');
    }
    let id = sources.add("<environment>", SourceKind::Environment, String::new());
    let assignments: Vec<Assignment> = vars
        .iter()
        .zip(spans)
        .map(|((name, value), range)| Assignment {
            name: name.clone(),
            value: value.clone(),
            value_span: Span::new(id, range),
        })
        .collect();
    let mut secrets = Secrets::default();
    sources.set_text(id, mask_assignments(&text, &assignments, &mut secrets));
    sources.add_secrets(&secrets);
    assignments
}

/// The text with the values of secret-looking variables masked (their values go to
/// `secrets`).
pub fn mask_assignments(text: &str, assignments: &[Assignment], secrets: &mut Secrets) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for a in assignments.iter().filter(|a| looks_secret(&a.name)) {
        secrets.add(&a.value);
        mask_range(&mut bytes, a.value_span.start, a.value_span.end);
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// The text of an env file as diagnostics may show it: secret values masked, and every line
/// that is not an assignment (a comment, a malformed line) masked after its first
/// [`SHOWN_CHARACTERS`] characters.
pub fn mask_env_file(text: &str, assignments: &[Assignment], sources: &mut Sources) -> String {
    let mut secrets = Secrets::default();
    let mut bytes = mask_assignments(text, assignments, &mut secrets).into_bytes();
    sources.add_secrets(&secrets);
    let mut values = assignments.iter().map(|a| a.value_span.start).peekable();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let range = offset..offset + line.len();
        offset = range.end;
        let mut is_assignment = false;
        while let Some(&at) = values.peek() {
            if at >= range.end {
                break;
            }
            is_assignment |= at >= range.start;
            values.next();
        }
        if !is_assignment {
            mask_line_after(&mut bytes, range, SHOWN_CHARACTERS);
        }
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// The key path a `PROSE_*` variable names: `PROSE_LOG__LEVEL` -> `["log", "level"]`.
pub fn key_path(name: &str) -> Option<Vec<String>> {
    let rest = name.strip_prefix(PREFIX)?;
    let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    path.iter().all(|s| !s.is_empty()).then_some(path)
}

/// The variable that sets a key path: `["log", "level"]` -> `PROSE_LOG__LEVEL`.
pub fn var_name(path: &[&str]) -> String {
    format!("{PREFIX}{}", path.join("__").to_ascii_uppercase())
}

/// Turns assignments into a layer. Variables that name no key are warnings (with a
/// "did you mean"), except the tool's own and compose's.
pub fn env_layer(
    assignments: &[Assignment],
    variables: &[FileVariable],
    schema: &Structure,
    sources: &Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Node {
    let nav = SchemaNav::new(schema);
    let mut layer = Node::table(Origin::Default);
    for a in assignments {
        if let Some(diagnostic) = file_variable_warning(a, variables) {
            diagnostics.push(diagnostic);
            continue;
        }
        if a.name.starts_with(OWN_PREFIX)
            || variables.iter().any(|v| v.name == a.name)
            || !a.name.starts_with(PREFIX)
        {
            continue;
        }
        let target = key_path(&a.name).and_then(|path| nav.at(&path).map(|s| (path, s)));
        let Some((path, schema)) = target else {
            diagnostics.push(unknown_variable(a, &nav, variables));
            continue;
        };
        let origin = |span: Span| Origin::Env {
            var: a.name.clone(),
            span,
        };
        let value = typed_value(&a.value, a.value_span, nav.kinds(schema), sources, &origin);
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        layer.insert_path(&refs, value);
    }
    layer
}

/// The warning for a retired variable, or a pinned one set to another value.
pub fn file_variable_warning(a: &Assignment, variables: &[FileVariable]) -> Option<Diagnostic> {
    let statuses = variables
        .iter()
        .filter(|v| v.name == a.name)
        .map(|v| v.status);
    for status in statuses {
        match status {
            VariableStatus::Retired { instead } => {
                return Some(
                    Diagnostic::warning(
                        code::COMPOSE_VARIABLE,
                        format!("`{}` is not read by the generated compose.yaml", a.name),
                    )
                    .at(Some(a.value_span), "ignored")
                    .help(format!("{instead} instead")),
                );
            }
            VariableStatus::Pinned {
                value,
                what,
                by,
                instead,
            } if a.value.trim() != value => {
                return Some(
                    Diagnostic::warning(
                        code::COMPOSE_VARIABLE,
                        format!("`{}` moves {what} at {value}", a.name),
                    )
                    .at(Some(a.value_span), format!("{by} does not follow this"))
                    .help(format!("{instead}, or keep {value}")),
                );
            }
            _ => {}
        }
    }
    None
}

fn unknown_variable(
    a: &Assignment,
    nav: &SchemaNav<'_, Structure>,
    variables: &[FileVariable],
) -> Diagnostic {
    let known: Vec<String> = nav
        .all_paths()
        .iter()
        .map(|p| var_name(&p.split('.').collect::<Vec<_>>()))
        .chain(variables.iter().map(|v| v.name.to_owned()))
        .collect();
    let mut d = Diagnostic::warning(
        code::UNKNOWN_VARIABLE,
        format!(
            "`{}` names no configuration key",
            super::formats::shown(&a.name)
        ),
    )
    .at(Some(a.value_span), "ignored");
    d.help = Some(
        match did_you_mean(&a.name, known.iter().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`?"),
            None => "configuration variables are `PROSE_` + the key path in upper case with `__` \
                 between segments, e.g. `PROSE_LOG__LEVEL`"
                .into(),
        },
    );
    d
}

/// Parses a raw value by the kinds its key accepts. Falls back to a string, which the schema
/// then reports as the wrong type at this value's span.
pub fn typed_value(
    raw: &str,
    span: Span,
    kinds: Kinds,
    sources: &Sources,
    origin: &dyn Fn(Span) -> Origin,
) -> Node {
    let leaf = |value| Node::new(value, origin(span), None);
    let trimmed = raw.trim();
    if kinds.boolean && matches!(trimmed, "true" | "false") {
        return leaf(Value::Bool(trimmed == "true"));
    }
    if kinds.integer
        && let Ok(n) = trimmed.parse::<i64>()
    {
        return leaf(Value::Integer(n));
    }
    if kinds.number
        && let Ok(f) = trimmed.parse::<f64>()
    {
        return leaf(Value::Float(f));
    }
    let structured =
        (kinds.array && trimmed.starts_with('[')) || (kinds.object && trimmed.starts_with('{'));
    let quoted = trimmed.starts_with('"') || trimmed.starts_with('\'');
    if (structured || (quoted && kinds.string))
        && let Some(node) = toml_value(raw, span, sources, origin)
    {
        return node;
    }
    if kinds.array && !kinds.string && !trimmed.is_empty() && !structured {
        // `a,b,c` for a list of strings, as shells make it easy to write.
        let mut items = Vec::new();
        let mut at = span.start;
        for part in raw.split(',') {
            let lead = part.len() - part.trim_start().len();
            let item_span = Span::new(span.source, at + lead..at + lead + part.trim().len());
            items.push(Node::new(
                Value::String(part.trim().to_owned()),
                origin(item_span),
                None,
            ));
            at += part.len() + 1;
        }
        return leaf(Value::Array(items));
    }
    leaf(Value::String(raw.to_owned()))
}

/// Parses a TOML value written in a variable, spans relocated into the variable's source.
fn toml_value(
    raw: &str,
    span: Span,
    sources: &Sources,
    origin: &dyn Fn(Span) -> Origin,
) -> Option<Node> {
    let text_matches = sources
        .get(span.source)
        .text
        .get(span.range())
        .is_some_and(|t| t == raw);
    let parsed = DeValue::parse(raw).ok()?;
    let mut node = super::parse::convert_value_public(parsed.get_ref(), parsed.span(), span.source);
    relocate(&mut node, &|s: Span| {
        if text_matches {
            origin(Span::new(
                span.source,
                span.start + s.start..span.start + s.end,
            ))
        } else {
            origin(span)
        }
    });
    Some(node)
}

fn relocate(node: &mut Node, origin: &dyn Fn(Span) -> Origin) {
    if let Some(span) = node.origin.span() {
        node.origin = origin(span);
    }
    node.key_span = node.key_span.map(|s| origin(s).span().unwrap_or(s));
    match &mut node.value {
        Value::Table(t) => t.values_mut().for_each(|n| relocate(n, origin)),
        Value::Array(items) => items.iter_mut().for_each(|n| relocate(n, origin)),
        _ => {}
    }
}

/// Whether the loader takes the process environment's variable `name` (`PROSE_*`, not the
/// tool's own `PROSE_COMPILE_*`).
pub fn taken_from_environment(name: &str) -> bool {
    name.starts_with(PREFIX) && !name.starts_with(OWN_PREFIX)
}

/// A parsed `--set KEY=VALUE` argument.
#[derive(Debug, Clone)]
pub struct SetArg {
    pub path: Vec<String>,
    pub value: String,
}

/// Parses `--set key.path=value` (segments may be quoted: `prosody."example.org".overrides.x=1`).
pub fn parse_set(arg: &str) -> Result<SetArg, String> {
    let (key, value) = arg.split_once('=').ok_or_else(|| {
        format!("`--set {arg}`: expected KEY=VALUE, e.g. `--set log.level=debug`")
    })?;
    let doc = format!("{} = 0", key.trim());
    let table = toml::de::DeTable::parse(&doc).map_err(|_| {
        format!(
            "`--set {arg}`: `{}` is not a key path such as `server.defaults.tls_profile`",
            key.trim()
        )
    })?;
    let mut path = Vec::new();
    let mut here = table.get_ref();
    while let Some((k, v)) = here.iter().next() {
        path.push(k.get_ref().to_string());
        match v.get_ref() {
            DeValue::Table(inner) => here = inner,
            _ => break,
        }
    }
    Ok(SetArg {
        path,
        value: value.to_owned(),
    })
}

/// Turns `--set` arguments into a layer (a source `<command line>` shows them). Unknown keys
/// are errors: a key typed on the command line is meant.
pub fn set_layer(
    sets: &[SetArg],
    schema: &Structure,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Node {
    let nav = SchemaNav::new(schema);
    let mut text = String::new();
    let mut spans = Vec::new();
    for set in sets {
        text.push_str("--set ");
        text.push_str(&dotted(&set.path));
        text.push('=');
        let start = text.len();
        text.push_str(&set.value.replace(['\n', '\r'], " "));
        spans.push(start..text.len());
        text.push('\n');
    }
    let id = sources.add("<command line>", SourceKind::CommandLine, String::new());
    let assignments: Vec<Assignment> = sets
        .iter()
        .zip(&spans)
        .map(|(s, r)| Assignment {
            name: s.path.last().cloned().unwrap_or_default(),
            value: s.value.clone(),
            value_span: Span::new(id, r.clone()),
        })
        .collect();
    let mut secrets = Secrets::default();
    sources.set_text(id, mask_assignments(&text, &assignments, &mut secrets));
    sources.add_secrets(&secrets);
    let mut layer = Node::table(Origin::Default);
    for (set, a) in sets.iter().zip(&assignments) {
        let Some(schema) = nav.at(&set.path) else {
            let parent = nav.at(&set.path[..set.path.len().saturating_sub(1)]);
            let last = set.path.last().map(String::as_str).unwrap_or("");
            let shown = super::formats::shown(&dotted(&set.path));
            let mut d = Diagnostic::error(code::UNKNOWN_KEY, format!("unknown key `{shown}`"))
                .key(shown)
                .at(Some(a.value_span), "set here");
            if let Some(close) = parent.and_then(|p| did_you_mean(last, nav.property_names(p))) {
                d = d.help(format!("did you mean `{close}`?"));
            }
            diagnostics.push(d);
            continue;
        };
        let value = typed_value(
            &set.value,
            a.value_span,
            nav.kinds(schema),
            sources,
            &Origin::Set,
        );
        let refs: Vec<&str> = set.path.iter().map(String::as_str).collect();
        layer.insert_path(&refs, value);
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_lines_are_parsed_with_value_spans() {
        let text = "# comment\nexport PROSE_LOG__LEVEL=debug\nPROSE_X='a b'\nbroken line\n";
        let mut diags = Vec::new();
        let got = parse_env_file(text, SourceId(0), &mut diags);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, "PROSE_LOG__LEVEL");
        assert_eq!(&text[got[0].value_span.range()], "debug");
        assert_eq!(got[1].value, "a b");
        assert_eq!(diags.len(), 1);
    }

    #[test]
    fn variable_names_map_to_key_paths() {
        assert_eq!(key_path("PROSE_LOG__LEVEL").unwrap(), ["log", "level"]);
        assert_eq!(
            key_path("PROSE_SERVER__DEFAULTS__TLS_PROFILE").unwrap(),
            ["server", "defaults", "tls_profile"]
        );
        assert_eq!(
            var_name(&["server", "log_level"]),
            "PROSE_SERVER__LOG_LEVEL"
        );
        assert!(key_path("PROSE_A____B").is_none());
    }

    #[test]
    fn set_paths_accept_quoted_segments() {
        let s = parse_set("prosody.\"example.org\".overrides.x=1").unwrap();
        assert_eq!(s.path, ["prosody", "example.org", "overrides", "x"]);
        assert_eq!(s.value, "1");
        assert!(parse_set("novalue").is_err());
        assert!(parse_set("a..b=1").is_err());
    }
}
