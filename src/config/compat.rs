//! Which component reads each key of `prose.toml`, from which version, and what the others
//! do with it: the Pod API (prose-pod-api) and the Pod Server (prose-pod-server) both read
//! `/etc/prose/prose.toml` and the `PROSE_*` variables of their environment (figment: file,
//! then `PROSE_` + `__`-separated path), each with its own model.
//!
//! Derived from the upstream code (API tags v0.13.0 to v0.19.2 and c673b0b, which compose
//! pins as 0.20.0; Server 0.4.0 to 0.5.0), which corrects the reference's "Compatibility"
//! lines where they disagree (`tests/integration/compat.rs` checks both). A key a component
//! does not read is *ignored* or *refused* by it: the Pod API >= v0.18.0 refuses unknown keys
//! in every table (`deny_unknown_fields`; the top level in release builds, which every image
//! is), except in `api.databases` (v0.19.2+) and `server_api` (v0.20.0+); the Pod Server
//! refuses them only in `service_accounts`, `vendor_analytics` and `backups`.

use std::fmt;
use std::sync::OnceLock;

/// A component that reads `prose.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    PodApi,
    PodServer,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::PodApi => "Pod API",
            Component::PodServer => "Pod Server",
        }
    }

    /// The `prose.env` variable that chooses its image version.
    pub fn version_variable(self) -> &'static str {
        match self {
            Component::PodApi => "PROSE_POD_API_VERSION",
            Component::PodServer => "PROSE_POD_SERVER_VERSION",
        }
    }
}

/// A release version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u16, pub u16, pub u16);

impl Version {
    /// `0.20.0`, `v0.20.0` or `0.20`; `None` for a tag that is no version (`latest`).
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let mut parts = text.split('.');
        let mut next = || -> Option<u16> {
            match parts.next() {
                None => Some(0),
                Some(p) => p.parse().ok(),
            }
        };
        let version = Version(next()?, next()?, next()?);
        parts.next().is_none().then_some(version)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The image versions compose runs unless `prose.env` says otherwise (prose-pod-system
/// `compose.yaml`, 442054d). `compose.yaml.j2` writes these very constants as its defaults.
pub const POD_API_VERSION: &str = "0.20.0";
pub const POD_SERVER_VERSION: &str = "0.4.3";
pub const APP_WEB_VERSION: &str = "0.14.1";
pub const POD_DASHBOARD_VERSION: &str = "0.3.2";

/// What the loader learnt about where the configuration runs, beyond its keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployment {
    pub pins: Pins,
    /// Secrets whose effective value the environment or `--set` gave, not `prose.toml` (nor
    /// the generated `prose-server.env`): never written into the tree, where a comment
    /// names the variable that must provide them.
    pub env_secrets: Vec<EnvSecret>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSecret {
    pub path: Vec<String>,
    /// The variable that sets it (`PROSE_NOTIFIERS__EMAIL__SMTP_PASSWORD`).
    pub variable: String,
    /// Where it was set now (`prose.env`, `the environment`, `--set`).
    pub from: String,
}

/// The versions that will read the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pins {
    pub api: Pin,
    pub server: Pin,
}

/// One component's version: where it comes from, and the release it is (`None` for a tag
/// such as `latest`, checked as the compose default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub tag: String,
    pub version: Option<Version>,
    /// The variable that set it, if not compose's default.
    pub set_by: Option<String>,
}

impl Pin {
    fn default_for(tag: &str) -> Pin {
        Pin {
            tag: tag.to_owned(),
            version: Version::parse(tag),
            set_by: None,
        }
    }

    /// The version compatibility is judged at.
    pub fn effective(&self, component: Component) -> Version {
        self.version.unwrap_or_else(|| {
            let default = match component {
                Component::PodApi => POD_API_VERSION,
                Component::PodServer => POD_SERVER_VERSION,
            };
            Version::parse(default).unwrap_or(Version(0, 0, 0))
        })
    }
}

