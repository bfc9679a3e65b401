//! Looking things up in the generated JSON Schema by key path: which keys exist, what type a
//! key has (to parse `PROSE_*` and `--set` values), its description and default (`explain`).

use serde_json::Value;

use super::schema_structure::Structure;

/// The JSON type(s) a key accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kinds {
    pub string: bool,
    pub integer: bool,
    pub number: bool,
    pub boolean: bool,
    pub array: bool,
    pub object: bool,
}

impl Kinds {
    pub fn any() -> Self {
        Kinds {
            string: true,
            integer: true,
            number: true,
            boolean: true,
            array: true,
            object: true,
        }
    }
}

/// What navigating reads of a schema: the full `serde_json::Value`, or its
/// [`Structure`](super::schema_structure::Structure) (no annotations, cheaper to parse).
pub trait SchemaDoc: Sized + 'static {
    fn get(&self, key: &str) -> Option<&Self>;
    /// The node a JSON pointer names.
    fn pointer(&self, pointer: &str) -> Option<&Self>;
    fn as_str(&self) -> Option<&str>;
    fn as_array(&self) -> Option<&[Self]>;
    /// An object's entries in order (none for anything else).
    fn entries(&self) -> impl Iterator<Item = (&str, &Self)>;
    fn is_object(&self) -> bool;
    /// The `true` schema.
    fn is_true(&self) -> bool;
    /// A `true` schema: what a key of a table that takes any key has.
    fn any_schema() -> &'static Self;
}

impl SchemaDoc for Value {
    fn get(&self, key: &str) -> Option<&Self> {
        Value::get(self, key)
    }
    fn pointer(&self, pointer: &str) -> Option<&Self> {
        Value::pointer(self, pointer)
    }
    fn as_str(&self) -> Option<&str> {
        Value::as_str(self)
    }
    fn as_array(&self) -> Option<&[Self]> {
        Value::as_array(self).map(Vec::as_slice)
    }
    fn entries(&self) -> impl Iterator<Item = (&str, &Self)> {
        self.as_object()
            .into_iter()
            .flat_map(|map| map.iter().map(|(k, v)| (k.as_str(), v)))
    }
    fn is_object(&self) -> bool {
        Value::is_object(self)
    }
    fn is_true(&self) -> bool {
        self == &Value::Bool(true)
    }
    fn any_schema() -> &'static Self {
        static TRUE: Value = Value::Bool(true);
        &TRUE
    }
}

impl SchemaDoc for Structure {
    fn get(&self, key: &str) -> Option<&Self> {
        Structure::get(self, key)
    }
    fn pointer(&self, pointer: &str) -> Option<&Self> {
        Structure::pointer(self, pointer)
    }
    fn as_str(&self) -> Option<&str> {
        Structure::as_str(self)
    }
    fn as_array(&self) -> Option<&[Self]> {
        Structure::as_array(self)
    }
    fn entries(&self) -> impl Iterator<Item = (&str, &Self)> {
        Structure::entries(self).iter().map(|e| (e.key(), e))
    }
    fn is_object(&self) -> bool {
        Structure::is_object(self)
    }
    fn is_true(&self) -> bool {
        Structure::is_true(self)
    }
    fn any_schema() -> &'static Self {
        &super::schema_structure::TRUE
    }
}

/// A view of the root schema that follows `$ref`s.
pub struct SchemaNav<'a, J: SchemaDoc = Value> {
    root: &'a J,
}

impl<'a, J: SchemaDoc> SchemaNav<'a, J> {
    pub fn new(root: &'a J) -> Self {
        SchemaNav { root }
    }

