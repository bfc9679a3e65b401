//! Helpers of the `targets_*` tests: load a configuration, render the nginx, host-meta,
//! compose and systemd targets, write the files under a temp dir as they sit on a server.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::fs;
use std::path::{Path, PathBuf};

use prose_compile::config::{self, Config, LoadOptions};
use prose_compile::diagnostics::Diagnostic;
use prose_compile::provenance::Node;
use prose_compile::targets::{
    GeneratedFile, RenderContext, compose, host_meta, nginx, prose_toml, systemd,
};

pub use super::repo;

pub fn compose_spec() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/schemas/compose-spec.json"
    ))
}

/// Every configuration the targets are checked with: the examples and this suite's fixtures.
pub fn all_configs() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for dir in ["examples", "tests/fixtures/targets"] {
        let mut found: Vec<PathBuf> = fs::read_dir(repo().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().path().join("prose.toml"))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        paths.extend(found);
    }
    assert!(paths.len() >= 5, "too few configurations: {paths:?}");
    paths
}

pub fn fixture(name: &str) -> PathBuf {
    repo()
        .join("tests/fixtures/targets")
        .join(name)
        .join("prose.toml")
}

pub fn example(name: &str) -> PathBuf {
    repo().join("examples").join(name).join("prose.toml")
}

/// A loaded, valid configuration.
pub struct Loaded {
    pub config: Config,
    pub tree: Node,
    /// The warnings the loader gave (a valid configuration has no errors).
    pub diagnostics: Vec<prose_compile::diagnostics::Diagnostic>,
}

pub fn load(path: &Path) -> Loaded {
    let options = LoadOptions {
        sibling_env_file: false,
        ..Default::default()
    };
    let loaded = config::load(path, &options).expect("readable");
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    Loaded {
        config: loaded.config.expect("valid configuration"),
        tree: loaded.tree,
        diagnostics: loaded.diagnostics,
    }
}

/// A configuration from TOML text.
pub fn load_str(toml: &str) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prose.toml");
    fs::write(&path, toml).unwrap();
    load(&path)
}

/// Loads TOML text expecting the front end to accept it; `None` if it refuses it.
pub fn try_load_str(toml: &str) -> Option<Loaded> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prose.toml");
    fs::write(&path, toml).unwrap();
    let options = LoadOptions {
        sibling_env_file: false,
        ..Default::default()
    };
    let loaded = config::load(&path, &options).expect("readable");
    Some(Loaded {
        config: loaded.config?,
        tree: loaded.tree,
        diagnostics: loaded.diagnostics,
    })
}

impl Loaded {
    /// A context rendering with the given templates (a `--templates DIR` override).
    pub fn ctx_with<'a>(
        &'a self,
        label: &str,
        templates: &'a prose_compile::targets::templating::Templates,
    ) -> RenderContext<'a> {
        RenderContext::new(&self.config, &self.tree, label, templates)
    }

    pub fn ctx(&self, label: &str) -> RenderContext<'_> {
        self.ctx_with(label, prose_compile::targets::embedded_templates())
    }

    /// Every file of the targets other than Prosody's.
    pub fn render(&self, label: &str) -> Result<Vec<GeneratedFile>, Vec<Diagnostic>> {
        render_all(&self.ctx(label))
    }
}

pub fn render_all(ctx: &RenderContext) -> Result<Vec<GeneratedFile>, Vec<Diagnostic>> {
    let mut files = Vec::new();
    for target in [
        nginx::render,
        host_meta::render,
        compose::render,
        systemd::render,
        |ctx: &RenderContext| Ok(prose_toml::render(ctx)),
    ] {
        files.extend(target(ctx)?);
    }
    Ok(files)
}

/// Writes files under `root` at their tree paths.
pub fn write_tree(root: &Path, files: &[GeneratedFile]) {
    for file in files {
        let path = root.join(&file.path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &file.contents).unwrap();
    }
}

