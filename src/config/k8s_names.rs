//! The names the Kubernetes API server accepts: DNS-1123 labels (namespaces, label values),
//! DNS-1123 subdomains (most object names) and DNS-1035 labels (Services). Here, below the
//! targets, because `prose-compile.toml` names cluster objects too.

/// The longest DNS-1123 label.
pub const MAX_LABEL: usize = 63;
/// The longest DNS-1123 subdomain.
pub const MAX_SUBDOMAIN: usize = 253;

/// A DNS-1123 label: lower-case letters, digits and `-`, starting and ending with a letter or
/// digit, at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !s.is_empty()
        && s.len() <= MAX_LABEL
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// A DNS-1123 subdomain: DNS-1123 labels joined by `.`, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= MAX_SUBDOMAIN && s.split('.').all(is_dns_label)
}

/// A DNS-1035 label, what a Service is named: a DNS-1123 label that starts with a letter.
pub fn is_service_name(s: &str) -> bool {
    is_dns_label(s) && s.as_bytes()[0].is_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_name_rules() {
        assert!(is_dns_label("prose-crisp-chat"));
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad:?}");
        }
        assert!(is_dns_subdomain("tls-prose.crisp.chat"));
        assert!(!is_dns_subdomain("a..b"));
        assert!(!is_dns_subdomain(&format!("{}.b", "a".repeat(253))));
        assert!(is_service_name("prose-pod-server"));
        assert!(!is_service_name("1abc"));
    }
}
