//! Each validator passes a correct sample and fails broken ones, using the real tools.
//! A missing tool prints `SKIP: ...` (or panics under PROSE_COMPILE_REQUIRE_VALIDATORS=1).

use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};

use prose_compile::verify::{self, Outcome, require_or_skip};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/validators")
        .join(name)
}

fn compose_spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas/compose-spec.json")
}

/// A copy of fixture `name` with `from` replaced by `to` (which must occur), named `as_name`.
fn mutated(dir: &tempfile::TempDir, name: &str, from: &str, to: &str, as_name: &str) -> PathBuf {
    let text = fs::read_to_string(fixture(name)).unwrap();
    assert!(text.contains(from), "{name} does not contain {from:?}");
    let path = dir.path().join(as_name);
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

#[track_caller]
fn assert_passed(outcome: &Outcome) {
    assert!(outcome.is_passed(), "expected a pass, got {outcome}");
}

/// Asserts a failure whose output mentions `needle` (the tool's own words).
#[track_caller]
fn assert_failed_with(outcome: &Outcome, needle: &str) {
    match outcome {
        Outcome::Failed { output } => assert!(
            output.contains(needle),
            "failure output lacks {needle:?}:\n{output}"
        ),
        other => panic!("expected a failure mentioning {needle:?}, got {other}"),
    }
}

// --- luac -------------------------------------------------------------------------------------

#[test]
fn lua_syntax_passes_the_prose_config() {
    let outcome = verify::lua_syntax(&fixture("prosody-good.cfg.lua"));
    if require_or_skip(&outcome) {
        assert_passed(&outcome);
    }
}

#[test]
fn lua_syntax_fails_an_unfinished_string() {
    let dir = tempfile::tempdir().unwrap();
    let file = mutated(
        &dir,
        "prosody-good.cfg.lua",
        "http_host = \"prose-pod-server\"",
        "http_host = \"prose-pod-server",
        "prosody.cfg.lua",
    );
    let outcome = verify::lua_syntax(&file);
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "unfinished string");
    }
}

// --- prosodyctl check config --------------------------------------------------------------------

#[test]
fn prosody_config_passes_the_prose_config_without_its_modules_or_certs() {
    let outcome = verify::prosody_config(&fixture("prosody-good.cfg.lua"));
    if require_or_skip(&outcome) {
        assert_passed(&outcome);
    }
}

#[test]
fn prosody_config_fails_misplaced_and_obsolete_options() {
    let outcome = verify::prosody_config(&fixture("prosody-bad.cfg.lua"));
    if require_or_skip(&outcome) {
        assert_failed_with(
            &outcome,
            "You need to move the following option: tls_profile",
        );
        // Prosody 0.12 says "obsolete options", 13 "deprecated options".
        let output = outcome.to_string();
        assert!(
            output.contains("obsolete options") || output.contains("deprecated options"),
            "{output}"
        );
    }
}

#[test]
fn prosody_config_fails_a_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = mutated(
        &dir,
        "prosody-good.cfg.lua",
        "consider_websocket_secure = true",
        "consider_websocket_secure = = true",
        "prosody.cfg.lua",
    );
    let outcome = verify::prosody_config(&file);
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "unexpected symbol near '='");
    }
}

#[test]
fn prosody_config_fails_a_deprecated_option() {
    let dir = tempfile::tempdir().unwrap();
    let file = mutated(
        &dir,
        "prosody-good.cfg.lua",
        "upgrade_legacy_vcards = true",
        "upgrade_legacy_vcards = true\nuse_libevent = true",
        "prosody.cfg.lua",
    );
    let outcome = verify::prosody_config(&file);
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "'use_libevent' -- instead, use 'network_backend");
    }
}

/// prosodyctl exits 0 for this one; the validator still fails it.
#[test]
fn prosody_config_fails_a_mod_prefix_that_prosodyctl_only_mentions() {
    let dir = tempfile::tempdir().unwrap();
    let file = mutated(
        &dir,
        "prosody-good.cfg.lua",
        "\"carbons\";",
        "\"mod_carbons\";",
        "prosody.cfg.lua",
    );
    let outcome = verify::prosody_config(&file);
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "Change 'mod_carbons' to 'carbons'.");
    }
}

/// A component that no host links to is reported with exit status 0: still a failure.
#[test]
fn prosody_config_fails_an_unreferenced_component() {
    let dir = tempfile::tempdir().unwrap();
    let file = mutated(
        &dir,
        "prosody-good.cfg.lua",
        "    { \"upload.prose.local\"; \"HTTP File Upload\"; };\n",
        "",
        "prosody.cfg.lua",
    );
    let outcome = verify::prosody_config(&file);
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "unreferenced components");
    }
}

