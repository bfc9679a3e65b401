//! String formats of `prose.toml` values (hostnames, durations, URLs, sizes, …).
//!
//! One checker per JSON Schema `format` name. The same checkers serve the validator compiled
//! from the schema ([`crate::ConfigSchema`], which registers each as its format) and the
//! program's diagnostics, which call [`check`] again to say *why* a value is wrong. Keeping
//! both in one place means the schema an editor sees and the rules the compiler enforces
//! cannot drift apart.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a value does not match its format: a message and a help line with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub help: String,
}

fn problem(message: impl Into<String>, help: impl Into<String>) -> Problem {
    Problem {
        message: message.into(),
        help: help.into(),
    }
}

/// A string format: its JSON Schema `format` name, its checker (which says why a value is
/// wrong), valid values `explain` can swap in to see which output lines the value moves
/// (empty where editing the text itself gives another valid value, e.g. a hostname), and the
/// `pattern` the schema states beside the format for editors, which ignore custom formats.
///
/// The checker is authoritative. The pattern accepts everything the checker accepts (a test
/// holds them together), so an editor never flags a value the compiler takes; where a pattern
/// cannot say it all, `excluded` lists words it matches that the checker refuses (the schema
/// adds `not: {enum: …}`), and the rest (hostname lengths, IDN rules) stays with the checker.
#[derive(Clone, Copy)]
pub struct Format {
    pub name: &'static str,
    pub check: fn(&str) -> Result<(), Problem>,
    pub samples: &'static [&'static str],
    pub pattern: Option<&'static str>,
    pub excluded: &'static [&'static str],
}

const fn format(
    name: &'static str,
    check: fn(&str) -> Result<(), Problem>,
    samples: &'static [&'static str],
) -> Format {
    Format {
        name,
        check,
        samples,
        pattern: None,
        excluded: &[],
    }
}

impl Format {
    const fn pattern(self, pattern: &'static str) -> Format {
        Format {
            pattern: Some(pattern),
            ..self
        }
    }

    const fn excluding(self, words: &'static [&'static str]) -> Format {
        Format {
            excluded: words,
            ..self
        }
    }
}

// Pieces of the patterns, as macros so that `concat!` builds each pattern at compile time.
// The syntax every engine reading the schema shares (taplo, VS Code, jsonschema, Python's
// `re`): no lookaround, and `[0-9]` rather than `\d`, which is Unicode in Rust.
/// A DNS label: lower-case LDH, or any non-ASCII character (an IDN: the checker has the rules).
macro_rules! label {
    () => {
        r"(?:[a-z0-9-]|[^\x00-\x7F])+"
    };
}
macro_rules! host {
    () => {
        concat!(label!(), r"(?:\.", label!(), ")*")
    };
}
/// ISO 8601 date components, in order, at least one.
macro_rules! date_part {
    () => {
        concat!(
            "(?:[0-9]+Y(?:[0-9]+M)?(?:[0-9]+W)?(?:[0-9]+D)?",
            "|[0-9]+M(?:[0-9]+W)?(?:[0-9]+D)?",
            "|[0-9]+W(?:[0-9]+D)?",
            "|[0-9]+D)"
        )
    };
}
/// `T` and time components, in order, at least one.
macro_rules! time_part {
    () => {
        "T(?:[0-9]+H(?:[0-9]+M)?(?:[0-9]+S)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)"
    };
}
macro_rules! duration {
    () => {
        concat!(
            "P(?:",
            date_part!(),
            "(?:",
            time_part!(),
            ")?|",
            time_part!(),
            ")"
        )
    };
}
/// A duration without months or years: weeks and days only before `T`.
macro_rules! fixed_duration {
    () => {
        concat!(
            "P(?:(?:[0-9]+W(?:[0-9]+D)?|[0-9]+D)(?:",
            time_part!(),
            ")?|",
            time_part!(),
            ")"
        )
    };
}
/// A path segment of simple characters, other than `..` (empty allowed: `//`, a final `/`).
macro_rules! segment {
    () => {
        r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\.|\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\.\.[A-Za-z0-9._-]+)?"
    };
}

