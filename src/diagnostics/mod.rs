//! Diagnostics: what went wrong, where (a span in a source), and how to fix it.
//!
//! Stages produce plain [`Diagnostic`] values; this module sorts and deduplicates them and
//! renders them for a terminal (miette) or as JSON. Secrets are masked in every source text
//! before it is shown, so a label on a password line never prints the password.

mod json;
mod render;
mod secrets;
pub mod source;

use serde::Serialize;

pub use json::{JsonDiagnostic, to_json};
pub use render::{RenderOptions, render_human};
pub use secrets::{is_secret_key, mask_range};
use source::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier, e.g. `unknown-key`, `type`, `format`.
    pub code: &'static str,
    pub message: String,
    /// The configuration key concerned, dotted (`server.defaults.tls_profile`).
    pub key: Option<String>,
    pub span: Option<Span>,
    /// Text of the label under the span.
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            key: None,
            span: None,
            label: None,
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn at(mut self, span: Option<Span>, label: impl Into<String>) -> Self {
        self.span = span;
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics in source order (errors of one place before warnings) and drops repeats.
pub fn normalize(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        let place = |d: &Diagnostic| d.span.map(|s| (s.source.0, s.start, s.end));
        (place(a).is_none(), place(a), a.severity, &a.message).cmp(&(
            place(b).is_none(),
            place(b),
            b.severity,
            &b.message,
        ))
    });
    diagnostics.dedup_by(|a, b| a.span == b.span && a.message == b.message);
}

