//! The template engine of the file targets (nginx, host-meta, compose, systemd).
//!
//! Templates are minijinja files under `templates/`, embedded in the binary by the targets
//! that use them ([`template!`], [`Templates::embedded`]). [`Templates::from_dir`] loads a directory whose
//! files replace the embedded templates of the same name (what `--templates DIR` is for); the
//! filters and rules below apply to both.
//!
//! Rules that hold for every template, so that a template mistake is an error rather than a
//! broken or injectable file:
//! - **strict undefined**: a misspelled variable or attribute fails the render;
//! - **no raw strings**: a string reaches the output only through one of the escaping filters
//!   below (`{{ host }}` without a filter is an error; integers may be printed as they are);
//!   the built-in `safe` filter is removed;
//! - **one escaping filter per format** (see `reference/output-formats.md` §7):
//!
//! | filter | output |
//! |---|---|
//! | `nginx_str` | one nginx token, double-quoted unless plain; rejects `$` and control characters |
//! | `nginx_name` | a `server_name` entry: an LDH/punycode hostname or an IP literal, else an error |
//! | `yaml_str` | a double-quoted YAML scalar, `$` doubled for compose interpolation |
//! | `xml_attr` | XML attribute content (`&<>"'`, TAB/LF/CR as references) |
//! | `json` | a JSON string (or number / boolean) |
//! | `systemd_value` | a unit-file value (`%` doubled; rejects control characters) |
//! | `systemd_exec_arg` | one quoted `Exec*=` argument (`\ " % $` escaped) |
//! | `nginx_comment`, `yaml_comment`, `systemd_comment`, `xml_comment` | text for a one-line comment |
//!
//! - **comments stay comments**: a comment filter's text is escaped for a comment only (it
//!   may hold `;`, `{`, `"`), so it is refused anywhere but after the comment's opener on its
//!   line (`#` outside quotes for nginx and YAML, a `#`/`;` line for systemd, inside `<!-- -->`
//!   for XML): its output is fenced by markers no value can forge (a per-process nonce), checked
//!   and removed once the file is rendered ([`finish_comments`]);
//! - **bounded work**: a render may run at most [`FUEL`] instructions (minijinja's fuel), nest
//!   [`RECURSION`] levels, and write [`MAX_FILE_BYTES`](super::MAX_FILE_BYTES): a loop of
//!   10,000 × 10,000 iterations is an error in a fraction of a second, not gigabytes;
//! - **template files are regular files**: `--templates DIR` reads only regular files (no
//!   link, FIFO or device), each at most [`MAX_TEMPLATE_BYTES`].
//!
//! The escaping functions are public in [`escape`] so tests can drive them directly.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};

use crate::diagnostics::{Diagnosed, Diagnostic, code};

/// Instructions one render may run. The shipped templates need a few thousand (the largest
/// input within the documented limits, tens of thousands); an operator's template gets two
/// orders of magnitude more, and a runaway loop stops in well under a second.
pub const FUEL: u64 = 5_000_000;
/// Nesting of template calls, loops and conditions one render may reach (minijinja's own cap
/// is 500).
pub const RECURSION: usize = 100;
/// Largest template file read from `--templates DIR`.
pub const MAX_TEMPLATE_BYTES: u64 = 1 << 20;

/// A template's name (its file name under `templates/`) and its embedded source.
pub type TemplateSource = (&'static str, &'static str);

/// A template shipped in the binary: `template!("nginx-pod.conf.j2")` reads
/// `templates/nginx-pod.conf.j2` at compile time.
macro_rules! template {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $name)),
        )
    };
}
pub(crate) use template;

/// A set of templates with the escaping filters, ready to render.
pub struct Templates {
    env: Environment<'static>,
    /// Where each template came from: `None` if embedded, else the file it was read from.
    origins: BTreeMap<&'static str, Option<PathBuf>>,
    /// The digest of the templates that replace embedded ones (`--templates`), empty when
    /// none does: part of a build's input digest (the embedded ones are the tool's version).
    replaced_digest: String,
}

