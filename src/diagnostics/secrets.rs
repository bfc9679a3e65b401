//! Which values are secrets, and masking them in a text before it is shown.
//!
//! Two kinds of masking, so that a secret is hidden even where the parse tree cannot help:
//! - through the parse tree (`config::parse::mask_secrets`): exact spans of values whose key is
//!   a secret, at any depth;
//! - by key name on the raw text ([`mask_toml_text`], [`mask_secret_lines`]): a secret-looking
//!   key followed by `=` (or `:`) has its value masked, whether the file parses or not (a
//!   syntax error near a secret, a duplicated key, invalid UTF-8), whatever the value's type
//!   (a number), and under a misspelled key (`smtp_pasword`).
//!
//! The values masked are also remembered ([`Secrets`]) so that a message that would quote one
//! prints `********` instead.

/// Whether a key holds a secret that must never be printed.
pub fn is_secret_key(key: &str) -> bool {
    // Asked for every value of every configuration, several times: it allocates nothing.
    let mut segments = key.rsplit('.');
    let last = segments.next().unwrap_or(key);
    // Map values under a `passphrases` table are secrets whatever their key (a fingerprint).
    let under_passphrases = segments.any(|segment| segment.eq_ignore_ascii_case("passphrases"));
    under_passphrases || last.eq_ignore_ascii_case("session_token") || names_a_secret(last)
}

/// Whether a key's last segment contains `passphrase`, or `secret`, `password` or `key`
/// (except in `min_password_length`), ignoring ASCII case: one pass, each word compared only
/// where its first letter is.
fn names_a_secret(last: &str) -> bool {
    let exempt = last.eq_ignore_ascii_case("min_password_length");
    let bytes = last.as_bytes();
    (0..bytes.len()).any(|at| {
        let rest = &bytes[at..];
        let starts = |word: &[u8]| {
            rest.get(..word.len())
                .is_some_and(|r| r.eq_ignore_ascii_case(word))
        };
        match rest[0].to_ascii_lowercase() {
            b'p' => starts(b"passphrase") || (!exempt && starts(b"password")),
            b's' => !exempt && starts(b"secret"),
            b'k' => !exempt && starts(b"key"),
            _ => false,
        }
    })
}

/// Whether `text` contains `word`, byte for byte (the callers compare lowercased copies).
fn contains_bytes(text: &[u8], word: &[u8]) -> bool {
    let Some((&first, rest)) = word.split_first() else {
        return true;
    };
    // The first byte alone rules most positions out, without a comparison of slices.
    text.windows(word.len())
        .any(|window| window[0] == first && window[1..] == *rest)
}

/// Words that name a secret, and the misspellings close to them (edit distance).
const SECRET_WORDS: &[&str] = &["password", "passwd", "secret", "passphrase"];

/// Whether a key *looks like* it holds a secret: [`is_secret_key`], or a word of it
/// (`_`, `-`, `.` separate words) that is a secret word, contains one, or is a misspelling of
/// one (`smtp_pasword`, `PROSE_NOTIFIERS__EMAIL__SMTP_PASWROD`, `scret`). Used to mask what is
/// shown; deciding a file mode uses [`is_secret_key`].
pub fn looks_secret(key: &str) -> bool {
    if is_secret_key(key) {
        return true;
    }
    let bytes = key.as_bytes();
    if bytes.len() >= 7 && bytes[bytes.len() - 7..].eq_ignore_ascii_case(b"_length") {
        return false;
    }
    // A key is a few dozen characters; a longer one is hostile, and comparing it costs time.
    // Lowercased on the stack: this is asked for every key of a file shown in a diagnostic.
    let mut lower = [0u8; 256];
    let lower = &mut lower[..bytes.len().min(256)];
    lower.copy_from_slice(&bytes[..lower.len()]);
    lower.make_ascii_lowercase();
    contains_bytes(lower, b"pass")
        || contains_bytes(lower, b"pwd")
        || lower
            // Non-ASCII bytes separate words too, so each word is ASCII: a `str`.
            .split(|b| !b.is_ascii_alphanumeric())
            .filter(|w| w.len() >= 4)
            .filter_map(|w| std::str::from_utf8(w).ok())
            .any(|word| {
                SECRET_WORDS.iter().any(|secret| {
                    contains_bytes(word.as_bytes(), secret.as_bytes())
                        || misspelling_of(word, secret)
                })
            })
}

