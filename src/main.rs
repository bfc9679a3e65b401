//! The `prose-compile` command line: parses arguments, calls the library, maps results to
//! exit codes (0 success, 1 invalid configuration, 2 usage or I/O error).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use prose_compile::config::env::{SetArg, parse_set};
use prose_compile::config::{LoadOptions, Loaded, load};
use prose_compile::diagnostics::{self, RenderOptions};
use prose_compile::discover::discover;

#[derive(Parser)]
#[command(
    name = "prose-compile",
    version,
    about = "Compiles a Prose Pod's prose.toml into its server configuration tree"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to use colours.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Output format of diagnostics and results.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Print only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Print more detail.
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Validate configurations without writing anything.
    Check {
        /// prose.toml files, or directories searched for them.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Print (or write) the JSON Schema of prose.toml.
    Schema {
        /// Write the schema to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// The options that gather the layers above prose.toml.
#[derive(Args)]
struct LoadArgs {
    /// Read PROSE_* variables from this dotenv file (repeatable; later files win).
    #[arg(long = "env-file", value_name = "FILE")]
    env_files: Vec<PathBuf>,
    /// Ignore the process environment and the prose.env beside prose.toml.
    #[arg(long)]
    no_env: bool,
    /// Set a key: `--set server.defaults.tls_profile=intermediate` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    sets: Vec<SetArg>,
}

impl LoadArgs {
    fn options(&self) -> LoadOptions {
        let environment = if self.no_env {
            Vec::new()
        } else {
            // Non-UTF-8 variables cannot name keys; `PROSE_*` ones are reported by name.
            std::env::vars_os()
                .filter_map(|(k, v)| {
                    Some((
                        k.into_string().ok()?,
                        v.into_string()
                            .unwrap_or_else(|v| v.to_string_lossy().into_owned()),
                    ))
                })
                .collect()
        };
        LoadOptions {
            environment,
            sibling_env_file: !self.no_env,
            env_files: self.env_files.clone(),
            sets: self.sets.clone(),
        }
    }
}

struct Ui {
    color: bool,
    format: Format,
    quiet: bool,
}

impl Ui {
    fn render(&self, loaded: &Loaded) -> String {
        let shown: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| !self.quiet || d.is_error())
            .cloned()
            .collect();
        let width = terminal_width();
        diagnostics::render_human(
            &shown,
            &loaded.sources,
            RenderOptions {
                color: self.color,
                width,
            },
        )
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let ui = Ui {
        color,
        format: cli.format,
        quiet: cli.quiet,
    };
    let _ = cli.verbose;
    match cli.command {
        Command::Check { paths, load } => check(&ui, &paths, &load),
        Command::Schema { output } => schema(output),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn check(ui: &Ui, paths: &[PathBuf], load_args: &LoadArgs) -> ExitCode {
    let pods = match discover(paths, &[]) {
        Ok(pods) => pods,
        Err(message) => return usage_error(&message),
    };
    let options = load_args.options();
    let mut invalid = 0;
    let mut results = Vec::new();
    for pod in &pods {
        let loaded = match load(&pod.config, &options) {
            Ok(loaded) => loaded,
            Err(error) => return usage_error(&error.to_string()),
        };
        if loaded.has_errors() {
            invalid += 1;
        }
        match ui.format {
            Format::Human => eprint!("{}", ui.render(&loaded)),
            Format::Json => results.push(serde_json::json!({
                "path": pod.config.display().to_string(),
                "valid": !loaded.has_errors(),
                "diagnostics": loaded.diagnostics.iter().map(|d| diagnostics::to_json(d, &loaded.sources)).collect::<Vec<_>>(),
            })),
        }
    }
    match ui.format {
        Format::Json => println!("{}", serde_json::json!({ "pods": results })),
        Format::Human if !ui.quiet => {
            let valid = pods.len() - invalid;
            eprintln!(
                "checked {} pod{}: {valid} valid, {invalid} invalid",
                pods.len(),
                if pods.len() == 1 { "" } else { "s" }
            );
        }
        Format::Human => {}
    }
    if invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn schema(output: Option<PathBuf>) -> ExitCode {
    let text = prose_compile::schema::schema_text();
    match output {
        None => {
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(text.as_bytes()).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Some(path) => match std::fs::write(&path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage_error(&format!("cannot write {}: {e}", path.display())),
        },
    }
}
