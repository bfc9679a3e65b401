//! The JSON Schema of `prose.toml`, generated from the model's types.
//!
//! Committed as `schema/prose.schema.json` for editors (taplo / Even Better TOML via a
//! `#:schema` directive) and enforced at run time by `validate`. What editors need beyond
//! the model is added here, by transforms: the `pattern` of each string format (editors
//! ignore custom formats), annotations beside a `$ref` moved where taplo reads them, and
//! links to the reference.

use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::{Transform, transform_subschemas};

use crate::config::Config;
use crate::config::formats;

/// Where the committed schema is published, relative to the repository root.
pub const SCHEMA_PATH: &str = "schema/prose.schema.json";

/// Where the schema the built-in validator is compiled from is committed ([`validator_schema`]),
/// relative to the repository root: an input of the build, not a published file.
pub const VALIDATOR_SCHEMA_PATH: &str = "src/config/validator.schema.json";

/// The schema's `$id`: a name, not a download location (the tool never touches the network).
pub const SCHEMA_ID: &str = "https://prose.org/schemas/prose-compile/prose.schema.json";

/// TOML has no null: drop the `null` alternative schemars adds to optional keys, so editors
/// do not offer it and validators do not accept it.
#[derive(Clone)]
struct NoNull;

impl Transform for NoNull {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(obj) = schema.as_object_mut() {
            if let Some(serde_json::Value::Array(types)) = obj.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let single = types[0].clone();
                    obj.insert("type".into(), single);
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(serde_json::Value::Array(alts)) = obj.get_mut(key) {
                    alts.retain(|a| a.get("type").and_then(|t| t.as_str()) != Some("null"));
                    if alts.len() == 1 {
                        let only = alts.remove(0);
                        obj.remove(key);
                        if let serde_json::Value::Object(inner) = only {
                            for (k, v) in inner {
                                obj.entry(k).or_insert(v);
                            }
                        }
                    }
                }
            }
            // A default of null documents nothing (TOML has no null).
            match obj.get_mut("default") {
                Some(serde_json::Value::Null) => {
                    obj.remove("default");
                }
                Some(default) => drop_nulls(default),
                None => {}
            }
        }
        transform_subschemas(self, schema);
    }
}

/// schemars bounds 8- and 16-bit integers but leaves `maximum` off 32-bit ones: add it, so
/// `min_connections = 4294967296` is a range error, not a value serde refuses after the
/// schema accepted it. (64-bit ones hold every TOML integer.)
#[derive(Clone)]
struct IntegerBounds;

impl Transform for IntegerBounds {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(obj) = schema.as_object_mut() {
            let bounds = match obj.get("format").and_then(|f| f.as_str()) {
                Some("uint32") => Some((0, i64::from(u32::MAX))),
                Some("int32") => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
                _ => None,
            };
            if let Some((min, max)) = bounds {
                obj.entry("minimum").or_insert(min.into());
                obj.entry("maximum").or_insert(max.into());
            }
        }
        transform_subschemas(self, schema);
    }
}

fn drop_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Each string `format` of [`formats::FORMATS`] gets its `pattern` (and `not: {enum}` for the
/// words the pattern cannot exclude), so an editor catches what the compiler refuses.
#[derive(Clone)]
struct FormatPatterns;

impl Transform for FormatPatterns {
    fn transform(&mut self, schema: &mut Schema) {
        let format = schema
            .get("format")
            .and_then(serde_json::Value::as_str)
            .and_then(formats::find);
        if let (Some(format), Some(obj)) = (format, schema.as_object_mut()) {
            if let Some(pattern) = format.pattern {
                obj.entry("pattern").or_insert(pattern.into());
            }
            if !format.excluded.is_empty() {
                obj.insert("not".into(), serde_json::json!({ "enum": format.excluded }));
            }
        }
        transform_subschemas(self, schema);
    }
}

/// `{"$ref": D, "description": …}` becomes `{"allOf": [{"$ref": D}, {"description": …}]}`:
/// taplo (Draft 4 semantics) ignores every sibling of `$ref`, so hover would show nothing on
/// a table or an enum-typed key. Validation is unchanged; `SchemaNav` reads both shapes.
#[derive(Clone)]
struct RefAnnotations;

impl Transform for RefAnnotations {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(obj) = schema.as_object_mut()
            && obj.len() > 1
            && let Some(reference) = obj.remove("$ref")
        {
            let annotations = std::mem::take(obj);
            obj.insert(
                "allOf".into(),
                serde_json::json!([{ "$ref": reference }, annotations]),
            );
        }
        transform_subschemas(self, schema);
    }
}

