//! A typed YAML emitter for the Kubernetes manifests: values are built as [`Yaml`] trees and
//! printed here, so no string from the configuration is ever spliced into YAML text.
//!
//! The printer writes block style in the order the tree was built (deterministic), and quotes
//! every string that a YAML 1.1 reader (PyYAML, go-yaml v2 behind `kubectl`) or a YAML 1.2
//! reader could take for anything but that string: a scalar is plain only when it starts
//! with a letter or `/`, holds nothing but `[A-Za-z0-9._/-]`, and is not one of YAML 1.1's
//! boolean or null words (`yes`, `On`, `n`, `null`, …). Everything else is double-quoted,
//! with every character that is not printable in YAML, or that YAML 1.1 reads as a line break
//! (U+0085, U+2028, U+2029), escaped. A string of several lines (a file in a ConfigMap) is a
//! literal block (`|`) when YAML can hold its text unchanged that way, else double-quoted.
//!
//! Kubernetes also expands `$(VAR)` in `env[].value`, `command` and `args`: the manifests put
//! no configuration string there (configuration reaches containers through ConfigMaps and
//! `envFrom`, which Kubernetes does not expand).

use crate::targets::yaml_scalar::{Dollar, double_quoted, one_line_char};
use std::fmt::Write as _;

/// A YAML value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Yaml {
    Str(String),
    Int(i64),
    Bool(bool),
    Seq(Vec<Yaml>),
    Map(Map),
}

/// A mapping, in insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Map(Vec<(String, Yaml)>);

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    /// Adds an entry (builder style).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Yaml>) -> Map {
        self.push(key, value);
        self
    }

    /// Adds an entry when there is a value.
    pub fn maybe(mut self, key: impl Into<String>, value: Option<impl Into<Yaml>>) -> Map {
        if let Some(value) = value {
            self.push(key, value);
        }
        self
    }

    pub fn push(&mut self, key: impl Into<String>, value: impl Into<Yaml>) {
        self.0.push((key.into(), value.into()));
    }

    pub fn get(&self, key: &str) -> Option<&Yaml> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &Yaml)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `map! { "kind" => "Service", "spec" => map! { … } }`: a [`Map`] from key/value pairs.
macro_rules! map {
    ($($key:expr => $value:expr),* $(,)?) => {
        $crate::targets::kubernetes::yaml::Map::new()$(.with($key, $value))*
    };
}
pub(crate) use map;

/// `seq![a, b]`: a sequence of values of any type that converts into [`Yaml`].
macro_rules! seq {
    ($($value:expr),* $(,)?) => {
        $crate::targets::kubernetes::yaml::Yaml::Seq(vec![$($crate::targets::kubernetes::yaml::Yaml::from($value)),*])
    };
}
pub(crate) use seq;

impl From<&str> for Yaml {
    fn from(s: &str) -> Yaml {
        Yaml::Str(s.to_owned())
    }
}

impl From<String> for Yaml {
    fn from(s: String) -> Yaml {
        Yaml::Str(s)
    }
}

impl From<&String> for Yaml {
    fn from(s: &String) -> Yaml {
        Yaml::Str(s.clone())
    }
}

impl From<bool> for Yaml {
    fn from(b: bool) -> Yaml {
        Yaml::Bool(b)
    }
}

impl From<i64> for Yaml {
    fn from(n: i64) -> Yaml {
        Yaml::Int(n)
    }
}

impl From<u16> for Yaml {
    fn from(n: u16) -> Yaml {
        Yaml::Int(i64::from(n))
    }
}

impl From<u32> for Yaml {
    fn from(n: u32) -> Yaml {
        Yaml::Int(i64::from(n))
    }
}

impl From<Map> for Yaml {
    fn from(m: Map) -> Yaml {
        Yaml::Map(m)
    }
}

impl From<Vec<Yaml>> for Yaml {
    fn from(items: Vec<Yaml>) -> Yaml {
        Yaml::Seq(items)
    }
}

