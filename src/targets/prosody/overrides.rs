//! `prosody.<host>.defaults|overrides`: the operator's Prosody options, as Lua values.
//!
//! Every typed option renders with its type (sizes as products, rates in Prosody's notation,
//! periods in the forms Prosody reads, `limits`, `ssl`, `contact_info`, `disco_items` …);
//! any other option passes through from the value written in `prose.toml`. The struct is
//! destructured field by field, so an option added to the model cannot be forgotten here.

use indexmap::IndexMap;

use super::convert;
use super::lua::Value;
use crate::config::prosody::{
    ArchivePolicy, BoolOrList, ContactInfo, DiscoItem, Limit, LimitKind, ProsodySettings,
    RoomCreation, SqlValue, SqliteTune, SslSettings,
};
use crate::config::types::{ByteSize, Hostname, ModuleName, ProsodyPeriod, TimeSpan};

/// A value that has no Prosody form: the option (and sub-key, if any) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The option name, then sub-keys (`["limits", "c2s", "burst"]`).
    pub path: Vec<String>,
    pub message: String,
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

    fn try_put(&mut self, name: &str, value: Option<Result<Value, (Vec<String>, String)>>) {
        match value {
            Some(Ok(value)) => self.options.push((name.to_owned(), value)),
            Some(Err((sub, message))) => {
                let mut path = vec![name.to_owned()];
                path.extend(sub);
                self.problems.push(Problem { path, message });
            }
            None => {}
        }
    }
}

fn string(s: &Option<String>) -> Option<Value> {
    s.as_ref().map(|s| Value::string(s.as_str()))
}

fn strings(list: &Option<Vec<String>>) -> Option<Value> {
    list.as_ref()
        .map(|l| Value::strings(l.iter().map(String::as_str)))
}

fn modules(list: &Option<Vec<ModuleName>>) -> Option<Value> {
    list.as_ref()
        .map(|l| Value::strings(l.iter().map(|m| m.0.as_str())))
}

fn hosts(list: &Option<Vec<Hostname>>) -> Option<Value> {
    list.as_ref().map(|l| {
        Value::strings(
            l.iter()
                .map(|h| super::generate::prosody_hostname(h.as_str())),
        )
    })
}

fn ports(list: &Option<Vec<u16>>) -> Option<Value> {
    list.as_ref()
        .map(|l| Value::List(l.iter().map(|p| Value::Integer(i64::from(*p))).collect()))
}

fn flag(b: &Option<bool>) -> Option<Value> {
    b.map(Value::Bool)
}

fn number(n: &Option<u32>) -> Option<Value> {
    n.map(|n| Value::Integer(i64::from(n)))
}

fn string_map(m: &Option<IndexMap<String, String>>) -> Option<Value> {
    m.as_ref().map(|m| {
        Value::map(
            m.iter()
                .map(|(k, v)| (k.as_str(), Value::string(v.as_str()))),
        )
    })
}

type Rendered = Result<Value, (Vec<String>, String)>;

fn plain(r: Result<Value, String>) -> Rendered {
    r.map_err(|m| (Vec::new(), m))
}

fn size(s: &Option<ByteSize>) -> Option<Rendered> {
    s.as_ref().map(|s| plain(convert::size(s)))
}

fn span(t: &Option<TimeSpan>) -> Option<Rendered> {
    t.as_ref().map(|t| plain(convert::time_span(t)))
}

fn period_string(p: &Option<ProsodyPeriod>) -> Option<Rendered> {
    p.as_ref()
        .map(|p| plain(convert::prosody_period_string(p.parsed())))
}

fn period_seconds(p: &Option<ProsodyPeriod>) -> Option<Rendered> {
    p.as_ref()
        .map(|p| plain(convert::prosody_period_seconds(p.parsed())))
}

