//! Unified diffs of generated files, as `diff`, `build --check` and a refused hand edit print
//! them: lines that set a secret are redacted, on both sides (a CI log must show neither the
//! old secret nor the new one), after the diff is computed, so a changed secret still shows as
//! a changed line.

/// A unified diff of two versions of a file, cut after `max_lines` lines of diff. Returns the
/// text and the number of lines left out.
pub fn unified_diff(
    path: &camino::Utf8Path,
    old: &[u8],
    new: &[u8],
    max_lines: usize,
) -> (String, usize) {
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    let text = unified(&old, &new, &format!("a/{path}"), &format!("b/{path}"));
    let text = redact_secret_lines(&text);
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= max_lines {
        return (text, 0);
    }
    let mut cut = lines[..max_lines].join("\n");
    cut.push('\n');
    (cut, lines.len() - max_lines)
}

/// The edit script from `old`'s lines to `new`'s, by the patience algorithm (Myers between
/// its anchors), compacted and with deletions next to insertions joined into replacements:
/// what `similar::TextDiff` computes with `Algorithm::Patience`. Called directly, the
/// algorithm and hooks are compiled once; `TextDiff` compiles every algorithm for every
/// token type it might be given (0.3 MB of the binary, docs/performance.md).
pub fn line_ops(old: &[&str], new: &[&str]) -> Vec<similar::DiffOp> {
    use similar::algorithms::{Capture, Compact, Replace, patience};
    let mut hook = Compact::new(Replace::new(Capture::new()), old, new);
    match patience::diff(&mut hook, old, 0..old.len(), new, 0..new.len()) {
        Ok(()) => hook.into_inner().into_inner().into_ops(),
        Err(never) => match never {},
    }
}

/// Lines as `similar` splits them: each with its terminator (`\n`, `\r\n` or `\r`).
pub fn lines(text: &str) -> Vec<&str> {
    similar::DiffableStr::tokenize_lines(text)
}

/// `old` to `new` as a unified diff with three lines of context (`diff -u`'s form, as
/// `similar`'s `UnifiedDiff` writes it), under the `---`/`+++` header when they differ.
fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    use std::fmt::Write;
    let (old_lines, new_lines) = (lines(old), lines(new));
    let hunks = similar::group_diff_ops(line_ops(&old_lines, &new_lines), 3);
    let mut out = String::new();
    for hunk in hunks.iter().filter(|hunk| !hunk.is_empty()) {
        if out.is_empty() {
            let _ = writeln!(out, "--- {old_name}\n+++ {new_name}");
        }
        let _ = writeln!(out, "{}", similar::udiff::UnifiedHunkHeader::new(hunk));
        for op in hunk {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            if tag == similar::DiffTag::Equal {
                push_lines(&mut out, ' ', &old_lines[old_range]);
            } else {
                push_lines(&mut out, '-', &old_lines[old_range]);
                push_lines(&mut out, '+', &new_lines[new_range]);
            }
        }
    }
    out
}

/// `lines` (each with its terminator, but maybe the last) after `sign`, as a unified diff shows
/// them.
fn push_lines(out: &mut String, sign: char, lines: &[&str]) {
    for line in lines {
        out.push(sign);
        out.push_str(line);
        if !line.ends_with(['\r', '\n']) {
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
}

/// The diff's content lines (` `, `-`, `+`) through [`crate::diagnostics::redact_line`].
fn redact_secret_lines(diff: &str) -> String {
    diff.split_inclusive('\n')
        .map(|line| {
            let header = line.starts_with("--- ") || line.starts_with("+++ ");
            match line.as_bytes().first() {
                Some(b' ' | b'-' | b'+') if !header => {
                    let (content, end) = match line.strip_suffix('\n') {
                        Some(content) => (content, "\n"),
                        None => (line, ""),
                    };
                    format!(
                        "{}{}{end}",
                        &content[..1],
                        crate::diagnostics::redact_line(&content[1..])
                    )
                }
                _ => line.to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_lines_are_redacted_on_both_sides_and_still_shown_as_changed() {
        let old = b"a = 1\nhttp_file_share_secret = \"old-secret\"\nb = 2\n";
        let new = b"a = 1\nhttp_file_share_secret = \"new-secret\"\nb = 2\n";
        let (diff, _) = unified_diff("etc/prosody/prosody.cfg.lua".into(), old, new, 100);
        assert!(
            !diff.contains("old-secret") && !diff.contains("new-secret"),
            "{diff}"
        );
        assert!(
            diff.contains("-http_file_share_secret = \"<redacted>\""),
            "{diff}"
        );
        assert!(
            diff.contains("+http_file_share_secret = \"<redacted>\""),
            "{diff}"
        );
        assert!(diff.contains(" a = 1"), "{diff}");
    }

    /// What `similar`'s own unified diff writes for the same texts (patience, three lines of
    /// context), which this module's diff replaced.
    fn similar_unified(old: &str, new: &str) -> String {
        similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .diff_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header("a/f", "b/f")
            .to_string()
    }

    #[test]
    fn the_diff_is_the_one_similar_writes() {
        let cases = [
            ("", ""),
            ("a\n", "a\n"),
            ("a\nb\nc\n", "a\nB\nc\n"),
            ("a\nb", "a\nb\n"),
            ("a\nb\n", "a\nc"),
            ("", "x\n"),
            ("x", ""),
            ("a\r\nb\r\n", "a\r\nc\r\n"),
            (
                "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
                "1\n2\nX\n4\n5\n6\n7\n8\n9\n10\nY\n12\n",
            ),
        ];
        for (old, new) in cases {
            assert_eq!(
                unified(old, new, "a/f", "b/f"),
                similar_unified(old, new),
                "{old:?} → {new:?}"
            );
        }
        // Above 100 lines `similar` diffs integer ids of the lines instead (the same result).
        let long: String = (0..160).map(|i| format!("line {}\n", i % 37)).collect();
        let edited: String = (0..170)
            .filter(|i| i % 23 != 5)
            .map(|i| format!("line {}\n", (i * 7) % 41))
            .collect();
        assert_eq!(
            unified(&long, &edited, "a/f", "b/f"),
            similar_unified(&long, &edited)
        );
        let config = proptest::test_runner::Config {
            cases: 512,
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        };
        // Lines from a small alphabet (so they repeat), every terminator, a last line without.
        let text = || {
            proptest::string::string_regex("([abcd]{0,2}(\n|\r\n|\r)){0,40}[ab]?").expect("regex")
        };
        proptest::test_runner::TestRunner::new(config)
            .run(&(text(), text()), |(old, new): (String, String)| {
                proptest::prop_assert_eq!(
                    unified(&old, &new, "a/f", "b/f"),
                    similar_unified(&old, &new)
                );
                Ok(())
            })
            .unwrap();
    }
}
