//! Provenance: every configuration value remembers which layer set it and where (a span in a
//! file, an environment variable, `--set`, a preset, a computed default), and what it replaced.
//! This is what diagnostics point at and what `explain` and `audit` print.

mod tree;

use serde::Serialize;

pub use tree::{FOREIGN_MARKER, Node, Overridden, Value, dotted, owned};

use crate::diagnostics::source::{SourceKind, Sources, Span};

/// Where a value was set.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A built-in default of the model (or a built-in preset's table).
    Default,
    /// A vendor analytics preset: `name` set it, `chain` is how the selected preset reached it
    /// (e.g. `["lgpd", "gdpr"]`); `at` is where the preset's value was written, if in a file.
    Preset {
        name: String,
        chain: Vec<String>,
        at: Option<Span>,
    },
    /// A `prose.toml`.
    File(Span),
    /// An environment variable, from the process environment or an env file.
    Env { var: String, span: Span },
    /// A `--set` argument.
    Set(Span),
    /// A default computed from other keys, e.g. `pod.address.domain` from `server.domain`.
    Computed { from: Vec<String> },
}

impl Origin {
    /// The span to point a diagnostic at, if the value was written somewhere.
    pub fn span(&self) -> Option<Span> {
        match self {
            Origin::File(span) | Origin::Set(span) | Origin::Env { span, .. } => Some(*span),
            Origin::Preset { at, .. } => *at,
            Origin::Default | Origin::Computed { .. } => None,
        }
    }
}

/// Where a value was set, in words and as data.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OriginInfo {
    /// `default`, `preset`, `file`, `env`, `set` or `computed`.
    pub layer: &'static str,
    /// Human description: `prose.toml:12:1`, `env PROSE_LOG__LEVEL (prose.env:3)`, …
    pub description: String,
}

pub fn describe_origin(origin: &Origin, sources: &Sources) -> OriginInfo {
    let (layer, description) = match origin {
        Origin::Default => ("default", "built-in default".to_owned()),
        Origin::Preset { name, chain, at } => {
            let mut text = format!("preset `{name}`");
            if !chain.is_empty() {
                text += &format!(" (inherited via `{}`)", chain.join("` -> `"));
            }
            if let Some(span) = at {
                text += &format!(", defined at {}", sources.describe(*span));
            }
            ("preset", text)
        }
        Origin::File(span) => ("file", sources.describe(*span)),
        Origin::Env { var, span } => {
            let source = sources.get(span.source);
            let place = match source.kind {
                SourceKind::Environment => "process environment".to_owned(),
                _ => {
                    let (line, _) = sources.line_col(*span);
                    format!("{}:{line}", source.name)
                }
            };
            ("env", format!("env {var} ({place})"))
        }
        Origin::Set(_) => ("set", "--set".to_owned()),
        Origin::Computed { from } => ("computed", format!("computed from `{}`", from.join("`, `"))),
    };
    OriginInfo { layer, description }
}