impl Default for Pins {
    fn default() -> Self {
        Pins {
            api: Pin::default_for(POD_API_VERSION),
            server: Pin::default_for(POD_SERVER_VERSION),
        }
    }
}

impl Pins {
    /// The pins after the variables (`NAME`, value), later ones winning.
    pub fn from_variables<'a>(variables: impl IntoIterator<Item = (&'a str, &'a str)>) -> Pins {
        let mut pins = Pins::default();
        for (name, value) in variables {
            let pin = match name {
                "PROSE_POD_API_VERSION" => &mut pins.api,
                "PROSE_POD_SERVER_VERSION" => &mut pins.server,
                _ => continue,
            };
            *pin = Pin {
                tag: value.trim().to_owned(),
                version: Version::parse(value),
                set_by: Some(name.to_owned()),
            };
        }
        pins
    }

    pub fn get(&self, component: Component) -> &Pin {
        match component {
            Component::PodApi => &self.api,
            Component::PodServer => &self.server,
        }
    }

    /// `Pod API 0.20.0`.
    pub fn label(&self, component: Component) -> String {
        format!("{} {}", component.name(), self.get(component).tag)
    }
}

/// Which versions of a component read a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    Never,
    /// From this version on (`Version(0, 0, 0)`: every version known).
    Since(Version),
    /// From the first version, up to the second (excluded: the version that dropped it).
    Between(Version, Version),
}

impl Reads {
    pub fn at(self, version: Version) -> bool {
        match self {
            Reads::Never => false,
            Reads::Since(from) => version >= from,
            Reads::Between(from, until) => version >= from && version < until,
        }
    }

    /// `since v0.16.0`, `from v0.16.0, until before v0.18.0`, `by no version`.
    pub fn describe(self) -> String {
        match self {
            Reads::Never => "by no version".into(),
            Reads::Since(Version(0, 0, 0)) => "by every version".into(),
            Reads::Since(v) => format!("since v{v}"),
            Reads::Between(Version(0, 0, 0), until) => format!("before v{until}"),
            Reads::Between(from, until) => format!("from v{from}, until before v{until}"),
        }
    }
}

/// One row: a key (or a whole table) and who reads it.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Dotted path; `*` stands for any one segment (a map key).
    pub key: &'static str,
    pub api: Reads,
    pub server: Reads,
    /// Why, where the code and the reference disagree, or what to do.
    pub note: &'static str,
}

const fn v(major: u16, minor: u16, patch: u16) -> Version {
    Version(major, minor, patch)
}
const ALL: Reads = Reads::Since(v(0, 0, 0));
const NEVER: Reads = Reads::Never;
const fn since(major: u16, minor: u16, patch: u16) -> Reads {
    Reads::Since(v(major, minor, patch))
}

macro_rules! table {
    ($($key:literal: api $api:expr, server $server:expr $(, $note:literal)?;)*) => {
        /// Every key of the model, most specific rows after the tables that hold them.
        pub const TABLE: &[Entry] = &[$(Entry { key: $key, api: $api, server: $server, note: concat!("" $(, $note)?) }),*];
    };
}

