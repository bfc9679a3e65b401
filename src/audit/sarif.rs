//! The findings as SARIF 2.1.0, for code scanning in CI.
//!
//! One run per invocation, whatever the number of pods: GitHub refuses a file with more than
//! 20 runs, or with several runs of the same tool and category. The rules carry stable
//! metadata (`helpUri` into `docs/audit-rules.md`), the run an `automationDetails.id` (the
//! category), every result a location relative to the directory the audit ran in.

use std::path::{Component, Path, PathBuf};

use serde_json::{Value as Json, json};

use super::{Finding, RULES, Rule, Severity, message, place};
use crate::config::load::Loaded;

/// Where the rules are documented, one heading per code (`docs/audit-rules.md`).
pub const RULES_DOC: &str = "docs/audit-rules.md";

/// The run's category on GitHub (`automationDetails.id`): one per tool and command.
pub const CATEGORY: &str = "prose-compile/audit/";

/// The base every relative `artifactLocation.uri` is resolved against (GitHub's convention).
const SOURCE_ROOT: &str = "%SRCROOT%";

/// The SARIF log of one `audit` invocation: one run, every pod's results.
#[derive(Debug)]
pub struct Log {
    /// What relative URIs are relative to: the directory the audit runs in.
    base: PathBuf,
    results: Vec<Json>,
}

impl Log {
    /// An empty log whose paths are made relative to `base` (the working directory).
    pub fn new(base: &Path) -> Log {
        Log {
            base: base.to_owned(),
            results: Vec::new(),
        }
    }

    /// Adds a pod's findings; `tree_dir` is where its tree is built (`out`, `out/<pod>`).
    pub fn add_pod(&mut self, findings: &[Finding], loaded: &Loaded, tree_dir: &Path) {
        for finding in findings {
            self.results
                .push(result(finding, loaded, tree_dir, &self.base));
        }
    }

    /// The log as JSON.
    pub fn to_json(&self) -> Json {
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "prose-compile",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": RULES.iter().map(rule).collect::<Vec<_>>(),
                }},
                "automationDetails": { "id": CATEGORY },
                "columnKind": "unicodeCodePoints",
                "results": self.results,
            }],
        })
    }
}

/// The documentation of a rule: its heading in [`RULES_DOC`].
pub fn help_uri(rule: &Rule) -> String {
    format!(
        "{}/blob/main/{RULES_DOC}#{}",
        env!("CARGO_PKG_REPOSITORY"),
        rule.code
    )
}

fn rule(rule: &Rule) -> Json {
    json!({
        "id": rule.code,
        "name": pascal_case(rule.code),
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": rule.explanation },
        "help": {
            "text": format!("{}\n\nFix: {}", rule.explanation, rule.fix),
            "markdown": format!("{}\n\n**Fix:** {}", rule.explanation, rule.fix),
        },
        "helpUri": help_uri(rule),
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": {
            "tags": ["security", "configuration"],
            "precision": "very-high",
            // GitHub's critical/high/medium/low label.
            "security-severity": match rule.severity {
                Severity::Critical => "9.0",
                Severity::Warning => "5.0",
                Severity::Suggestion => "2.0",
            },
        },
    })
}

fn result(finding: &Finding, loaded: &Loaded, tree_dir: &Path, base: &Path) -> Json {
    let place = place(finding, loaded, tree_dir);
    let mut region = json!({ "startLine": place.line.unwrap_or(1) });
    if let Some(column) = place.column {
        region["startColumn"] = column.into();
    }
    let (uri, relative) = artifact_uri(Path::new(&place.file), base);
    let mut artifact = json!({ "uri": uri });
    if relative {
        artifact["uriBaseId"] = SOURCE_ROOT.into();
    }
    let index = RULES.iter().position(|r| r.code == finding.rule.code);
    let mut result = json!({
        "ruleId": finding.rule.code,
        "ruleIndex": index,
        "level": level(finding.rule.severity),
        "message": { "text": message(finding) },
        "locations": [{ "physicalLocation": {
            "artifactLocation": artifact,
            "region": region,
        }}],
    });
    if let Some(reason) = &finding.acknowledged {
        result["suppressions"] = json!([{ "kind": "inSource", "justification": reason }]);
    }
    result
}

/// The URI of a file, and whether it is relative (to `base`, the source root): relative
/// when the file is below `base`, else a `file:` URI.
fn artifact_uri(file: &Path, base: &Path) -> (String, bool) {
    let absolute = normalize(&base.join(file));
    match absolute.strip_prefix(normalize(base)) {
        Ok(relative) => (
            relative
                .components()
                .map(|c| percent_encode(&c.as_os_str().to_string_lossy()))
                .collect::<Vec<_>>()
                .join("/"),
            true,
        ),
        Err(_) => (
            url::Url::from_file_path(&absolute)
                .map(String::from)
                .unwrap_or_else(|()| percent_encode(&absolute.to_string_lossy())),
            false,
        ),
    }
}

/// `a/./b/../c` → `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A path segment as URI text: unreserved characters kept, every other byte `%XX`.
fn percent_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `push-body` → `PushBody` (SARIF's rule `name` is an identifier).
fn pascal_case(code: &str) -> String {
    code.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "error",
        Severity::Warning => "warning",
        Severity::Suggestion => "note",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_below_the_base_and_file_uris_elsewhere() {
        let base = Path::new("/repo");
        assert_eq!(
            artifact_uri(Path::new("pods/crisp/prose.toml"), base),
            ("pods/crisp/prose.toml".into(), true)
        );
        assert_eq!(
            artifact_uri(Path::new("./pods/a b/prose.toml"), base),
            ("pods/a%20b/prose.toml".into(), true)
        );
        assert_eq!(
            artifact_uri(Path::new("/repo/out/x:y"), base),
            ("out/x%3Ay".into(), true)
        );
        assert_eq!(
            artifact_uri(Path::new("../elsewhere/prose.toml"), base),
            ("file:///elsewhere/prose.toml".into(), false)
        );
        assert_eq!(pascal_case("nginx-no-hsts"), "NginxNoHsts");
    }
}