/// Every format of the model. The schema names them (see `types`), the validator checks them
/// (run-time and built-in), diagnostics explain them and `explain` perturbs with them.
pub const FORMATS: &[Format] = &[
    format("idn-hostname", |v| hostname(v).map(drop), &[]).pattern(concat!("^", host!(), "$")),
    format("prosody-host", prosody_host, &[]).pattern(concat!("^(?:global|", host!(), ")$")),
    format("email", email, &[]).pattern(concat!(r"^[^@\x00-\x20\x7F]+@", host!(), "$")),
    format("uri", |v| url(v).map(drop), &[])
        .pattern(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20\x7F]*$"),
    format("dashboard-url", |v| dashboard_url(v).map(drop), &[])
        .pattern(r"^[Hh][Tt][Tt][Pp][Ss]?:[^?#\x00-\x20\x7F]*$"),
    format(
        "duration",
        |v| IsoDuration::parse(v).map(drop),
        &["PT1S", "P1D"],
    )
    .pattern(concat!("^", duration!(), "$")),
    format("fixed-duration", fixed_duration, &["PT1S", "P1D"]).pattern(concat!(
        "^",
        fixed_duration!(),
        "$"
    )),
    format(
        "retention",
        |v| Retention::parse(v).map(drop),
        &["P1D", "infinite"],
    )
    .pattern(concat!("^(?:infinite|", duration!(), ")$")),
    format("jid-node", jid_node, &[]).pattern(r#"^[^"&'/:<>@\x00-\x20\x7F]+$"#),
    format("ipv4", ipv4, &["192.0.2.1", "192.0.2.2"])
        .pattern(r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$"),
    format("ipv6", ipv6, &["2001:db8::1", "2001:db8::2"])
        .pattern(r"^[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*$"),
    format("ip", ip, &["192.0.2.1", "::1"]).pattern(r"^[0-9A-Fa-f:.]+$"),
    format("absolute-path", absolute_path, &[]).pattern(concat!(
        "^/",
        segment!(),
        "(?:/",
        segment!(),
        ")*$"
    )),
    format(
        "prosody-size",
        |v| Size::parse(v).map(drop),
        &["1MiB", "2MiB"],
    )
    .pattern("^[0-9]+(?:B|kB|KiB|MB|MiB|GB|GiB)$"),
    format(
        "prosody-rate",
        |v| Rate::parse(v).map(drop),
        &["1kB/s", "2kB/s"],
    )
    .pattern("^[0-9]+(?:B/s|kB/s|MB/s|Bps|kBps|MBps)$"),
    format(
        "prosody-duration",
        |v| ProsodyDuration::parse(v).map(drop),
        &["PT1S", "never"],
    )
    .pattern(concat!("^(?:infinite|never|", duration!(), ")$")),
    format("lua-identifier", lua_identifier, &[])
        .pattern("^[A-Za-z_][A-Za-z0-9_]*$")
        .excluding(LUA_KEYWORDS),
];

/// Free text must not carry control characters: they have no meaning in a configuration and
/// are the raw material of injections. (U+2028/U+2029 end lines in JavaScript and YAML too.)
pub const NO_CONTROL_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F\\u2028\\u2029]*$";

/// A Prosody module name (what the Pod API accepts).
pub const MODULE_NAME_PATTERN: &str = "^[a-z0-9_]+$";

/// A whole number of bytes with its unit (`caching.max_backup_cache_size`).
pub const BYTE_COUNT_PATTERN: &str = "^[0-9]+(B|kB|KiB|MB|MiB|GB|GiB)$";

/// A `pattern` of the schema that no format carries, with a predicate that accepts exactly
/// what the pattern matches (a test compares them). The built-in validator is compiled with
/// the predicate, registered as `format`, in the pattern's place (`schema::validator_schema`):
/// the same decision without compiling a regular expression in every process.
pub struct PlainPattern {
    pub pattern: &'static str,
    /// The format name it has in the validator's schema only (never in the published one).
    pub format: &'static str,
    pub matches: fn(&str) -> bool,
}

/// Every pattern the model states without a format.
pub const PLAIN_PATTERNS: &[PlainPattern] = &[
    PlainPattern {
        pattern: NO_CONTROL_PATTERN,
        format: "prose-compile-no-control",
        matches: |v| {
            !v.chars()
                .any(|c| c <= '\u{1F}' || matches!(c, '\u{7F}' | '\u{2028}' | '\u{2029}'))
        },
    },
    PlainPattern {
        pattern: MODULE_NAME_PATTERN,
        format: "prose-compile-module-name",
        matches: |v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        },
    },
    PlainPattern {
        pattern: BYTE_COUNT_PATTERN,
        format: "prose-compile-byte-count",
        matches: |v| {
            let unit = v.trim_start_matches(|c: char| c.is_ascii_digit());
            unit.len() < v.len() && ["B", "kB", "KiB", "MB", "MiB", "GB", "GiB"].contains(&unit)
        },
    },
];

/// The format named `name`, if the model has it.
pub fn find(name: &str) -> Option<&'static Format> {
    FORMATS.iter().find(|f| f.name == name)
}

/// Checks `value` against the format named `format`. Unknown formats accept everything.
pub fn check(format: &str, value: &str) -> Result<(), Problem> {
    find(format).map_or(Ok(()), |f| (f.check)(value))
}

fn prosody_host(value: &str) -> Result<(), Problem> {
    if value == "global" {
        return Ok(());
    }
    hostname(value).map(drop).map_err(|p| Problem {
        help: format!("{} (or `global` for Prosody's global section)", p.help),
        ..p
    })
}

fn ipv4(value: &str) -> Result<(), Problem> {
    value.parse::<Ipv4Addr>().map(drop).map_err(|_| {
        problem(
            format!("`{value}` is not an IPv4 address"),
            "write four decimal numbers separated by dots, e.g. `203.0.113.10`",
        )
    })
}

