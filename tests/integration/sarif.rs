//! `audit --format sarif` as GitHub code scanning takes it: one run per invocation, rule
//! metadata with links that resolve, relative locations with lines; valid against the
//! SARIF 2.1.0 schema (shipped in `tests/fixtures/sarif/`) and the GitHub ingestion rules of
//! the SARIF multitool. And `--format github`, the workflow-command annotations.

use std::path::{Path, PathBuf};
use std::process::Command;

use prose_compile::audit::RULES;
use prose_compile::audit::sarif::{CATEGORY, RULES_DOC, help_uri};
use prose_compile::verify::{Outcome, require_or_skip};

use crate::support::{self, cli, repo};

/// A pod with findings of every kind of place: a key in the file (line and column), a
/// default (no line), and the process environment.
const POD: &str = "[server]\ndomain = \"a.org\"\n[server.defaults]\ntls_profile = \"old\"\n";

/// 25 pods (GitHub refuses more than 20 runs in a file), audited from their repository.
fn audit_many(format: &str) -> support::Ran {
    let mut run = cli();
    for i in 0..25 {
        run = run.file(&format!("pods/p{i:02}/prose.toml"), POD);
    }
    run.env(
        "PROSE_SERVER__DEFAULTS__PUSH_NOTIFICATION_WITH_BODY",
        "true",
    )
    .args(&["--format", format, "audit", "pods", "--deny", "critical"])
    .run()
    .status(0)
}

#[test]
fn one_run_for_every_pod_with_stable_rule_metadata_and_relative_locations() {
    let ran = audit_many("sarif");
    let sarif = ran.json();
    let runs = sarif["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "one run per invocation");
    let run = &runs[0];
    assert_eq!(run["automationDetails"]["id"], CATEGORY);
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "prose-compile");
    assert_eq!(driver["informationUri"], env!("CARGO_PKG_REPOSITORY"));
    let rules = driver["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), RULES.len());
    for (rule, sarif_rule) in RULES.iter().zip(rules) {
        assert_eq!(sarif_rule["id"], rule.code);
        assert_eq!(sarif_rule["helpUri"], help_uri(rule));
        assert!(sarif_rule["shortDescription"]["text"].is_string());
        assert!(sarif_rule["properties"]["security-severity"].is_string());
    }
    let results = run["results"].as_array().expect("results");
    let mut files = std::collections::BTreeSet::new();
    for result in results {
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(
            ran.path(uri).is_file(),
            "{uri} is not a file relative to where the audit ran"
        );
        assert!(
            location["region"]["startLine"]
                .as_u64()
                .is_some_and(|l| l >= 1)
        );
        files.insert(uri.to_owned());
    }
    assert_eq!(files.len(), 25, "every pod's findings: {files:?}");
    let tls = results
        .iter()
        .find(|r| r["ruleId"] == "tls-profile-old")
        .expect("tls-profile-old");
    assert_eq!(
        tls["locations"][0]["physicalLocation"]["region"],
        serde_json::json!({"startLine": 4, "startColumn": 15})
    );
}

/// Every rule's `helpUri` names a heading of `docs/audit-rules.md`, which is generated from
/// the rule table (`PROSE_COMPILE_BLESS=1` rewrites it).
#[test]
fn the_rules_document_has_a_heading_per_rule() {
    let mut doc = String::from(
        "# Audit rules\n\n\
         Generated from `rules!` in `src/audit/mod.rs` by `PROSE_COMPILE_BLESS=1 cargo test`; \
         each rule's SARIF `helpUri` points at its heading. To accept a finding on purpose, \
         give a reason in `[audit.acknowledged]` (see [audit.md](audit.md)).\n",
    );
    for rule in RULES {
        doc += &format!(
            "\n## {}\n\n**{}**: {}\n\n{}\n\n**Fix:** {}\n",
            rule.code,
            rule.severity.as_str(),
            rule.title,
            rule.explanation,
            rule.fix
        );
    }
    support::assert_snapshot(&repo().join(RULES_DOC), &doc);
    for rule in RULES {
        let anchor = help_uri(rule)
            .rsplit_once('#')
            .expect("anchor")
            .1
            .to_owned();
        assert!(doc.contains(&format!("\n## {anchor}\n")), "{anchor}");
    }
}

#[test]
fn the_log_is_valid_against_the_sarif_2_1_0_schema() {
    let schema_path = repo().join("tests/fixtures/sarif/sarif-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema"))
            .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let ran = audit_many("sarif");
    let errors: Vec<String> = validator
        .iter_errors(&ran.json())
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // And the schema is not a formality: a result without a message is refused.
    let mut broken = ran.json();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .expect("result")
        .remove("message");
    assert!(!validator.is_valid(&broken));
}

