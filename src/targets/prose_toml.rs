//! `etc/prose/prose.toml` and `etc/prose/prose-server.env`: the configuration the Pod API and
//! the Pod Server read at run time (compose mounts `/etc/prose` into both).
//!
//! - **What is written**: every key an operator's layer set (the file, `prose.env`,
//!   `--env-file`, the environment, `--set`), normalised: keys in the model's order, map keys
//!   sorted, values as TOML writes them. Keys left to their defaults and computed defaults
//!   are not written: both daemons compute the same ones. Vendor analytics, a privacy
//!   setting whose defaults differ between the reference and the Pod Server, is written in
//!   full, resolved from its presets, so the Pod Server applies what `explain` shows.
//! - **Where** ([`containers::route`]): into `prose.toml` when the pinned Pod API accepts the
//!   key; into `prose-server.env` (as `PROSE_*` variables, which compose gives to the Pod
//!   Server only) when only the Pod Server reads it, since the Pod API would refuse to start;
//!   nowhere (the loader warned) when no pinned component reads it. `[audit]` is
//!   prose-compile's own and never written.
//! - **Secrets** are written only when they came from `prose.toml` (or from the generated
//!   `prose-server.env` read back): one the environment or `--set` gave stays there, and a
//!   comment names the variable that must provide it. A file holding a secret is 0640.
//! - **Round trip**: the loader reads `prose-server.env` beside `prose.toml` as it reads
//!   `prose.env`, so building an installed `/etc/prose` (these two files and the same
//!   `prose.env`) gives a byte-identical tree (`tests/integration/round_trip.rs`).

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::templating::escape::line_comment;
use super::{GeneratedFile, RenderContext};
use crate::config::compat::Component;
use crate::config::containers::{self, Route};
use crate::config::env::var_name;
use crate::config::schema_nav::SchemaNav;
use crate::config::schema_structure::Structure;
use crate::diagnostics::{Diagnosed, is_secret_key};
use crate::provenance::{Node, Origin, dotted, owned};

pub const PATH: &str = "etc/prose/prose.toml";
pub const SERVER_ENV_PATH: &str = "etc/prose/prose-server.env";
const MODE: u32 = 0o644;
const SECRET_MODE: u32 = 0o640;

/// The target: the two files both daemons read.
pub struct ProseConfigFiles;

impl super::Target for ProseConfigFiles {
    fn name(&self) -> &'static str {
        "prose"
    }
    fn paths(&self) -> &'static [&'static str] {
        &[PATH, SERVER_ENV_PATH]
    }
    fn checks(&self) -> &'static [super::Check] {
        &[super::Check {
            files: PATH,
            validator: super::Validator::Toml,
        }]
    }
    fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        Ok(render(ctx))
    }
}

/// A table of the output, in writing order, with comments that open it.
#[derive(Debug, Default)]
struct Table {
    comments: Vec<String>,
    entries: IndexMap<String, Item>,
}

#[derive(Debug)]
enum Item {
    Value(Json),
    Table(Table),
}

impl Table {
    fn insert(&mut self, path: &[String], value: Json) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut table = self;
        for key in parents {
            let item = table
                .entries
                .entry(key.clone())
                .or_insert_with(|| Item::Table(Table::default()));
            if !matches!(item, Item::Table(_)) {
                *item = Item::Table(Table::default());
            }
            let Item::Table(inner) = item else { return };
            table = inner;
        }
        table.entries.insert(last.clone(), Item::Value(value));
    }

    fn comment(&mut self, path: &[String], comment: String) {
        let mut table = self;
        for key in path {
            let item = table
                .entries
                .entry(key.clone())
                .or_insert_with(|| Item::Table(Table::default()));
            let Item::Table(inner) = item else { return };
            table = inner;
        }
        table.comments.push(comment);
    }

    /// Sorts keys as the model lists them (map keys alphabetically, after). `schema` is this
    /// table's (none for a map's entries, or where the model has no table): each level finds
    /// its children's from its own, not from the root again.
    fn sort<'s>(&mut self, nav: &SchemaNav<'s, Structure>, schema: Option<&'s Structure>) {
        let order: Vec<&str> = schema.map(|s| nav.property_names(s)).unwrap_or_default();
        let rank = |key: &str| order.iter().position(|k| *k == key).unwrap_or(usize::MAX);
        // Each key ranked once (a comparison that ranks both sides searched the order
        // O(n log n) times: 2 % of a `check`).
        self.entries
            .sort_by_cached_key(|key, _| (rank(key), key.clone()));
        for (key, item) in self.entries.iter_mut() {
            if let Item::Table(table) = item {
                table.sort(nav, schema.and_then(|s| nav.child(s, key)));
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.comments.is_empty()
    }
}

