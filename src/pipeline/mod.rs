//! The pipeline: find the pods, load each one, compile it to its output tree, and write or
//! compare that tree. What happens to a written tree next (the audit summary) is the
//! caller's business, through an inspection hook.

pub mod compile;
pub mod discover;
pub mod enclosing;
pub mod fleet;
mod gitignore;
pub mod inputs;
pub mod outputs;
pub mod parallel;
pub mod run;

pub use compile::{
    compile, compile_for, compile_with, input_label, load_and_check, load_and_check_for,
};
pub use discover::{CONFIG_FILE, Pod, discover};
pub use enclosing::{one_pod, pod_here, pods_here};
pub use outputs::{each_pod_once, one_pod_per_tree};
pub use run::{Action, Inspection, Outcome, PodReport, RunOptions, run_all, run_each, run_pod};
