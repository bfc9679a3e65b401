//! Exit codes, decided in one place: 0 success; 1 invalid configuration, drift under
//! `--check`, or audit findings at or above `--deny`; 2 usage or I/O error. A closed standard
//! output (`prose-compile explain … | head -1`) ends the program quietly with 0, as ripgrep does.
//! Under `--format json` an error is a JSON document on standard output too.

use std::io::{self, Write};
use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    Success,
    /// Invalid configuration, drift under `--check`, findings at or above `--deny`, a failed
    /// validator.
    Failure,
    /// A usage or I/O error (a refused write included).
    Error,
}

impl Exit {
    /// `Failure` when `failed`, else `Success`.
    pub fn failure_if(failed: bool) -> Exit {
        if failed { Exit::Failure } else { Exit::Success }
    }
}

/// Why a command stopped before its end.
#[derive(Debug)]
pub enum Stop {
    /// A usage error (a bad path or argument), printed as `error: …`.
    Usage(String),
    /// Writing the results to standard output failed.
    Output(io::Error),
}

impl From<io::Error> for Stop {
    fn from(error: io::Error) -> Self {
        Stop::Output(error)
    }
}

pub type Outcome = Result<Exit, Stop>;

/// What `--help` and the man page say about exit codes.
pub const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  an invalid configuration, drift under `build --check`, an audit finding at or
     above `--deny`, a validator that failed (`verify`)
  2  a usage or I/O error, a refused write included (a hand-edited file, a symbolic
     link in the way, a corrupt manifest)";

/// The process's exit code for a command's outcome (printing the reason of a stop, also as
/// JSON on standard output when `json`).
pub fn code(outcome: Outcome, json: bool) -> ExitCode {
    let exit = match outcome {
        Ok(exit) => exit,
        Err(Stop::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Success,
        Err(Stop::Output(e)) => {
            stop("output", &format!("cannot write the output: {e}"), json);
            Exit::Error
        }
        Err(Stop::Usage(message)) => {
            stop("usage", &message, json);
            Exit::Error
        }
    };
    ExitCode::from(match exit {
        Exit::Success => 0,
        Exit::Failure => 1,
        Exit::Error => 2,
    })
}

/// A command-line error from clap: help and version are printed as they are; a usage error
/// exits 2, as JSON on standard output too when the arguments asked for `--format json`.
pub fn parse_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let _ = error.print();
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
    }
    if json_requested(std::env::args_os().skip(1)) {
        let message = error.render().to_string();
        json_error("usage", message.trim_end());
    }
    ExitCode::from(2)
}

/// Whether raw arguments ask for `--format json` (clap could not tell us: it failed).
fn json_requested(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    args.iter().any(|a| a == "--format=json")
        || args
            .windows(2)
            .any(|pair| pair[0] == "--format" && pair[1] == "json")
}

fn stop(kind: &str, message: &str, json: bool) {
    error(message);
    if json {
        json_error(kind, message);
    }
}

/// `{"error": {"kind": …, "message": …}}` on standard output.
fn json_error(kind: &str, message: &str) {
    let document = serde_json::json!({ "error": { "kind": kind, "message": message } });
    let _ = writeln!(io::stdout(), "{document}");
}

/// `error: …` on standard error (never a panic, even if standard error is closed).
pub fn error(message: &str) {
    let _ = writeln!(io::stderr(), "error: {message}");
}