/// What the two files hold, before printing.
#[derive(Debug, Default)]
struct Files {
    toml: Table,
    server: Table,
    toml_secret: bool,
    server_secret: bool,
}

pub fn render(ctx: &RenderContext) -> Vec<GeneratedFile> {
    render_with(ctx, SecretPolicy::AsConfigured).files
}

/// How the two files treat the secrets of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretPolicy<'a> {
    /// A host: a secret `prose.toml` set is written (the file is then 0640); one the
    /// environment or `--set` gave stays there, and a comment names its variable.
    AsConfigured,
    /// Kubernetes: no secret is ever written; each one is taken from the named Secret, under
    /// its variable's name, and a comment says so.
    FromSecret(&'a str),
}

/// A secret the files leave to a Kubernetes Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVariable {
    /// The key's path (`notifiers.email.smtp_password`).
    pub path: Vec<String>,
    /// Its `PROSE_*` variable, also the Secret's key.
    pub variable: String,
    pub route: Route,
}

/// The two files, with what other outputs need from them.
#[derive(Debug)]
pub struct Rendered {
    /// `prose.toml`, then `prose-server.env`.
    pub files: Vec<GeneratedFile>,
    /// The Pod Server's own variables (`prose-server.env`): each name and the text figment
    /// parses (what the env file writes between its quotes).
    pub server_variables: Vec<(String, String)>,
    /// Under [`SecretPolicy::FromSecret`], every secret left to the Secret.
    pub secrets: Vec<SecretVariable>,
}

/// The two files, secrets handled by `policy`.
pub fn render_with(ctx: &RenderContext, policy: SecretPolicy<'_>) -> Rendered {
    let mut files = Files::default();
    let mut secrets = Vec::new();
    let pins = &ctx.config.deployment.pins;
    let mut leaves: Vec<(Vec<String>, Json)> = Vec::new();
    ctx.tree.for_each_leaf(&mut Vec::new(), &mut |path, node| {
        if matches!(path.first(), Some(&("vendor_analytics" | "prosody"))) || !set_by_operator(node)
        {
            return;
        }
        leaves.push((owned(path), node.to_json()));
    });
    leaves.extend(prosody_section(ctx));
    let carried = super::prosody::carried_overrides(ctx);
    leaves.extend(carried.iter().map(|c| {
        let value = serde_json::to_value(&c.value).unwrap_or(Json::Null);
        (carried_path(c), value)
    }));
    leaves.extend(vendor_analytics(ctx));
    for (path, value) in leaves {
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        let route = containers::route(&segments, pins);
        let (table, secret) = match route {
            Route::ProseToml => (&mut files.toml, &mut files.toml_secret),
            Route::ServerEnv => (&mut files.server, &mut files.server_secret),
            Route::Ours | Route::Nowhere { .. } => continue,
        };
        let key = dotted(&path);
        let secret_key = is_secret_key(&key);
        if let (true, SecretPolicy::FromSecret(secret)) = (secret_key, policy) {
            let variable = var_name(&segments);
            let (parent, name) = path.split_at(path.len() - 1);
            table.comment(
                if route == Route::ServerEnv { &[] } else { parent },
                format!(
                    "{}: a secret, taken from the Secret `{secret}` (key `{variable}`)",
                    if route == Route::ServerEnv { key.clone() } else { name[0].clone() },
                ),
            );
            secrets.push(SecretVariable {
                path: path.clone(),
                variable,
                route,
            });
            continue;
        }
        if secret_key {
            if let Some(env) = ctx
                .config
                .deployment
                .env_secrets
                .iter()
                .find(|s| s.path == path)
            {
                let (parent, name) = path.split_at(path.len() - 1);
                table.comment(
                    if route == Route::ServerEnv { &[] } else { parent },
                    format!(
                        "{}: a secret, set by `{}` in {}: it stays there (it must provide it at \
                         run time)",
                        if route == Route::ServerEnv { key.clone() } else { name[0].clone() },
                        env.variable,
                        env.from
                    ),
                );
                continue;
            }
            *secret = true;
        }
        table.insert(&path, value);
    }
    for c in &carried {
        let path = carried_path(c);
        files.toml.comment(
            &path[..3],
            format!("{}: set by prose-compile: {}", c.option, c.reason),
        );
    }
    let nav = SchemaNav::new(crate::config::schema_structure::structure());
    let root = nav.at::<&str>(&[]);
    files.toml.sort(&nav, root);
    files.server.sort(&nav, root);
    Rendered {
        server_variables: env_values(&files.server)
            .into_iter()
            .map(|(name, text, _)| (name, text))
            .collect(),
        files: vec![
            GeneratedFile {
                path: PATH.into(),
                contents: print_toml(ctx, &files.toml, &files.server, policy).into_bytes(),
                mode: if files.toml_secret { SECRET_MODE } else { MODE },
            },
            GeneratedFile {
                path: SERVER_ENV_PATH.into(),
                contents: print_env(ctx, &files.server).into_bytes(),
                mode: if files.server_secret { SECRET_MODE } else { MODE },
            },
        ],
        secrets,
    }
}

