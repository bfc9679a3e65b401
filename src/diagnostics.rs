//! Diagnostics: what went wrong, where (a span in a source), and how to fix it.
//!
//! Stages produce plain [`Diagnostic`] values; this module sorts and deduplicates them and
//! renders them for a terminal (miette) or as JSON. Secrets are masked in every source text
//! before it is shown, so a label on a password line never prints the password.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;

use crate::config::source::{Sources, Span};

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

/// Whether a key holds a secret that must never be printed.
pub fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    last != "min_password_length"
        && (last.contains("secret") || last.contains("password") || last.contains("key"))
}

/// How diagnostics are shown on a terminal.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub color: bool,
    pub width: usize,
}

/// Renders diagnostics for a terminal, each as miette draws it.
pub fn render_human(
    diagnostics: &[Diagnostic],
    sources: &Sources,
    options: RenderOptions,
) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let rendered = to_miette(diagnostic, sources);
        if handler.render_report(&mut out, &rendered).is_err() {
            out.push_str(&diagnostic.message);
        }
        out.push('\n');
    }
    out
}

/// A diagnostic with its (masked) source text, in the form miette renders.
#[derive(Debug)]
struct Rendered {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    label: Option<LabeledSpan>,
    source: Option<NamedSource<String>>,
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.label
            .clone()
            .map(|l| Box::new(std::iter::once(l)) as _)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
}

fn to_miette(d: &Diagnostic, sources: &Sources) -> Rendered {
    let source = d.span.map(|span| {
        let source = sources.get(span.source);
        NamedSource::new(&source.name, source.text.clone())
    });
    Rendered {
        message: d.message.clone(),
        code: format!("prose::{}", d.code),
        severity: match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        },
        help: d.help.clone(),
        label: d
            .span
            .map(|span| LabeledSpan::new_with_span(d.label.clone(), span.range())),
        source,
    }
}

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
