//! Limits on what one pod's input may hold, so that a hostile or broken input (a 10 MB file,
//! 10,000 nested tables, 100,000 keys, a megabyte-long string, thousands of variables) is
//! refused quickly, with a diagnostic that names the limit and how to get under it, instead of
//! exhausting memory or time. A real `prose.toml` is a few kilobytes: each limit is orders of
//! magnitude above what a pod needs.
//!
//! The loader calls these at a few points (see `load.rs`, `parse.rs`): reading a file, after
//! parsing the env files and gathering `--set`, after merging the layers, and before handing
//! the diagnostics back.

use std::path::Path;

use crate::diagnostics::source::{SourceId, SourceKind, Sources, Span};
use crate::diagnostics::{Diagnostic, Severity};
use crate::provenance::{Node, Value, dotted};

/// Largest `prose.toml` read (1 MiB).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Largest env file (`prose.env`, `--env-file`) read (1 MiB).
pub const MAX_ENV_FILE_BYTES: u64 = 1 << 20;
/// Deepest nesting of tables and arrays (the root table is level 0).
pub const MAX_DEPTH: usize = 32;
/// Most values (table keys and array items, all levels) in the merged configuration.
pub const MAX_VALUES: usize = 10_000;
/// Longest string value or key, in bytes (64 KiB).
pub const MAX_STRING_BYTES: usize = 64 << 10;
/// Most assignments from one env file, from the process environment (`PROSE_*`), or `--set`.
pub const MAX_ENTRIES: usize = 1_000;
/// Most diagnostics reported for one pod; the rest are counted in a last diagnostic.
pub const MAX_DIAGNOSTICS: usize = 100;

/// The diagnostic code of every limit.
pub const CODE: crate::diagnostics::Code = crate::diagnostics::code::LIMIT;

fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// The diagnostic for a file over its size limit; adds a source showing its first line.
pub fn file_too_large(
    path: &Path,
    kind: SourceKind,
    size: Option<u64>,
    first_line: String,
    sources: &mut Sources,
) -> Diagnostic {
    let limit = match kind {
        SourceKind::EnvFile => MAX_ENV_FILE_BYTES,
        _ => MAX_CONFIG_BYTES,
    };
    let what = match kind {
        SourceKind::EnvFile => "env file",
        _ => "configuration file",
    };
    let end = first_line.len();
    let id = sources.add(path.display().to_string(), kind, first_line);
    let message = match size {
        Some(size) => format!(
            "the {what} is {} ({size} bytes), more than the limit of {}",
            human_size(size),
            human_bytes(limit)
        ),
        None => format!(
            "the {what} holds more than the limit of {} (it is not a regular file)",
            human_bytes(limit)
        ),
    };
    Diagnostic::error(CODE, message)
        .at(Some(Span::new(id, 0..end)), "this file is too large")
        .help(format!(
            "a pod's {what} is a few kilobytes: check that `{}` is the right file, and move \
         anything else out of it",
            path.display()
        ))
}

fn human_size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1 << 20))
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / f64::from(1 << 10))
    } else {
        format!("{n} bytes")
    }
}

/// Refuses more than [`MAX_ENTRIES`] assignments from one source: an error at the first one
/// over the limit, and none of them is used (each would cost a diagnostic or a lookup). `what` names the source ("the env file").
pub fn check_entries<T>(
    entries: &mut Vec<T>,
    what: &str,
    span_of: impl Fn(&T) -> Option<Span>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if entries.len() <= MAX_ENTRIES {
        return;
    }
    let extra = &entries[MAX_ENTRIES];
    diagnostics.push(
        Diagnostic::error(
            CODE,
            format!(
                "{what} has {} assignments, more than the limit of {MAX_ENTRIES}",
                entries.len()
            ),
        )
        .at(span_of(extra), format!("assignment {}", MAX_ENTRIES + 1))
        .help(format!(
            "a pod has a few hundred keys at most: keep only the assignments it needs in {what} \
             (none of them is used until then)"
        )),
    );
    entries.clear();
}

