//! The texts configuration values come from (files, env files, the environment, `--set`),
//! and spans into them. Every value keeps a span, so every diagnostic can show its line.

use std::ops::Range;

/// Longest message, label or help printed, in characters.
pub const MAX_SHOWN_TEXT: usize = 4_000;

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

/// All sources of one compilation, indexed by [`SourceId`], and the secret values masked in
/// them (which no message may quote either).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    sources: Vec<Source>,
    secrets: super::Secrets,
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

    /// Remembers secret values found while masking a source.
    pub fn add_secrets(&mut self, secrets: &super::Secrets) {
        self.secrets.extend(secrets);
    }

    /// A message, label or help text as it may be printed: every known secret value replaced,
    /// and cut after [`MAX_SHOWN_TEXT`] characters (a name quoted in a message is shortened
    /// where the message is made; this bounds whatever was not).
    pub fn scrub(&self, text: &str) -> String {
        let text = self.secrets.scrub(text);
        match text.char_indices().nth(MAX_SHOWN_TEXT) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
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

    /// 1-based line and column of a span's start: see [`line_col`].
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        line_col(&self.get(span.source).text, span.start)
    }

    /// `name:line:col`, the form editors and terminals link.
    pub fn describe(&self, span: Span) -> String {
        let (line, col) = self.line_col(span);
        format!("{}:{line}:{col}", self.get(span.source).name)
    }
}

/// The one definition of a place in a text, for every output (the human rendering's
/// `file:line:col` and `--format json`'s `line`/`column`): the 1-based line (lines end at `\n`)
/// and the 1-based column counted in characters (Unicode scalar values), as editors count them,
/// not in bytes. An offset inside a character counts as that character.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "a = 1\nnom = \"Zoë Ünïcødé\" # é\n";
        let at = text.find('#').unwrap();
        assert_eq!(line_col(text, at), (2, 21));
        assert_eq!(line_col(text, 0), (1, 1));
        // Inside a character: that character.
        let e = text.find('ë').unwrap();
        assert_eq!(line_col(text, e + 1), line_col(text, e));
    }
}
