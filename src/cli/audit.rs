//! `audit`: each pod's findings, as text, JSON or SARIF.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::args::{DenyLevel, Format, LoadArgs};
use super::exit::{Exit, Outcome, Stop};
use super::ui::{Ui, plural};
use prose_compile::audit::{self, Finding, Location, Severity};
use prose_compile::config::{EnvUse, load};
use prose_compile::pipeline;

/// `--format json`.
#[derive(Serialize)]
struct Report {
    pods: Vec<AuditedPod>,
}

#[derive(Serialize)]
struct AuditedPod {
    path: String,
    findings: Vec<Finding>,
    unknown_acknowledgements: Vec<String>,
    /// The values `PROSE_*` variables set.
    environment: Vec<EnvUse>,
}

pub fn run(
    ui: &Ui,
    paths: &[PathBuf],
    deny: Option<DenyLevel>,
    output: &Path,
    load_args: &LoadArgs,
) -> Outcome {
    let pods = super::find_pods(paths, None)?;
    let options = load_args.options();
    let (mut invalid, mut denied) = (false, false);
    let mut report = Report { pods: Vec::new() };
    let mut sarif = audit::sarif::Log::default();
    for pod in &pods {
        let loaded = load(&pod.config, &options).map_err(|e| Stop::Usage(e.to_string()))?;
        if loaded.has_errors() {
            ui.diagnostics(&loaded.diagnostics, &loaded.sources);
            invalid = true;
            continue;
        }
        let tree = pipeline::compile(&loaded, &pipeline::input_label(pod)).ok();
        let findings = audit::audit(&loaded, tree.as_ref());
        denied |= deny.is_some_and(|level| audit::denied(&findings, level.into()));
        let unknown = loaded
            .config
            .as_ref()
            .map(audit::unknown_acknowledgements)
            .unwrap_or_default();
        let name = pod.config.display().to_string();
        if ui.human() {
            super::environment::note(ui, &name, &loaded.environment_uses());
        }
        match ui.format {
            Format::Sarif => {
                let tree_dir = output.join(&pod.relative_dir);
                sarif.add_run(&findings, &loaded, &tree_dir.to_string_lossy());
            }
            Format::Json => report.pods.push(AuditedPod {
                path: name,
                findings,
                unknown_acknowledgements: unknown,
                environment: loaded.environment_uses(),
            }),
            Format::Human => print_human(&mut ui.out(), &name, &findings, &unknown)?,
        }
    }
    match ui.format {
        Format::Json => ui.json(&report, false)?,
        Format::Sarif => ui.json(&sarif, true)?,
        Format::Human => {}
    }
    Ok(Exit::failure_if(invalid || denied))
}

fn print_human(
    out: &mut impl Write,
    name: &str,
    findings: &[Finding],
    unknown: &[String],
) -> std::io::Result<()> {
    writeln!(out, "{name}")?;
    for f in findings {
        let severity = match &f.acknowledged {
            Some(_) => "acknowledged",
            None => f.rule.severity.as_str(),
        };
        writeln!(out, "  {severity:<12} {:<30} {}", f.rule.code, f.rule.title)?;
        match &f.location {
            Location::Key { key, origin, .. } => {
                writeln!(out, "  {:<12} at `{key}` ({})", "", origin.description)?
            }
            Location::Output { file, line } => writeln!(out, "  {:<12} at {file}:{line}", "")?,
        }
        if let Some(reason) = &f.acknowledged {
            writeln!(out, "  {:<12} reason: {reason}", "")?;
        } else {
            writeln!(out, "  {:<12} why: {}", "", f.rule.explanation)?;
            writeln!(out, "  {:<12} fix: {}", "", f.rule.fix)?;
        }
    }
    for code in unknown {
        writeln!(
            out,
            "  warning: `audit.acknowledged.{code}` names no audit rule (see the README's list of codes)"
        )?;
    }
    writeln!(out, "  {}", counts(findings))
}

/// `0 critical, 2 warnings, 1 suggestion (1 acknowledged)`.
pub fn counts(findings: &[Finding]) -> String {
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
