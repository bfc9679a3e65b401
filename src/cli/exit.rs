//! Exit codes, decided in one place: 0 success; 1 invalid configuration, drift under
//! `--check`, or audit findings at or above `--deny`; 2 usage or I/O error. A closed standard
//! output (`prose-compile explain … | head -1`) ends the program quietly with 0, as ripgrep does.

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

/// The process's exit code for a command's outcome (printing the reason of a stop).
pub fn code(outcome: Outcome) -> ExitCode {
    let exit = match outcome {
        Ok(exit) => exit,
        Err(Stop::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Success,
        Err(Stop::Output(e)) => {
            error(&format!("cannot write the output: {e}"));
            Exit::Error
        }
        Err(Stop::Usage(message)) => {
            error(&message);
            Exit::Error
        }
    };
    ExitCode::from(match exit {
        Exit::Success => 0,
        Exit::Failure => 1,
        Exit::Error => 2,
    })
}

/// `error: …` on standard error (never a panic, even if standard error is closed).
pub fn error(message: &str) {
    let _ = writeln!(io::stderr(), "error: {message}");
}
