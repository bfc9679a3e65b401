//! `etc/prose/compose.yaml`: the pod's four containers (web app, Dashboard, Pod API, Pod
//! Server), as upstream's compose file (prose-pod-system), from `templates/compose.yaml.j2`.
//!
//! Kept from upstream: images, versions, users, volumes, network aliases, env files, and every
//! `${VAR:-default}` that `prose.env` may set (`config::env::COMPOSE_VARIABLES`).
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

use serde::Serialize;

use super::nginx::{APP_PORT, DASHBOARD_PORT};
use super::templating::Templates;
use super::{GeneratedFile, RenderContext};
use crate::config::formats;
use crate::diagnostics::Diagnostic;

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

/// Renders with `ctx.templates` (the embedded ones, or `--templates DIR`).
pub fn render(ctx: &RenderContext) -> Result<Vec<GeneratedFile>, Vec<Diagnostic>> {
    render_compose(&compose(ctx)?, ctx.templates)
}

pub fn compose(ctx: &RenderContext) -> Result<Compose, Vec<Diagnostic>> {
    let server = &ctx.config.server;
    // A network alias is a DNS name inside the compose network: the same rule as a hostname.
    let alias = formats::hostname(server.local_hostname.as_str()).map_err(|p| {
        vec![
            Diagnostic::error("compose", format!("server.local_hostname: {}", p.message))
                .key("server.local_hostname")
                .at(ctx.span_of(&["server", "local_hostname"]), "not a hostname")
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
pub fn render_compose(
    compose: &Compose,
    templates: &Templates,
) -> Result<Vec<GeneratedFile>, Vec<Diagnostic>> {
    let text = templates.render_file("compose.yaml.j2", compose)?;
    Ok(vec![GeneratedFile {
        path: PATH.to_owned(),
        contents: text.into_bytes(),
        mode: 0o644,
    }])
}