/// Whether a value was written by the operator (a layer), not a default or a computation.
fn set_by_operator(node: &Node) -> bool {
    matches!(
        node.origin,
        Origin::File(_) | Origin::Env { .. } | Origin::Set(_)
    )
}

/// The `prosody.<host>.defaults|overrides` leaves the pod's `prose.toml` carries: the
/// operator's, as set (the Pod API regenerates prosody.cfg.lua from them at every start).
/// prose-compile's own entries are added after them (`prosody::carried_overrides`), each with
/// a comment, so the API's regeneration writes what the generated prosody.cfg.lua holds.
fn prosody_section(ctx: &RenderContext) -> Vec<(Vec<String>, Json)> {
    let mut leaves = Vec::new();
    if let Some(prosody) = ctx.tree.get_path(&["prosody"]) {
        prosody.for_each_leaf(&mut vec!["prosody"], &mut |path, node| {
            if set_by_operator(node) {
                leaves.push((owned(path), node.to_json()));
            }
        });
    }
    leaves
}

/// Where a carried Prosody override goes: `prosody.<host>.overrides.<option>`.
fn carried_path(c: &super::prosody::carry::Carried) -> Vec<String> {
    vec![
        "prosody".to_owned(),
        c.host.clone(),
        "overrides".to_owned(),
        c.option.to_owned(),
    ]
}

/// Vendor analytics resolved from its presets, every value explicit.
fn vendor_analytics(ctx: &RenderContext) -> Vec<(Vec<String>, Json)> {
    let mut value = serde_json::to_value(&ctx.config.vendor_analytics).unwrap_or(Json::Null);
    if let Json::Object(map) = &mut value {
        map.shift_remove("preset");
        map.shift_remove("presets");
    }
    let mut leaves = Vec::new();
    flatten(&mut vec!["vendor_analytics".to_owned()], &value, &mut leaves);
    leaves
}

fn flatten(path: &mut Vec<String>, value: &Json, out: &mut Vec<(Vec<String>, Json)>) {
    match value {
        Json::Null => {}
        Json::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                path.push(key.clone());
                flatten(path, child, out);
                path.pop();
            }
        }
        _ => out.push((path.clone(), value.clone())),
    }
}

