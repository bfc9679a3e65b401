//! Validation: the generated JSON Schema (its validator compiled into the binary,
//! [`ConfigSchema`] of `schema/validators`, with our format checkers) plus the checks a schema
//! cannot express. Every schema error is translated into a diagnostic on the exact key or
//! value, with a help line.

use super::keys;

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value as Json;

use prose_compile_validators::ConfigSchema;

use crate::config::domains;
use crate::config::formats;
use crate::config::schema_nav::{SchemaNav, did_you_mean};
use crate::config::schema_structure::{Structure, structure};
use crate::config::types::NO_CONTROL_PATTERN;
use crate::diagnostics::source::{Sources, Span};
use crate::diagnostics::{Diagnostic, code};
use crate::provenance::{Node, Origin, Value, dotted};

/// Reports every schema violation of the tree.
pub fn schema_errors(tree: &Node, sources: &Sources, diagnostics: &mut Vec<Diagnostic>) {
    let instance = tree.to_json();
    // A valid configuration, the common case (every build of a working `prose.toml`), is
    // decided without collecting errors.
    if ConfigSchema::is_valid(&instance) {
        return;
    }
    // Explaining reads the full schema (its descriptions, keys and alternatives).
    let nav = SchemaNav::new(crate::config::schema::schema_cached());
    let mut found: Vec<Diagnostic> = Vec::new();
    for error in ConfigSchema::iter_errors(&instance) {
        if checked_across_keys(&error) {
            continue;
        }
        let path = pointer_segments(&error.instance_path().to_string());
        for diagnostic in translate(&error, &path, tree, &nav, sources) {
            // Several keywords that fail on one value with the same explanation: one
            // diagnostic.
            if !found.iter().any(|d| same_diagnostic(d, &diagnostic)) {
                found.push(diagnostic);
            }
        }
    }
    diagnostics.extend(found);
}

/// The schema states some rules across keys for editors (`minProperties` of `pod.address`,
/// the `if`/`then` that requires `dashboard.url`, see the model); `explicit_checks` and
/// `semantic` report them with their fix, so their schema errors are not translated too.
fn checked_across_keys(error: &ValidationError<'_>) -> bool {
    let keywords = error.schema_path().to_string();
    matches!(error.kind(), ValidationErrorKind::MinProperties { .. })
        || keywords.starts_with("/then/")
}

fn same_diagnostic(a: &Diagnostic, b: &Diagnostic) -> bool {
    a.code == b.code && a.key == b.key && a.message == b.message
}

fn pointer_segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// " (from `PROSE_X`)" when a value came from the environment: the key alone would not tell
/// the user where to look.
fn from_env(node: &Node) -> String {
    match &node.origin {
        Origin::Env { var, .. } => format!(" (set by `{var}`)"),
        Origin::Set(_) => " (set by `--set`)".into(),
        _ => String::new(),
    }
}

