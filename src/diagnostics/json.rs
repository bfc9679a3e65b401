//! Diagnostics as JSON (`--format json`).

use serde::Serialize;

use super::source::Sources;
use super::{Diagnostic, Severity};

/// One diagnostic as JSON (`--format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub severity: Severity,
    pub code: &'a str,
    pub message: &'a str,
    pub key: Option<&'a str>,
    pub file: Option<&'a str>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub label: Option<&'a str>,
    pub help: Option<&'a str>,
}

pub fn to_json<'a>(d: &'a Diagnostic, sources: &'a Sources) -> JsonDiagnostic<'a> {
    let place = d
        .span
        .map(|s| (sources.get(s.source).name.as_str(), sources.line_col(s)));
    JsonDiagnostic {
        severity: d.severity,
        code: d.code,
        message: &d.message,
        key: d.key.as_deref(),
        file: place.map(|p| p.0),
        line: place.map(|p| p.1.0),
        column: place.map(|p| p.1.1),
        label: d.label.as_deref(),
        help: d.help.as_deref(),
    }
}

