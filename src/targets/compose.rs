//! `etc/prose/compose.yaml`: the pod's four containers (web app, Dashboard, Pod API, Pod
//! Server), as upstream's compose file (prose-pod-system), from `templates/compose.yaml.j2`.
//!
//! Kept from upstream: images, versions, users, volumes, network aliases, env files, and every
//! `${VAR:-default}` that `prose.env` may set ([`VARIABLES`]).
//! Differences, each deliberate:
//! - the Pod Server's HTTP port is `server.http_port` on both sides of the mapping, and no
//!   longer `PROSE_POD_SERVER_PORT_HTTP`: nginx proxies to that port, so the two cannot drift;
//! - the Pod Server's network alias is `server.local_hostname` (what the Pod API connects to);
//! - the web app and the Dashboard are published on 127.0.0.1 only: nginx serves them over
//!   HTTPS, and a Dashboard on a public plain-HTTP port would expose admin logins;
//! - no top-level `name: prose`: docker-compose 1.x refuses the key, and the project is named
//!   `prose` anyway, after the directory `/etc/prose` (prose.service also sets
//!   `COMPOSE_PROJECT_NAME=prose`).
//!
//! Every value that comes from the configuration is written with `yaml_str`, which also doubles
//! `$` so compose does not interpolate it.

use crate::config::keys;
use serde::Serialize;

use super::nginx::{APP_PORT, DASHBOARD_PORT};
use super::templating::{Templates, template};
use super::{GeneratedFile, RenderContext};
use crate::config::env::{FileVariable, VariableStatus};
use crate::config::formats;
use crate::diagnostics::{Diagnosed, Diagnostic, code};

pub const PATH: &str = "etc/prose/compose.yaml";

/// The variables of `compose.yaml.j2`.
#[derive(Debug, Clone, Serialize)]
pub struct Compose {
    pub notice: String,
    /// Default host port of the web app (`PROSE_APP_WEB_PORT`), what nginx proxies to.
    pub app_port: u16,
    /// Default host port of the Dashboard (`PROSE_POD_DASHBOARD_PORT`).
    pub dashboard_port: u16,
    /// `server.http_port`.
    pub http_port: u16,
    /// `server.local_hostname`.
    pub server_alias: String,
}

/// The target: `compose.yaml`.
pub struct ComposeFile;

impl super::Target for ComposeFile {
    fn name(&self) -> &'static str {
        "compose"
    }
    fn paths(&self) -> &'static [&'static str] {
        &[PATH]
    }
    fn templates(&self) -> &'static [super::templating::TemplateSource] {
        &[template!("compose.yaml.j2")]
    }
    fn variables(&self) -> &'static [FileVariable] {
        &VARIABLES
    }
    fn checks(&self) -> &'static [super::Check] {
        use super::{Check, Validator};
        &[
            Check {
                files: PATH,
                validator: Validator::ComposeConfig,
            },
            Check {
                files: PATH,
                validator: Validator::ComposeSchema,
            },
        ]
    }
    fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        render(ctx)
    }
}