/// A template set that could not be loaded (bad file name, unreadable file, syntax error).
#[derive(Debug)]
pub struct TemplateError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for TemplateError {}

impl Templates {
    /// The given embedded templates (the targets' own: see `targets::embedded_templates`).
    pub fn embedded(sources: &[TemplateSource]) -> Templates {
        let mut env = environment();
        let mut origins = BTreeMap::new();
        for (name, source) in sources {
            // A syntax error in an embedded template is a defect of this crate: the test
            // `embedded_templates_compile` catches it before release.
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("embedded template {name}: {e:#}"));
            origins.insert(*name, None);
        }
        Templates {
            env,
            origins,
            replaced_digest: String::new(),
        }
    }

    /// What distinguishes these templates from the embedded ones: empty for the embedded
    /// set, else the digest of each replacing template's name, path and text.
    pub fn replaced_digest(&self) -> &str {
        &self.replaced_digest
    }

    /// The embedded templates, each replaced by the file of the same name in `dir` if there is
    /// one. Any other file in `dir` is an error (most likely a misspelled name: silently
    /// ignoring it would render the embedded template the operator meant to replace).
    pub fn from_dir(dir: &Path, sources: &[TemplateSource]) -> Result<Templates, TemplateError> {
        let fail = |path: &Path, message: String| TemplateError {
            path: path.to_owned(),
            message,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| fail(dir, e.to_string()))?;
        let mut replaced: Vec<(&'static str, PathBuf, String)> = Vec::new();
        let mut paths: Vec<PathBuf> = entries
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(|e| fail(dir, e.to_string()))?;
        paths.sort();
        for path in paths {
            let file_name = path.file_name().unwrap_or_default().to_string_lossy();
            let Some((name, _)) = sources.iter().find(|(n, _)| *n == file_name) else {
                let known: Vec<&str> = sources.iter().map(|(n, _)| *n).collect();
                return Err(fail(
                    &path,
                    format!(
                        "not a template name; the templates are: {}",
                        known.join(", ")
                    ),
                ));
            };
            // Found in the directory by the tool: a regular file, read bounded (a link to
            // /etc/shadow would be written into a world-readable site, a FIFO would hang).
            let bytes = match crate::files::read_found(&path, MAX_TEMPLATE_BYTES) {
                Ok(crate::files::Bounded::Bytes(bytes)) => bytes,
                Ok(crate::files::Bounded::TooLarge { .. }) => {
                    return Err(fail(
                        &path,
                        format!(
                            "larger than the limit of {} MiB for a template",
                            MAX_TEMPLATE_BYTES >> 20
                        ),
                    ));
                }
                Err(e) => return Err(fail(&path, e.to_string())),
            };
            let source = String::from_utf8(bytes)
                .map_err(|_| fail(&path, "not UTF-8: templates are UTF-8 text".to_owned()))?;
            replaced.push((name, path, source));
        }
        let mut templates = Templates::embedded(sources);
        let mut identity = String::new();
        for (name, path, source) in &replaced {
            identity.push_str(&format!(
                "{name}\0{}\0{}\0",
                path.display(),
                hex_digest(source.as_bytes())
            ));
        }
        if !replaced.is_empty() {
            templates.replaced_digest = hex_digest(identity.as_bytes());
        }
        for (name, path, source) in replaced {
            templates
                .env
                .add_template_owned(name, source)
                .map_err(|e| fail(&path, format!("{e:#}")))?;
            templates.origins.insert(name, Some(path));
        }
        Ok(templates)
    }

    /// Renders template `name` with `context` (any serializable value; its fields are the
    /// template's variables).
    pub fn render(&self, name: &str, context: &impl serde::Serialize) -> Result<String, Error> {
        let template = self.env.get_template(name)?;
        // Markers take room in the raw output; the file itself is checked against the limit
        // once they are gone (and again when it joins the tree).
        let mut out = LimitedOutput::new(2 * super::MAX_FILE_BYTES as usize);
        let rendered = template
            .render_captured_to(Value::from(minijinja::value::Serde(context)), &mut out)
            .map(drop);
        if out.overflowed {
            return Err(too_large());
        }
        rendered?;
        let text = String::from_utf8(out.bytes)
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, "the output is not UTF-8"))?;
        let text = finish_comments(&text)
            .map_err(|message| Error::new(ErrorKind::InvalidOperation, message))?;
        if text.len() as u64 > super::MAX_FILE_BYTES {
            return Err(too_large());
        }
        Ok(text)
    }

    /// Like [`Templates::render`], with a failure turned into a diagnostic naming the
    /// template (and the file it came from, for a replaced template), in the targets' error
    /// type.
    pub fn render_file(&self, name: &str, context: &impl serde::Serialize) -> Diagnosed<String> {
        self.render(name, context).map_err(|e| {
            let source = match self.origins.get(name) {
                Some(Some(path)) => path.display().to_string(),
                _ => format!("embedded template {name}"),
            };
            let mut detail = match e.kind() {
                ErrorKind::OutOfFuel => format!(
                    "the template ran more than {FUEL} instructions (a loop far too long for \
                     a configuration file)"
                ),
                _ => e.to_string(),
            };
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                detail.push_str(&format!(": {c}"));
                cause = c.source();
            }
            vec![
                Diagnostic::error(code::TEMPLATE, format!("cannot render {source}: {detail}")).help(
                    "a template error is a defect of the template: check the variable names and \
                     the escaping filters it uses",
                ),
            ]
        })
    }

    /// The file a template was loaded from, or `None` when it is the embedded one.
    pub fn origin(&self, name: &str) -> Option<&Path> {
        self.origins.get(name).and_then(|p| p.as_deref())
    }
}

