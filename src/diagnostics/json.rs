//! Diagnostics as JSON (`--format json`).

use serde::Serialize;

use super::source::Sources;
use super::{Code, Diagnostic, Severity};

/// One diagnostic as JSON (`--format json`): its place resolved to file, line and column.
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub key: Option<String>,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub label: Option<String>,
    pub help: Option<String>,
}

/// One diagnostic as JSON: `line` and `column` as [`super::source::line_col`] defines them (the
/// human rendering shows the same numbers); secret values scrubbed from the texts.
pub fn to_json(d: &Diagnostic, sources: &Sources) -> JsonDiagnostic {
    let place = d
        .span
        .map(|s| (sources.get(s.source).name.clone(), sources.line_col(s)));
    let (file, line, column) = match place {
        Some((file, (line, column))) => (Some(file), Some(line), Some(column)),
        None => (None, None, None),
    };
    JsonDiagnostic {
        severity: d.severity,
        code: d.code,
        message: sources.scrub(&d.message),
        key: d.key.clone(),
        file,
        line,
        column,
        label: d.label.as_deref().map(|l| sources.scrub(l)),
        help: d.help.as_deref().map(|h| sources.scrub(h)),
    }
}

/// Every diagnostic as JSON.
pub fn all_to_json(diagnostics: &[Diagnostic], sources: &Sources) -> Vec<JsonDiagnostic> {
    diagnostics.iter().map(|d| to_json(d, sources)).collect()
}
