//! prose-compile: compiles a Prose Pod `prose.toml` into the pod's server configuration tree.

pub mod validators;