/// The SHA-256 of `bytes` in hex (`output` is above this layer).
fn hex_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Renders template text under every rule of this module (the filters, strict undefined, fuel,
/// size, comment fences): for tests and the fuzzer.
pub fn render_text(source: &str, context: &impl serde::Serialize) -> Result<String, Error> {
    let mut env = environment();
    env.add_template_owned("template", source.to_owned())?;
    let templates = Templates {
        env,
        origins: BTreeMap::from([("template", None)]),
        replaced_digest: String::new(),
    };
    templates.render("template", context)
}

fn too_large() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "the rendered file is larger than the limit of {} MiB per generated file",
            super::MAX_FILE_BYTES >> 20
        ),
    )
}

/// An environment with the rules and filters of this module, without templates. Public so
/// tests can render ad-hoc template text under the same rules.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION);
    let mut syntax = SyntaxConfig::builder();
    syntax
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true);
    env.set_syntax(syntax.build().expect("default delimiters are valid"));
    // Every template is "auto-escaped" with a format of our own, so the output of macros is
    // marked safe; the formatter below then refuses any string that no filter escaped.
    env.set_auto_escape_callback(|_| AutoEscape::Custom("prose-compile".into()));
    env.set_formatter(strict_formatter);
    env.remove_filter("safe");
    env.remove_filter("escape");
    env.remove_filter("e");
    env.remove_filter("tojson");
    env.add_filter("nginx_str", |v: &Value| filter(v, escape::nginx_str));
    env.add_filter("nginx_name", |v: &Value| filter(v, escape::nginx_name));
    env.add_filter("yaml_str", |v: &Value| filter(v, escape::yaml_str));
    env.add_filter("xml_attr", |v: &Value| filter(v, escape::xml_attr));
    env.add_filter("json", json_filter);
    env.add_filter("systemd_value", |v: &Value| {
        filter(v, escape::systemd_value)
    });
    env.add_filter("systemd_exec_arg", |v: &Value| {
        filter(v, escape::systemd_exec_arg)
    });
    for kind in [Comment::Nginx, Comment::Yaml, Comment::Systemd] {
        env.add_filter(kind.filter(), move |v: &Value| {
            filter(v, |s| Ok(fenced(kind, &escape::line_comment(s))))
        });
    }
    env.add_filter(Comment::Xml.filter(), |v: &Value| {
        filter(v, |s| Ok(fenced(Comment::Xml, &escape::xml_comment(s))))
    });
    env
}