fn limits(l: &Option<IndexMap<LimitKind, Limit>>) -> Option<Rendered> {
    let l = l.as_ref()?;
    let mut kinds = IndexMap::new();
    for (kind, limit) in l {
        let kind_name = match kind {
            LimitKind::C2s => "c2s",
            LimitKind::S2sin => "s2sin",
            LimitKind::S2sout => "s2sout",
            LimitKind::Component => "component",
        };
        let mut fields = IndexMap::new();
        if let Some(rate) = &limit.rate {
            fields.insert("rate".to_owned(), convert::rate(rate));
        }
        if let Some(burst) = &limit.burst {
            match convert::burst(burst) {
                Ok(v) => {
                    fields.insert("burst".to_owned(), v);
                }
                Err(m) => return Some(Err((vec![kind_name.into(), "burst".into()], m))),
            }
        }
        kinds.insert(kind_name.to_owned(), Value::Map(fields));
    }
    Some(Ok(Value::Map(kinds)))
}

fn ssl(s: &Option<SslSettings>) -> Option<Value> {
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
    put("verify", strings(verify));
    put("options", strings(options));
    put("depth", number(depth));
    put("ciphers", string(ciphers));
    put("dhparam", string(dhparam));
    put("curve", string(curve));
    put("verifyext", strings(verifyext));
    put("password", string(password));
    Some(Value::Map(m))
}

fn contact_info(c: &Option<ContactInfo>) -> Option<Value> {
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
    Some(Value::map(categories.into_iter().filter_map(|(k, v)| {
        v.as_ref()
            .map(|v| (k, Value::strings(v.iter().map(String::as_str))))
    })))
}

fn disco_items(items: &Option<Vec<DiscoItem>>) -> Option<Value> {
    items.as_ref().map(|items| {
        Value::List(
            items
                .iter()
                .map(|i| {
                    Value::Tuple(vec![
                        Value::string(i.address.as_str()),
                        Value::string(i.name.as_str()),
                    ])
                })
                .collect(),
        )
    })
}

