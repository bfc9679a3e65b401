//! `prosody.<host>.defaults|overrides`: the operator's Prosody options, as Lua values.
//!
//! Each typed option is read as the Pod API reads it (prose-pod-api 0.20.0, `ProsodySettings`
//! in `src/prosody-config`) and printed as the API prints it: sizes as products, rates in
//! Prosody's notation, times and periods in the API's one-unit forms (see `convert`), lists
//! that the API keeps as sets deduplicated as it does, tables whose keys the API reads into
//! a sorted map in key order. A value the API refuses (it would not start) is a [`Problem`]
//! with what to write instead. The struct is destructured field by field, so an option added
//! to the model cannot be forgotten here.

use indexmap::IndexMap;

use super::convert::{self, Refusal};
use super::generate::linked_set;
use super::lua::Value;
use crate::config::prosody::{
    ArchivePolicy, BoolOrList, ContactInfo, DiscoItem, Limit, LimitKind, ProsodySettings,
    RoomCreation, SqlSettings, SqliteTune, SslSettings,
};
use crate::config::types::{ByteSize, Hostname, ModuleName, ProsodyPeriod, TimeSpan};

/// A value the Pod API refuses: the option (and sub-key, if any), why, and what to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The option name, then sub-keys (`["limits", "c2s", "burst"]`).
    pub path: Vec<String>,
    pub message: String,
    pub help: String,
}

struct Out {
    options: Vec<(String, Value)>,
    problems: Vec<Problem>,
}

impl Out {
    fn put(&mut self, name: &str, value: Option<Value>) {
        if let Some(value) = value {
            self.options.push((name.to_owned(), value));
        }
    }

    fn try_put(&mut self, name: &str, value: Option<Rendered>) {
        match value {
            Some(Ok(value)) => self.options.push((name.to_owned(), value)),
            Some(Err((sub, refusal))) => {
                let mut path = vec![name.to_owned()];
                path.extend(sub);
                self.problems.push(Problem {
                    path,
                    message: refusal.message,
                    help: refusal.help,
                });
            }
            None => {}
        }
    }
}

fn string(s: &Option<String>) -> Option<Value> {
    s.as_ref().map(|s| Value::string(s.as_str()))
}

/// A list the API reads into a `LinkedHashSet`: deduplicated, each item at its last place.
fn set<T: AsRef<str>>(list: &[T]) -> Value {
    let items: Vec<&str> = list.iter().map(AsRef::as_ref).collect();
    Value::strings(linked_set(&items))
}

fn strings(list: &Option<Vec<String>>) -> Option<Value> {
    list.as_ref().map(|l| set(l))
}

fn modules(list: &Option<Vec<ModuleName>>) -> Option<Value> {
    list.as_ref()
        .map(|l| set(&l.iter().map(|m| m.0.as_str()).collect::<Vec<_>>()))
}

fn hosts(list: &Option<Vec<Hostname>>) -> Option<Value> {
    list.as_ref().map(|l| set(&l.iter().map(|h| h.as_str()).collect::<Vec<_>>()))
}

fn ports(list: &Option<Vec<u16>>) -> Option<Value> {
    list.as_ref().map(|l| {
        Value::List(
            linked_set(l)
                .into_iter()
                .map(|p| Value::Integer(i64::from(p)))
                .collect(),
        )
    })
}

fn flag(b: &Option<bool>) -> Option<Value> {
    b.map(Value::Bool)
}

fn number(n: &Option<u32>) -> Option<Value> {
    n.map(|n| Value::Integer(i64::from(n)))
}

/// A table the API reads through figment, whose tables are sorted maps: keys in order.
/// (A `Vec`, not any iterator: one copy of the function and of its sort.)
fn sorted(mut entries: Vec<(String, Value)>) -> Value {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Map(entries.into_iter().collect())
}

fn string_map(m: &Option<IndexMap<String, String>>) -> Option<Value> {
    m.as_ref()
        .map(|m| sorted(m.iter().map(|(k, v)| (k.clone(), Value::string(v.as_str()))).collect()))
}

type Rendered = Result<Value, (Vec<String>, Refusal)>;

