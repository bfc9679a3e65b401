//! A typed model of `prosody.cfg.lua` and its printer.
//!
//! Nothing is ever concatenated into Lua code: configuration values become [`Value`]s, option
//! names become [`Ident`]s (checked Lua identifiers that Prosody's config environment does not
//! reserve), environment references become [`EnvName`]s, and the printer alone decides how each
//! is written. Strings are always double-quoted and escaped by [`quote`] (reference
//! `output-formats.md` §7): `\\`, `\"`, `\n`, `\r`, `\t`, every other byte below 0x20 and 0x7F
//! as a three-digit decimal escape; never long brackets. Comments go through [`comment`], which
//! makes a line break (or anything that could look like one) impossible. So no value can end a
//! string, start a comment or add a statement.
//!
//! Layout is byte for byte the Pod API's printer (prose-pod-api 0.20.0,
//! `src/prosody-config/src/prosody_config_file/print.rs`): two-space indentation, one group of
//! definitions per blank-line-separated block with an optional `-- comment`, `;`-terminated
//! multi-line lists and tables (a table is multi-line even when empty), one-line `{ x }` only
//! for a list of one scalar (so a list of lists is multi-line at every level).
//!
//! Two deliberate differences, for strings upstream does not escape for Lua: upstream prints a
//! string with Rust's `{:?}` (`\u{…}` escapes, which Lua 5.1 does not read, and a `\0` that a
//! following digit extends), and table keys raw. Here strings use Lua's own escapes and a key
//! that is not an identifier is written `["…"]`. Both print the same bytes for every printable
//! ASCII string and identifier key, which is all that a valid configuration holds.

use std::fmt::Write as _;

use indexmap::IndexMap;

use crate::config::formats;

/// A Lua value as it appears on the right of `option = …`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Integer(i64),
    String(String),
    /// `ENV_<name>`: Prosody reads the environment variable `<name>`.
    Env(EnvName),
    /// An integer written as a product, e.g. `20 * 1024 * 1024`.
    Product(Vec<u64>),
    /// A list, printed one item per line (one-line when it holds a single scalar).
    List(Vec<Value>),
    /// A table with string keys, in insertion order.
    Map(IndexMap<String, Value>),
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A list of strings.
    pub fn strings<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::List(items.into_iter().map(|s| Value::String(s.into())).collect())
    }

    /// A map from `(key, value)` pairs.
    pub fn map<I, K>(entries: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The product's value, `None` on overflow.
    pub fn product_value(factors: &[u64]) -> Option<u64> {
        factors.iter().try_fold(1u64, |acc, f| acc.checked_mul(*f))
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, Value::List(_) | Value::Map(_))
    }
}

/// Lua's reserved words (Lua 5.1–5.4).
const LUA_KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Names that are not options in `prosody.cfg.lua`: the functions and state of Prosody's config
/// environment (0.12 `core/configmanager.lua`; 13.0 adds the `File*`, `Credential` and `Lua`
/// helpers), and the environment itself. Assigning one would replace a function that later
/// lines call, or (`__currenthost`) silently move the following options to another host.
pub const RESERVED_NAMES: &[&str] = &[
    "VirtualHost",
    "Host",
    "host",
    "Component",
    "component",
    "Include",
    "include",
    "RunScript",
    "FileContents",
    "FileLine",
    "FileLines",
    "Credential",
    "Lua",
    "__currenthost",
    "_ENV",
    "_G",
];

/// Whether `name` can be written bare (as an identifier) in Lua: `[A-Za-z_][A-Za-z0-9_]*`,
/// not a keyword.
pub fn is_lua_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !LUA_KEYWORDS.contains(&name)
}

/// An option name: a Lua identifier that Prosody's config environment does not reserve.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(String);

/// Why a name cannot be an option name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    pub message: String,
    pub help: String,
}

