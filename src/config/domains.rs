//! Domain names as the pod's programs read them. Prosody runs every VirtualHost and Component
//! name through IDNA2003's nameprep (the Pod Server image builds it with libidn; the Pod API
//! parses `server.domain` with the same nameprep, `jid::DomainPart`), while nginx, certbot
//! and DNS get the IDNA2008 (UTS #46) ASCII form. A name on which the two disagree
//! (`straße.de`: `strasse.de` for Prosody, `xn--strae-oqa.de` for nginx) gives users
//! addresses on a domain the certificates do not cover: refused. A label that mixes scripts
//! (`crisp.chаt` with a Cyrillic `а`) looks like another name: warned (UTS #39).

use std::collections::BTreeSet;

use unicode_script::{Script, UnicodeScript};
use unicode_security::MixedScript;

use super::formats::{Problem, shown};

/// Why Prosody and nginx would serve `domain` under different names, if they would.
pub fn idna2003_mismatch(domain: &str) -> Option<Problem> {
    let (unicode, errors) = idna::domain_to_unicode(domain);
    if errors.is_err() {
        // Not a valid IDNA2008 name: the hostname format reports it.
        return None;
    }
    let prepped = match stringprep::nameprep(&unicode) {
        Ok(prepped) => prepped.into_owned(),
        Err(_) => {
            return Some(Problem {
                message: format!(
                    "`{}` is refused by IDNA2003's nameprep, which Prosody and the Pod API apply \
                     to it",
                    shown(domain)
                ),
                help: "use a name made of letters, digits and hyphens, or of characters \
                       IDNA2003 allows"
                    .into(),
            });
        }
    };
    if prepped == unicode {
        return None;
    }
    let ascii = idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_owned());
    let prepped_ascii = idna::domain_to_ascii(&prepped).unwrap_or_else(|_| prepped.clone());
    Some(Problem {
        message: format!(
            "`{}` is `{}` for Prosody and the Pod API (IDNA2003) but `{ascii}` for nginx, \
             certificates and DNS (IDNA2008): users would get addresses on a domain the \
             certificates do not cover",
            shown(domain),
            shown(&prepped),
        ),
        help: if prepped_ascii == prepped {
            format!(
                "write `{}`, the name both read the same way",
                shown(&prepped)
            )
        } else {
            format!(
                "write `{}` (`{prepped_ascii}`), the name both read the same way",
                shown(&prepped)
            )
        },
    })
}

/// The labels of `domain` that mix scripts, each with the scripts it mixes.
pub fn mixed_script_labels(domain: &str) -> Vec<(String, Vec<&'static str>)> {
    let (unicode, _) = idna::domain_to_unicode(domain);
    unicode
        .split('.')
        .filter(|label| !label.is_single_script())
        .map(|label| {
            let scripts: BTreeSet<&'static str> = label
                .chars()
                .map(|c| c.script())
                .filter(|s| !matches!(s, Script::Common | Script::Inherited | Script::Unknown))
                .map(|s| s.full_name())
                .collect();
            (label.to_owned(), scripts.into_iter().collect())
        })
        .collect()
}

/// Whether a name can have a label that mixes scripts: every ASCII letter is Latin (digits
/// and `-` are of no script), so only a name with other characters, or with a punycode
/// (`xn--`) label that decodes to them, can.
pub fn may_mix_scripts(name: &str) -> bool {
    !name.is_ascii()
        || name
            .as_bytes()
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"xn--"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut never passes over a name with a mixed label.
    #[test]
    fn names_that_mix_scripts_are_never_passed_over() {
        for name in [
            "crisp.chat",
            "CRISP.Chat",
            "a-b.c_d",
            "xn--rsum-bpad.example",
            "XN--80ak6aa92e.com",
            "xn--crisp-chat-0ji.example",
            "crisp.xn--cht-7cd",
            "crisp.ch\u{430}t",
            "\u{440}\u{430}ypal.com",
            "",
        ] {
            if !mixed_script_labels(name).is_empty() {
                assert!(may_mix_scripts(name), "{name}");
            }
        }
        assert!(!may_mix_scripts("crisp.chat") && !may_mix_scripts("a-b.c_d"));
        assert!(may_mix_scripts("crisp.xn--cht-7cd") && may_mix_scripts("crisp.ch\u{430}t"));
    }

    #[test]
    fn deviation_characters_are_read_differently() {
        let problem = idna2003_mismatch("straße.de").expect("ß");
        assert!(
            problem.message.contains("`strasse.de`"),
            "{}",
            problem.message
        );
        assert!(
            problem.message.contains("`xn--strae-oqa.de`"),
            "{}",
            problem.message
        );
        assert!(problem.help.contains("`strasse.de`"));
        assert!(idna2003_mismatch("xn--strae-oqa.de").is_some());
        assert!(idna2003_mismatch("\u{3c2}\u{3b1}.gr").is_some()); // final sigma
        for same in [
            "strasse.de",
            "bücher.example",
            "xn--bcher-kva.example",
            "crisp.chat",
        ] {
            assert!(idna2003_mismatch(same).is_none(), "{same}");
        }
    }

    #[test]
    fn mixed_scripts_are_found_per_label() {
        let found = mixed_script_labels("crisp.ch\u{430}t");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, ["Cyrillic", "Latin"]);
        assert!(mixed_script_labels("crisp.chat").is_empty());
        assert!(mixed_script_labels("пример.org").is_empty());
        assert!(mixed_script_labels("例えば.jp").is_empty()); // Han + Hiragana: Japanese
        assert_eq!(mixed_script_labels("crisp.xn--cht-7cd").len(), 1); // punycode too
    }
}
