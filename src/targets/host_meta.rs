//! `var/www/default/.well-known/host-meta` (XRD) and `host-meta.json` (JRD): the XEP-0156
//! links to the pod's websocket endpoint, and to BOSH when Prosody serves it. nginx serves
//! them (see [`super::nginx`]) at the server domain, where clients look.
//!
//! The XML file carries the "do not edit" notice as a comment; JSON has no comments.

use crate::config::keys;
use serde::Serialize;

use super::templating::{Templates, template};
use super::{GeneratedFile, RenderContext};
use crate::config::formats;
use crate::diagnostics::{Diagnosed, Diagnostic, code};

pub const DIR: &str = "var/www/default/.well-known";
pub const WEBSOCKET_REL: &str = "urn:xmpp:alt-connections:websocket";
pub const BOSH_REL: &str = "urn:xmpp:alt-connections:xbosh";

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub rel: String,
    pub href: String,
}

/// The variables of `host-meta.j2` and `host-meta.json.j2`.
#[derive(Debug, Clone, Serialize)]
pub struct HostMeta {
    pub notice: String,
    pub links: Vec<Link>,
}

/// The target: host-meta in XML and JSON.
pub struct HostMetaFiles;

const XML: &str = "var/www/default/.well-known/host-meta";
const JSON: &str = "var/www/default/.well-known/host-meta.json";

impl super::Target for HostMetaFiles {
    fn name(&self) -> &'static str {
        "host-meta"
    }
    fn paths(&self) -> &'static [&'static str] {
        &[XML, JSON]
    }
    fn templates(&self) -> &'static [super::templating::TemplateSource] {
        &[template!("host-meta.j2"), template!("host-meta.json.j2")]
    }
    fn checks(&self) -> &'static [super::Check] {
        use super::{Check, Validator};
        &[
            Check {
                files: XML,
                validator: Validator::Xmllint,
            },
            Check {
                files: JSON,
                validator: Validator::Json,
            },
        ]
    }
    fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        render(ctx)
    }
}

/// Renders with `ctx.templates` (the embedded ones, or `--templates DIR`).
pub fn render(ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
    render_host_meta(&host_meta(ctx)?, ctx.templates)
}

/// The links: `wss://<pod domain>/websocket/`, and `https://<pod domain>/http-bind` when BOSH
/// is enabled (the paths nginx proxies to Prosody). Hostnames in ASCII, as URLs want them.
pub fn host_meta(ctx: &RenderContext) -> Diagnosed<HostMeta> {
    let pod = formats::hostname(&ctx.config.pod_domain()).map_err(|p| {
        vec![
            Diagnostic::error(code::HOST_META, format!("pod domain: {}", p.message))
                .key(keys::POD_DOMAIN)
                .at(ctx.span_of(keys::POD_DOMAIN.path()), "not a hostname")
                .help(p.help),
        ]
    })?;
    let mut links = vec![Link {
        rel: WEBSOCKET_REL.to_owned(),
        href: format!("wss://{pod}/websocket/"),
    }];
    if ctx.config.bosh_enabled() {
        links.push(Link {
            rel: BOSH_REL.to_owned(),
            href: format!("https://{pod}/http-bind"),
        });
    }
    Ok(HostMeta {
        notice: ctx.notice(),
        links,
    })
}

/// Renders both files. Public so tests can render hostile values the front end would refuse.
pub fn render_host_meta(
    host_meta: &HostMeta,
    templates: &Templates,
) -> Diagnosed<Vec<GeneratedFile>> {
    let xml = templates.render_file("host-meta.j2", host_meta);
    let json = templates.render_file("host-meta.json.j2", host_meta);
    match (xml, json) {
        (Ok(xml), Ok(json)) => Ok(vec![
            GeneratedFile {
                path: format!("{DIR}/host-meta").into(),
                contents: xml.into_bytes(),
                mode: 0o644,
            },
            GeneratedFile {
                path: format!("{DIR}/host-meta.json").into(),
                contents: json.into_bytes(),
                mode: 0o644,
            },
        ]),
        (xml, json) => Err([xml.err(), json.err()]
            .into_iter()
            .flatten()
            .flatten()
            .collect()),
    }
}
