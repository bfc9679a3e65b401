//! `explain`: where a value comes from (`KEY`), every value set away from its default (no
//! key), or which keys produce a generated line (`--from FILE:LINE`).

use std::io::Write;
use std::path::Path;

use super::args::LoadArgs;
use super::exit::{Exit, Outcome, Stop};
use super::ui::{Ui, plural};
use prose_compile::config::load;
use prose_compile::diagnostics;
use prose_compile::explain::{
    KeyReport, LineReport, Setting, explain_all, explain_key_for, explain_line_for, show,
};
use prose_compile::pipeline;

pub fn run(
    ui: &Ui,
    path: Option<&Path>,
    key: Option<&str>,
    from: Option<&str>,
    load_args: &LoadArgs,
) -> Outcome {
    // `explain server.domain`: a lone argument that names no file is a key of the pod here.
    let (path, key) = match (path, key, from) {
        (Some(lone), None, None) if !lone.exists() && looks_like_key(lone) => (None, lone.to_str()),
        _ => (path, key),
    };
    let pod = match path {
        Some(path) => pipeline::one_pod(path),
        None => pipeline::pod_here(),
    }
    .map_err(Stop::Usage)?;
    if let Some(problem) = pod.name_problem() {
        return Err(Stop::Usage(problem));
    }
    let loaded = load(&pod.config, &load_args.options()).map_err(|e| Stop::Usage(e.to_string()))?;
    if loaded.has_errors() {
        if ui.human() {
            ui.diagnostics(&loaded.diagnostics, &loaded.sources);
        } else {
            ui.json(
                &serde_json::json!({
                    "path": pod.config.display().to_string(),
                    "valid": false,
                    "diagnostics": diagnostics::all_to_json(&loaded.diagnostics, &loaded.sources),
                }),
                true,
            )?;
        }
        return Ok(Exit::Failure);
    }
    let paths: Vec<std::path::PathBuf> = path.map(Path::to_owned).into_iter().collect();
    let out = &mut ui.out();
    if let Some(from) = from {
        let (file, line) = parse_from(from)?;
        let platform = super::target::platform_of_file(ui, load_args, &paths, file)?;
        let report = explain_line_for(&loaded, file, line, &platform).map_err(Stop::Usage)?;
        if ui.human() {
            print_line(out, &report)?;
        } else {
            ui.json(&report, true)?;
        }
    } else if let Some(key) = key {
        let platform = super::target::platform(ui, load_args, &paths)?;
        let report = explain_key_for(&loaded, key, &platform).map_err(Stop::Usage)?;
        if ui.human() {
            print_key(out, &report)?;
        } else {
            ui.json(&report, true)?;
        }
    } else {
        let settings = explain_all(&loaded);
        if ui.human() {
            print_all(out, &settings)?;
        } else {
            ui.json(&settings, true)?;
        }
    }
    Ok(Exit::Success)
}

/// A key path rather than a path: no separator, no `prose.toml` (`server.defaults.tls_profile`,
/// `prosody."example.org".overrides.x`).
fn looks_like_key(arg: &Path) -> bool {
    arg.to_str().is_some_and(|s| {
        !s.is_empty() && !s.contains(std::path::MAIN_SEPARATOR) && !s.ends_with(".toml")
    })
}

/// `etc/prosody/prosody.cfg.lua:42` -> the file and the line.
fn parse_from(from: &str) -> Result<(&str, usize), Stop> {
    from.rsplit_once(':')
        .and_then(|(f, l)| Some((f, l.parse::<usize>().ok()?)))
        .ok_or_else(|| Stop::Usage(format!("--from {from}: expected OUTPUT_FILE:LINE")))
}

fn print_line(out: &mut impl Write, report: &LineReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{}:{}: {}",
        report.file,
        report.line,
        report.text.trim()
    )?;
    if report.causes.is_empty() {
        writeln!(
            out,
            "  fixed by the template: no configuration value changes this line"
        )?;
    }
    for cause in &report.causes {
        writeln!(
            out,
            "  {} = {}    ({})",
            cause.key,
            show(&cause.value),
            cause.origin.description
        )?;
    }
    Ok(())
}

fn print_all(out: &mut impl Write, settings: &[Setting]) -> std::io::Result<()> {
    let mut section = "";
    for s in settings {
        if s.section != section {
            section = &s.section;
            writeln!(out, "[{section}]")?;
        }
        writeln!(
            out,
            "  {} = {}    ({})",
            s.key,
            show(&s.value),
            s.origin.description
        )?;
    }
    Ok(())
}

fn print_key(out: &mut impl Write, report: &KeyReport) -> std::io::Result<()> {
    writeln!(out, "{} = {}", report.key, show(&report.value))?;
    writeln!(out, "  set by: {}", report.origin.description)?;
    for replaced in &report.overridden {
        writeln!(
            out,
            "  overrides: {} ({})",
            show(&replaced.value),
            replaced.origin.description
        )?;
    }
    if let Some(description) = &report.description {
        writeln!(out, "  about: {}", description.replace('\n', " "))?;
    }
    writeln!(out, "  type: {}", report.kind)?;
    if !report.allowed.is_empty() {
        writeln!(out, "  allowed: {}", report.allowed.join(", "))?;
    }
    if let Some(default) = &report.default {
        writeln!(out, "  default: {}", show(default))?;
    }
    writeln!(out, "  environment: {}", report.env_var)?;
    if let Some(c) = &report.compatibility {
        writeln!(out, "  Pod API: {}", c.pod_api)?;
        writeln!(out, "  Pod Server: {}", c.pod_server)?;
        if let Some(note) = &c.note {
            writeln!(out, "  compatibility note: {note}")?;
        }
        writeln!(out, "  written to: {}", c.written_to)?;
    }
    if report.affects.is_empty() {
        writeln!(out, "  affects no generated file")?;
    }
    for lines in &report.affects {
        writeln!(
            out,
            "  affects: {} line{} {}",
            lines.file,
            plural(lines.lines.len()),
            ranges(&lines.lines)
        )?;
    }
    Ok(())
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