fn translate(
    error: &ValidationError<'_>,
    path: &[String],
    tree: &Node,
    nav: &SchemaNav<'_>,
    sources: &Sources,
) -> Vec<Diagnostic> {
    let key = dotted(path);
    let Some(node) = tree.get_path(path) else {
        return vec![Diagnostic::error(code::SCHEMA, format!("`{key}`: {error}")).key(key)];
    };
    let value_span = node.origin.span();
    let _ = sources;
    // The compiled validator reports a bad key name as the error of the name's own schema
    // (its format), at the table, with the name as the instance (never as a `PropertyNames`
    // error, which only the run-time engine can build).
    if error.schema_path().to_string().contains("/propertyNames/") {
        return vec![bad_key_name(&key, path, node, error.instance().as_str())];
    }
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| unknown_key(path, name, node, nav))
            .collect(),
        ValidationErrorKind::Required { property } => {
            let mut property = property.as_str().unwrap_or_default();
            // Only `server.domain` is required at the top: name the key the user must write.
            if path.is_empty() && property == "server" {
                property = "server.domain";
            }
            let full = if path.is_empty() {
                property.to_owned()
            } else {
                dotted(&[path, &[property.to_owned()]].concat())
            };
            let (span, label) = match node.key_span {
                Some(span) => (Some(span), format!("this table has no `{property}`")),
                None => (file_start(node, sources), format!("`{full}` is required")),
            };
            let example = if full == "server.domain" {
                "add:\n[server]\ndomain = \"example.org\"".to_owned()
            } else {
                format!("add `{property} = …` to `[{key}]`")
            };
            vec![
                Diagnostic::error(code::MISSING_KEY, format!("missing required key `{full}`"))
                    .key(full)
                    .at(span, label)
                    .help(example),
            ]
        }
        ValidationErrorKind::Type { kind } => vec![type_error(path, node, kind, nav)],
        ValidationErrorKind::Enum { options } => {
            let allowed: Vec<&str> = options
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
                .collect();
            let found = node
                .as_str()
                .map(|s| format!("`{}`", formats::shown(s)))
                .unwrap_or_else(|| node.value.kind_name().into());
            let mut help = format!(
                "allowed values: {}",
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(close) = node
                .as_str()
                .and_then(|s| did_you_mean(s, allowed.iter().copied()))
            {
                help = format!("did you mean `{close}`? {help}");
            }
            vec![
                Diagnostic::error(
                    code::ENUM,
                    format!("`{key}` cannot be {found}{}", from_env(node)),
                )
                .key(key)
                .at(value_span, "not an allowed value")
                .help(help),
            ]
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            vec![range_error(
                &key,
                node,
                nav,
                path,
                &format!("below the minimum {limit}"),
            )]
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            vec![range_error(
                &key,
                node,
                nav,
                path,
                &format!("above the maximum {limit}"),
            )]
        }
        ValidationErrorKind::MinLength { limit } => {
            let what = if *limit == 1 {
                "cannot be empty".to_owned()
            } else {
                format!("is shorter than {limit} characters")
            };
            vec![
                Diagnostic::error(code::LENGTH, format!("`{key}` {what}{}", from_env(node)))
                    .key(key)
                    .at(value_span, "too short")
                    .help(length_help(nav, path)),
            ]
        }
        ValidationErrorKind::MaxLength { limit } => {
            let len = node.as_str().map_or(0, |s| s.chars().count());
            vec![
                Diagnostic::error(
                    code::LENGTH,
                    format!(
                        "`{key}` is {len} characters long, more than {limit}{}",
                        from_env(node)
                    ),
                )
                .key(key)
                .at(value_span, "too long")
                .help(length_help(nav, path)),
            ]
        }
        // The compiled validator checks the model's plain patterns as formats of their own.
        ValidationErrorKind::Format { format } => {
            match formats::PLAIN_PATTERNS.iter().find(|p| p.format == format) {
                Some(plain) => vec![pattern_error(&key, node, plain.pattern)],
                None => vec![format_error(&key, node, format)],
            }
        }
        ValidationErrorKind::UniqueItems => vec![
            Diagnostic::error(
                code::DUPLICATE_ITEM,
                format!(
                    "`{key}` lists the same item more than once{}",
                    from_env(node)
                ),
            )
            .key(key)
            .at(value_span, "repeated item")
            .help("remove the repeated entries"),
        ],
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            vec![alternatives_error(path, node, nav)]
        }
        _ => vec![
            Diagnostic::error(code::SCHEMA, format!("`{key}`: {error}{}", from_env(node)))
                .key(key)
                .at(value_span, "invalid"),
        ],
    }
}

/// A key of the table at `path` that its `propertyNames` refuses: Prosody host names under
/// `[prosody]`, Lua identifiers for options.
fn bad_key_name(key: &str, path: &[String], node: &Node, name: Option<&str>) -> Diagnostic {
    let name = name.unwrap_or_default();
    let child = node.as_table().and_then(|t| t.get(name));
    let span = child.and_then(|c| c.key_span.or(c.origin.span()));
    let format = if path == ["prosody"] {
        "prosody-host"
    } else {
        "lua-identifier"
    };
    let problem = formats::check(format, name)
        .err()
        .unwrap_or(formats::Problem {
            message: format!("`{}` is not allowed here", formats::shown(name)),
            help: String::new(),
        });
    Diagnostic::error(code::KEY_NAME, format!("`{key}`: {}", problem.message))
        .key(dotted(&[path, &[name.to_owned()]].concat()))
        .at(span, "invalid name")
        .help(problem.help)
}

fn file_start(node: &Node, sources: &Sources) -> Option<Span> {
    let _ = sources;
    node.origin.span().map(|s| Span::new(s.source, 0..0))
}

