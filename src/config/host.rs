//! Where the pod lives on its host, as compose (`etc/prose/compose.yaml`) lays it out: the
//! user and group the Pod API and the Pod Server run as, the host directories compose mounts
//! into them, the ports it publishes. The tree's host files (`sysusers.d`, `tmpfiles.d`, the
//! certificate hook, the DNS records, `INSTALL.md`) are made from this table, and a test keeps
//! it equal to the volumes and ports of `templates/compose.yaml.j2`.
//!
//! The tree follows compose's defaults: a compose variable that moves one of them
//! (`PROSE_POD_API_DATA_DIR` in `compose.env`, …) is warned about, as `PROSE_POD_SERVER_PORT_HTTP`
//! is, since the users, directories and records would no longer match.

use super::env::Assignment;
use crate::diagnostics::{Diagnostic, code};

/// The account the deployment guide creates (step 2), which runs the docker CLI
/// (`prose.service`) and owns the pod's directories.
pub const USER: &str = "prose";
/// The group of the same name.
pub const GROUP: &str = "prose";
/// Its uid and gid: what compose runs the Pod API and the Pod Server as
/// (`${PROSE_UID-1001}:${PROSE_GID-1001}`), so the files they read and write are theirs.
pub const ID: u32 = 1001;
/// The group whose members may use the docker daemon (guide: `usermod -aG docker prose`).
pub const DOCKER_GROUP: &str = "docker";

/// The compose services that mount host directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Api,
    Server,
}

impl Service {
    /// Its name in `compose.yaml`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Api => "api",
            Service::Server => "server",
        }
    }
}

/// A host directory compose mounts into containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mount {
    /// The compose variable that moves it on the host.
    pub variable: &'static str,
    /// Its host path by default (no trailing slash).
    pub host: &'static str,
    /// Where the containers see it.
    pub container: &'static str,
    pub services: &'static [Service],
    /// What it holds, for comments.
    pub what: &'static str,
}

/// Every host directory of `compose.yaml`, in the order the tree's files list them.
pub const MOUNTS: &[Mount] = &[
    Mount {
        variable: "PROSE_CONFIG_DIR",
        host: "/etc/prose",
        container: "/etc/prose",
        services: &[Service::Api, Service::Server],
        what: "the Prose configuration",
    },
    Mount {
        variable: "PROSODY_CONFIG_DIR",
        host: "/etc/prosody",
        container: "/etc/prosody",
        services: &[Service::Api, Service::Server],
        what: "Prosody's configuration and certificates",
    },
    Mount {
        variable: "PROSE_POD_API_DATA_DIR",
        host: "/var/lib/prose-pod-api",
        container: "/var/lib/prose-pod-api",
        services: &[Service::Api],
        what: "the Pod API's data (invitations, roles…)",
    },
    Mount {
        variable: "PROSE_POD_SERVER_DATA_DIR",
        host: "/var/lib/prose-pod-server",
        container: "/var/lib/prose-pod-server",
        services: &[Service::Server],
        what: "the Pod Server's data",
    },
    Mount {
        variable: "PROSODY_DATA_DIR",
        host: "/var/lib/prosody",
        container: "/var/lib/prosody",
        services: &[Service::Server],
        what: "Prosody's data (messages, avatars…)",
    },
];

/// Where Prosody reads certificates: `certs` beside its configuration, one directory per
/// certificate name holding `fullchain.pem` and `privkey.pem` (certbot's layout, which
/// Prosody's certmanager looks for).
pub const PROSODY_CERTS: &str = "/etc/prosody/certs";

/// A port compose publishes on every interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The compose variable that moves it on the host.
    pub variable: &'static str,
    pub port: u16,
}

/// XMPP client connections (`_xmpp-client._tcp`).
pub const C2S: Published = Published {
    variable: "PROSE_POD_SERVER_PORT_C2S",
    port: 5222,
};
/// XMPP server-to-server connections (`_xmpp-server._tcp`).
pub const S2S: Published = Published {
    variable: "PROSE_POD_SERVER_PORT_S2S",
    port: 5269,
};

/// The host path of `path` as `service` sees it: `None` when no mount of that service holds
/// it (a file there lives and dies with the container).
pub fn host_path(service: Service, path: &str) -> Option<String> {
    MOUNTS
        .iter()
        .filter(|m| m.services.contains(&service))
        .find_map(|m| {
            let rest = path.strip_prefix(m.container)?;
            (rest.is_empty() || rest.starts_with('/')).then(|| format!("{}{rest}", m.host))
        })
}

/// Compose variables that move what the tree's host files create, with what they move.
fn moved_by(variable: &str) -> Option<String> {
    if let Some(mount) = MOUNTS.iter().find(|m| m.variable == variable) {
        return Some(format!(
            "{} ({}), which the tree's tmpfiles.d and INSTALL.md create",
            mount.host, mount.what
        ));
    }
    if let Some(port) = [C2S, S2S].iter().find(|p| p.variable == variable) {
        return Some(format!(
            "the published port {}, which the tree's SRV records name",
            port.port
        ));
    }
    let ids = [
        "PROSE_UID",
        "PROSE_GID",
        "PROSE_POD_API_UID",
        "PROSE_POD_API_GID",
        "PROSE_POD_SERVER_UID",
        "PROSE_POD_SERVER_GID",
    ];
    ids.contains(&variable).then(|| {
        format!(
            "the uid/gid {ID} the containers run as, which the tree's sysusers.d gives the \
             `{USER}` user and tmpfiles.d its directories"
        )
    })
}

/// Warns about every compose variable (`compose.env`, `prose.env`, the environment) that moves
/// a directory, an id or a port away from compose's default: the tree follows the defaults.
pub fn check_variables(assignments: &[Assignment], diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::BTreeSet::new();
    for a in assignments.iter().rev() {
        if !seen.insert(a.name.as_str()) {
            continue; // an earlier layer's value, replaced
        }
        let Some(what) = moved_by(&a.name) else {
            continue;
        };
        let default = MOUNTS
            .iter()
            .find(|m| m.variable == a.name)
            .map(|m| m.host.to_owned())
            .or_else(|| {
                [C2S, S2S]
                    .iter()
                    .find(|p| p.variable == a.name)
                    .map(|p| p.port.to_string())
            })
            .unwrap_or_else(|| ID.to_string());
        let value = a.value.trim().trim_end_matches('/');
        if value.is_empty() || value == default {
            continue;
        }
        diagnostics.push(
            Diagnostic::warning(code::COMPOSE_VARIABLE, format!("`{}` moves {what}", a.name))
                .at(Some(a.value_span), "the tree does not follow this")
                .help(format!("remove it, or keep {default}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths_map_to_the_host_directory_of_their_mount() {
        assert_eq!(
            host_path(Service::Api, "/var/lib/prose-pod-api/database.sqlite").as_deref(),
            Some("/var/lib/prose-pod-api/database.sqlite")
        );
        assert_eq!(
            host_path(Service::Api, "/etc/prosody/prosody.cfg.lua").as_deref(),
            Some("/etc/prosody/prosody.cfg.lua")
        );
        // Not mounted into that container, or only a name that starts the same way.
        assert_eq!(host_path(Service::Api, "/var/lib/prosody/x"), None);
        assert_eq!(host_path(Service::Api, "/var/lib/prose-pod-api2/db"), None);
        assert_eq!(host_path(Service::Api, "/tmp/database.sqlite"), None);
    }
}