/// The options of one `defaults` or `overrides` table, in the model's order then the
/// passthrough options in the order written, or the values that have no Prosody form.
pub fn options(s: &ProsodySettings) -> Result<Vec<(String, Value)>, Vec<Problem>> {
    let ProsodySettings {
        pidfile,
        admin_socket,
        log,
        admins,
        authentication,
        default_storage,
        storage,
        storage_archive_item_limit,
        storage_archive_item_limit_cache_size,
        sql,
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
    out.put("log", string_map(log));
    out.put("admins", strings(admins));
    out.put("authentication", string(authentication));
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
    out.put(
        "sql",
        sql.as_ref().map(|m| {
            Value::map(m.iter().map(|(k, v)| {
                let v = match v {
                    SqlValue::Text(s) => Value::string(s.as_str()),
                    SqlValue::Number(n) => Value::Integer(*n),
                    SqlValue::Flag(b) => Value::Bool(*b),
                };
                (k.as_str(), v)
            }))
        }),
    );
    out.put("sql_manage_tables", flag(sql_manage_tables));
    out.put(
        "sqlite_tune",
        sqlite_tune.as_ref().map(|t| match t {
            SqliteTune::Flag(b) => Value::Bool(*b),
            SqliteTune::Level(s) => Value::string(s.as_str()),
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
    out.put("ssl", ssl(ssl_settings));
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
    out.put("limits_resolution", number(limits_resolution));
    out.put("unlimited_jids", strings(unlimited_jids));
    out.put("consider_websocket_secure", flag(consider_websocket_secure));
    out.put(
        "cross_domain_websocket",
        cross_domain_websocket.as_ref().map(|c| match c {
            BoolOrList::Flag(b) => Value::Bool(*b),
            BoolOrList::List(l) => Value::strings(l.iter().map(String::as_str)),
        }),
    );
    out.try_put("c2s_timeout", span(c2s_timeout));
    out.try_put("c2s_close_timeout", span(c2s_close_timeout));
    out.put("c2s_tcp_keepalives", flag(c2s_tcp_keepalives));
    out.try_put("s2s_timeout", span(s2s_timeout));
    out.try_put("s2s_close_timeout", span(s2s_close_timeout));
    out.put("s2s_tcp_keepalives", flag(s2s_tcp_keepalives));
    out.put("contact_info", contact_info(contacts));
    out.try_put(
        "archive_expires_after",
        period_string(archive_expires_after),
    );
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
    out.put("access_control_max_age", number(access_control_max_age));
    out.put("http_default_cors_enabled", flag(http_default_cors_enabled));
    out.put("http_paths", string_map(http_paths));
    out.put("trusted_proxies", strings(trusted_proxies));
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
        period_seconds(http_file_share_expires_after),
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
    out.try_put(
        "muc_log_expires_after",
        period_string(muc_log_expires_after),
    );
    out.put("disco_items", disco_items(disco));
    out.put("disco_hidden", flag(disco_hidden));
    out.put("disco_expose_admins", flag(disco_expose_admins));
    for (name, value) in other {
        out.try_put(
            name,
            Some(convert::json(value).map_err(|m| (Vec::new(), m))),
        );
    }
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
    fn typed_options_render_with_their_types() {
        let s = settings(serde_json::json!({
            "http_file_share_daily_quota": "200MiB",
            "c2s_stanza_size_limit": 262144,
            "limits": { "c2s": { "rate": "100kB/s", "burst": "PT3S" }, "s2sin": { "burst": 5 } },
            "c2s_timeout": "PT5M",
            "archive_expires_after": "P1Y",
            "http_file_share_expires_after": "P1W",
            "muc_log_expires_after": "infinite",
            "default_archive_policy": "roster",
            "restrict_room_creation": "local",
            "disco_items": [{ "address": "a.example.org", "name": "A \"quoted\" name" }],
            "ssl": { "protocol": "tlsv1_2+", "options": ["no_ticket"] },
            "contact_info": { "support": ["mailto:s@example.org"], "abuse": [] },
            "tls_profile": "intermediate",
            "log": { "debug": "/var/log/prosody/debug.log" },
            "my_custom_option": { "nested key": [1, "two"] },
        }));
        let opts = options(&s).unwrap();
        assert_eq!(
            lua(&opts, "http_file_share_daily_quota"),
            "200 * 1024 * 1024"
        );
        assert_eq!(lua(&opts, "c2s_stanza_size_limit"), "262144");
        assert_eq!(
            lua(&opts, "limits"),
            "{\n  c2s = {\n    rate = \"100kb/s\";\n    burst = \"3s\";\n  };\n  s2sin = {\n    burst = \"5s\";\n  };\n}"
        );
        assert_eq!(lua(&opts, "c2s_timeout"), "300");
        assert_eq!(lua(&opts, "archive_expires_after"), "\"1y\"");
        assert_eq!(lua(&opts, "http_file_share_expires_after"), "604800");
        assert_eq!(lua(&opts, "muc_log_expires_after"), "\"never\"");
        assert_eq!(lua(&opts, "default_archive_policy"), "\"roster\"");
        assert_eq!(lua(&opts, "restrict_room_creation"), "\"local\"");
        assert_eq!(
            lua(&opts, "disco_items"),
            "{\n  { \"a.example.org\"; \"A \\\"quoted\\\" name\" };\n}"
        );
        assert_eq!(
            lua(&opts, "ssl"),
            "{\n  protocol = \"tlsv1_2+\";\n  options = { \"no_ticket\" };\n}"
        );
        assert_eq!(
            lua(&opts, "contact_info"),
            "{\n  abuse = {};\n  support = { \"mailto:s@example.org\" };\n}"
        );
        assert_eq!(lua(&opts, "tls_profile"), "\"intermediate\"");
        assert_eq!(
            lua(&opts, "log"),
            "{\n  debug = \"/var/log/prosody/debug.log\";\n}"
        );
        assert_eq!(
            lua(&opts, "my_custom_option"),
            "{\n  [\"nested key\"] = {\n    1;\n    \"two\";\n  };\n}"
        );
        // Model order, then passthrough options.
        assert_eq!(opts.last().unwrap().0, "my_custom_option");
    }

    #[test]
    fn unrepresentable_values_are_problems_with_their_path() {
        let s = settings(serde_json::json!({
            "limits": { "c2s": { "burst": "never" } },
            "archive_expires_after": "P999999999999Y",
        }));
        let problems = options(&s).unwrap_err();
        let paths: Vec<String> = problems.iter().map(|p| p.path.join(".")).collect();
        assert_eq!(paths, ["limits.c2s.burst", "archive_expires_after"]);
    }
}
