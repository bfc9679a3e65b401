//! The logic of the fuzz targets, with their oracles. Each `fuzz_targets/<name>.rs` calls one
//! function here; `tests/integration/fuzz_corpus.rs` includes this file as a module and replays the seed
//! corpus (`fuzz/corpus/<name>/`) through the same functions, so the targets build and pass
//! with a plain `cargo test`.
//!
//! A target panics (which libFuzzer reports as a crash) when the code under test panics, or
//! when an oracle fails: an escaped value that does not read back as the original in its
//! format, a tree that is not deterministic, a generated file that does not parse.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use prose_compile::config::env::parse_set;
use prose_compile::config::{LoadOptions, load};
use prose_compile::targets::prosody::lua;
use prose_compile::targets::templating::{self, escape};

/// A fuzz target's function.
pub type Target = fn(&[u8]);

/// Every target: its name (the directory of its corpus) and its function.
pub const TARGETS: &[(&str, Target)] = &[
    ("pipeline", pipeline),
    ("env_file", env_file),
    ("templates", templates),
    ("escape_lua", escape_lua),
    ("escape_nginx", escape_nginx),
    ("escape_yaml", escape_yaml),
    ("escape_xml", escape_xml),
    ("escape_systemd_json", escape_systemd_json),
];

/// Separates a template from the value it is rendered with in a `templates` input.
pub const VALUE_MARKER: &str = "\n%%VALUE%%\n";

/// Separates `prose.toml` from the `prose.env` beside it in a pipeline input.
pub const ENV_MARKER: &str = "\n%%PROSE.ENV%%\n";
/// Separates what follows: one `--set KEY=VALUE` argument per line.
pub const SET_MARKER: &str = "\n%%SET%%\n";

// ---------------------------------------------------------------------------------------
// The whole pipeline.

fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("prose-compile-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

/// Removes the scratch directory of [`pipeline`] (the replay test calls it when done; a fuzzing
/// process keeps its one directory for its whole run).
pub fn remove_scratch() {
    let _ = std::fs::remove_dir_all(scratch());
}

/// Bytes -> `prose.toml` (+ `prose.env`, `--set` arguments) -> parse -> layer -> validate ->
/// render. Never panics; a valid configuration renders twice to the same bytes, its YAML and
/// JSON files parse, and its manifest lists every file with its digest.
pub fn pipeline(data: &[u8]) {
    let (toml, rest) = split(data, ENV_MARKER.as_bytes());
    let (env, sets) = match rest {
        Some(rest) => {
            let (env, sets) = split(rest, SET_MARKER.as_bytes());
            (Some(env), sets)
        }
        None => (None, None),
    };
    let dir = scratch();
    let config = dir.join("prose.toml");
    std::fs::write(&config, toml).expect("write prose.toml");
    let env_file = dir.join("prose.env");
    match env {
        Some(env) => std::fs::write(&env_file, env).expect("write prose.env"),
        None => {
            let _ = std::fs::remove_file(&env_file);
        }
    }
    let sets = sets
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_default()
        .lines()
        .filter_map(|line| parse_set(line).ok())
        .collect();
    let options = LoadOptions {
        environment: Vec::new(),
        sibling_env_file: true,
        env_files: Vec::new(),
        sets,
        file_variables: prose_compile::targets::file_variables(),
    };
    let loaded = load(&config, &options).expect("the files just written are readable");
    assert_eq!(
        loaded.config.is_some(),
        !loaded.has_errors(),
        "a configuration exactly when there is no error"
    );
    for d in &loaded.diagnostics {
        if let Some(span) = d.span {
            let text = &loaded.sources.get(span.source).text;
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "span {span:?} out of its source ({} bytes): {d:?}",
                text.len()
            );
        }
    }
    // Diagnostics render (miette, JSON) without a panic, and drive no terminal.
    let human = prose_compile::diagnostics::render_human(
        &loaded.diagnostics,
        &loaded.sources,
        prose_compile::diagnostics::RenderOptions {
            color: false,
            width: 100,
        },
    );
    if let Some(c) = human
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        panic!("a raw control character {c:?} in the diagnostics:\n{human}");
    }
    for d in &loaded.diagnostics {
        serde_json::to_string(&prose_compile::diagnostics::to_json(d, &loaded.sources))
            .expect("a diagnostic serialises");
    }
    if loaded.config.is_none() {
        return;
    }
    let Ok(tree) = prose_compile::pipeline::compile(&loaded, "prose.toml") else {
        return;
    };
    let again = prose_compile::pipeline::compile(&loaded, "prose.toml").expect("second render");
    // Every file is listed once, with its digest: in `SHA256SUMS` when it is world-readable,
    // else in the private manifest.
    let manifests = tree.manifests();
    let mut manifest = prose_compile::output::parse_manifest(&manifests.public).expect("manifest");
    let private = manifests.private.map(|(text, _)| text).unwrap_or_default();
    let private = prose_compile::output::parse_manifest(&private).expect("private manifest");
    for path in private.keys() {
        let file = tree.get(path).expect("a listed file exists");
        assert_eq!(file.mode & 0o004, 0, "{path} is world-readable but private");
    }
    manifest.extend(private);
    for file in tree.files() {
        let twin = again.get(&file.path).expect("same files");
        assert_eq!(
            file.contents, twin.contents,
            "{} is not deterministic",
            file.path
        );
        assert_eq!(
            manifest.get(&file.path).map(String::as_str),
            Some(prose_compile::output::sha256_hex(&file.contents).as_str()),
            "{} is not in the manifest with its digest",
            file.path
        );
        let text = std::str::from_utf8(&file.contents).expect("generated files are UTF-8");
        if file.path.ends_with(".yaml") {
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{text}", file.path));
        } else if file.path.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{text}", file.path));
        } else if file.path.ends_with(".lua") {
            lua_tokens(text).unwrap_or_else(|e| panic!("{} does not lex: {e}", file.path));
        }
    }
    // Links are listed too, with the digest of the file they name.
    for link in tree.links() {
        assert!(
            manifest.contains_key(&link.path),
            "{} is not listed",
            link.path
        );
    }
    assert_eq!(manifest.len(), tree.len() + tree.links().count());
}

fn split<'a>(data: &'a [u8], marker: &[u8]) -> (&'a [u8], Option<&'a [u8]>) {
    match data.windows(marker.len()).position(|w| w == marker) {
        Some(at) => (&data[..at], Some(&data[at + marker.len()..])),
        None => (data, None),
    }
}

// ---------------------------------------------------------------------------------------
// The env-file parser.

