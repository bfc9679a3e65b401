//! Where each known option is printed: the Pod API's fixed order of groups and comments
//! (prose-pod-api 0.20.0, `src/prosody-config/src/prosody_config/conversion.rs`), the same for
//! the global section and every host.
//!
//! Options that no group lists, and that Prose does not generate in a group of its own, are
//! printed last, in the order they were written, under [`EXTRA_GROUP`].

/// One group: its comment line, and its options in print order, each with an optional comment
/// printed right above it.
pub struct GroupSpec {
    pub comment: Option<&'static str>,
    pub options: &'static [(&'static str, Option<&'static str>)],
}

const fn group(
    comment: Option<&'static str>,
    options: &'static [(&'static str, Option<&'static str>)],
) -> GroupSpec {
    GroupSpec { comment, options }
}

/// The comment of the group that holds options Prose has no place for.
pub const EXTRA_GROUP: &str = "Other Prosody options set in prose.toml";

pub const GROUPS: &[GroupSpec] = &[
    group(None, &[("pidfile", None), ("admin_socket", None)]),
    group(None, &[("admins", None)]),
    group(None, &[("authentication", None)]),
    group(
        None,
        &[
            ("default_storage", None),
            ("storage", None),
            ("storage_archive_item_limit", None),
            ("storage_archive_item_limit_cache_size", None),
            ("sql", None),
            ("sql_manage_tables", None),
            ("sqlite_tune", None),
        ],
    ),
    group(None, &[("log", None)]),
    group(
        Some("Network interfaces/ports"),
        &[
            ("interfaces", None),
            ("c2s_ports", None),
            ("c2s_direct_tls_ports", None),
            ("s2s_ports", None),
            ("s2s_direct_tls_ports", None),
            ("http_ports", None),
            ("http_interfaces", None),
            ("https_ports", None),
            ("https_interfaces", None),
            ("ssl_ports", None),
        ],
    ),
    group(
        Some("Modules"),
        &[
            ("plugin_paths", None),
            ("modules_enabled", None),
            ("modules_disabled", None),
        ],
    ),
    group(
        Some("mod_reload_modules"),
        &[("reload_modules", None), ("reload_global_modules", None)],
    ),
    group(
        None,
        &[
            (
                "ssl",
                Some("Path to SSL key and certificate for all server domains"),
            ),
            ("ssl_compression", None),
        ],
    ),
    group(None, &[("tls_profile", None)]),
    group(
        None,
        &[(
            "allow_registration",
            Some("Disable in-band registrations (done through the Prose Pod Dashboard/API)"),
        )],
    ),
    group(
        Some("Mandate highest security levels"),
        &[
            ("c2s_require_encryption", None),
            ("s2s_require_encryption", None),
            ("s2s_allow_encryption", None),
            ("s2s_secure_auth", None),
            ("s2s_secure_domains", None),
            ("s2s_insecure_domains", None),
        ],
    ),
    group(
        Some("Enforce safety C2S/S2S limits"),
        &[
            ("c2s_stanza_size_limit", None),
            ("s2s_stanza_size_limit", None),
            ("s2s_send_queue_size", None),
            (
                "s2s_whitelist",
                Some(
                    "Avoid federating with the whole XMPP network and only federate with specific servers",
                ),
            ),
        ],
    ),
    group(
        None,
        &[
            ("limits", None),
            ("limits_resolution", None),
            ("unlimited_jids", None),
        ],
    ),
    group(
        Some("Allow reverse-proxying to WebSocket service over insecure local HTTP"),
        &[
            ("consider_websocket_secure", None),
            ("cross_domain_websocket", None),
        ],
    ),
    group(
        Some("Timeouts and keepalives"),
        &[
            ("c2s_timeout", None),
            ("c2s_close_timeout", None),
            ("c2s_tcp_keepalives", None),
            ("s2s_timeout", None),
            ("s2s_close_timeout", None),
            ("s2s_tcp_keepalives", None),
        ],
    ),
    group(
        Some("XEP-0157: Contact Addresses for XMPP Services"),
        &[("contact_info", None)],
    ),
    group(
        Some("MAM settings"),
        &[
            ("archive_expires_after", None),
            ("default_archive_policy", None),
            ("max_archive_query_results", None),
            ("dont_archive_namespaces", None),
            ("archive_store", None),
            ("mam_include_total", None),
            ("archive_cleanup_date_cache_size", None),
            ("mam_smart_enable", None),
        ],
    ),
    group(
        Some("Enable vCard legacy compatibility layer"),
        &[("upgrade_legacy_vcards", None)],
    ),
    group(
        Some("Define server members groups file"),
        &[("groups_file", None)],
    ),
    group(
        Some("HTTP settings"),
        &[
            ("http_host", None),
            ("http_external_url", None),
            ("http_default_host", None),
            ("http_max_content_size", None),
            ("http_max_buffer_size", None),
            ("access_control_allow_methods", None),
            ("access_control_allow_headers", None),
            ("access_control_allow_origins", None),
            ("access_control_allow_credentials", None),
            ("access_control_max_age", None),
            ("http_default_cors_enabled", None),
            ("http_paths", None),
            ("trusted_proxies", None),
            ("http_legacy_x_forwarded", None),
        ],
    ),
    group(None, &[("use_libevent", None)]),
    group(
        Some("XEP-0363: HTTP File Upload"),
        &[
            (
                "http_file_share_base_url",
                Some("Base URL of external upload service"),
            ),
            ("http_file_share_secret", None),
            ("http_file_share_size_limit", None),
            ("http_file_share_allowed_file_types", None),
            (
                "http_file_share_safe_file_types",
                Some("Safe to show in-line in e.g. browsers"),
            ),
            ("http_file_share_expires_after", None),
            ("http_file_share_daily_quota", None),
            ("http_file_share_global_quota", None),
            ("http_file_share_access", None),
        ],
    ),
    group(None, &[("restrict_room_creation", None)]),
    group(
        Some("MUC settings"),
        &[
            ("muc_log_all_rooms", None),
            ("muc_log_by_default", None),
            ("muc_log_expires_after", None),
        ],
    ),
    group(
        Some("XEP-0030: Service Discovery"),
        &[
            ("disco_items", None),
            ("disco_hidden", None),
            ("disco_expose_admins", None),
        ],
    ),
];