/// Renaming advice about the operator's own domain is not a defect of the file.
#[test]
fn prosody_config_passes_a_chat_subdomain_host() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture("prosody-good.cfg.lua"))
        .unwrap()
        .replace("example.org", "chat.example.org");
    let file = dir.path().join("prosody.cfg.lua");
    fs::write(&file, text).unwrap();
    let outcome = verify::prosody_config(&file);
    if require_or_skip(&outcome) {
        assert_passed(&outcome);
    }
}

// --- nginx -t -----------------------------------------------------------------------------------

fn good_sites() -> Vec<PathBuf> {
    vec![
        fixture("nginx-site-pod-good.conf"),
        fixture("nginx-site-wellknown-good.conf"),
    ]
}

#[test]
fn nginx_sites_pass_with_letsencrypt_paths_redirected() {
    let outcome = verify::nginx_sites(&good_sites());
    if require_or_skip(&outcome) {
        assert_passed(&outcome);
    }
}

#[test]
fn nginx_sites_fail_an_unknown_directive() {
    let outcome = verify::nginx_sites(&[fixture("nginx-site-bad.conf")]);
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "unknown directive \"proxy_pas\"");
    }
}

/// Two enabled sites serving the same name: only an nginx [warn], still a failure.
#[test]
fn nginx_sites_fail_a_conflicting_server_name_warning() {
    let sites = [
        fixture("nginx-site-wellknown-good.conf"),
        fixture("nginx-site-wellknown-good.conf"),
    ];
    let outcome = verify::nginx_sites(&sites);
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "conflicting server name \"example.org\"");
    }
}

/// The wrapper only moves paths: a certificate outside /etc/letsencrypt is opened for real.
#[test]
fn nginx_sites_fail_a_certificate_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let site = mutated(
        &dir,
        "nginx-site-wellknown-good.conf",
        "/etc/letsencrypt/live/example.org/fullchain.pem",
        "/nonexistent/fullchain.pem",
        "example.org",
    );
    let outcome = verify::nginx_sites(&[site]);
    if require_or_skip(&outcome) {
        assert_failed_with(
            &outcome,
            "cannot load certificate \"/nonexistent/fullchain.pem\"",
        );
    }
}

/// Certbot's options file sets ssl_session_cache: setting it again in a site clashes, as on
/// the server.
#[test]
fn nginx_sites_fail_a_directive_that_clashes_with_certbot_options() {
    let dir = tempfile::tempdir().unwrap();
    let site = mutated(
        &dir,
        "nginx-site-wellknown-good.conf",
        "    root /dev/null;",
        "    root /dev/null;\n    ssl_session_timeout 1d;",
        "example.org",
    );
    let outcome = verify::nginx_sites(&[site]);
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "\"ssl_session_timeout\" directive is duplicate");
    }
}

#[test]
fn nginx_sites_fail_an_injected_directive() {
    let dir = tempfile::tempdir().unwrap();
    let site = mutated(
        &dir,
        "nginx-site-wellknown-good.conf",
        "server_name example.org;",
        "server_name example.org; include /etc/passwd;",
        "example.org",
    );
    let outcome = verify::nginx_sites(&[site]);
    if require_or_skip(&outcome) {
        assert!(outcome.is_failed(), "expected a failure, got {outcome}");
    }
}

// --- systemd-analyze verify ---------------------------------------------------------------------

#[test]
fn systemd_unit_passes_with_stubbed_docker() {
    let outcome = verify::systemd_unit(&fixture("prose-good.service"));
    if require_or_skip(&outcome) {
        assert_passed(&outcome);
    }
}

#[test]
fn systemd_unit_fails_an_unknown_key_despite_exit_status_0() {
    let outcome = verify::systemd_unit(&fixture("prose-bad.service"));
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "Unknown key 'PrivateTmpp' in section [Service]");
    }
}

fn unit_variant(from: &str, to: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let unit = mutated(&dir, "prose-good.service", from, to, "prose.service");
    verify::systemd_unit(&unit)
}

#[test]
fn systemd_unit_fails_a_bad_section() {
    let outcome = unit_variant("[Service]", "[Servce]");
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "Unknown section 'Servce'");
    }
}

#[test]
fn systemd_unit_fails_a_relative_exec_start() {
    let outcome = unit_variant("ExecStart=/usr/bin/docker", "ExecStart=docker");
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "Exec program must be an absolute path");
    }
}

#[test]
fn systemd_unit_fails_a_directive_injected_through_a_newline() {
    let outcome = unit_variant(
        "Description=Prose",
        "Description=Prose\nExecStartPre=/bin/sh -c 'echo pwned'",
    );
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "Unknown key 'ExecStartPre' in section [Unit]");
    }
}

