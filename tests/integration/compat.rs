//! The compatibility table (`src/config/compat.rs`) against the reference's "Compatibility"
//! lines (`tests/fixtures/reference/compatibility.tsv`), except where upstream's code says
//! otherwise (listed below, each with what the code says); and every key of the model has a
//! row, so a new key cannot skip the question of who reads it.

use prose_compile::config::compat::{self, Component, Version};
use prose_compile::config::schema::schema_cached;
use prose_compile::config::schema_nav::SchemaNav;

use crate::support::repo;

/// Keys whose reference line the code contradicts, with the versions the code reads them at
/// (API, Server): from the upstream code (prose-pod-api tags and c673b0b, prose-pod-server
/// 0.4.0 to 0.5.0).
const CORRECTIONS: &[(&str, &str)] = &[
    (
        "auth.min_password_length",
        "added to the Pod API after v0.19.2 (ce5f77ee)",
    ),
    (
        "auth.invitation_ttl",
        "added to the Pod API after v0.19.2 (689b3d45)",
    ),
    (
        "auth.oauth2_registration_key",
        "moved from the Pod API (up to v0.19.2) to the Pod Server (8ee91c6d)",
    ),
    (
        "api.default_response_timeout",
        "removed from the Pod API in v0.18.0",
    ),
    (
        "api.default_retry_interval",
        "removed from the Pod API in v0.18.0",
    ),
];

fn version(text: &str) -> Version {
    Version::parse(text).unwrap_or_else(|| panic!("not a version: {text}"))
}

/// The rows a reference key stands for: its own, or those of the keys of a table.
fn rows_of(key: &str) -> Vec<&'static compat::Entry> {
    let path: Vec<&str> = key.split('.').collect();
    match compat::entry(&path) {
        Some(entry) => vec![entry],
        None => compat::TABLE
            .iter()
            .filter(|e| e.key.starts_with(&format!("{key}.")))
            .filter(|e| !e.key.starts_with("log.opentelemetry"))
            .collect(),
    }
}

#[test]
fn the_table_agrees_with_the_reference_or_with_the_code() {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/reference/compatibility.tsv"))
        .expect("fixture");
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (key, claim) = line.split_once('\t').expect("key<TAB>claim");
        let rows = rows_of(key);
        assert!(
            !rows.is_empty(),
            "`{key}` has no row in the compatibility table"
        );
        let mut claims = Vec::new();
        for part in claim.split(" or ") {
            let (who, rest) = part
                .strip_prefix("Pod API ")
                .map(|r| (Component::PodApi, r))
                .or_else(|| {
                    part.strip_prefix("Pod Server ")
                        .map(|r| (Component::PodServer, r))
                })
                .unwrap_or_else(|| panic!("{key}: unreadable claim {part:?}"));
            let (op, v) = rest.split_once(" v").expect("operator and version");
            claims.push((who, op, version(v)));
        }
        let corrected = CORRECTIONS.iter().any(|(k, _)| *k == key);
        for row in rows {
            // The claim holds at its version and, for `>=`, at the version compose pins.
            let holds = claims.iter().all(|(who, op, at)| {
                let pinned = match who {
                    Component::PodApi => version(compat::POD_API_VERSION),
                    Component::PodServer => version(compat::POD_SERVER_VERSION),
                };
                row.reads(*who).at(*at) && (*op != ">=" || row.reads(*who).at(pinned))
            });
            if corrected {
                assert!(
                    !holds,
                    "{key}: listed as a correction, but the table agrees with the reference"
                );
            } else {
                assert!(
                    holds,
                    "{key} ({}): the reference says {claim}, the table disagrees",
                    row.key
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 80, "only {checked} rows checked");
}

#[test]
fn the_corrections_say_what_the_code_reads() {
    let api = |key: &str, v: &str| {
        let path: Vec<&str> = key.split('.').collect();
        compat::entry(&path)
            .unwrap()
            .reads(Component::PodApi)
            .at(version(v))
    };
    assert!(
        !api("auth.min_password_length", "0.19.2") && api("auth.min_password_length", "0.20.0")
    );
    assert!(!api("auth.invitation_ttl", "0.19.2") && api("auth.invitation_ttl", "0.20.0"));
    assert!(
        api("auth.oauth2_registration_key", "0.19.2")
            && !api("auth.oauth2_registration_key", "0.20.0")
    );
    let path = ["auth", "oauth2_registration_key"];
    assert!(
        compat::entry(&path)
            .unwrap()
            .reads(Component::PodServer)
            .at(version("0.4.0"))
    );
    for key in ["api.default_response_timeout", "api.default_retry_interval"] {
        assert!(
            api(key, "0.17.3") && !api(key, "0.18.0") && !api(key, "0.20.0"),
            "{key}"
        );
    }
    assert_eq!(CORRECTIONS.len(), 5);
}

#[test]
fn every_key_of_the_model_has_a_row() {
    let nav = SchemaNav::new(schema_cached());
    let missing: Vec<String> = nav
        .all_paths()
        .into_iter()
        .filter(|p| compat::entry(&p.split('.').collect::<Vec<_>>()).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "keys without a compatibility row: {missing:?}"
    );
}
