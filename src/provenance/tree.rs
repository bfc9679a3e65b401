//! The configuration as a tree of values that remember where they came from.
//!
//! Every layer (built-in presets, the file, the environment, `--set`) is parsed into a [`Node`]
//! tree; layers are merged with [`Node::merge`] (tables union, anything else replaced) and the
//! replaced values are kept in `history`, which is what `explain` shows.

use indexmap::IndexMap;

use super::Origin;
use crate::diagnostics::source::Span;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Table(IndexMap<String, Node>),
    Array(Vec<Node>),
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    Datetime(String),
}

impl Value {
    /// The kind as a user reads it in a message ("found a string").
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Table(_) => "a table",
            Value::Array(_) => "an array",
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a decimal number",
            Value::Bool(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
        }
    }
}

/// A value replaced by a higher layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Overridden {
    pub value: Value,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub origin: Origin,
    /// The span of the key that introduced this value (for "unknown key" labels).
    pub key_span: Option<Span>,
    /// Lower layers' values this one replaced, nearest first.
    pub history: Vec<Overridden>,
}

/// Marker object key used in JSON for TOML values JSON cannot hold (dates, non-finite floats),
/// so the schema rejects them wherever a string or number is expected.
pub const FOREIGN_MARKER: &str = "$toml";

impl Node {
    pub fn new(value: Value, origin: Origin, key_span: Option<Span>) -> Self {
        Node {
            value,
            origin,
            key_span,
            history: Vec::new(),
        }
    }

    pub fn table(origin: Origin) -> Self {
        Node::new(Value::Table(IndexMap::new()), origin, None)
    }

    pub fn as_table(&self) -> Option<&IndexMap<String, Node>> {
        match &self.value {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_table_mut(&mut self) -> Option<&mut IndexMap<String, Node>> {
        match &mut self.value {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Merges a higher-precedence layer into this one: tables are unioned key by key,
    /// anything else is replaced and remembered in `history`.
    pub fn merge(&mut self, upper: Node) {
        match (&mut self.value, upper.value) {
            (Value::Table(lower), Value::Table(upper_table)) => {
                for (key, node) in upper_table {
                    match lower.get_mut(&key) {
                        Some(existing) => existing.merge(node),
                        None => {
                            lower.insert(key, node);
                        }
                    }
                }
                if self.key_span.is_none() {
                    self.key_span = upper.key_span;
                }
            }
            (_, value) => {
                let replaced = std::mem::replace(
                    self,
                    Node {
                        value,
                        origin: upper.origin,
                        key_span: upper.key_span,
                        history: upper.history,
                    },
                );
                self.history.push(Overridden {
                    value: replaced.value,
                    origin: replaced.origin,
                });
                self.history.extend(replaced.history);
            }
        }
    }

    /// The node at a path of keys (array indices as decimal strings).
    pub fn get_path<S: AsRef<str>>(&self, path: &[S]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| match &node.value {
            Value::Table(t) => t.get(key.as_ref()),
            Value::Array(items) => key
                .as_ref()
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i)),
            _ => None,
        })
    }

    /// Inserts `node` at `path`, creating tables on the way (used for computed defaults).
    /// Does nothing if a non-table value is in the way.
    pub fn insert_path(&mut self, path: &[&str], node: Node) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut here = self;
        for key in parents {
            let Some(table) = here.as_table_mut() else {
                return;
            };
            here = table
                .entry((*key).to_owned())
                .or_insert_with(|| Node::table(node.origin.clone()));
        }
        if let Some(table) = here.as_table_mut() {
            table.insert((*last).to_owned(), node);
        }
    }

