//! The command line (the binary's only module; clap stays out of the library): parse the arguments, resolve them once into [`ui::Ui`] and options, run
//! one command of the library, and turn its outcome into the exit code ([`exit`]). Each
//! command is a module with its typed JSON report and its human printer.

// The musl build's allocator; its tests run on every target.
#[cfg(any(target_env = "musl", test))]
pub mod allocator;
mod args;
mod audit;
mod build;
mod check;
mod environment;
mod exit;
mod explain;
mod github;
mod init;
mod live;
// The musl build's memcpy, memmove, memcmp, bcmp; their tests run on every x86-64 target.
#[cfg(all(target_arch = "x86_64", any(target_env = "musl", test)))]
mod mem_functions;
mod shell;
mod target;
mod ui;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use args::{Command, Format};
use exit::{Outcome, Stop};
use prose_compile::pipeline::{self, Action, Pod};
use ui::Ui;

/// The whole program: what `main` calls.
pub fn main() -> ExitCode {
    let cli = match args::parse() {
        Ok(cli) => cli,
        Err(error) => return exit::parse_error(&error),
    };
    let ui = Ui::new(&cli);
    let json = ui.format == Format::Json;
    exit::code(run(&ui, cli.command), json)
}

fn run(ui: &Ui, command: Command) -> Outcome {
    if ui.format == Format::Sarif && !matches!(command, Command::Audit { .. }) {
        return Err(Stop::Usage("--format sarif is only for `audit`".into()));
    }
    if ui.format == Format::Github
        && !matches!(command, Command::Audit { .. } | Command::Check { .. })
    {
        return Err(Stop::Usage(
            "--format github is only for `check` and `audit`".into(),
        ));
    }
    match command {
        Command::Build {
            paths,
            output,
            check,
            force,
            durable,
            templates,
            load,
        } => build::run(
            ui,
            &build::Request {
                paths: &paths,
                output: &output,
                load: &load,
                action: if check {
                    Action::Compare
                } else {
                    Action::Write { force, durable }
                },
                fail_on_drift: check,
                templates: templates.as_deref(),
            },
        ),
        Command::Diff {
            paths,
            output,
            templates,
            load,
        } => build::run(
            ui,
            &build::Request {
                paths: &paths,
                output: &output,
                load: &load,
                action: Action::Compare,
                fail_on_drift: false,
                templates: templates.as_deref(),
            },
        ),
        Command::Check { paths, load } => check::run(ui, &paths, &load),
        Command::Audit {
            paths,
            deny,
            output,
            load,
        } => audit::run(ui, &paths, deny, &output, &load),
        Command::Explain {
            path,
            key,
            from,
            load,
        } => explain::run(ui, path.as_deref(), key.as_deref(), from.as_deref(), &load),
        Command::Schema { output } => init::schema(ui, output.as_ref()),
        Command::Init { dir, domain } => init::init(ui, &dir, &domain),
        Command::Verify { dir, live } if live.live => live::run(ui, &dir, &live),
        Command::Verify { dir, .. } => verify::run(ui, &dir),
        Command::Completions { shell } => shell::completions(ui, shell),
        Command::Man { output } => shell::man(ui, output.as_deref()),
    }
}

/// The pods the paths name (output directories excluded from the search); no path: the pods
/// below the current directory, or the pod around it.
fn find_pods(paths: &[PathBuf], output: Option<&Path>) -> Result<Vec<Pod>, Stop> {
    let outputs: Vec<PathBuf> = output.map(Path::to_owned).into_iter().collect();
    if paths.is_empty() {
        return pipeline::pods_here(&outputs).map_err(Stop::Usage);
    }
    pipeline::discover(paths, &outputs).map_err(Stop::Usage)
}
