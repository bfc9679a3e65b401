//! prose-compile: compiles a Prose Pod `prose.toml` into the pod's server configuration tree.

pub mod audit;
pub mod build;
pub mod config;
pub mod diagnostics;
pub mod discover;
pub mod explain;
pub mod init;
pub mod output;
pub mod schema;
pub mod targets;
pub mod validate;
pub mod validators;
