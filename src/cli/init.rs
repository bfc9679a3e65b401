//! `init` (a starter prose.toml) and `schema` (the JSON Schema of prose.toml).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::exit::{Exit, Outcome, Stop};
use super::ui::Ui;

pub fn init(ui: &Ui, dir: &Path, domain: &str) -> Outcome {
    let written = prose_compile::init::init(dir, domain).map_err(Stop::Usage)?;
    for path in written {
        ui.note(&format!("wrote {}", path.display()));
    }
    Ok(Exit::Success)
}

pub fn schema(ui: &Ui, output: Option<&PathBuf>) -> Outcome {
    let text = prose_compile::config::schema::schema_text();
    match output {
        None => ui.out().write_all(text.as_bytes())?,
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Stop::Usage(format!("cannot write {}: {e}", path.display())))?,
    }
    Ok(Exit::Success)
}