fn plain(r: Result<Value, Refusal>) -> Rendered {
    r.map_err(|m| (Vec::new(), m))
}

fn refused(message: impl Into<String>, help: impl Into<String>) -> Rendered {
    Err((
        Vec::new(),
        Refusal {
            message: message.into(),
            help: help.into(),
        },
    ))
}

fn size(s: &Option<ByteSize>) -> Option<Rendered> {
    s.as_ref().map(|s| plain(convert::size(s)))
}

fn time(t: &Option<TimeSpan>) -> Option<Rendered> {
    t.as_ref()
        .map(|t| plain(convert::option_time(t).map(convert::TimeLike::lua)))
}

fn period(p: &Option<ProsodyPeriod>) -> Option<Rendered> {
    p.as_ref()
        .map(|p| plain(convert::option_period(p.as_str()).map(convert::Period::lua)))
}

fn limits(l: &Option<IndexMap<LimitKind, Limit>>) -> Option<Rendered> {
    let l = l.as_ref()?;
    let mut kinds = Vec::new();
    for (kind, limit) in l {
        let kind_name = match kind {
            LimitKind::C2s => "c2s",
            LimitKind::S2sin => "s2sin",
            LimitKind::S2sout => "s2sout",
            LimitKind::Component => "component",
        };
        let at = |field: &str| vec![kind_name.to_owned(), field.to_owned()];
        let mut fields = IndexMap::new();
        if let Some(rate) = &limit.rate {
            match convert::rate(rate) {
                Ok(v) => fields.insert("rate".to_owned(), v),
                Err(r) => return Some(Err((at("rate"), r))),
            };
        }
        if let Some(burst) = &limit.burst {
            match convert::burst(burst) {
                Ok(v) => fields.insert("burst".to_owned(), v),
                Err(r) => return Some(Err((at("burst"), r))),
            };
        }
        kinds.push((kind_name.to_owned(), Value::Map(fields)));
    }
    Some(Ok(sorted(kinds)))
}

fn ssl(s: &Option<SslSettings>) -> Option<Rendered> {
    let SslSettings {
        certificate,
        key,
        protocol,
        capath,
        cafile,
        verify,
        options,
        depth,
        ciphers,
        dhparam,
        curve,
        verifyext,
        password,
    } = s.as_ref()?;
    let mut m = IndexMap::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_owned(), v);
        }
    };
    put("certificate", string(certificate));
    put("key", string(key));
    put("protocol", string(protocol));
    put("capath", string(capath));
    put("cafile", string(cafile));
    put("verify", string(verify));
    put("options", strings(options));
    if let Some(depth) = depth {
        if u8::try_from(*depth).is_err() {
            return Some(Err((
                vec!["depth".into()],
                Refusal {
                    message: format!("it reads an `ssl.depth` up to 255, not {depth}"),
                    help: "write a depth between 0 and 255".into(),
                },
            )));
        }
        put("depth", number(&Some(*depth)));
    }
    put("ciphers", string(ciphers));
    put("dhparam", string(dhparam));
    put("curve", string(curve));
    put("verifyext", strings(verifyext));
    put("password", string(password));
    Some(Ok(Value::Map(m)))
}

fn contact_info(c: &Option<ContactInfo>) -> Option<Rendered> {
    let ContactInfo {
        abuse,
        admin,
        feedback,
        sales,
        security,
        support,
    } = c.as_ref()?;
    let categories = [
        ("abuse", abuse),
        ("admin", admin),
        ("feedback", feedback),
        ("sales", sales),
        ("security", security),
        ("support", support),
    ];
    let missing: Vec<&str> = categories
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| *k)
        .collect();
    if !missing.is_empty() {
        return Some(refused(
            format!(
                "it reads `contact_info` only with all six categories, and `{}` is missing",
                missing.join("`, `")
            ),
            format!("write `{} = []` for the categories without contacts", missing.join(" = []`, `")),
        ));
    }
    // The API prints the non-empty categories only, in this order.
    Some(Ok(Value::map(categories.into_iter().filter_map(|(k, v)| {
        v.as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| (k, Value::strings(v.iter().map(String::as_str))))
    }))))
}

