//! `init` (a starter prose.toml) and `schema` (the JSON Schema of prose.toml).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::exit::{Exit, Outcome, Stop};
use super::ui::Ui;
use prose_compile::init::SchemaFile;

pub fn init(ui: &Ui, dir: &Path, domain: &str) -> Outcome {
    let done = prose_compile::init::init(dir, domain).map_err(Stop::Usage)?;
    if !ui.human() {
        ui.json(
            &serde_json::json!({
                "config": done.config.display().to_string(),
                "schema": done.schema.display().to_string(),
                "schema_file": match done.schema_file {
                    SchemaFile::Written => "written",
                    SchemaFile::Current => "current",
                    SchemaFile::KeptOther => "kept",
                },
            }),
            false,
        )?;
    }
    ui.note(&format!("wrote {}", done.config.display()));
    let schema = done.schema.display();
    match done.schema_file {
        SchemaFile::Written => ui.note(&format!("wrote {schema} (for editors)")),
        SchemaFile::Current => {}
        SchemaFile::KeptOther => ui.note(&format!(
            "kept {schema}, which differs from this version's schema \
             (`prose-compile schema -o {schema}` replaces it)"
        )),
    }
    Ok(Exit::Success)
}

pub fn schema(ui: &Ui, output: Option<&PathBuf>) -> Outcome {
    let text = prose_compile::config::schema::COMMITTED;
    match output {
        None => ui.out().write_all(text.as_bytes())?,
        Some(path) if path.as_os_str() == "-" => ui.out().write_all(text.as_bytes())?,
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| Stop::Usage(format!("cannot write {}: {e}", path.display())))?;
            if !ui.human() {
                ui.json(
                    &serde_json::json!({ "wrote": path.display().to_string() }),
                    false,
                )?;
            }
        }
    }
    Ok(Exit::Success)
}
