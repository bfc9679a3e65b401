//! The findings as SARIF 2.1.0, for code scanning in CI.

use serde::Serialize;
use serde_json::Value as Json;

use super::{Finding, Location, RULES, Severity, message};
use crate::config::load::Loaded;

/// A SARIF log: one run per pod.
#[derive(Debug, Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Json>,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            schema: "https://json.schemastore.org/sarif-2.1.0.json",
            version: "2.1.0",
            runs: Vec::new(),
        }
    }
}

impl Log {
    /// Adds a pod's findings; `tree_dir` is where its tree is built (`out`, `out/<pod>`).
    pub fn add_run(&mut self, findings: &[Finding], loaded: &Loaded, tree_dir: &str) {
        self.runs.push(run(findings, loaded, tree_dir));
    }
}

/// The findings as SARIF 2.1.0, for code-scanning in CI.
/// One SARIF run: the findings of one pod. `tree_dir` is where its tree is built, for findings
/// in generated files.
fn run(findings: &[Finding], loaded: &Loaded, tree_dir: &str) -> Json {
    let rules: Vec<Json> = RULES
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.code,
                "name": r.title,
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": r.explanation },
                "help": { "text": r.fix },
                "defaultConfiguration": { "level": sarif_level(r.severity) },
            })
        })
        .collect();
    let results: Vec<Json> = findings
        .iter()
        .map(|f| {
            let (uri, line, column) = match &f.location {
                Location::Key {
                    span: Some(span), ..
                } => {
                    let (line, col) = loaded.sources.line_col(*span);
                    (loaded.sources.get(span.source).name.clone(), line, col)
                }
                Location::Key { .. } => (loaded.path.display().to_string(), 1, 1),
                Location::Output { file, line } => (format!("{tree_dir}/{file}"), *line, 1),
            };
            let mut result = serde_json::json!({
                "ruleId": f.rule.code,
                "level": sarif_level(f.rule.severity),
                "message": { "text": message(f) },
                "locations": [{ "physicalLocation": {
                    "artifactLocation": { "uri": uri },
                    "region": { "startLine": line, "startColumn": column },
                }}],
            });
            if let Some(reason) = &f.acknowledged {
                result["suppressions"] =
                    serde_json::json!([{ "kind": "inSource", "justification": reason }]);
            }
            result
        })
        .collect();
    serde_json::json!({
        "tool": { "driver": { "name": "prose-compile", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
        "results": results,
    })
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "error",
        Severity::Warning => "warning",
        Severity::Suggestion => "note",
    }
}