/// Whether `word` is at most two edits from `secret`. The distance is at least the difference
/// of the lengths and at least the [`bag_distance`] (the words are ASCII: bytes are
/// characters), so most words of a file are decided without computing it: strsim allocates a
/// table and a map per comparison, and every key of every configuration is compared with every
/// secret word.
fn misspelling_of(word: &str, secret: &str) -> bool {
    word.len().abs_diff(secret.len()) <= 2
        && !(word.is_ascii() && secret.is_ascii() && bag_distance(word, secret) > 2)
        && strsim::damerau_levenshtein(word, secret) <= 2
}

/// How many characters one ASCII word has that the other lacks, counted with repetition, on
/// the side that has more: a lower bound of their edit distance, since an insertion, a
/// deletion or a substitution changes it by at most one and a transposition not at all.
fn bag_distance(a: &str, b: &str) -> usize {
    let mut counts = [0i32; 128];
    for byte in a.bytes() {
        counts[usize::from(byte & 0x7f)] += 1;
    }
    for byte in b.bytes() {
        counts[usize::from(byte & 0x7f)] -= 1;
    }
    // A byte's count is positive only if `a` has it, negative only if `b` has it: summed by
    // walking the words (each byte once, then zeroed), not the 128 counts.
    let (mut surplus, mut deficit) = (0, 0);
    for byte in a.bytes() {
        let count = &mut counts[usize::from(byte & 0x7f)];
        surplus += (*count).max(0);
        *count = (*count).min(0);
    }
    for byte in b.bytes() {
        let count = &mut counts[usize::from(byte & 0x7f)];
        deficit -= (*count).min(0);
        *count = (*count).max(0);
    }
    surplus.max(deficit).unsigned_abs() as usize
}

/// What replaces a secret in messages and explain outputs.
pub const REDACTED: &str = "<redacted>";

/// Secret values seen while masking, so messages that would quote one can be scrubbed.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    /// Remembers a secret value (short ones are not: scrubbing `1` from every message would
    /// garble them, and a 3-character secret is not one).
    pub fn add(&mut self, value: &str) {
        let value = value.trim();
        if value.chars().count() >= 4 && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_owned());
        }
    }

    pub fn extend(&mut self, other: &Secrets) {
        for v in &other.values {
            self.add(v);
        }
    }

    /// `text` with every remembered secret replaced by `********`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.values {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "********");
            }
        }
        out
    }
}

/// Replaces the inside of a quoted value (or the whole value) with `*`.
pub fn mask_range(bytes: &mut [u8], start: usize, end: usize) {
    let end = end.min(bytes.len());
    let start = start.min(end);
    let quoted =
        end > start + 1 && matches!(bytes[start], b'"' | b'\'') && bytes[end - 1] == bytes[start];
    let (from, to) = if quoted {
        (start + 1, end - 1)
    } else {
        (start, end)
    };
    for b in &mut bytes[from..to] {
        if *b != b'\n' {
            *b = b'*';
        }
    }
}

/// Masks, from byte `keep` of the line on, a line that must not be echoed (a line of an env file
/// that is not an assignment could be anything: `/etc/shadow`'s). Characters are replaced
/// whole, so the text stays UTF-8 and byte offsets stay valid.
pub fn mask_line_after(bytes: &mut [u8], line: std::ops::Range<usize>, keep_chars: usize) {
    let line_end = line.end.min(bytes.len());
    let mut at = line.start.min(line_end);
    let mut kept = 0;
    while at < line_end && kept < keep_chars {
        // Skip one UTF-8 sequence.
        at += 1;
        while at < line_end && (bytes[at] & 0b1100_0000) == 0b1000_0000 {
            at += 1;
        }
        kept += 1;
    }
    // Everything but the line's own ending (`\n`, `\r\n`, a last `\r`): a lone `\r` inside the
    // line is masked like the rest.
    for i in at..line_end {
        let ending = bytes[i] == b'\n'
            || (bytes[i] == b'\r' && (i + 1 == line_end || bytes[i + 1] == b'\n'));
        if !ending {
            bytes[i] = b'*';
        }
    }
}