fn disco_items(items: &Option<Vec<DiscoItem>>) -> Option<Value> {
    items.as_ref().map(|items| {
        let pairs: Vec<(&str, &str)> = items
            .iter()
            .map(|i| (i.address.as_str(), i.name.as_str()))
            .collect();
        Value::List(
            linked_set(&pairs)
                .into_iter()
                .map(|(address, name)| Value::strings([address, name]))
                .collect(),
        )
    })
}

/// `log`: the API reads the levels `debug`, `info`, `warn`, `error` and the sinks
/// `console`/`syslog` (printed `*console`/`*syslog`) only.
fn log(m: &Option<IndexMap<String, String>>) -> Option<Rendered> {
    let m = m.as_ref()?;
    let mut entries = Vec::new();
    for (level, sink) in m {
        if !matches!(level.as_str(), "debug" | "info" | "warn" | "error") {
            return Some(Err((
                vec![level.clone()],
                Refusal {
                    message: format!("it reads the log levels `debug`, `info`, `warn` and `error`, not `{level}`"),
                    help: "use one of `debug`, `info`, `warn`, `error`".into(),
                },
            )));
        }
        // Upstream's `LogLevelValue` has a file-path variant its parser never produces: the
        // API refuses a path.
        let sink = match sink.as_str() {
            "console" | "*console" => "*console",
            "syslog" | "*syslog" => "*syslog",
            path => {
                return Some(Err((
                    vec![level.clone()],
                    Refusal {
                        message: format!(
                            "it reads the log sinks `*console` and `*syslog`, not `{path}`"
                        ),
                        help: "log to `*console` (the container's output) or `*syslog`".into(),
                    },
                )));
            }
        };
        entries.push((level.clone(), Value::string(sink)));
    }
    Some(Ok(sorted(entries)))
}

/// `sql`, in the API's order; the driver must be one the API knows.
fn sql(s: &Option<SqlSettings>) -> Option<Rendered> {
    let SqlSettings {
        driver,
        database,
        host,
        port,
        username,
        password,
    } = s.as_ref()?;
    if let Some(d) = driver
        && !matches!(d.as_str(), "PostgreSQL" | "SQLite3" | "MySQL")
    {
        return Some(Err((
            vec!["driver".into()],
            Refusal {
                message: format!("it knows the SQL drivers `PostgreSQL`, `SQLite3` and `MySQL`, not `{d}`"),
                help: "write one of them (case matters)".into(),
            },
        )));
    }
    let mut out = IndexMap::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(k.to_owned(), v);
        }
    };
    put("driver", string(driver));
    put("database", string(database));
    put("host", string(host));
    put("port", port.map(|p| Value::Integer(i64::from(p))));
    put("username", string(username));
    put("password", string(password));
    Some(Ok(Value::Map(out)))
}

/// `trusted_proxies`: IP addresses (no ranges), as the API's `IpAddr` prints them.
fn ip_addresses(list: &Option<Vec<String>>) -> Option<Rendered> {
    let list = list.as_ref()?;
    let mut out = Vec::new();
    for item in list {
        match item.parse::<std::net::IpAddr>() {
            Ok(ip) => out.push(ip.to_string()),
            Err(_) => {
                return Some(refused(
                    format!("it reads `trusted_proxies` as IP addresses, and `{item}` is not one"),
                    "list addresses, not ranges (e.g. `127.0.0.1`, `::1`)",
                ));
            }
        }
    }
    Some(Ok(set(&out)))
}

