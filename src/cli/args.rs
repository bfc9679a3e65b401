//! The command line as clap parses it: raw flags, resolved once into [`super::ui::Ui`] and the
//! library's options by the commands.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use prose_compile::config::LoadOptions;
use prose_compile::config::env::{SetArg, parse_set};

#[derive(Parser)]
#[command(
    name = "prose-compile",
    version,
    about = "Compiles a Prose Pod's prose.toml into its server configuration tree"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to use colours.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Output format of diagnostics and results.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more detail (every file written).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// The command line's definition: the derived one, with the exit codes after every help.
pub fn command() -> clap::Command {
    Cli::command()
        .after_help(super::exit::EXIT_STATUS)
        .mut_subcommands(|sub| sub.after_help(super::exit::EXIT_STATUS))
}

/// The arguments of this process, parsed.
pub fn parse() -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0 (`audit` only), for code-scanning.
    Sarif,
    /// GitHub Actions annotations (`check` and `audit`).
    Github,
}

/// `audit --deny LEVEL`.
#[derive(Clone, Copy, ValueEnum)]
pub enum DenyLevel {
    Critical,
    Warning,
    Suggestion,
}

impl From<DenyLevel> for prose_compile::audit::Severity {
    fn from(level: DenyLevel) -> Self {
        match level {
            DenyLevel::Critical => Self::Critical,
            DenyLevel::Warning => Self::Warning,
            DenyLevel::Suggestion => Self::Suggestion,
        }
    }
}

