//! The tree holds the configuration the pod runs on: building the installed `/etc/prose` (the
//! tree's `prose.toml` and `prose-server.env`, beside the same `prose.env` and `compose.env`)
//! gives the same tree, byte for byte, for every example and upstream file.

use std::path::{Path, PathBuf};

use prose_compile::config::{LoadOptions, load};
use prose_compile::output::OutputTree;
use prose_compile::pipeline::compile;

use crate::support::repo;

const INSTALLED: [&str; 2] = ["etc/prose/prose.toml", "etc/prose/prose-server.env"];
const OPERATOR: [&str; 2] = ["prose.env", "compose.env"];

/// The tree, and the Prosody options the loader said no pinned component takes from
/// `prose.toml` (the Pod API refuses options it does not know).
fn build(config: &Path) -> (OutputTree, Vec<String>) {
    let options = LoadOptions {
        sibling_env_file: true,
        ..LoadOptions::default()
    };
    let loaded = load(config, &options).expect("readable");
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", config.display());
    let dropped = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == prose_compile::diagnostics::code::COMPATIBILITY)
        .filter_map(|d| d.key.clone())
        .filter(|k| k.starts_with("prosody."))
        .collect();
    let tree =
        compile(&loaded, "prose.toml").unwrap_or_else(|d| panic!("{}: {d:#?}", config.display()));
    (tree, dropped)
}

fn inputs() -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples")
        .map(|e| e.expect("entry").path().join("prose.toml"))
        .filter(|p| p.is_file())
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 5, "{inputs:?}");
    for upstream in std::fs::read_dir(repo().join("tests/fixtures/upstream")).expect("upstream") {
        let path = upstream.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            inputs.push(path);
        }
    }
    inputs
}

#[test]
fn building_the_installed_configuration_gives_the_same_tree() {
    for input in inputs() {
        let (first, dropped) = build(&input);
        // /etc/prose after `rsync -a out/ /`: the two generated files, and the operator's.
        let etc = tempfile::tempdir().expect("tempdir");
        for path in INSTALLED {
            let file = first
                .get(path)
                .unwrap_or_else(|| panic!("{}: no {path}", input.display()));
            let name = Path::new(path).file_name().expect("name");
            std::fs::write(etc.path().join(name), &file.contents).expect("write");
        }
        let dir = input.parent().expect("dir");
        for name in OPERATOR {
            if input.file_name().is_some_and(|n| n == "prose.toml") && dir.join(name).is_file() {
                std::fs::copy(dir.join(name), etc.path().join(name)).expect("copy");
            }
        }
        let (second, _) = build(&etc.path().join("prose.toml"));
        for file in first.files() {
            let again = second.get(&file.path).expect("same paths");
            // A Prosody option the Pod API refuses is not in the installed prose.toml, so
            // prosody.cfg.lua (what the Pod API regenerates) differs: only with a warning.
            // (Issue 13 part B renders what the Pod API writes, and this exception goes.)
            if file.path == "etc/prosody/prosody.cfg.lua"
                && file.contents != again.contents
                && !dropped.is_empty()
            {
                continue;
            }
            assert_eq!(
                String::from_utf8_lossy(&file.contents),
                String::from_utf8_lossy(&again.contents),
                "{}: {} differs",
                input.display(),
                file.path
            );
            assert_eq!(file.mode, again.mode, "{}: {}", input.display(), file.path);
        }
        let paths = |t: &OutputTree| t.files().map(|f| f.path.to_string()).collect::<Vec<_>>();
        assert_eq!(paths(&first), paths(&second), "{}", input.display());
    }
}

#[test]
fn the_installed_configuration_holds_only_keys_the_pinned_api_reads() {
    for input in inputs() {
        let (tree, _) = build(&input);
        let text = String::from_utf8(
            tree.get("etc/prose/prose.toml")
                .expect("prose.toml")
                .contents
                .clone(),
        )
        .expect("utf-8");
        let table: toml::Table = toml::from_str(&text).expect("TOML");
        for refused in [
            "vendor_analytics",
            "policies",
            "audit",
            "proxy",
            "teams",
            "backups",
        ] {
            assert!(
                !table.contains_key(refused),
                "{}: `{refused}` in prose.toml",
                input.display()
            );
        }
        if let Some(api) = table.get("api").and_then(|a| a.as_table()) {
            assert!(
                !api.contains_key("default_response_timeout"),
                "{}",
                input.display()
            );
        }
    }
}