    /// The tree as JSON, for the schema validator and serde.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Table(t) => J::Object(t.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Value::Array(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::String(s) => J::String(s.clone()),
            Value::Integer(i) => J::from(*i),
            Value::Bool(b) => J::Bool(*b),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or_else(|| foreign(&f.to_string())),
            Value::Datetime(d) => foreign(d),
        }
    }

    /// Calls `visit` with the path of every leaf (and of every empty table or array). The path
    /// borrows the tree's keys: a walk allocates nothing per key (it runs several times per
    /// pod, over every key the defaults set).
    pub fn for_each_leaf<'a>(
        &'a self,
        path: &mut Vec<&'a str>,
        visit: &mut dyn FnMut(&[&'a str], &'a Node),
    ) {
        match &self.value {
            Value::Table(t) if !t.is_empty() => {
                for (k, v) in t {
                    path.push(k);
                    v.for_each_leaf(path, visit);
                    path.pop();
                }
            }
            _ => visit(path, self),
        }
    }
}

impl Node {
    /// Calls `visit` with the path of every value at any depth, tables and arrays included
    /// (array items by their decimal index), parents before their children.
    pub fn for_each_value(&self, path: &mut Vec<String>, visit: &mut dyn FnMut(&[String], &Node)) {
        visit(path, self);
        match &self.value {
            Value::Table(t) => {
                for (k, v) in t {
                    path.push(k.clone());
                    v.for_each_value(path, visit);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    v.for_each_value(path, visit);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// Whether any key at any depth (inside arrays of tables too) satisfies `test`.
    pub fn any_key(&self, test: &dyn Fn(&str) -> bool) -> bool {
        match &self.value {
            Value::Table(t) => t.iter().any(|(k, v)| test(k) || v.any_key(test)),
            Value::Array(items) => items.iter().any(|v| v.any_key(test)),
            _ => false,
        }
    }
}

fn foreign(text: &str) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    map.insert(FOREIGN_MARKER.into(), text.into());
    serde_json::Value::Object(map)
}

/// A borrowed path (a [`Node::for_each_leaf`] walk's) to keep.
pub fn owned(path: &[&str]) -> Vec<String> {
    path.iter().map(|s| (*s).to_owned()).collect()
}

/// A dotted key path as a user writes it, quoting segments that need it
/// (`prosody."example.org".overrides`).
pub fn dotted<S: AsRef<str>>(path: &[S]) -> String {
    use std::fmt::Write;
    // One string, written segment by segment (a string per segment and a join cost twice as
    // much: it runs for every key the tool writes or reports).
    let mut out = String::with_capacity(path.iter().map(|s| s.as_ref().len() + 1).sum());
    for (i, s) in path.iter().enumerate() {
        let s = s.as_ref();
        if i > 0 {
            out.push('.');
        }
        let bare = !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if bare {
            out.push_str(s);
        } else {
            let _ = write!(out, "{s:?}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(v: i64, origin: Origin) -> Node {
        Node::new(Value::Integer(v), origin, None)
    }

    #[test]
    fn merge_unions_tables_and_records_replaced_values() {
        let mut lower = Node::table(Origin::Default);
        lower.insert_path(&["a", "x"], leaf(1, Origin::Default));
        lower.insert_path(&["a", "y"], leaf(2, Origin::Default));
        let mut upper = Node::table(Origin::Computed { from: vec![] });
        upper.insert_path(&["a", "x"], leaf(3, Origin::Computed { from: vec![] }));
        lower.merge(upper);
        let x = lower.get_path(&["a", "x"]).unwrap();
        assert_eq!(x.value, Value::Integer(3));
        assert_eq!(x.history.len(), 1);
        assert_eq!(x.history[0].value, Value::Integer(1));
        assert_eq!(
            lower.get_path(&["a", "y"]).unwrap().value,
            Value::Integer(2)
        );
    }

    #[test]
    fn dotted_quotes_segments_that_need_it() {
        assert_eq!(
            dotted(&["prosody", "example.org", "overrides"]),
            "prosody.\"example.org\".overrides"
        );
        assert_eq!(dotted::<&str>(&[]), "");
        assert_eq!(dotted(&["a"]), "a");
        assert_eq!(dotted(&["", "b-c_1", "d\"e"]), "\"\".b-c_1.\"d\\\"e\"");
    }
}