fn ipv6(value: &str) -> Result<(), Problem> {
    value.parse::<Ipv6Addr>().map(drop).map_err(|_| {
        problem(
            format!("`{value}` is not an IPv6 address"),
            "write an address such as `2001:db8::10` (no brackets, no port)",
        )
    })
}

fn ip(value: &str) -> Result<(), Problem> {
    value.parse::<IpAddr>().map(drop).map_err(|_| {
        problem(
            format!("`{value}` is not an IP address"),
            "write an IPv4 (`0.0.0.0`) or IPv6 (`::`) address",
        )
    })
}

/// A valid hostname: LDH labels, or an IDN that converts to them. Returns the ASCII form.
pub fn hostname(value: &str) -> Result<String, Problem> {
    let help = "write a domain name such as `example.org`: letters, digits and hyphens, \
                labels separated by dots, in lower case";
    if value.is_empty() {
        return Err(problem("a hostname cannot be empty", help));
    }
    if value.ends_with('.') {
        return Err(problem(
            format!("`{}` ends with a dot", shown(value)),
            format!("remove the trailing dot: `{}`", value.trim_end_matches('.')),
        ));
    }
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(problem(
            format!("`{value}` contains upper-case letters"),
            format!("write it in lower case: `{}`", value.to_ascii_lowercase()),
        ));
    }
    let ascii = if value.is_ascii() {
        value.to_owned()
    } else {
        idna::domain_to_ascii_strict(value)
            .map_err(|_| problem(format!("`{}` is not a valid hostname", shown(value)), help))?
    };
    if ascii.len() > 253 {
        return Err(problem(
            format!("hostname is {} characters long", ascii.len()),
            "a hostname has at most 253 characters",
        ));
    }
    for label in ascii.split('.') {
        let ldh = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if label.is_empty() || label.len() > 63 || !ldh {
            return Err(problem(
                format!("`{}` is not a valid hostname", shown(value)),
                help,
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(problem(
                format!("label `{label}` of `{value}` starts or ends with a hyphen"),
                help,
            ));
        }
    }
    Ok(ascii)
}

/// Why `value` cannot be a domain that other names and URLs are made from: an IP address,
/// or a name whose last label is a number (a URL parser reads `prose.192.168.1.1` as a
/// malformed IPv4 address, so `https://admin.prose.<domain>` would not be a URL).
pub fn ip_literal_domain(value: &str) -> Option<Problem> {
    if value.parse::<IpAddr>().is_ok() {
        return Some(problem(
            format!("`{}` is an IP address, not a domain name", shown(value)),
            "write the domain that appears in user IDs (`user@example.org`); a pod reached by \
             IP address sets `pod.address.ipv4` or `pod.address.ipv6`",
        ));
    }
    let last = value.rsplit('.').next().unwrap_or(value);
    let numeric = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || last
                .strip_prefix("0x")
                .or_else(|| last.strip_prefix("0X"))
                .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())));
    numeric.then(|| {
        problem(
            format!(
                "`{}` ends with the number `{last}`: URLs made from it would read as an IP address",
                shown(value)
            ),
            "a domain name ends with a name such as `org`, e.g. `example.org`",
        )
    })
}

fn email(value: &str) -> Result<(), Problem> {
    let bad = || {
        problem(
            format!("`{}` is not an e-mail address", shown(value)),
            "write an address such as `prose@example.org`",
        )
    };
    let parsed: email_address::EmailAddress = value.parse().map_err(|_| bad())?;
    // Quoted local parts are legal but never needed here, and make escaping harder downstream.
    if parsed.local_part().starts_with('"') || value.chars().any(char::is_control) {
        return Err(bad());
    }
    hostname(parsed.domain()).map(drop).map_err(|_| bad())
}

/// A URL with a scheme, parsed and checked for characters that have no business in a config.
pub fn url(value: &str) -> Result<url::Url, Problem> {
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(problem(
            format!("`{}` contains spaces or control characters", shown(value)),
            "percent-encode them or remove them",
        ));
    }
    url::Url::parse(value).map_err(|e| {
        problem(
            format!("`{}` is not a URL: {e}", shown(value)),
            "write an absolute URL such as `https://example.org/` or `mailto:admin@example.org`",
        )
    })
}

/// The dashboard URL: http(s), a host, no credentials, query or fragment (the API refuses those).
pub fn dashboard_url(value: &str) -> Result<url::Url, Problem> {
    let parsed = url(value)?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(problem(
            format!(
                "the dashboard URL must use https or http, not `{}`",
                parsed.scheme()
            ),
            "write it as `https://admin.example.org`",
        ));
    }
    let Some(host) = parsed.host_str() else {
        return Err(problem(
            "the dashboard URL has no host",
            "write it as `https://admin.example.org`",
        ));
    };
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(problem(
            "the dashboard URL contains a query or a fragment",
            "remove everything from `?` or `#` on",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(problem(
            "the dashboard URL contains credentials",
            "remove the `user:password@` part",
        ));
    }
    if !matches!(parsed.host(), Some(url::Host::Domain(_))) {
        return Ok(parsed);
    }
    hostname(host).map_err(|p| problem(format!("dashboard URL host: {}", p.message), p.help))?;
    Ok(parsed)
}

