//! prose-compile: compiles a Prose Pod `prose.toml` into the pod's server configuration tree.
//!
//! The modules form a one-way stack (each uses only those above it in this list); see
//! `ARCHITECTURE.md`:
//! files, diagnostics ← provenance ← config ← targets ← output ← pipeline ←
//! explain, audit, verify, live, init ← cli.

pub mod audit;
pub mod config;
pub mod diagnostics;
pub mod explain;
pub mod files;
pub mod init;
pub mod live;
pub mod output;
pub mod pipeline;
pub mod provenance;
pub mod targets;
pub mod verify;