fn unknown_key(
    parent: &[String],
    name: &str,
    parent_node: &Node,
    nav: &SchemaNav<'_>,
) -> Diagnostic {
    let child = parent_node.as_table().and_then(|t| t.get(name));
    let span = child.and_then(|c| c.key_span.or(c.origin.span()));
    let full = dotted(&[parent, &[name.to_owned()]].concat());
    let env = child.map(from_env).unwrap_or_default();
    if parent.len() == 2 && parent[0] == "prosody" {
        let host = dotted(&parent[1..]);
        return Diagnostic::error(code::PROSODY_TABLE, format!("`{name}` cannot be set directly under `prosody.{host}`{env}"))
            .key(full)
            .at(span, "not `defaults` or `overrides`")
            .help(format!(
                "Prosody options go in a `defaults` or `overrides` table:\n[prosody.{host}.overrides]\n{name} = …"
            ));
    }
    let candidates = nav
        .at(parent)
        .map(|s| nav.property_names(s))
        .unwrap_or_default();
    let place = if parent.is_empty() {
        String::new()
    } else {
        format!(" in `[{}]`", formats::shown(&dotted(parent)))
    };
    let mut d = Diagnostic::error(
        code::UNKNOWN_KEY,
        format!("unknown key `{}`{place}{env}", formats::shown(name)),
    )
    .key(formats::shown(&full))
    .at(span, "unknown key");
    d.help = Some(match did_you_mean(name, candidates.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None if candidates.is_empty() => "this table takes no keys".into(),
        None => format!("known keys: {}", candidates.join(", ")),
    });
    d
}

fn expected(nav: &SchemaNav<'_>, path: &[String]) -> String {
    let Some(schema) = nav.at(path) else {
        return "another type".into();
    };
    let kinds = nav.kinds(schema);
    let mut names = Vec::new();
    if kinds.boolean {
        names.push("a boolean (`true` or `false`)");
    }
    if kinds.integer {
        names.push("a whole number");
    } else if kinds.number {
        names.push("a number");
    }
    if kinds.string {
        names.push("a string");
    }
    if kinds.array {
        names.push("an array");
    }
    if kinds.object {
        names.push("a table");
    }
    names.join(" or ")
}

fn example(nav: &SchemaNav<'_>, path: &[String]) -> Option<String> {
    let default = nav.annotation(path, "default")?;
    let last = path.last()?;
    let rendered = match default {
        Json::String(s) => format!("{s:?}"),
        Json::Number(_) | Json::Bool(_) => default.to_string(),
        Json::Array(a) if a.is_empty() => "[]".into(),
        _ => return None,
    };
    Some(format!("e.g. `{last} = {rendered}`"))
}

fn type_error(path: &[String], node: &Node, _kind: &TypeKind, nav: &SchemaNav<'_>) -> Diagnostic {
    let key = dotted(path);
    if path.len() == 2 && path[0] == "prosody" {
        let option = &path[1];
        return Diagnostic::error(code::PROSODY_TABLE, format!("`prosody.{option}` must be a host table, not {}", node.value.kind_name()))
            .key(key)
            .at(node.origin.span(), "expected a host table")
            .help(format!(
                "to set the Prosody option `{option}`, put it in a host's `defaults` or `overrides`:\n[prosody.global.overrides]\n{option} = …"
            ));
    }
    let want = expected(nav, path);
    let mut d = type_mismatch(&key, node, &want);
    d.help = Some(if let Some(example) = example(nav, path) {
        example
    } else if node.value.kind_name() == "a string" && want.contains("number") {
        "write the number without quotes".into()
    } else if want.starts_with("a boolean") {
        "write `true` or `false`, without quotes".into()
    } else {
        format!("write {want} here")
    });
    d
}

/// "`key` must be <want>, found <kind>", labelled on the value.
fn type_mismatch(key: &str, node: &Node, want: &str) -> Diagnostic {
    Diagnostic::error(
        code::TYPE,
        format!(
            "`{key}` must be {want}, found {}{}",
            node.value.kind_name(),
            from_env(node)
        ),
    )
    .key(key)
    .at(node.origin.span(), format!("expected {want}"))
}

fn range_error(
    key: &str,
    node: &Node,
    nav: &SchemaNav<'_>,
    path: &[String],
    what: &str,
) -> Diagnostic {
    let shown = match &node.value {
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        _ => "the value".into(),
    };
    let schema = nav.at(path);
    let bound = |k: &str| schema.and_then(|s| s.get(k)).map(Json::to_string);
    let help = match (bound("minimum"), bound("maximum")) {
        (Some(min), Some(max)) => format!("the valid range is {min} to {max}"),
        (Some(min), None) => format!("the smallest valid value is {min}"),
        (None, Some(max)) => format!("the largest valid value is {max}"),
        (None, None) => "choose a value in range".into(),
    };
    Diagnostic::error(
        code::RANGE,
        format!("`{key}` is {shown}, {what}{}", from_env(node)),
    )
    .key(key)
    .at(node.origin.span(), "out of range")
    .help(help)
}

