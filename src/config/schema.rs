//! The JSON Schema of `prose.toml`, generated from the model's types.
//!
//! Committed as `schema/prose.schema.json` for editors (taplo / Even Better TOML via a
//! `#:schema` directive) and enforced at run time by `validate`.

use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::{Transform, transform_subschemas};

use crate::config::Config;

/// Where the committed schema is published, relative to the repository root.
pub const SCHEMA_PATH: &str = "schema/prose.schema.json";

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

/// The schema as a JSON value.
pub fn schema() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12()
        .with_transform(NoNull)
        .with_transform(IntegerBounds)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<Config>();
    schema.insert(
        "$id".into(),
        "https://prose.org/schemas/prose-compile/prose.schema.json".into(),
    );
    schema.to_value()
}

/// The schema as committed: pretty-printed with a final newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The committed schema, built into the binary (the file `validate` compiles at build time).
/// It is the generated one: `tests/integration/front_end.rs` fails when they drift.
pub const COMMITTED: &str = include_str!("../../schema/prose.schema.json");

/// The schema, parsed once per process from [`COMMITTED`] (parsing it costs a third of
/// generating it with schemars, and it is the very schema the built-in validator enforces);
/// the generated one if the committed file were unreadable as JSON.
pub fn schema_cached() -> &'static serde_json::Value {
    static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(COMMITTED).unwrap_or_else(|_| schema()))
}