/// The comment formats of the comment filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comment {
    Nginx,
    Yaml,
    Systemd,
    Xml,
}

impl Comment {
    const ALL: [Comment; 4] = [
        Comment::Nginx,
        Comment::Yaml,
        Comment::Systemd,
        Comment::Xml,
    ];

    fn filter(self) -> &'static str {
        match self {
            Comment::Nginx => "nginx_comment",
            Comment::Yaml => "yaml_comment",
            Comment::Systemd => "systemd_comment",
            Comment::Xml => "xml_comment",
        }
    }

    fn tag(self) -> char {
        match self {
            Comment::Nginx => 'n',
            Comment::Yaml => 'y',
            Comment::Systemd => 's',
            Comment::Xml => 'x',
        }
    }

    /// Whether text written after `prefix` (what precedes it on its line) is inside a comment.
    fn opened_by(self, prefix: &str) -> bool {
        match self {
            // `#` at the start of a token, outside quotes (nginx's `ngx_conf_read_token`).
            Comment::Nginx => unquoted_hash(prefix, |before| {
                before.is_none_or(|c| c.is_whitespace() || ";{}".contains(c))
            }),
            // `#` at the start of the line or after white space, outside quotes.
            Comment::Yaml => unquoted_hash(prefix, |before| before.is_none_or(char::is_whitespace)),
            // systemd has whole-line comments only.
            Comment::Systemd => prefix.trim_start().starts_with(['#', ';']),
            Comment::Xml => prefix
                .rfind("<!--")
                .is_some_and(|open| prefix.rfind("-->").is_none_or(|close| close < open)),
        }
    }
}

/// Whether `prefix` has a `#` outside `"…"`/`'…'` quotes (backslash escapes) where
/// `starts_comment` (given the character before it) says a comment may start.
fn unquoted_hash(prefix: &str, starts_comment: impl Fn(Option<char>) -> bool) -> bool {
    let mut quote = None;
    let mut previous = None;
    let mut chars = prefix.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if starts_comment(previous) => return true,
            _ => {}
        }
        previous = Some(c);
    }
    false
}

/// The fence around a comment filter's output: a noncharacter and a per-process nonce that no
/// configuration value can know.
fn fence() -> &'static str {
    static FENCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FENCE.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(u64::from(std::process::id()));
        format!("\u{fdd0}{:016x}", hasher.finish())
    })
}

/// The fence of this process (for the fuzzer's oracle: none may be left in a rendered file).
pub fn comment_fence() -> &'static str {
    fence()
}

/// A comment filter's output: `FENCE tag : text FENCE ;`.
fn fenced(kind: Comment, text: &str) -> String {
    let fence = fence();
    format!("{fence}{}:{text}{fence};", kind.tag())
}