#[test]
fn systemd_unit_fails_a_missing_dependency() {
    let outcome = unit_variant("Requires=docker.service", "Requires=dockerd.service");
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "Unit dockerd.service not found");
    }
}

#[test]
fn systemd_unit_fails_a_program_the_server_does_not_have() {
    let outcome = unit_variant("ExecStop=/usr/bin/docker", "ExecStop=/usr/bin/dokcer");
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "Command /usr/bin/dokcer is not executable");
    }
}

// --- compose ----------------------------------------------------------------------------------

/// A compose fixture laid out as installed: `etc/prose/compose.yaml` and `files` beside it.
fn installed_compose(name: &str, files: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc/prose");
    fs::create_dir_all(&etc).unwrap();
    fs::copy(fixture(name), etc.join("compose.yaml")).unwrap();
    for file in files {
        fs::write(etc.join(file), "").unwrap();
    }
    (dir, etc.join("compose.yaml"))
}

#[test]
fn compose_schema_passes_the_good_and_the_upstream_files() {
    let (_dir, good) = installed_compose("compose-good.yaml", &["prose-server.env"]);
    let (_dir2, upstream) = installed_compose("compose-upstream-v2.yaml", &["prose.env"]);
    for file in [good, upstream] {
        let outcome = verify::compose_schema(&file);
        assert!(outcome.is_passed(), "{}: {outcome}", file.display());
    }
}

/// The validator compiled into the binary and the schema compiled at run time by the same
/// engine report the same errors, on every compose fixture, good and bad.
#[test]
fn the_built_in_compose_validator_agrees_with_the_schema_compiled_at_run_time() {
    let spec: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(compose_spec()).unwrap()).unwrap();
    let runtime = jsonschema::draft7::new(&spec).unwrap();
    let mut documents: Vec<(String, serde_json::Value)> = Vec::new();
    for entry in fs::read_dir(fixture("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("compose") && name.ends_with(".yaml") {
            let text = fs::read_to_string(&path).unwrap();
            documents.push((name, serde_yaml_ng::from_str(&text).unwrap()));
        }
    }
    // The schema's patterns, each matched and not: names (`^[a-zA-Z0-9._-]+$`), a container
    // name and the pull policies (unanchored), ulimits (`^[a-z]+$`: a name that does not
    // match is not checked, so `NOFILE = []` passes), option keys (`^.+$`, with line
    // terminators in the key: both engines match them, so the bad values are reported).
    for (name, service, volumes) in [
        (
            "good names",
            json!({"image": "a", "container_name": "web-1", "pull_policy": "every_2d", "ulimits": {"nofile": 1}}),
            json!({"data.1": {}}),
        ),
        ("bad service name", json!({"image": "a"}), json!({})),
        (
            "bad names",
            json!({"image": "a", "container_name": "!!", "pull_policy": "sometimes", "ulimits": {"NOFILE": []}}),
            json!({"bad name": {}}),
        ),
        (
            "option key with a line terminator",
            json!({"image": "a"}),
            json!({"v": {"driver_opts": {"a\rb": [], "c\u{2028}d": []}}}),
        ),
    ] {
        let service_name = if name == "bad service name" {
            "web server"
        } else {
            "web"
        };
        documents.push((
            name.to_owned(),
            json!({"services": {service_name: service}, "volumes": volumes}),
        ));
    }
    let errors = |iter: jsonschema::ErrorIterator<'_>| -> Vec<String> {
        let mut errors: Vec<String> = iter
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        errors.sort();
        errors
    };
    let mut bad = 0;
    for (name, document) in &documents {
        let built_in = errors(verify::ComposeSpec::iter_errors(document));
        assert_eq!(built_in, errors(runtime.iter_errors(document)), "{name}");
        bad += usize::from(!built_in.is_empty());
    }
    assert!(bad >= 4, "only {bad} documents have schema errors");
}

#[test]
fn compose_schema_fails_an_unknown_service_key() {
    let outcome = verify::compose_schema(&fixture("compose-bad.yaml"));
    assert_failed_with(&outcome, "/services/app");
    assert_failed_with(&outcome, "restrat");
}

/// Upstream's file requires prose.env (its installer creates it): a tree without it would
/// not start on an empty host.
#[test]
fn compose_schema_fails_a_required_env_file_the_tree_lacks() {
    let (_dir, file) = installed_compose("compose-upstream-v2.yaml", &[]);
    let outcome = verify::compose_schema(&file);
    assert_failed_with(
        &outcome,
        "`/etc/prose/prose.env` is required but not in the tree",
    );
    let (_dir, file) = installed_compose("compose-good.yaml", &[]);
    assert_failed_with(
        &verify::compose_schema(&file),
        "services.server.env_file: `/etc/prose/prose-server.env` is required",
    );
}

