//! The schema's structure: the committed schema without its annotations, parsed into nodes
//! that borrow the embedded text. It answers what loading and rendering a configuration ask of
//! the schema on every run (which keys exist, their types and formats, the order of a table's
//! keys) in a fraction of what the full `serde_json::Value` costs a process (no allocated key,
//! no hash table, no description: see `docs/performance.md`). Explaining an invalid
//! configuration and `explain` still read the full schema ([`super::schema::schema_cached`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One node of the schema's structure: JSON, with objects as ordered lists of entries.
#[derive(Debug, Clone, PartialEq)]
pub enum Structure<'a> {
    Null,
    Bool(bool),
    Number(f64),
    String(Cow<'a, str>),
    Array(Vec<Structure<'a>>),
    Object(Vec<(Cow<'a, str>, Structure<'a>)>),
}

/// Keywords that only annotate (documentation, editor hints, the patterns that restate a
/// `format`): nothing the structure is asked reads them.
const ANNOTATIONS: &[&str] = &[
    "$comment",
    "$id",
    "$schema",
    "default",
    "deprecated",
    "description",
    "examples",
    "markdownDescription",
    "pattern",
    "title",
    "x-taplo",
];

/// Keywords whose object maps names (of keys, of definitions) to schemas: their entries are
/// kept whatever their names.
const NAME_MAPS: &[&str] = &["$defs", "definitions", "patternProperties", "properties"];

/// The structure of the committed schema, parsed once per process.
pub fn structure() -> &'static Structure<'static> {
    static STRUCTURE: OnceLock<Structure<'static>> = OnceLock::new();
    STRUCTURE.get_or_init(|| {
        parse(super::schema::COMMITTED)
            .expect("the committed schema is JSON (the validator is compiled from it)")
    })
}

/// The structure of a schema's text.
pub fn parse(text: &str) -> serde_json::Result<Structure<'_>> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let structure = Node { names: false }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(structure)
}

impl<'a> Structure<'a> {
    /// The value of an object's key.
    pub fn get(&self, key: &str) -> Option<&Structure<'a>> {
        match self {
            Structure::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node a JSON pointer (RFC 6901) names.
    pub fn pointer(&self, pointer: &str) -> Option<&Structure<'a>> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut node = self;
        for token in pointer.strip_prefix('/')?.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            node = match node {
                Structure::Array(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => node.get(&token)?,
            };
        }
        Some(node)
    }
}

/// Deserializes one node; `names` when it is the object of a [`NAME_MAPS`] keyword.
struct Node {
    names: bool,
}

impl<'de> DeserializeSeed<'de> for Node {
    type Value = Structure<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node {
    type Value = Structure<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON schema")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Structure::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Structure::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Structure::Number(n as f64))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Structure::Number(n as f64))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        Ok(Structure::Number(n))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Structure::String(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Structure::String(Cow::Owned(s.to_owned())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Node { names: false })? {
            items.push(item);
        }
        Ok(Structure::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if !self.names && ANNOTATIONS.contains(&&*key) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let names = !self.names && NAME_MAPS.contains(&&*key);
            entries.push((key, map.next_value_seed(Node { names })?));
        }
        Ok(Structure::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The structure is the committed schema without its annotation keywords, entry for
    /// entry and in order, and a key named like an annotation is kept.
    #[test]
    fn it_is_the_schema_without_annotations() {
        fn strip(value: &serde_json::Value, names: bool) -> serde_json::Value {
            match value {
                serde_json::Value::Object(map) => serde_json::Value::Object(
                    map.iter()
                        .filter(|(k, _)| names || !ANNOTATIONS.contains(&k.as_str()))
                        .map(|(k, v)| {
                            let names = !names && NAME_MAPS.contains(&k.as_str());
                            (k.clone(), strip(v, names))
                        })
                        .collect(),
                ),
                serde_json::Value::Array(items) => {
                    serde_json::Value::Array(items.iter().map(|v| strip(v, false)).collect())
                }
                other => other.clone(),
            }
        }
        fn to_json(node: &Structure) -> serde_json::Value {
            match node {
                Structure::Null => serde_json::Value::Null,
                Structure::Bool(b) => (*b).into(),
                Structure::Number(n) => serde_json::Number::from_f64(*n)
                    .map(|n| match n.as_f64() {
                        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => (f as i64).into(),
                        _ => serde_json::Value::Number(n),
                    })
                    .unwrap_or_default(),
                Structure::String(s) => s.as_ref().into(),
                Structure::Array(items) => items.iter().map(to_json).collect(),
                Structure::Object(entries) => serde_json::Value::Object(
                    entries
                        .iter()
                        .map(|(k, v)| (k.to_string(), to_json(v)))
                        .collect(),
                ),
            }
        }
        let full = crate::config::schema::schema_cached();
        assert_eq!(to_json(structure()), strip(full, false));

        let text = r#"{"properties": {"title": {"type": "string", "title": "T"}}, "title": "x"}"#;
        let parsed = parse(text).unwrap();
        assert_eq!(
            parsed.pointer("/properties/title/type"),
            Some(&Structure::String("string".into()))
        );
        assert_eq!(parsed.pointer("/properties/title/title"), None);
        assert_eq!(parsed.get("title"), None);
    }

    #[test]
    fn pointers_follow_escapes_and_indexes() {
        let parsed = parse(r#"{"a/b": {"c~d": [1, {"e": true}]}}"#).unwrap();
        assert_eq!(
            parsed.pointer("/a~1b/c~0d/1/e"),
            Some(&Structure::Bool(true))
        );
        assert_eq!(parsed.pointer("/a~1b/c~0d/2"), None);
        assert_eq!(parsed.pointer(""), Some(&parsed));
        assert_eq!(parsed.pointer("a"), None);
    }
}
