//! The structure of a YAML file as a build writes it, read from the parser's events (no value
//! is built): every document a mapping, no key twice in a mapping. A `check` reads
//! compose.yaml back this way at every run: building a `serde_yaml_ng::Value` with libyaml's
//! scanner took 1.0 M instructions for its 5 KB (12 % of a `check`), these events 0.45 M
//! (docs/performance.md, "Fourteenth pass").

use std::borrow::Cow;
use std::collections::HashSet;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// What [`read`] learns of a well-formed file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Structure {
    /// Whether a document has a top-level `kind` key: a Kubernetes object, whose shape is
    /// checked on its value (`kubernetes::shape`).
    pub has_kind: bool,
    /// Whether a mapping has a merge key (`<<`, plain), which a reader such as kubectl's
    /// expands and a `serde_yaml_ng` value keeps as a key.
    pub has_merge_key: bool,
}

/// A mapping or sequence being read.
enum Open<'a> {
    /// The keys so far, and whether the next node is a key.
    Mapping {
        keys: HashSet<Cow<'a, str>>,
        at_key: bool,
    },
    Sequence,
}

/// The structure of `text`, or why it is not a stream of mappings without repeated keys.
pub fn read(text: &str) -> Result<Structure, String> {
    let mut structure = Structure::default();
    let mut open: Vec<Open<'_>> = Vec::new();
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| format!("not valid YAML: {e}"))?;
        let line = span.start.line();
        // A node where a document's root is expected must open a mapping.
        if open.is_empty()
            && matches!(
                event,
                Event::Scalar(..) | Event::Alias(_) | Event::SequenceStart(..)
            )
        {
            return Err(format!("not a YAML mapping (document {documents})"));
        }
        match event {
            Event::DocumentStart(_) => documents += 1,
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if let Some(Open::Mapping { at_key: true, .. }) = open.last() {
                    return Err(format!(
                        "line {line}: a mapping or a sequence as a key (a build writes none)"
                    ));
                }
                node_done(&mut open);
                open.push(match event {
                    Event::MappingStart(..) => Open::Mapping {
                        keys: HashSet::new(),
                        at_key: true,
                    },
                    _ => Open::Sequence,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                open.pop();
            }
            Event::Scalar(value, style, ..) => {
                let depth = open.len();
                if let Some(Open::Mapping { keys, at_key: true }) = open.last_mut() {
                    structure.has_kind |= depth == 1 && value == "kind";
                    structure.has_merge_key |= style == ScalarStyle::Plain && value == "<<";
                    // Keys compare by their text, however quoted (`1` and "1" are one key):
                    // stricter than comparing typed values, and no file a build writes
                    // needs more.
                    if !keys.insert(value.clone()) {
                        return Err(format!(
                            "line {line}: the key `{}` twice in one mapping",
                            crate::diagnostics::shortened(&value, 60).escape_debug()
                        ));
                    }
                }
                node_done(&mut open);
            }
            Event::Alias(_) => {
                // As a key, an alias (`*name`) would have to be resolved to be compared (with
                // the other keys, or with `kind`), and a build writes none. As a value it is
                // a node like any other (an operator's `--templates` may use anchors).
                if let Some(Open::Mapping { at_key: true, .. }) = open.last() {
                    return Err(format!(
                        "line {line}: an alias as a key (a build writes none)"
                    ));
                }
                node_done(&mut open);
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
    if documents == 0 {
        return Err("not a YAML mapping (no document)".into());
    }
    Ok(structure)
}

/// A node of the innermost mapping is read (its key or its value): the next is the other.
fn node_done(open: &mut [Open<'_>]) {
    if let Some(Open::Mapping { at_key, .. }) = open.last_mut() {
        *at_key = !*at_key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_of_mappings_are_read() {
        assert_eq!(read("services: {}\n"), Ok(Structure::default()));
        assert_eq!(
            read("---\na: 1\n---\nb: [1, {c: 2}]\n"),
            Ok(Structure::default())
        );
        assert_eq!(
            read("apiVersion: v1\nkind: ConfigMap\n"),
            Ok(Structure {
                has_kind: true,
                has_merge_key: false
            })
        );
        // A merge key, plain only (a quoted `<<` is a key like any other).
        assert_eq!(
            read("a: &a {x: 1}\nb:\n  <<: *a\n"),
            Ok(Structure {
                has_kind: false,
                has_merge_key: true
            })
        );
        assert_eq!(read("\"<<\": 1\n"), Ok(Structure::default()));
        // `kind` deeper down is not a Kubernetes object's.
        assert_eq!(read("a:\n  kind: x\n"), Ok(Structure::default()));
        // The same key in different mappings, and anchors with their aliases.
        assert_eq!(
            read("a: {x: 1}\nb: {x: 1}\nc: &c [1]\nd: *c\n"),
            Ok(Structure::default())
        );
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        let refused = |text: &str, reason: &str| {
            let problem = read(text).unwrap_err();
            assert!(problem.contains(reason), "{text:?}: {problem}");
        };
        refused("", "no document");
        refused("services: [\n", "not valid YAML");
        refused("- a\n", "not a YAML mapping (document 1)");
        refused("---\na: 1\n---\n- b\n", "not a YAML mapping (document 2)");
        refused(
            "---\na: 1\n--- just text\n",
            "not a YAML mapping (document 2)",
        );
        refused("a: 1\nb: 2\na: 3\n", "line 3: the key `a` twice");
        refused("a:\n  b: 1\n  \"b\": 2\n", "the key `b` twice");
        refused("a: {x: 1, x: 2}\n", "the key `x` twice");
        let long = "k".repeat(10_000);
        // Explicit keys (`? `): an implicit one is at most 1,024 characters.
        let problem = read(&format!("? {long}\n: 1\n? {long}\n: 2\n")).unwrap_err();
        assert!(problem.len() < 150, "{problem}");
        assert!(
            problem.contains(&format!("`{}…` twice", "k".repeat(60))),
            "{problem}"
        );
        refused("? [a]\n: 1\n", "a mapping or a sequence as a key");
        // `kind` by an alias: the shape check must not miss a ConfigMap written that way.
        refused("a: &k kind\n*k : ConfigMap\n", "line 2: an alias as a key");
        refused("a: b\n\tc: d\n", "not valid YAML");
    }
}
