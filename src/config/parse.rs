//! Parsing `prose.toml` into a [`Node`] tree whose values keep their spans.

use toml::de::{DeTable, DeValue};

use crate::diagnostics::source::{SourceId, Span};
use crate::diagnostics::{Diagnostic, Secrets, code, is_secret_key, mask_range, mask_toml_text};
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
/// spans stay valid). This is the only text diagnostics ever show. Masked: every value at any
/// depth (inside arrays of tables too) under a key that is a secret, whatever its type (a
/// password written as a number), then, by key name on the raw text, what the tree does not
/// know (see [`crate::diagnostics::mask_toml_text`]). The values masked go into `secrets`.
pub fn mask_secrets(text: &str, root: Option<&Node>, secrets: &mut Secrets) -> String {
    let mut bytes = text.as_bytes().to_vec();
    if let Some(root) = root {
        root.for_each_value(&mut Vec::new(), &mut |path, node| {
            // The cheap tests first: a table or an array is not masked itself.
            let leaf = !matches!(node.value, Value::Table(_) | Value::Array(_));
            if leaf
                && let Some(span) = node.origin.span()
                && span.end <= text.len()
                && path.iter().any(|k| is_secret_key(k))
            {
                secrets.add(
                    match &node.value {
                        Value::String(s) => s.clone(),
                        _ => text[span.range()].to_owned(),
                    }
                    .as_str(),
                );
                mask_range(&mut bytes, span.start, span.end);
            }
        });
    }
    // Masking replaces whole UTF-8 sequences byte for byte with ASCII, so this cannot fail.
    let masked = String::from_utf8(bytes).unwrap_or_default();
    mask_toml_text(&masked, secrets)
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
        let mut secrets = Secrets::default();
        let masked = mask_secrets(text, Some(&root), &mut secrets);
        assert!(!masked.contains("nter2"));
        assert_eq!(secrets.scrub("hünter2"), "********");
        assert!(masked.contains("smtp_password = \"********\""));
        assert_eq!(masked.len(), text.len());
    }

    #[test]
    fn secrets_at_any_depth_and_of_any_type_are_masked() {
        let text = "[a]\nexternal_services = [{ type = \"turn\", secret = \"s3cr3t-value\" }]\n\
                    sql = { password = 12345678 }\n[[b]]\npassword = 99999999\n";
        let root = parse_toml(text, SourceId(0), &mut Vec::new()).unwrap();
        let masked = mask_secrets(text, Some(&root), &mut Secrets::default());
        for leak in ["s3cr3t", "12345678", "99999999"] {
            assert!(!masked.contains(leak), "{leak}: {masked}");
        }
        assert!(masked.contains("type = \"turn\""), "{masked}");
    }

    #[test]
    fn syntax_errors_are_reported_with_spans() {
        let mut diags = Vec::new();
        assert!(parse_toml("[server]\ndomain = \n", SourceId(0), &mut diags).is_none());
        assert!(!diags.is_empty());
        assert!(diags[0].span.is_some());
    }
}
