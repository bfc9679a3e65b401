//! The schema's structure: the committed schema without its annotations, built into the binary
//! as a table (`build.rs`). It answers what loading and rendering a configuration ask of the
//! schema on every run (which keys exist, their types and formats, the order of a table's keys)
//! without parsing or allocating anything: parsing the full schema into a `serde_json::Value`
//! cost a process more than validating its configuration (`docs/performance.md`). Explaining
//! an invalid configuration and `explain` still read the full schema
//! ([`super::schema::schema_cached`]).

include!("schema_structure_format.rs");

/// One node of the schema's structure. Its children (an array's items, an object's entries,
/// each with its key) sit side by side in the table.
#[derive(Debug, PartialEq, Eq)]
pub struct Structure {
    tag: u8,
    /// The key of an object's entry, as a range of the table's text.
    key_start: u32,
    key_len: u32,
    /// Bool: 0 or 1. Number: the high and low halves of the f64's bits. String: a range of the
    /// text. Array, object: the first child and how many.
    a: u32,
    b: u32,
}

const fn node(tag: u8, key_start: u32, key_len: u32, a: u32, b: u32) -> Structure {
    Structure {
        tag,
        key_start,
        key_len,
        a,
        b,
    }
}

// `TEXT` and `NODES` (the root first), written by `build.rs`.
include!(concat!(env!("OUT_DIR"), "/schema_structure.rs"));

/// The root of the committed schema's structure.
pub fn structure() -> &'static Structure {
    &NODES[0]
}

/// A `true` schema (what a key of a table that takes any key has).
pub static TRUE: Structure = node(BOOL, 0, 0, 1, 0);

impl Structure {
    /// The key of an object's entry (empty for anything else).
    pub fn key(&self) -> &'static str {
        text(self.key_start, self.key_len)
    }

    fn children(&self) -> &'static [Structure] {
        match self.tag {
            ARRAY | OBJECT => &NODES[self.a as usize..(self.a + self.b) as usize],
            _ => &[],
        }
    }

    /// An object's entries, in order (each answers [`Structure::key`]).
    pub fn entries(&self) -> &'static [Structure] {
        if self.tag == OBJECT {
            self.children()
        } else {
            &[]
        }
    }

    /// The value of an object's key.
    pub fn get(&self, key: &str) -> Option<&'static Structure> {
        // Lengths first, then bytes: slicing the text as `str` at every entry (two
        // char-boundary checks) made this 5 % of a `check`.
        let key = key.as_bytes();
        self.entries().iter().find(|entry| {
            entry.key_len as usize == key.len()
                && TEXT.as_bytes()[entry.key_start as usize..][..key.len()] == *key
        })
    }

    pub fn as_str(&self) -> Option<&'static str> {
        (self.tag == STRING).then(|| text(self.a, self.b))
    }

    pub fn as_array(&self) -> Option<&'static [Structure]> {
        (self.tag == ARRAY).then(|| self.children())
    }

    pub fn is_object(&self) -> bool {
        self.tag == OBJECT
    }

    pub fn is_true(&self) -> bool {
        self.tag == BOOL && self.a == 1
    }

    /// The node a JSON pointer (RFC 6901) names.
    pub fn pointer(&self, pointer: &str) -> Option<&Structure> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut node = self;
        for token in pointer.strip_prefix('/')?.split('/') {
            // Unescaped only when escaped: the schema's `$ref`s are resolved at every step of
            // every key looked up.
            let token = if token.contains('~') {
                std::borrow::Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
            } else {
                std::borrow::Cow::Borrowed(token)
            };
            node = match node.as_array() {
                Some(items) => items.get(token.parse::<usize>().ok()?)?,
                None => node.get(&token)?,
            };
        }
        Some(node)
    }
}

fn text(start: u32, len: u32) -> &'static str {
    &TEXT[start as usize..(start + len) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The full schema without the annotations, as `build.rs` means to build it.
    fn strip(value: &Value, names: bool) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| names || !ANNOTATIONS.contains(&k.as_str()))
                    .map(|(k, v)| {
                        let names = !names && NAME_MAPS.contains(&k.as_str());
                        (k.clone(), strip(v, names))
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| strip(v, false)).collect()),
            other => other.clone(),
        }
    }

    /// What a node is.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Kind {
        Null,
        Bool(bool),
        Number(f64),
        String(&'static str),
        Array(&'static [Structure]),
        Object(&'static [Structure]),
    }

    fn kind(node: &Structure) -> Kind {
        match node.tag {
            NULL => Kind::Null,
            BOOL => Kind::Bool(node.a == 1),
            NUMBER => Kind::Number(f64::from_bits(
                (u64::from(node.a) << 32) | u64::from(node.b),
            )),
            STRING => Kind::String(text(node.a, node.b)),
            ARRAY => Kind::Array(node.children()),
            OBJECT => Kind::Object(node.children()),
            _ => unreachable!("build.rs writes no other tag"),
        }
    }

    fn to_json(node: &Structure) -> Value {
        match kind(node) {
            Kind::Null => Value::Null,
            Kind::Bool(b) => b.into(),
            Kind::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => (n as i64).into(),
            Kind::Number(n) => n.into(),
            Kind::String(s) => s.into(),
            Kind::Array(items) => items.iter().map(to_json).collect(),
            Kind::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key().to_owned(), to_json(e)))
                    .collect(),
            ),
        }
    }

    /// The table is the committed schema without its annotation keywords, entry for entry and
    /// in order (a key named like an annotation, in `properties`, is kept).
    #[test]
    fn it_is_the_schema_without_annotations() {
        let full = crate::config::schema::schema_cached();
        let structure = to_json(structure());
        assert_eq!(structure, strip(full, false));
        assert_ne!(structure, *full, "the schema has annotations to drop");
        let kept = strip(
            &serde_json::json!({"properties": {"title": {"title": "T"}}}),
            false,
        );
        assert_eq!(kept, serde_json::json!({"properties": {"title": {}}}));
    }

    #[test]
    fn pointers_follow_escapes_and_indexes() {
        let root = structure();
        let domain = root.pointer("/$defs/Server/properties/domain");
        assert!(domain.is_some_and(|d| d.get("$ref").is_some() || d.get("type").is_some()));
        assert!(
            root.pointer("/$defs/Server/properties/domain/description")
                .is_none()
        );
        assert_eq!(root.pointer(""), Some(root));
        assert_eq!(root.pointer("properties"), None);
        let required = root.pointer("/required").and_then(Structure::as_array);
        assert!(required.is_some_and(|r| !r.is_empty()));
        assert!(
            root.pointer("/required/0")
                .and_then(Structure::as_str)
                .is_some()
        );
        assert!(root.pointer("/required/999").is_none());
        assert!(TRUE.is_true() && !root.is_true());
    }
}