/// The SARIF multitool (`npm install -g @microsoft/sarif-multitool`): its SARIF rules and
/// GitHub's ingestion rules (`--rule-kind "Sarif;Ghas"`) report no error and no warning. It
/// exits 0 whatever it finds, so its own SARIF output is read.
#[test]
fn the_sarif_multitool_finds_no_error_or_warning() {
    let Some(tool) = multitool() else { return };
    let ran = audit_many("sarif");
    let dir = ran.dir.as_ref().expect("temp dir").path();
    let input = dir.join("audit.sarif");
    std::fs::write(&input, &ran.stdout).expect("write");
    let output = dir.join("validation.sarif");
    let out = Command::new(&tool)
        .args([
            "validate",
            "--rule-kind",
            "Sarif;Ghas",
            "--level",
            "Error;Warning",
        ])
        .arg("-o")
        .arg(&output)
        .arg(&input)
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .output()
        .expect("run the multitool");
    let report = std::fs::read_to_string(&output).unwrap_or_else(|_| {
        panic!(
            "no validation output: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let report: serde_json::Value = serde_json::from_str(&report).expect("validation JSON");
    let problems: Vec<String> = report["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|run| run["results"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["level"] == "error" || r["level"] == "warning")
        .map(|r| format!("{} {}: {}", r["level"], r["ruleId"], r["message"]))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    // The tool sees GitHub's rules: the log before this changes (a run per pod, 25
    // runs) is refused.
    let mut many_runs = ran.json();
    let run = many_runs["runs"][0].clone();
    many_runs["runs"] = serde_json::Value::Array(vec![run; 21]);
    std::fs::write(&input, many_runs.to_string()).expect("write");
    let _ = std::fs::remove_file(&output);
    Command::new(&tool)
        .args([
            "validate",
            "--rule-kind",
            "Sarif;Ghas",
            "--level",
            "Error;Warning",
        ])
        .arg("-o")
        .arg(&output)
        .arg(&input)
        .output()
        .expect("run the multitool");
    let report = std::fs::read_to_string(&output).expect("validation output");
    assert!(report.contains("GH1013"), "21 runs not refused: {report}");
}

/// `Sarif.Multitool` on `PATH`, or in the global npm packages; else a visible skip.
fn multitool() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("Sarif.Multitool"))
        .find(|p| p.is_file());
    let from_npm = || {
        let out = Command::new("npm").args(["root", "-g"]).output().ok()?;
        let root = String::from_utf8(out.stdout).ok()?;
        let tool = Path::new(root.trim()).join("@microsoft/sarif-multitool-linux/Sarif.Multitool");
        tool.is_file().then_some(tool)
    };
    if let Some(tool) = on_path.or_else(from_npm) {
        return Some(tool);
    }
    require_or_skip(&Outcome::Skipped {
        reason: "the SARIF multitool is not installed (npm install -g @microsoft/sarif-multitool)"
            .into(),
    });
    None
}

#[test]
fn github_annotations_for_check_and_audit() {
    let ran = cli()
        .file("pods/a/prose.toml", POD)
        .file(
            "pods/b/prose.toml",
            "[server]\ndomain = \"b.org\"\nlog_level = \"loud\"\n",
        )
        .args(&["--format", "github", "check", "--no-env", "pods"])
        .run()
        .status(1);
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{ran}");
    assert!(
        lines[0].starts_with("::error file=pods/b/prose.toml,line=3,col="),
        "{ran}"
    );
    assert!(lines[0].contains(",title=prose%3A%3A"), "{ran}");

    let ran = cli()
        .file("pods/a/prose.toml", POD)
        .args(&["--format", "github", "audit", "--no-env", "pods"])
        .run()
        .status(0);
    assert!(
        ran.stdout.lines().any(|l| l.starts_with(
            "::warning file=pods/a/prose.toml,line=4,col=15,title=prose-compile audit%3A tls-profile-old::"
        )),
        "{ran}"
    );
    // A finding on a default points at the pod's file, without a line.
    assert!(
        ran.stdout.lines().any(|l| l.starts_with(
            "::notice file=pods/a/prose.toml,title=prose-compile audit%3A archive-kept-forever::"
        )),
        "{ran}"
    );
    assert!(ran.stdout.lines().all(|l| l.starts_with("::")), "{ran}");

    cli()
        .args(&["--format", "github", "explain", "examples/minimal"])
        .run()
        .status(2);
}

#[test]
fn audit_json_gives_each_finding_its_file_and_line() {
    let ran = cli()
        .file("pods/a/prose.toml", POD)
        .args(&["--format", "json", "audit", "--no-env", "pods"])
        .run()
        .status(0);
    let json = ran.json();
    let findings = json["pods"][0]["findings"].as_array().expect("findings");
    let tls = findings
        .iter()
        .find(|f| f["code"] == "tls-profile-old")
        .expect("tls-profile-old");
    assert_eq!(tls["file"], "pods/a/prose.toml");
    assert_eq!(tls["line"], 4);
    assert_eq!(tls["column"], 15);
    let archive = findings
        .iter()
        .find(|f| f["code"] == "archive-kept-forever")
        .expect("archive-kept-forever");
    assert_eq!(archive["file"], "pods/a/prose.toml");
    assert!(archive["line"].is_null());
}