fn text(tree: &OutputTree, path: &str) -> String {
    String::from_utf8(tree.get(path).expect(path).contents.clone()).expect("utf-8")
}

/// Builds `prose.toml` (with `prose.env` beside it), installs the two files beside the same
/// `prose.env`, builds again: the trees must match.
fn build_and_reinstall(toml: &str, env: &str) -> OutputTree {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("prose.toml"), toml).expect("write");
    std::fs::write(dir.path().join("prose.env"), env).expect("write");
    let (first, _) = build(&dir.path().join("prose.toml"));
    let etc = tempfile::tempdir().expect("tempdir");
    std::fs::write(etc.path().join("prose.env"), env).expect("write");
    for path in INSTALLED {
        let name = Path::new(path).file_name().expect("name");
        std::fs::write(
            etc.path().join(name),
            &first.get(path).expect(path).contents,
        )
        .expect("write");
    }
    let (second, _) = build(&etc.path().join("prose.toml"));
    assert_eq!(first.manifests(), second.manifests());
    for file in first.files() {
        assert_eq!(
            file.mode,
            second.get(&file.path).expect("same").mode,
            "{}",
            file.path
        );
    }
    first
}

#[test]
fn secrets_from_the_environment_stay_there_and_a_comment_names_them() {
    let tree = build_and_reinstall(
        "[server]\ndomain = \"crisp.chat\"\n[notifiers.email]\nsmtp_host = \"mail.crisp.chat\"\nsmtp_password = \"in-the-file\"\n",
        "PROSE_NOTIFIERS__EMAIL__SMTP_PASSWORD=from-the-env\nPROSE_AUTH__OAUTH2_REGISTRATION_KEY=env-key\n",
    );
    let toml = text(&tree, "etc/prose/prose.toml");
    let server = text(&tree, "etc/prose/prose-server.env");
    for secret in ["from-the-env", "in-the-file", "env-key"] {
        assert!(
            !toml.contains(secret) && !server.contains(secret),
            "{secret}:\n{toml}\n{server}"
        );
    }
    assert!(
        toml.contains(
            "# smtp_password: a secret, set by `PROSE_NOTIFIERS__EMAIL__SMTP_PASSWORD` in prose.env"
        ),
        "{toml}"
    );
    assert!(
        server.contains("`PROSE_AUTH__OAUTH2_REGISTRATION_KEY` in prose.env"),
        "{server}"
    );
    assert_eq!(tree.get("etc/prose/prose.toml").unwrap().mode, 0o644);
    assert_eq!(tree.get("etc/prose/prose-server.env").unwrap().mode, 0o644);
}

#[test]
fn secrets_from_prose_toml_are_written_for_their_reader_and_kept_private() {
    let tree = build_and_reinstall(
        "[server]\ndomain = \"crisp.chat\"\n[notifiers.email]\nsmtp_host = \"mail.crisp.chat\"\nsmtp_password = \"p'ss\\\"w\"\n[auth]\noauth2_registration_key = \"k3y\"\n[service_accounts.prose_workspace]\npassword = \"ws\"\n",
        "",
    );
    let toml = text(&tree, "etc/prose/prose.toml");
    let server = text(&tree, "etc/prose/prose-server.env");
    let parsed: toml::Table = toml::from_str(&toml).expect("TOML");
    assert_eq!(
        parsed["notifiers"]["email"]["smtp_password"].as_str(),
        Some("p'ss\"w")
    );
    assert!(
        !parsed.contains_key("auth"),
        "the Pod API 0.20.0 refuses the key:\n{toml}"
    );
    assert!(
        server.contains("PROSE_AUTH__OAUTH2_REGISTRATION_KEY='\"k3y\"'"),
        "{server}"
    );
    assert!(
        server.contains("PROSE_SERVICE_ACCOUNTS__PROSE_WORKSPACE__PASSWORD='\"ws\"'"),
        "{server}"
    );
    assert_eq!(tree.get("etc/prose/prose.toml").unwrap().mode, 0o640);
    assert_eq!(tree.get("etc/prose/prose-server.env").unwrap().mode, 0o640);
}