/// The groups Prose generates outside the fixed layout, in print order, each with its options
/// in print order (upstream: `mod_cloud_notify`, the debug group, then per host
/// `mod_http_oauth2`). An option the operator adds to one of them goes after these.
pub const CUSTOM_GROUPS: &[(&str, &[&str])] = &[
    (
        "mod_cloud_notify",
        &[
            "push_notification_with_body",
            "push_notification_with_sender",
        ],
    ),
    (
        "Debug config: c2s_unencrypted",
        &["c2s_require_encryption", "allow_unencrypted_plain_auth"],
    ),
    (
        "mod_http_oauth2",
        &[
            "allowed_oauth2_grant_types",
            "oauth2_access_token_ttl",
            "oauth2_refresh_token_ttl",
            "oauth2_registration_key",
        ],
    ),
];

/// Sort key of a custom group and of an option inside it.
pub fn custom_rank(group: &str, option: &str) -> (usize, usize) {
    let g = CUSTOM_GROUPS.iter().position(|(name, _)| *name == group);
    let o = g.and_then(|g| CUSTOM_GROUPS[g].1.iter().position(|o| *o == option));
    (g.unwrap_or(CUSTOM_GROUPS.len()), o.unwrap_or(usize::MAX))
}

/// Options Prosody reads only from the global section (0.12 `util/prosodyctl/check.lua`:
/// `prosodyctl check config` reports them as misplaced under a host, and Prosody ignores them
/// there).
const GLOBAL_ONLY: &[&str] = &[
    "access_control_allow_credentials",
    "access_control_allow_headers",
    "access_control_allow_methods",
    "access_control_max_age",
    "admin_socket",
    "body_size_limit",
    "bosh_max_inactivity",
    "bosh_max_polling",
    "bosh_max_wait",
    "buffer_size_limit",
    "c2s_close_timeout",
    "c2s_stanza_size_limit",
    "c2s_tcp_keepalives",
    "c2s_timeout",
    "component_stanza_size_limit",
    "component_tcp_keepalives",
    "consider_bosh_secure",
    "consider_websocket_secure",
    "console_banner",
    "console_prettyprint_settings",
    "daemonize",
    "gc",
    "http_default_host",
    "http_errors_always_show",
    "http_errors_default_message",
    "http_errors_detailed",
    "http_errors_messages",
    "http_max_buffer_size",
    "http_max_content_size",
    "installer_plugin_path",
    "limits",
    "limits_resolution",
    "log",
    "multiplex_buffer_size",
    "network_backend",
    "network_default_read_size",
    "network_settings",
    "openmetrics_allow_cidr",
    "openmetrics_allow_ips",
    "pidfile",
    "plugin_paths",
    "plugin_server",
    "prosodyctl_timeout",
    "prosody_group",
    "prosody_user",
    "run_as_root",
    "s2s_close_timeout",
    "s2s_insecure_domains",
    "s2s_require_encryption",
    "s2s_secure_auth",
    "s2s_secure_domains",
    "s2s_stanza_size_limit",
    "s2s_tcp_keepalives",
    "s2s_timeout",
    "statistics",
    "statistics_config",
    "statistics_interval",
    "tcp_keepalives",
    "tls_profile",
    "trusted_proxies",
    "umask",
    "use_dane",
    "use_ipv4",
    "use_ipv6",
    "websocket_frame_buffer_limit",
    "websocket_frame_fragment_limit",
    "websocket_get_response_body",
    "websocket_get_response_text",
];

