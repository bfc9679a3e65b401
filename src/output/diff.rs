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
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(old.as_ref(), new.as_ref());
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    let text = redact_secret_lines(&text);
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= max_lines {
        return (text, 0);
    }
    let mut cut = lines[..max_lines].join("\n");
    cut.push('\n');
    (cut, lines.len() - max_lines)
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
}