fn length_help(nav: &SchemaNav<'_>, path: &[String]) -> String {
    let schema = nav.at(path);
    let bound = |k: &str| schema.and_then(|s| s.get(k)).map(Json::to_string);
    match (bound("minLength"), bound("maxLength")) {
        (Some(min), Some(max)) => format!("write {min} to {max} characters"),
        (Some(min), None) => format!("write at least {min} characters"),
        (None, Some(max)) => format!("write at most {max} characters"),
        (None, None) => "check the value's length".into(),
    }
}

/// A value that is not of its format, explained by the format's checker.
fn format_error(key: &str, node: &Node, format: &str) -> Diagnostic {
    let value = node.as_str().unwrap_or_default();
    let problem = formats::check(format, value)
        .err()
        .unwrap_or(formats::Problem {
            message: format!("`{}` is not a valid {format}", formats::shown(value)),
            help: String::new(),
        });
    Diagnostic::error(
        code::FORMAT,
        format!("`{key}`: {}{}", problem.message, from_env(node)),
    )
    .key(key)
    .at(node.origin.span(), "invalid value")
    .help(problem.help)
}

fn pattern_error(key: &str, node: &Node, pattern: &str) -> Diagnostic {
    let value = node.as_str().unwrap_or_default();
    let (message, help) = if pattern == NO_CONTROL_PATTERN {
        (
            format!("`{key}` contains a control character"),
            "remove line breaks, tabs and other control characters from the value".to_owned(),
        )
    } else if pattern == formats::MODULE_NAME_PATTERN {
        (
            format!("`{}` is not a valid module name", formats::shown(value)),
            "Prosody module names use only `a-z`, `0-9` and `_`, e.g. `http_file_share`".to_owned(),
        )
    } else {
        (
            format!("`{key}` does not match the expected form"),
            format!("it must match `{pattern}`"),
        )
    };
    Diagnostic::error(code::PATTERN, format!("{message}{}", from_env(node)))
        .key(key)
        .at(node.origin.span(), "invalid value")
        .help(help)
}

/// A value that matches none of a union's forms (e.g. a size that is neither bytes nor
/// `"200MiB"`): explain with the string form's own checker when the value is a string.
fn alternatives_error(path: &[String], node: &Node, nav: &SchemaNav<'_>) -> Diagnostic {
    let key = dotted(path);
    let formats_here: Vec<String> = nav
        .at(path)
        .map(|schema| nav.formats(schema))
        .unwrap_or_default();
    if let Some(text) = node.as_str() {
        for format in &formats_here {
            if let Err(problem) = formats::check(format, text) {
                return Diagnostic::error(
                    code::FORMAT,
                    format!("`{key}`: {}{}", problem.message, from_env(node)),
                )
                .key(key)
                .at(node.origin.span(), "invalid value")
                .help(problem.help);
            }
        }
    }
    let want = expected(nav, path);
    type_mismatch(&key, node, &want).help(format!("write {want} here"))
}

/// Whole decimal numbers (`http_port = 5280.0`) where a key takes an integer. JSON Schema
/// counts `5280.0` as an integer, but serde and the Pod API (figment) refuse a float there.
pub fn whole_floats(tree: &Node, schema: &Structure, diagnostics: &mut Vec<Diagnostic>) {
    let nav = SchemaNav::new(schema);
    let mut path = Vec::new();
    whole_floats_at(tree, &mut path, &nav, diagnostics);
}

fn whole_floats_at(
    node: &Node,
    path: &mut Vec<String>,
    nav: &SchemaNav<'_, Structure>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match &node.value {
        Value::Table(table) => {
            for (key, child) in table {
                path.push(key.clone());
                whole_floats_at(child, path, nav, diagnostics);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(index.to_string());
                whole_floats_at(item, path, nav, diagnostics);
                path.pop();
            }
        }
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 => {
            let Some(schema) = nav.at(path) else { return };
            let kinds = nav.kinds(schema);
            if !kinds.integer || kinds.number {
                return;
            }
            let key = dotted(path);
            diagnostics.push(
                Diagnostic::error(
                    code::DECIMAL_INTEGER,
                    format!(
                        "`{key}` must be a whole number, found the decimal number `{f:?}`{}",
                        from_env(node)
                    ),
                )
                .key(key)
                .at(node.origin.span(), "decimal point")
                .help(format!("write it without the decimal point: `{f:.0}`")),
            );
        }
        _ => {}
    }
}

