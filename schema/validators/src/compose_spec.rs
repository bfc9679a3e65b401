//! The Compose Specification schema, compiled.

/// The validator of the Compose Specification's JSON Schema (draft-07, the compose-spec
/// project's `schema/compose-spec.json`, Apache License 2.0; see
/// `tests/fixtures/schemas/README.md`), compiled: `verify` validates a `compose.yaml` without
/// compiling a schema. Its patterns (names such as `^[a-zA-Z0-9._-]+$`, the `pull_policy`
/// words) run on the `regex` crate, which the binary has for `.gitignore` rules anyway,
/// instead of a second, backtracking engine (−0.2 MB); none uses what only ECMA-262 has
/// (look-around, backreferences).
#[jsonschema::validator(
    path = "../../tests/fixtures/schemas/compose-spec.json",
    draft = Draft7,
    methods = { is_valid = false, validate = false, iter_errors = true },
    pattern_options = { engine = regex }
)]
pub struct ComposeSpec;
