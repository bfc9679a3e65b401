//! `--format github`: GitHub Actions workflow commands (`::error file=…,line=…::…`), which
//! the runner turns into annotations on the pull request's lines, as ruff and others do.

use std::io::{self, Write};

use prose_compile::diagnostics::Diagnostic;
use prose_compile::diagnostics::source::{SourceKind, Sources};

/// The annotation levels GitHub knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

/// One annotation: where, a title, and the message (several lines allowed).
pub struct Annotation<'a> {
    pub level: Level,
    pub file: Option<&'a str>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub title: &'a str,
    pub message: &'a str,
}

/// Writes one workflow command line.
pub fn write(out: &mut impl Write, a: &Annotation<'_>) -> io::Result<()> {
    let command = match a.level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Notice => "notice",
    };
    let mut properties = Vec::new();
    if let Some(file) = a.file {
        properties.push(format!("file={}", property(file)));
        if let Some(line) = a.line {
            properties.push(format!("line={line}"));
            if let Some(column) = a.column {
                properties.push(format!("col={column}"));
            }
        }
    }
    properties.push(format!("title={}", property(a.title)));
    writeln!(
        out,
        "::{command} {}::{}",
        properties.join(","),
        data(a.message)
    )
}

/// The message: `%`, CR and LF escaped, as the runner unescapes them.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: also `:` and `,`, which end it.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Diagnostics as annotations, on the file and line they point at (a value from the process
/// environment or `--set` has no file: its annotation has none).
pub fn diagnostics(
    out: &mut impl Write,
    diagnostics: &[Diagnostic],
    sources: &Sources,
) -> io::Result<()> {
    for d in diagnostics {
        let source = d.span.map(|span| (sources.get(span.source), span));
        let (file, line, column) = match source {
            Some((source, span))
                if matches!(source.kind, SourceKind::File | SourceKind::EnvFile) =>
            {
                let (line, column) = sources.line_col(span);
                (Some(source.name.as_str()), Some(line), Some(column))
            }
            _ => (None, None, None),
        };
        // As every output: no known secret value quoted, long texts cut.
        let message = match &d.help {
            Some(help) => format!(
                "{}\nhelp: {}",
                sources.scrub(&d.message),
                sources.scrub(help)
            ),
            None => sources.scrub(&d.message),
        };
        write(
            out,
            &Annotation {
                level: if d.is_error() {
                    Level::Error
                } else {
                    Level::Warning
                },
                file,
                line,
                column,
                title: &format!("prose::{}", d.code),
                message: &message,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escape_what_would_end_them() {
        let mut out = Vec::new();
        write(
            &mut out,
            &Annotation {
                level: Level::Warning,
                file: Some("pods/a,b:c/prose.toml"),
                line: Some(3),
                column: Some(7),
                title: "prose::x",
                message: "100% bad\nsee: help",
            },
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "::warning file=pods/a%2Cb%3Ac/prose.toml,line=3,col=7,title=prose%3A%3Ax::100%25 bad%0Asee: help\n"
        );
    }
}