/// Domains Prosody serves (the VirtualHost and its federation whitelist): IDNA2003, as
/// Prosody reads them, must give the name IDNA2008 gives nginx and certificates.
fn prosody_domains(tree: &Node, diagnostics: &mut Vec<Diagnostic>) {
    let mut names: Vec<(String, &Node)> = Vec::new();
    if let Some(node) = tree.get_path(keys::SERVER_DOMAIN.path()) {
        names.push((keys::SERVER_DOMAIN.to_string(), node));
    }
    if let Some(Value::Array(items)) = tree
        .get_path(keys::FEDERATION_FRIENDLY_SERVERS.path())
        .map(|n| &n.value)
    {
        names.extend(
            items
                .iter()
                .map(|n| (keys::FEDERATION_FRIENDLY_SERVERS.to_string(), n)),
        );
    }
    for (key, node) in names {
        let Some(problem) = node.as_str().and_then(domains::idna2003_mismatch) else {
            continue;
        };
        diagnostics.push(
            Diagnostic::error(code::IDNA, format!("`{key}`: {}", problem.message))
                .key(key)
                .at(
                    node.origin.span(),
                    "read differently by IDNA2003 and IDNA2008",
                )
                .help(problem.help),
        );
    }
    if let Some(node) = tree.get_path(keys::SERVER_DOMAIN.path())
        && node.as_str() == Some(super::model::UPLOAD_HOST)
    {
        diagnostics.push(
            Diagnostic::error(
                code::RESERVED_DOMAIN,
                format!(
                    "`server.domain` cannot be `{}`: it is the host of the file upload component",
                    super::model::UPLOAD_HOST
                ),
            )
            .key(keys::SERVER_DOMAIN)
            .at(node.origin.span(), "a generated Component's host")
            .help("Prosody refuses a VirtualHost with a Component's name: write your own domain"),
        );
    }
}

/// Hostnames with a label that mixes scripts (`crisp.chаt`, a Cyrillic `а`): a warning, as a
/// name that looks like another one is more often a mistake or a trap than a choice.
fn mixed_scripts(tree: &Node, schema: &Structure, diagnostics: &mut Vec<Diagnostic>) {
    let nav = SchemaNav::new(schema);
    let mut check = |path: &[&str], node: &Node, text: &str| {
        let is_hostname = nav
            .at(path)
            .is_some_and(|s| nav.formats(s).iter().any(|f| f == "idn-hostname"));
        if !is_hostname {
            return;
        }
        for (label, scripts) in domains::mixed_script_labels(text) {
            let key = dotted(path);
            diagnostics.push(
                Diagnostic::warning(
                    code::MIXED_SCRIPT,
                    format!(
                        "`{key}`: the label `{}` of `{}` mixes scripts ({})",
                        formats::shown(&label),
                        formats::shown(text),
                        scripts.join(", ")
                    ),
                )
                .key(key)
                .at(node.origin.span(), "mixed scripts")
                .help(
                    "check every character: a letter of another script that looks the same \
                     makes a different domain (a homograph)",
                ),
            );
        }
    };
    // Only a string that can mix scripts is looked up in the schema (from its root, each
    // time): most values of a file are ASCII, and their lookups were 3 % of a `check`.
    fn may_mix(node: &Node) -> Option<&str> {
        node.as_str().filter(|t| domains::may_mix_scripts(t))
    }
    tree.for_each_leaf(&mut Vec::new(), &mut |path, node| match &node.value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(text) = may_mix(item) {
                    let index = i.to_string();
                    check(&[path, &[index.as_str()]].concat(), item, text);
                }
            }
        }
        _ => {
            if let Some(text) = may_mix(node) {
                check(path, node, text);
            }
        }
    });
}