pub fn text<'a>(files: &'a [GeneratedFile], path: &str) -> &'a str {
    let file = files.iter().find(|f| f.path == path).unwrap_or_else(|| {
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        panic!("no {path} among {paths:?}")
    });
    std::str::from_utf8(&file.contents).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Parsing the outputs back, to compare their structure (what an injection would change).

/// One nginx directive: its enclosing blocks (directive names), its name, its arguments
/// (unquoted and unescaped as nginx reads them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxDirective {
    pub blocks: Vec<String>,
    pub name: String,
    pub args: Vec<String>,
}

/// Tokenizes an nginx configuration as nginx's parser does (ngx_conf_read_token): tokens are
/// split by whitespace, `;` ends a directive, `{`/`}` open and close blocks, `#` at a token
/// start comments out the line, quotes group (with `\"`, `\'`, `\\`, `\t`, `\r`, `\n`), and a
/// backslash outside quotes makes the next character literal.
pub fn parse_nginx(text: &str) -> Result<Vec<NginxDirective>, String> {
    let mut out = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_ascii_whitespace() => {
                chars.next();
            }
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            ';' => {
                chars.next();
                let name = words.first().cloned().ok_or("empty directive")?;
                out.push(NginxDirective {
                    blocks: blocks.clone(),
                    name,
                    args: words.drain(..).skip(1).collect(),
                });
            }
            '{' => {
                chars.next();
                let name = words.first().cloned().ok_or("block without a name")?;
                out.push(NginxDirective {
                    blocks: blocks.clone(),
                    name: name.clone(),
                    args: words.drain(..).skip(1).collect(),
                });
                blocks.push(name);
            }
            '}' => {
                chars.next();
                if !words.is_empty() {
                    return Err(format!("unterminated directive {words:?}"));
                }
                blocks.pop().ok_or("unbalanced }")?;
            }
            '"' | '\'' => {
                let quote = c;
                chars.next();
                let mut word = String::new();
                loop {
                    let c = chars.next().ok_or("unterminated quote")?;
                    if c == quote {
                        break;
                    }
                    if c == '\\' {
                        let next = chars.next().ok_or("unterminated escape")?;
                        match next {
                            '"' | '\'' | '\\' => word.push(next),
                            't' => word.push('\t'),
                            'r' => word.push('\r'),
                            'n' => word.push('\n'),
                            other => {
                                word.push('\\');
                                word.push(other);
                            }
                        }
                    } else {
                        word.push(c);
                    }
                }
                // nginx requires a separator after a closing quote.
                if let Some(&next) = chars.peek()
                    && !(next.is_ascii_whitespace() || next == ';' || next == '{')
                {
                    return Err(format!("unexpected {next:?} after a quoted string"));
                }
                words.push(word);
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_whitespace() || matches!(c, ';' | '{' | '}') {
                        break;
                    }
                    chars.next();
                    if c == '\\' {
                        word.push(chars.next().ok_or("trailing backslash")?);
                    } else {
                        word.push(c);
                    }
                }
                words.push(word);
            }
        }
    }
    if !words.is_empty() || !blocks.is_empty() {
        return Err("unterminated configuration".to_owned());
    }
    Ok(out)
}

/// The shape of an nginx configuration: each directive's blocks, name and argument count.
pub fn nginx_shape(text: &str) -> Vec<(Vec<String>, String, usize)> {
    parse_nginx(text)
        .unwrap_or_else(|e| panic!("{e}:\n{text}"))
        .into_iter()
        .map(|d| (d.blocks, d.name, d.args.len()))
        .collect()
}