/// The options of one `defaults` or `overrides` table, in the model's order then the
/// passthrough options in the order written, or the values that have no Prosody form.
pub fn options(s: &ProsodySettings) -> Result<Vec<(String, Value)>, Vec<Problem>> {
    let ProsodySettings {
        pidfile,
        admin_socket,
        log: log_table,
        admins,
        authentication,
        default_storage,
        storage,
        storage_archive_item_limit,
        storage_archive_item_limit_cache_size,
        sql: sql_table,
        sql_manage_tables,
        sqlite_tune,
        plugin_paths,
        modules_enabled,
        modules_disabled,
        reload_modules,
        reload_global_modules,
        interfaces,
        c2s_ports,
        c2s_direct_tls_ports,
        s2s_ports,
        s2s_direct_tls_ports,
        http_ports,
        http_interfaces,
        https_ports,
        https_interfaces,
        ssl_ports,
        ssl: ssl_settings,
        ssl_compression,
        tls_profile,
        allow_registration,
        c2s_require_encryption,
        s2s_require_encryption,
        s2s_allow_encryption,
        s2s_secure_auth,
        s2s_secure_domains,
        s2s_insecure_domains,
        c2s_stanza_size_limit,
        s2s_stanza_size_limit,
        s2s_send_queue_size,
        s2s_whitelist,
        limits: limit_table,
        limits_resolution,
        unlimited_jids,
        consider_websocket_secure,
        cross_domain_websocket,
        c2s_timeout,
        c2s_close_timeout,
        c2s_tcp_keepalives,
        s2s_timeout,
        s2s_close_timeout,
        s2s_tcp_keepalives,
        contact_info: contacts,
        archive_expires_after,
        default_archive_policy,
        max_archive_query_results,
        dont_archive_namespaces,
        archive_store,
        mam_include_total,
        archive_cleanup_date_cache_size,
        mam_smart_enable,
        upgrade_legacy_vcards,
        groups_file,
        http_host,
        http_external_url,
        http_default_host,
        http_max_content_size,
        http_max_buffer_size,
        access_control_allow_methods,
        access_control_allow_headers,
        access_control_allow_origins,
        access_control_allow_credentials,
        access_control_max_age,
        http_default_cors_enabled,
        http_paths,
        trusted_proxies,
        http_legacy_x_forwarded,
        use_libevent,
        http_file_share_base_url,
        http_file_share_secret,
        http_file_share_size_limit,
        http_file_share_allowed_file_types,
        http_file_share_safe_file_types,
        http_file_share_expires_after,
        http_file_share_daily_quota,
        http_file_share_global_quota,
        http_file_share_access,
        restrict_room_creation,
        muc_log_all_rooms,
        muc_log_by_default,
        muc_log_expires_after,
        disco_items: disco,
        disco_hidden,
        disco_expose_admins,
        other,
    } = s;
    let mut out = Out {
        options: Vec::new(),
        problems: Vec::new(),
    };
    out.put("pidfile", string(pidfile));
    out.put("admin_socket", string(admin_socket));
    out.try_put("log", log(log_table));
    out.put("admins", strings(admins));
    out.try_put(
        "authentication",
        authentication.as_ref().map(|a| match a.as_str() {
            "internal_plain" | "internal_hashed" | "cyrus" | "ldap" | "anonymous" => {
                Ok(Value::string(a.as_str()))
            }
            _ => refused(
                format!("it does not know the authentication provider `{a}`"),
                "write one of `internal_hashed`, `internal_plain`, `cyrus`, `ldap`, `anonymous`",
            ),
        }),
    );
    out.put("default_storage", string(default_storage));
    out.put("storage", string_map(storage));
    out.put(
        "storage_archive_item_limit",
        number(storage_archive_item_limit),
    );
    out.put(
        "storage_archive_item_limit_cache_size",
        number(storage_archive_item_limit_cache_size),
    );
    out.try_put("sql", sql(sql_table));
    out.put("sql_manage_tables", flag(sql_manage_tables));
    out.try_put(
        "sqlite_tune",
        sqlite_tune.as_ref().map(|t| match t {
            SqliteTune::Level(l) if matches!(l.as_str(), "default" | "normal" | "fast" | "safe") => {
                Ok(Value::string(l.as_str()))
            }
            _ => refused(
                "it reads `sqlite_tune` as one of `default`, `normal`, `fast`, `safe`",
                "write one of `\"default\"`, `\"normal\"`, `\"fast\"`, `\"safe\"`",
            ),
        }),
    );
    out.put("plugin_paths", strings(plugin_paths));
    out.put("modules_enabled", modules(modules_enabled));
    out.put("modules_disabled", modules(modules_disabled));
    out.put("reload_modules", modules(reload_modules));
    out.put("reload_global_modules", modules(reload_global_modules));
    out.put("interfaces", strings(interfaces));
    out.put("c2s_ports", ports(c2s_ports));
    out.put("c2s_direct_tls_ports", ports(c2s_direct_tls_ports));
    out.put("s2s_ports", ports(s2s_ports));
    out.put("s2s_direct_tls_ports", ports(s2s_direct_tls_ports));
    out.put("http_ports", ports(http_ports));
    out.put("http_interfaces", strings(http_interfaces));
    out.put("https_ports", ports(https_ports));
    out.put("https_interfaces", strings(https_interfaces));
    out.put("ssl_ports", ports(ssl_ports));
    out.try_put("ssl", ssl(ssl_settings));
    out.put("ssl_compression", flag(ssl_compression));
    out.put(
        "tls_profile",
        tls_profile.map(|p| Value::string(p.as_str())),
    );
    out.put("allow_registration", flag(allow_registration));
    out.put("c2s_require_encryption", flag(c2s_require_encryption));
    out.put("s2s_require_encryption", flag(s2s_require_encryption));
    out.put("s2s_allow_encryption", flag(s2s_allow_encryption));
    out.put("s2s_secure_auth", flag(s2s_secure_auth));
    out.put("s2s_secure_domains", hosts(s2s_secure_domains));
    out.put("s2s_insecure_domains", hosts(s2s_insecure_domains));
    out.try_put("c2s_stanza_size_limit", size(c2s_stanza_size_limit));
    out.try_put("s2s_stanza_size_limit", size(s2s_stanza_size_limit));
    out.try_put("s2s_send_queue_size", size(s2s_send_queue_size));
    out.put("s2s_whitelist", hosts(s2s_whitelist));
    out.try_put("limits", limits(limit_table));
    out.try_put("limits_resolution", time(limits_resolution));
    out.put("unlimited_jids", strings(unlimited_jids));
    out.put("consider_websocket_secure", flag(consider_websocket_secure));
    out.try_put(
        "cross_domain_websocket",
        cross_domain_websocket.as_ref().map(|c| match c {
            BoolOrList::Flag(b) => Ok(Value::Bool(*b)),
            BoolOrList::List(_) => refused(
                "it reads `cross_domain_websocket` as `true` or `false` only",
                "write `true` or `false`",
            ),
        }),
    );
    out.try_put("c2s_timeout", time(c2s_timeout));
    out.try_put("c2s_close_timeout", time(c2s_close_timeout));
    out.put("c2s_tcp_keepalives", flag(c2s_tcp_keepalives));
    out.try_put("s2s_timeout", time(s2s_timeout));
    out.try_put("s2s_close_timeout", time(s2s_close_timeout));
    out.put("s2s_tcp_keepalives", flag(s2s_tcp_keepalives));
    out.try_put("contact_info", contact_info(contacts));
    out.try_put("archive_expires_after", period(archive_expires_after));
    out.put(
        "default_archive_policy",
        default_archive_policy.as_ref().map(|p| match p {
            ArchivePolicy::Flag(b) => Value::Bool(*b),
            ArchivePolicy::Roster(_) => Value::string("roster"),
        }),
    );
    out.put(
        "max_archive_query_results",
        number(max_archive_query_results),
    );
    out.put("dont_archive_namespaces", strings(dont_archive_namespaces));
    out.put("archive_store", string(archive_store));
    out.put("mam_include_total", flag(mam_include_total));
    out.put(
        "archive_cleanup_date_cache_size",
        number(archive_cleanup_date_cache_size),
    );
    out.put("mam_smart_enable", flag(mam_smart_enable));
    out.put("upgrade_legacy_vcards", flag(upgrade_legacy_vcards));
    out.put("groups_file", string(groups_file));
    out.put("http_host", string(http_host));
    out.put("http_external_url", string(http_external_url));
    out.put("http_default_host", string(http_default_host));
    out.try_put("http_max_content_size", size(http_max_content_size));
    out.try_put("http_max_buffer_size", size(http_max_buffer_size));
    out.put(
        "access_control_allow_methods",
        strings(access_control_allow_methods),
    );
    out.put(
        "access_control_allow_headers",
        strings(access_control_allow_headers),
    );
    out.put(
        "access_control_allow_origins",
        strings(access_control_allow_origins),
    );
    out.put(
        "access_control_allow_credentials",
        flag(access_control_allow_credentials),
    );
    out.try_put("access_control_max_age", time(access_control_max_age));
    out.put("http_default_cors_enabled", flag(http_default_cors_enabled));
    out.put("http_paths", string_map(http_paths));
    out.try_put("trusted_proxies", ip_addresses(trusted_proxies));
    out.put("http_legacy_x_forwarded", flag(http_legacy_x_forwarded));
    out.put("use_libevent", flag(use_libevent));
    out.put("http_file_share_base_url", string(http_file_share_base_url));
    out.put("http_file_share_secret", string(http_file_share_secret));
    out.try_put(
        "http_file_share_size_limit",
        size(http_file_share_size_limit),
    );
    out.put(
        "http_file_share_allowed_file_types",
        strings(http_file_share_allowed_file_types),
    );
    out.put(
        "http_file_share_safe_file_types",
        strings(http_file_share_safe_file_types),
    );
    out.try_put(
        "http_file_share_expires_after",
        period(http_file_share_expires_after),
    );
    out.try_put(
        "http_file_share_daily_quota",
        size(http_file_share_daily_quota),
    );
    out.try_put(
        "http_file_share_global_quota",
        size(http_file_share_global_quota),
    );
    out.put("http_file_share_access", strings(http_file_share_access));
    out.put(
        "restrict_room_creation",
        restrict_room_creation.as_ref().map(|r| match r {
            RoomCreation::Flag(b) => Value::Bool(*b),
            RoomCreation::Local(_) => Value::string("local"),
        }),
    );
    out.put("muc_log_all_rooms", flag(muc_log_all_rooms));
    out.put("muc_log_by_default", flag(muc_log_by_default));
    out.try_put("muc_log_expires_after", period(muc_log_expires_after));
    out.put("disco_items", disco_items(disco));
    out.put("disco_hidden", flag(disco_hidden));
    out.put("disco_expose_admins", flag(disco_expose_admins));
    // Options the Pod API does not know are left out of the installed prose.toml (with a
    // warning, `config::containers`), so they never reach Prosody's configuration either.
    let _ = other;
    if out.problems.is_empty() {
        Ok(out.options)
    } else {
        Err(out.problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: serde_json::Value) -> ProsodySettings {
        serde_json::from_value(json).unwrap()
    }

    fn lua(opts: &[(String, Value)], name: &str) -> String {
        opts.iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .1
            .to_lua()
    }

    #[test]
    fn typed_options_render_as_the_pod_api_prints_them() {
        let s = settings(serde_json::json!({
            "http_file_share_daily_quota": "200MiB",
            "c2s_stanza_size_limit": "262144B",
            "limits": { "s2sin": { "burst": "PT5S" }, "c2s": { "rate": "100kB/s", "burst": "PT3S" } },
            "c2s_timeout": "PT5M",
            "limits_resolution": "PT1S",
            "archive_expires_after": "P1Y",
            "http_file_share_expires_after": "P1W",
            "muc_log_expires_after": "infinite",
            "default_archive_policy": "roster",
            "restrict_room_creation": "local",
            "disco_items": [
                { "address": "a.example.org", "name": "A \"quoted\" name" },
                { "address": "b.example.org", "name": "B" },
                { "address": "a.example.org", "name": "A \"quoted\" name" },
            ],
            "ssl": { "protocol": "tlsv1_2+", "options": ["no_ticket"], "verify": "peer" },
            "contact_info": { "abuse": [], "admin": [], "feedback": [], "sales": [], "security": [], "support": ["mailto:s@example.org"] },
            "tls_profile": "intermediate",
            "log": { "warn": "console", "debug": "*syslog" },
            "modules_enabled": ["a", "b", "a"],
            "trusted_proxies": ["127.0.0.1", "::0001"],
            "http_paths": { "z": "/z", "file_share": "/upload" },
        }));
        let opts = options(&s).unwrap();
        assert_eq!(
            lua(&opts, "http_file_share_daily_quota"),
            "200 * 1024 * 1024"
        );
        assert_eq!(lua(&opts, "c2s_stanza_size_limit"), "262144");
        // Kinds in key order (the API reads tables into sorted maps).
        assert_eq!(
            lua(&opts, "limits"),
            "{\n  c2s = {\n    rate = \"100kb/s\";\n    burst = \"3s\";\n  };\n  s2sin = {\n    burst = \"5s\";\n  };\n}"
        );
        assert_eq!(lua(&opts, "c2s_timeout"), "\"5min\"");
        assert_eq!(lua(&opts, "limits_resolution"), "\"1s\"");
        assert_eq!(lua(&opts, "archive_expires_after"), "\"1y\"");
        assert_eq!(lua(&opts, "http_file_share_expires_after"), "\"1w\"");
        assert_eq!(lua(&opts, "muc_log_expires_after"), "\"never\"");
        assert_eq!(lua(&opts, "default_archive_policy"), "\"roster\"");
        assert_eq!(lua(&opts, "restrict_room_creation"), "\"local\"");
        assert_eq!(
            lua(&opts, "disco_items"),
            "{\n  {\n    \"b.example.org\";\n    \"B\";\n  };\n  {\n    \"a.example.org\";\n    \"A \\\"quoted\\\" name\";\n  };\n}"
        );
        assert_eq!(
            lua(&opts, "ssl"),
            "{\n  protocol = \"tlsv1_2+\";\n  verify = \"peer\";\n  options = { \"no_ticket\" };\n}"
        );
        assert_eq!(
            lua(&opts, "contact_info"),
            "{\n  support = { \"mailto:s@example.org\" };\n}"
        );
        assert_eq!(lua(&opts, "tls_profile"), "\"intermediate\"");
        assert_eq!(
            lua(&opts, "log"),
            "{\n  debug = \"*syslog\";\n  warn = \"*console\";\n}"
        );
        assert_eq!(lua(&opts, "modules_enabled"), "{\n  \"b\";\n  \"a\";\n}");
        assert_eq!(lua(&opts, "trusted_proxies"), "{\n  \"127.0.0.1\";\n  \"::1\";\n}");
        assert_eq!(
            lua(&opts, "http_paths"),
            "{\n  file_share = \"/upload\";\n  z = \"/z\";\n}"
        );
    }

    #[test]
    fn values_the_pod_api_refuses_are_problems_with_their_path() {
        let s = settings(serde_json::json!({
            "limits": { "c2s": { "burst": 4 } },
            "c2s_stanza_size_limit": 262144,
            "c2s_timeout": 300,
            "archive_expires_after": "never",
            "http_max_content_size": "1GiB",
            "contact_info": { "support": ["mailto:s@example.org"] },
            "trusted_proxies": ["10.0.0.0/8"],
            "sqlite_tune": true,
            "cross_domain_websocket": ["https://example.org"],
            "log": { "trace": "*console", "info": "/var/log/prosody.log" },
            "ssl": { "depth": 256 },
        }));
        let problems = options(&s).unwrap_err();
        let paths: Vec<String> = problems.iter().map(|p| p.path.join(".")).collect();
        assert_eq!(
            paths,
            [
                "log.trace",
                "sqlite_tune",
                "ssl.depth",
                "c2s_stanza_size_limit",
                "limits.c2s.burst",
                "cross_domain_websocket",
                "c2s_timeout",
                "contact_info",
                "archive_expires_after",
                "http_max_content_size",
                "trusted_proxies",
            ]
        );
        let help = |path: &str| &problems[paths.iter().position(|p| p == path).unwrap()].help;
        assert!(help("limits.c2s.burst").contains("\"PT4S\""));
        assert!(help("c2s_stanza_size_limit").contains("\"262144B\""));
        assert!(help("contact_info").contains("abuse = []"));
        assert!(help("archive_expires_after").contains("infinite"));
    }
}