#[test]
fn keys_for_a_newer_pod_server_go_to_it_once_it_is_pinned() {
    let toml = "[server]\ndomain = \"crisp.chat\"\n[backups.storage]\nprovider = \"fs\"\nfs.directory = \"/srv/backups\"\n[backups.signing.pgp]\nenabled = true\ntsk = \"/etc/keys/b.asc\"\npassphrases = { \"0123ABCD\" = \"pass\" }\n";
    let pinned = build_and_reinstall(toml, "");
    assert!(!text(&pinned, "etc/prose/prose-server.env").contains("BACKUPS"));
    // compose.env pins the Pod Server: compose reads it, no container gets it.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("prose.toml"), toml).expect("write");
    std::fs::write(
        dir.path().join("compose.env"),
        "PROSE_POD_SERVER_VERSION=0.5.0\n",
    )
    .expect("write");
    let (newer, _) = build(&dir.path().join("prose.toml"));
    let server = text(&newer, "etc/prose/prose-server.env");
    assert!(
        server.contains("PROSE_BACKUPS__STORAGE__PROVIDER='\"fs\"'"),
        "{server}"
    );
    assert!(
        server.contains("PROSE_BACKUPS__SIGNING__PGP__PASSPHRASES='{ 0123ABCD = \"pass\" }'"),
        "{server}"
    );
    assert_eq!(newer.get("etc/prose/prose-server.env").unwrap().mode, 0o640);
    assert!(text(&newer, "etc/prose/prose.toml").contains("Pod Server 0.5.0"));
}

/// Each line of `prose-server.env` as compose hands it to the container (a single-quoted
/// value is taken verbatim) and as the Pod Server's figment 0.10.19 parses it (`PROSE_`,
/// `__` between segments, lower-cased, the value parsed by figment's own value parser) gives
/// the key and the value prose-compile means.
#[test]
fn the_pod_server_parses_prose_server_env_into_the_values_meant() {
    let tree = build_and_reinstall(
        "[server]\ndomain = \"crisp.chat\"\n[vendor_analytics]\nmin_cohort_size = 7\nusage.user_platform.allow_list = [\"web\", \"it's, [x]\", \"123\", \"true\"]\n[policies]\nauto_update_enabled = false\n[teams]\nmain_team_name = \"Équipe \\\"A\\\" ⁂\"\n[proxy]\ncloud_api_url = \"https://example.org/x?y=1,2\"\n",
        "",
    );
    let server = text(&tree, "etc/prose/prose-server.env");
    let mut parsed = serde_json::Map::new();
    for line in server.lines().filter(|l| !l.starts_with('#')) {
        let (name, raw) = line.split_once('=').expect("NAME=value");
        let raw = raw
            .strip_prefix('\'')
            .and_then(|r| r.strip_suffix('\''))
            .unwrap_or(raw);
        let value: figment::value::Value = raw.parse().expect("infallible");
        let key = name
            .strip_prefix("PROSE_")
            .expect("prefix")
            .to_lowercase()
            .replace("__", ".");
        parsed.insert(key, serde_json::to_value(&value).expect("json"));
    }
    let get = |key: &str| {
        parsed
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("no {key} in {server}"))
    };
    assert_eq!(
        get("vendor_analytics.min_cohort_size"),
        serde_json::json!(7)
    );
    assert_eq!(
        get("vendor_analytics.usage.user_platform.allow_list"),
        serde_json::json!(["web", "it's, [x]", "123", "true"])
    );
    assert_eq!(
        get("vendor_analytics.acquisition.pod_domain.enabled"),
        serde_json::json!(false)
    );
    assert_eq!(
        get("policies.auto_update_enabled"),
        serde_json::json!(false)
    );
    assert_eq!(
        get("teams.main_team_name"),
        serde_json::json!("Équipe \"A\" ⁂")
    );
    assert_eq!(
        get("proxy.cloud_api_url"),
        serde_json::json!("https://example.org/x?y=1,2")
    );
}

/// The layers above the file reach the installed prose.toml too: the environment and `--set`.
#[test]
fn every_layer_the_build_used_reaches_the_installed_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("prose.toml"),
        "[server]\ndomain = \"crisp.chat\"\n",
    )
    .expect("write");
    let options = LoadOptions {
        environment: vec![("PROSE_SERVER__LOG_LEVEL".into(), "warn".into())],
        sets: vec![prose_compile::config::env::parse_set("log.level=debug").expect("set")],
        ..LoadOptions::default()
    };
    let loaded = load(&dir.path().join("prose.toml"), &options).expect("readable");
    let tree = compile(&loaded, "prose.toml").expect("compiles");
    let parsed: toml::Table = toml::from_str(&text(&tree, "etc/prose/prose.toml")).expect("TOML");
    assert_eq!(parsed["server"]["log_level"].as_str(), Some("warn"));
    assert_eq!(parsed["log"]["level"].as_str(), Some("debug"));
}