/// Checks on what the user wrote, before computed defaults fill anything in.
pub fn explicit_checks(tree: &Node, diagnostics: &mut Vec<Diagnostic>) {
    prosody_domains(tree, diagnostics);
    mixed_scripts(tree, structure(), diagnostics);
    for key in [keys::SERVER_DOMAIN, keys::POD_DOMAIN] {
        if let Some(node) = tree.get_path(key.path())
            && let Some(value) = node.as_str()
            && let Some(problem) = formats::ip_literal_domain(value)
        {
            diagnostics.push(
                Diagnostic::error(code::FORMAT, format!("`{key}`: {}", problem.message))
                    .key(key)
                    .at(node.origin.span(), "not a domain name")
                    .help(problem.help),
            );
        }
    }
    if let Some(address) = tree.get_path(keys::POD_ADDRESS.path()) {
        let empty = address.as_table().is_some_and(|t| {
            !["domain", "ipv4", "ipv6"]
                .iter()
                .any(|k| t.contains_key(*k))
        });
        if empty && !matches!(address.origin, Origin::Default) {
            diagnostics.push(
                Diagnostic::error(code::POD_ADDRESS, "the pod address must contain at least an IPv4, an IPv6 or a domain")
                    .key(keys::POD_ADDRESS)
                    .at(address.key_span.or(address.origin.span()), "empty address")
                    .help("set `pod.address.domain`, `pod.address.ipv4` or `pod.address.ipv6`, or remove `pod.address` to use `prose.{server.domain}`"),
            );
        }
    }
}

/// Checks every computed default against its key's format: a value derived from another key
/// (`dashboard.url = "https://admin.prose.{server.domain}"`) can be invalid although the key
/// it comes from is valid (too long once prefixed). The error points at that key.
pub fn computed_values(tree: &Node, schema: &Structure, diagnostics: &mut Vec<Diagnostic>) {
    let nav = SchemaNav::new(schema);
    let mut found = Vec::new();
    tree.for_each_leaf(&mut Vec::new(), &mut |path, node| {
        let Origin::Computed { from } = &node.origin else {
            return;
        };
        let (Some(value), Some(schema)) = (node.as_str(), nav.at(path)) else {
            return;
        };
        let Some(problem) = nav
            .formats(schema)
            .iter()
            .find_map(|f| formats::check(f, value).err())
        else {
            return;
        };
        // Follow computed defaults back to the key the user wrote.
        let mut source = from.first().cloned().unwrap_or_default();
        for _ in 0..8 {
            let segments: Vec<&str> = source.split('.').collect();
            match tree.get_path(&segments).map(|n| &n.origin) {
                Some(Origin::Computed { from }) if !from.is_empty() => source = from[0].clone(),
                _ => break,
            }
        }
        found.push((dotted(path), value.to_owned(), source, problem));
    });
    for (key, value, source, problem) in found {
        if diagnostics
            .iter()
            .any(|d| d.key.as_deref() == Some(source.as_str()))
        {
            continue;
        }
        let segments: Vec<&str> = source.split('.').collect();
        let span = tree.get_path(&segments).and_then(|n| n.origin.span());
        diagnostics.push(
            Diagnostic::error(
                code::FORMAT,
                format!(
                    "`{source}` makes the default of `{key}` invalid: `{}`: {}",
                    formats::shown(&value),
                    problem.message
                ),
            )
            .key(source)
            .at(span, format!("`{key}` is derived from this"))
            .help(format!(
                "set `{key}` explicitly, or change this value ({})",
                problem.help
            )),
        );
    }
}