/// Checks that every comment filter's output landed inside a comment of its format, and
/// removes the fences. `Err` names the filter and the line.
pub fn finish_comments(rendered: &str) -> Result<String, String> {
    let fence = fence();
    if !rendered.contains(fence) {
        return Ok(rendered.to_owned());
    }
    let mut out = String::with_capacity(rendered.len());
    let mut rest = rendered;
    while let Some(at) = rest.find(fence) {
        out.push_str(&rest[..at]);
        let after = &rest[at + fence.len()..];
        let mut tag = after.chars();
        let kind = tag
            .next()
            .and_then(|t| Comment::ALL.into_iter().find(|k| k.tag() == t))
            .filter(|_| tag.next() == Some(':'))
            .ok_or("a comment filter's output was cut or nested in another filter")?;
        let body = &after[2..];
        let end = body
            .find(fence)
            .filter(|end| body[end + fence.len()..].starts_with(';'))
            .ok_or("a comment filter's output was cut or nested in another filter")?;
        let line_start = out.rfind('\n').map_or(0, |n| n + 1);
        let prefix = &out[line_start..];
        if !kind.opened_by(prefix) {
            let line = out.matches('\n').count() + 1;
            let shown: String = prefix.chars().take(60).collect();
            return Err(format!(
                "`{}` is used outside a comment, on line {line} after `{}`: it escapes text for \
                 a comment only (a value could end a directive there); write the value with \
                 the format's value filter instead (nginx_str, yaml_str, systemd_value, \
                 xml_attr)",
                kind.filter(),
                shown.escape_debug()
            ));
        }
        out.push_str(&body[..end]);
        rest = &body[end + fence.len() + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Where a render writes: at most `limit` bytes, then it fails (and says it overflowed).
struct LimitedOutput {
    bytes: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl LimitedOutput {
    fn new(limit: usize) -> Self {
        LimitedOutput {
            bytes: Vec::new(),
            limit,
            overflowed: false,
        }
    }
}

impl std::io::Write for LimitedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            self.overflowed = true;
            return Err(std::io::Error::other("the output is too large"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Prints safe strings (filter output, macro output) and integers; anything else is an error.
fn strict_formatter(
    out: &mut minijinja::Output,
    _state: &mut minijinja::State,
    value: &Value,
) -> Result<(), Error> {
    let printable = value.is_safe()
        || (value.kind() == ValueKind::Number && value.as_i64().is_some())
        || (value.kind() == ValueKind::Number && u64::try_from(value.clone()).is_ok());
    if !printable {
        let what = match value.kind() {
            ValueKind::Undefined => "an undefined value".to_owned(),
            ValueKind::None => "none".to_owned(),
            ValueKind::String => format!("the string {:?}", value.as_str().unwrap_or_default()),
            kind => format!("a value of kind {kind}"),
        };
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "{what} is printed without an escaping filter (nginx_str, nginx_name, yaml_str, \
                 xml_attr, json, systemd_value, systemd_exec_arg, *_comment)"
            ),
        ));
    }
    out.write_str(&value.to_string())
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write"))
}

/// Applies an escaping function to a string (or integer) value; the result is marked safe.
fn filter(value: &Value, escape: impl Fn(&str) -> Result<String, String>) -> Result<Value, Error> {
    let text = scalar_text(value)?;
    if text.len() as u64 > super::MAX_FILE_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "a value of {} bytes cannot go into a generated file (at most {} MiB)",
                text.len(),
                super::MAX_FILE_BYTES >> 20
            ),
        ));
    }
    escape(&text)
        .map(Value::from_safe_string)
        .map_err(|message| Error::new(ErrorKind::InvalidOperation, message))
}

fn scalar_text(value: &Value) -> Result<String, Error> {
    match value.kind() {
        ValueKind::String => Ok(value.as_str().unwrap_or_default().to_owned()),
        ValueKind::Number => Ok(value.to_string()),
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("an escaping filter needs a string or a number, not a value of kind {kind}"),
        )),
    }
}

fn json_filter(value: &Value) -> Result<Value, Error> {
    let json = match value.kind() {
        ValueKind::String => serde_json::Value::from(value.as_str().unwrap_or_default()),
        ValueKind::Bool => serde_json::Value::Bool(value.is_true()),
        ValueKind::Number => serde_json::from_str(&value.to_string())
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?,
        kind => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("json needs a string, number or boolean, not a value of kind {kind}"),
            ));
        }
    };
    Ok(Value::from_safe_string(json.to_string()))
}