/// Where the keys of each top-level table are documented (taplo shows the link on hover).
fn reference_link(key: &str) -> &'static str {
    match key {
        "prosody" => "https://prosody.im/doc/configure",
        _ => "https://docs.prose.org/references/pod-config",
    }
}

/// Adds `x-taplo.links.key` to every top-level key, where taplo reads annotations.
fn add_links(schema: &mut serde_json::Value) {
    let Some(properties) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    for (key, property) in properties.iter_mut() {
        let annotations = match property.pointer_mut("/allOf/1") {
            Some(annotations) => annotations,
            None => property,
        };
        if let Some(obj) = annotations.as_object_mut() {
            obj.insert(
                "x-taplo".into(),
                serde_json::json!({ "links": { "key": reference_link(key) } }),
            );
        }
    }
}

/// The schema as a JSON value.
pub fn schema() -> serde_json::Value {
    generate(true)
}

/// The schema the built-in validator is compiled from (`config::validate`): the committed one
/// without the `pattern` (and `not: {enum}`) each string format adds for editors. A format's
/// checker accepts nothing its pattern refuses (`config::formats` tests hold them together),
/// and the validator checks formats, so those keywords decide nothing there; left in, they
/// would be compiled as regular expressions by every process that validates a configuration.
/// The model's other patterns ([`formats::PLAIN_PATTERNS`]) become formats there, checked by
/// predicates that decide exactly what the patterns do.
pub fn validator_schema() -> serde_json::Value {
    let mut schema = generate(false);
    plain_patterns_to_formats(&mut schema);
    schema
}

fn plain_patterns_to_formats(schema: &mut serde_json::Value) {
    match schema {
        serde_json::Value::Object(obj) => {
            let plain = obj.get("pattern").and_then(|p| {
                formats::PLAIN_PATTERNS
                    .iter()
                    .find(|plain| p.as_str() == Some(plain.pattern))
            });
            if let Some(plain) = plain
                && !obj.contains_key("format")
            {
                obj.remove("pattern");
                obj.insert("format".into(), plain.format.into());
            }
            obj.values_mut().for_each(plain_patterns_to_formats);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(plain_patterns_to_formats),
        _ => {}
    }
}

fn generate(format_patterns: bool) -> serde_json::Value {
    let mut settings = SchemaSettings::draft2020_12()
        .with_transform(NoNull)
        .with_transform(IntegerBounds);
    if format_patterns {
        settings = settings.with_transform(FormatPatterns);
    }
    let generator = settings.with_transform(RefAnnotations).into_generator();
    let mut schema = generator.into_root_schema_for::<Config>();
    schema.insert("$id".into(), SCHEMA_ID.into());
    let mut schema = schema.to_value();
    add_links(&mut schema);
    schema
}

/// The schema as committed: pretty-printed with a final newline.
pub fn schema_text() -> String {
    pretty(&schema())
}

/// [`validator_schema`] as committed at [`VALIDATOR_SCHEMA_PATH`].
pub fn validator_schema_text() -> String {
    pretty(&validator_schema())
}

fn pretty(schema: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The committed schema, built into the binary (the file `validate` compiles at build time).
/// It is the generated one, byte for byte ([`schema_text`]): `tests/integration/front_end.rs`
/// fails when they drift. The binary writes and reads this text and never runs the generator,
/// so schemars' code is not linked into it (smaller, faster to start).
pub const COMMITTED: &str = include_str!("../../schema/prose.schema.json");

/// The schema, parsed once per process from [`COMMITTED`] (parsing it costs a third of
/// generating it with schemars, and it is the very schema the built-in validator enforces).
pub fn schema_cached() -> &'static serde_json::Value {
    static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(COMMITTED)
            .expect("the committed schema is JSON (the validator is compiled from it)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `pattern` of the published schema is a format's (the validator checks the format)
    /// or a plain pattern (a predicate there): the built-in validator compiles no regular
    /// expression, whatever a configuration holds.
    #[test]
    fn the_validator_schema_has_no_pattern() {
        fn patterns(value: &serde_json::Value, found: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(obj) => {
                    for (key, value) in obj {
                        if key == "pattern" || key == "patternProperties" {
                            found.push(value.to_string());
                        }
                        patterns(value, found);
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| patterns(v, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        patterns(&validator_schema(), &mut found);
        assert!(found.is_empty(), "{found:?}");
        let mut published = Vec::new();
        patterns(&schema(), &mut published);
        assert!(published.len() > 50, "{}", published.len());
    }
}
