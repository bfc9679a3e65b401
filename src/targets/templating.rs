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
//! The escaping functions are public in [`escape`] so tests can drive them directly.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};

use crate::diagnostics::{Diagnosed, Diagnostic, code};

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
        Templates { env, origins }
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
            let source = std::fs::read_to_string(&path).map_err(|e| fail(&path, e.to_string()))?;
            replaced.push((name, path, source));
        }
        let mut templates = Templates::embedded(sources);
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
        self.env
            .get_template(name)?
            .render(Value::from(minijinja::value::Serde(context)))
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
            let mut detail = e.to_string();
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

/// An environment with the rules and filters of this module, without templates. Public so
/// tests can render ad-hoc template text under the same rules.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
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
    for name in ["nginx_comment", "yaml_comment", "systemd_comment"] {
        env.add_filter(name, |v: &Value| filter(v, |s| Ok(escape::line_comment(s))));
    }
    env.add_filter("xml_comment", |v: &Value| {
        filter(v, |s| Ok(escape::xml_comment(s)))
    });
    env
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

    /// YAML 1.2 `c-printable`, minus the characters YAML 1.1 treats as line breaks.
    fn yaml_plain_char(c: char) -> bool {
        matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
            && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
    }

    /// A double-quoted YAML scalar. Every character YAML could read as structure or as a line
    /// break is escaped, and `$` is written `$$` because compose interpolates every value.
    pub fn yaml_str(s: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '$' => out.push_str("$$"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c if yaml_plain_char(c) => out.push(c),
                c => out.push_str(&format!("\\u{:04x}", c as u32)),
            }
        }
        out.push('"');
        Ok(out)
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
        let mut out: String = s
            .chars()
            .map(|c| {
                if c != '\t' && (!yaml_plain_char(c) || is_noncharacter(c)) {
                    visible(c)
                } else {
                    c.to_string()
                }
            })
            .collect();
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
}