table! {
    "branding.company_name": api ALL, server NEVER;
    "branding.api_app_name": api since(0, 16, 0), server NEVER;
    "notifiers": api since(0, 16, 0), server NEVER;
    "log": api since(0, 14, 0), server since(0, 4, 0);
    "log.with_ansi": api since(0, 14, 0), server NEVER;
    "log.with_level": api since(0, 14, 0), server NEVER;
    "log.opentelemetry": api NEVER, server since(0, 4, 0);
    "pod.address": api since(0, 16, 0), server since(0, 4, 1),
        "the Pod Server reads it only to derive `dashboard.url`";
    "server.domain": api since(0, 15, 0), server since(0, 4, 0);
    "server.local_hostname": api ALL, server since(0, 4, 0);
    "server.http_port": api ALL, server since(0, 4, 0);
    "server.log_level": api ALL, server since(0, 4, 0),
        "the reference says \"Pod API <= v0.19.2\"; v0.20.0 still reads it (without `trace`)";
    "server.defaults": api ALL, server NEVER;
    "dashboard.url": api since(0, 16, 0), server since(0, 4, 1);
    "vendor_analytics": api NEVER, server since(0, 4, 1);
    "policies": api NEVER, server since(0, 4, 1);
    "proxy.cloud_api_url": api NEVER, server since(0, 4, 1);
    "proxy.prose_files_url": api NEVER, server since(0, 4, 2);
    "teams.main_team_name": api NEVER, server since(0, 4, 0);
    "backups": api NEVER, server since(0, 5, 0);
    "api.address": api since(0, 16, 0), server NEVER;
    "api.port": api since(0, 16, 0), server since(0, 5, 0);
    "api.local_hostname": api NEVER, server since(0, 5, 0);
    "api.default_response_timeout": api Reads::Between(v(0, 16, 0), v(0, 18, 0)), server NEVER,
        "removed from the Pod API in v0.18.0, although the reference still lists it: remove it";
    "api.default_retry_interval": api Reads::Between(v(0, 16, 0), v(0, 18, 0)), server NEVER,
        "removed from the Pod API in v0.18.0, although the reference still lists it: remove it";
    "api.databases": api since(0, 16, 0), server NEVER;
    "api.databases.main_read": api since(0, 19, 2), server NEVER;
    "api.databases.main_write": api since(0, 19, 2), server NEVER;
    "api.network_checks": api since(0, 18, 0), server NEVER;
    "api.member_enriching": api since(0, 18, 0), server NEVER;
    "api.invitations": api since(0, 18, 0), server NEVER;
    "auth.token_ttl": api since(0, 15, 0), server since(0, 4, 0);
    "auth.password_reset_token_ttl": api since(0, 15, 0), server NEVER;
    "auth.min_password_length": api since(0, 20, 0), server NEVER,
        "added after v0.19.2, although the reference says \"Pod API >= v0.19.2\"";
    "auth.invitation_ttl": api since(0, 20, 0), server NEVER,
        "added after v0.19.2, although the reference says \"Pod API >= v0.19.2\"";
    "auth.oauth2_registration_key": api Reads::Between(v(0, 15, 0), v(0, 20, 0)), server since(0, 4, 0),
        "moved from the Pod API to the Pod Server (the API dropped it after v0.19.2)";
    "prosody_ext": api since(0, 14, 0), server NEVER;
    "prosody": api since(0, 16, 0), server NEVER;
    "prosody.*.*.admin_socket": api since(0, 20, 0), server NEVER;
    "service_accounts.prose_workspace.xmpp_node": api ALL, server since(0, 4, 0);
    "service_accounts.prose_workspace.password": api NEVER, server since(0, 4, 0);
    "public_contacts": api since(0, 17, 2), server NEVER;
    "debug_use_at_your_own_risk": api ALL, server NEVER;
    "debug_use_at_your_own_risk.skip_startup_actions": api since(0, 17, 0), server NEVER;
    "bootstrap": api ALL, server NEVER;
    "server_api.address": api NEVER, server since(0, 4, 0);
    "server_api.port": api since(0, 20, 0), server since(0, 4, 0);
    "audit": api NEVER, server NEVER, "read by prose-compile only: never written for the pod";
}

/// The row of a key: the most specific row whose key is a prefix of `path`.
/// (Asked for every value of every configuration: it allocates nothing.)
pub fn entry(path: &[&str]) -> Option<&'static Entry> {
    let (opening, wildcards) = rows_opening_with(path.first()?.as_bytes().first().copied());
    // The last of the longest matching rows, as `max_by_key` over the table would pick it.
    opening
        .iter()
        .chain(wildcards)
        .filter_map(|&row| {
            let row = usize::from(row);
            matched_depth(TABLE[row].key, path).map(|depth| (depth, row))
        })
        .max()
        .map(|(_, row)| &TABLE[row])
}

