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
        message: d.message.clone(),
        key: d.key.clone(),
        file,
        line,
        column,
        label: d.label.clone(),
        help: d.help.clone(),
    }
}

/// Every diagnostic as JSON.
pub fn all_to_json(diagnostics: &[Diagnostic], sources: &Sources) -> Vec<JsonDiagnostic> {
    diagnostics.iter().map(|d| to_json(d, sources)).collect()
}
