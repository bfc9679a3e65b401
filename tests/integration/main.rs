//! The integration tests, in one binary (one link of the crate instead of one per file).
//! `support` holds what they share: running the binary, snapshots, loading and rendering.

mod support;

mod architecture;
mod audit_rules;
mod build_workflow;
mod check_cases;
mod compat;
mod completions;
mod durability;
mod editor_schema;
mod environment_input;
mod explain;
mod front_end;
mod fuzz_corpus;
mod golden;
mod host_files;
mod hostile;
mod install_notes;
mod invocation;
mod kubernetes;
mod live;
mod output_tree;
mod properties;
mod prosody_diagnostics;
mod prosody_injection;
mod prosody_lua;
mod round_trip;
mod sarif;
mod targets_injection;
mod targets_render;
mod targets_templates;
mod up_to_date;
mod upstream_files;
mod upstream_prosody;
mod validators;