/// The rows a path opening with `byte` (none: an empty first segment) can match, as indices
/// into [`TABLE`]: those whose key opens with that byte, and those opening with `*`. Built
/// once per process (scanning the whole table for each key was 2 % of a `check`).
fn rows_opening_with(byte: Option<u8>) -> (&'static [u8], &'static [u8]) {
    static INDEX: OnceLock<[Vec<u8>; 256]> = OnceLock::new();
    const { assert!(TABLE.len() <= 256, "row indices are bytes") };
    let index = INDEX.get_or_init(|| {
        let mut index = [const { Vec::new() }; 256];
        for (row, entry) in TABLE.iter().enumerate() {
            if let Some(&opening) = entry.key.as_bytes().first() {
                index[usize::from(opening)].push(row as u8);
            }
        }
        index
    });
    let opening = match byte {
        Some(b'*') | None => &[][..],
        Some(byte) => &index[usize::from(byte)],
    };
    (opening, &index[usize::from(b'*')])
}

/// How many segments a row's key has, if each matches the path's (`*` matches any).
fn matched_depth(key: &str, path: &[&str]) -> Option<usize> {
    // Bytes, not `split('.')`: a `str` searcher per row was half of this function's cost.
    let mut rest = key.as_bytes();
    let mut depth = 0;
    loop {
        let segment = path.get(depth)?.as_bytes();
        let (pattern, tail) = match rest.iter().position(|b| *b == b'.') {
            Some(dot) => (&rest[..dot], Some(&rest[dot + 1..])),
            None => (rest, None),
        };
        if pattern != b"*" && pattern != segment {
            return None;
        }
        depth += 1;
        match tail {
            Some(tail) => rest = tail,
            None => return Some(depth),
        }
    }
}

/// What a component does with a key it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Reads,
    Ignores,
    /// It refuses the whole configuration: it does not start.
    Refuses,
}

impl Entry {
    pub fn reads(&self, component: Component) -> Reads {
        match component {
            Component::PodApi => self.api,
            Component::PodServer => self.server,
        }
    }
}

/// What `component` at `version` does with the key at `path` (whose row is `entry`).
pub fn fate(entry: &Entry, component: Component, version: Version, path: &[&str]) -> Fate {
    if entry.reads(component).at(version) {
        return Fate::Reads;
    }
    if refuses_unknown(component, version, path) {
        Fate::Refuses
    } else {
        Fate::Ignores
    }
}

/// Whether a component refuses a key it does not know at `path` (by the table holding it).
pub fn refuses_unknown(component: Component, version: Version, path: &[&str]) -> bool {
    match component {
        Component::PodApi => {
            if version < v(0, 18, 0) {
                return false;
            }
            match path {
                ["api", "databases", ..] => version < v(0, 19, 2),
                ["server_api", _, ..] => version < v(0, 20, 0),
                _ => true,
            }
        }
        Component::PodServer => match path {
            ["service_accounts", ..] | ["vendor_analytics", ..] => true,
            ["backups", ..] => version >= v(0, 5, 0),
            _ => false,
        },
    }
}

