//! `etc/prose/compose.yaml`: the pod's four containers (web app, Dashboard, Pod API, Pod
//! Server), as upstream's compose file (prose-pod-system `compose.yaml`), from
//! `templates/compose.yaml.j2`.
//!
//! Kept from upstream: `name: prose`, images, versions, users, volumes, network aliases
//! (`prose-pod-server` always: the Pod Server reaches Prosody's OAuth2 at
//! `http://prose-pod-server:5280`), env files, and every `${VAR:-${FALLBACK-default}}` with
//! its nested defaults ([`VARIABLES`]); the file is for Compose v2 (prose.service runs
//! `docker compose`). Differences, each deliberate:
//! - the web app and the Dashboard are published on 127.0.0.1 only: nginx serves them over
//!   HTTPS, and a Dashboard on a public plain-HTTP port would expose admin logins;
//! - the Pod Server's HTTP port inside the container is `server.http_port` (where Prosody
//!   listens), and so is the default host port nginx proxies to;
//! - Prosody's HTTPS port 5281 is published on 127.0.0.1 by default (upstream: 0.0.0.0).
//!   Nothing listens there (the carried `https_ports = {}`), but an override that opens it
//!   would serve `/rest`, OAuth2 and the WebSocket to the world without nginx's TLS,
//!   headers and limits; `PROSE_POD_SERVER_INTERFACE_HTTPS` still publishes it elsewhere;
//! - `server.local_hostname`, when it is not `prose-pod-server`, is an extra alias;
//! - `prose.env` may be absent (`required: false`), and the Pod Server also gets the
//!   generated `prose-server.env`, its own keys (see `prose_toml`).
//!
//! Every value that comes from the configuration is written with `yaml_str`, which also doubles
//! `$` so compose does not interpolate it.

use crate::config::keys;
use serde::Serialize;

/// The alias upstream gives the Pod Server, which the Pod Server itself relies on.
pub const SERVER_ALIAS: &str = "prose-pod-server";

use super::nginx::{APP_PORT, DASHBOARD_PORT};
use super::templating::{Templates, template};
use super::{GeneratedFile, RenderContext};
use crate::config::env::FileVariable;
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
    /// `server.local_hostname`, when it is not [`SERVER_ALIAS`].
    pub extra_aliases: Vec<String>,
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
                validator: Validator::ComposeSchema,
            },
        ]
    }
    fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        render(ctx)
    }
}

/// Variables the generated `compose.yaml` reads (from `compose.env` or `prose.env`): images,
/// versions, users, ports, directories, env files, all upstream's. A test keeps them equal
/// to the variables `templates/compose.yaml.j2` uses.
pub const VARIABLES: [FileVariable; 38] = [
    FileVariable::read("PROSE_CONFIG_DIR"),
    FileVariable::read("PROSE_ENV_FILE"),
    FileVariable::read("PROSE_UID"),
    FileVariable::read("PROSE_GID"),
    FileVariable::read("PROSE_POD_IS_TTY"),
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
    FileVariable::read("PROSE_POD_SERVER_PORT_HTTP"),
    FileVariable::read("PROSE_POD_SERVER_PORT_HTTPS"),
];

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
        extra_aliases: (alias != SERVER_ALIAS).then_some(alias).into_iter().collect(),
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
        let mut listed: Vec<&str> = VARIABLES.iter().map(|v| v.name).collect();
        listed.sort_unstable();
        assert_eq!(used, listed);
    }

    /// The host layout the tree's host files follow is compose's: every volume of the
    /// template is a mount of `config::host` (variable, default, container path, services),
    /// and the published XMPP ports are its ports.
    #[test]
    fn the_host_layout_is_the_templates_volumes_and_ports() {
        use crate::config::host::{C2S, MOUNTS, S2S};
        let template = include_str!("../../templates/compose.yaml.j2");
        let mut volumes: Vec<(String, String)> = Vec::new();
        let mut service = "";
        for line in template.lines() {
            if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
                && !name.starts_with(' ')
            {
                service = name;
            }
            let Some(volume) = line.trim().strip_prefix("- \"${") else {
                continue;
            };
            let Some((variable, rest)) = volume.split_once(":-") else {
                continue;
            };
            let Some((default, container)) = rest.split_once('}') else {
                continue;
            };
            let container = container.trim_end_matches('"').trim_start_matches("/:");
            let container = container.trim_start_matches(':').trim_end_matches('/');
            if container.starts_with('/') {
                volumes.push((
                    format!("{variable} {default} {container}"),
                    service.to_owned(),
                ));
            }
        }
        let mut expected: Vec<(String, String)> = MOUNTS
            .iter()
            .flat_map(|m| {
                m.services.iter().map(move |s| {
                    (
                        format!("{} {} {}", m.variable, m.host, m.container),
                        s.name().to_owned(),
                    )
                })
            })
            .collect();
        volumes.sort();
        expected.sort();
        assert_eq!(volumes, expected);
        for port in [C2S, S2S] {
            let published = format!("${{{}:-{}}}:{}\"", port.variable, port.port, port.port);
            assert!(template.contains(&published), "{published}");
        }
    }

    /// The versions compatibility is judged at are the ones compose runs by default.
    #[test]
    fn image_defaults_are_the_pinned_versions() {
        use crate::config::compat;
        let template = include_str!("../../templates/compose.yaml.j2");
        for (variable, version) in [
            ("PROSE_APP_WEB_VERSION", compat::APP_WEB_VERSION),
            ("PROSE_POD_DASHBOARD_VERSION", compat::POD_DASHBOARD_VERSION),
            ("PROSE_POD_API_VERSION", compat::POD_API_VERSION),
            ("PROSE_POD_SERVER_VERSION", compat::POD_SERVER_VERSION),
        ] {
            let default = format!("${{{variable}:-{version}}}");
            assert!(template.contains(&default), "{default}");
        }
    }
}
