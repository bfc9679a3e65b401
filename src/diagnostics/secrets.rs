//! Which values are secrets, and masking them in a text before it is shown.

/// Whether a key holds a secret that must never be printed.
pub fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    // Map values under a `passphrases` table are secrets whatever their key (a fingerprint).
    let under_passphrases = key
        .rsplit('.')
        .skip(1)
        .any(|segment| segment.eq_ignore_ascii_case("passphrases"));
    under_passphrases
        || last == "session_token"
        || last.contains("passphrase")
        || (last != "min_password_length"
            && (last.contains("secret") || last.contains("password") || last.contains("key")))
}

/// Replaces the inside of a quoted value (or the whole value) with `*`.
pub fn mask_range(bytes: &mut [u8], start: usize, end: usize) {
    let end = end.min(bytes.len());
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