impl From<Vec<Map>> for Yaml {
    fn from(items: Vec<Map>) -> Yaml {
        Yaml::Seq(items.into_iter().map(Yaml::Map).collect())
    }
}

impl From<Vec<String>> for Yaml {
    fn from(items: Vec<String>) -> Yaml {
        Yaml::Seq(items.into_iter().map(Yaml::Str).collect())
    }
}

/// One document of a file: comment lines (without `#`), then the mapping.
#[derive(Debug, Clone)]
pub struct Document {
    pub comments: Vec<String>,
    pub body: Map,
}

impl Document {
    pub fn new(body: Map) -> Document {
        Document {
            comments: Vec::new(),
            body,
        }
    }

    pub fn commented(comments: &[&str], body: Map) -> Document {
        Document {
            comments: comments.iter().map(|c| (*c).to_owned()).collect(),
            body,
        }
    }
}

/// A file: header comment lines, then each document after `---`.
pub fn file(header: &[String], documents: &[Document]) -> String {
    let mut out = String::new();
    for line in header {
        comment(&mut out, "", line);
    }
    for document in documents {
        out.push_str("---\n");
        for line in &document.comments {
            comment(&mut out, "", line);
        }
        write_map(&mut out, &document.body, 0);
    }
    out
}

/// A comment line: `# text`, the text escaped as every generated one-line comment is.
fn comment(out: &mut String, indent: &str, text: &str) {
    let text = crate::targets::templating::escape::line_comment(text);
    if text.is_empty() {
        let _ = writeln!(out, "{indent}#");
    } else {
        let _ = writeln!(out, "{indent}# {text}");
    }
}

fn write_map(out: &mut String, map: &Map, indent: usize) {
    let pad = " ".repeat(indent);
    for (key, value) in &map.0 {
        out.push_str(&pad);
        out.push_str(&scalar(key));
        out.push(':');
        write_value(out, value, indent);
    }
}

