//! The structure of a generated nginx site, checked before it is written: tokens read as nginx
//! reads them (`ngx_conf_read_token`), one directive per line, and in each block only the
//! directives the sites are made of. A template that puts a value where it can end a
//! directive (a comment filter inside one, say) and a value that does so (`x; return 200 …`)
//! give a second directive on a line, or one the sites never use: refused here, even where
//! `nginx -t` would accept the file.

/// The directives each block of a site may hold (the shipped templates use all of them), and
/// for `return`, the status codes a site answers with itself (301 to HTTPS, also from the HTTP
/// site's `location /`, 204 to a CORS
/// preflight, 404 for what it does not serve).
const EXPECTED: &[(&str, &[&str])] = &[
    ("main", &["server"]),
    (
        "server",
        &[
            "listen",
            "server_name",
            "root",
            "server_tokens",
            "ssl_certificate",
            "ssl_certificate_key",
            "ssl_protocols",
            "ssl_ecdh_curve",
            "ssl_ciphers",
            "ssl_prefer_server_ciphers",
            "ssl_session_timeout",
            "ssl_session_cache",
            "ssl_session_tickets",
            "location",
            "return",
        ],
    ),
    (
        "location",
        &[
            "proxy_pass",
            "proxy_http_version",
            "proxy_set_header",
            "proxy_hide_header",
            "proxy_connect_timeout",
            "proxy_read_timeout",
            "proxy_send_timeout",
            "proxy_buffering",
            "proxy_max_temp_file_size",
            "tcp_nodelay",
            "limit_rate",
            "client_max_body_size",
            "add_header",
            "root",
            "types",
            "default_type",
            "charset",
            "if",
            "try_files",
            "return",
        ],
    ),
    ("if", &["return"]),
    ("types", &[]),
];

/// Directives that open a block (the others end with `;`).
const BLOCKS: &[&str] = &["server", "location", "if", "types"];

/// The status codes a `return` may give, by block.
const RETURNS: &[(&str, &[&str])] = &[
    ("server", &["301"]),
    ("location", &["301", "404"]),
    ("if", &["204"]),
];

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    /// A word as written, between its quotes if quoted (escapes kept as they are: a word is
    /// only compared, never unescaped, so it is a slice of the file).
    Word(&'a str),
    /// `;`, `{` or `}`.
    Punct(u8),
}

/// The tokens of a file with their 1-based line, as nginx reads them, one at a time (a vector
/// of them was the largest block alive at a `check`'s peak of memory: 53 KB for a 9 KB site).
/// Bytes, not chars: every delimiter is ASCII, so a word's ends fall on char boundaries (a
/// check of every generated site, at every build: a word per token as a `String` was 5 % of a
/// `check`).
struct Tokens<'a> {
    text: &'a str,
    /// The next byte to read, and its line.
    i: usize,
    line: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Tokens {
            text,
            i: 0,
            line: 1,
        }
    }

    /// The next token, `None` at the end of the file.
    fn next_token(&mut self) -> Result<Option<(Token<'a>, usize)>, String> {
        let (text, bytes) = (self.text, self.text.as_bytes());
        let (mut i, mut line) = (self.i, self.line);
        let token = loop {
            let Some(&c) = bytes.get(i) else {
                break None;
            };
            i += 1;
            match c {
                b'\n' => line += 1,
                b' ' | b'\t' | b'\r' => {}
                b'#' => {
                    while bytes.get(i).is_some_and(|b| *b != b'\n') {
                        i += 1;
                    }
                }
                b';' | b'{' | b'}' => break Some((Token::Punct(c), line)),
                b'"' | b'\'' => {
                    let start_line = line;
                    let start = i;
                    loop {
                        let d = *bytes
                            .get(i)
                            .ok_or_else(|| format!("line {start_line}: unterminated quote"))?;
                        i += 1;
                        match d {
                            b'\\' => {
                                // nginx counts every newline, an escaped one too.
                                line += usize::from(bytes.get(i) == Some(&b'\n'));
                                i += 1;
                            }
                            b'\n' => {
                                return Err(format!(
                                    "line {start_line}: a quoted value spans lines"
                                ));
                            }
                            d if d == c => break,
                            _ => {}
                        }
                    }
                    let word = &text[start..i - 1];
                    if bytes.get(i).is_some_and(|n| !(ends_word(*n) || *n == b')')) {
                        return Err(format!("line {line}: unexpected text after a quoted value"));
                    }
                    break Some((Token::Word(word), start_line));
                }
                _ => {
                    let start_line = line;
                    let start = i - 1;
                    let mut escaped = c == b'\\';
                    while let Some(&d) = bytes.get(i) {
                        if !escaped && ends_word(d) {
                            break;
                        }
                        line += usize::from(escaped && d == b'\n');
                        escaped = !escaped && d == b'\\';
                        i += 1;
                    }
                    break Some((Token::Word(&text[start..i]), start_line));
                }
            }
        };
        (self.i, self.line) = (i, line);
        Ok(token)
    }
}