/// Interpolated as Compose v2 does, with nothing set: a required variable fails.
#[test]
fn compose_schema_fails_a_required_variable_without_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let file = mutated(
        &dir,
        "compose-good.yaml",
        "${PROSE_APP_WEB_VERSION:-0.14.1}",
        "${PROSE_APP_WEB_VERSION:?set it in compose.env}",
        "compose.yaml",
    );
    fs::write(dir.path().join("prose-server.env"), "").unwrap();
    assert_failed_with(
        &verify::compose_schema(&file),
        "required variable PROSE_APP_WEB_VERSION is missing a value: set it in compose.env",
    );
}

#[test]
fn compose_schema_fails_yaml_that_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let file = mutated(
        &dir,
        "compose-good.yaml",
        "services:\n",
        "services:\n  - [\n",
        "compose.yaml",
    );
    let outcome = verify::compose_schema(&file);
    assert!(outcome.is_failed(), "expected a failure, got {outcome}");
}

// --- xmllint, JSON ----------------------------------------------------------------------------

#[test]
fn xml_passes_host_meta() {
    let outcome = verify::xml(&fixture("host-meta-good.xml"));
    if require_or_skip(&outcome) {
        assert_passed(&outcome);
    }
}

#[test]
fn xml_fails_an_unescaped_ampersand_and_unclosed_root() {
    let outcome = verify::xml(&fixture("host-meta-bad.xml"));
    if require_or_skip(&outcome) {
        assert_failed_with(&outcome, "EntityRef");
    }
}

#[test]
fn json_passes_host_meta_and_fails_a_trailing_comma() {
    assert_passed(&verify::json(&fixture("host-meta-good.json")));
    assert!(verify::json(&fixture("host-meta-bad.json")).is_failed());
}

// --- a whole tree -------------------------------------------------------------------------------

/// Lays the good fixtures out as a built tree (paths as on the server).
fn good_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let place = |name: &str, at: &str| {
        let to = dir.path().join(at);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(fixture(name), to).unwrap();
    };
    place("prosody-good.cfg.lua", "etc/prosody/prosody.cfg.lua");
    place(
        "nginx-site-pod-good.conf",
        "etc/nginx/sites-available/prose.example.org",
    );
    place(
        "nginx-site-wellknown-good.conf",
        "etc/nginx/sites-available/example.org",
    );
    place(
        "host-meta-good.xml",
        "var/www/default/.well-known/host-meta",
    );
    place(
        "host-meta-good.json",
        "var/www/default/.well-known/host-meta.json",
    );
    place("compose-good.yaml", "etc/prose/compose.yaml");
    fs::write(dir.path().join("etc/prose/prose-server.env"), "").unwrap();
    place("prose-good.service", "etc/systemd/system/prose.service");
    dir
}

#[test]
fn verify_tree_runs_every_validator_and_passes_a_good_tree() {
    let tree = good_tree();
    let reports = verify::verify_tree(tree.path());
    let tools: Vec<&str> = reports.iter().map(|r| r.tool).collect();
    assert_eq!(
        tools,
        [
            "luac",
            "prosodyctl",
            "xmllint",
            "serde_json",
            "compose-spec",
            "systemd-analyze",
            "nginx"
        ]
    );
    for report in &reports {
        if require_or_skip(&report.outcome) {
            assert_passed(&report.outcome);
        }
    }
}

#[test]
fn verify_tree_skips_absent_files_and_reports_a_broken_one() {
    let tree = tempfile::tempdir().unwrap();
    let host_meta = tree.path().join("var/www/default/.well-known/host-meta");
    fs::create_dir_all(host_meta.parent().unwrap()).unwrap();
    fs::copy(fixture("host-meta-bad.xml"), &host_meta).unwrap();
    let reports = verify::verify_tree(tree.path());
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].file, host_meta);
    if require_or_skip(&reports[0].outcome) {
        assert!(reports[0].outcome.is_failed());
    }
}

#[test]
fn a_missing_tool_is_a_skip_naming_the_package() {
    // Printed as a SKIP line by a plain `cargo test`: named so that nobody looks for a missing
    // tool (this test makes the skip up).
    let skipped = Outcome::Skipped {
        reason: "example-tool not installed (apt-get install example-package; this test's \
                 own made-up skip: nothing is missing)"
            .into(),
    };
    let required = std::env::var(verify::REQUIRE_ENV).is_ok_and(|v| v == "1");
    let result = std::panic::catch_unwind(|| require_or_skip(&skipped));
    match result {
        Ok(proceed) => assert!(!required && !proceed),
        Err(_) => assert!(required, "panicked without {}", verify::REQUIRE_ENV),
    }
}