impl Ident {
    pub fn new(name: &str) -> Result<Ident, NameError> {
        if let Err(problem) = formats::lua_identifier(name) {
            return Err(NameError {
                message: problem.message,
                help: problem.help,
            });
        }
        if !is_lua_identifier(name) {
            // formats::lua_identifier and this module must agree; never print a bad name.
            return Err(NameError {
                message: format!("`{}` is not a Lua identifier", formats::shown(name)),
                help: "option names are letters, digits and `_`".into(),
            });
        }
        if RESERVED_NAMES.contains(&name) || name.starts_with("ENV_") {
            return Err(NameError {
                message: format!("`{name}` is reserved in prosody.cfg.lua, not an option name"),
                help: "Prosody's configuration uses this name itself (a function, the environment or an `ENV_` variable reference)".into(),
            });
        }
        Ok(Ident(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name of an environment variable read with `ENV_<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvName(String);

impl EnvName {
    /// `[A-Za-z0-9_]+`, so `ENV_<name>` is an identifier.
    pub fn new(name: &str) -> Option<EnvName> {
        (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .then(|| EnvName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `s` as a Lua double-quoted string literal, valid in Lua 5.1 to 5.4.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Three digits always, so a following digit cannot extend the escape.
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\{:03}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text made safe for a `--` comment line: it cannot contain a line break (nor anything a
/// reader could take for one), so nothing after it can become code.
pub fn comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A table key: bare when it is an identifier, `["…"]` otherwise.
fn key(k: &str) -> String {
    if is_lua_identifier(k) {
        k.to_owned()
    } else {
        format!("[{}]", quote(k))
    }
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

impl Value {
    /// Prints the value as it appears after `name = ` at nesting `level`.
    pub fn print(&self, out: &mut String, level: usize) {
        match self {
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Integer(i) if *i == i64::MIN => {
                // The literal 9223372036854775808 would overflow to a float.
                out.push_str("(-9223372036854775807 - 1)")
            }
            Value::Integer(i) => {
                let _ = write!(out, "{i}");
            }
            Value::String(s) => out.push_str(&quote(s)),
            Value::Env(name) => {
                let _ = write!(out, "ENV_{}", name.as_str());
            }
            Value::Product(factors) if factors.is_empty() => out.push('1'),
            Value::Product(factors) => {
                let parts: Vec<String> = factors.iter().map(u64::to_string).collect();
                out.push_str(&parts.join(" * "));
            }
            Value::List(items) => match items.as_slice() {
                [] => out.push_str("{}"),
                [one] if one.is_scalar() => {
                    out.push_str("{ ");
                    one.print(out, level);
                    out.push_str(" }");
                }
                _ => {
                    out.push_str("{\n");
                    for item in items {
                        indent(out, level + 1);
                        item.print(out, level + 1);
                        out.push_str(";\n");
                    }
                    indent(out, level);
                    out.push('}');
                }
            },
            Value::Map(entries) => {
                // Multi-line even when empty, as upstream prints a table.
                out.push_str("{\n");
                for (k, v) in entries {
                    indent(out, level + 1);
                    out.push_str(&key(k));
                    out.push_str(" = ");
                    v.print(out, level + 1);
                    out.push_str(";\n");
                }
                indent(out, level);
                out.push('}');
            }
        }
    }

    /// The value printed at nesting level 0 (for tests and messages).
    pub fn to_lua(&self) -> String {
        let mut out = String::new();
        self.print(&mut out, 0);
        out
    }
}

/// `name = value`, with optional comment lines above it.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub comments: Vec<String>,
    pub name: Ident,
    pub value: Value,
}

/// Definitions printed together, after an optional comment line, followed by a blank line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    pub comment: Option<String>,
    pub definitions: Vec<Definition>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SectionKind {
    VirtualHost,
    Component { plugin: String },
}

/// A `VirtualHost "host"` or `Component "host" "plugin"` and the options under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub host: String,
    pub kind: SectionKind,
    pub groups: Vec<Group>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// Comment lines at the top; the first must be `Prose Pod Server`.
    pub header: Vec<String>,
    pub global: Vec<Group>,
    pub sections: Vec<Section>,
}

fn print_groups(out: &mut String, groups: &[Group], level: usize) {
    for group in groups.iter().filter(|g| !g.definitions.is_empty()) {
        if let Some(c) = &group.comment {
            indent(out, level);
            let _ = writeln!(out, "-- {}", comment(c));
        }
        for definition in &group.definitions {
            for c in &definition.comments {
                indent(out, level);
                let _ = writeln!(out, "-- {}", comment(c));
            }
            indent(out, level);
            out.push_str(definition.name.as_str());
            out.push_str(" = ");
            definition.value.print(out, level);
            out.push('\n');
        }
        out.push('\n');
    }
}

impl File {
    pub fn print(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            let _ = writeln!(out, "-- {}", comment(line));
        }
        out.push('\n');
        if self.global.iter().any(|g| !g.definitions.is_empty()) {
            out.push_str("-- Base server configuration\n");
            print_groups(&mut out, &self.global, 0);
        }
        if !self.sections.is_empty() {
            out.push_str("-- Server hosts and components\n");
            for section in &self.sections {
                match &section.kind {
                    SectionKind::VirtualHost => {
                        let _ = writeln!(out, "VirtualHost {}", quote(&section.host));
                    }
                    SectionKind::Component { plugin } => {
                        let _ =
                            writeln!(out, "Component {} {}", quote(&section.host), quote(plugin));
                    }
                }
                print_groups(&mut out, &section.groups, 1);
                // Exactly one blank line after a section, even one without options.
                out.truncate(out.trim_end().len());
                out.push_str("\n\n");
            }
        }
        let mut text = out.trim_end().to_owned();
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a literal printed by [`quote`] the way Lua's lexer does (the escapes it emits).
    fn unquote(lit: &str) -> String {
        let inner = lit
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .expect("quoted");
        let bytes = inner.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            assert!(b != b'"', "unescaped quote in {lit:?}");
            assert!(b != b'\n' && b != b'\r', "raw line break in {lit:?}");
            if b == b'\\' {
                let e = bytes[i + 1];
                match e {
                    b'\\' => out.push(b'\\'),
                    b'"' => out.push(b'"'),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'0'..=b'9' => {
                        let digits = &inner[i + 1..i + 4];
                        assert!(digits.bytes().all(|d| d.is_ascii_digit()), "{lit:?}");
                        out.push(digits.parse::<u8>().unwrap());
                        i += 2;
                    }
                    other => panic!("unexpected escape \\{} in {lit:?}", other as char),
                }
                i += 2;
            } else {
                out.push(b);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quote_escapes_exactly_what_lua_needs() {
        assert_eq!(quote("plain"), "\"plain\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
        assert_eq!(quote("\0"), "\"\\000\"");
        assert_eq!(quote("\u{1}9"), "\"\\0019\"");
        assert_eq!(quote("\u{7f}"), "\"\\127\"");
        assert_eq!(quote("]]--;"), "\"]]--;\"");
        assert_eq!(quote("\u{2028}é"), "\"\u{2028}é\"");
    }

    #[test]
    fn quote_round_trips_every_ascii_byte_and_nasty_strings() {
        let mut corpus: Vec<String> = (0u8..=0x7f).map(|b| (b as char).to_string()).collect();
        corpus.push((0u8..=0x7f).map(|b| b as char).collect());
        for nasty in [
            "\"; os.execute(\"touch /tmp/pwned\") --",
            "\\\"",
            "\\",
            "]]",
            "]=]",
            "[[",
            "a\nb",
            "a\rb",
            "--[[ x ]]",
            ";",
            "\0\0\u{1}2",
            "\u{2028}\u{2029}\u{85}",
            "\\n",
            "\\000",
            "\u{1b}[31m",
            "\\\n",
        ] {
            corpus.push(nasty.to_owned());
            corpus.push(format!("x{nasty}y{nasty}"));
        }
        for s in &corpus {
            let lit = quote(s);
            assert_eq!(&unquote(&lit), s, "{lit}");
            // The literal is one line and holds no long-bracket opener outside the quotes.
            assert!(!lit.contains('\n') && !lit.contains('\r'), "{lit:?}");
            // Only printable ASCII or non-ASCII text: no raw control bytes.
            assert!(lit.bytes().all(|b| b >= 0x20 && b != 0x7f), "{lit:?}");
        }
    }

    #[test]
    fn comments_cannot_break_the_line() {
        for text in ["a\nb = 1", "a\rb", "x\u{2028}y", "\u{85}z", "\0"] {
            let c = comment(text);
            assert!(
                !c.chars().any(|ch| ch.is_control() || ch == '\u{2028}'),
                "{c:?}"
            );
        }
        assert_eq!(comment("plain — text"), "plain — text");
    }

    #[test]
    fn idents_are_identifiers_that_prosody_does_not_reserve() {
        assert!(Ident::new("c2s_require_encryption").is_ok());
        for bad in [
            "",
            "1a",
            "a-b",
            "end",
            "nil",
            "a b",
            "a\"",
            "VirtualHost",
            "Include",
            "__currenthost",
            "_ENV",
            "ENV_HOME",
            "Component",
            "RunScript",
        ] {
            assert!(Ident::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn env_names_are_restricted() {
        assert!(EnvName::new("OAUTH2_REGISTRATION_KEY").is_some());
        for bad in ["", "A-B", "A B", "A\"", "A)"] {
            assert!(EnvName::new(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn values_print_like_upstream() {
        assert_eq!(Value::Bool(true).to_lua(), "true");
        assert_eq!(Value::Integer(-5).to_lua(), "-5");
        assert_eq!(
            Value::Integer(i64::MIN).to_lua(),
            "(-9223372036854775807 - 1)"
        );
        assert_eq!(
            Value::Product(vec![20, 1024, 1024]).to_lua(),
            "20 * 1024 * 1024"
        );
        assert_eq!(Value::Env(EnvName::new("X").unwrap()).to_lua(), "ENV_X");
        assert_eq!(Value::List(vec![]).to_lua(), "{}");
        assert_eq!(Value::Map(IndexMap::new()).to_lua(), "{\n}");
        assert_eq!(Value::List(vec![Value::Integer(5280)]).to_lua(), "{ 5280 }");
        assert_eq!(
            Value::strings(["a", "b"]).to_lua(),
            "{\n  \"a\";\n  \"b\";\n}"
        );
        let limits = Value::map([(
            "c2s",
            Value::map([
                ("rate", Value::string("50kb/s")),
                ("burst", Value::string("2s")),
            ]),
        )]);
        assert_eq!(
            limits.to_lua(),
            "{\n  c2s = {\n    rate = \"50kb/s\";\n    burst = \"2s\";\n  };\n}"
        );
        // A list of lists: multi-line at both levels, as upstream prints `disco_items`.
        let disco = Value::List(vec![Value::strings(["upload.prose.local", "HTTP File Upload"])]);
        assert_eq!(
            disco.to_lua(),
            "{\n  {\n    \"upload.prose.local\";\n    \"HTTP File Upload\";\n  };\n}"
        );
    }

    #[test]
    fn map_keys_that_are_not_identifiers_are_bracketed_and_escaped() {
        let m = Value::map([
            ("ok_key", Value::Integer(1)),
            ("end", Value::Integer(2)),
            ("a-b", Value::Integer(3)),
            ("\"]] = os.exit() --", Value::Integer(4)),
            ("1", Value::Integer(5)),
        ]);
        assert_eq!(
            m.to_lua(),
            "{\n  ok_key = 1;\n  [\"end\"] = 2;\n  [\"a-b\"] = 3;\n  [\"\\\"]] = os.exit() --\"] = 4;\n  [\"1\"] = 5;\n}"
        );
    }

    #[test]
    fn file_layout() {
        let def = |name: &str, value: Value| Definition {
            comments: vec![],
            name: Ident::new(name).unwrap(),
            value,
        };
        let file = File {
            header: vec!["Prose Pod Server".into(), "evil\nos.exit()".into()],
            global: vec![
                Group {
                    comment: None,
                    definitions: vec![def("pidfile", Value::string("/p"))],
                },
                Group::default(),
                Group {
                    comment: Some("Modules".into()),
                    definitions: vec![def("modules_enabled", Value::strings(["a", "b"]))],
                },
            ],
            sections: vec![
                Section {
                    host: "example.org".into(),
                    kind: SectionKind::VirtualHost,
                    groups: vec![Group {
                        comment: Some("HTTP settings".into()),
                        definitions: vec![def("http_host", Value::string("h"))],
                    }],
                },
                Section {
                    host: "groups.example.org".into(),
                    kind: SectionKind::Component {
                        plugin: "muc".into(),
                    },
                    groups: vec![Group {
                        comment: None,
                        definitions: vec![Definition {
                            comments: vec!["why".into()],
                            ..def("name", Value::string("Chatrooms"))
                        }],
                    }],
                },
            ],
        };
        let expected = r#"-- Prose Pod Server
-- evil\nos.exit()

-- Base server configuration
pidfile = "/p"

-- Modules
modules_enabled = {
  "a";
  "b";
}

-- Server hosts and components
VirtualHost "example.org"
  -- HTTP settings
  http_host = "h"

Component "groups.example.org" "muc"
  -- why
  name = "Chatrooms"
"#;
        assert_eq!(file.print(), expected);
    }
}
