//! prose-compile: compiles a Prose Pod `prose.toml` into the pod's server configuration tree.

pub mod config;
pub mod diagnostics;
pub mod schema;
pub mod validate;
pub mod discover;
pub mod targets;
