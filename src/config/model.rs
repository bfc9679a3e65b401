//! The typed model of `prose.toml`: every key of the Pod configuration reference, with its
//! type, bounds and default. The JSON Schema (`schema/prose.schema.json`) is generated from
//! these types, so a key is defined, documented and constrained in exactly one place.
//!
//! Defaults are the reference's "in release" values. Keys upstream accepts but the reference
//! omits are included and marked "(upstream)" in their description.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::prosody::ProsodyHost;
pub use super::types::TlsProfile;
use super::types::{
    AbsolutePath, DashboardUrl, Duration, EmailAddress, Hostname, JidNode, ModuleName,
    RetentionPeriod, Url,
};

/// Defines a function returning a default value, for `#[serde(default = "…")]` on the fields of
/// a struct that has required keys (and so no `Default`). Every other struct has
/// `#[serde(default)]` and one `impl Default`: each default is written once.
macro_rules! defaults {
    ($($name:ident: $ty:ty = $value:expr;)*) => {
        $(fn $name() -> $ty { $value })*
    };
}

defaults! {
    yes: bool = true;
    smtp_port: u16 = 587;
    local_hostname: Hostname = Hostname::trusted("prose-pod-server");
    http_port: u16 = 5280;
}

/// Configuration of a Prose Pod (`/etc/prose/prose.toml`).
///
/// Every key can also be set with a `PROSE_` environment variable, path segments separated by
/// `__` (e.g. `PROSE_LOG__LEVEL=debug`).
// The `if`/`then` tells editors that a pod with only static addresses needs `dashboard.url`
// (nothing to derive it from); `validate::semantic` reports it with its fix.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Prose Pod configuration (prose.toml)")]
#[schemars(extend(
    "if" = {
        "required": ["pod"],
        "properties": { "pod": {
            "required": ["address"],
            "properties": { "address": {
                "anyOf": [{ "required": ["ipv4"] }, { "required": ["ipv6"] }],
                "not": { "required": ["domain"] }
            }}
        }}
    },
    "then" = {
        "required": ["dashboard"],
        "properties": { "dashboard": { "required": ["url"] } }
    }
))]
pub struct Config {
    /// Static data like your company name.
    #[serde(default)]
    pub branding: Branding,
    /// How notifications are sent (e.g. when sending invitations).
    #[serde(default)]
    pub notifiers: Notifiers,
    /// Logging of the Prose Pod API.
    #[serde(default)]
    pub log: Log,
    /// The Prose Pod itself.
    #[serde(default)]
    pub pod: Pod,
    /// The Prose Pod Server (Prosody).
    pub server: Server,
    /// The Prose Pod Dashboard.
    #[serde(default)]
    pub dashboard: Dashboard,
    /// Prose vendor analytics (Pod Server >= v0.4.1).
    #[serde(default)]
    pub vendor_analytics: VendorAnalytics,
    /// Company policies.
    #[serde(default)]
    pub policies: Policies,
    /// Services of Prose the Pod Server relays requests to (Pod Server >= v0.4.1).
    #[serde(default)]
    pub proxy: Proxy,
    /// Teams of the workspace (Pod Server >= v0.4.0).
    #[serde(default)]
    pub teams: Teams,
    /// Backups of the pod's data (Pod Server >= v0.5.0): off until a storage is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<super::backups::Backups>,
    /// The Prose Pod API (advanced).
    #[serde(default)]
    pub api: Api,
    /// Authentication and authorization.
    #[serde(default)]
    pub auth: Auth,
    /// Extensions to the generated Prosody configuration.
    #[serde(default)]
    pub prosody_ext: ProsodyExt,
    /// Defaults and overrides for the generated Prosody configuration, by host: `global` or
    /// the hostname of a VirtualHost or Component (quote dotted names:
    /// `[prosody."example.org".overrides]`).
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "format": "prosody-host" }))]
    pub prosody: IndexMap<String, ProsodyHost>,
    /// XMPP accounts Prose creates for itself.
    #[serde(default)]
    pub service_accounts: ServiceAccounts,
    /// Public contact addresses (XEP-0157), by category (upstream).
    #[serde(default)]
    pub public_contacts: PublicContacts,
    /// Settings to use only temporarily: they may expose user data or weaken security.
    #[serde(default)]
    pub debug_use_at_your_own_risk: DebugUseAtYourOwnRisk,
    /// Bootstrap settings (upstream; currently empty).
    #[serde(default)]
    pub bootstrap: Bootstrap,
    /// How the Prose Pod API reaches the Pod Server's API (upstream).
    #[serde(default)]
    pub server_api: ServerApi,
    /// `prose-compile audit` settings (read by prose-compile only).
    #[serde(default)]
    pub audit: AuditSettings,
    /// Where this configuration is deployed (not keys): the versions that will read it and
    /// the secrets the environment provides. Filled by the loader.
    #[serde(skip)]
    #[schemars(skip)]
    pub deployment: super::compat::Deployment,
}