/// The TOML text with the value of every secret-looking key masked, found by scanning the raw
/// text for `key =` (bare, quoted or dotted keys, inline tables included): it works on text that
/// does not parse. Byte lengths are kept (spans stay valid); masked values go into `secrets`.
pub fn mask_toml_text(text: &str, secrets: &mut Secrets) -> String {
    let bytes = text.as_bytes();
    let mut masked = bytes.to_vec();
    let mut key: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                key = None;
            }
            b'"' | b'\'' => {
                let end = string_end(bytes, i);
                let inner = if bytes[i..].starts_with(b"\"\"\"") || bytes[i..].starts_with(b"'''") {
                    None
                } else {
                    Some((i + 1, end.saturating_sub(1).max(i + 1)))
                };
                key = inner;
                i = end;
                continue;
            }
            b'=' => {
                let name = key.map(|(s, e)| String::from_utf8_lossy(&bytes[s..e]).into_owned());
                key = None;
                i += 1;
                if name.is_some_and(|n| looks_secret(&n)) {
                    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
                        i += 1;
                    }
                    let end = value_end(bytes, i);
                    secrets.add(unquoted(&text[i..end]));
                    mask_range(&mut masked, i, end);
                    i = end;
                }
                continue;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-')
                {
                    i += 1;
                }
                key = Some((start, i));
                continue;
            }
            // A dotted key keeps its last segment; spaces around `.` and `=` are allowed, and
            // a Lua table key is written `["key"] = …`.
            b'.' | b' ' | b'\t' | b']' => {}
            _ => key = None,
        }
        i += 1;
    }
    String::from_utf8(masked).unwrap_or_default()
}

/// The end (exclusive) of the string starting at `start` (`"`, `'`, `"""` or `'''`): its closing
/// delimiter, the end of the line for an unterminated single-line string, or the end of text.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let triple = bytes[start..].starts_with(&[quote; 3]);
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' && quote == b'"' {
            if !triple && bytes.get(i + 1) == Some(&b'\n') {
                return i + 1;
            }
            i += 2;
            continue;
        }
        if !triple && b == b'\n' {
            return i;
        }
        if b == quote && (!triple || bytes[i..].starts_with(&[quote; 3])) {
            return i + if triple { 3 } else { 1 };
        }
        i += 1;
    }
    bytes.len()
}

