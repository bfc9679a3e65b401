// Shared by `build.rs`, which builds the structure table, and `schema_structure.rs`, which
// reads it (and whose test checks it): the node tags, the keywords the structure drops and
// those whose entries are all kept.

#[allow(dead_code)] // in the crate, read by the tests only
const NULL: u8 = 0;
const BOOL: u8 = 1;
#[allow(dead_code)] // in the crate, read by the tests only
const NUMBER: u8 = 2;
const STRING: u8 = 3;
const ARRAY: u8 = 4;
const OBJECT: u8 = 5;

/// Keywords that only annotate (documentation, editor hints, the patterns that restate a
/// `format`): nothing the structure is asked reads them.
#[allow(dead_code)] // in the crate, read by the tests only
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
#[allow(dead_code)] // in the crate, read by the tests only
const NAME_MAPS: &[&str] = &["$defs", "definitions", "patternProperties", "properties"];