/// Why the generated nginx cannot serve the Dashboard at `url` (it serves it at the root of
/// a host, on the default HTTPS port, HTTP redirecting to it), or `None` if it can.
pub fn dashboard_served_elsewhere(url: &url::Url) -> Option<String> {
    let default_port = match url.scheme() {
        "https" => 443,
        _ => 80,
    };
    if let Some(port) = url.port().filter(|p| *p != default_port) {
        return Some(format!("it has the port {port}"));
    }
    if url.path() != "/" {
        return Some(format!("it has the path `{}`", shown(url.path())));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    loopback.then(|| "its host is this machine's loopback".to_owned())
}

fn jid_node(value: &str) -> Result<(), Problem> {
    const FORBIDDEN: &[char] = &['"', '&', '\'', '/', ':', '<', '>', '@'];
    if value.is_empty() || value.len() > 1023 {
        return Err(problem(
            "a JID node has 1 to 1023 bytes",
            "write a short name such as `prose-workspace`",
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| FORBIDDEN.contains(c) || c.is_whitespace() || c.is_control())
    {
        return Err(problem(
            format!(
                "`{}` contains `{}`, not allowed in a JID node",
                shown(value),
                c.escape_default()
            ),
            "use letters, digits, `-`, `_` and `.` only",
        ));
    }
    Ok(())
}

fn absolute_path(value: &str) -> Result<(), Problem> {
    let ok = value.starts_with('/')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b))
        && !value.split('/').any(|s| s == "..");
    if ok {
        Ok(())
    } else {
        Err(problem(
            format!("`{}` is not a simple absolute path", shown(value)),
            "write an absolute path made of letters, digits, `.`, `_`, `-` and `/`, without `..`",
        ))
    }
}

/// Lua's reserved words: an option named like one could not be assigned in prosody.cfg.lua.
const LUA_KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// A Lua identifier that is not a keyword: the only option names that reach prosody.cfg.lua.
pub fn lua_identifier(value: &str) -> Result<(), Problem> {
    let mut chars = value.chars();
    let ident = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ident {
        return Err(problem(
            format!("`{}` is not a valid Prosody option name", shown(value)),
            "option names are Lua identifiers: letters, digits and `_`, not starting with a digit",
        ));
    }
    if LUA_KEYWORDS.contains(&value) {
        return Err(problem(
            format!("`{value}` is a Lua keyword, not an option name"),
            "check the option's spelling in Prosody's documentation",
        ));
    }
    Ok(())
}

/// Shows a value in a message with control characters escaped, so a hostile value cannot
/// rewrite the terminal or forge diagnostic lines.
pub fn shown(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars().take(80) {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if value.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// An ISO 8601 duration (`PT10S`, `P2Y`, `P1W`, `P1DT12H`), components kept as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IsoDuration {
    pub years: u64,
    pub months: u64,
    pub weeks: u64,
    pub days: u64,
    pub hours: u64,
    pub minutes: u64,
    pub seconds: u64,
}

impl IsoDuration {
    pub fn parse(value: &str) -> Result<Self, Problem> {
        let bad = |why: &str| {
            problem(
                format!("`{}` is not an ISO 8601 duration: {why}", shown(value)),
                "write e.g. `PT30S` (30 seconds), `PT5M` (5 minutes), `PT3H`, `P1D`, `P1W`, \
                 `P6M` (6 months) or `P2Y`",
            )
        };
        let rest = value
            .strip_prefix('P')
            .ok_or_else(|| bad("it must start with `P`"))?;
        if rest.is_empty() || rest == "T" {
            return Err(bad("it has no components"));
        }
        let mut d = IsoDuration::default();
        let mut in_time = false;
        let mut number = String::new();
        let mut order = 0; // components must appear in order, each at most once
        for c in rest.chars() {
            match c {
                '0'..='9' => number.push(c),
                'T' if !in_time && number.is_empty() => in_time = true,
                _ => {
                    if number.is_empty() {
                        return Err(bad(&format!("`{c}` has no number before it")));
                    }
                    let n: u64 = number.parse().map_err(|_| bad("a number is too large"))?;
                    number.clear();
                    let (rank, slot) = match (in_time, c) {
                        (false, 'Y') => (1, &mut d.years),
                        (false, 'M') => (2, &mut d.months),
                        (false, 'W') => (3, &mut d.weeks),
                        (false, 'D') => (4, &mut d.days),
                        (true, 'H') => (5, &mut d.hours),
                        (true, 'M') => (6, &mut d.minutes),
                        (true, 'S') => (7, &mut d.seconds),
                        (_, '.' | ',') => return Err(bad("fractions are not supported")),
                        (false, 'H' | 'S') => {
                            return Err(bad(&format!("`{c}` needs a `T` before the time part")));
                        }
                        _ => return Err(bad(&format!("unexpected `{}`", c.escape_default()))),
                    };
                    if rank <= order {
                        return Err(bad("components are repeated or out of order"));
                    }
                    order = rank;
                    *slot = n;
                }
            }
        }
        if !number.is_empty() {
            return Err(bad("the last number has no unit"));
        }
        if in_time && order < 5 {
            return Err(bad("`T` is not followed by hours, minutes or seconds"));
        }
        Ok(d)
    }

    /// Exact length in seconds, or `None` when months or years (of variable length) are used.
    pub fn as_seconds(&self) -> Option<u64> {
        if self.years != 0 || self.months != 0 {
            return None;
        }
        let days = self.weeks.checked_mul(7)?.checked_add(self.days)?;
        days.checked_mul(86_400)?
            .checked_add(self.hours.checked_mul(3600)?)?
            .checked_add(self.minutes.checked_mul(60)?)?
            .checked_add(self.seconds)
    }
}

/// A duration of fixed length (a token's lifetime): no months or years, whose length varies.
fn fixed_duration(value: &str) -> Result<(), Problem> {
    let duration = IsoDuration::parse(value)?;
    let date = value.split('T').next().unwrap_or_default();
    if date.contains(['Y', 'M']) {
        return Err(problem(
            format!(
                "`{}` must be a fixed length: months and years vary",
                shown(value)
            ),
            "write it in weeks, days, hours, minutes or seconds, e.g. `P30D`",
        ));
    }
    if duration.as_seconds().is_none() {
        return Err(problem(
            format!("`{}` is too long", shown(value)),
            "write a shorter duration, e.g. `P30D`",
        ));
    }
    Ok(())
}

/// A retention period: `"infinite"` or an ISO 8601 duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Infinite,
    For(IsoDuration),
}

impl Retention {
    pub fn parse(value: &str) -> Result<Self, Problem> {
        if value == "infinite" {
            return Ok(Retention::Infinite);
        }
        IsoDuration::parse(value)
            .map(Retention::For)
            .map_err(|p| Problem {
                help: format!(
                    "write `infinite` to keep data forever, or a duration: {}",
                    p.help
                ),
                ..p
            })
    }
}

/// A byte size for Prosody: `200MiB`, `20MB`, `512kB`, `1024B`, `1GiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub number: u64,
    /// Multiplier factors, printed as a Lua product (`20 * 1024 * 1024`).
    pub factors: &'static [u64],
}