/// The end of a value starting at `start`: a string, a bracketed value (to its matching close
/// on the same line), or a bare word.
fn value_end(bytes: &[u8], start: usize) -> usize {
    match bytes.get(start) {
        Some(b'"' | b'\'') => string_end(bytes, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() && bytes[i] != b'\n' {
                match bytes[i] {
                    b'"' | b'\'' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i
        }
        _ => {
            let mut i = start;
            while i < bytes.len() && !b",}]#\n\r \t;".contains(&bytes[i]) {
                i += 1;
            }
            i
        }
    }
}

fn unquoted(value: &str) -> &str {
    let v = value.trim();
    for q in ["\"\"\"", "'''", "\"", "'"] {
        if v.len() >= 2 * q.len() && v.starts_with(q) && v.ends_with(q) {
            return &v[q.len()..v.len() - q.len()];
        }
    }
    v
}

/// A line of a generated file (or of one on disk) with the value of a secret-looking key
/// replaced by [`REDACTED`]: `password = "…"` (Lua, TOML), `password: …` (YAML),
/// `PASSWORD=…` (env, systemd), `["password"] = …`. Diffs and `explain --from` print lines
/// through this, so an old or new secret never reaches a CI log.
pub fn redact_line(line: &str) -> String {
    let mut secrets = Secrets::default();
    let masked = mask_toml_text(line, &mut secrets);
    if masked != line {
        return collapse_stars(line, &masked);
    }
    // `key: value` (YAML) and `["key"] = value` (Lua) forms.
    let trimmed = line.trim_start();
    let body = trimmed.trim_start_matches(['-', ' ']);
    if let Some((key, _)) = body.split_once(':')
        && !key.contains(' ')
        && looks_secret(key.trim_matches(['"', '\'']))
    {
        let at = line.len() - body.len() + key.len() + 1;
        return format!("{} {REDACTED}", &line[..at]);
    }
    line.to_owned()
}

/// `masked` (the line with `*` over secret values) with each run of `*` that masks a value
/// replaced by one [`REDACTED`], so the length of the secret is not shown either.
fn collapse_stars(line: &str, masked: &str) -> String {
    let (a, b) = (line.as_bytes(), masked.as_bytes());
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            while i < a.len() && a[i] != b[i] {
                i += 1;
            }
            out.extend_from_slice(REDACTED.as_bytes());
            continue;
        }
        out.push(a[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| REDACTED.to_owned())
}

/// Every line of `text` through [`redact_line`].
pub fn mask_secret_lines(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let (content, end) = match line.strip_suffix('\n') {
                Some(content) => (content, "\n"),
                None => (line, ""),
            };
            format!("{}{end}", redact_line(content))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The allocation-free `is_secret_key` decides as lowercasing the key first did.
    #[test]
    fn secret_keys_are_decided_as_by_lowercasing() {
        fn lowercased(key: &str) -> bool {
            let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
            key.rsplit('.')
                .skip(1)
                .any(|segment| segment.eq_ignore_ascii_case("passphrases"))
                || last == "session_token"
                || last.contains("passphrase")
                || (last != "min_password_length"
                    && (last.contains("secret")
                        || last.contains("password")
                        || last.contains("key")))
        }
        let keys = [
            "",
            ".",
            "key",
            "KEY",
            "monkey",
            "keystone",
            "api.KeY",
            "a.b.Session_Token",
            "session_token.x",
            "smtp_Password",
            "auth.min_password_length",
            "auth.MIN_PASSWORD_LENGTH",
            "auth.min_password_lengths",
            "x.PassPhrase_file",
            "x.Passphrases.ab12",
            "passphrases",
            "Passphrases.",
            "é.secrète",
            "sécret",
            "ŝecret",
            "k",
            "ke",
            "eyk",
            "server.domain",
            "notifiers.email.smtp_username",
        ];
        for key in keys {
            assert_eq!(is_secret_key(key), lowercased(key), "{key:?}");
        }
        assert!(is_secret_key("api.KeY") && !is_secret_key("server.domain"));
    }

    #[test]
    fn misspelled_and_separated_secret_keys_look_secret() {
        for key in [
            "smtp_password",
            "smtp_pasword",
            "PROSE_NOTIFIERS__EMAIL__SMTP_PASWORD",
            "http_file_share_secret",
            "scret",
            "db_passwd",
            "password",
        ] {
            assert!(looks_secret(key), "{key}");
        }
        for key in [
            "domain",
            "smtp_host",
            "min_password_length",
            "tls_profile",
            "level",
        ] {
            assert!(!looks_secret(key), "{key}");
        }
    }

    #[test]
    fn bag_distance_is_the_larger_surplus_of_either_word() {
        fn reference(a: &str, b: &str) -> usize {
            let mut counts = [0i32; 128];
            a.bytes().for_each(|c| counts[usize::from(c & 0x7f)] += 1);
            b.bytes().for_each(|c| counts[usize::from(c & 0x7f)] -= 1);
            let surplus: i32 = counts.iter().filter(|c| **c > 0).sum();
            let deficit: i32 = -counts.iter().filter(|c| **c < 0).sum::<i32>();
            surplus.max(deficit).unsigned_abs() as usize
        }
        let words = [
            "",
            "a",
            "password",
            "pasword",
            "passwrod",
            "drowssap",
            "secret",
            "scret",
            "ssssecret",
            "passphrase",
            "aabbcc",
            "abcabc",
            "zzzz",
            "smtp",
            "passwd",
        ];
        for a in words {
            for b in words {
                assert_eq!(bag_distance(a, b), reference(a, b), "{a} {b}");
            }
        }
    }

    /// The allocation-free `looks_secret` decides as the straightforward one it replaced
    /// (lowercase copy, `str` searches), on the model's keys and variants of them.
    #[test]
    fn looks_secret_decides_as_the_string_version() {
        fn reference(key: &str) -> bool {
            if is_secret_key(key) {
                return true;
            }
            let lower = key.to_ascii_lowercase();
            if lower.ends_with("_length") {
                return false;
            }
            let lower: String = lower.chars().take(256).collect();
            lower.contains("pass")
                || lower.contains("pwd")
                || lower
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|w| w.len() >= 4)
                    .any(|word| {
                        SECRET_WORDS
                            .iter()
                            .any(|secret| word.contains(secret) || misspelling_of(word, secret))
                    })
        }
        let nav = crate::config::schema_nav::SchemaNav::new(crate::config::schema::schema_cached());
        let mut keys = nav.all_paths();
        assert!(keys.len() > 100, "{}", keys.len());
        let variants: Vec<String> = keys
            .iter()
            .flat_map(|k| {
                [
                    k.to_uppercase(),
                    k.replace('.', "__"),
                    format!("{k}_LENGTH"),
                    format!("é{k}ü"),
                    k.replace("ss", "s"),
                    k.replace("ec", "ce"),
                ]
            })
            .collect();
        keys.extend(variants);
        keys.extend(
            [
                "",
                "pwd",
                "PaSs",
                "x-scret-y",
                "tokenkey",
                "passphrase_length",
                "sécret",
            ]
            .map(String::from),
        );
        for key in &keys {
            assert_eq!(looks_secret(key), reference(key), "{key}");
        }
    }

    #[test]
    fn raw_toml_values_of_secret_keys_are_masked_whatever_their_type_or_syntax() {
        let mut secrets = Secrets::default();
        let text = "[a]\nsql = { driver = \"PostgreSQL\", password = 12345678 }\n\
                    http_file_share_secret = 987654321\nsmtp_pasword = \"hünter2\"\n\
                    x = \"password\"\nbroken = = \"password = oops\npassword = 'it''s'\n\
                    a.b.secret = \"\"\"multi\nline\"\"\"\n";
        let masked = mask_toml_text(text, &mut secrets);
        assert_eq!(masked.len(), text.len());
        for leak in ["12345678", "987654321", "nter2", "multi", "line\"\"\""] {
            assert!(!masked.contains(leak), "{leak} in {masked}");
        }
        assert!(masked.contains("driver = \"PostgreSQL\""), "{masked}");
        assert!(masked.contains("x = \"password\""), "{masked}");
        assert_eq!(secrets.scrub("value 12345678 here"), "value ******** here");
    }

    #[test]
    fn generated_lines_with_secrets_are_redacted() {
        assert_eq!(
            redact_line("  password = \"hunter2\";"),
            "  password = \"<redacted>\";"
        );
        assert_eq!(
            redact_line("http_file_share_secret = \"s3cr3t\""),
            "http_file_share_secret = \"<redacted>\""
        );
        assert_eq!(
            redact_line("  smtp_password: abc"),
            "  smtp_password: <redacted>"
        );
        assert_eq!(
            redact_line("  [\"password\"] = 1234;"),
            "  [\"password\"] = <redacted>;"
        );
        assert_eq!(
            redact_line("domain = \"example.org\""),
            "domain = \"example.org\""
        );
    }

    #[test]
    fn lines_are_masked_after_their_first_characters() {
        let mut bytes = "root:$y$secret:19000\nnext".as_bytes().to_vec();
        mask_line_after(&mut bytes, 0..20, 4);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "root****************\nnext"
        );
    }

    /// The length and bag tests decide nothing the distance would not: random words, and
    /// words a few random edits away from a secret word (random words are rarely that close).
    #[test]
    fn misspellings_are_what_the_distance_says() {
        use proptest::prelude::any;
        use proptest::test_runner::{Config, TestRunner};
        // A runner per property: a runner counts its successes across runs.
        let runner = || {
            TestRunner::new(Config {
                cases: 2048,
                failure_persistence: None,
                ..Config::default()
            })
        };
        runner()
            .run(
                &proptest::string::string_regex("[a-z0-9]{0,12}").expect("regex"),
                |word| {
                    for secret in SECRET_WORDS {
                        proptest::prop_assert_eq!(
                            misspelling_of(&word, secret),
                            strsim::damerau_levenshtein(&word, secret) <= 2
                        );
                    }
                    Ok(())
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        // (secret word, edits): each edit deletes, replaces, inserts before or swaps with its
        // successor the character at a position (modulo the length), with a letter or digit.
        let edit = (
            0..4u8,
            any::<usize>(),
            proptest::char::ranges(vec!['a'..='z', '0'..='9'].into()),
        );
        let near = (
            0..SECRET_WORDS.len(),
            proptest::collection::vec(edit, 0..=4),
        );
        runner()
            .run(&near, |(secret, edits)| {
                let mut word: Vec<char> = SECRET_WORDS[secret].chars().collect();
                for (op, at, c) in edits {
                    let at = at % (word.len() + 1);
                    match op {
                        0 if at < word.len() => drop(word.remove(at)),
                        1 if at < word.len() => word[at] = c,
                        3 if at + 1 < word.len() => word.swap(at, at + 1),
                        _ => word.insert(at, c),
                    }
                }
                let word: String = word.into_iter().collect();
                for secret in SECRET_WORDS {
                    proptest::prop_assert_eq!(
                        misspelling_of(&word, secret),
                        strsim::damerau_levenshtein(&word, secret) <= 2,
                        "{} vs {}",
                        word,
                        secret
                    );
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(misspelling_of("pasword", "password"));
        assert!(misspelling_of("scret", "secret"));
        assert!(!misspelling_of("domain", "secret"));
    }
}
