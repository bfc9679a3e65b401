//! Diagnostics: what went wrong, where (a span in a source), and how to fix it.
//!
//! Stages produce plain [`Diagnostic`] values; this module sorts and deduplicates them and
//! renders them for a terminal (miette) or as JSON. Secrets are masked in every source text
//! before it is shown, so a label on a password line never prints the password.

pub mod code;
mod json;
mod render;
mod secrets;
pub mod source;

use serde::Serialize;

pub use code::Code;
pub use json::{JsonDiagnostic, all_to_json, to_json};
pub use render::{RenderOptions, render_human};
pub use secrets::{
    REDACTED, Secrets, is_secret_key, looks_secret, mask_line_after, mask_range, mask_secret_lines,
    mask_toml_text, redact_line,
};
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
    /// Stable identifier, e.g. `unknown-key`, `type`, `format` (see [`code`]).
    pub code: Code,
    pub message: String,
    /// The configuration key concerned, dotted (`server.defaults.tls_profile`).
    pub key: Option<String>,
    pub span: Option<Span>,
    /// Text of the label under the span.
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
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

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
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

/// The result of a stage that reports every problem it finds, not just the first.
pub type Diagnosed<T> = Result<T, Vec<Diagnostic>>;

/// Runs every step and gathers their values; if any step fails, the diagnostics of all the
/// failed steps (so one pass reports everything).
pub fn collect<T, I>(steps: impl IntoIterator<Item = Diagnosed<I>>) -> Diagnosed<Vec<T>>
where
    I: IntoIterator<Item = T>,
{
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for step in steps {
        match step {
            Ok(more) => values.extend(more),
            Err(more) => errors.extend(more),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// `text` for a message, cut after `max_chars` characters (with `…`) when it is longer: a
/// key or a path from hostile input can be as long as its file.
pub fn shortened(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]).into(),
        None => text.into(),
    }
}

/// Runs every check; the diagnostics of all that failed.
pub fn check_all(checks: impl IntoIterator<Item = Diagnosed<()>>) -> Diagnosed<()> {
    collect(checks.into_iter().map(|check| check.map(|()| None::<()>))).map(drop)
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

#[cfg(test)]
mod tests {
    use super::shortened;

    #[test]
    fn shortened_cuts_characters_not_bytes() {
        assert_eq!(shortened("abc", 3), "abc");
        assert_eq!(shortened("abcd", 3), "abc…");
        assert_eq!(shortened("", 0), "");
        // Three characters in nine bytes: nothing is cut, so no `…`.
        assert_eq!(shortened("ééé", 3), "ééé");
        assert_eq!(shortened("éééé", 3), "ééé…");
    }
}
