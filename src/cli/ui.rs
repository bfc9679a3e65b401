//! How results reach the terminal, resolved once from the raw flags: colour per stream, the
//! output format, quiet and verbose. Standard error is written without ever panicking;
//! standard output goes through `out()`, whose errors end the command (see `exit`).

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use super::args::{Cli, Color, Format};
use prose_compile::diagnostics::source::Sources;
use prose_compile::diagnostics::{self, Diagnostic, RenderOptions};

pub struct Ui {
    /// Colours on standard error (diagnostics).
    pub color_err: bool,
    /// Colours on standard output (diffs).
    pub color_out: bool,
    pub format: Format,
    pub quiet: bool,
    pub verbose: bool,
    /// Terminal width for diagnostics (`COLUMNS`, else 100).
    width: usize,
}

impl Ui {
    pub fn new(cli: &Cli) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some();
        let resolve = |is_terminal: bool| match cli.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => is_terminal && !no_color,
        };
        Ui {
            color_err: resolve(io::stderr().is_terminal()),
            color_out: resolve(io::stdout().is_terminal()),
            format: cli.format,
            quiet: cli.quiet,
            verbose: cli.verbose,
            width: std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(100),
        }
    }

    pub fn human(&self) -> bool {
        self.format == Format::Human
    }

    /// Standard output, line-buffered.
    pub fn out(&self) -> io::StdoutLock<'static> {
        io::stdout().lock()
    }

    /// Text on standard error, as is.
    pub fn err(&self, text: &str) {
        let _ = io::stderr().write_all(text.as_bytes());
    }

    /// Diagnostics on standard error (errors only under `--quiet`).
    pub fn diagnostics(&self, diagnostics: &[Diagnostic], sources: &Sources) {
        self.err(&self.diagnostics_text(diagnostics, sources));
    }

    /// What [`Ui::diagnostics`] prints.
    pub fn diagnostics_text(&self, diagnostics: &[Diagnostic], sources: &Sources) -> String {
        let shown: Vec<Diagnostic> = diagnostics
            .iter()
            .filter(|d| !self.quiet || d.is_error())
            .cloned()
            .collect();
        let options = RenderOptions {
            color: self.color_err,
            width: self.width,
        };
        diagnostics::render_human(&shown, sources, options)
    }

    /// A progress or summary line on standard error (human format, not `--quiet`).
    pub fn note(&self, text: &str) {
        self.err(&self.note_text(text));
    }

    /// What [`Ui::note`] prints (nothing under `--quiet` or another format).
    pub fn note_text(&self, text: &str) -> String {
        if !self.quiet && self.human() {
            format!("{text}\n")
        } else {
            String::new()
        }
    }

    /// Everything the printed text depends on besides what it reports: a build's input
    /// record is reused only under the same settings (`pipeline::RunOptions::inspection_key`).
    pub fn presentation_key(&self) -> String {
        format!(
            "format={:?} color={} width={} quiet={} verbose={}",
            self.format, self.color_err, self.width, self.quiet, self.verbose
        )
    }

    /// A JSON document on standard output: compact, or pretty for the reports people read.
    pub fn json(&self, value: &impl Serialize, pretty: bool) -> io::Result<()> {
        let text = if pretty {
            serde_json::to_string_pretty(value)
        } else {
            serde_json::to_string(value)
        }
        .map_err(io::Error::other)?;
        writeln!(self.out(), "{text}")
    }
}

/// `""` or `"s"`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