/// Variables the generated `compose.yaml` reads from `prose.env` (images, versions, users,
/// ports, directories), and upstream's that it no longer reads (docker-compose 1.x cannot
/// nest `${A:-${B}}` defaults), with what to set instead. A test keeps the read ones equal
/// to the variables `templates/compose.yaml.j2` uses.
pub const VARIABLES: [FileVariable; 38] = [
    FileVariable::read("PROSE_CONFIG_DIR"),
    FileVariable::read("PROSE_APP_WEB_IMAGE"),
    FileVariable::read("PROSE_APP_WEB_VERSION"),
    FileVariable::read("PROSE_APP_WEB_UID"),
    FileVariable::read("PROSE_APP_WEB_GID"),
    FileVariable::read("PROSE_APP_WEB_PORT"),
    FileVariable::read("PROSE_APP_WEB_IS_TTY"),
    FileVariable::read("PROSE_POD_DASHBOARD_IMAGE"),
    FileVariable::read("PROSE_POD_DASHBOARD_VERSION"),
    FileVariable::read("PROSE_POD_DASHBOARD_UID"),
    FileVariable::read("PROSE_POD_DASHBOARD_GID"),
    FileVariable::read("PROSE_POD_DASHBOARD_PORT"),
    FileVariable::read("PROSE_POD_DASHBOARD_IS_TTY"),
    FileVariable::read("PROSE_POD_API_IMAGE"),
    FileVariable::read("PROSE_POD_API_VERSION"),
    FileVariable::read("PROSE_POD_API_UID"),
    FileVariable::read("PROSE_POD_API_GID"),
    FileVariable::read("PROSE_POD_API_IS_TTY"),
    FileVariable::read("PROSE_POD_API_DATA_DIR"),
    FileVariable::read("PROSE_POD_API_ENV_FILE"),
    FileVariable::read("PROSE_POD_SERVER_IMAGE"),
    FileVariable::read("PROSE_POD_SERVER_VERSION"),
    FileVariable::read("PROSE_POD_SERVER_UID"),
    FileVariable::read("PROSE_POD_SERVER_GID"),
    FileVariable::read("PROSE_POD_SERVER_IS_TTY"),
    FileVariable::read("PROSE_POD_SERVER_DATA_DIR"),
    FileVariable::read("PROSE_POD_SERVER_INTERFACE_C2S"),
    FileVariable::read("PROSE_POD_SERVER_INTERFACE_S2S"),
    FileVariable::read("PROSE_POD_SERVER_INTERFACE_HTTP"),
    FileVariable::read("PROSE_POD_SERVER_INTERFACE_HTTPS"),
    FileVariable::read("PROSE_POD_SERVER_PORT_C2S"),
    FileVariable::read("PROSE_POD_SERVER_PORT_S2S"),
    FileVariable::read("PROSE_POD_SERVER_PORT_HTTPS"),
    retired(
        "PROSE_UID",
        "set `PROSE_APP_WEB_UID`, `PROSE_POD_DASHBOARD_UID`, `PROSE_POD_API_UID` and `PROSE_POD_SERVER_UID`",
    ),
    retired(
        "PROSE_GID",
        "set `PROSE_APP_WEB_GID`, `PROSE_POD_DASHBOARD_GID`, `PROSE_POD_API_GID` and `PROSE_POD_SERVER_GID`",
    ),
    retired(
        "PROSE_POD_IS_TTY",
        "set `PROSE_APP_WEB_IS_TTY`, `PROSE_POD_DASHBOARD_IS_TTY`, `PROSE_POD_API_IS_TTY` and `PROSE_POD_SERVER_IS_TTY`",
    ),
    retired(
        "PROSE_ENV_FILE",
        "set `PROSE_POD_API_ENV_FILE` and `PROSODY_ENV_FILE`",
    ),
    retired(
        "PROSE_POD_SERVER_PORT_HTTP",
        "set `server.http_port` (`PROSE_SERVER__HTTP_PORT`): nginx and Prosody use it too",
    ),
];

const fn retired(name: &'static str, instead: &'static str) -> FileVariable {
    FileVariable {
        name,
        status: VariableStatus::Retired { instead },
    }
}

/// Renders with `ctx.templates` (the embedded ones, or `--templates DIR`).
pub fn render(ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
    render_compose(&compose(ctx)?, ctx.templates)
}

pub fn compose(ctx: &RenderContext) -> Diagnosed<Compose> {
    let server = &ctx.config.server;
    // A network alias is a DNS name inside the compose network: the same rule as a hostname.
    let alias = formats::hostname(server.local_hostname.as_str()).map_err(|p| {
        vec![
            Diagnostic::error(
                code::COMPOSE,
                format!("server.local_hostname: {}", p.message),
            )
            .key(keys::SERVER_LOCAL_HOSTNAME)
            .at(
                ctx.span_of(keys::SERVER_LOCAL_HOSTNAME.path()),
                "not a hostname",
            )
            .help(p.help),
        ]
    })?;
    Ok(Compose {
        notice: ctx.notice(),
        app_port: APP_PORT,
        dashboard_port: DASHBOARD_PORT,
        http_port: server.http_port,
        server_alias: alias,
    })
}

/// Renders the file. Public so tests can render hostile values the front end would refuse.
pub fn render_compose(compose: &Compose, templates: &Templates) -> Diagnosed<Vec<GeneratedFile>> {
    let text = templates.render_file("compose.yaml.j2", compose)?;
    Ok(vec![GeneratedFile {
        path: PATH.into(),
        contents: text.into_bytes(),
        mode: 0o644,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_exactly_those_the_template_reads() {
        let template = include_str!("../../templates/compose.yaml.j2");
        let mut used: Vec<&str> = template
            .split("${")
            .skip(1)
            .filter_map(|rest| rest.split([':', '}', '-']).next())
            .filter(|name| name.starts_with(crate::config::env::PREFIX))
            .collect();
        used.sort_unstable();
        used.dedup();
        let mut listed: Vec<&str> = VARIABLES
            .iter()
            .filter(|v| v.status == VariableStatus::Read)
            .map(|v| v.name)
            .collect();
        listed.sort_unstable();
        assert_eq!(used, listed);
    }
}