/// Checks across keys, on the effective tree (computed defaults included).
pub fn semantic(tree: &Node, diagnostics: &mut Vec<Diagnostic>) {
    let get = |path: &[&str]| tree.get_path(path);
    // Without a pod domain there is nothing to derive the dashboard URL from.
    if get(keys::DASHBOARD_URL.path()).is_none() && get(keys::POD_DOMAIN.path()).is_none() {
        let address = get(&["pod", "address", "ipv4"]).or(get(&["pod", "address", "ipv6"]));
        if let Some(address) = address {
            diagnostics.push(
                Diagnostic::error(code::DASHBOARD_URL_REQUIRED, "`dashboard.url` is required when the pod has no domain, only static IP addresses")
                    .key(keys::DASHBOARD_URL)
                    .at(address.origin.span(), "static address without a domain")
                    .help("add:\n[dashboard]\nurl = \"https://admin.example.org\""),
            );
        }
    }
    if let Some(url) = get(keys::DASHBOARD_URL.path())
        && let Some(Ok(parsed)) = url.as_str().map(formats::dashboard_url)
        && let Some(why) = formats::dashboard_served_elsewhere(&parsed)
    {
        let pod_domain = get(keys::POD_DOMAIN.path())
            .and_then(Node::as_str)
            .map(str::to_owned)
            .or_else(|| {
                get(keys::SERVER_DOMAIN.path())
                    .and_then(Node::as_str)
                    .map(|d| format!("prose.{d}"))
            })
            .unwrap_or_default();
        diagnostics.push(
            Diagnostic::warning(
                code::DASHBOARD_URL,
                format!(
                    "the generated nginx does not serve `dashboard.url` ({why}): it serves the \
                     Dashboard at `https://admin.{pod_domain}`"
                ),
            )
            .key(keys::DASHBOARD_URL)
            .at(url.origin.span(), "not served by nginx")
            .help(format!(
                "the Pod API writes `dashboard.url` into invitation and password-reset links: \
                 keep it for a pod used locally, or write `https://admin.{pod_domain}`"
            )),
        );
    }
    if let Some(domain) = get(keys::SERVER_DOMAIN.path()).and_then(Node::as_str)
        && let Ok(ascii) = formats::hostname(domain)
        && ascii.len() + "groups.".len() > 253
    {
        diagnostics.push(
            Diagnostic::error(
                code::FORMAT,
                "`server.domain` is too long to prefix with `groups.` (the chat rooms' host)",
            )
            .key(keys::SERVER_DOMAIN)
            .at(
                get(keys::SERVER_DOMAIN.path()).and_then(|n| n.origin.span()),
                "too long",
            )
            .help("use a domain of at most 246 characters"),
        );
    }
    if let Some(port) = get(keys::SERVER_HTTP_PORT.path())
        && matches!(port.value, Value::Integer(n) if n != 5280 && (1..=65535).contains(&n))
    {
        diagnostics.push(
            Diagnostic::warning(
                code::COMPATIBILITY,
                "the Pod Server (0.4.3 to 0.5.0) reaches Prosody's OAuth 2.0 endpoints at \
                 http://prose-pod-server:5280 whatever `server.http_port` says: logins will fail",
            )
            .key(keys::SERVER_HTTP_PORT)
            .at(port.origin.span(), "Prosody listens here, not on 5280")
            .help("keep 5280: the port is published on 127.0.0.1 only, for nginx"),
        );
    }
    if let Some(Value::Table(storage)) = get(&["backups", "storage"]).map(|n| &n.value) {
        backup_directories(storage, diagnostics);
    }
    federation_warnings(tree, diagnostics);
    prosody_options(tree, diagnostics);
}

/// The Pod Server refuses to store backups inside what it backs up.
fn backup_directories(
    storage: &indexmap::IndexMap<String, Node>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let targets = [("", storage.get("fs"))].into_iter().chain(
        ["backups", "checks"].map(|t| (t, storage.get(t).and_then(|n| n.get_path(&["fs"])))),
    );
    for (target, fs) in targets {
        let Some(directory) = fs.and_then(|fs| fs.get_path(&["directory"])) else {
            continue;
        };
        let Some(path) = directory.as_str() else {
            continue;
        };
        let inside = crate::config::backups::BACKED_UP.iter().find(|dir| {
            let path = path.trim_end_matches('/');
            path == **dir || path.starts_with(&format!("{dir}/"))
        });
        if let Some(dir) = inside {
            let key = if target.is_empty() {
                "backups.storage.fs.directory".to_owned()
            } else {
                format!("backups.storage.{target}.fs.directory")
            };
            diagnostics.push(
                Diagnostic::error(
                    code::COMPATIBILITY,
                    format!(
                        "`{key}` is `{}`, inside `{dir}`: the Pod Server backs that up itself and refuses to start",
                        formats::shown(path)
                    ),
                )
                .key(key)
                .at(directory.origin.span(), "backed up itself")
                .help("store backups outside /var/lib/prose-pod-server, /var/lib/prosody, /etc/prose and /etc/prosody"),
            );
        }
    }
}

fn federation_warnings(tree: &Node, diagnostics: &mut Vec<Diagnostic>) {
    let flag = |key: &str| tree.get_path(&["server", "defaults", key]);
    let is_true = |n: Option<&Node>| n.is_some_and(|n| n.value == Value::Bool(true));
    let whitelist = flag("federation_whitelist_enabled");
    if is_true(whitelist) && !is_true(flag("federation_enabled")) {
        diagnostics.push(
            Diagnostic::warning(code::NO_EFFECT, "`server.defaults.federation_whitelist_enabled` has no effect while federation is disabled")
                .key(keys::FEDERATION_WHITELIST_ENABLED)
                .at(whitelist.and_then(|n| n.origin.span()), "ignored")
                .help("set `federation_enabled = true` to federate with the whitelisted servers"),
        );
    }
    let friends = flag("federation_friendly_servers");
    let listed = friends.is_some_and(|n| matches!(&n.value, Value::Array(a) if !a.is_empty()));
    if listed && is_true(flag("federation_enabled")) && !is_true(whitelist) {
        diagnostics.push(
            Diagnostic::warning(code::NO_EFFECT, "friendly servers are listed but the whitelist is disabled: the server federates with the entire XMPP network")
                .key(keys::FEDERATION_FRIENDLY_SERVERS)
                .at(friends.and_then(|n| n.origin.span()), "not enforced")
                .help("set `federation_whitelist_enabled = true` to federate only with these servers"),
        );
    }
}

