//! The `prose-compile` command line: parses arguments, calls the library, maps results to
//! exit codes (0 success; 1 invalid configuration or drift under `--check`; 2 usage or I/O).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use prose_compile::pipeline::{self, Action, Outcome, PodReport};
use prose_compile::config::env::{SetArg, parse_set};
use prose_compile::diagnostics::source::Sources;
use prose_compile::config::{LoadOptions, load};
use prose_compile::diagnostics::{self, Diagnostic, RenderOptions};
use prose_compile::pipeline::discover::{Pod, discover};
use prose_compile::output::{Change, OutputTree, WriteError, unified_diff};
use prose_compile::targets::templating::{self, Templates};
use prose_compile::verify::{self, Outcome as Check};

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
    /// Print more detail (every file written).
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
    /// SARIF 2.1.0 (`audit` only), for code-scanning.
    Sarif,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the output tree of each pod.
    Build {
        /// prose.toml files, or directories searched for them.
        #[arg(default_value = ".")]
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
        /// Use the templates in DIR instead of the shipped ones, file by file (same names,
        /// e.g. `nginx-pod.conf.j2`; same escaping filters and validation).
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Validate configurations without writing anything.
    Check {
        /// prose.toml files, or directories searched for them.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Show how the tree on disk differs from what `build` would write.
    Diff {
        /// prose.toml files, or directories searched for them.
        #[arg(default_value = ".")]
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
        /// prose.toml files, or directories searched for them.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// Exit 1 when an unacknowledged finding at or above this severity exists.
        #[arg(long, value_enum, value_name = "LEVEL")]
        deny: Option<prose_compile::audit::Severity>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Show where values come from and which keys produce an output line.
    Explain {
        /// A prose.toml, or a directory holding exactly one.
        #[arg(default_value = ".")]
        path: PathBuf,
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
        /// Write the schema to this file instead of standard output.
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
    /// Run the installed real validators over a built tree.
    Verify {
        /// A built tree (or a directory of pod trees).
        #[arg(default_value = "out")]
        dir: PathBuf,
    },
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    Man,
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
        }
    }
}

struct Ui {
    /// Colours on standard error (diagnostics).
    color: bool,
    /// Colours on standard output (diffs).
    color_stdout: bool,
    format: Format,
    quiet: bool,
    verbose: bool,
}

impl Ui {
    fn diagnostics(&self, diagnostics: &[Diagnostic], sources: &Sources) {
        let shown: Vec<Diagnostic> = diagnostics
            .iter()
            .filter(|d| !self.quiet || d.is_error())
            .cloned()
            .collect();
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100);
        let text = diagnostics::render_human(
            &shown,
            sources,
            RenderOptions {
                color: self.color,
                width,
            },
        );
        eprint!("{text}");
    }

    fn note(&self, text: &str) {
        if !self.quiet && self.format == Format::Human {
            eprintln!("{text}");
        }
    }

    fn json_diagnostics(&self, report: &PodReport) -> serde_json::Value {
        let Some(loaded) = &report.loaded else {
            return serde_json::json!([]);
        };
        serde_json::Value::Array(
            report
                .diagnostics()
                .iter()
                .filter_map(|d| serde_json::to_value(diagnostics::to_json(d, &loaded.sources)).ok())
                .collect(),
        )
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let color_stdout = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let ui = Ui {
        color,
        color_stdout,
        format: cli.format,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    if ui.format == Format::Sarif && !matches!(cli.command, Command::Audit { .. }) {
        return usage_error("--format sarif is only for `audit`");
    }
    match cli.command {
        Command::Audit { paths, deny, load } => audit(&ui, &paths, deny, &load),
        Command::Build {
            paths,
            output,
            check,
            force,
            templates,
            load,
        } => {
            let action = if check {
                Action::Compare
            } else {
                Action::Write { force }
            };
            run_build(
                &ui,
                &paths,
                &output,
                &load,
                action,
                check,
                templates.as_deref(),
            )
        }
        Command::Diff {
            paths,
            output,
            templates,
            load,
        } => run_build(
            &ui,
            &paths,
            &output,
            &load,
            Action::Compare,
            false,
            templates.as_deref(),
        ),
        Command::Check { paths, load } => check(&ui, &paths, &load),
        Command::Schema { output } => schema(output),
        Command::Explain {
            path,
            key,
            from,
            load,
        } => explain(&ui, &path, key.as_deref(), from.as_deref(), &load),
        Command::Init { dir, domain } => init(&ui, &dir, &domain),
        Command::Verify { dir } => verify(&ui, &dir),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "prose-compile",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Command::Man => {
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(2),
            }
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn find_pods(paths: &[PathBuf], output: Option<&Path>) -> Result<Vec<Pod>, ExitCode> {
    let outputs: Vec<PathBuf> = output.map(Path::to_owned).into_iter().collect();
    discover(paths, &outputs).map_err(|m| usage_error(&m))
}

fn check(ui: &Ui, paths: &[PathBuf], load_args: &LoadArgs) -> ExitCode {
    let pods = match find_pods(paths, None) {
        Ok(pods) => pods,
        Err(code) => return code,
    };
    let options = load_args.options();
    let mut invalid = 0;
    let mut results = Vec::new();
    for pod in &pods {
        let loaded = match build::load_and_check(&pod.config, &options) {
            Ok(loaded) => loaded,
            Err(error) => return usage_error(&error.to_string()),
        };
        invalid += usize::from(loaded.has_errors());
        match ui.format {
            Format::Human => ui.diagnostics(&loaded.diagnostics, &loaded.sources),
            Format::Json | Format::Sarif => results.push(serde_json::json!({
                "path": pod.config.display().to_string(),
                "valid": !loaded.has_errors(),
                "diagnostics": loaded.diagnostics.iter().map(|d| diagnostics::to_json(d, &loaded.sources)).collect::<Vec<_>>(),
            })),
        }
    }
    if ui.format == Format::Json {
        println!("{}", serde_json::json!({ "pods": results }));
    }
    let n = pods.len();
    ui.note(&format!(
        "checked {n} pod{}: {} valid, {invalid} invalid",
        plural(n),
        n - invalid
    ));
    if invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Diff lines shown before the rest is summarised.
const DIFF_LINES: usize = 400;

/// `build`, `build --check` and `diff`.
fn run_build(
    ui: &Ui,
    paths: &[PathBuf],
    output: &Path,
    load_args: &LoadArgs,
    action: Action,
    fail_on_drift: bool,
    template_dir: Option<&Path>,
) -> ExitCode {
    let pods = match find_pods(paths, Some(output)) {
        Ok(pods) => pods,
        Err(code) => return code,
    };
    let custom;
    let templates = match template_dir {
        None => templating::embedded(),
        Some(dir) => match Templates::from_dir(dir) {
            Ok(loaded) => {
                custom = loaded;
                &custom
            }
            Err(error) => return usage_error(&format!("--templates {}: {error}", dir.display())),
        },
    };
    let options = load_args.options();
    let show_progress = pods.len() > 1 && !ui.quiet && std::io::stderr().is_terminal();
    let progress = |done: usize| {
        if show_progress {
            eprint!("\r[{done}/{}] pods", pods.len());
            let _ = std::io::stderr().flush();
        }
    };
    let run = build::RunOptions {
        load: &options,
        action,
        templates,
    };
    let reports = build::run_all(&pods, output, &run, &progress);
    if show_progress {
        eprint!("\r\x1b[K");
    }

    let (mut invalid, mut failed, mut changed, mut unchanged, mut drift) = (0, 0, 0, 0, 0);
    let mut diff_budget = DIFF_LINES;
    let mut hidden = 0;
    let mut json_pods = Vec::new();
    for report in &reports {
        let name = report.pod.config.display().to_string();
        if let Some(loaded) = &report.loaded
            && ui.format == Format::Human
        {
            ui.diagnostics(&report.diagnostics(), &loaded.sources);
        }
        let status;
        match &report.outcome {
            Outcome::Unreadable(error) => {
                eprintln!("error: {error}");
                failed += 1;
                status = "unreadable";
            }
            Outcome::Invalid(_) => {
                invalid += 1;
                status = "invalid";
            }
            Outcome::WriteFailed(error) => {
                failed += 1;
                status = "failed";
                write_error(&report.output_dir, error);
            }
            Outcome::Written(summary) => {
                if summary.recovered {
                    ui.note(&format!(
                        "{name}: completed an interrupted build in {}",
                        report.output_dir.display()
                    ));
                }
                if summary.changed() {
                    changed += 1;
                    status = "changed";
                    ui.note(&format!(
                        "{name}: wrote {} file{}, removed {} in {}",
                        summary.written.len(),
                        plural(summary.written.len()),
                        summary.removed.len(),
                        report.output_dir.display()
                    ));
                    if ui.verbose {
                        for path in &summary.written {
                            eprintln!("  wrote {path}");
                        }
                        for path in &summary.removed {
                            eprintln!("  removed {path}");
                        }
                    }
                } else {
                    unchanged += 1;
                    status = "unchanged";
                }
                if let Some(findings) = &report.findings {
                    ui.note(&format!("{name}: audit: {}", audit_counts(findings)));
                }
            }
            Outcome::Compared { changes, tree } => {
                if changes.is_empty() {
                    unchanged += 1;
                    status = "up to date";
                } else {
                    drift += 1;
                    status = "out of date";
                    if ui.format == Format::Human {
                        print_changes(ui, report, changes, tree, &mut diff_budget, &mut hidden);
                    }
                }
            }
        }
        if ui.format == Format::Json {
            json_pods.push(serde_json::json!({
                "path": name,
                "output": report.output_dir.display().to_string(),
                "status": status,
                "diagnostics": ui.json_diagnostics(report),
            }));
        }
    }
    if hidden > 0 {
        println!("… {hidden} more diff line{} not shown", plural(hidden));
    }
    if ui.format == Format::Json {
        println!("{}", serde_json::json!({ "pods": json_pods }));
    }
    let n = reports.len();
    let verb = if matches!(action, Action::Compare) {
        "compared"
    } else {
        "built"
    };
    let mut summary = format!("{verb} {n} pod{}: ", plural(n));
    summary += &if matches!(action, Action::Compare) {
        format!("{unchanged} up to date, {drift} out of date")
    } else {
        format!("{changed} changed, {unchanged} unchanged")
    };
    summary += &format!(", {invalid} invalid, {failed} failed");
    ui.note(&summary);
    if failed > 0 {
        ExitCode::from(2)
    } else if invalid > 0 || (fail_on_drift && drift > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn write_error(dir: &Path, error: &WriteError) {
    match error {
        WriteError::HandEdited(edits) => {
            for edit in edits {
                let why = if edit.was_generated {
                    "was edited by hand since it was generated"
                } else {
                    "exists but was not generated by prose-compile"
                };
                eprintln!(
                    "error: {} {why}; not overwriting it",
                    dir.join(&edit.path).display()
                );
                eprint!("{}", edit.diff);
            }
            eprintln!(
                "help: move your change into prose.toml, or run `build --force` to discard it"
            );
        }
        WriteError::CorruptManifest { .. } => {
            eprintln!("error: {error}");
            eprintln!("help: delete it and run `build --force` to regenerate the whole tree");
        }
        other => eprintln!("error: {other}"),
    }
}

fn print_changes(
    ui: &Ui,
    report: &PodReport,
    changes: &[Change],
    tree: &OutputTree,
    budget: &mut usize,
    hidden: &mut usize,
) {
    let mut out = String::new();
    for change in changes {
        let (path, old, new, note) = match change {
            Change::Create { path } => (path, Vec::new(), generated(tree, path), "new file"),
            Change::Update { path, old } => (path, old.clone(), generated(tree, path), "changed"),
            Change::Remove { path, old } => (path, old.clone(), Vec::new(), "would be removed"),
            Change::Mode { path, old } => {
                out += &format!(
                    "mode of {} is {old:o}, expected {:o}\n",
                    path,
                    tree.get(path).map_or(0, |f| f.mode)
                );
                continue;
            }
        };
        out += &format!("# {} ({note})\n", report.output_dir.join(path).display());
        let (text, left) = unified_diff(path, &old, &new, *budget);
        *budget = budget.saturating_sub(text.lines().count());
        *hidden += left;
        out += &text;
    }
    let colored = if ui.color_stdout { colorize(&out) } else { out };
    print!("{colored}");
}

fn generated(tree: &OutputTree, path: &str) -> Vec<u8> {
    tree.get(path)
        .map(|f| f.contents.clone())
        .unwrap_or_default()
}

fn colorize(diff: &str) -> String {
    diff.lines()
        .map(|line| {
            let code = match line.as_bytes().first() {
                Some(b'+') if !line.starts_with("+++") => "32",
                Some(b'-') if !line.starts_with("---") => "31",
                Some(b'@') => "36",
                Some(b'#') => "1",
                _ => return format!("{line}\n"),
            };
            format!("\x1b[{code}m{line}\x1b[0m\n")
        })
        .collect()
}

fn schema(output: Option<PathBuf>) -> ExitCode {
    let text = prose_compile::config::schema::schema_text();
    match output {
        None => {
            if std::io::stdout().lock().write_all(text.as_bytes()).is_err() {
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

fn init(ui: &Ui, dir: &Path, domain: &str) -> ExitCode {
    match prose_compile::init::init(dir, domain) {
        Ok(written) => {
            for path in written {
                ui.note(&format!("wrote {}", path.display()));
            }
            ExitCode::SUCCESS
        }
        Err(message) => usage_error(&message),
    }
}

fn verify(ui: &Ui, dir: &Path) -> ExitCode {
    if !dir.is_dir() {
        return usage_error(&format!("{}: not a directory (build first)", dir.display()));
    }
    // Every tree has a manifest at its root: several pods, several trees.
    let mut roots: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == prose_compile::output::MANIFEST)
        .filter_map(|e| e.path().parent().map(Path::to_owned))
        .collect();
    if roots.is_empty() {
        roots.push(dir.to_owned());
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut json = Vec::new();
    for root in roots {
        for report in validators::verify_tree(&root) {
            let (word, detail) = match &report.outcome {
                Check::Passed => {
                    passed += 1;
                    ("pass", String::new())
                }
                Check::Failed { output } => {
                    failed += 1;
                    ("FAIL", output.clone())
                }
                Check::Skipped { reason } => {
                    skipped += 1;
                    ("skip", reason.clone())
                }
            };
            match ui.format {
                Format::Human => {
                    println!("{word:4}  {:<16} {}", report.tool, report.file.display());
                    for line in detail.lines().filter(|_| word != "pass") {
                        println!("      {line}");
                    }
                }
                Format::Json | Format::Sarif => json.push(serde_json::json!({
                    "tool": report.tool, "file": report.file.display().to_string(), "result": word.to_lowercase(), "output": detail,
                })),
            }
        }
    }
    if ui.format == Format::Json {
        println!("{}", serde_json::json!({ "reports": json }));
    }
    ui.note(&format!(
        "{passed} passed, {failed} failed, {skipped} skipped"
    ));
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn explain(
    ui: &Ui,
    path: &Path,
    key: Option<&str>,
    from: Option<&str>,
    load_args: &LoadArgs,
) -> ExitCode {
    use prose_compile::explain::{explain_all, explain_key, explain_line, show};
    let pods = match find_pods(&[path.to_owned()], None) {
        Ok(pods) => pods,
        Err(code) => return code,
    };
    let [pod] = pods.as_slice() else {
        return usage_error(&format!(
            "{} holds {} pods: name one prose.toml",
            path.display(),
            pods.len()
        ));
    };
    let loaded = match load(&pod.config, &load_args.options()) {
        Ok(loaded) => loaded,
        Err(error) => return usage_error(&error.to_string()),
    };
    if loaded.has_errors() {
        ui.diagnostics(&loaded.diagnostics, &loaded.sources);
        return ExitCode::from(1);
    }
    let json = ui.format == Format::Json;
    if let Some(from) = from {
        let Some((file, line)) = from
            .rsplit_once(':')
            .and_then(|(f, l)| Some((f, l.parse::<usize>().ok()?)))
        else {
            return usage_error(&format!("--from {from}: expected OUTPUT_FILE:LINE"));
        };
        let report = match explain_line(&loaded, file, line) {
            Ok(report) => report,
            Err(message) => return usage_error(&message),
        };
        if json {
            return print_json(&report);
        }
        println!("{}:{}: {}", report.file, report.line, report.text.trim());
        if report.causes.is_empty() {
            println!("  fixed by the template: no configuration value changes this line");
        }
        for cause in &report.causes {
            println!(
                "  {} = {}    ({})",
                cause.key,
                show(&cause.value),
                cause.origin.description
            );
        }
        return ExitCode::SUCCESS;
    }
    let Some(key) = key else {
        let settings = explain_all(&loaded);
        if json {
            return print_json(&settings);
        }
        let mut section = "";
        for s in &settings {
            if s.section != section {
                section = &s.section;
                println!("[{section}]");
            }
            println!(
                "  {} = {}    ({})",
                s.key,
                show(&s.value),
                s.origin.description
            );
        }
        return ExitCode::SUCCESS;
    };
    let report = match explain_key(&loaded, key) {
        Ok(report) => report,
        Err(message) => return usage_error(&message),
    };
    if json {
        return print_json(&report);
    }
    println!("{} = {}", report.key, show(&report.value));
    println!("  set by: {}", report.origin.description);
    for replaced in &report.overridden {
        println!(
            "  overrides: {} ({})",
            show(&replaced.value),
            replaced.origin.description
        );
    }
    if let Some(description) = &report.description {
        println!("  about: {}", description.replace('\n', " "));
    }
    println!("  type: {}", report.kind);
    if !report.allowed.is_empty() {
        println!("  allowed: {}", report.allowed.join(", "));
    }
    if let Some(default) = &report.default {
        println!("  default: {}", show(default));
    }
    println!("  environment: {}", report.env_var);
    if report.affects.is_empty() {
        println!("  affects no generated file");
    }
    for lines in &report.affects {
        println!(
            "  affects: {} line{} {}",
            lines.file,
            plural(lines.lines.len()),
            ranges(&lines.lines)
        );
    }
    ExitCode::SUCCESS
}

fn audit_counts(findings: &[prose_compile::audit::Finding]) -> String {
    use prose_compile::audit::Severity;
    let count = |s: Severity| {
        findings
            .iter()
            .filter(|f| f.rule.severity == s && f.acknowledged.is_none())
            .count()
    };
    let acknowledged = findings.iter().filter(|f| f.acknowledged.is_some()).count();
    let mut text = format!(
        "{} critical, {} warning{}, {} suggestion{}",
        count(Severity::Critical),
        count(Severity::Warning),
        plural(count(Severity::Warning)),
        count(Severity::Suggestion),
        plural(count(Severity::Suggestion))
    );
    if acknowledged > 0 {
        text += &format!(" ({acknowledged} acknowledged)");
    }
    text
}

fn audit(
    ui: &Ui,
    paths: &[PathBuf],
    deny: Option<prose_compile::audit::Severity>,
    load_args: &LoadArgs,
) -> ExitCode {
    use prose_compile::audit::{self as a, Location};
    let pods = match find_pods(paths, None) {
        Ok(pods) => pods,
        Err(code) => return code,
    };
    let options = load_args.options();
    let (mut invalid, mut denied) = (false, false);
    let mut json = Vec::new();
    let mut sarif_runs = Vec::new();
    for pod in &pods {
        let loaded = match load(&pod.config, &options) {
            Ok(loaded) => loaded,
            Err(error) => return usage_error(&error.to_string()),
        };
        if loaded.has_errors() {
            ui.diagnostics(&loaded.diagnostics, &loaded.sources);
            invalid = true;
            continue;
        }
        let tree = build::compile(&loaded, &build::input_label(pod)).ok();
        let findings = a::audit(&loaded, tree.as_ref());
        denied |= deny.is_some_and(|level| a::denied(&findings, level));
        let unknown = loaded
            .config
            .as_ref()
            .map(a::unknown_acknowledgements)
            .unwrap_or_default();
        let name = pod.config.display().to_string();
        match ui.format {
            Format::Sarif => {
                let mut run = a::sarif(&findings, &loaded, "out");
                if let Some(first) = run["runs"].as_array_mut().and_then(|r| r.pop()) {
                    sarif_runs.push(first);
                }
            }
            Format::Json => json.push(serde_json::json!({
                "path": name, "findings": findings, "unknown_acknowledgements": unknown,
            })),
            Format::Human => {
                println!("{name}");
                for f in &findings {
                    let severity = match &f.acknowledged {
                        Some(_) => "acknowledged",
                        None => f.rule.severity.as_str(),
                    };
                    println!("  {severity:<12} {:<30} {}", f.rule.code, f.rule.title);
                    match &f.location {
                        Location::Key { key, origin, .. } => {
                            println!("  {:<12} at `{key}` ({})", "", origin.description)
                        }
                        Location::Output { file, line } => {
                            println!("  {:<12} at {file}:{line}", "")
                        }
                    }
                    if let Some(reason) = &f.acknowledged {
                        println!("  {:<12} reason: {reason}", "");
                    } else {
                        println!("  {:<12} why: {}", "", f.rule.explanation);
                        println!("  {:<12} fix: {}", "", f.rule.fix);
                    }
                }
                for code in &unknown {
                    println!(
                        "  warning: `audit.acknowledged.{code}` names no audit rule (see the README's list of codes)"
                    );
                }
                println!("  {}", audit_counts(&findings));
            }
        }
    }
    match ui.format {
        Format::Json => println!("{}", serde_json::json!({ "pods": json })),
        Format::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
                "version": "2.1.0",
                "runs": sarif_runs,
            }))
            .unwrap_or_default()
        ),
        Format::Human => {}
    }
    if invalid || denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `[1, 2, 3, 7]` -> `"1-3, 7"`.
fn ranges(lines: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = lines[i];
        while i + 1 < lines.len() && lines[i + 1] == lines[i] + 1 {
            i += 1;
        }
        parts.push(if lines[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", lines[i])
        });
        i += 1;
    }
    parts.join(", ")
}

/// Prints a report as pretty JSON (`--format json`).
fn print_json(report: &impl serde::Serialize) -> ExitCode {
    println!(
        "{}",
        serde_json::to_string_pretty(report).unwrap_or_default()
    );
    ExitCode::SUCCESS
}