fn print_toml(ctx: &RenderContext, toml: &Table, server: &Table, policy: SecretPolicy) -> String {
    let pins = &ctx.config.deployment.pins;
    let mut out = format!(
        "# {}\n#\n# The Prose Pod's configuration (/etc/prose/prose.toml), read by {} and {}:\n\
         # the values the operator's layers set (prose.toml, prose.env, the environment, --set);\n\
         # keys left to their defaults are not written.\n",
        line_comment(&ctx.notice()),
        pins.label(Component::PodApi),
        pins.label(Component::PodServer),
    );
    let server_only: Vec<&str> = server.entries.keys().map(String::as_str).collect();
    if !server_only.is_empty() {
        let place = match policy {
            SecretPolicy::AsConfigured => "In prose-server.env",
            SecretPolicy::FromSecret(_) => "In the prose-server-env ConfigMap",
        };
        out.push_str(&format!(
            "# {place}, for the Pod Server only ({} refuses them here): {}.\n",
            pins.label(Component::PodApi),
            line_comment(&server_only.join(", "))
        ));
    }
    print_table(&mut out, &mut Vec::new(), toml);
    out
}

fn print_table(out: &mut String, path: &mut Vec<String>, table: &Table) {
    let values: Vec<(&String, &Json)> = table
        .entries
        .iter()
        .filter_map(|(k, item)| match item {
            Item::Value(v) => Some((k, v)),
            Item::Table(_) => None,
        })
        .collect();
    if !path.is_empty() && (!values.is_empty() || table.is_empty() || !table.comments.is_empty())
    {
        out.push_str(&format!("\n[{}]\n", dotted(path)));
    } else if path.is_empty() && !(values.is_empty() && table.comments.is_empty()) {
        out.push('\n');
    }
    for comment in &table.comments {
        out.push_str(&format!("# {}\n", line_comment(comment)));
    }
    for (key, value) in values {
        out.push_str(&format!("{} = {}\n", dotted(&[key]), inline(value)));
    }
    for (key, item) in &table.entries {
        if let Item::Table(inner) = item {
            path.push(key.clone());
            print_table(out, path, inner);
            path.pop();
        }
    }
}

/// A value as TOML writes it inline; its strings avoid `'`, so the same text is also a valid
/// figment value inside a single-quoted dotenv value (see [`print_env`]).
fn inline(value: &Json) -> String {
    inline_as(value, Text::Utf8)
}

/// How strings are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Text {
    /// As is: `prose.toml` (a TOML parser reads it).
    Utf8,
    /// ASCII only, every other character as `\uXXXX`: figment 0.10.19 slices an escaped
    /// string at a character index as if it were a byte index, so an escape after a
    /// non-ASCII character would corrupt the value the Pod Server reads.
    Ascii,
}

fn inline_as(value: &Json, text: Text) -> String {
    let inline = |v: &Json| inline_as(v, text);
    let quoted = |s: &str| quoted_as(s, text);
    match value {
        Json::Null => "\"\"".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => format!("{f:?}"),
            _ => n.to_string(),
        },
        Json::String(s) => quoted(s),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) if map.is_empty() => "{}".into(),
        Json::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", key_text(k), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn key_text(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { key.to_owned() } else { quoted_as(key, Text::Ascii) }
}

