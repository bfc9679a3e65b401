//! Names of Kubernetes objects: what the API server accepts (DNS-1123 labels and subdomains,
//! DNS-1035 labels for Services), and the names derived from the configuration (a pod's
//! directory and namespace, content-hashed ConfigMaps, TLS Secrets).

use sha2::{Digest, Sha256};

/// Every Namespace of a pod starts with this, so that a pod never takes a namespace of the
/// cluster's own (`default`, `kube-system`, `ingress-nginx`…).
pub const NAMESPACE_PREFIX: &str = "prose-";

pub use crate::config::k8s_names::{
    MAX_LABEL, MAX_SUBDOMAIN, is_dns_label, is_dns_subdomain, is_service_name,
};

/// The first `n` hexadecimal digits of the SHA-256 of `parts`, each length-prefixed so that
/// no two different lists hash alike.
pub fn short_hash<'a>(parts: impl IntoIterator<Item = &'a str>, n: usize) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..n].to_owned()
}

/// A pod's Namespace, from its server domain (ASCII): `crisp.chat` → `prose-crisp-chat`. A
/// name longer than a label allows is cut, and ends with a hash of the whole domain so that
/// two long domains with the same beginning stay apart. Two domains that differ only by `.`
/// against `-` (`a-b.c`, `a.b-c`) get the same name: a fleet build refuses that pair.
pub fn namespace(domain: &str) -> String {
    let base: String = domain
        .chars()
        .map(|c| if c == '.' { '-' } else { c })
        .collect();
    let name = format!("{NAMESPACE_PREFIX}{base}");
    if name.len() <= MAX_LABEL {
        return name;
    }
    let hash = short_hash([domain], 8);
    let keep = MAX_LABEL - hash.len() - 1;
    format!("{}-{hash}", name[..keep].trim_end_matches('-'))
}

/// A ConfigMap name that changes with its content (`prosody-config-3f2a…`), so that a new
/// configuration is a new object and the workloads that mount it roll.
pub fn hashed(base: &str, content: &[(&str, &str)]) -> String {
    let parts = content.iter().flat_map(|(k, v)| [*k, *v]);
    format!("{base}-{}", short_hash(parts, 10))
}

/// The TLS Secret the operator provides for a hostname (`tls-prose.crisp.chat`), or `None`
/// when the name would be longer than Kubernetes allows.
pub fn tls_secret(host: &str) -> Option<String> {
    let name = format!("tls-{host}");
    is_dns_subdomain(&name).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_labels_even_for_long_domains() {
        assert_eq!(namespace("crisp.chat"), "prose-crisp-chat");
        let long = format!("{}.example.org", "a".repeat(60));
        let other = format!("{}.example.net", "a".repeat(60));
        let (one, two) = (namespace(&long), namespace(&other));
        assert!(is_dns_label(&one) && is_dns_label(&two), "{one} {two}");
        assert_ne!(one, two);
        assert_eq!(namespace("xn--strae-oqa.de"), "prose-xn--strae-oqa-de");
    }

    #[test]
    fn hashed_names_follow_the_content() {
        let a = hashed("cfg", &[("prose.toml", "x")]);
        assert_eq!(a, hashed("cfg", &[("prose.toml", "x")]));
        assert_ne!(a, hashed("cfg", &[("prose.toml", "y")]));
        assert_ne!(hashed("cfg", &[("ab", "c")]), hashed("cfg", &[("a", "bc")]));
        assert!(is_dns_subdomain(&a));
    }
}
