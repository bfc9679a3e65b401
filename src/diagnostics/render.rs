//! Diagnostics for a terminal, drawn by miette from an excerpt of their (masked) source.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use super::source::Sources;
use super::{Diagnostic, Severity};

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
    // Lines break at spaces only. Wrapping by the Unicode line-break rules miette applies by
    // default (through ICU's segmenter) was more than half the cost of drawing a diagnostic,
    // a twentieth of a `check` printing four (docs/performance.md, "Thirteenth pass"); and
    // the only other places those rules break English prose are inside paths, URLs and code
    // spans, which read (and copy) better whole.
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
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
    source: Option<Excerpt>,
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
    let excerpt = d.span.map(|span| {
        let source = sources.get(span.source);
        Excerpt::new(&source.name, &source.text, span.range())
    });
    // Messages may quote values: never a secret's.
    let scrub = |text: &str| visible(&sources.scrub(text));
    Rendered {
        message: scrub(&d.message),
        code: format!("prose::{}", d.code),
        severity: match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        },
        help: d.help.as_deref().map(scrub),
        label: excerpt
            .as_ref()
            .map(|e| LabeledSpan::new_with_span(d.label.as_deref().map(scrub), e.label.clone())),
        source: excerpt,
    }
}

/// `text` with the characters that could drive a terminal or reorder what it shows (control
/// characters but line feed and tab, bidirectional overrides, line and paragraph separators)
/// written as visible `\u{…}` escapes: configuration values and keys reach messages and
/// source lines, and must not clear the screen or hide text.
fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    out
}