    fn resolve(&self, mut schema: &'a J) -> &'a J {
        // Bounded: the model's schema has no chains of bare `$ref`s longer than a few links.
        for _ in 0..16 {
            let Some(reference) = reference_of(schema) else {
                break;
            };
            let Some(pointer) = reference.strip_prefix('#') else {
                break;
            };
            match self.root.pointer(pointer) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    /// The alternatives a schema stands for (itself, or each branch of anyOf/oneOf).
    fn alternatives(&self, schema: &'a J) -> Vec<&'a J> {
        let schema = self.resolve(schema);
        let mut out = vec![schema];
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(alts) = schema.get(key).and_then(J::as_array) {
                for alt in alts {
                    out.extend(self.alternatives(alt));
                }
            }
        }
        out
    }

    /// The subschema of the value at `path`, or `None` if no such key exists.
    pub fn at<S: AsRef<str>>(&self, path: &[S]) -> Option<&'a J> {
        let mut schema = self.resolve(self.root);
        for key in path {
            schema = self.child(schema, key.as_ref())?;
        }
        Some(schema)
    }

    /// An annotation of the key at `path` (`description`, `default`, …): read on the
    /// property itself first (beside a `$ref`, or in the annotations of an `allOf` reference),
    /// then on its target. (The full schema only: the structure has no annotations.)
    pub fn annotation<S: AsRef<str>>(&self, path: &[S], name: &str) -> Option<&'a J> {
        let (last, parents) = path.split_last()?;
        let parent = self.at(parents)?;
        let raw = self.raw_child(parent, last.as_ref());
        raw.and_then(|r| r.get(name).or_else(|| r.pointer("/allOf/1")?.get(name)))
            .or_else(|| self.at(path).and_then(|s| s.get(name)))
    }

    fn raw_child(&self, schema: &'a J, key: &str) -> Option<&'a J> {
        self.alternatives(schema)
            .into_iter()
            .find_map(|alt| alt.get("properties").and_then(|p| p.get(key)))
    }

    pub fn child(&self, schema: &'a J, key: &str) -> Option<&'a J> {
        for alt in self.alternatives(schema) {
            if let Some(found) = alt.get("properties").and_then(|p| p.get(key)) {
                return Some(self.resolve(found));
            }
            if let Some(items) = alt.get("items").filter(|_| key.parse::<usize>().is_ok()) {
                return Some(self.resolve(items));
            }
            match alt.get("additionalProperties") {
                Some(additional) if additional.is_object() => {
                    return Some(self.resolve(additional));
                }
                Some(additional) if additional.is_true() => return Some(J::any_schema()),
                _ => {}
            }
        }
        None
    }

    /// The types the schema accepts.
    pub fn kinds(&self, schema: &'a J) -> Kinds {
        if schema.is_true() {
            return Kinds::any();
        }
        let mut kinds = Kinds::default();
        for alt in self.alternatives(schema) {
            let types: Vec<&str> = match alt.get("type") {
                Some(t) if t.as_str().is_some() => t.as_str().into_iter().collect(),
                Some(t) => t
                    .as_array()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(J::as_str)
                    .collect(),
                _ if alt.get("enum").is_some() || alt.get("const").is_some() => vec!["string"],
                _ => vec![],
            };
            for t in types {
                match t {
                    "string" => kinds.string = true,
                    "integer" => kinds.integer = true,
                    "number" => kinds.number = true,
                    "boolean" => kinds.boolean = true,
                    "array" => kinds.array = true,
                    "object" => kinds.object = true,
                    _ => {}
                }
            }
        }
        if kinds == Kinds::default() {
            Kinds::any()
        } else {
            kinds
        }
    }

    /// The string formats the schema (or any of its alternatives) declares.
    pub fn formats(&self, schema: &'a J) -> Vec<String> {
        self.alternatives(schema)
            .into_iter()
            .filter_map(|alt| alt.get("format").and_then(J::as_str).map(str::to_owned))
            .collect()
    }

    /// The named keys a table accepts (for "did you mean").
    pub fn property_names(&self, schema: &'a J) -> Vec<&'a str> {
        let mut names = Vec::new();
        for alt in self.alternatives(schema) {
            if let Some(props) = alt.get("properties") {
                names.extend(props.entries().map(|(k, _)| k));
            }
        }
        names
    }

    /// Every dotted key path the schema names explicitly (not map entries), for "did you mean".
    pub fn all_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_paths(self.resolve(self.root), &mut Vec::new(), &mut out, 0);
        out
    }

    fn collect_paths(
        &self,
        schema: &'a J,
        path: &mut Vec<String>,
        out: &mut Vec<String>,
        depth: usize,
    ) {
        if depth > 8 {
            return;
        }
        let mut has_props = false;
        for alt in self.alternatives(schema) {
            if let Some(props) = alt.get("properties") {
                for (key, sub) in props.entries() {
                    has_props = true;
                    path.push(key.to_owned());
                    self.collect_paths(self.resolve(sub), path, out, depth + 1);
                    path.pop();
                }
            }
        }
        if !has_props && !path.is_empty() {
            out.push(path.join("."));
        }
    }
}

/// The target of a reference: a bare `$ref`, or `{"allOf": [{"$ref"}, {annotations}]}`, the
/// shape `schema.rs` gives a reference with annotations (so taplo shows them).
fn reference_of<J: SchemaDoc>(schema: &J) -> Option<&str> {
    if let Some(reference) = schema.get("$ref") {
        return reference.as_str();
    }
    match schema.get("allOf")?.as_array()? {
        [target, annotations]
            if schema.entries().count() == 1 && annotations.get("$ref").is_none() =>
        {
            target.get("$ref")?.as_str()
        }
        _ => None,
    }
}

/// Longest name compared for a "did you mean": every name Prose knows is far shorter, and
/// comparing costs the product of the lengths (a 60,000-character preset name against 16
/// others took 17 s).
pub const MAX_COMPARED_CHARS: usize = 64;

/// The closest candidate to `word`, if it is close enough to be a likely typo. Names longer
/// than [`MAX_COMPARED_CHARS`] are not compared (no typo makes one).
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let short =
        |s: &str| s.len() <= 4 * MAX_COMPARED_CHARS && s.chars().count() <= MAX_COMPARED_CHARS;
    if !short(word) {
        return None;
    }
    candidates
        .into_iter()
        .filter(|c| short(c))
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Names for a help line: each shortened ([`super::formats::shown`]), at most 20 of them.
pub fn name_list<'n>(names: impl IntoIterator<Item = &'n str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let mut list: Vec<String> = names
        .iter()
        .take(20)
        .map(|n| super::formats::shown(n))
        .collect();
    if names.len() > 20 {
        list.push(format!("… ({} more)", names.len() - 20));
    }
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_not_compared_nor_printed_whole() {
        let long = "p".repeat(60_000);
        let near: Vec<String> = (0..16).map(|i| format!("{long}{i}")).collect();
        let started = std::time::Instant::now();
        assert_eq!(did_you_mean(&long, near.iter().map(String::as_str)), None);
        assert_eq!(did_you_mean("gdrp", near.iter().map(String::as_str)), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let list = name_list(near.iter().map(String::as_str));
        assert!(list.len() < 20 * 90, "{}", list.len());
        assert_eq!(did_you_mean("gdrp", ["gdpr", "lgpd"]), Some("gdpr"));
    }

    /// What loading asks of the structure, it answers as the full schema does: for every key
    /// the schema names, a map entry under each, and keys it does not name.
    #[test]
    fn the_structure_answers_as_the_full_schema() {
        let full = SchemaNav::new(crate::config::schema::schema_cached());
        let lean = SchemaNav::new(crate::config::schema_structure::structure());
        let mut paths: Vec<Vec<String>> = vec![Vec::new()];
        for path in full.all_paths() {
            let path: Vec<String> = path.split('.').map(str::to_owned).collect();
            for end in 1..=path.len() {
                paths.push(path[..end].to_vec());
                for extra in ["any_name", "0", "nope"] {
                    let mut longer = path[..end].to_vec();
                    longer.push(extra.to_owned());
                    paths.push(longer);
                }
            }
        }
        assert!(paths.len() > 500, "{}", paths.len());
        assert_eq!(lean.all_paths(), full.all_paths());
        for path in &paths {
            match (full.at(path), lean.at(path)) {
                (None, None) => {}
                (Some(f), Some(l)) => {
                    assert_eq!(full.kinds(f), lean.kinds(l), "{path:?}");
                    assert_eq!(full.formats(f), lean.formats(l), "{path:?}");
                    assert_eq!(full.property_names(f), lean.property_names(l), "{path:?}");
                }
                (f, l) => panic!("{path:?}: {:?} vs {:?}", f.is_some(), l.is_some()),
            }
        }
    }

    #[test]
    fn navigates_refs_maps_and_options() {
        let schema = crate::config::schema::schema();
        let nav = SchemaNav::new(&schema);
        let port = nav.at(&["server", "http_port"]).unwrap();
        assert!(nav.kinds(port).integer);
        let smtp = nav.at(&["notifiers", "email", "smtp_host"]).unwrap();
        assert!(nav.kinds(smtp).string);
        let opt = nav
            .at(&["prosody", "global", "overrides", "c2s_require_encryption"])
            .unwrap();
        assert!(nav.kinds(opt).boolean);
        let passthrough = nav
            .at(&["prosody", "global", "overrides", "some_option"])
            .unwrap();
        assert_eq!(nav.kinds(passthrough), Kinds::any());
        assert!(nav.at(&["server", "domian"]).is_none());
        assert!(
            nav.property_names(nav.at(&["server"]).unwrap())
                .contains(&"domain")
        );
        assert_eq!(
            did_you_mean("domian", ["domain", "defaults"]),
            Some("domain")
        );
    }
}