impl Size {
    const UNITS: &[(&'static str, &'static [u64])] = &[
        ("B", &[]),
        ("kB", &[1000]),
        ("KiB", &[1024]),
        ("MB", &[1000, 1000]),
        ("MiB", &[1024, 1024]),
        ("GB", &[1000, 1000, 1000]),
        ("GiB", &[1024, 1024, 1024]),
    ];

    pub fn parse(value: &str) -> Result<Self, Problem> {
        let (number, unit) = split_number(value);
        let bad = || {
            problem(
                format!("`{}` is not a size", shown(value)),
                "write a whole number followed by B, kB, KiB, MB, MiB, GB or GiB, e.g. `200MiB`",
            )
        };
        let number: u64 = number.parse().map_err(|_| bad())?;
        let factors = Self::UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .ok_or_else(bad)?
            .1;
        let size = Size { number, factors };
        size.bytes().ok_or_else(|| {
            problem(
                format!("`{}` is too large", shown(value)),
                "sizes must stay below 2^53 bytes to be exact in Lua",
            )
        })?;
        Ok(size)
    }

    pub fn bytes(&self) -> Option<u64> {
        let total = self
            .factors
            .iter()
            .try_fold(self.number, |acc, f| acc.checked_mul(*f))?;
        (total < (1 << 53)).then_some(total)
    }
}

/// A data rate for Prosody's `limits`: `100kB/s`, `1MB/s`, `500B/s` (`Bps` accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub number: u64,
    /// Prosody's unit: `b/s`, `kb/s` or `mb/s` (Prosody's `kb` means kilobytes).
    pub unit: &'static str,
}

impl Rate {
    pub fn parse(value: &str) -> Result<Self, Problem> {
        let (number, unit) = split_number(value);
        let bad = || {
            problem(
                format!("`{}` is not a data rate", shown(value)),
                "write a whole number followed by B/s, kB/s or MB/s, e.g. `100kB/s`",
            )
        };
        let number = number.parse().map_err(|_| bad())?;
        let unit = match unit {
            "B/s" | "Bps" => "b/s",
            "kB/s" | "kBps" => "kb/s",
            "MB/s" | "MBps" => "mb/s",
            _ => return Err(bad()),
        };
        Ok(Rate { number, unit })
    }
}

/// A Prosody time or period option: an ISO 8601 duration, `infinite` or `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProsodyDuration {
    Never,
    For(IsoDuration),
}

