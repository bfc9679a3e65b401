//! The registry of diagnostic codes. A code is stable: scripts match on it (`--format json`
//! prints it, the human output shows `prose::<code>`), so a new diagnostic picks a code here,
//! with one line saying what it covers.

use serde::Serialize;

/// A stable diagnostic code, e.g. `unknown-key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Code(&'static str);

impl Code {
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

macro_rules! codes {
    ($($name:ident = $code:literal: $about:literal;)*) => {
        $(#[doc = $about] pub const $name: Code = Code($code);)*
        /// Every code with what it covers, in the order of this file.
        pub const ALL: &[(Code, &str)] = &[$(($name, $about)),*];
    };
}

codes! {
    // Reading and parsing the inputs.
    SYNTAX = "syntax": "the file is not valid TOML";
    ENCODING = "encoding": "the file is not UTF-8";
    LIMIT = "limit": "an input is over one of the documented limits (size, depth, count)";
    ENV_FILE = "env-file": "a line of an env file is not a `NAME=value` assignment";
    UNSAFE_INPUT = "unsafe-input": "a file the tool found by itself is a link or not a regular file";
    UNKNOWN_VARIABLE = "unknown-variable": "a `PROSE_*` variable names no configuration key";
    COMPOSE_VARIABLE = "compose-variable": "a compose variable the generated files do not follow";
    // The schema.
    UNKNOWN_KEY = "unknown-key": "a key the model does not have";
    MISSING_KEY = "missing-key": "a required key is absent";
    TYPE = "type": "a value of the wrong type";
    ENUM = "enum": "a value outside the allowed list";
    RANGE = "range": "a number outside its valid range";
    LENGTH = "length": "a string too short or too long";
    PATTERN = "pattern": "a string that does not match its pattern";
    FORMAT = "format": "a string that is not of its format (hostname, duration, URL, …)";
    KEY_NAME = "key-name": "a table key that is not a valid name there";
    DUPLICATE_ITEM = "duplicate-item": "a list that repeats an item";
    SCHEMA = "schema": "any other schema violation";
    DECIMAL_INTEGER = "decimal-integer": "a whole number written as a decimal (`5280.0`) where an integer is required";
    // Checks across keys.
    IDNA = "idna": "a domain Prosody (IDNA2003) and nginx/certificates (IDNA2008) read as different names";
    MIXED_SCRIPT = "mixed-script": "a domain label that mixes scripts, like a homograph of another name";
    RESERVED_DOMAIN = "reserved-domain": "a `server.domain` that is a host Prose generates itself";
    POD_ADDRESS = "pod-address": "`pod.address` names no address";
    DASHBOARD_URL = "dashboard-url": "a `dashboard.url` the generated nginx does not serve (it serves the Dashboard elsewhere)";
    DASHBOARD_URL_REQUIRED = "dashboard-url-required": "`dashboard.url` is needed and cannot be derived";
    DURATION = "duration": "a duration Prosody or the Pod API cannot represent";
    RETENTION = "retention": "a retention period Prosody cannot represent";
    COMPATIBILITY = "compatibility": "a key or variable the pinned Pod API or Pod Server refuses or ignores, or reads from another file";
    NO_EFFECT = "no-effect": "a setting that has no effect with the others";
    PRESET = "preset": "an unknown vendor analytics preset, or an `inherits` cycle";
    // Prosody options (`prosody.<host>.defaults|overrides`).
    PROSODY_TABLE = "prosody-table": "a Prosody option outside a `defaults` or `overrides` table";
    PROSODY_OPTION = "prosody-option": "a Prosody option the Pod API does not know (it would not start)";
    PROSODY_VALUE = "prosody-value": "a Prosody option value the Pod API or Lua cannot hold";
    PROSODY_BASELINE = "prosody-baseline": "a Prosody table or option that would drop settings or modules the pod needs";
    PROSODY_POD_API = "prosody-pod-api": "a Prosody option the Pod API ignores or replaces when it writes the file";
    PROSODY_TLS = "prosody-tls": "a Prosody `ssl` table that keeps Prosody's TLS ciphers from following `tls_profile` as nginx's do";
    PROSODY_HOST = "prosody-host": "a `prosody.<host>` table that names no generated section";
    PROSODY_GLOBAL_OPTION = "prosody-global-option": "a global-only Prosody option under a host";
    PROSODY_SECTION_KIND = "prosody-section-kind": "a Prosody option that would change what a generated section is";
    PROSODY_RETIRED_OPTION = "prosody-retired-option": "a Prosody option that Prosody no longer reads";
    // The targets.
    NGINX = "nginx": "a value nginx cannot be configured with";
    HOST_META = "host-meta": "a value host-meta cannot advertise";
    COMPOSE = "compose": "a value compose cannot be configured with";
    KUBERNETES = "kubernetes": "a value the Kubernetes manifests cannot hold";
    FLEET = "fleet": "two pods of a Kubernetes fleet that would share a directory or a namespace";
    TEMPLATE = "template": "a template failed to render";
    MALFORMED_OUTPUT = "malformed-output": "a rendered file does not parse in its format";
    OUTPUT_PATH = "output-path": "a generated path that is unsafe or taken twice";
    // Defects of prose-compile itself.
    INTERNAL = "internal": "a defect of prose-compile (please report it)";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_lowercase_words() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, about) in ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{code}"
            );
            assert!(!about.is_empty());
        }
    }
}
