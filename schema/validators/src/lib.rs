//! The JSON Schemas `prose-compile` validates against, compiled into Rust at build time by
//! jsonschema's `validator` macro, and the string formats they check ([`formats`]).
//!
//! Deciding that a configuration is valid, and listing what is wrong with one that is not,
//! costs a process nothing to compile, and the binary carries no JSON Schema engine (the
//! run-time one was 2.7 MB of it, docs/performance.md). The crate is apart from the program
//! only to be optimised for size: listing errors (and the Compose check of `verify`) is most
//! of the generated code, and a valid configuration never runs it.

pub mod formats;

mod compose_spec;
mod config_schema;

pub use compose_spec::ComposeSpec;
pub use config_schema::ConfigSchema;