/// Whether Prosody reads `name` only from the global section: the list above, and the
/// network options (`interfaces`, `*_port(s)`, `*_interface(s)`, `*_ssl` except the per-host
/// `c2s_ssl`/`s2s_ssl`), as `prosodyctl check config` decides.
pub fn is_global_only(name: &str) -> bool {
    if matches!(name, "external_service_port" | "turn_external_port") {
        return false;
    }
    GLOBAL_ONLY.contains(&name)
        || name.starts_with("interface")
        || name.ends_with("_port")
        || name.ends_with("_ports")
        || name.ends_with("_interface")
        || name.ends_with("_interfaces")
        || (name.ends_with("_ssl") && !matches!(name, "c2s_ssl" | "s2s_ssl"))
}

/// Options Prosody no longer reads (0.12 `util/prosodyctl/check.lua`: `check config` reports
/// them as problems), and what to write instead.
pub fn retired(name: &str) -> Option<String> {
    let instead = match name {
        "archive_cleanup_interval"
        | "dns_timeout"
        | "muc_log_cleanup_interval"
        | "s2s_dns_resolvers"
        | "setgid"
        | "setuid" => "remove it: Prosody no longer reads it".to_owned(),
        "cross_domain_bosh" | "cross_domain_websocket" => {
            "remove it: Prosody allows cross-domain requests by default since 0.12 (see `http_cors_override`)".to_owned()
        }
        "anonymous_login" => "write `authentication = \"anonymous\"` instead".to_owned(),
        "daemonize" | "no_daemonize" => "remove it: use Prosody's --daemonize/--foreground flags".to_owned(),
        "disallow_s2s" => "remove it: federation follows `server.defaults.federation_enabled`".to_owned(),
        "require_encryption" => "use `c2s_require_encryption` and `s2s_require_encryption`".to_owned(),
        "vcard_compatibility" => "use the community module mod_compat_vcard".to_owned(),
        "use_libevent" => "write `network_backend = \"event\"` instead".to_owned(),
        "whitelist_registration_only" => "use `allowlist_registration_only`".to_owned(),
        "registration_whitelist" => "use `registration_allowlist`".to_owned(),
        "registration_blacklist" => "use `registration_blocklist`".to_owned(),
        "blacklist_on_registration_throttle_overload" => {
            "use `blocklist_on_registration_throttle_overload`".to_owned()
        }
        _ => {
            for (old, new) in [("bosh_", "http_"), ("legacy_ssl_", "c2s_direct_tls_")] {
                if let Some(suffix) = name.strip_prefix(old) {
                    let suffix = match suffix {
                        "port" => "ports",
                        "interface" => "interfaces",
                        "ports" | "interfaces" | "ssl" => suffix,
                        _ => continue,
                    };
                    return Some(format!("use `{new}{suffix}`"));
                }
            }
            return None;
        }
    };
    Some(instead)
}

/// Whether the fixed layout has a place for `name`.
pub fn has_place(name: &str) -> bool {
    GROUPS
        .iter()
        .any(|g| g.options.iter().any(|(option, _)| *option == name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::prosody::lua::Ident;

    #[test]
    fn every_option_is_listed_once_and_is_a_valid_name() {
        let mut seen = std::collections::HashSet::new();
        for g in GROUPS {
            for (name, _) in g.options {
                assert!(seen.insert(*name), "{name} listed twice");
                assert!(Ident::new(name).is_ok(), "{name}");
            }
        }
    }

    #[test]
    fn global_only_options() {
        for name in [
            "limits",
            "tls_profile",
            "http_ports",
            "c2s_direct_tls_ports",
            "interfaces",
            "https_ssl",
            "log",
        ] {
            assert!(is_global_only(name), "{name}");
        }
        for name in [
            "http_host",
            "modules_enabled",
            "c2s_ssl",
            "turn_external_port",
            "contact_info",
            "ssl",
        ] {
            assert!(!is_global_only(name), "{name}");
        }
    }

    #[test]
    fn retired_options() {
        assert!(retired("cross_domain_websocket").is_some());
        assert!(retired("use_libevent").unwrap().contains("network_backend"));
        assert_eq!(retired("bosh_port").as_deref(), Some("use `http_ports`"));
        assert_eq!(
            retired("legacy_ssl_ssl").as_deref(),
            Some("use `c2s_direct_tls_ssl`")
        );
        assert_eq!(retired("bosh_max_wait"), None);
        assert_eq!(retired("c2s_require_encryption"), None);
    }

    #[test]
    fn every_typed_prosody_option_has_a_place() {
        // The typed options of `prosody.<host>.defaults|overrides` (from the schema, so a new
        // field without a place fails here).
        let settings =
            serde_json::to_value(crate::config::prosody::ProsodySettings::default()).unwrap();
        let names: Vec<String> = settings.as_object().unwrap().keys().cloned().collect();
        assert!(names.len() > 90, "{names:?}");
        for name in names {
            assert!(has_place(&name), "{name} has no group");
        }
    }
}
