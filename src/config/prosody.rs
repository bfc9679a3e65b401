//! `prosody.<host>.defaults|overrides`: Prosody options set directly in `prose.toml`.
//!
//! The options the Pod API knows (prose-pod-api 0.20.0 `ProsodySettings`) are typed here; the
//! API refuses any other option (it would not start), so one is left out of the installed
//! `prose.toml` and of `prosody.cfg.lua`, with a warning (`containers::route`). Values the schema accepts but the API reads differently (a size as a number, a
//! time as an ISO duration of several units…) are reported by the Prosody target, with the
//! form to write.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{
    ByteSize, Hostname, ModuleName, ProsodyPeriod, RateString, TimeSpan, TlsProfile,
};

/// Settings for one Prosody host (`global`, a VirtualHost or a Component), applied as the
/// Pod API applies them (see the README: they differ between the global section, the upload
/// component and the other sections).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProsodyHost {
    /// For a VirtualHost or the chat rooms: options added where Prose generates none (an
    /// option Prose generates keeps Prose's value). Not for `global` nor
    /// `upload.prose.local`, where the Pod API keeps only the options a `defaults` table names.
    pub defaults: Option<ProsodySettings>,
    /// For `global` and `upload.prose.local`: options set, replacing Prose's or added. For a
    /// VirtualHost or the chat rooms: replacements of options Prose generates there (others
    /// are ignored by the Pod API). A value replaces Prose's whole value (lists and tables
    /// included).
    pub overrides: Option<ProsodySettings>,
}

/// Prosody options (see https://prosody.im/doc/configure). Known options are type-checked;
/// others must be Lua identifiers and are passed through as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("propertyNames" = { "format": "lua-identifier" }))]
pub struct ProsodySettings {
    // Process and storage.
    pub pidfile: Option<String>,
    pub admin_socket: Option<String>,
    /// Log sinks by level, e.g. `{ info = "*console" }`.
    pub log: Option<IndexMap<String, String>>,
    /// Admin JIDs.
    pub admins: Option<Vec<String>>,
    pub authentication: Option<String>,
    pub default_storage: Option<String>,
    pub storage: Option<IndexMap<String, String>>,
    pub storage_archive_item_limit: Option<u32>,
    pub storage_archive_item_limit_cache_size: Option<u32>,
    pub sql: Option<SqlSettings>,
    pub sql_manage_tables: Option<bool>,
    pub sqlite_tune: Option<SqliteTune>,
    // Modules.
    pub plugin_paths: Option<Vec<String>>,
    pub modules_enabled: Option<Vec<ModuleName>>,
    pub modules_disabled: Option<Vec<ModuleName>>,
    pub reload_modules: Option<Vec<ModuleName>>,
    pub reload_global_modules: Option<Vec<ModuleName>>,
    // Network.
    pub interfaces: Option<Vec<String>>,
    pub c2s_ports: Option<Vec<u16>>,
    pub c2s_direct_tls_ports: Option<Vec<u16>>,
    pub s2s_ports: Option<Vec<u16>>,
    pub s2s_direct_tls_ports: Option<Vec<u16>>,
    pub http_ports: Option<Vec<u16>>,
    pub http_interfaces: Option<Vec<String>>,
    pub https_ports: Option<Vec<u16>>,
    pub https_interfaces: Option<Vec<String>>,
    pub ssl_ports: Option<Vec<u16>>,
    // TLS.
    pub ssl: Option<SslSettings>,
    pub ssl_compression: Option<bool>,
    pub tls_profile: Option<TlsProfile>,
    // Registration and encryption.
    pub allow_registration: Option<bool>,
    pub c2s_require_encryption: Option<bool>,
    pub s2s_require_encryption: Option<bool>,
    pub s2s_allow_encryption: Option<bool>,
    pub s2s_secure_auth: Option<bool>,
    pub s2s_secure_domains: Option<Vec<Hostname>>,
    pub s2s_insecure_domains: Option<Vec<Hostname>>,
    // Limits.
    pub c2s_stanza_size_limit: Option<ByteSize>,
    pub s2s_stanza_size_limit: Option<ByteSize>,
    pub s2s_send_queue_size: Option<ByteSize>,
    pub s2s_whitelist: Option<Vec<Hostname>>,
    /// Rate limits by connection type (`c2s`, `s2sin`, `s2sout`, `component`).
    pub limits: Option<IndexMap<LimitKind, Limit>>,
    pub limits_resolution: Option<TimeSpan>,
    pub unlimited_jids: Option<Vec<String>>,
    // WebSocket.
    pub consider_websocket_secure: Option<bool>,
    pub cross_domain_websocket: Option<BoolOrList>,
    // Timeouts.
    pub c2s_timeout: Option<TimeSpan>,
    pub c2s_close_timeout: Option<TimeSpan>,
    pub c2s_tcp_keepalives: Option<bool>,
    pub s2s_timeout: Option<TimeSpan>,
    pub s2s_close_timeout: Option<TimeSpan>,
    pub s2s_tcp_keepalives: Option<bool>,
    /// XEP-0157 contact addresses by category.
    pub contact_info: Option<ContactInfo>,
    // Message archive (MAM).
    pub archive_expires_after: Option<ProsodyPeriod>,
    pub default_archive_policy: Option<ArchivePolicy>,
    pub max_archive_query_results: Option<u32>,
    pub dont_archive_namespaces: Option<Vec<String>>,
    pub archive_store: Option<String>,
    pub mam_include_total: Option<bool>,
    pub archive_cleanup_date_cache_size: Option<u32>,
    pub mam_smart_enable: Option<bool>,
    pub upgrade_legacy_vcards: Option<bool>,
    pub groups_file: Option<String>,
    // HTTP.
    pub http_host: Option<String>,
    pub http_external_url: Option<String>,
    pub http_default_host: Option<String>,
    pub http_max_content_size: Option<ByteSize>,
    pub http_max_buffer_size: Option<ByteSize>,
    pub access_control_allow_methods: Option<Vec<String>>,
    pub access_control_allow_headers: Option<Vec<String>>,
    pub access_control_allow_origins: Option<Vec<String>>,
    pub access_control_allow_credentials: Option<bool>,
    pub access_control_max_age: Option<TimeSpan>,
    pub http_default_cors_enabled: Option<bool>,
    pub http_paths: Option<IndexMap<String, String>>,
    pub trusted_proxies: Option<Vec<String>>,
    pub http_legacy_x_forwarded: Option<bool>,
    pub use_libevent: Option<bool>,
    // HTTP file upload (XEP-0363).
    pub http_file_share_base_url: Option<String>,
    pub http_file_share_secret: Option<String>,
    pub http_file_share_size_limit: Option<ByteSize>,
    pub http_file_share_allowed_file_types: Option<Vec<String>>,
    pub http_file_share_safe_file_types: Option<Vec<String>>,
    pub http_file_share_expires_after: Option<ProsodyPeriod>,
    pub http_file_share_daily_quota: Option<ByteSize>,
    pub http_file_share_global_quota: Option<ByteSize>,
    pub http_file_share_access: Option<Vec<String>>,
    // MUC.
    pub restrict_room_creation: Option<RoomCreation>,
    pub muc_log_all_rooms: Option<bool>,
    pub muc_log_by_default: Option<bool>,
    pub muc_log_expires_after: Option<ProsodyPeriod>,
    // Service discovery (XEP-0030).
    pub disco_items: Option<Vec<DiscoItem>>,
    pub disco_hidden: Option<bool>,
    pub disco_expose_admins: Option<bool>,
    /// Any other option: left out with a warning (the Pod API knows only the options above,
    /// and would not start with another); kept in the model so the warning can name it.
    #[serde(flatten)]
    pub other: IndexMap<String, serde_json::Value>,
}

