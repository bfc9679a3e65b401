//! The rules that read a pod's Kubernetes manifests (the tree `--target kubernetes` builds):
//! every workload is selected by a NetworkPolicy, and every secret of the configuration is
//! taken from the Secret by the containers that read it.

use serde_yaml_ng::Value as Yaml;

use super::{Auditor, K8S_NO_NETWORK_POLICY, K8S_SECRET_UNREFERENCED, Location};
use crate::output::OutputTree;
use crate::targets::kubernetes::{KUSTOMIZATION, secrets};
use crate::targets::{RenderContext, embedded_templates};

/// One document of a manifest file, with the line of its `kind:`.
struct Manifest {
    file: String,
    line: usize,
    value: Yaml,
}

/// The kinds the rules read: the other documents (the ConfigMaps, most of the bytes) are not
/// parsed.
const READ_KINDS: &[&str] = &["NetworkPolicy", "Deployment", "StatefulSet"];

/// Every document of [`READ_KINDS`] of every YAML file of the tree.
fn manifests(tree: &OutputTree) -> Vec<Manifest> {
    let mut out = Vec::new();
    for file in tree.files().filter(|f| f.path.as_str().ends_with(".yaml")) {
        let text = file.text();
        let mut start = 0;
        let lines: Vec<&str> = text.lines().collect();
        for end in (0..=lines.len()).filter(|&i| i == lines.len() || lines[i] == "---") {
            let kind_line = (start..end).find(|&i| {
                lines[i]
                    .strip_prefix("kind:")
                    .is_some_and(|kind| READ_KINDS.contains(&kind.trim()))
            });
            let Some(line) = kind_line else {
                start = end + 1;
                continue;
            };
            let chunk = lines[start..end].join("\n");
            if let Ok(value) = serde_yaml_ng::from_str::<Yaml>(&chunk) {
                out.push(Manifest {
                    file: file.path.to_string(),
                    line: line + 1,
                    value,
                });
            }
            start = end + 1;
        }
    }
    out
}

/// Whether a NetworkPolicy's `podSelector` selects pods with these labels (`{}`: every pod).
fn selects(policy: &Yaml, labels: &Yaml) -> bool {
    let Some(wanted) = policy["spec"]["podSelector"]["matchLabels"].as_mapping() else {
        // No matchLabels (and no expressions, which these manifests never write): all pods.
        return policy["spec"]["podSelector"]["matchExpressions"].is_null();
    };
    wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Whether a NetworkPolicy restricts ingress.
fn restricts_ingress(policy: &Yaml) -> bool {
    match policy["spec"]["policyTypes"].as_sequence() {
        Some(types) => types.iter().any(|t| t.as_str() == Some("Ingress")),
        None => true,
    }
}

pub(super) fn check(a: &mut Auditor<'_>, tree: &OutputTree) {
    if tree.get(KUSTOMIZATION).is_none() {
        return;
    }
    let documents = manifests(tree);
    let kind = |m: &Manifest| m.value["kind"].as_str().map(str::to_owned);
    let policies: Vec<&Yaml> = documents
        .iter()
        .filter(|m| kind(m).as_deref() == Some("NetworkPolicy") && restricts_ingress(&m.value))
        .map(|m| &m.value)
        .collect();
    let workloads: Vec<&Manifest> = documents
        .iter()
        .filter(|m| matches!(kind(m).as_deref(), Some("Deployment" | "StatefulSet")))
        .collect();
    for workload in &workloads {
        let labels = &workload.value["spec"]["template"]["metadata"]["labels"];
        if !policies.iter().any(|p| selects(p, labels)) {
            a.report(
                K8S_NO_NETWORK_POLICY,
                Location::Output {
                    file: workload.file.clone(),
                    line: workload.line,
                },
            );
        }
    }
    // The secrets each container takes from a Secret, by container name.
    let mut taken: Vec<(String, String)> = Vec::new();
    for workload in &workloads {
        let containers = workload.value["spec"]["template"]["spec"]["containers"].as_sequence();
        for container in containers.into_iter().flatten() {
            let name = container["name"].as_str().unwrap_or_default();
            for env in container["env"].as_sequence().into_iter().flatten() {
                if let Some(key) = env["valueFrom"]["secretKeyRef"]["key"].as_str() {
                    taken.push((name.to_owned(), key.to_owned()));
                }
            }
        }
    }
    let ctx = RenderContext::new(a.config, &a.loaded.tree, "prose.toml", embedded_templates());
    for needed in secrets::required(&ctx) {
        let has = |container: &str| {
            taken
                .iter()
                .any(|(c, k)| c == container && *k == needed.variable)
        };
        if (needed.api && !has("api")) || (needed.server && !has("server")) {
            let path: Vec<&str> = needed.key.split('.').collect();
            let location = a.key(&path);
            a.report(K8S_SECRET_UNREFERENCED, location);
        }
    }
}
