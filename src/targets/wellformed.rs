//! Structural checks on rendered files, before anything is written: YAML, JSON and XML must
//! parse, systemd units must be sections and `Key=Value` lines, nginx sites one expected
//! directive per line ([`super::nginx_conf`]). The shipped templates always pass (the golden
//! tests prove it); these checks catch a broken `--templates` override, or a value that broke
//! out of its place, at build time instead of on the server.

use super::GeneratedFile;
use crate::diagnostics::{Diagnostic, code};

/// The first structural problem of a generated file, if any.
pub fn problem(file: &GeneratedFile) -> Option<String> {
    let text = match std::str::from_utf8(&file.contents) {
        Ok(text) => text,
        Err(e) => return Some(format!("not UTF-8: {e}")),
    };
    let path = file.path.as_str();
    if path.ends_with(".yaml") || path.ends_with(".yml") {
        return yaml_problem(file.path.file_name().unwrap_or_default(), text);
    }
    if path.ends_with(".json") {
        return serde_json::from_str::<serde_json::Value>(text)
            .err()
            .map(|e| format!("not valid JSON: {e}"));
    }
    if path.ends_with("/host-meta") {
        return roxmltree::Document::parse(text)
            .err()
            .map(|e| format!("not well-formed XML: {e}"));
    }
    if path.ends_with(".service") {
        return unit_problem(text);
    }
    if path.starts_with("etc/nginx/") {
        return super::nginx_conf::problem(text)
            .map(|p| format!("not a site as nginx reads it: {p}"));
    }
    None
}

/// Every document (a Kubernetes file holds several, after `---`) must be a mapping, with no
/// key twice ([`super::yaml_structure`]), and Kubernetes files have the shape a build gives
/// them (`kubernetes::shape`, which reads the documents' values: only for a kustomization
/// and for files with Kubernetes objects, so not for compose.yaml).
fn yaml_problem(name: &str, text: &str) -> Option<String> {
    use super::kubernetes::KUSTOMIZATION;
    use serde::Deserialize;
    let structure = match super::yaml_structure::read(text) {
        Ok(structure) => structure,
        Err(problem) => return Some(problem),
    };
    if name != KUSTOMIZATION && !structure.has_kind {
        return None;
    }
    if structure.has_merge_key {
        // kubectl expands it; the shape checks below read the value, which keeps it as a key:
        // a `kind` or a `data` merged in would go unchecked.
        return Some("a merge key (`<<`) in a Kubernetes file (a build writes none)".into());
    }
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        match serde_yaml_ng::Value::deserialize(document) {
            Ok(value) => {
                if let Some(problem) = super::kubernetes::shape::problem(name, &value) {
                    return Some(problem);
                }
            }
            Err(e) => return Some(format!("not valid YAML: {e}")),
        }
    }
    None
}

fn unit_problem(text: &str) -> Option<String> {
    let mut in_section = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            in_section = true;
            continue;
        }
        let key = line.split('=').next().unwrap_or_default();
        let is_key = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !in_section || !line.contains('=') || !is_key {
            return Some(format!(
                "line {} is not `Key=Value` inside a [Section]",
                n + 1
            ));
        }
    }
    None
}

/// Diagnostics for every malformed file.
pub fn check<'a>(files: impl IntoIterator<Item = &'a GeneratedFile>) -> Vec<Diagnostic> {
    files
        .into_iter()
        .filter_map(|f| {
            problem(f).map(|why| {
                Diagnostic::error(code::MALFORMED_OUTPUT, format!("generated `{}` is {why}", f.path))
                    .help("a template produced it: if you use `--templates`, check the template of this file")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> GeneratedFile {
        GeneratedFile {
            path: path.into(),
            contents: text.as_bytes().to_vec(),
            mode: 0o644,
        }
    }

    #[test]
    fn malformed_outputs_are_caught() {
        assert!(problem(&file("etc/prose/compose.yaml", "services: {}\n")).is_none());
        assert!(problem(&file("etc/prose/compose.yaml", "services: [\n")).is_some());
        assert!(problem(&file("k/a.yaml", "---\na: 1\n---\nb: 2\n")).is_none());
        assert!(problem(&file("k/a.yaml", "---\na: 1\n---\n- b\n")).is_some());
        assert!(
            problem(&file("k/a.yaml", "a: 1\na: 2\n")).is_some(),
            "duplicate key"
        );
        assert!(problem(&file("k/a.yaml", "")).is_some());
        // A ConfigMap's data merged in, where the shape check would not see it; in compose.yaml
        // a merge key is Compose's own (an operator's `--templates` may use one).
        let merged = "kind: ConfigMap\n<<: {data: {nginx.conf: \"load_module x.so;\"}}\n";
        assert!(problem(&file("k/a.yaml", merged)).is_some_and(|p| p.contains("merge key")));
        let compose = "x-base: &base {restart: always}\nservices:\n  a:\n    <<: *base\n";
        assert!(problem(&file("etc/prose/compose.yaml", compose)).is_none());
        assert!(problem(&file("a/host-meta.json", "{\"links\": []}")).is_none());
        assert!(problem(&file("a/host-meta.json", "{\"links\": ]")).is_some());
        assert!(problem(&file("a/host-meta", "<XRD><Link/></XRD>")).is_none());
        assert!(problem(&file("a/host-meta", "<XRD><Link></XRD>")).is_some());
        assert!(problem(&file("x/prose.service", "[Unit]\nDescription=x\n")).is_none());
        assert!(problem(&file("x/prose.service", "Description=x\n")).is_some());
        assert!(problem(&file("x/prose.service", "[Unit]\nnot a directive\n")).is_some());
    }
}