/// Settings of `prose-compile audit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Findings accepted on purpose, by code, with the reason (e.g.
    /// `federation-no-whitelist = "we federate with the public network"`). They are still
    /// reported, as acknowledged, and no longer fail `audit --deny`.
    #[serde(default)]
    pub acknowledged: IndexMap<String, AckReason>,
}

/// Why a finding is accepted: a sentence, not empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct AckReason(
    #[schemars(length(min = 3, max = 500), extend("pattern" = super::types::NO_CONTROL_PATTERN))]
    pub String,
);

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Branding {
    /// Name of your company. Will be used in places like invitation emails.
    #[schemars(length(min = 1, max = 48), extend("pattern" = super::types::NO_CONTROL_PATTERN))]
    pub company_name: Option<String>,
    /// Name used in some places to refer to your Prose Pod API.
    #[schemars(length(min = 1, max = 48), extend("pattern" = super::types::NO_CONTROL_PATTERN))]
    pub api_app_name: String,
}

impl Default for Branding {
    fn default() -> Self {
        Self {
            company_name: None,
            api_app_name: "Prose Pod API".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifiers {
    /// Channel used to send workspace invitations (upstream).
    #[serde(default)]
    pub workspace_invitation_channel: InvitationChannel,
    /// Email notifications and SMTP configuration.
    pub email: Option<EmailNotifier>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitationChannel {
    #[default]
    Email,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailNotifier {
    /// Pod email address. Default: `prose@{server.domain}`.
    pub pod_address: Option<EmailAddress>,
    /// Public hostname of your SMTP server.
    #[schemars(length(min = 1, max = 1024))]
    pub smtp_host: Hostname,
    /// Public port of your SMTP server.
    #[serde(default = "smtp_port")]
    #[schemars(range(min = 1))]
    pub smtp_port: u16,
    /// SMTP username.
    #[schemars(length(min = 1, max = 1024), extend("pattern" = super::types::NO_CONTROL_PATTERN))]
    pub smtp_username: Option<String>,
    /// SMTP password. Prefer `PROSE_NOTIFIERS__EMAIL__SMTP_PASSWORD` in `prose.env`.
    #[schemars(extend("pattern" = super::types::NO_CONTROL_PATTERN))]
    pub smtp_password: Option<String>,
    /// Require SMTP encryption. If false, will still use encryption but only if available.
    #[serde(default = "yes")]
    pub smtp_encrypt: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Full,
    Compact,
    #[default]
    Json,
    Pretty,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogTimer {
    None,
    #[default]
    Time,
    Uptime,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// Maximum (most verbose) log level.
    pub level: LogLevel,
    /// Log format (see tracing_subscriber::fmt).
    pub format: LogFormat,
    /// Format of the timer in logs.
    pub timer: LogTimer,
    /// Enable ANSI color codes in logs.
    pub with_ansi: bool,
    /// Include file path in logs.
    pub with_file: bool,
    /// Include log level.
    pub with_level: bool,
    /// Include Rust target module in logs.
    pub with_target: bool,
    /// Include thread IDs in logs.
    pub with_thread_ids: bool,
    /// Include line numbers in logs.
    pub with_line_number: bool,
    /// Include span events in logs.
    pub with_span_events: bool,
    /// Include thread names in logs.
    pub with_thread_names: bool,
    /// OpenTelemetry export of the Pod Server's traces (Pod Server >= v0.4.0; a restart
    /// applies a change).
    pub opentelemetry: OpenTelemetry,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OpenTelemetry {
    /// Export traces with OpenTelemetry (default: false in release builds).
    pub enabled: bool,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            level: LogLevel::Info,
            format: LogFormat::Json,
            timer: LogTimer::Time,
            with_ansi: false,
            with_file: false,
            with_level: true,
            with_target: true,
            with_thread_ids: false,
            with_line_number: false,
            with_span_events: false,
            with_thread_names: false,
            opentelemetry: OpenTelemetry::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pod {
    /// Public network address of the server that runs the Prose Pod. At least one of
    /// `domain`, `ipv4` or `ipv6` must be set.
    #[serde(default)]
    pub address: PodAddress,
}

// `minProperties` says "at least one" to editors; `validate::explicit_checks` reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
pub struct PodAddress {
    /// Public domain name of the Prose Pod. Default: `prose.{server.domain}` (when no static
    /// address is set).
    pub domain: Option<Hostname>,
    /// Static IPv4 of the Prose Pod.
    #[schemars(extend("format" = "ipv4"))]
    pub ipv4: Option<Ipv4Addr>,
    /// Static IPv6 of the Prose Pod.
    #[schemars(extend("format" = "ipv6"))]
    pub ipv6: Option<Ipv6Addr>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// Domain name of the messaging server: what appears in user IDs (user@domain). Once set,
    /// it cannot be changed.
    pub domain: Hostname,
    /// Hostname of the Prose Pod Server in the pod's private network.
    #[serde(default = "local_hostname")]
    pub local_hostname: Hostname,
    /// HTTP port of the XMPP server.
    #[serde(default = "http_port")]
    #[schemars(range(min = 1))]
    pub http_port: u16,
    /// Maximum log level of the Prose Pod Server.
    #[serde(default)]
    pub log_level: LogLevel,
    /// Server configuration defaults (used until changed in the Dashboard or API).
    #[serde(default)]
    pub defaults: ServerDefaults,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerDefaults {
    /// Activate or deactivate message archiving.
    pub message_archive_enabled: bool,
    /// Message archive retention period (`infinite` or an ISO 8601 duration).
    pub message_archive_retention: RetentionPeriod,
    /// Activate or deactivate file upload and sharing.
    pub file_upload_allowed: bool,
    /// File storage retention period (`infinite` or an ISO 8601 duration).
    pub file_storage_retention: RetentionPeriod,
    /// TLS profile (see https://wiki.mozilla.org/Security/Server_Side_TLS).
    pub tls_profile: TlsProfile,
    /// Allow other servers to connect to yours (federation).
    pub federation_enabled: bool,
    /// Only federate with `federation_friendly_servers`. Caution: if a whitelist is set but
    /// disabled, your server federates with the entire XMPP network.
    pub federation_whitelist_enabled: bool,
    /// Servers allowed to federate when the whitelist is enabled.
    #[schemars(extend("uniqueItems" = true))]
    pub federation_friendly_servers: Vec<Hostname>,
    /// Send the real message body to the remote push service.
    pub push_notification_with_body: bool,
    /// Send the real message sender to the remote push service.
    pub push_notification_with_sender: bool,
    /// File storage encryption scheme (upstream; unused).
    #[schemars(length(min = 1, max = 64), extend("pattern" = super::types::NO_CONTROL_PATTERN))]
    pub file_storage_encryption_scheme: String,
    /// Require multi-factor authentication (upstream; unused).
    pub mfa_required: bool,
    /// Settings backup interval (upstream; unused).
    pub settings_backup_interval: Duration,
    /// User data backup interval (upstream; unused).
    pub user_data_backup_interval: Duration,
}

impl Default for ServerDefaults {
    fn default() -> Self {
        Self {
            message_archive_enabled: true,
            message_archive_retention: RetentionPeriod::trusted("infinite"),
            file_upload_allowed: true,
            file_storage_retention: RetentionPeriod::trusted("infinite"),
            tls_profile: TlsProfile::Modern,
            federation_enabled: false,
            federation_whitelist_enabled: false,
            federation_friendly_servers: Vec::new(),
            push_notification_with_body: true,
            push_notification_with_sender: true,
            file_storage_encryption_scheme: "AES-256".into(),
            mfa_required: true,
            settings_backup_interval: Duration::trusted("P1D"),
            user_data_backup_interval: Duration::trusted("P1W"),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// Public URL of your Prose Pod Dashboard. Default: `https://admin.{pod.address.domain}`;
    /// required when the pod has only static IP addresses.
    pub url: Option<DashboardUrl>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct VendorAnalytics {
    /// Enable vendor analytics.
    pub enabled: bool,
    /// Name of the preset to apply (`all`, `default`, `gdpr`, `lgpd` or one of `presets`).
    #[schemars(length(min = 1, max = 64))]
    pub preset: String,
    /// Vendor analytics presets by name; a preset may `inherits` another one.
    pub presets: IndexMap<String, AnalyticsPreset>,
    /// Disable all analytics while the workspace has fewer users than this.
    pub min_cohort_size: Option<u8>,
    /// Product usage analytics.
    pub usage: UsageAnalytics,
    /// Acquisition analytics.
    pub acquisition: AcquisitionAnalytics,
}

impl Default for VendorAnalytics {
    fn default() -> Self {
        Self {
            enabled: true,
            preset: "default".into(),
            presets: builtin_presets(),
            min_cohort_size: Some(20),
            usage: UsageAnalytics::default(),
            acquisition: AcquisitionAnalytics::default(),
        }
    }
}

/// The built-in presets, typed (the serde default of `vendor_analytics.presets`).
pub fn builtin_presets() -> IndexMap<String, AnalyticsPreset> {
    // Read as a `prose.toml` is (parsed to a tree, typed from its JSON): the presets share the
    // deserializers `Config::from_json` has, where TOML's own would be another copy of each.
    // No presets rather than an abort if the built-in tree failed (see `builtin_tree`).
    super::presets::builtin_tree()
        .and_then(|tree| IndexMap::deserialize(&tree.to_json()).ok())
        .unwrap_or_default()
}

/// A vendor analytics preset: vendor analytics keys (minus `preset` and `presets`) and the
/// name of the preset it `inherits` from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsPreset {
    /// The preset this one builds on; its keys apply where this one sets none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherits: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_cohort_size: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageAnalytics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquisition: Option<AcquisitionAnalytics>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Toggle {
    pub enabled: bool,
}

impl Default for Toggle {
    fn default() -> Self {
        Self { enabled: true }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UsageAnalytics {
    /// Enable all product usage analytics.
    pub enabled: bool,
    /// User count (in bins).
    pub meta_user_count: Toggle,
    /// Pod version.
    pub pod_version: Toggle,
    /// App versions.
    pub user_app_version: Toggle,
    /// User locales.
    pub user_lang: UserLangAnalytics,
    /// User platforms.
    pub user_platform: UserPlatformAnalytics,
}

impl Default for UsageAnalytics {
    fn default() -> Self {
        Self {
            enabled: true,
            meta_user_count: Toggle::default(),
            pod_version: Toggle::default(),
            user_app_version: Toggle::default(),
            user_lang: UserLangAnalytics::default(),
            user_platform: UserPlatformAnalytics::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UserLangAnalytics {
    pub enabled: bool,
    /// How many locales to keep at most (>= 1).
    #[schemars(range(min = 1))]
    pub max_locales: Option<u8>,
}

impl Default for UserLangAnalytics {
    fn default() -> Self {
        Self {
            enabled: true,
            max_locales: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UserPlatformAnalytics {
    pub enabled: bool,
    /// Only report these platforms.
    pub allow_list: Option<Vec<String>>,
    /// Never report these platforms.
    pub deny_list: Option<Vec<String>>,
}

impl Default for UserPlatformAnalytics {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_list: None,
            deny_list: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AcquisitionAnalytics {
    /// Enable all acquisition analytics.
    pub enabled: bool,
    /// Share the pod's domain (identifying: opt-in).
    pub pod_domain: Toggle,
}

impl Default for AcquisitionAnalytics {
    fn default() -> Self {
        Self {
            enabled: true,
            pod_domain: Toggle { enabled: false },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Policies {
    /// Let Prose apps auto-update.
    pub auto_update_enabled: bool,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            auto_update_enabled: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Proxy {
    /// URL of Prose's cloud API, which the Pod Server relays the apps' requests to.
    pub cloud_api_url: Url,
    /// URL of Prose's file server (Pod Server >= v0.4.2).
    pub prose_files_url: Url,
}

impl Default for Proxy {
    fn default() -> Self {
        Self {
            cloud_api_url: Url::trusted("https://prose.org/_api/cloud"),
            prose_files_url: Url::trusted("https://files.prose.org"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Teams {
    /// Name of the main team (the group every member joins), created at startup.
    #[schemars(length(min = 1, max = 256), extend("pattern" = super::types::NO_CONTROL_PATTERN))]
    pub main_team_name: String,
}

impl Default for Teams {
    fn default() -> Self {
        Self {
            main_team_name: "Team".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Api {
    /// IP address to serve the Prose Pod API on. Things will likely break if you change this.
    #[schemars(extend("format" = "ip"))]
    pub address: IpAddr,
    /// Port the Prose Pod API listens to (and the Pod Server >= v0.5.0 calls it on). Things
    /// will likely break if you change this.
    #[schemars(range(min = 1))]
    pub port: u16,
    /// Hostname of the Prose Pod API in the pod's private network, which the Pod Server
    /// (>= v0.5.0) calls it by.
    pub local_hostname: Hostname,
    /// Timeout after which all requests are cancelled (beta; Pod API v0.16.0 to v0.17.3).
    pub default_response_timeout: Duration,
    /// Default interval between retries (beta; Pod API v0.16.0 to v0.17.3).
    pub default_retry_interval: Duration,
    /// Database connections (beta).
    pub databases: Databases,
    /// Network checks (beta).
    pub network_checks: NetworkChecks,
    /// Member enriching cache (upstream).
    pub member_enriching: MemberEnriching,
    /// Invitations (upstream).
    pub invitations: Invitations,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8080,
            local_hostname: Hostname::trusted("prose-pod-api"),
            default_response_timeout: Duration::trusted("PT10S"),
            default_retry_interval: Duration::trusted("PT5S"),
            databases: Databases::default(),
            network_checks: NetworkChecks::default(),
            member_enriching: MemberEnriching::default(),
            invitations: Invitations::default(),
        }
    }
}

/// The API's database connections: `main` is the default for `main_read` and `main_write`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[derive(Default)]
pub struct Databases {
    #[serde(default)]
    pub main: DatabaseConfig,
    /// Default: `main` with `?mode=ro` added to its URL.
    pub main_read: Option<DatabaseConfig>,
    /// Default: `main` with `max_connections = 1`.
    pub main_write: Option<DatabaseConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Database URL.
    #[schemars(length(min = 1, max = 1024), extend("pattern" = super::types::NO_CONTROL_PATTERN))]
    pub url: String,
    /// Minimum number of connections.
    pub min_connections: Option<u32>,
    /// Maximum number of connections (default: parallelism capacity * 4).
    pub max_connections: Option<u32>,
    /// Connection acquiring timeout, in seconds.
    pub connect_timeout: u64,
    /// Acquire timeout, in seconds (upstream).
    pub acquire_timeout: Option<u64>,
    /// Idle connection timeout, in seconds.
    pub idle_timeout: Option<u64>,
    /// Enable sqlx logging.
    pub sqlx_logging: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite:///var/lib/prose-pod-api/database.sqlite".into(),
            min_connections: None,
            max_connections: None,
            connect_timeout: 5,
            acquire_timeout: None,
            idle_timeout: None,
            sqlx_logging: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkChecks {
    pub timeout: Duration,
    pub retry_interval: Duration,
    pub retry_timeout: Duration,
    /// How long the IP addresses of authoritative name servers are cached.
    pub dns_cache_ttl: Duration,
}

impl Default for NetworkChecks {
    fn default() -> Self {
        Self {
            timeout: Duration::trusted("PT5M"),
            retry_interval: Duration::trusted("PT5S"),
            retry_timeout: Duration::trusted("PT1S"),
            dns_cache_ttl: Duration::trusted("PT5M"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MemberEnriching {
    pub cache_ttl: Duration,
}

impl Default for MemberEnriching {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::trusted("PT2M"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Invitations {
    pub invitation_ttl: Duration,
}

impl Default for Invitations {
    fn default() -> Self {
        Self {
            invitation_ttl: Duration::trusted("P3D"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// How long Dashboard sessions are valid for (whole seconds: no months or years).
    #[schemars(extend("format" = "fixed-duration"))]
    pub token_ttl: Duration,
    /// How long password reset links are valid for.
    pub password_reset_token_ttl: Duration,
    /// Minimum length for account passwords. (The reference says [8;256] but the type is u8,
    /// so 255 is the largest value the Pod API can read.)
    #[schemars(range(min = 8, max = 255))]
    pub min_password_length: u8,
    /// How long invitations are valid for.
    pub invitation_ttl: Duration,
    /// OAuth 2.0 registration key (beta; default: a random key chosen at startup).
    #[schemars(extend("pattern" = super::types::NO_CONTROL_PATTERN))]
    pub oauth2_registration_key: Option<String>,
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            token_ttl: Duration::trusted("PT3H"),
            password_reset_token_ttl: Duration::trusted("PT15M"),
            min_password_length: 15,
            invitation_ttl: Duration::trusted("P1W"),
            oauth2_registration_key: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProsodyExt {
    /// Additional Prosody modules to enable globally, after every other setting.
    pub additional_modules_enabled: Vec<ModuleName>,
    /// Path to the Prosody configuration file. Things will likely break if you change this.
    pub config_file_path: AbsolutePath,
}

impl Default for ProsodyExt {
    fn default() -> Self {
        Self {
            additional_modules_enabled: Vec::new(),
            config_file_path: AbsolutePath::trusted("/etc/prosody/prosody.cfg.lua"),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccounts {
    #[serde(default)]
    pub prose_workspace: WorkspaceAccount,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WorkspaceAccount {
    /// XMPP account of your Prose Workspace. Things will likely break if you change this.
    pub xmpp_node: JidNode,
    /// Password of that account (Pod Server >= v0.4.0; default: one it generates). Prefer
    /// `PROSE_SERVICE_ACCOUNTS__PROSE_WORKSPACE__PASSWORD` in `prose.env`.
    #[schemars(length(min = 1, max = 1024), extend("pattern" = super::types::NO_CONTROL_PATTERN))]
    pub password: Option<String>,
}

impl Default for WorkspaceAccount {
    fn default() -> Self {
        Self {
            xmpp_node: JidNode::trusted("prose-workspace"),
            password: None,
        }
    }
}

/// Contact addresses by category (`mailto:`, `xmpp:` or `https:` URLs). A category left empty
/// uses `default`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicContacts {
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub default: Vec<Url>,
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub abuse: Vec<Url>,
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub admin: Vec<Url>,
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub feedback: Vec<Url>,
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub sales: Vec<Url>,
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub security: Vec<Url>,
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub support: Vec<Url>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebugUseAtYourOwnRisk {
    /// Log the parsed configuration at startup.
    #[serde(default)]
    pub log_config_at_startup: bool,
    /// Detailed error responses (debug information).
    #[serde(default)]
    pub detailed_error_responses: bool,
    /// Allow unencrypted client-to-server connections (and plaintext authentication).
    #[serde(default)]
    pub c2s_unencrypted: bool,
    /// Startup actions to skip.
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub skip_startup_actions: Vec<StartupAction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartupAction {
    DbRunMigrations,
    TestServicesReachability,
    ValidateAppConfigChanges,
    WaitForServer,
    InitServerConfig,
    RegisterOauth2Client,
    StartCronTasks,
    BackfillDatabase,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bootstrap {}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerApi {
    /// Address the Pod Server's API listens on.
    #[schemars(extend("format" = "ip"))]
    pub address: IpAddr,
    /// Port of the Pod Server's API.
    #[schemars(range(min = 1))]
    pub port: u16,
}

impl Default for ServerApi {
    fn default() -> Self {
        Self {
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8080,
        }
    }
}

/// The HTTP file upload component's hostname. Fixed upstream (`FILE_SHARE_HOST`): it is an
/// internal name that nginx sends as `Host` when proxying `/upload/` to Prosody.
pub const UPLOAD_HOST: &str = "upload.prose.local";

/// Upload size limit Prosody gets unless overridden: 20 MiB, as upstream.
pub const DEFAULT_UPLOAD_SIZE_LIMIT: u64 = 20 * 1024 * 1024;

impl Config {
    /// The typed configuration of a JSON tree the schema accepted. Every caller goes through
    /// here, from a borrowed tree: one copy of the model's deserializers in the binary (those of
    /// an owned tree came out larger, docs/performance.md "Ninth pass").
    pub fn from_json(json: &serde_json::Value) -> serde_json::Result<Config> {
        Config::deserialize(json)
    }

    /// A Prosody option as set for `host` (`global` or a hostname): the override if any,
    /// else the default. (Options generated by Prose sit between the two.)
    pub fn prosody_option<T>(
        &self,
        host: &str,
        get: impl Fn(&super::prosody::ProsodySettings) -> Option<T>,
    ) -> Option<T> {
        let host = self.prosody.get(host)?;
        host.overrides
            .as_ref()
            .and_then(&get)
            .or_else(|| host.defaults.as_ref().and_then(&get))
    }

    /// The upload size limit in bytes: what Prosody enforces, and what nginx must let through.
    pub fn upload_size_limit(&self) -> u64 {
        use super::types::ByteSize;
        match self.prosody_option(UPLOAD_HOST, |s| s.http_file_share_size_limit.clone()) {
            Some(ByteSize::Bytes(n)) => n,
            Some(ByteSize::Text(text)) => {
                text.parsed().bytes().unwrap_or(DEFAULT_UPLOAD_SIZE_LIMIT)
            }
            None => DEFAULT_UPLOAD_SIZE_LIMIT,
        }
    }

    /// Whether Prosody serves BOSH (`mod_bosh` enabled globally by the operator): then
    /// host-meta advertises it and nginx proxies `/http-bind`.
    pub fn bosh_enabled(&self) -> bool {
        let in_list = |list: &[super::types::ModuleName]| list.iter().any(|m| m.0 == "bosh");
        in_list(&self.prosody_ext.additional_modules_enabled)
            || self
                .prosody_option("global", |s| s.modules_enabled.clone())
                .is_some_and(|m| in_list(&m))
    }

    /// The pod's public hostname: `pod.address.domain`, else `prose.{server.domain}` (what
    /// upstream uses when the pod has only static addresses).
    pub fn pod_domain(&self) -> String {
        match &self.pod.address.domain {
            Some(domain) => domain.as_str().to_owned(),
            None => format!("prose.{}", self.server.domain),
        }
    }

    /// The MUC component's hostname.
    pub fn groups_domain(&self) -> String {
        format!("groups.{}", self.server.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serde default of `vendor_analytics.presets` is the reference's four presets, typed
    /// (a failure to read them falls back to none, which only this test would notice).
    #[test]
    fn the_built_in_presets_are_typed_in_full() {
        let presets = builtin_presets();
        let names: Vec<&str> = presets.keys().map(String::as_str).collect();
        assert_eq!(names, ["all", "default", "gdpr", "lgpd"]);
        assert_eq!(presets["default"].inherits.as_deref(), Some("all"));
        assert_eq!(presets["gdpr"].min_cohort_size, Some(20));
        let all = &presets["all"];
        assert_eq!(all.enabled, Some(true));
        let usage = all.usage.as_ref().expect("usage");
        assert!(usage.enabled);
        assert_eq!(
            presets["gdpr"]
                .usage
                .as_ref()
                .and_then(|u| u.user_lang.max_locales),
            Some(2)
        );
    }
}
