//! `[backups]`: backups of the pod's data by the Pod Server (>= v0.5.0; prose-pod-server
//! `api/crates/backup/src/config.rs`). Every key is optional: the Pod Server fills its own
//! defaults (given in the descriptions) and turns backups off while no storage is set.
//! Shorthands it accepts are kept: `s3`, `fs` and `pgp` at the top, and `storage.s3`,
//! `storage.fs`, `storage.provider`, apply to both `storage.backups` and `storage.checks`
//! (`pgp` to both `signing` and `encryption`).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{Duration, NO_CONTROL_PATTERN};

/// A path or name on the Pod Server's side: not empty, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Text(
    #[schemars(length(min = 1, max = 4096), extend("pattern" = NO_CONTROL_PATTERN))] pub String,
);

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backups {
    /// How backups are compressed.
    pub compression: Option<Compression>,
    /// How backup checksums are computed.
    pub hashing: Option<Hashing>,
    /// Signing of backups (off unless a signing method is enabled).
    pub signing: Option<Signing>,
    /// Encryption of backups (off by default).
    pub encryption: Option<Encryption>,
    /// Where backups and their integrity checks are stored.
    pub storage: Option<Storage>,
    /// Shorthand for `storage.backups.s3` and `storage.checks.s3`.
    pub s3: Option<S3>,
    /// Shorthand for `storage.backups.fs` and `storage.checks.fs`.
    pub fs: Option<Fs>,
    /// Shorthand for `signing.pgp` and `encryption.pgp`.
    pub pgp: Option<Pgp>,
    /// Backup downloads.
    pub download: Option<Download>,
    /// The Pod Server's backup cache.
    pub caching: Option<Caching>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Compression {
    /// `zstd` (default; alias `Zstandard`) or `off` (alias `none`; larger backups).
    pub algorithm: Option<CompressionAlgorithm>,
    pub zstd: Option<Zstd>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CompressionAlgorithm {
    #[serde(rename = "zstd")]
    Zstd,
    Zstandard,
    #[serde(rename = "off")]
    Off,
    #[serde(rename = "none")]
    None,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Zstd {
    /// Zstandard compression level, passed to zstd as is (default 3; 0 is zstd's default).
    pub compression_level: Option<i32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hashing {
    /// `BLAKE3` (default) or `SHA-256`.
    pub algorithm: Option<HashingAlgorithm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HashingAlgorithm {
    #[serde(rename = "BLAKE3")]
    Blake3,
    #[serde(rename = "SHA-256")]
    Sha256,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signing {
    /// `false` turns signing off whatever else is set.
    pub enabled: Option<bool>,
    /// Refuse to restore a backup that is not signed (default: true once a signing method
    /// is enabled).
    pub mandatory: Option<bool>,
    /// OpenPGP signing.
    pub pgp: Option<Pgp>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    /// `false` forces `mode = "off"`.
    pub enabled: Option<bool>,
    /// `off` (default) or `pgp` (aliases `OpenPGP`, `gpg`).
    pub mode: Option<EncryptionMode>,
    /// OpenPGP encryption.
    pub pgp: Option<Pgp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum EncryptionMode {
    #[serde(rename = "off")]
    Off,
    #[serde(rename = "pgp")]
    Pgp,
    OpenPGP,
    #[serde(rename = "gpg")]
    Gpg,
}

/// OpenPGP settings (the union of signing's and encryption's).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pgp {
    /// Enable OpenPGP signing (signing only; default false).
    pub enabled: Option<bool>,
    /// Path to the Transferable Secret Key.
    pub tsk: Option<Text>,
    /// Passphrases of the keys, by certificate or subkey fingerprint. Prefer
    /// `PROSE_BACKUPS__…__PASSPHRASES` in `prose.env`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub passphrases: IndexMap<String, Text>,
    /// Older public keys whose signatures stay trusted (signing).
    pub additional_trusted_issuers: Option<Vec<Text>>,
    /// Older secret keys that can still decrypt (encryption).
    pub additional_decryption_keys: Option<Vec<Text>>,
    /// Public keys backups are also encrypted to (encryption).
    pub additional_recipients: Option<Vec<Text>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// Shorthand for `backups.provider` and `checks.provider`.
    pub provider: Option<Provider>,
    /// Shorthand for `backups.s3` and `checks.s3`.
    pub s3: Option<S3>,
    /// Shorthand for `backups.fs` and `checks.fs`.
    pub fs: Option<Fs>,
    /// Where backups are stored.
    pub backups: Option<StorageTarget>,
    /// Where backup integrity checks are stored (an S3 bucket with Object Lock, ideally).
    pub checks: Option<StorageTarget>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageTarget {
    pub provider: Option<Provider>,
    pub s3: Option<S3>,
    pub fs: Option<Fs>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Provider {
    #[serde(rename = "s3")]
    S3,
    #[serde(rename = "S3")]
    S3Upper,
    #[serde(rename = "fs")]
    Fs,
}

/// An S3 bucket.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3 {
    pub bucket_name: Option<Text>,
    pub region: Option<Text>,
    pub endpoint_url: Option<Text>,
    pub access_key: Option<Text>,
    /// Prefer `PROSE_BACKUPS__S3__SECRET_KEY` in `prose.env`.
    pub secret_key: Option<Text>,
    pub session_token: Option<Text>,
    pub prefix: Option<Text>,
    pub force_path_style: Option<bool>,
    /// Object Lock retention mode (with `object_lock_duration`).
    pub object_lock_mode: Option<ObjectLockMode>,
    /// Object Lock retention period, an ISO 8601 duration (with `object_lock_mode`).
    pub object_lock_duration: Option<Duration>,
    pub object_lock_legal_hold_status: Option<LegalHold>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ObjectLockMode {
    Governance,
    Compliance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LegalHold {
    On,
    Off,
}

/// A directory of the Pod Server's file system.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fs {
    /// Not inside what is backed up (`/var/lib/prose-pod-server`, `/var/lib/prosody`,
    /// `/etc/prose`, `/etc/prosody`).
    pub directory: Option<Text>,
    /// Overwrite existing files (default false).
    pub overwrite: Option<bool>,
    /// Permissions of the files written, at most `0o777` (default `0o600`).
    #[schemars(range(max = 511))]
    pub mode: Option<u16>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Download {
    /// Longest validity of a backup download URL (ISO 8601; default `PT5M`).
    pub url_max_ttl: Option<Duration>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Caching {
    /// Cache directory (default: the system's temporary directory).
    pub cache_dir: Option<Text>,
    /// Largest backup kept in cache: a whole number and `B`, `kB`, `KiB`, `MB`, `MiB`, `GB`
    /// or `GiB`.
    #[schemars(extend("pattern" = super::formats::BYTE_COUNT_PATTERN))]
    pub max_backup_cache_size: Option<String>,
}

/// Directories backups cannot be stored in: they are backed up themselves.
pub const BACKED_UP: &[&str] = &[
    "/var/lib/prose-pod-server",
    "/var/lib/prosody",
    "/etc/prose",
    "/etc/prosody",
];
