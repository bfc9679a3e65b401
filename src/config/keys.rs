//! The configuration keys that code refers to by path, typed. A test checks every one against
//! the schema, so a renamed or misspelled key fails `cargo test` instead of a user's run.

use std::fmt;

/// A key path such as `server.defaults.tls_profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(&'static [&'static str]);

impl Key {
    /// The path's segments, for `Node::get_path` and the schema.
    pub const fn path(self) -> &'static [&'static str] {
        self.0
    }

    /// The last segment (`tls_profile`).
    pub fn name(self) -> &'static str {
        self.0.last().copied().unwrap_or_default()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

impl From<Key> for String {
    fn from(key: Key) -> String {
        key.to_string()
    }
}

macro_rules! keys {
    ($($name:ident = $($segment:ident).+;)*) => {
        $(pub const $name: Key = Key(&[$(stringify!($segment)),+]);)*
        /// Every key of this module.
        pub const ALL: &[Key] = &[$($name),*];
    };
}

keys! {
    API_LOCAL_HOSTNAME = api.local_hostname;
    AUTH_TOKEN_TTL = auth.token_ttl;
    DASHBOARD_URL = dashboard.url;
    DEBUG = debug_use_at_your_own_risk;
    EMAIL = notifiers.email;
    EMAIL_POD_ADDRESS = notifiers.email.pod_address;
    EMAIL_SMTP_ENCRYPT = notifiers.email.smtp_encrypt;
    EMAIL_SMTP_PASSWORD = notifiers.email.smtp_password;
    POD_ADDRESS = pod.address;
    POD_DOMAIN = pod.address.domain;
    POD_IPV4 = pod.address.ipv4;
    POD_IPV6 = pod.address.ipv6;
    PROSODY = prosody;
    PROSODY_GLOBAL_OVERRIDES = prosody.global.overrides;
    SERVER_DOMAIN = server.domain;
    SERVER_LOCAL_HOSTNAME = server.local_hostname;
    SERVER_HTTP_PORT = server.http_port;
    SERVER_LOG_LEVEL = server.log_level;
    ARCHIVE_RETENTION = server.defaults.message_archive_retention;
    FILE_RETENTION = server.defaults.file_storage_retention;
    FEDERATION_ENABLED = server.defaults.federation_enabled;
    FEDERATION_WHITELIST_ENABLED = server.defaults.federation_whitelist_enabled;
    FEDERATION_FRIENDLY_SERVERS = server.defaults.federation_friendly_servers;
    PUSH_WITH_BODY = server.defaults.push_notification_with_body;
    PUSH_WITH_SENDER = server.defaults.push_notification_with_sender;
    TLS_PROFILE = server.defaults.tls_profile;
    VENDOR_ANALYTICS = vendor_analytics;
    ANALYTICS_PRESET = vendor_analytics.preset;
    ANALYTICS_PRESETS = vendor_analytics.presets;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::schema_cached;
    use crate::config::schema_nav::SchemaNav;

    #[test]
    fn every_key_is_in_the_schema() {
        let nav = SchemaNav::new(schema_cached());
        for key in ALL {
            assert!(
                nav.at(key.path()).is_some(),
                "`{key}` is not a key of the schema"
            );
        }
    }
}
