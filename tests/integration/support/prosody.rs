//! Shared by the `prosody_*` integration tests: load a `prose.toml`, render
//! `prosody.cfg.lua`, run it in the Lua sandbox (`src/verify/sandbox.lua`, the one `verify` runs).
#![allow(dead_code)] // each test crate uses part of it

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use super::repo;
use prose_compile::config::{LoadOptions, Loaded, load};
use prose_compile::diagnostics::Diagnostic;
use prose_compile::targets::{GeneratedFile, RenderContext, prosody};
use prose_compile::verify::{Outcome, require_or_skip};

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/prosody").join(name)
}

/// Options that keep the process environment and any `prose.env` out of the test.
pub fn isolated() -> LoadOptions {
    LoadOptions {
        sibling_env_file: false,
        ..Default::default()
    }
}

pub fn load_file(path: &Path) -> Loaded {
    load(path, &isolated()).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads `toml` written to a temporary `prose.toml`.
pub fn load_str(toml: &str) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prose.toml");
    fs::write(&path, toml).unwrap();
    load_file(&path)
}

/// Renders the Prosody target for a loaded configuration (which must be valid).
pub fn render_loaded(loaded: &Loaded, label: &str) -> Result<Vec<GeneratedFile>, Vec<Diagnostic>> {
    let config = loaded
        .config
        .as_ref()
        .unwrap_or_else(|| panic!("configuration did not load: {:#?}", loaded.diagnostics));
    let templates = prose_compile::targets::embedded_templates();
    let ctx = RenderContext::new(config, &loaded.tree, label, templates);
    prosody::render(&ctx)
}

/// Every diagnostic of the Prosody target (errors and warnings) for a loaded configuration.
pub fn target_diagnostics(loaded: &Loaded) -> Vec<Diagnostic> {
    let config = loaded
        .config
        .as_ref()
        .unwrap_or_else(|| panic!("configuration did not load: {:#?}", loaded.diagnostics));
    let templates = prose_compile::targets::embedded_templates();
    let ctx = RenderContext::new(config, &loaded.tree, "prose.toml", templates);
    prosody::generate_file(&ctx).diagnostics.clone()
}

/// The text of `prosody.cfg.lua` for `toml`; panics on diagnostics.
pub fn render_str(toml: &str) -> String {
    let loaded = load_str(toml);
    let files = render_loaded(&loaded, "prose.toml").unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(files.len(), 1);
    String::from_utf8(files[0].contents.clone()).unwrap()
}

/// What the sandbox saw.
#[derive(Debug)]
pub struct Sandboxed {
    pub status: i32,
    pub json: serde_json::Value,
    pub raw: String,
}

impl Sandboxed {
    pub fn violations(&self) -> Vec<String> {
        self.json["violations"]
            .as_array()
            .map(|v| v.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default()
    }

    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    pub fn global(&self) -> &serde_json::Value {
        &self.json["global"]
    }

    /// The settings of the section named `host`.
    pub fn section(&self, host: &str) -> &serde_json::Value {
        self.json["sections"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == host))
            .unwrap_or_else(|| panic!("no section {host} in {}", self.raw))
    }

    pub fn section_names(&self) -> Vec<String> {
        self.json["sections"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|s| s["name"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts the file loaded, ran, and touched nothing it should not.
    #[track_caller]
    pub fn assert_clean(&self) {
        assert_eq!(
            (self.status, self.error(), self.violations()),
            (0, "", Vec::<String>::new()),
            "sandbox output: {}",
            self.raw
        );
    }
}

fn lua_program() -> Option<&'static str> {
    ["lua5.4", "lua"].into_iter().find(|p| {
        Command::new(p)
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs the sandbox on `lua_text`; `None` (after a visible SKIP) when Lua is not installed.
pub fn sandbox(lua_text: &str) -> Option<Sandboxed> {
    let Some(lua) = lua_program() else {
        require_or_skip(&Outcome::Skipped {
            reason: "lua5.4 not installed (apt-get install lua5.4)".into(),
        });
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prosody.cfg.lua");
    fs::write(&file, lua_text).unwrap();
    let output = Command::new(lua)
        .arg(super::repo().join("src/verify/sandbox.lua"))
        .arg(&file)
        .current_dir(dir.path())
        .env_clear()
        .output()
        .expect("run lua");
    let raw = String::from_utf8_lossy(&output.stdout).into_owned();
    let json = serde_json::from_str(&raw).unwrap_or_else(|e| {
        panic!(
            "sandbox printed no JSON ({e}): {raw}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    Some(Sandboxed {
        status: output.status.code().unwrap_or(-1),
        json,
        raw,
    })
}

/// Writes `text` to a temp file and returns the dir (kept alive by the caller) and the path.
pub fn temp_lua(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prosody.cfg.lua");
    fs::write(&path, text).unwrap();
    (dir, path)
}

/// Every `prose.toml` the Lua tests run on: the examples, then this target's fixtures.
pub fn all_configs() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Ok(entries) = fs::read_dir(repo().join("examples")) {
        let mut examples: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("prose.toml"))
            .filter(|p| p.is_file())
            .collect();
        examples.sort();
        paths.extend(examples);
    }
    let mut fixtures: Vec<PathBuf> = fs::read_dir(repo().join("tests/fixtures/prosody"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    fixtures.sort();
    paths.extend(fixtures);
    paths
}