/// The escaping functions behind the filters. Each returns the text to write, or why the
/// value cannot be written safely in that format.
pub mod escape {
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Characters that end a line in some format (YAML 1.1 and JavaScript count NEL, LS and
    /// PS), or that no configuration value has a use for.
    fn is_hostile_control(c: char) -> bool {
        c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
    }

    /// Unicode noncharacters (U+FDD0..U+FDEF and U+xxFFFE/U+xxFFFF): YAML forbids them even in
    /// comments, XML forbids U+FFFE/U+FFFF, and systemd refuses a line with any of them.
    fn is_noncharacter(c: char) -> bool {
        matches!(c, '\u{fdd0}'..='\u{fdef}') || (c as u32 & 0xfffe) == 0xfffe
    }

    fn visible(c: char) -> String {
        format!("\\u{{{:x}}}", c as u32)
    }

    /// One nginx token: written bare when it is made of characters that are plain in nginx
    /// (`[A-Za-z0-9._:/@,=+*-]`), else double-quoted with `\\` and `"` escaped. nginx cannot
    /// escape `$` (it expands variables even in quotes), so a `$` is refused, as are control
    /// characters.
    pub fn nginx_str(s: &str) -> Result<String, String> {
        if s.contains('$') {
            return Err(format!(
                "{s:?} contains `$`, which nginx expands as a variable even in quotes"
            ));
        }
        if let Some(c) = s.chars().find(|c| is_hostile_control(*c)) {
            return Err(format!(
                "{s:?} contains the control character {} (nginx)",
                visible(c)
            ));
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || "._:/@,=+*-".contains(c);
        if !s.is_empty() && s.chars().all(plain) {
            return Ok(s.to_owned());
        }
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            if matches!(c, '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        Ok(out)
    }

    /// A `server_name` entry: a lower-case LDH hostname (IDNs must already be punycode), an
    /// IPv4 address or a bracketed IPv6 address. Written as is, so anything else is refused.
    pub fn nginx_name(s: &str) -> Result<String, String> {
        let ok = if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            inner.parse::<Ipv6Addr>().is_ok()
        } else {
            s.parse::<Ipv4Addr>().is_ok()
                || crate::config::formats::hostname(s).is_ok_and(|ascii| ascii == s)
        };
        if ok {
            Ok(s.to_owned())
        } else {
            Err(format!(
                "{s:?} is not a hostname (LDH, punycode) or an IP address, so it cannot be an \
                 nginx server name"
            ))
        }
    }

    /// A double-quoted YAML scalar. Every character YAML could read as structure or as a line
    /// break is escaped, and `$` is written `$$` because compose interpolates every value.
    pub fn yaml_str(s: &str) -> Result<String, String> {
        Ok(crate::targets::yaml_scalar::double_quoted(
            s,
            crate::targets::yaml_scalar::Dollar::DoubledForCompose,
        ))
    }

    /// The content of an XML attribute (either quote style). Characters XML 1.0 forbids are
    /// refused; those it would normalise or that are invisible are written as references.
    pub fn xml_attr(s: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                '\t' | '\n' | '\r' => out.push_str(&format!("&#{};", c as u32)),
                '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {
                    return Err(format!(
                        "{s:?} contains {}, which XML 1.0 does not allow",
                        visible(c)
                    ));
                }
                c if is_hostile_control(c) => out.push_str(&format!("&#x{:x};", c as u32)),
                c => out.push(c),
            }
        }
        Ok(out)
    }

    /// Text for a comment that runs to the end of the line (`#` in nginx, YAML and systemd
    /// units): line breaks, other control characters and whatever YAML does not allow even in
    /// a comment (non-printable characters, noncharacters) become visible `\u{…}` escapes, and
    /// a trailing backslash (a continuation in unit files) is escaped the same way.
    pub fn line_comment(s: &str) -> String {
        // Pushed char by char: a `String` per char was 2 % of a `check` (every generated
        // header is a comment).
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if c != '\t' && (!crate::targets::yaml_scalar::one_line_char(c) || is_noncharacter(c)) {
                out.push_str(&visible(c));
            } else {
                out.push(c);
            }
        }
        if out.ends_with('\\') {
            out.pop();
            out.push_str(&visible('\\'));
        }
        out
    }

    /// Text for an XML comment: as [`line_comment`], and no `--` (forbidden in comments) nor a
    /// trailing `-` (which would make `--->`).
    pub fn xml_comment(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in line_comment(s).chars() {
            if c == '-' && out.ends_with('-') {
                out.push(' ');
            }
            out.push(c);
        }
        if out.ends_with('-') {
            out.push(' ');
        }
        out
    }

    fn systemd_checked(s: &str) -> Result<(), String> {
        if let Some(c) = s
            .chars()
            .find(|c| is_hostile_control(*c) || is_noncharacter(*c))
        {
            return Err(format!(
                "{s:?} contains {}, which a systemd unit cannot hold",
                visible(c)
            ));
        }
        Ok(())
    }

    /// A unit-file value outside `Exec*=`: `%` (specifiers) is doubled; control characters,
    /// noncharacters (systemd ignores the line) and a trailing backslash (a line
    /// continuation) are refused.
    pub fn systemd_value(s: &str) -> Result<String, String> {
        systemd_checked(s)?;
        if s.ends_with('\\') {
            return Err(format!(
                "{s:?} ends with a backslash, which continues the line in a unit file"
            ));
        }
        Ok(s.replace('%', "%%"))
    }

    /// One `Exec*=` argument, double-quoted: `\` and `"` escaped, `%` and `$` doubled (so no
    /// specifier or variable is expanded); control characters are refused.
    pub fn systemd_exec_arg(s: &str) -> Result<String, String> {
        systemd_checked(s)?;
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '%' => out.push_str("%%"),
                '$' => out.push_str("$$"),
                c => out.push(c),
            }
        }
        out.push('"');
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfiltered_strings_and_undefined_names_are_errors() {
        let env = environment();
        let ctx = minijinja::context! { host => "example.org", port => 5280 };
        assert!(env.render_str("{{ host }}", &ctx).is_err());
        assert!(env.render_str("{{ hots | nginx_str }}", &ctx).is_err());
        assert!(env.render_str("{{ host | safe }}", &ctx).is_err());
        assert_eq!(env.render_str("{{ port }}", &ctx).unwrap(), "5280");
        assert_eq!(
            env.render_str("{{ host | nginx_str }}", &ctx).unwrap(),
            "example.org"
        );
    }

    fn render(template: &str, value: &str) -> Result<String, String> {
        render_text(template, &minijinja::context! { v => value }).map_err(|e| e.to_string())
    }

    #[test]
    fn comment_filters_work_only_inside_comments() {
        let hostile = "x; return 200 \"pwned\"; #";
        assert_eq!(
            render(
                "# {{ v | nginx_comment }}\nlisten 80; # {{ v | nginx_comment }}\n",
                hostile
            )
            .unwrap(),
            format!("# {hostile}\nlisten 80; # {hostile}\n")
        );
        for inside in [
            "add_header X {{ v | nginx_comment }};",
            "add_header X \"#{{ v | nginx_comment }}\";",
            "return 200 a#{{ v | nginx_comment }};",
        ] {
            let error = render(inside, hostile).unwrap_err();
            assert!(
                error.contains("`nginx_comment` is used outside a comment"),
                "{error}"
            );
        }
        assert!(render("key: v # {{ v | yaml_comment }}", hostile).is_ok());
        assert!(render("key: \"a # {{ v | yaml_comment }}\"", hostile).is_err());
        assert!(render("key: a#{{ v | yaml_comment }}", hostile).is_err());
        assert!(render("# {{ v | systemd_comment }}", hostile).is_ok());
        assert!(render("Description=x # {{ v | systemd_comment }}", hostile).is_err());
        assert!(render("<!-- {{ v | xml_comment }} -->", hostile).is_ok());
        assert!(render("<a b=\"{{ v | xml_comment }}\"/>", hostile).is_err());
        assert!(render("<!-- a --> {{ v | xml_comment }}", hostile).is_err());
        // Piped into a value filter, the fenced text is not a comment either.
        assert!(render("add_header X {{ v | nginx_comment | nginx_str }};", "a").is_err());
    }

    #[test]
    fn renders_are_bounded_in_work_and_size() {
        let error = render(
            "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
            "",
        )
        .unwrap_err();
        assert!(error.contains("fuel"), "{error}");
        let error = render("{{ (v * 9000000) | nginx_comment }}", "x").unwrap_err();
        assert!(error.contains("cannot go into a generated file"), "{error}");
        let error = render(
            "{% for i in range(20) %}# {{ (v * 1000000) | nginx_comment }}\n{% endfor %}",
            "x",
        )
        .unwrap_err();
        assert!(error.contains("larger than the limit of 8 MiB"), "{error}");
        let error =
            render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "").unwrap_err();
        assert!(error.contains("recursion"), "{error}");
    }
}