fn push_visible(out: &mut String, c: char) {
    let hostile = (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if hostile {
        out.push_str(&format!("\\u{{{:x}}}", c as u32));
    } else {
        out.push(c);
    }
}

/// Longest source line shown whole; longer lines are cut to a window around the label.
const MAX_SHOWN_LINE: usize = 240;
/// Lines a label may cover before it is cut to its first line.
const MAX_LABEL_LINES: usize = 8;

/// The part of a source a diagnostic shows: the label's lines and one line either side, long
/// lines cut to a window around the label and hostile characters made [`visible`]. Line numbers
/// stay those of the whole source. Rendering only this excerpt keeps the cost of a diagnostic
/// independent of the size of its source (miette scans the text it is given from the start,
/// and cannot draw a label past column 65,535).
#[derive(Debug)]
struct Excerpt {
    name: String,
    text: String,
    /// The label, in `text`.
    label: std::ops::Range<usize>,
    /// Number of the excerpt's first line in the source (0-based).
    first_line: usize,
    /// The excerpt line of the label, and the label's column in the source (0-based, in
    /// characters: [`super::source::line_col`], the one definition every output uses; miette
    /// would count bytes of the excerpt, which escapes and cuts change).
    label_place: (usize, usize),
}

impl Excerpt {
    fn new(name: &str, source: &str, span: std::ops::Range<usize>) -> Excerpt {
        let floor = |mut at: usize| {
            at = at.min(source.len());
            while !source.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        let start = floor(span.start);
        // The end rounds up: a label inside a character (an invalid byte shown as U+FFFD)
        // covers it.
        let mut end = span.end.max(start).min(source.len());
        while !source.is_char_boundary(end) {
            end += 1;
        }
        let line_start = |at: usize| source[..at].rfind('\n').map_or(0, |n| n + 1);
        let line_end = |at: usize| source[at..].find('\n').map_or(source.len(), |n| at + n);
        let label_line = line_start(start);
        if source[start..end].matches('\n').count() >= MAX_LABEL_LINES {
            end = line_end(start);
        }
        let from = if label_line == 0 {
            0
        } else {
            line_start(label_line - 1)
        };
        let last = line_end(end);
        let to = if last < source.len() {
            line_end(last + 1)
        } else {
            last
        };
        let first_line = source.as_bytes()[..from]
            .iter()
            .filter(|b| **b == b'\n')
            .count();

        let mut text = String::new();
        let mut label = 0..0;
        let label_place = (
            source.as_bytes()[from..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count(),
            super::source::line_col(source, start).1 - 1,
        );
        let mut line_start_at = from;
        for (index, line) in source[from..to].split('\n').enumerate() {
            let line_end_at = line_start_at + line.len();
            let content = line.strip_suffix('\r').unwrap_or(line);
            // The byte range of `content` shown.
            let (mut lo, mut hi) = (0, content.len());
            if content.len() > MAX_SHOWN_LINE {
                let anchor = if (line_start_at..=line_end_at).contains(&start) {
                    start - line_start_at
                } else {
                    0
                };
                lo = anchor.saturating_sub(MAX_SHOWN_LINE / 3);
                if lo <= '…'.len_utf8() {
                    lo = 0;
                }
                hi = (lo + MAX_SHOWN_LINE).min(content.len());
                while !content.is_char_boundary(lo) {
                    lo -= 1;
                }
                while !content.is_char_boundary(hi) {
                    hi += 1;
                }
            }
            if index > 0 {
                text.push('\n');
            }
            if lo > 0 {
                text.push('…');
            }
            for (at, c) in content[lo..hi].char_indices() {
                let here = line_start_at + lo + at;
                if here == start {
                    label.start = text.len();
                }
                if here == end {
                    label.end = text.len();
                }
                push_visible(&mut text, c);
            }
            let past = line_start_at + lo + (hi - lo);
            if (past..=line_end_at).contains(&start) {
                label.start = text.len();
            }
            if (past..=line_end_at).contains(&end) || (end > past && end <= line_end_at) {
                label.end = text.len();
            }
            if hi < content.len() {
                text.push('…');
            }
            line_start_at = line_end_at + 1;
        }
        label.end = label.end.max(label.start);
        Excerpt {
            name: name.to_owned(),
            text,
            label,
            first_line,
            label_place,
        }
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        // The header's `file:line:col` comes from the read of the label alone.
        let column = if context_lines_before == 0 && inner.line() == self.label_place.0 {
            self.label_place.1
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::source::{SourceKind, Span};

    fn render(text: &str, range: std::ops::Range<usize>, message: &str) -> String {
        let mut sources = Sources::default();
        let id = sources.add("prose.toml", SourceKind::File, text.to_owned());
        let d = Diagnostic::error(crate::diagnostics::code::INTERNAL, message)
            .at(Some(Span::new(id, range)), "here");
        render_human(
            &[d],
            &sources,
            RenderOptions {
                color: false,
                width: 100,
            },
        )
    }

    #[test]
    fn a_label_far_along_a_long_line_is_shown_in_a_window() {
        // miette panics drawing a label past column 65,535 of its source.
        let text = format!("a = [{}] # end\nb = 1\n", "\"x\",".repeat(30_000));
        let at = text.find("# end").unwrap();
        let out = render(&text, at..at + 5, "far");
        assert!(out.contains("prose.toml:1:120008"), "{out}");
        assert!(out.contains(" 1 │ …"), "{out}");
        assert!(out.len() < 2_000, "{}", out.len());
        assert!(out.contains(" 2 │ b = 1"), "{out}");
    }

    /// Lines break at spaces, so a path, a URL or a hyphenated name is never cut in two; a
    /// word longer than the line is still cut to fit it.
    #[test]
    fn lines_break_at_spaces_only() {
        let message = "the Pod Server (0.4.3 to 0.5.0) reaches the OAuth 2.0 endpoints at \
                       http://prose-pod-server:5280/oauth2 whatever `server.http_port` says, and \
                       writes into /var/lib/prose-pod-server/a-rather-long-directory-name";
        let out = render("a = 1\n", 0..1, message);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines.iter().all(|line| line.chars().count() <= 100),
            "{out}"
        );
        for whole in [
            "http://prose-pod-server:5280/oauth2",
            "/var/lib/prose-pod-server/a-rather-long-directory-name",
        ] {
            assert!(lines.iter().any(|line| line.contains(whole)), "{out}");
        }
        assert!(lines[2].ends_with("endpoints at"), "{out}");
        let long = "x".repeat(150);
        let out = render("a = 1\n", 0..1, &format!("see {long} here"));
        assert!(out.lines().all(|line| line.chars().count() <= 100), "{out}");
        assert_eq!(out.matches('x').count(), 150, "{out}");
    }

    #[test]
    fn control_characters_are_never_printed_raw() {
        let text = "[server]\n\"\u{1b}[2J\u{202e}\" = 1\n";
        let out = render(text, 9..20, "unknown key `\u{1b}[2J`");
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{202e}'),
            "{out:?}"
        );
        assert!(out.contains("\\u{1b}[2J"), "{out}");
        assert!(out.contains("prose.toml:2:1"), "{out}");
    }

    #[test]
    fn a_label_inside_an_invalid_byte_covers_it_and_lines_keep_their_numbers() {
        let text = "a = 1\nb = 2\ncaf\u{fffd} = 3\nd = 4\n";
        let at = text.find('\u{fffd}').unwrap();
        let out = render(text, at..at + 1, "invalid byte");
        assert!(out.contains("prose.toml:3:4"), "{out}");
        assert!(
            out.contains(" 2 │ b = 2") && out.contains(" 4 │ d = 4"),
            "{out}"
        );
        assert!(!out.contains("a = 1"), "{out}");
    }

    #[test]
    fn columns_count_characters_as_the_json_output_does() {
        // Non-ASCII text and an escaped control character before the label.
        let text = "[a]\n\"Zoë\u{1b}\" = \"Ünï\" # x\n";
        let at = text.find("# x").unwrap();
        let out = render(text, at..at + 3, "here");
        let json_column = crate::diagnostics::source::line_col(text, at).1;
        assert_eq!(json_column, 16);
        assert!(
            out.contains(&format!("prose.toml:2:{json_column}]")),
            "{out}"
        );
        // Far along a long line cut to a window.
        let text = format!("a = \"{}\" # end\n", "é".repeat(1000));
        let at = text.find("# end").unwrap();
        let out = render(&text, at..at + 5, "far");
        assert!(out.contains("prose.toml:1:1008]"), "{out}");
    }
}
