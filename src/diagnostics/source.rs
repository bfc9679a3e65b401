//! The texts configuration values come from (files, env files, the environment, `--set`),
//! and spans into them. Every value keeps a span, so every diagnostic can show its line.

use std::ops::Range;

/// What kind of text a source is: decides how `explain` and diagnostics describe an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A `prose.toml`.
    File,
    /// A dotenv file (`prose.env` beside the config, or `--env-file`).
    EnvFile,
    /// The process environment, shown as `NAME=value` lines.
    Environment,
    /// `--set` arguments, one per line.
    CommandLine,
}

#[derive(Debug, Clone)]
pub struct Source {
    /// Display name: the path as given, `<environment>` or `<command line>`.
    pub name: String,
    pub kind: SourceKind,
    pub text: String,
}

/// All sources of one compilation, indexed by [`SourceId`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    sources: Vec<Source>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(pub usize);

/// A byte range in one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub source: SourceId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(source: SourceId, range: Range<usize>) -> Self {
        Span {
            source,
            start: range.start,
            end: range.end,
        }
    }

    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

impl Sources {
    pub fn add(&mut self, name: impl Into<String>, kind: SourceKind, text: String) -> SourceId {
        self.sources.push(Source {
            name: name.into(),
            kind,
            text,
        });
        SourceId(self.sources.len() - 1)
    }

    /// Replaces a source's text (used to store the secret-masked text once it is known).
    pub fn set_text(&mut self, id: SourceId, text: String) {
        self.sources[id.0].text = text;
    }

    pub fn get(&self, id: SourceId) -> &Source {
        &self.sources[id.0]
    }

    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &Source)> {
        self.sources
            .iter()
            .enumerate()
            .map(|(i, s)| (SourceId(i), s))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let text = &self.get(span.source).text;
        let offset = span.start.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// `name:line:col`, the form editors and terminals link.
    pub fn describe(&self, span: Span) -> String {
        let (line, col) = self.line_col(span);
        format!("{}:{line}:{col}", self.get(span.source).name)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
