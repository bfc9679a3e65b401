//! YAML's double-quoted scalar, the one escaper both YAML outputs use: compose's templates
//! (through the `yaml_str` filter, with `$` doubled for compose's interpolation) and the
//! Kubernetes emitter (`kubernetes::yaml`). One implementation, so a fix reaches both.

use std::fmt::Write as _;

/// What becomes of `$`: compose interpolates every value, Kubernetes reads it literally.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dollar {
    Literal,
    DoubledForCompose,
}

/// YAML's printable characters (`c-printable`).
pub fn printable(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// A printable character that no YAML 1.1 reader takes as a line break or drops as a
/// byte-order mark: what may stand as itself in a comment or a block.
pub fn one_line_char(c: char) -> bool {
    printable(c) && !matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A double-quoted scalar: `"` and `\` escaped, and every character that is not printable, or
/// that YAML 1.1 reads as a line break (U+0085, U+2028, U+2029) or drops (a BOM), as an escape
/// (`\n`, `\t`, `\uXXXX`, `\UXXXXXXXX`).
pub fn double_quoted(s: &str, dollar: Dollar) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' if dollar == Dollar::DoubledForCompose => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_and_breaks_are_escaped_and_dollar_follows_the_reader() {
        let s = "a\"b\\c$d\ne\tf\r\u{85}\u{2028}\u{feff}\u{1}é😀";
        assert_eq!(
            double_quoted(s, Dollar::Literal),
            "\"a\\\"b\\\\c$d\\ne\\tf\\u000d\\u0085\\u2028\\ufeff\\u0001é😀\""
        );
        assert!(double_quoted(s, Dollar::DoubledForCompose).contains("c$$d"));
    }
}
