//! The shape of the crate: a thin binary, and modules that form a one-way stack (each uses only
//! the layers below it), as `ARCHITECTURE.md` draws it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::{Command, Stdio};

use crate::support::repo;

/// The layers, lowest first; a module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    &["files", "diagnostics"],
    &["provenance"],
    &["config"],
    &["targets"],
    &["output"],
    &["pipeline"],
    &["explain", "audit", "verify", "live", "init"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The Rust files of the library below `src/`, by top-level module (tests excluded).
fn sources() -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(repo().join("src")) {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(repo().join("src")).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let code = match text.find("#[cfg(test)]\nmod tests") {
            Some(at) => text[..at].to_owned(),
            None => text,
        };
        out.entry(top)
            .or_default()
            .push((relative.to_string_lossy().into_owned(), code));
    }
    out
}

/// The `crate::module` paths a text names.
fn uses(code: &str) -> BTreeSet<String> {
    code.match_indices("crate::")
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let mut wrong = Vec::new();
    for (module, files) in sources() {
        if matches!(module.as_str(), "lib" | "main" | "cli") {
            continue;
        }
        let Some(own) = layer_of(&module) else {
            wrong.push(format!(
                "`{module}` is in no layer: add it to ARCHITECTURE.md and here"
            ));
            continue;
        };
        for (file, code) in &files {
            for used in uses(code) {
                if used == module {
                    continue;
                }
                match layer_of(&used) {
                    Some(layer) if layer < own => {}
                    _ => wrong.push(format!("src/{file} ({module}) uses `crate::{used}`")),
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn config_submodules_form_no_cycle() {
    let files = &sources()["config"];
    let name = |file: &str| {
        file.trim_start_matches("config/")
            .trim_end_matches(".rs")
            .to_owned()
    };
    let modules: BTreeSet<String> = files.iter().map(|(f, _)| name(f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, code) in files {
        let from = name(file);
        for prefix in ["super::", "crate::config::"] {
            for (at, _) in code.match_indices(prefix) {
                let to: String = code[at + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if to != from && modules.contains(&to) {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            return Some(path[at..].to_vec());
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in &modules {
        let cycle = visit(module, &edges, &mut Vec::new(), &mut done);
        assert!(cycle.is_none(), "config modules in a cycle: {cycle:?}");
    }
}

#[test]
fn the_binary_is_a_thin_shell() {
    let main = std::fs::read_to_string(repo().join("src/main.rs")).unwrap();
    assert!(
        main.lines().count() <= 40,
        "src/main.rs has {} lines",
        main.lines().count()
    );
    let lib = sources();
    for (module, files) in lib.iter().filter(|(m, _)| m.as_str() != "cli") {
        for (file, code) in files {
            assert!(
                !code.contains("clap"),
                "src/{file} ({module}) uses clap: the command line stays in the binary"
            );
        }
    }
}

/// `prose-compile explain … | head -1`: a reader that goes away ends the program quietly with
/// status 0, never with a panic.
#[test]
fn a_closed_standard_output_ends_the_program_quietly() {
    for args in [
        &["explain", "--no-env", "examples/full"][..],
        &["audit", "--no-env", "examples/full"],
        &["schema"],
        &["man"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_prose-compile"))
            .current_dir(repo())
            .env_clear()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Close the reading end before the program writes: its first write gets EPIPE.
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