/// `component_module` under `prosody.<host>.defaults|overrides`. (Options the Pod API does not
/// know are left out of the installed prose.toml, and so of Prosody's configuration, with a
/// warning: `containers::route`.)
fn prosody_options(tree: &Node, diagnostics: &mut Vec<Diagnostic>) {
    let Some(hosts) = tree.get_path(keys::PROSODY.path()).and_then(Node::as_table) else {
        return;
    };
    for (host, tables) in hosts {
        for part in ["defaults", "overrides"] {
            let Some(options) = tables.get_path(&[part]).and_then(Node::as_table) else {
                continue;
            };
            for (name, value) in options {
                if name == "component_module" {
                    let key = dotted(&["prosody", host, part, name]);
                    diagnostics.push(
                        Diagnostic::error(
                            code::PROSODY_SECTION_KIND,
                            "`component_module` would turn a generated section into another \
                             kind (a VirtualHost into a Component)",
                        )
                        .key(key)
                        .at(
                            value.key_span.or(value.origin.span()),
                            "changes the section's kind",
                        )
                        .help(
                            "remove it: the sections Prose generates are fixed (the VirtualHost \
                             `server.domain`, the Components `groups.<domain>` and \
                             `upload.prose.local`)",
                        ),
                    );
                    continue;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The generated validator and one compiled at run time from the schema editors read must
    /// agree on what is valid. (`tests/cases/check/` adds every bad input of the corpus.)
    /// The committed schema compiled at run time, as an editor's validator reads it (with the
    /// formats' patterns), with the same format checkers as the built-in one.
    fn compile_at_run_time() -> jsonschema::Validator {
        let mut options = jsonschema::options().should_validate_formats(true);
        for format in formats::FORMATS {
            let check = format.check;
            options = options.with_format(format.name, move |v: &str| check(v).is_ok());
        }
        options
            .build(crate::config::schema::schema_cached())
            .expect("schema compiles")
    }

    #[test]
    fn the_built_in_validator_agrees_with_one_compiled_at_run_time() {
        let runtime = compile_at_run_time();
        let instances = [
            json!({"server": {"domain": "crisp.chat"}}),
            json!({}),
            json!({"server": {}}),
            json!({"serverr": {"domain": "crisp.chat"}}),
            json!({"server": {"domain": "Crisp.Chat", "http_port": "80"}}),
            json!({"server": {"domain": "-bad-.org", "log_level": "loud"}}),
            json!({"server": {"domain": "crisp.chat"}, "api": {"default_response_timeout": "20s"}}),
            json!({"server": {"domain": "crisp.chat"}, "notifiers": {"email": {"smtp_host": "mail.crisp.chat", "smtp_port": 70000, "pod_address": "no at sign"}}}),
            json!({"server": {"domain": "crisp.chat"}, "dashboard": {"url": "ftp://x"}, "pod": {"address": {"ipv4": "1.2.3", "ipv6": "::g"}}}),
            json!({"server": {"domain": "crisp.chat", "defaults": {"message_archive_retention": "forever-ish"}}}),
            json!({"server": {"domain": "crisp.chat"}, "prosody": {"not a host": {}}}),
            json!({"server": {"domain": "crisp.chat"}, "prosody": {"global": {"overrides": {"os.execute": 1}}}}),
            json!({"server": {"domain": "crisp.chat"}, "prosody": {"global": {"overrides": {"max_archive_query_results": 1}}}}),
        ];
        for instance in &instances {
            assert_eq!(
                ConfigSchema::is_valid(instance),
                runtime.is_valid(instance),
                "{instance}"
            );
            // The errors it lists (to explain) and its verdict agree.
            assert_eq!(
                ConfigSchema::iter_errors(instance).next().is_none(),
                ConfigSchema::is_valid(instance),
                "{instance}"
            );
        }
        assert!(ConfigSchema::is_valid(&instances[0]));
        assert!(!ConfigSchema::is_valid(&instances[4]));
        assert!(!ConfigSchema::is_valid(&instances[10]));
    }
}
