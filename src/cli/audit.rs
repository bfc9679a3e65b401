//! `audit`: each pod's findings, as text, JSON, SARIF or GitHub annotations.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::args::{DenyLevel, Format, LoadArgs};
use super::exit::{Exit, Outcome, Stop};
use super::github::{self, Annotation, Level};
use super::ui::{Ui, plural};
use prose_compile::audit::{self, Finding, Location, Place, Severity};
use prose_compile::config::{EnvUse, load};
use prose_compile::diagnostics::{self, JsonDiagnostic};
use prose_compile::pipeline;
use prose_compile::targets::kubernetes::{self, fleet};
use prose_compile::targets::{self, Platform};

/// `--format json`.
#[derive(Serialize)]
struct Report {
    pods: Vec<AuditedPod>,
}

#[derive(Serialize)]
struct AuditedPod {
    path: String,
    /// `false` when the configuration is invalid (its diagnostics say why; no findings).
    valid: bool,
    diagnostics: Vec<JsonDiagnostic>,
    findings: Vec<PlacedFinding>,
    unknown_acknowledgements: Vec<String>,
    /// The values `PROSE_*` variables set.
    environment: Vec<EnvUse>,
}

/// A finding with the file, line and column it points at.
#[derive(Serialize)]
struct PlacedFinding {
    #[serde(flatten)]
    finding: Finding,
    #[serde(flatten)]
    place: Place,
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
    let platform = super::target::platform(ui, load_args, paths)?;
    let (mut invalid, mut denied) = (false, false);
    let mut report = Report { pods: Vec::new() };
    let base = std::env::current_dir().unwrap_or_default();
    let mut sarif = audit::sarif::Log::new(&base);
    let mut failed = false;
    let mut stopped: Option<Stop> = None;
    // Pods are loaded, compiled and audited on every core; each is printed (and dropped) in
    // order as soon as it and those before it are done.
    let audit_pod = |pod: &pipeline::Pod| -> Result<Audited, String> {
        if let Some(problem) = pod.name_problem() {
            return Ok(Audited::Refused(problem));
        }
        let loaded = load(&pod.config, &options).map_err(|e| e.to_string())?;
        if loaded.has_errors() {
            return Ok(Audited::Invalid(loaded));
        }
        let tree = pipeline::compile_for(
            &loaded,
            &pipeline::input_label(pod),
            targets::embedded_templates(),
            &platform,
        )
        .ok();
        let findings = audit::audit(&loaded, tree.as_ref());
        Ok(Audited::Valid(loaded, findings))
    };
    let mut consume =
        |(pod, audited): (&pipeline::Pod, Result<Audited, String>)| -> Result<(), Stop> {
            let (loaded, findings) = match audited.map_err(Stop::Usage)? {
                Audited::Refused(problem) => {
                    super::exit::error(&problem);
                    failed = true;
                    return Ok(());
                }
                Audited::Invalid(loaded) => {
                    invalid = true;
                    let name = pod.config.display().to_string();
                    match ui.format {
                        Format::Json => report.pods.push(AuditedPod {
                            path: name,
                            valid: false,
                            diagnostics: diagnostics::all_to_json(
                                &loaded.diagnostics,
                                &loaded.sources,
                            ),
                            findings: Vec::new(),
                            unknown_acknowledgements: Vec::new(),
                            environment: loaded.environment_uses(),
                        }),
                        Format::Github => github::diagnostics(
                            &mut ui.out(),
                            &loaded.diagnostics,
                            &loaded.sources,
                        )?,
                        Format::Human | Format::Sarif => {
                            ui.diagnostics(&loaded.diagnostics, &loaded.sources)
                        }
                    }
                    return Ok(());
                }
                Audited::Valid(loaded, findings) => (loaded, findings),
            };
            let name = pod.config.display().to_string();
            let environment = loaded.environment_uses();
            denied |= deny.is_some_and(|level| audit::denied(&findings, level.into()));
            let unknown = loaded
                .config
                .as_ref()
                .map(audit::unknown_acknowledgements)
                .unwrap_or_default();
            let tree_dir = match (&platform, loaded.config.as_ref().and_then(fleet::fleet_pod)) {
                (Platform::Kubernetes(_), Some(place)) => {
                    output.join(kubernetes::DIR).join(place.dir)
                }
                _ => output.join(&pod.relative_dir),
            };
            match ui.format {
                Format::Sarif => sarif.add_pod(&findings, &loaded, &tree_dir),
                Format::Json => report.pods.push(AuditedPod {
                    path: name,
                    valid: true,
                    diagnostics: Vec::new(),
                    findings: findings
                        .into_iter()
                        .map(|finding| PlacedFinding {
                            place: audit::place(&finding, &loaded, &tree_dir),
                            finding,
                        })
                        .collect(),
                    unknown_acknowledgements: unknown,
                    environment,
                }),
                Format::Github => annotate(&mut ui.out(), &findings, &loaded, &tree_dir)?,
                Format::Human => {
                    super::environment::note(ui, &name, &environment);
                    print_human(&mut ui.out(), &name, &findings, &unknown)?
                }
            }
            Ok(())
        };
    let indices: Vec<usize> = (0..pods.len()).collect();
    pipeline::parallel::for_each_in_order(
        &indices,
        &|_| {},
        |&i| (i, audit_pod(&pods[i])),
        |(i, audited)| {
            if stopped.is_none()
                && let Err(stop) = consume((&pods[i], audited))
            {
                stopped = Some(stop);
            }
        },
    );
    if let Some(stop) = stopped {
        return Err(stop);
    }
    match ui.format {
        Format::Json => ui.json(&report, false)?,
        Format::Sarif => ui.json(&sarif.to_json(), true)?,
        Format::Human | Format::Github => {}
    }
    Ok(if failed {
        Exit::Error
    } else {
        Exit::failure_if(invalid || denied)
    })
}

/// What auditing one pod found.
enum Audited {
    /// The pod cannot be run as it is named: why.
    Refused(String),
    Invalid(prose_compile::config::Loaded),
    Valid(prose_compile::config::Loaded, Vec<Finding>),
}

/// Unacknowledged findings as annotations on the line that causes them.
fn annotate(
    out: &mut impl Write,
    findings: &[Finding],
    loaded: &prose_compile::config::Loaded,
    tree_dir: &Path,
) -> std::io::Result<()> {
    for f in findings.iter().filter(|f| f.acknowledged.is_none()) {
        let place = audit::place(f, loaded, tree_dir);
        let message = format!(
            "{}\n{}\nfix: {}",
            audit::message(f),
            f.rule.explanation,
            f.rule.fix
        );
        github::write(
            out,
            &Annotation {
                level: match f.rule.severity {
                    Severity::Critical => Level::Error,
                    Severity::Warning => Level::Warning,
                    Severity::Suggestion => Level::Notice,
                },
                file: Some(&place.file),
                line: place.line,
                column: place.column,
                title: &format!("prose-compile audit: {}", f.rule.code),
                message: &message,
            },
        )?;
    }
    Ok(())
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
            "  warning: `audit.acknowledged.{code}` names no audit rule (see docs/audit-rules.md)"
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
