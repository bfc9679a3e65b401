//! Builds the schema's structure table (`src/config/schema_structure.rs`) from the committed
//! schema: every node of `schema/prose.schema.json` without its annotations, as integers in a
//! static array (a node's children side by side) and one string of the names and strings. A
//! process then reads the schema's structure without parsing or allocating anything, and the
//! table holds no pointer for the loader to relocate.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

include!("src/config/schema_structure_format.rs");

const SCHEMA: &str = "schema/prose.schema.json";

/// One node: what `schema_structure::Structure` holds (see there).
struct Node {
    tag: u8,
    key: (u32, u32),
    a: u32,
    b: u32,
}

fn main() {
    println!("cargo::rerun-if-changed={SCHEMA}");
    println!("cargo::rerun-if-changed=src/config/schema_structure_format.rs");
    // The linker reads it (scripts/build-release): Cargo must relink when it changes.
    println!("cargo::rerun-if-changed=scripts/function-order");
    let text = std::fs::read_to_string(SCHEMA).expect("the committed schema is readable");
    let root: Value = serde_json::from_str(&text).expect("the committed schema is JSON");
    let mut text = String::new();
    let mut nodes = vec![Node {
        tag: NULL,
        key: (0, 0),
        a: 0,
        b: 0,
    }];
    // Breadth first: a node's children are given consecutive places when it is reached.
    let mut queue = VecDeque::from([(&root, 0usize, false)]);
    while let Some((value, at, names)) = queue.pop_front() {
        let (tag, a, b) = match value {
            Value::Null => (NULL, 0, 0),
            Value::Bool(b) => (BOOL, u32::from(*b), 0),
            Value::Number(n) => {
                let bits = n.as_f64().expect("a finite number").to_bits();
                (NUMBER, (bits >> 32) as u32, bits as u32)
            }
            Value::String(s) => {
                let (a, b) = intern(&mut text, s);
                (STRING, a, b)
            }
            Value::Array(items) => {
                let first = nodes.len();
                for item in items {
                    queue.push_back((item, nodes.len(), false));
                    nodes.push(Node {
                        tag: NULL,
                        key: (0, 0),
                        a: 0,
                        b: 0,
                    });
                }
                (ARRAY, first as u32, items.len() as u32)
            }
            Value::Object(map) => {
                let first = nodes.len();
                for (key, item) in map {
                    if !names && ANNOTATIONS.contains(&key.as_str()) {
                        continue;
                    }
                    let child_names = !names && NAME_MAPS.contains(&key.as_str());
                    queue.push_back((item, nodes.len(), child_names));
                    let key = intern(&mut text, key);
                    nodes.push(Node {
                        tag: NULL,
                        key,
                        a: 0,
                        b: 0,
                    });
                }
                (OBJECT, first as u32, (nodes.len() - first) as u32)
            }
        };
        let node = &mut nodes[at];
        (node.tag, node.a, node.b) = (tag, a, b);
    }
    let mut out = String::new();
    writeln!(out, "static TEXT: &str = {text:?};").unwrap();
    writeln!(out, "static NODES: [Structure; {}] = [", nodes.len()).unwrap();
    for n in &nodes {
        writeln!(
            out,
            "    node({}, {}, {}, {}, {}),",
            n.tag, n.key.0, n.key.1, n.a, n.b
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&dir).join("schema_structure.rs"), out)
        .expect("the build directory is writable");
}

/// The place of `s` in the text (appended; a name the text holds already is shared).
fn intern(text: &mut String, s: &str) -> (u32, u32) {
    let start = text.find(s).unwrap_or_else(|| {
        text.push_str(s);
        text.len() - s.len()
    });
    (start as u32, s.len() as u32)
}