/// Bytes -> an env file -> its assignments, diagnostics and the text diagnostics may show.
/// Every span lies inside its line; a name is letters, digits and `_`; the diagnostics stop
/// at the cap; the shown text keeps every byte offset and line break, shows no secret value
/// (a value under a secret-looking name is all `*`), and no line that is not an assignment
/// past its first characters.
pub fn env_file(data: &[u8]) {
    use prose_compile::config::env::{SHOWN_CHARACTERS, mask_env_file, parse_env_file};
    use prose_compile::diagnostics::looks_secret;
    use prose_compile::diagnostics::source::{SourceKind, Sources};
    let text = String::from_utf8_lossy(data).into_owned();
    let mut sources = Sources::default();
    let id = sources.add("prose.env", SourceKind::EnvFile, String::new());
    let mut diagnostics = Vec::new();
    let assignments = parse_env_file(&text, id, &mut diagnostics);
    assert!(
        diagnostics.len() <= prose_compile::config::limits::MAX_DIAGNOSTICS,
        "{} diagnostics",
        diagnostics.len()
    );
    for d in &diagnostics {
        let span = d.span.expect("an env-file diagnostic points at its line");
        assert!(
            span.end <= text.len() && !text[span.range()].contains('\n'),
            "{d:?}"
        );
    }
    let mut starts = Vec::new();
    for a in &assignments {
        let span = a.value_span.range();
        assert!(span.end <= text.len(), "{a:?}");
        assert!(
            !text[span.clone()].contains('\n'),
            "a value spans lines: {a:?}"
        );
        assert!(
            !a.name.is_empty()
                && a.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{a:?}"
        );
        starts.push(span.start);
    }
    let shown = mask_env_file(&text, &assignments, &mut sources);
    assert_eq!(shown.len(), text.len(), "offsets moved");
    let line_breaks = |t: &str| t.match_indices('\n').map(|(i, _)| i).collect::<Vec<_>>();
    assert_eq!(line_breaks(&shown), line_breaks(&text), "lines moved");
    for a in assignments.iter().filter(|a| looks_secret(&a.name)) {
        let masked = &shown[a.value_span.range()];
        assert!(
            masked.chars().all(|c| matches!(c, '*' | '"' | '\'')),
            "secret {} shown: {masked:?}",
            a.name
        );
    }
    let mut offset = 0;
    for (line, original) in shown.split_inclusive('\n').zip(text.split_inclusive('\n')) {
        let range = offset..offset + line.len();
        offset = range.end;
        if starts.iter().any(|s| range.contains(s)) {
            continue;
        }
        let hidden: String = line
            .trim_end_matches(['\n', '\r'])
            .chars()
            .skip(SHOWN_CHARACTERS)
            .collect();
        assert!(
            hidden.chars().all(|c| c == '*'),
            "a line that is not an assignment is shown: {original:?} -> {line:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Templates.

/// Bytes -> a template (then [`VALUE_MARKER`] and a value) rendered under every rule of the
/// templates, with `v` the value: never a panic; a rendered file holds no comment fence and
/// fits the file limit. Then the value as a pod's directory name, through the shipped
/// templates: every file still well-formed (a name cannot break out of its comments).
pub fn templates(data: &[u8]) {
    let (template, value) = split(data, VALUE_MARKER.as_bytes());
    let template = String::from_utf8_lossy(template);
    let value = String::from_utf8_lossy(value.unwrap_or_default()).into_owned();
    let context = minijinja::context! {
        v => value.clone(),
        n => 3,
        items => vec![value.clone(); 3],
    };
    if let Ok(text) = templating::render_text(&template, &context) {
        assert!(
            !text.contains(templating::comment_fence()),
            "a comment fence is left in:\n{text}"
        );
        assert!(text.len() as u64 <= prose_compile::targets::MAX_FILE_BYTES);
    }
    if value.chars().any(char::is_control) || value.len() > 4096 {
        return; // such a directory name is refused before anything is rendered
    }
    let label = format!("pods/{value}/prose.toml");
    if let Err(diagnostics) = prose_compile::pipeline::compile(minimal(), &label) {
        panic!("the label {label:?} broke a file: {diagnostics:#?}");
    }
}

/// A valid pod's loaded configuration, once.
fn minimal() -> &'static prose_compile::config::Loaded {
    static LOADED: OnceLock<prose_compile::config::Loaded> = OnceLock::new();
    LOADED.get_or_init(|| {
        let dir = scratch().join("minimal");
        std::fs::create_dir_all(&dir).expect("scratch directory");
        let config = dir.join("prose.toml");
        std::fs::write(&config, "[server]\ndomain = \"example.org\"\n").expect("write");
        let options = LoadOptions {
            file_variables: prose_compile::targets::file_variables(),
            ..LoadOptions::default()
        };
        load(&config, &options).expect("readable")
    })
}

// ---------------------------------------------------------------------------------------
// Lua.

/// `lua::quote` reads back, byte for byte, through a Lua string-literal decoder; a
/// `lua::comment` holds no line break; an identifier accepted as an option name is one.
pub fn escape_lua(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let quoted = lua::quote(&s);
    let (decoded, used) = decode_lua_string(&quoted).unwrap_or_else(|e| panic!("{e}: {quoted}"));
    assert_eq!(used, quoted.len(), "the literal ends early: {quoted}");
    assert_eq!(decoded, s.as_bytes(), "{quoted} does not read back");
    // The literal followed by code stays one literal and the code after it.
    let program = format!("x = {quoted} -- {}\ny = 1\n", lua::comment(&s));
    let tokens = lua_tokens(&program).unwrap_or_else(|e| panic!("{e}: {program}"));
    assert_eq!(
        tokens,
        ["x", "=", "<string>", "y", "=", "1"],
        "the literal or the comment broke out: {program}"
    );
    if lua::is_lua_identifier(&s) {
        let mut chars = s.chars();
        assert!(
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        );
        assert!(chars.all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(!LUA_KEYWORDS.contains(&&*s), "{s} is a keyword");
    }
}

const LUA_KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Decodes the Lua short string literal at the start of `text` (Lua 5.4 rules); returns its
/// bytes and the length of the literal.
pub fn decode_lua_string(text: &str) -> Result<(Vec<u8>, usize), String> {
    let bytes = text.as_bytes();
    let quote = *bytes.first().ok_or("empty")?;
    if quote != b'"' && quote != b'\'' {
        return Err("not a string literal".into());
    }
    let mut out = Vec::new();
    let mut i = 1;
    loop {
        let b = *bytes.get(i).ok_or("unfinished string")?;
        match b {
            b'\n' | b'\r' => return Err("unfinished string (raw line break)".into()),
            b if b == quote => return Ok((out, i + 1)),
            b'\\' => {
                let e = *bytes.get(i + 1).ok_or("unfinished escape")?;
                i += 2;
                match e {
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(11),
                    b'\\' | b'"' | b'\'' => out.push(e),
                    b'\n' | b'\r' => {
                        out.push(b'\n');
                        // \r\n and \n\r count as one line break.
                        if matches!(bytes.get(i), Some(&n) if (n == b'\n' || n == b'\r') && n != e)
                        {
                            i += 1;
                        }
                    }
                    b'x' => {
                        let hex = text.get(i..i + 2).ok_or("short \\x")?;
                        out.push(u8::from_str_radix(hex, 16).map_err(|_| "bad \\x")?);
                        i += 2;
                    }
                    b'z' => {
                        while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                            i += 1;
                        }
                    }
                    b'0'..=b'9' => {
                        let mut n = u32::from(e - b'0');
                        let mut digits = 1;
                        while digits < 3 && bytes.get(i).is_some_and(u8::is_ascii_digit) {
                            n = n * 10 + u32::from(bytes[i] - b'0');
                            i += 1;
                            digits += 1;
                        }
                        out.push(u8::try_from(n).map_err(|_| "decimal escape too large")?);
                    }
                    b'u' => {
                        let rest = text.get(i..).ok_or("bad \\u")?;
                        let close = rest.find('}').ok_or("unclosed \\u{")?;
                        let hex = rest.get(1..close).ok_or("bad \\u")?;
                        let c = u32::from_str_radix(hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or("bad \\u")?;
                        out.extend(c.to_string().as_bytes());
                        i += close + 1;
                    }
                    _ => return Err(format!("invalid escape \\{}", e as char)),
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// A Lua lexer good enough to tell where strings, comments and long brackets end: names,
/// numbers and punctuation come back as text, every string as `<string>`, comments dropped.
pub fn lua_tokens(text: &str) -> Result<Vec<String>, String> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if text[i..].starts_with("--") {
            i += 2;
            if let Some(len) = long_bracket(&text[i..]) {
                i += len?;
            } else {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
        } else if b == b'"' || b == b'\'' {
            let (_, len) = decode_lua_string(&text[i..])?;
            i += len;
            tokens.push("<string>".to_owned());
        } else if b == b'[' && long_bracket(&text[i..]).is_some() {
            i += long_bracket(&text[i..]).unwrap_or(Ok(1))?;
            tokens.push("<string>".to_owned());
        } else if b.is_ascii_alphanumeric() || b == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || b"_.".contains(&bytes[i]))
            {
                // A `.` only continues a number.
                if bytes[i] == b'.' && !bytes[start].is_ascii_digit() {
                    break;
                }
                i += 1;
            }
            tokens.push(text[start..i].to_owned());
        } else if b.is_ascii() {
            tokens.push((b as char).to_string());
            i += 1;
        } else {
            return Err(format!("stray non-ASCII byte at {i}"));
        }
    }
    Ok(tokens)
}

/// At `[[` or `[=*[`: the length of the long bracket through its closing, or an error when it
/// is unclosed. `None` when `text` does not open a long bracket.
fn long_bracket(text: &str) -> Option<Result<usize, String>> {
    let rest = text.strip_prefix('[')?;
    let level = rest.bytes().take_while(|b| *b == b'=').count();
    if rest.as_bytes().get(level) != Some(&b'[') {
        return None;
    }
    let close = format!("]{}]", "=".repeat(level));
    let body = level + 2;
    Some(
        text[body..]
            .find(&close)
            .map(|at| body + at + close.len())
            .ok_or_else(|| "unfinished long bracket".to_owned()),
    )
}

// ---------------------------------------------------------------------------------------
// nginx.

/// `nginx_str` reads back as one token equal to the original (nginx's quoting rules), or is
/// refused for a reason the value really has; `nginx_name` writes only plain names; a comment
/// stays on its line.
pub fn escape_nginx(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    match escape::nginx_str(&s) {
        Ok(token) => {
            let line = format!("set $x {token};\nreturn 204;\n");
            let tokens = nginx_tokens(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert_eq!(
                tokens,
                [
                    "set".to_owned(),
                    "$x".to_owned(),
                    s.to_string(),
                    ";".to_owned(),
                    "return".to_owned(),
                    "204".to_owned(),
                    ";".to_owned()
                ],
                "{token} does not read back"
            );
            assert!(
                !token.contains('$'),
                "nginx would expand a variable: {token}"
            );
        }
        Err(_) => assert!(
            s.contains('$')
                || s.chars()
                    .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}'),
            "{s:?} refused without a reason"
        ),
    }
    if let Ok(name) = escape::nginx_name(&s) {
        assert_eq!(name, s);
        assert!(
            // Upper-case hex digits in an IPv6 address are plain too (nginx compares server
            // names case-insensitively); a hostname is lower-case LDH.
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
                && (name.starts_with('[') || !name.bytes().any(|b| b.is_ascii_uppercase())),
            "server_name {name:?} needs quoting"
        );
        assert!(!name.is_empty());
    }
    let comment = format!("# {}\nreturn 204;\n", escape::line_comment(&s));
    assert_eq!(
        nginx_tokens(&comment).unwrap_or_else(|e| panic!("{e}: {comment}")),
        ["return", "204", ";"],
        "the comment broke out: {comment:?}"
    );
}

/// nginx's `ngx_conf_read_token`: words split by whitespace; `;`, `{` and `}` are tokens;
/// `#` at the start of a word comments to the end of the line; `"…"` and `'…'` quote, with `\`
/// escaping the next character; a closing quote must be followed by a separator. Word values
/// are unescaped as nginx does (`\"`, `\'`, `\\` -> the character, `\t` `\r` `\n` -> control
/// characters, any other `\x` kept as is).
pub fn nginx_tokens(text: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            i += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if matches!(c, ';' | '{' | '}') {
            tokens.push(c.to_string());
            i += 1;
            continue;
        }
        let mut raw = Vec::new();
        if c == '"' || c == '\'' {
            i += 1;
            loop {
                let d = *chars.get(i).ok_or("unterminated quoted string")?;
                if d == '\\' {
                    raw.push(d);
                    raw.push(*chars.get(i + 1).ok_or("unterminated escape")?);
                    i += 2;
                } else if d == c {
                    i += 1;
                    break;
                } else {
                    raw.push(d);
                    i += 1;
                }
            }
            if let Some(next) = chars.get(i)
                && !matches!(next, ' ' | '\t' | '\r' | '\n' | ';' | '{' | '}' | ')')
            {
                return Err(format!("unexpected {next:?} after a quoted string"));
            }
        } else {
            while let Some(&d) = chars.get(i) {
                if matches!(d, ' ' | '\t' | '\r' | '\n' | ';' | '{' | '}') {
                    break;
                }
                if d == '\\' {
                    raw.push(d);
                    raw.push(*chars.get(i + 1).ok_or("unterminated escape")?);
                    i += 2;
                } else {
                    raw.push(d);
                    i += 1;
                }
            }
        }
        tokens.push(nginx_unescape(&raw));
    }
    Ok(tokens)
}

fn nginx_unescape(raw: &[char]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == '\\' && i + 1 < raw.len() {
            match raw[i + 1] {
                '"' | '\'' | '\\' => {
                    out.push(raw[i + 1]);
                    i += 2;
                    continue;
                }
                't' => {
                    out.push('\t');
                    i += 2;
                    continue;
                }
                'r' => {
                    out.push('\r');
                    i += 2;
                    continue;
                }
                'n' => {
                    out.push('\n');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------
// YAML.

/// `yaml_str` parses back (serde_yaml_ng) to the original with `$` doubled (compose turns
/// `$$` back into `$`); a YAML comment adds no key and swallows none.
pub fn escape_yaml(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let scalar = escape::yaml_str(&s).expect("yaml_str refuses nothing");
    let doc = format!(
        "a: {scalar}\nb: {scalar} # {}\nc: 1\n",
        escape::line_comment(&s)
    );
    let value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
    let map = value.as_mapping().expect("a mapping");
    assert_eq!(map.len(), 3, "keys were injected or lost: {doc}");
    let want = s.replace('$', "$$");
    for key in ["a", "b"] {
        assert_eq!(
            map.get(key).and_then(|v| v.as_str()),
            Some(want.as_str()),
            "{scalar} does not read back"
        );
    }
    assert_eq!(map.get("c").and_then(|v| v.as_u64()), Some(1));
    // Compose's interpolation: `$$` is a literal `$`, so the value arrives intact.
    assert_eq!(want.replace("$$", "$"), s);
}

// ---------------------------------------------------------------------------------------
// XML.

/// `xml_attr` reads back through an XML attribute-value decoder (entity and character
/// references, normalisation of literal white space) in both quote styles, or is refused for
/// a character XML 1.0 cannot hold; `xml_comment` is a valid comment body.
pub fn escape_xml(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    match escape::xml_attr(&s) {
        Ok(attr) => {
            for quote in ['"', '\''] {
                let decoded = decode_xml_attr(&attr, quote)
                    .unwrap_or_else(|e| panic!("{e}: {quote}{attr}{quote}"));
                assert_eq!(decoded, s, "{attr} does not read back");
            }
        }
        Err(_) => assert!(
            s.chars().any(|c| !is_xml_char(c)),
            "{s:?} refused though XML can hold it"
        ),
    }
    let comment = escape::xml_comment(&s);
    assert!(!comment.contains("--"), "`--` in a comment: {comment}");
    assert!(
        !comment.ends_with('-'),
        "a comment ending in `-`: {comment}"
    );
    assert!(comment.chars().all(is_xml_char), "{comment:?}");
    assert!(!comment.contains(['\n', '\r']), "{comment:?}");
}

/// XML 1.0 `Char`.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// The value an XML parser reads from an attribute written between `quote`s (XML 1.0 §3.3.3:
/// references replaced, literal TAB/LF/CR normalised to spaces).
pub fn decode_xml_attr(text: &str, quote: char) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '<' => return Err(format!("`<` at {at}")),
            c if c == quote => return Err(format!("the quote at {at} ends the attribute")),
            '\t' | '\n' | '\r' => out.push(' '),
            '&' => {
                let rest = &text[at + 1..];
                let end = rest.find(';').ok_or("unterminated reference")?;
                let name = &rest[..end];
                let c = match name {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => {
                        let n = if let Some(hex) = name.strip_prefix("#x") {
                            u32::from_str_radix(hex, 16).ok()
                        } else if let Some(dec) = name.strip_prefix('#') {
                            dec.parse().ok()
                        } else {
                            None
                        };
                        n.and_then(char::from_u32)
                            .filter(|c| is_xml_char(*c))
                            .ok_or_else(|| format!("bad reference &{name};"))?
                    }
                };
                out.push(c);
                for _ in 0..=end {
                    chars.next();
                }
            }
            c if !is_xml_char(c) => return Err(format!("{c:?} is not an XML character")),
            c => out.push(c),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// systemd and JSON.

/// `systemd_value` reads back once specifiers are resolved (`%%` -> `%`) and stays one line;
/// `systemd_exec_arg` reads back as one argument (C unquoting, `%%`, `$$`); refusals have a
/// reason. The templates' `json` filter reads back with serde_json.
pub fn escape_systemd_json(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let hostile = |s: &str| {
        s.chars().any(|c| {
            c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{fdd0}'..='\u{fdef}')
                || (c as u32 & 0xfffe) == 0xfffe
        })
    };
    match escape::systemd_value(&s) {
        Ok(value) => {
            assert!(!value.ends_with('\\'), "continues the line: {value:?}");
            assert!(!hostile(&value), "{value:?}");
            assert_eq!(systemd_specifiers(&value), Ok(s.to_string()));
        }
        Err(_) => assert!(hostile(&s) || s.ends_with('\\'), "{s:?} refused"),
    }
    match escape::systemd_exec_arg(&s) {
        Ok(arg) => {
            assert!(!hostile(&arg), "{arg:?}");
            let line = format!("{arg} next");
            let words = systemd_words(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert_eq!(
                words,
                [s.to_string(), "next".to_owned()],
                "{arg} does not read back"
            );
        }
        Err(_) => assert!(hostile(&s), "{s:?} refused"),
    }
    let env = templating::environment();
    let rendered = env
        .render_str("{{ v | json }}", minijinja::context! { v => s.as_ref() })
        .expect("json renders every string");
    let back: String =
        serde_json::from_str(&rendered).unwrap_or_else(|e| panic!("{e}: {rendered}"));
    assert_eq!(back, s);
}

/// Resolves specifiers in a unit-file value: `%%` is `%`, any other `%x` is an error here
/// (it would expand).
pub fn systemd_specifiers(value: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('%') => out.push('%'),
                other => return Err(format!("specifier %{other:?} would expand")),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Splits an `ExecStart=` command line into words as systemd does (`extract_first_word` with
/// unquoting and C escapes), then resolves `%%` and `$$` (any other `%x` or `$` would expand).
pub fn systemd_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quote = None;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, ' ' | '\t') => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    let e = chars.next().ok_or("trailing backslash")?;
                    word.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '\\' | '"' | '\'' | ' ' => e,
                        _ => return Err(format!("escape \\{e} not expected")),
                    });
                }
                (_, '%') => match chars.next() {
                    Some('%') => word.push('%'),
                    other => return Err(format!("specifier %{other:?} would expand")),
                },
                (_, '$') => match chars.next() {
                    Some('$') => word.push('$'),
                    other => return Err(format!("variable ${other:?} would expand")),
                },
                (_, c) => word.push(c),
            }
        }
        if quote.is_some() {
            return Err("unbalanced quotes".into());
        }
        words.push(word);
    }
}
