//! Unified diffs of generated files, as `diff` and `build --check` print them.

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
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= max_lines {
        return (text, 0);
    }
    let mut cut = lines[..max_lines].join("\n");
    cut.push('\n');
    (cut, lines.len() - max_lines)
}