/// A unit file's `(section, key)` sequence, read as systemd does: `#`/`;` comment lines,
/// `[Section]` headers, `Key=value`, a trailing backslash continuing the line.
pub fn systemd_shape(text: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let mut line = line.trim().to_owned();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        while line.ends_with('\\') {
            line.pop();
            let next = lines.next().ok_or("continuation at end of file")?;
            if next.trim_start().starts_with('#') || next.trim_start().starts_with(';') {
                continue;
            }
            line.push(' ');
            line.push_str(next.trim());
        }
        if line.starts_with('[') {
            section = line
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .ok_or(format!("bad section header {line:?}"))?
                .to_owned();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or(format!("not an assignment: {line:?}"))?;
        out.push((
            section.clone(),
            key.trim().to_owned(),
            value.trim().to_owned(),
        ));
    }
    Ok(out)
}

/// Every key path of a YAML document (mapping keys joined with `.`, sequence items `[]`).
pub fn yaml_key_paths(text: &str) -> Vec<String> {
    fn walk(value: &serde_yaml_ng::Value, path: &str, out: &mut Vec<String>) {
        match value {
            serde_yaml_ng::Value::Mapping(map) => {
                for (k, v) in map {
                    let key = match k {
                        serde_yaml_ng::Value::String(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    let path = format!("{path}.{key}");
                    out.push(path.clone());
                    walk(v, &path, out);
                }
            }
            serde_yaml_ng::Value::Sequence(items) => {
                for item in items {
                    walk(item, &format!("{path}[]"), out);
                }
            }
            _ => {}
        }
    }
    let value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("YAML: {e}\n{text}"));
    let mut out = Vec::new();
    walk(&value, "", &mut out);
    out
}

/// The shape of a JSON document: its paths and value kinds.
pub fn json_shape(text: &str) -> Vec<String> {
    fn walk(value: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    walk(v, &format!("{path}.{k}"), out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), out);
                }
            }
            other => out.push(format!("{path}: {}", kind(other))),
        }
    }
    fn kind(v: &serde_json::Value) -> &'static str {
        match v {
            serde_json::Value::String(_) => "string",
            serde_json::Value::Number(_) => "number",
            serde_json::Value::Bool(_) => "bool",
            _ => "other",
        }
    }
    let value: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON: {e}\n{text}"));
    let mut out = Vec::new();
    walk(&value, "", &mut out);
    out
}

/// The elements and attributes of an XML document, as `xmllint` parses it (`None` if
/// xmllint is not installed; a parse failure panics).
pub fn xml_shape(file: &Path) -> Option<Vec<String>> {
    let run = std::process::Command::new("xmllint")
        .arg("--xpath")
        .arg("concat(count(//*), ' elements, ', count(//@*), ' attributes, ', count(//comment()), ' comments')")
        .arg(file)
        .output()
        .ok()?;
    assert!(
        run.status.success(),
        "xmllint: {}\n{}",
        String::from_utf8_lossy(&run.stderr),
        fs::read_to_string(file).unwrap_or_default()
    );
    Some(vec![String::from_utf8_lossy(&run.stdout).trim().to_owned()])
}

/// The attribute values of an XML document as xmllint reads them, one per line.
pub fn xml_attribute(file: &Path, xpath: &str) -> Option<String> {
    let run = std::process::Command::new("xmllint")
        .arg("--xpath")
        .arg(format!("string({xpath})"))
        .arg(file)
        .output()
        .ok()?;
    assert!(
        run.status.success(),
        "xmllint: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    // xmllint ends what it prints with a newline of its own.
    let mut value = String::from_utf8(run.stdout).unwrap();
    assert_eq!(value.pop(), Some('\n'));
    Some(value)
}

/// Whether `program` runs here.
pub fn installed(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok()
}

/// For a check that needs a tool: true to run it, false (after a visible `SKIP:`) when the
/// tool is missing, a panic when validators are required.
pub fn tool_or_skip(program: &str, args: &[&str]) -> bool {
    if installed(program, args) {
        return true;
    }
    prose_compile::verify::require_or_skip(&prose_compile::verify::Outcome::Skipped {
        reason: format!("{program} not installed"),
    })
}