/// What to do so a component reads the key (a version that does), or nothing.
pub fn upgrade_hint(entry: &Entry, component: Component) -> Option<String> {
    match entry.reads(component) {
        Reads::Since(version) if version > v(0, 0, 0) => Some(format!(
            "set `{}={version}` (or later) in compose.env",
            component.version_variable()
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_or_without_v_and_patch() {
        assert_eq!(Version::parse("0.20.0"), Some(v(0, 20, 0)));
        assert_eq!(Version::parse("v0.4.3"), Some(v(0, 4, 3)));
        assert_eq!(Version::parse("0.5"), Some(v(0, 5, 0)));
        assert_eq!(Version::parse("latest"), None);
        assert_eq!(Version::parse("1.2.3.4"), None);
        assert!(v(0, 19, 2) < v(0, 20, 0));
    }

    #[test]
    fn the_most_specific_row_wins() {
        assert_eq!(entry(&["log", "level"]).unwrap().key, "log");
        assert_eq!(
            entry(&["log", "opentelemetry", "enabled"]).unwrap().key,
            "log.opentelemetry"
        );
        assert_eq!(
            entry(&["prosody", "example.org", "overrides", "admin_socket"])
                .unwrap()
                .key,
            "prosody.*.*.admin_socket"
        );
        assert!(entry(&["nothing"]).is_none());
    }

    #[test]
    fn the_pinned_api_refuses_server_only_tables_and_the_server_ignores_api_keys() {
        let api = v(0, 20, 0);
        let server = v(0, 4, 3);
        let fate_of = |path: &[&str], component, version| {
            fate(entry(path).unwrap(), component, version, path)
        };
        let analytics = ["vendor_analytics", "enabled"];
        assert_eq!(fate_of(&analytics, Component::PodApi, api), Fate::Refuses);
        assert_eq!(
            fate_of(&analytics, Component::PodServer, server),
            Fate::Reads
        );
        let archive = ["server", "defaults", "message_archive_enabled"];
        assert_eq!(
            fate_of(&archive, Component::PodServer, server),
            Fate::Ignores
        );
        let timeout = ["api", "default_response_timeout"];
        assert_eq!(fate_of(&timeout, Component::PodApi, api), Fate::Refuses);
        assert_eq!(
            fate_of(&timeout, Component::PodApi, v(0, 17, 3)),
            Fate::Reads
        );
        let backups = ["backups", "s3", "region"];
        assert_eq!(
            fate_of(&backups, Component::PodServer, server),
            Fate::Ignores
        );
        assert_eq!(
            fate_of(&backups, Component::PodServer, v(0, 5, 0)),
            Fate::Reads
        );
        let server_api = ["server_api", "address"];
        assert_eq!(fate_of(&server_api, Component::PodApi, api), Fate::Ignores);
        assert_eq!(
            fate_of(&server_api, Component::PodApi, v(0, 19, 2)),
            Fate::Refuses
        );
    }

    #[test]
    fn pins_follow_the_variables() {
        let pins = Pins::from_variables([("PROSE_POD_API_VERSION", "0.19.2"), ("X", "y")]);
        assert_eq!(pins.api.version, Some(v(0, 19, 2)));
        assert_eq!(pins.api.set_by.as_deref(), Some("PROSE_POD_API_VERSION"));
        assert_eq!(pins.server, Pins::default().server);
        let latest = Pins::from_variables([("PROSE_POD_SERVER_VERSION", "latest")]);
        assert_eq!(latest.server.effective(Component::PodServer), v(0, 4, 3));
    }

    /// The row of every key of the schema (and of a few keys below the rows' wildcards) is
    /// the one the straightforward rule gives: every row whose segments match, the longest.
    #[test]
    fn entry_is_the_longest_matching_row() {
        fn reference(path: &[&str]) -> Option<&'static Entry> {
            TABLE
                .iter()
                .filter(|e| {
                    let segments: Vec<&str> = e.key.split('.').collect();
                    segments.len() <= path.len()
                        && segments
                            .iter()
                            .zip(path)
                            .all(|(pattern, segment)| *pattern == "*" || pattern == segment)
                })
                .max_by_key(|e| e.key.split('.').count())
        }
        let nav = crate::config::schema_nav::SchemaNav::new(crate::config::schema::schema_cached());
        let mut keys = nav.all_paths();
        keys.extend(TABLE.iter().map(|e| e.key.replace('*', "crisp.chat")));
        keys.extend(TABLE.iter().map(|e| format!("{}.extra.deeper", e.key)));
        keys.extend(
            [
                "",
                "*",
                "*.x",
                ".x",
                "unknown",
                "prosody",
                "prosody.global.overrides.x",
            ]
            .map(String::from),
        );
        assert!(keys.len() > 100, "{}", keys.len());
        for key in &keys {
            let path: Vec<&str> = key.split('.').collect();
            assert_eq!(
                entry(&path).map(|e| e.key),
                reference(&path).map(|e| e.key),
                "{key}"
            );
        }
    }
}
