//! Which target a command builds: `--target`, else `target` in the nearest
//! `prose-compile.toml` (looked for from the first path, or the current directory), else the
//! host. Several paths must agree on the file that applies.

use std::path::{Path, PathBuf};

use super::args::LoadArgs;
use super::exit::Stop;
use super::ui::Ui;
use prose_compile::config::repository::{self, TargetKind};
use prose_compile::targets::{Platform, kubernetes};

/// The platform of a command over `paths`, with a note when `prose-compile.toml` chose it.
pub fn platform(ui: &Ui, load: &LoadArgs, paths: &[PathBuf]) -> Result<Platform, Stop> {
    let (file, settings) = settings(paths)?;
    let kind = match load.target {
        Some(target) => target.into(),
        None => {
            if let (TargetKind::Kubernetes, Some(path)) = (settings.target, &file) {
                ui.note(&format!("target kubernetes (from {})", path.display()));
            }
            settings.target
        }
    };
    Ok(Platform::new(kind, &settings))
}

/// `explain --from FILE:LINE`: a file below `kubernetes/` is a Kubernetes manifest, whatever
/// the default target.
pub fn platform_of_file(
    ui: &Ui,
    load: &LoadArgs,
    paths: &[PathBuf],
    file: &str,
) -> Result<Platform, Stop> {
    if load.target.is_none() && file.split('/').any(|s| s == kubernetes::DIR) {
        let (_, settings) = settings(paths)?;
        return Ok(Platform::new(TargetKind::Kubernetes, &settings));
    }
    platform(ui, load, paths)
}

/// The `prose-compile.toml` that applies to `paths` (all of them), and what it says.
fn settings(paths: &[PathBuf]) -> Result<(Option<PathBuf>, repository::Settings), Stop> {
    let starts: Vec<&Path> = if paths.is_empty() {
        vec![Path::new(".")]
    } else {
        paths.iter().map(PathBuf::as_path).collect()
    };
    let mut found = starts.iter().map(|start| repository::find(start));
    let file = found.next().flatten();
    if let Some(other) = found.find(|f| *f != file) {
        let name = |f: &Option<PathBuf>| {
            f.as_ref()
                .map_or("none".to_owned(), |p| p.display().to_string())
        };
        return Err(Stop::Usage(format!(
            "the paths are under different {} ({} and {}): build them separately",
            repository::FILE_NAME,
            name(&file),
            name(&other)
        )));
    }
    let settings = match &file {
        Some(path) => repository::read(path).map_err(Stop::Usage)?,
        None => repository::Settings::default(),
    };
    Ok((file, settings))
}