impl ProsodyDuration {
    pub fn parse(value: &str) -> Result<Self, Problem> {
        match value {
            "infinite" | "never" => Ok(ProsodyDuration::Never),
            _ => IsoDuration::parse(value).map(ProsodyDuration::For),
        }
    }
}

fn split_number(value: &str) -> (&str, &str) {
    let end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    value.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_valid_in_its_format() {
        for format in FORMATS {
            for sample in format.samples {
                assert!((format.check)(sample).is_ok(), "{}: {sample}", format.name);
            }
        }
    }

    #[test]
    fn durations_parse_components_in_order() {
        let d = IsoDuration::parse("P1Y2M3W4DT5H6M7S").unwrap();
        assert_eq!((d.years, d.months, d.weeks, d.days), (1, 2, 3, 4));
        assert_eq!((d.hours, d.minutes, d.seconds), (5, 6, 7));
        assert_eq!(
            IsoDuration::parse("PT3H").unwrap().as_seconds(),
            Some(10_800)
        );
        assert_eq!(IsoDuration::parse("P2Y").unwrap().as_seconds(), None);
        for bad in [
            "", "P", "PT", "5M", "P5", "PT1.5S", "P1S", "PT1D", "P1D1Y", "P1DT", "P1M1M",
        ] {
            assert!(IsoDuration::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn hostnames_are_ldh_or_idn() {
        assert_eq!(hostname("crisp.chat").unwrap(), "crisp.chat");
        assert_eq!(hostname("bücher.example").unwrap(), "xn--bcher-kva.example");
        for bad in [
            "",
            "Crisp.chat",
            "crisp.chat.",
            "-a.b",
            "a..b",
            "a b",
            "a\"b",
            "a_b.c",
            "a;b",
        ] {
            assert!(hostname(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(hostname(&"a".repeat(64)).is_err());
    }

    #[test]
    fn sizes_and_rates() {
        assert_eq!(
            Size::parse("200MiB").unwrap().bytes(),
            Some(200 * 1024 * 1024)
        );
        assert_eq!(Size::parse("10B").unwrap().bytes(), Some(10));
        assert!(Size::parse("10 MiB").is_err());
        assert!(Size::parse("99999999999GiB").is_err());
        assert_eq!(Rate::parse("100kB/s").unwrap().unit, "kb/s");
        assert!(Rate::parse("100kb").is_err());
    }

    #[test]
    fn dashboard_url_rejects_query_fragment_and_credentials() {
        assert!(dashboard_url("https://admin.example.org").is_ok());
        for bad in [
            "https://a.org/?x=1",
            "https://a.org/#f",
            "https://u:p@a.org",
            "ftp://a.org",
            "admin.example.org",
        ] {
            assert!(dashboard_url(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn domains_that_read_as_ip_addresses() {
        for ip in ["192.168.1.1", "::1", "prose.10", "a.0x1F"] {
            assert!(ip_literal_domain(ip).is_some(), "{ip}");
        }
        for name in ["example.org", "a.0x", "ü.éx", "10.example", "x.0xg"] {
            assert!(ip_literal_domain(name).is_none(), "{name}");
        }
    }

    #[test]
    fn dashboard_urls_nginx_does_not_serve() {
        let elsewhere = |u: &str| dashboard_served_elsewhere(&dashboard_url(u).unwrap());
        assert_eq!(elsewhere("https://admin.example.org"), None);
        assert_eq!(elsewhere("https://admin.example.org:443/"), None);
        assert_eq!(elsewhere("http://admin.example.org"), None);
        assert!(elsewhere("http://localhost:8081").unwrap().contains("8081"));
        assert!(elsewhere("http://localhost").unwrap().contains("loopback"));
        assert!(elsewhere("https://[::1]").is_some());
        assert!(
            elsewhere("https://example.org/admin")
                .unwrap()
                .contains("/admin")
        );
        assert!(elsewhere("http://admin.example.org:443").is_some());
    }

    #[test]
    fn lua_identifiers_exclude_keywords() {
        assert!(lua_identifier("c2s_require_encryption").is_ok());
        for bad in ["end", "1abc", "a-b", "a b", "", "x\"y"] {
            assert!(lua_identifier(bad).is_err(), "{bad:?} should be rejected");
        }
    }
    /// The proptest runner of the tests below: 512 cases, nothing persisted.
    fn runner() -> proptest::test_runner::TestRunner {
        proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 512,
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })
    }

    /// What an editor's validator decides for `value`: the format's pattern and its
    /// excluded words, as the schema states them (the jsonschema engine, ECMA-262 syntax).
    fn schema_accepts(format: &Format, value: &str) -> bool {
        let mut schema = serde_json::json!({ "type": "string" });
        if let Some(pattern) = format.pattern {
            schema["pattern"] = pattern.into();
        }
        if !format.excluded.is_empty() {
            schema["not"] = serde_json::json!({ "enum": format.excluded });
        }
        jsonschema::is_valid(&schema, &serde_json::json!(value))
    }

    /// Values each checker accepts, beyond the samples: the edges of each form.
    const VALID: &[(&str, &[&str])] = &[
        (
            "idn-hostname",
            &[
                "a",
                "crisp.chat",
                "xn--bcher-kva.example",
                "bücher.example",
                "a-b.c0",
            ],
        ),
        ("prosody-host", &["global", "groups.crisp.chat"]),
        ("email", &["prose@crisp.chat", "a.b+c@bücher.example"]),
        (
            "uri",
            &[
                "https://example.org/",
                "mailto:admin@example.org",
                "xmpp:a@b.c?join",
            ],
        ),
        (
            "dashboard-url",
            &[
                "https://admin.example.org",
                "HTTP://a.org/x/",
                "https://[2001:db8::1]:8443/",
                "https://a.org/@x",
            ],
        ),
        (
            "duration",
            &["P1Y2M3W4DT5H6M7S", "PT0S", "P0D", "PT5M", "P1M", "P1DT1S"],
        ),
        ("fixed-duration", &["P1W", "PT3H", "P1DT12H", "P30D"]),
        ("retention", &["infinite", "P2Y"]),
        ("prosody-duration", &["infinite", "never", "PT10M"]),
        ("jid-node", &["prose-workspace", "ü", "a.b_c"]),
        ("ipv4", &["0.0.0.0", "203.0.113.10"]),
        ("ipv6", &["::", "::ffff:192.0.2.1", "2001:DB8::A"]),
        ("ip", &["0.0.0.0", "::"]),
        (
            "absolute-path",
            &["/", "/var/lib/prose", "/a/.b/c..d/...", "/a//b/", "/."],
        ),
        ("prosody-size", &["0B", "200MiB", "10kB", "1GiB"]),
        ("prosody-rate", &["100kB/s", "1MBps", "0B/s"]),
        (
            "lua-identifier",
            &["_", "c2s_require_encryption", "End", "endx"],
        ),
    ];

    /// Values both the checker and the schema refuse: the pattern is not a formality.
    const INVALID: &[(&str, &[&str])] = &[
        (
            "idn-hostname",
            &[
                "",
                "Crisp.chat",
                "crisp.chat.",
                "a b",
                "a_b.c",
                "a;b",
                "a..b",
            ],
        ),
        ("prosody-host", &["Global", "a.b."]),
        ("email", &["no at sign", "a@B.org", "@a.org"]),
        ("uri", &["no scheme", "https://a b"]),
        (
            "dashboard-url",
            &[
                "ftp://a.org",
                "https://a.org/?x=1",
                "https://a.org/#f",
                "admin.example.org",
            ],
        ),
        (
            "duration",
            &[
                "", "P", "PT", "5M", "P5", "PT1.5S", "P1S", "PT1D", "P1D1Y", "P1DT", "P1M1M",
                "1 week",
            ],
        ),
        ("fixed-duration", &["P1M", "P1Y", "P1YT1S"]),
        ("retention", &["forever", "Infinite"]),
        ("prosody-duration", &["always", "P"]),
        ("jid-node", &["", "a@b", "a b", "a/b", "a:b"]),
        ("ipv4", &["1.2.3", "a.b.c.d"]),
        ("ipv6", &["1.2.3.4", "::g"]),
        ("ip", &["example.org", ""]),
        (
            "absolute-path",
            &["relative", "/a/../b", "/..", "/a b", "/a;b"],
        ),
        ("prosody-size", &["10 MiB", "MiB", "10mb", "-1B"]),
        ("prosody-rate", &["100kb", "10 kB/s", "kB/s"]),
        (
            "lua-identifier",
            &["end", "1abc", "a-b", "a b", "", "x\"y", "while"],
        ),
    ];

    #[test]
    fn every_format_has_a_pattern_that_accepts_what_its_checker_accepts() {
        for format in FORMATS {
            assert!(format.pattern.is_some(), "{} has no pattern", format.name);
            let valid = VALID.iter().find(|(name, _)| *name == format.name);
            let valid = valid.map_or(&[][..], |(_, values)| *values);
            for value in format.samples.iter().chain(valid) {
                assert!(
                    (format.check)(value).is_ok(),
                    "{}: {value:?} should be valid",
                    format.name
                );
                assert!(
                    schema_accepts(format, value),
                    "{}: the pattern refuses {value:?}",
                    format.name
                );
            }
        }
    }

    #[test]
    fn the_schema_refuses_what_the_checker_refuses_in_the_listed_cases() {
        for (name, values) in INVALID {
            let format = find(name).expect("a format of the table");
            for value in *values {
                assert!(
                    (format.check)(value).is_err(),
                    "{name}: {value:?} should be invalid"
                );
                assert!(
                    !schema_accepts(format, value),
                    "{name}: the pattern accepts {value:?}"
                );
            }
        }
        // Every format has such a case.
        for format in FORMATS {
            assert!(
                INVALID.iter().any(|(n, _)| *n == format.name),
                "{}",
                format.name
            );
        }
    }

    /// Strings drawn from each format's alphabet: whatever the checker accepts, the pattern
    /// accepts too (an editor must never flag a value the compiler takes).
    #[test]
    fn no_value_the_checker_accepts_is_refused_by_the_pattern() {
        use proptest::prelude::*;
        let alphabets: &[(&str, &str)] = &[
            ("idn-hostname", "[a-zA-Z0-9.\\-_ü。 ]{0,10}"),
            ("prosody-host", "(global|[a-z0-9.\\-ü]{0,8})"),
            ("email", "[a-z@.\"ü +\\-]{0,10}"),
            ("uri", "([a-zA-Z+.]{0,5}:)?[a-z0-9@/?#:.\\\\%\\[\\] ]{0,10}"),
            (
                "dashboard-url",
                "(https?|HTTPS|ftp)?:?(//)?[a-z0-9@/?#:.\\\\%\\[\\] ]{0,12}",
            ),
            ("duration", "P?T?[0-9YMWDTHS.]{0,9}"),
            ("fixed-duration", "P?T?[0-9YMWDTHS]{0,9}"),
            ("retention", "(infinite|P[0-9YMWDTHS]{0,8})"),
            ("prosody-duration", "(never|infinite|P[0-9YMWDTHS]{0,8})"),
            ("jid-node", "\\PC{0,6}|[\"&'/:<>@ a-z.\\-]{0,6}"),
            ("ipv4", "[0-9.]{0,16}"),
            ("ipv6", "[0-9a-fA-F:.]{0,20}"),
            ("ip", "[0-9a-fA-F:.]{0,20}"),
            ("absolute-path", "[/a-z.\\-_ ;]{0,12}"),
            ("prosody-size", "[0-9]{0,3}(B|kB|KiB|MB|MiB|GB|GiB|kb| MB)?"),
            (
                "prosody-rate",
                "[0-9]{0,3}(B/s|kB/s|MB/s|Bps|kBps|MBps|kb/s| kB/s)?",
            ),
            ("lua-identifier", "([a-zA-Z_0-9 \\-]{0,6}|end|while|nil)"),
        ];
        for format in FORMATS {
            let (_, alphabet) = alphabets
                .iter()
                .find(|(name, _)| *name == format.name)
                .unwrap_or_else(|| panic!("no alphabet for {}", format.name));
            runner()
                .run(
                    &proptest::string::string_regex(alphabet).expect("regex"),
                    |value| {
                        if (format.check)(&value).is_ok() {
                            prop_assert!(
                                schema_accepts(format, &value),
                                "{}: {value:?}",
                                format.name
                            );
                        }
                        Ok(())
                    },
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Each plain pattern's predicate decides what the pattern does (the jsonschema engine,
    /// as the run-time validator and editors read it), on listed edges and random strings.
    #[test]
    fn each_plain_pattern_predicate_matches_exactly_what_its_pattern_matches() {
        let pattern_accepts = |pattern: &str, value: &str| {
            let schema = serde_json::json!({ "type": "string", "pattern": pattern });
            jsonschema::is_valid(&schema, &serde_json::json!(value))
        };
        let cases: &[(&str, &[&str], &str)] = &[
            (
                NO_CONTROL_PATTERN,
                &[
                    "",
                    "Crisp",
                    "a\nb",
                    "\t",
                    "\u{7f}",
                    "x\u{2028}",
                    "\u{2029}",
                    "é\u{80}",
                    "\u{1f}",
                ],
                "[a-zé \\x00-\\x1F\\x7F\\u{80}-\\u{9F}\\u{2027}-\\u{202A}]{0,6}",
            ),
            (
                MODULE_NAME_PATTERN,
                &["", "http_file_share", "a-b", "A", "é", "a\n", "0"],
                "[a-zA-Z0-9_\\-é\\n]{0,6}",
            ),
            (
                BYTE_COUNT_PATTERN,
                &[
                    "", "10B", "B", "10", "10 MiB", "10mib", "010GiB", "1KiB\n", "1kb",
                ],
                "[0-9]{0,3}(B|kB|KiB|MB|MiB|GB|GiB|kb| MB|\\n)?[a-z]?",
            ),
        ];
        assert_eq!(cases.len(), PLAIN_PATTERNS.len());
        for (pattern, edges, alphabet) in cases {
            let plain = PLAIN_PATTERNS
                .iter()
                .find(|p| p.pattern == *pattern)
                .expect("a plain pattern of the table");
            for value in *edges {
                assert_eq!(
                    (plain.matches)(value),
                    pattern_accepts(pattern, value),
                    "{}: {value:?}",
                    plain.format
                );
            }
            runner()
                .run(
                    &proptest::string::string_regex(alphabet).expect("regex"),
                    |value| {
                        proptest::prop_assert_eq!(
                            (plain.matches)(&value),
                            pattern_accepts(pattern, &value),
                            "{}: {:?}",
                            plain.format,
                            value
                        );
                        Ok(())
                    },
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
