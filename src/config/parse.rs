//! Parsing `prose.toml` into a [`Node`] tree whose values keep their spans.

use toml::de::{DeTable, DeValue};

use crate::diagnostics::source::{SourceId, Span};
use crate::diagnostics::{Diagnostic, code, is_secret_key, mask_range};
use crate::provenance::{Node, Origin, Value};

/// Parses a TOML document. Syntax errors are all reported (the parser recovers where it can);
/// a document with any syntax error yields no tree, since its structure cannot be trusted.
pub fn parse_toml(text: &str, source: SourceId, diagnostics: &mut Vec<Diagnostic>) -> Option<Node> {
    let (table, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for error in errors {
            if let Some(limit) =
                super::limits::parser_recursion(error.message(), error.span(), text, source)
            {
                diagnostics.push(limit);
                continue;
            }
            let span = error.span().map(|r| Span::new(source, r));
            diagnostics.push(
                Diagnostic::error(
                    code::SYNTAX,
                    format!("TOML syntax error: {}", first_line(error.message())),
                )
                .at(span, "here")
                .help(syntax_help(error.message())),
            );
        }
        return None;
    }
    let span = Span::new(source, 0..0);
    let mut root = Node::new(Value::Table(Default::default()), Origin::File(span), None);
    root.value = Value::Table(convert_table(table.get_ref(), source));
    Some(root)
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message).trim()
}

fn syntax_help(message: &str) -> &'static str {
    if message.contains("duplicate key") {
        "each key may be set once per table: remove or merge the repeated key"
    } else if message.contains("invalid string") || message.contains("unterminated") {
        "strings are written in double quotes, e.g. `domain = \"example.org\"`"
    } else {
        "see https://toml.io for the TOML syntax"
    }
}

fn convert_table(table: &DeTable<'_>, source: SourceId) -> indexmap::IndexMap<String, Node> {
    table
        .iter()
        .map(|(key, value)| {
            let key_span = Span::new(source, key.span());
            let mut node = convert_value(value.get_ref(), Span::new(source, value.span()), source);
            node.key_span = Some(key_span);
            (key.get_ref().to_string(), node)
        })
        .collect()
}

/// Converts a parsed TOML value whose span is `range` in `source`.
pub fn convert_value_public(
    value: &DeValue<'_>,
    range: std::ops::Range<usize>,
    source: SourceId,
) -> Node {
    convert_value(value, Span::new(source, range), source)
}

fn convert_value(value: &DeValue<'_>, span: Span, source: SourceId) -> Node {
    let value = match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => {
            match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok() {
                Some(n) => Value::Integer(n),
                // Out of i64 range: keep it as a float so the schema reports the range.
                None => Value::Float(f64::INFINITY),
            }
        }
        DeValue::Float(f) => Value::Float(f.as_str().replace('_', "").parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| convert_value(item.get_ref(), Span::new(source, item.span()), source))
                .collect(),
        ),
        DeValue::Table(t) => Value::Table(convert_table(t, source)),
    };
    Node::new(value, Origin::File(span), None)
}

/// A copy of `text` with the values of secret keys replaced by `*` (byte lengths kept, so
/// spans stay valid). This is the only text diagnostics ever show.
pub fn mask_secrets(text: &str, root: &Node) -> String {
    let mut bytes = text.as_bytes().to_vec();
    root.for_each_leaf(&mut Vec::new(), &mut |path, node| {
        let secret = path.last().is_some_and(|k| is_secret_key(k));
        if let (true, Value::String(_), Some(span)) = (secret, &node.value, node.origin.span()) {
            mask_range(&mut bytes, span.start, span.end);
        }
    });
    // Masking replaces whole UTF-8 sequences byte for byte with ASCII, so this cannot fail.
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_spans_and_secrets_are_masked() {
        let text =
            "[notifiers.email]\nsmtp_host = \"mail.example.org\"\nsmtp_password = \"hünter2\"\n";
        let mut diags = Vec::new();
        let root = parse_toml(text, SourceId(0), &mut diags).unwrap();
        let host = root.get_path(&["notifiers", "email", "smtp_host"]).unwrap();
        let span = host.origin.span().unwrap();
        assert_eq!(&text[span.range()], "\"mail.example.org\"");
        let masked = mask_secrets(text, &root);
        assert!(!masked.contains("nter2"));
        assert!(masked.contains("smtp_password = \"********\""));
        assert_eq!(masked.len(), text.len());
    }

    #[test]
    fn syntax_errors_are_reported_with_spans() {
        let mut diags = Vec::new();
        assert!(parse_toml("[server]\ndomain = \n", SourceId(0), &mut diags).is_none());
        assert!(!diags.is_empty());
        assert!(diags[0].span.is_some());
    }
}