/// mod_storage_sql's connection (`sql = { driver = "PostgreSQL", database = "prosody", … }`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlSettings {
    /// `PostgreSQL`, `SQLite3` or `MySQL` (case matters).
    pub driver: Option<String>,
    pub database: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SqliteTune {
    Flag(bool),
    Level(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BoolOrList {
    Flag(bool),
    List(Vec<String>),
}

/// LuaSec options for `ssl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SslSettings {
    pub certificate: Option<String>,
    pub key: Option<String>,
    pub protocol: Option<String>,
    pub capath: Option<String>,
    pub cafile: Option<String>,
    /// One verification mode (`peer`, `none`, …).
    pub verify: Option<String>,
    pub options: Option<Vec<String>>,
    pub depth: Option<u32>,
    pub ciphers: Option<String>,
    pub dhparam: Option<String>,
    pub curve: Option<String>,
    pub verifyext: Option<Vec<String>>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LimitKind {
    C2s,
    S2sin,
    S2sout,
    Component,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Data rate, e.g. `"100kB/s"`.
    pub rate: Option<RateString>,
    /// Burst allowance: seconds, or an ISO 8601 duration.
    pub burst: Option<TimeSpan>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInfo {
    pub abuse: Option<Vec<String>>,
    pub admin: Option<Vec<String>>,
    pub feedback: Option<Vec<String>>,
    pub sales: Option<Vec<String>>,
    pub security: Option<Vec<String>>,
    pub support: Option<Vec<String>>,
}

/// `true` (archive everything), `false` (only if the user enabled it) or `"roster"`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ArchivePolicy {
    Flag(bool),
    Roster(RosterKeyword),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RosterKeyword {
    Roster,
}

/// `false` (anyone), `true` (admins only) or `"local"` (users of the domain).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RoomCreation {
    Flag(bool),
    Local(LocalKeyword),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LocalKeyword {
    Local,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoItem {
    pub address: String,
    pub name: String,
}