/// Checks the depth, the number of values and the length of every string and key of a
/// (merged) configuration tree. Returns `false`, with one diagnostic per limit exceeded (at
/// the first place it is), when the tree must not be processed further.
pub fn check_tree(root: &Node, diagnostics: &mut Vec<Diagnostic>) -> bool {
    let mut walk = Walk::default();
    walk.node(root, &mut Vec::new());
    let mut ok = true;
    if let Some((path, span)) = walk.too_deep {
        ok = false;
        diagnostics.push(
            Diagnostic::error(
                CODE,
                format!("the configuration nests deeper than the limit of {MAX_DEPTH} levels"),
            )
            .key(path)
            .at(span, format!("level {}", MAX_DEPTH + 1))
            .help(
                "Prose's deepest keys are a few levels deep: flatten the tables, or check \
                 that the file is the pod's configuration",
            ),
        );
    }
    if walk.values > MAX_VALUES {
        ok = false;
        let (path, span) = walk.over_count.clone().unwrap_or_default();
        diagnostics.push(
            Diagnostic::error(
                CODE,
                format!(
                    "the configuration holds {} values (keys and array items), more than the \
                     limit of {MAX_VALUES}",
                    walk.values
                ),
            )
            .key(path)
            .at(span, format!("value {}", MAX_VALUES + 1))
            .help(
                "a pod has a few hundred keys at most: remove what the pod does not need \
                 (unknown keys are reported once the file is under the limit)",
            ),
        );
    }
    if let Some((path, span, len, is_key)) = walk.too_long {
        ok = false;
        let what = if is_key { "a key" } else { "a string" };
        diagnostics.push(
            Diagnostic::error(
                CODE,
                format!(
                    "{what} is {} long, more than the limit of {}",
                    human_size(len as u64),
                    human_bytes(MAX_STRING_BYTES as u64)
                ),
            )
            .key(path)
            .at(span, format!("{len} bytes"))
            .help(
                "no Prose setting needs a string this long: shorten it, or check that the \
                 right value was pasted",
            ),
        );
    }
    ok
}

#[derive(Default)]
struct Walk {
    values: usize,
    too_deep: Option<(String, Option<Span>)>,
    over_count: Option<(String, Option<Span>)>,
    too_long: Option<(String, Option<Span>, usize, bool)>,
}

impl Walk {
    fn node(&mut self, node: &Node, path: &mut Vec<String>) {
        if path.len() > MAX_DEPTH {
            if self.too_deep.is_none() {
                let span = node.key_span.or_else(|| node.origin.span());
                self.too_deep = Some((shown_path(path), span));
            }
            return;
        }
        match &node.value {
            Value::Table(table) => {
                for (key, child) in table {
                    self.value(child, path);
                    if key.len() > MAX_STRING_BYTES && self.too_long.is_none() {
                        let span = child.key_span.or_else(|| child.origin.span());
                        self.too_long = Some((shown_path(path), span, key.len(), true));
                    }
                    path.push(key.clone());
                    self.node(child, path);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (n, item) in items.iter().enumerate() {
                    self.value(item, path);
                    path.push(n.to_string());
                    self.node(item, path);
                    path.pop();
                }
            }
            Value::String(s) if s.len() > MAX_STRING_BYTES && self.too_long.is_none() => {
                self.too_long = Some((shown_path(path), node.origin.span(), s.len(), false));
            }
            _ => {}
        }
    }

    fn value(&mut self, child: &Node, path: &[String]) {
        self.values += 1;
        if self.values == MAX_VALUES + 1 {
            let span = child.key_span.or_else(|| child.origin.span());
            self.over_count = Some((shown_path(path), span));
        }
    }
}

/// A dotted path for a diagnostic, shortened when it is itself absurdly long.
fn shown_path(path: &[String]) -> String {
    let short: Vec<String> = path
        .iter()
        .take(8)
        .map(|k| crate::diagnostics::shortened(k, 40).into_owned())
        .collect();
    let mut text = dotted(&short);
    if path.len() > short.len() {
        text.push_str(&format!(".….({} levels)", path.len()));
    }
    text
}

/// The TOML parser's own recursion limit (hit by thousands of nested tables, arrays or
/// dotted keys) comes as an error without a useful place. Returns the limit diagnostic, at the
/// line that nests deepest, for such a parser error; `None` for any other error.
pub fn parser_recursion(
    message: &str,
    span: Option<std::ops::Range<usize>>,
    text: &str,
    source: SourceId,
) -> Option<Diagnostic> {
    if !message.contains("recursion") && !message.contains("recurse") {
        return None;
    }
    let range = span
        .filter(|r| r.start < text.len())
        .map(|r| line_of(text, r.start))
        .unwrap_or_else(|| deepest_line(text));
    Some(
        Diagnostic::error(
            CODE,
            format!(
                "the configuration nests deeper than the limit of {MAX_DEPTH} levels (the TOML \
                 parser stopped)"
            ),
        )
        .at(Some(Span::new(source, range)), "nested too deeply")
        .help(
            "Prose's deepest keys are a few levels deep: flatten the tables, or check that \
             the file is the pod's configuration",
        ),
    )
}

/// The byte range of the line holding `at` (at most 200 bytes of it).
fn line_of(text: &str, at: usize) -> std::ops::Range<usize> {
    let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    start..clip(text, start, end)
}

fn clip(text: &str, start: usize, end: usize) -> usize {
    let mut end = end.min(start + 200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// The line with the most nesting punctuation (`.`, `[`, `{` outside quotes).
fn deepest_line(text: &str) -> std::ops::Range<usize> {
    let mut best = (0, 0..0);
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let mut depth = 0;
        let mut quote = None;
        for c in line.chars() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '#') => break,
                (None, '.' | '[' | '{') => depth += 1,
                _ => {}
            }
        }
        if depth > best.0 {
            let end = offset + line.trim_end_matches(['\n', '\r']).len();
            best = (depth, offset..clip(text, offset, end));
        }
        offset += line.len();
    }
    best.1
}

