//! The environment is an input like `prose.toml`, but one nobody reads in a review: every
//! command that loads a pod names the `PROSE_*` variables of the process environment that set
//! a value, and `-v` lists every value an environment variable or env file set.

use super::ui::Ui;
use prose_compile::config::EnvUse;

/// The note for one pod (nothing when no variable set a value).
pub fn note(ui: &Ui, pod: &str, uses: &[EnvUse]) {
    ui.err(&note_text(ui, pod, uses));
}

/// What [`note`] prints.
pub fn note_text(ui: &Ui, pod: &str, uses: &[EnvUse]) -> String {
    let mut text = String::new();
    let from_process: Vec<&str> = uses
        .iter()
        .filter(|u| u.from_process())
        .map(|u| u.variable.as_str())
        .collect();
    if !from_process.is_empty() {
        text += &ui.note_text(&format!(
            "{pod}: values set by the process environment: {} (`--no-env` ignores it)",
            from_process.join(", ")
        ));
    }
    if ui.verbose {
        for used in uses {
            let place = match used.line {
                Some(line) => format!("{}:{line}", used.source),
                None => "process environment".to_owned(),
            };
            text += &ui.note_text(&format!(
                "  {} sets `{}` ({place})",
                used.variable, used.key
            ));
        }
    }
    text
}
