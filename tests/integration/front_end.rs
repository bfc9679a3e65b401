//! The front end on real input: the committed schema, an independent validator, the
//! shipped examples, preset resolution and provenance of every kind of origin.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use prose_compile::config::env::parse_set;
use prose_compile::config::{LoadOptions, Loaded, load};
use prose_compile::provenance::Origin;
use prose_compile::verify::Outcome;
use prose_compile::verify::require_or_skip;
use support::repo;

fn examples() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("prose.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn load_with(path: &Path, options: LoadOptions) -> Loaded {
    let loaded = load(path, &options).expect("readable");
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    loaded
}

fn isolated() -> LoadOptions {
    LoadOptions::default()
}

/// The committed schemas are regenerated like the golden trees: `PROSE_COMPILE_BLESS=1 cargo
/// test` (the binary embeds them, so writing one with `cargo run -- schema` into place would
/// empty it before the build reads it).
fn assert_committed(relative: &str, generated: &str) {
    let path = repo().join(relative);
    if support::blessing() {
        std::fs::write(&path, generated).unwrap_or_else(|e| panic!("write {relative}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    assert!(
        committed == generated,
        "{relative} is stale: run `{}=1 cargo test`, review the change and commit it",
        support::BLESS
    );
}

#[test]
fn committed_schema_matches_the_model() {
    use prose_compile::config::schema::{SCHEMA_PATH, schema_text};
    assert_committed(SCHEMA_PATH, &schema_text());
}

/// The schema the built-in validator is compiled from (the committed one without the
/// patterns of string formats, `config::schema::validator_schema`).
#[test]
fn committed_validator_schema_matches_the_model() {
    use prose_compile::config::schema::{VALIDATOR_SCHEMA_PATH, validator_schema_text};
    assert_committed(VALIDATOR_SCHEMA_PATH, &validator_schema_text());
}

#[test]
fn every_example_is_valid() {
    let examples = examples();
    assert!(examples.len() >= 5);
    for dir in examples {
        load_with(
            &dir.join("prose.toml"),
            LoadOptions {
                sibling_env_file: true,
                ..isolated()
            },
        );
    }
}

/// Codes of diagnostics that come from the schema itself (not semantic checks or parsing).
const SCHEMA_CODES: &[&str] = &[
    "type",
    "enum",
    "range",
    "length",
    "pattern",
    "unknown-key",
    "missing-key",
    "duplicate-item",
    "prosody-table",
];

#[test]
fn independent_validator_accepts_examples_and_rejects_schema_violations() {
    let python = Path::new("/usr/bin/python3");
    let probe = Command::new(python)
        .args(["-c", "import jsonschema, tomllib"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        let outcome = Outcome::Skipped {
            reason: "python3-jsonschema not installed (apt-get install python3-jsonschema)".into(),
        };
        require_or_skip(&outcome);
        return;
    }
    let mut good: Vec<PathBuf> = examples().iter().map(|d| d.join("prose.toml")).collect();
    good.sort();
    // Bad cases whose first diagnostic is a schema violation in the file itself.
    let mut bad = Vec::new();
    for case in crate::check_cases::cases() {
        if !case.file_only() || case.exit() == 0 {
            continue;
        }
        let config = crate::check_cases::config_of(&case);
        let loaded = load(&config, &isolated()).expect("readable");
        if loaded
            .diagnostics
            .iter()
            .any(|d| d.is_error() && SCHEMA_CODES.contains(&d.code.as_str()))
        {
            bad.push(config);
        }
    }
    assert!(
        bad.len() >= 20,
        "expected at least 20 schema-violation cases, found {}",
        bad.len()
    );
    let mut args = vec![
        repo().join("tests/integration/support/validate_schema.py"),
        repo().join(prose_compile::config::schema::SCHEMA_PATH),
    ];
    args.extend(good.iter().cloned());
    args.extend(bad.iter().cloned());
    let out = Command::new(python).args(&args).output().expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for file in &good {
        let errors = &results[file.to_string_lossy().as_ref()];
        assert_eq!(
            errors,
            &serde_json::json!([]),
            "{} rejected by the independent validator",
            file.display()
        );
    }
    for file in &bad {
        let errors = results[file.to_string_lossy().as_ref()]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            !errors.is_empty(),
            "{} accepted by the independent validator",
            file.display()
        );
    }
}

#[test]
fn gdpr_example_resolves_the_preset_chain_with_provenance() {
    let path = repo().join("examples/gdpr-analytics/prose.toml");
    let loaded = load_with(
        &path,
        LoadOptions {
            sibling_env_file: true,
            ..isolated()
        },
    );
    let config = loaded.config.as_ref().expect("valid");
    let va = &config.vendor_analytics;
    assert_eq!(va.min_cohort_size, Some(50), "from preset acme");
    assert_eq!(
        va.usage.user_lang.max_locales,
        Some(1),
        "from the tweaked gdpr preset"
    );
    assert!(!va.usage.user_platform.enabled, "from preset acme");
    assert!(
        !va.usage.user_app_version.enabled,
        "explicit key beats presets"
    );
    assert!(!va.acquisition.pod_domain.enabled, "from preset default");
    assert!(va.usage.pod_version.enabled, "from preset all");
    assert_eq!(format!("{:?}", config.log.level), "Warn", "from prose.env");

    let origin = |path: &[&str]| {
        loaded
            .tree
            .get_path(path)
            .map(|n| n.origin.clone())
            .expect("set")
    };
    match origin(&["vendor_analytics", "usage", "user_lang", "max_locales"]) {
        Origin::Preset { name, chain, at } => {
            assert_eq!(name, "gdpr");
            assert_eq!(chain, ["acme"]);
            assert!(at.is_some(), "the tweak was written in the file");
        }
        other => panic!("unexpected origin {other:?}"),
    }
    match origin(&["vendor_analytics", "usage", "pod_version", "enabled"]) {
        Origin::Preset { name, chain, at } => {
            assert_eq!(name, "all");
            assert_eq!(chain, ["acme", "gdpr", "default"]);
            assert!(at.is_none(), "built-in");
        }
        other => panic!("unexpected origin {other:?}"),
    }
    match origin(&["log", "level"]) {
        Origin::Env { var, span } => {
            assert_eq!(var, "PROSE_LOG__LEVEL");
            assert_eq!(
                loaded.sources.describe(span),
                format!("{}:3:18", path.with_file_name("prose.env").display())
            );
        }
        other => panic!("unexpected origin {other:?}"),
    }
}

#[test]
fn layers_override_in_order_and_remember_what_they_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("prose.toml");
    std::fs::write(
        &config,
        "[server]\ndomain = \"example.org\"\nlog_level = \"warn\"\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("prose.env"),
        "PROSE_SERVER__LOG_LEVEL=error\n",
    )
    .expect("write");
    let env_file = dir.path().join("extra.env");
    std::fs::write(&env_file, "PROSE_SERVER__LOG_LEVEL=info\n").expect("write");
    let options = LoadOptions {
        environment: vec![
            ("PROSE_SERVER__LOG_LEVEL".into(), "debug".into()),
            ("PROSE_COMPILE_REQUIRE_VALIDATORS".into(), "1".into()),
        ],
        sibling_env_file: true,
        env_files: vec![env_file],
        sets: vec![parse_set("server.log_level=trace").expect("set")],
        file_variables: prose_compile::targets::file_variables(),
    };
    let loaded = load_with(&config, options);
    assert!(
        loaded.diagnostics.is_empty(),
        "the tool's own variables are not warned about: {:?}",
        loaded.diagnostics
    );
    let node = loaded.tree.get_path(&["server", "log_level"]).expect("set");
    assert!(matches!(node.origin, Origin::Set(_)));
    let replaced: Vec<String> = node
        .history
        .iter()
        .map(|o| match &o.origin {
            Origin::File(_) => "file".into(),
            Origin::Env { var, span } => format!(
                "{var}@{}",
                loaded
                    .sources
                    .get(span.source)
                    .name
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
            ),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        replaced,
        [
            "PROSE_SERVER__LOG_LEVEL@<environment>",
            "PROSE_SERVER__LOG_LEVEL@extra.env",
            "PROSE_SERVER__LOG_LEVEL@prose.env",
            "file"
        ]
    );
}

#[test]
fn computed_defaults_follow_the_reference() {
    let minimal = load_with(&repo().join("examples/minimal/prose.toml"), isolated());
    let config = minimal.config.as_ref().expect("valid");
    assert_eq!(
        config.pod.address.domain.as_ref().map(|d| d.as_str()),
        Some("prose.crisp.chat")
    );
    assert_eq!(
        config.dashboard.url.as_ref().map(|u| u.as_str()),
        Some("https://admin.prose.crisp.chat")
    );
    let node = minimal
        .tree
        .get_path(&["pod", "address", "domain"])
        .expect("computed");
    assert_eq!(
        node.origin,
        Origin::Computed {
            from: vec!["server.domain".into()]
        }
    );
    assert!(config.notifiers.email.is_none());

    let full = load_with(&repo().join("examples/full/prose.toml"), isolated());
    let email = full
        .config
        .as_ref()
        .and_then(|c| c.notifiers.email.clone())
        .expect("email");
    assert_eq!(
        email.pod_address.map(|a| a.to_string()),
        Some("prose@crisp.chat".into())
    );

    let fixed = load_with(
        &repo().join("examples/static-address/prose.toml"),
        isolated(),
    );
    let config = fixed.config.as_ref().expect("valid");
    assert!(
        config.pod.address.domain.is_none(),
        "no domain is invented for a static-address pod"
    );
    assert_eq!(config.pod_domain(), "prose.example.org");
}

#[test]
fn defaults_are_valid_against_the_schema() {
    // Every built-in default, serialized, must pass the schema the user's values must pass.
    let loaded = load_with(&repo().join("examples/minimal/prose.toml"), isolated());
    let value = serde_json::to_value(loaded.config.expect("valid")).expect("serialize");
    let mut value = value;
    strip_nulls(&mut value);
    let validator = jsonschema::validator_for(prose_compile::config::schema::schema_cached())
        .expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn strip_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}