/// Each subcommand's arguments are added when it is parsed (or when the whole definition is
/// built, for help, completions and man pages): building all ten subcommands' arguments for
/// every run was 5 % of a `check` and 14 % of an up-to-date `build` (docs/performance.md).
#[derive(Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Generate the output tree of each pod.
    Build {
        /// prose.toml files, or directories searched for them (skipping what .gitignore
        /// excludes). Default: the pods below the current directory, or the pod around it.
        paths: Vec<PathBuf>,
        /// Output directory (one pod: the tree itself; several: one sub-tree per pod).
        #[arg(short, long, default_value = "out")]
        output: PathBuf,
        /// Write nothing; exit 1 with a diff if the tree on disk is not up to date.
        #[arg(long)]
        check: bool,
        /// Overwrite generated files that were edited by hand.
        #[arg(long)]
        force: bool,
        /// Make the tree durable: on disk when the command returns, and repaired by the next
        /// build after a power cut as after a kill (two `syncfs` per tree). Without it nothing
        /// is synced: a killed build is still repaired; see "Durability" in the README.
        #[arg(long, conflicts_with = "check")]
        durable: bool,
        /// Use the templates in DIR instead of the shipped ones, file by file (same names,
        /// e.g. `nginx-pod.conf.j2`; same escaping filters and validation).
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Validate configurations without writing anything.
    Check {
        /// prose.toml files, or directories searched for them (skipping what .gitignore
        /// excludes). Default: the pods below the current directory, or the pod around it.
        paths: Vec<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Show how the tree on disk differs from what `build` would write.
    Diff {
        /// prose.toml files, or directories searched for them (skipping what .gitignore
        /// excludes). Default: the pods below the current directory, or the pod around it.
        paths: Vec<PathBuf>,
        /// Output directory to compare with.
        #[arg(short, long, default_value = "out")]
        output: PathBuf,
        /// Use the templates in DIR instead of the shipped ones.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Review each pod's security: findings with a code, a severity and a fix.
    Audit {
        /// prose.toml files, or directories searched for them (skipping what .gitignore
        /// excludes). Default: the pods below the current directory, or the pod around it.
        paths: Vec<PathBuf>,
        /// Exit 1 when an unacknowledged finding at or above this severity exists.
        #[arg(long, value_enum, value_name = "LEVEL")]
        deny: Option<DenyLevel>,
        /// Where `build` writes the trees (SARIF points findings in generated files there).
        #[arg(short, long, default_value = "out")]
        output: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Show where values come from and which keys produce an output line.
    Explain {
        /// A prose.toml, or a directory holding exactly one. Default: the pod around the
        /// current directory (a lone KEY means that pod's key).
        path: Option<PathBuf>,
        /// A key such as `server.defaults.tls_profile`; without it, every value that differs
        /// from its default.
        key: Option<String>,
        /// A generated file and line, e.g. `etc/prosody/prosody.cfg.lua:42`.
        #[arg(long, value_name = "OUTPUT_FILE:LINE", conflicts_with = "key")]
        from: Option<String>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Print (or write) the JSON Schema of prose.toml.
    Schema {
        /// Write the schema to this file instead of standard output (`-`: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write a commented starter prose.toml (never over an existing one).
    Init {
        /// Directory to create it in.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The XMPP server domain (user@DOMAIN).
        #[arg(long, default_value = "example.org")]
        domain: String,
    },
    /// Run the installed real validators over a built tree; with --live, boot it.
    Verify {
        /// A built tree (or a directory of pod trees).
        #[arg(default_value = "out")]
        dir: PathBuf,
        #[command(flatten)]
        live: LiveArgs,
    },
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), or write every page into a directory.
    Man {
        /// Write `prose-compile.1` and a page per subcommand into DIR.
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
    },
}

// `verify --live`: the tree's Prosody and nginx started in a network namespace (root) and
// checked with real clients. (Plain comments on the flattened structs: clap would make a doc
// comment the summary of the deferred subcommand that flattens them.)
#[derive(Args)]
pub struct LiveArgs {
    /// Start the tree's Prosody 13 and nginx in a network namespace that has only loopback
    /// (needs root) and check them with real clients: XMPP, WebSocket, BOSH, uploads, TLS,
    /// HTTP, s2s. Prints each check and its result.
    #[arg(long)]
    pub live: bool,
    /// The Python that has the suite's packages (slixmpp, websockets).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "python3",
        requires = "live"
    )]
    pub python: PathBuf,
    /// A directory of Prose's own Prosody modules (e.g. copied out of the Pod Server image),
    /// loaded instead of the generated plugin_paths, so that they are judged too.
    #[arg(long, value_name = "DIR", requires = "live")]
    pub modules: Option<PathBuf>,
    /// Only these groups of checks (comma-separated): config, reload, c2s, xmpp, upload, s2s,
    /// http, ws, bosh, tls, exposure.
    #[arg(long, value_name = "GROUPS", value_delimiter = ',', requires = "live")]
    pub only: Vec<String>,
    /// Keep the run's directory (the copies, the servers' logs) and print where it is.
    #[arg(long, requires = "live")]
    pub keep: bool,
    /// ECDSA instead of RSA throwaway certificates (judges the ECDSA half of the ciphers).
    #[arg(long, requires = "live")]
    pub ecdsa: bool,
}

// The options that gather the layers above prose.toml (a plain comment: see `LiveArgs`).
#[derive(Args)]
pub struct LoadArgs {
    /// Read PROSE_* variables from this dotenv file (repeatable; later files win).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Ignore the process environment and the prose.env beside prose.toml.
    #[arg(long)]
    pub no_env: bool,
    /// Set a key: `--set server.defaults.tls_profile=intermediate` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    pub sets: Vec<SetArg>,
    /// What to generate: `host` (systemd, compose, nginx; the default) or `kubernetes`
    /// (manifests in OUT/kubernetes/<domain>/). Default: `target` in the nearest
    /// prose-compile.toml.
    #[arg(long, value_enum, value_name = "TARGET")]
    pub target: Option<TargetArg>,
}

/// `--target`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    Host,
    Kubernetes,
}

impl From<TargetArg> for prose_compile::config::repository::TargetKind {
    fn from(target: TargetArg) -> Self {
        match target {
            TargetArg::Host => Self::Host,
            TargetArg::Kubernetes => Self::Kubernetes,
        }
    }
}

impl LoadArgs {
    /// The loader's options: the process environment unless `--no-env`, and the variables
    /// the targets' files read.
    pub fn options(&self) -> LoadOptions {
        let environment = if self.no_env {
            Vec::new()
        } else {
            std::env::vars_os()
                .filter_map(|(k, v)| {
                    let v = v
                        .into_string()
                        .unwrap_or_else(|v| v.to_string_lossy().into_owned());
                    Some((k.into_string().ok()?, v))
                })
                .collect()
        };
        LoadOptions {
            environment,
            sibling_env_file: !self.no_env,
            env_files: self.env_files.clone(),
            sets: self.sets.clone(),
            file_variables: prose_compile::targets::file_variables(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Help as a user asks for it: the parse path builds only the subcommand asked about.
    fn help(args: &[&str]) -> String {
        let args = std::iter::once("prose-compile").chain(args.iter().copied());
        match command().try_get_matches_from(args) {
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.render().to_string(),
            other => panic!("no help: {:?}", other.map(|_| ())),
        }
    }

    /// What deferring the subcommands' arguments could change in their help: the summary (a
    /// flattened struct's doc comment would replace it) and the order of the options (the
    /// subcommand's own, then the global ones).
    #[test]
    fn deferred_subcommands_keep_their_help() {
        let unbuilt = command();
        for sub in unbuilt.get_subcommands() {
            let name = sub.get_name();
            let about = sub
                .get_about()
                .expect("every subcommand has a summary")
                .to_string();
            for ask in [vec![name, "--help"], vec![name, "-h"], vec!["help", name]] {
                let text = help(&ask);
                assert!(text.starts_with(&format!("{about}\n")), "{ask:?}: {text}");
                let options: Vec<&str> = text
                    .lines()
                    .map(str::trim_start)
                    .filter(|l| l.starts_with('-'))
                    .filter_map(|l| l.split(' ').find(|w| w.starts_with("--")))
                    .map(|w| w.trim_end_matches(','))
                    .collect();
                let first_global = options.iter().position(|o| *o == "--color");
                let last_own = options.iter().rposition(|o| {
                    !["--color", "--format", "--quiet", "--verbose", "--help"].contains(o)
                });
                assert!(first_global.is_some(), "{ask:?}: {text}");
                assert!(last_own < first_global, "{ask:?}: {options:?}");
            }
        }
    }
}
