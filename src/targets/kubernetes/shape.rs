//! What a Kubernetes file from disk must look like before a tool reads it, beyond being YAML
//! mappings (`targets::wellformed`): a tree's manifest can be rewritten with its files, so
//! `verify` relies on the files' shape. A `kustomization.yaml` lists only files and
//! directories beside it (`kubectl kustomize` fetches a URL, or reads `../../etc`, when a
//! kustomization names one), and the well-known server's `nginx.conf`, which holds nothing
//! from the configuration, is the one a build writes (so `nginx -t` never reads an `include`
//! or loads a module).

use serde_yaml_ng::Value;

use super::KUSTOMIZATION;
use super::config_maps::WELL_KNOWN_NGINX;

/// Why a document of a file named `name` is not shaped as a build writes it (each document
/// is parsed once, by `targets::wellformed`).
pub fn problem(name: &str, document: &Value) -> Option<String> {
    if name == KUSTOMIZATION {
        kustomization_problem(document)
    } else {
        config_map_problem(document)
    }
}

/// The kustomizations a build writes: `apiVersion`, `kind` and `resources`, each resource a
/// plain name (`server.yaml`, `crisp.chat`).
fn kustomization_problem(value: &Value) -> Option<String> {
    let map = value.as_mapping()?;
    for (key, _) in map {
        let key = key.as_str().unwrap_or_default();
        if !["apiVersion", "kind", "resources"].contains(&key) {
            return Some(format!(
                "a kustomization with `{}`: a build writes only `resources`",
                key.escape_debug()
            ));
        }
    }
    let resources = value["resources"].as_sequence()?;
    for resource in resources {
        let plain = resource.as_str().is_some_and(|name| {
            !name.is_empty()
                && name != "."
                && name != ".."
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
        if !plain {
            return Some(format!(
                "a kustomization resource that is not a file or directory beside it: {}",
                serde_yaml_ng::to_string(resource)
                    .unwrap_or_default()
                    .trim()
                    .escape_debug()
            ));
        }
    }
    None
}

fn config_map_problem(value: &Value) -> Option<String> {
    if value["kind"].as_str() != Some("ConfigMap") {
        return None;
    }
    let nginx = &value["data"]["nginx.conf"];
    (!nginx.is_null() && nginx.as_str() != Some(WELL_KNOWN_NGINX))
        .then(|| "a ConfigMap whose nginx.conf is not the one a build writes".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first problem of any document of `text`.
    fn problem(name: &str, text: &str) -> Option<String> {
        use serde::Deserialize;
        serde_yaml_ng::Deserializer::from_str(text)
            .find_map(|d| super::problem(name, &Value::deserialize(d).unwrap()))
    }

    #[test]
    fn a_kustomization_names_only_files_beside_it() {
        let ok = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
                  resources:\n  - server.yaml\n  - crisp.chat\n";
        assert_eq!(problem(KUSTOMIZATION, ok), None);
        for bad in [
            "resources:\n  - https://github.com/x/y\n",
            "resources:\n  - ../../etc\n",
            "resources:\n  - /etc\n",
            "resources:\n  - ..\n",
            "resources:\n  - {a: b}\n",
            "helmCharts:\n  - name: x\n",
            "generators:\n  - x.yaml\n",
        ] {
            assert!(problem(KUSTOMIZATION, bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn nginx_conf_is_the_built_one() {
        let config_map = |nginx: &str| {
            let mut data = serde_yaml_ng::Mapping::new();
            data.insert("nginx.conf".into(), nginx.into());
            let mut map = serde_yaml_ng::Mapping::new();
            map.insert("kind".into(), "ConfigMap".into());
            map.insert("data".into(), Value::Mapping(data));
            serde_yaml_ng::to_string(&Value::Mapping(map)).unwrap()
        };
        assert_eq!(
            problem("well-known.yaml", &config_map(WELL_KNOWN_NGINX)),
            None
        );
        let forged = WELL_KNOWN_NGINX.replacen("http {", "load_module /tmp/x.so;\nhttp {", 1);
        assert_ne!(forged, WELL_KNOWN_NGINX);
        assert!(problem("well-known.yaml", &config_map(&forged)).is_some());
        let other = "kind: Deployment\ndata:\n  nginx.conf: include /etc/shadow;\n";
        assert_eq!(problem("app.yaml", other), None);
    }
}