/// Whether `c` ends an unquoted word (a `match`, not a search of a string: it is asked for
/// every character of every site).
fn ends_word(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b'}')
}

/// The first structural problem of an nginx site, if any.
pub fn problem(text: &str) -> Option<String> {
    check(text).err()
}

fn check(text: &str) -> Result<(), String> {
    let mut blocks: Vec<&'static str> = vec!["main"];
    // The line of the last `;`, `{` or `}`: a directive may not start on it.
    let mut last_end = 0;
    let mut tokens = Tokens::new(text);
    while let Some((token, line)) = tokens.next_token()? {
        let name = match token {
            Token::Punct(b'}') => {
                if blocks.len() == 1 {
                    return Err(format!("line {line}: `}}` closes no block"));
                }
                blocks.pop();
                last_end = line;
                continue;
            }
            Token::Punct(c) => {
                let c = char::from(c);
                return Err(format!("line {line}: `{c}` where a directive starts"));
            }
            Token::Word(name) => name,
        };
        let context = *blocks.last().unwrap_or(&"main");
        if line == last_end {
            return Err(format!(
                "line {line}: a second directive (`{name}`) on one line: a value or a template \
                 ended the directive before it"
            ));
        }
        let expected = EXPECTED
            .iter()
            .find(|(c, _)| *c == context)
            .map_or(&[][..], |(_, names)| *names);
        let Some(&known) = expected.iter().find(|n| **n == name) else {
            return Err(format!(
                "line {line}: `{}` is not a directive the sites use in {}",
                name.escape_debug(),
                describe(context)
            ));
        };
        let mut args = Vec::new();
        let end = loop {
            match tokens.next_token()? {
                Some((Token::Word(arg), _)) => args.push(arg),
                Some((Token::Punct(c), end_line)) if c != b'}' => break (c, end_line),
                _ => return Err(format!("line {line}: `{known}` does not end")),
            }
        };
        if end.1 != line {
            return Err(format!("line {line}: `{known}` spans several lines"));
        }
        let opens = BLOCKS.contains(&known);
        if opens != (end.0 == b'{') {
            return Err(format!(
                "line {line}: `{known}` must {}",
                if opens {
                    "open a block"
                } else {
                    "end with `;`"
                }
            ));
        }
        if known == "return" {
            let codes = RETURNS
                .iter()
                .find(|(c, _)| *c == context)
                .map_or(&[][..], |(_, codes)| *codes);
            let code = args.first().copied().unwrap_or_default();
            if !codes.contains(&code) {
                return Err(format!(
                    "line {line}: `return {}` is not a response the sites give in {}",
                    code.escape_debug(),
                    describe(context)
                ));
            }
        }
        if opens {
            blocks.push(known);
        }
        last_end = end.1;
    }
    if blocks.len() > 1 {
        return Err(format!(
            "a `{}` block is not closed",
            blocks[blocks.len() - 1]
        ));
    }
    Ok(())
}

fn describe(context: &str) -> String {
    match context {
        "main" => "the top level of a site".to_owned(),
        other => format!("a `{other}` block"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "# a site\nserver {\n    listen 443 ssl;\n    server_name a.example;\n\n    \
        location / {\n        types { }\n        add_header X \"a;b # c\" always;\n        \
        if ($request_method = OPTIONS) {\n            return 204;\n        }\n        \
        return 404;\n    }\n}\n";

    #[test]
    fn a_site_as_the_templates_write_it_passes() {
        assert_eq!(problem(SITE), None);
    }

    #[test]
    fn injected_and_unexpected_directives_are_refused() {
        let cases = [
            (
                SITE.replace(
                    "server_name a.example;",
                    "server_name a; return 200 \"pwned\";",
                ),
                "a second directive (`return`) on one line",
            ),
            (
                SITE.replace("return 404;", "return 200 \"pwned\";"),
                "`return 200` is not a response",
            ),
            (
                SITE.replace("listen 443 ssl;", "include /etc/shadow;"),
                "`include` is not a directive the sites use in a `server` block",
            ),
            (
                SITE.replace("types { }", "types { text/html x; }"),
                "a second directive (`text/html`)",
            ),
            (
                SITE.replace("listen 443 ssl;", "listen 443\n ssl;"),
                "spans several lines",
            ),
            (SITE.replace("}\n}\n", "}\n"), "is not closed"),
            (format!("{SITE}}}\n"), "closes no block"),
            (
                SITE.replace("location / {", "location / ;"),
                "must open a block",
            ),
            (
                SITE.replace("\"a;b # c\"", "\"a;b"),
                "a quoted value spans lines",
            ),
        ];
        for (text, expected) in cases {
            let problem = problem(&text).unwrap_or_else(|| panic!("accepted:\n{text}"));
            assert!(problem.contains(expected), "{problem}\n{text}");
        }
    }
}