/// A value after `key:` or `-`: on the same line when it is a scalar or empty, else below.
fn write_value(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Map(map) if map.is_empty() => out.push_str(" {}\n"),
        Yaml::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Yaml::Map(map) => {
            out.push('\n');
            write_map(out, map, indent + 2);
        }
        Yaml::Seq(items) => {
            out.push('\n');
            write_seq(out, items, indent + 2);
        }
        Yaml::Str(s) if s.contains('\n') && block_safe(s) => {
            write_block(out, s, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Yaml], indent: usize) {
    let pad = " ".repeat(indent);
    for item in items {
        match item {
            // `- key: value`, the other keys aligned under the first.
            Yaml::Map(map) if !map.is_empty() => {
                let mut nested = String::new();
                write_map(&mut nested, map, indent + 2);
                out.push_str(&pad);
                out.push_str("- ");
                out.push_str(&nested[indent + 2..]);
            }
            other => {
                out.push_str(&pad);
                out.push('-');
                write_value(out, other, indent);
            }
        }
    }
}

/// A literal block scalar: `|` with the chomping indicator the text's final line breaks need,
/// and an indentation indicator when its first line starts with a space.
fn write_block(out: &mut String, text: &str, indent: usize) {
    let trailing = text.len() - text.trim_end_matches('\n').len();
    let chomping = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let first = text.split('\n').find(|l| !l.is_empty()).unwrap_or_default();
    let indicator = if first.starts_with(' ') { "2" } else { "" };
    let _ = writeln!(out, " |{indicator}{chomping}");
    let pad = " ".repeat(indent);
    let body = if trailing > 0 {
        &text[..text.len() - 1]
    } else {
        text
    };
    for line in body.split('\n') {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&pad);
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// Whether a multi-line string reads back unchanged as a literal block: only characters YAML
/// prints, no carriage return or YAML 1.1 line break, no byte-order mark, and (so that no
/// document marker or indentation can be misread) every line stays inside the block.
fn block_safe(s: &str) -> bool {
    !s.trim_end_matches('\n').is_empty()
        && s.chars()
            .all(|c| c == '\n' || c == '\t' || one_line_char(c))
        && !s.contains('\r')
        && !s.split('\n').any(|line| line.starts_with('\t'))
}

/// A scalar on one line.
fn inline(value: &Yaml) -> String {
    match value {
        Yaml::Str(s) => scalar(s),
        Yaml::Int(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        // Only reached for empty collections (see `write_value`).
        Yaml::Seq(_) => "[]".to_owned(),
        Yaml::Map(_) => "{}".to_owned(),
    }
}

/// A string as a plain scalar when nothing can misread it, else double-quoted.
pub fn scalar(s: &str) -> String {
    if is_plain(s) { s.to_owned() } else { quoted(s) }
}

/// YAML 1.1's words for booleans and null, which its readers resolve in any case.
const RESERVED_WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];

fn is_plain(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/')
        && chars.all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
        && !RESERVED_WORDS.contains(&s.to_ascii_lowercase().as_str())
}

/// A double-quoted scalar (the escaper compose's templates use too, without doubling `$`).
pub fn quoted(s: &str) -> String {
    double_quoted(s, Dollar::Literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{e}:\n{text}"))
    }

    #[test]
    fn plain_only_when_nothing_can_misread_it() {
        for plain in [
            "Deployment",
            "apps/v1",
            "prose-pod-server",
            "crisp.chat",
            "a_b",
        ] {
            assert_eq!(scalar(plain), plain);
        }
        for quoted in [
            "",
            "yes",
            "On",
            "n",
            "NULL",
            "1",
            "0o17",
            "1:20",
            "2001-12-14",
            ".inf",
            "-x",
            "a b",
            "a:b",
            "a#b",
            "~",
            "=",
            "<<",
            "*x",
            "&x",
            "!x",
            "%x",
            "@x",
            "`x",
            "'x",
            "x\"",
        ] {
            assert!(scalar(quoted).starts_with('"'), "{quoted:?}");
        }
    }

    #[test]
    fn hostile_strings_read_back_unchanged() {
        let hostile = [
            "a\"b\\c",
            "line\nbreak",
            "\u{85}\u{2028}\u{2029}\u{feff}",
            "\u{0}\u{1b}[31m\u{7f}\u{9f}",
            "key: value\n- item\n---\n...",
            "  leading spaces\n\ttab",
            "trailing\n\n\n",
            "\r\n",
            "\n\n",
            "😀 \u{fffe}",
            "$(HOME) ${X}",
        ];
        for s in hostile {
            let doc = map! { "k" => s, "seq" => seq![s, map! { s => s }] };
            let text = file(&[], &[Document::new(doc)]);
            let value = parse(&text);
            assert_eq!(value["k"].as_str(), Some(s), "{text}");
            assert_eq!(value["seq"][0].as_str(), Some(s), "{text}");
            assert_eq!(value["seq"][1][s].as_str(), Some(s), "{text}");
        }
    }

    #[test]
    fn files_are_literal_blocks_with_the_right_chomping() {
        for text in ["a\nb\n", "a\nb", "a\n\n", " indented\nnext\n", "\n\nx\n"] {
            let doc = map! { "data" => map! { "f" => text } };
            let out = file(&[], &[Document::new(doc)]);
            assert!(out.contains('|'), "{out}");
            assert_eq!(parse(&out)["data"]["f"].as_str(), Some(text), "{out}");
        }
    }

    #[test]
    fn layout_is_block_style_and_deterministic() {
        let doc = map! {
            "kind" => "Service",
            "spec" => map! {
                "ports" => vec![map! { "name" => "http", "port" => 80u16 }],
                "empty" => Map::new(),
                "none" => Vec::<Yaml>::new(),
                "flag" => true,
            },
        };
        let text = file(
            &["header".to_owned()],
            &[Document::commented(&["doc"], doc)],
        );
        assert_eq!(
            text,
            "# header\n---\n# doc\nkind: Service\nspec:\n  ports:\n    - name: http\n      port: 80\n  empty: {}\n  none: []\n  flag: true\n"
        );
    }
}