/// A TOML basic string (also a figment string): `"`, `\` and every control character
/// escaped, and `'` as `\u0027` so the text can sit between single quotes in a dotenv file.
fn quoted_as(s: &str, text: Text) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            c if text == Text::Ascii && !c.is_ascii() => {
                out.push_str(&if c.len_utf16() == 1 {
                    format!("\\u{:04X}", c as u32)
                } else {
                    format!("\\U{:08X}", c as u32)
                });
            }
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\'' => out.push_str("\\u0027"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `prose-server.env`: one `PROSE_*` variable per key, in the form figment parses (`__`
/// between path segments; a table whose keys cannot be variable names, e.g. fingerprints, as
/// one `{ … }` value). Values are single-quoted, so compose passes them verbatim.
fn print_env(ctx: &RenderContext, server: &Table) -> String {
    let pins = &ctx.config.deployment.pins;
    let mut out = format!(
        "# {}\n#\n# The Pod Server's own settings (/etc/prose/prose-server.env), as PROSE_* variables:\n\
         # {} refuses these keys in prose.toml. compose gives this file to the Pod Server's\n\
         # container only, after prose.env; prose-compile reads it back beside prose.toml.\n",
        line_comment(&ctx.notice()),
        pins.label(Component::PodApi),
    );
    for comment in &server.comments {
        out.push_str(&format!("# {}\n", line_comment(comment)));
    }
    for (name, text, quoted) in env_values(server) {
        if quoted {
            out.push_str(&format!("{name}='{text}'\n"));
        } else {
            out.push_str(&format!("{name}={text}\n"));
        }
    }
    out
}

/// Each variable of `prose-server.env`: its name, the text figment parses, and whether the
/// file single-quotes it (strings, lists and tables; booleans and numbers are bare).
fn env_values(server: &Table) -> Vec<(String, String, bool)> {
    let mut lines = Vec::new();
    env_lines(&mut Vec::new(), server, &mut lines);
    lines
        .into_iter()
        .map(|(path, value)| {
            let segments: Vec<&str> = path.iter().map(String::as_str).collect();
            let (text, quoted) = match &value {
                Json::Bool(_) | Json::Number(_) => (inline(&value), false),
                _ => (inline_as(&value, Text::Ascii), true),
            };
            (var_name(&segments), text, quoted)
        })
        .collect()
}

/// A segment figment turns back into the same key: lower case, digits, single `_`.
fn env_safe(key: &str) -> bool {
    !key.is_empty()
        && !key.contains("__")
        && !key.starts_with('_')
        && !key.ends_with('_')
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn env_lines(path: &mut Vec<String>, table: &Table, out: &mut Vec<(Vec<String>, Json)>) {
    for (key, item) in &table.entries {
        path.push(key.clone());
        match item {
            Item::Value(value) => out.push((path.clone(), value.clone())),
            Item::Table(inner) if inner.entries.keys().all(|k| env_safe(k)) => {
                env_lines(path, inner, out)
            }
            Item::Table(inner) => out.push((path.clone(), to_json(inner))),
        }
        path.pop();
    }
}

fn to_json(table: &Table) -> Json {
    Json::Object(
        table
            .entries
            .iter()
            .map(|(k, item)| {
                let value = match item {
                    Item::Value(v) => v.clone(),
                    Item::Table(t) => to_json(t),
                };
                (k.clone(), value)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_toml_and_figment_and_single_quote_safe() {
        let quoted = |s: &str| quoted_as(s, Text::Utf8);
        assert_eq!(quoted("a\"b\\c'd\ne\u{1}"), "\"a\\\"b\\\\c\\u0027d\\ne\\u0001\"");
        let doc = format!("x = {}", quoted("a\"b\\c'd\ne\u{1}\u{2028}"));
        let parsed: toml::Table = toml::from_str(&doc).unwrap();
        assert_eq!(parsed["x"].as_str(), Some("a\"b\\c'd\ne\u{1}\u{2028}"));
    }

    #[test]
    fn inline_values_parse_back_as_toml() {
        let value = serde_json::json!({"a b": [1, 2.5, true], "c": {"d": "e"}, "f": {}});
        let doc = format!("x = {}", inline(&value));
        let parsed: toml::Table = toml::from_str(&doc).unwrap();
        assert_eq!(parsed["x"]["a b"][1].as_float(), Some(2.5));
        assert_eq!(parsed["x"]["c"]["d"].as_str(), Some("e"));
    }

    #[test]
    fn ascii_strings_escape_every_other_character() {
        assert_eq!(quoted_as("É\"x😀", Text::Ascii), "\"\\u00C9\\\"x\\U0001F600\"");
        let doc = format!("x = {}", quoted_as("É\"x😀", Text::Ascii));
        let parsed: toml::Table = toml::from_str(&doc).unwrap();
        assert_eq!(parsed["x"].as_str(), Some("É\"x😀"));
    }

    #[test]
    fn env_names_stay_what_figment_splits() {
        assert!(env_safe("with_ansi"));
        for bad in ["A1B2", "a__b", "_a", "a_", "a.b", ""] {
            assert!(!env_safe(bad), "{bad}");
        }
    }
}