/// Keeps the first [`MAX_DIAGNOSTICS`] diagnostics (already in source order) and replaces the
/// rest with one that counts them (an error if any of them was). Rendering a diagnostic shows
/// its source, so thousands of them on a large file would take minutes.
pub fn cap_diagnostics(diagnostics: &mut Vec<Diagnostic>) {
    if diagnostics.len() <= MAX_DIAGNOSTICS {
        return;
    }
    // The limits' own diagnostics explain everything else: they are always kept, in place.
    let room =
        MAX_DIAGNOSTICS.saturating_sub(diagnostics.iter().filter(|d| d.code == CODE).count());
    let (mut kept, mut rest) = (0, Vec::new());
    diagnostics.retain(|d| {
        if d.code == CODE || kept < room {
            kept += usize::from(d.code != CODE);
            return true;
        }
        rest.push(d.is_error());
        false
    });
    if rest.is_empty() {
        return;
    }
    let errors = rest.iter().filter(|e| **e).count();
    let mut summary = Diagnostic::error(
        CODE,
        format!(
            "{} more diagnostics ({errors} errors) not shown: only the first {MAX_DIAGNOSTICS} \
             are reported",
            rest.len()
        ),
    )
    .help("fix the problems above and run again to see the next ones");
    if errors == 0 {
        summary.severity = Severity::Warning;
    }
    diagnostics.push(summary);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse::parse_toml;

    fn parse(text: &str) -> Node {
        parse_toml(text, SourceId(0), &mut Vec::new()).expect("valid TOML")
    }

    #[test]
    fn depth_limit_points_at_the_first_key_too_deep() {
        let text = format!("[{}]\nx = 1\n", vec!["a"; MAX_DEPTH + 5].join("."));
        let mut diags = Vec::new();
        assert!(!check_tree(&parse(&text), &mut diags));
        assert_eq!(diags.len(), 1);
        let span = diags[0].span.unwrap();
        // The 33rd `a` of the header: at byte 1 + 2 * 32.
        assert_eq!(span.start, 1 + 2 * MAX_DEPTH);
        let ok = format!("[{}]\nx = 1\n", vec!["a"; MAX_DEPTH - 1].join("."));
        assert!(check_tree(&parse(&ok), &mut Vec::new()));
    }

    #[test]
    fn value_and_string_limits() {
        let many: String = (0..=MAX_VALUES).map(|i| format!("k{i} = {i}\n")).collect();
        let mut diags = Vec::new();
        assert!(!check_tree(&parse(&many), &mut diags));
        assert!(diags[0].message.contains("10001 values"), "{diags:?}");
        let at = diags[0].span.unwrap().start;
        assert!(many[at..].starts_with(&format!("k{MAX_VALUES} ")));

        let long = format!("s = \"{}\"\n", "x".repeat(MAX_STRING_BYTES + 1));
        let mut diags = Vec::new();
        assert!(!check_tree(&parse(&long), &mut diags));
        assert!(
            diags[0].message.contains("a string is 64.0 KiB"),
            "{diags:?}"
        );
        let fits = format!("s = \"{}\"\n", "x".repeat(MAX_STRING_BYTES));
        assert!(check_tree(&parse(&fits), &mut Vec::new()));
    }

    #[test]
    fn parser_recursion_gets_the_deepest_line() {
        let text = format!("a = 1\n[{}]\n", vec!["b"; 5000].join("."));
        let d = parser_recursion("recursion limit", None, &text, SourceId(0)).unwrap();
        assert_eq!(d.span.unwrap().start, 6);
        assert!(parser_recursion("expected `=`", None, &text, SourceId(0)).is_none());
    }

    #[test]
    fn diagnostics_are_capped_with_a_count() {
        let mut diags: Vec<Diagnostic> = (0..150)
            .map(|i| Diagnostic::warning(crate::diagnostics::code::SCHEMA, format!("w{i}")))
            .collect();
        diags.push(Diagnostic::error(crate::diagnostics::code::SCHEMA, "e"));
        cap_diagnostics(&mut diags);
        assert_eq!(diags.len(), MAX_DIAGNOSTICS + 1);
        assert!(diags[MAX_DIAGNOSTICS].is_error());
        assert!(diags[MAX_DIAGNOSTICS].message.contains("51 more"));
    }
}
