//! nginx sites: `etc/nginx/sites-available/<pod domain>` (web app, websocket, uploads, BOSH,
//! Dashboard), `etc/nginx/sites-available/<server domain>` (`/.well-known/` host-meta with
//! CORS) and `etc/nginx/sites-available/<server domain>_http` (plain HTTP on every name: ACME
//! http-01 challenges, else a redirect to HTTPS), from `templates/nginx-*.j2`; each enabled by
//! a relative link `etc/nginx/sites-enabled/<name>` -> `../sites-available/<name>`.
//!
//! Decisions (see also the templates' comments):
//! - **Names.** The web app is served at the pod domain: `pod.address.domain`, or, for a pod
//!   with only static addresses, `prose.<server.domain>`, the name the Pod API derives and
//!   tells the operator to point at those addresses. nginx never binds the static addresses
//!   themselves (a public address behind NAT is not on the machine). The Dashboard is served at
//!   the host of `dashboard.url`, the well-known site at `server.domain`. Every name is
//!   written in ASCII (punycode), and file names use the same form.
//! - **Certificates**: one Let's Encrypt lineage named after the server domain covers every
//!   name ([`super::host_files::certificate`]), requested with `certbot certonly --webroot`:
//!   the HTTP site serves the challenges, so renewals need no free port 80 and no stopped
//!   nginx. The HTTP site is its own file (no certificate in it) so that it can be enabled
//!   alone before the certificate exists (`INSTALL.md`).
//! - **TLS** follows Mozilla's guideline 5.8 (= 6.0 for modern and intermediate; 5.8 for old)
//!   as its generator writes it for nginx 1.22 / OpenSSL 3.0: no `X25519MLKEM768` (OpenSSL
//!   < 3.5), no DHE suites so no `ssl_dhparam`, `@SECLEVEL=0` for old (else OpenSSL 3 refuses
//!   TLS 1.0/1.1), session tickets off (nginx < 1.23.2), no OCSP stapling (Let's Encrypt has no
//!   OCSP responder any more; nginx would only warn). HSTS is 2 years, with
//!   `includeSubDomains` except on the server domain itself (often an organisation's apex,
//!   whose other subdomains this compiler knows nothing about).
//! - One name may carry several roles: when the pod domain (or the Dashboard host) is the
//!   server domain, that server block also serves `/.well-known/` and no separate well-known
//!   site is written. The web app and the Dashboard cannot share a host (both own `/`).

use crate::config::keys;
use serde::Serialize;

use super::templating::{Templates, template};
use super::{GeneratedFile, RenderContext};
use crate::config::env::{FileVariable, VariableStatus};
use crate::config::formats;
use crate::config::model::{TlsProfile, UPLOAD_HOST};
use crate::diagnostics::{Diagnosed, Diagnostic, code};

pub const SITES_DIR: &str = "etc/nginx/sites-available";
/// Where the sites are enabled (nginx's Debian configuration includes `sites-enabled/*`).
pub const ENABLED_DIR: &str = "etc/nginx/sites-enabled";
/// Where `/.well-known/` files are served from (host-meta is written under it).
pub const WEB_ROOT: &str = "/var/www/default";
/// Certbot's live certificate directory.
pub const LETSENCRYPT_LIVE: &str = "/etc/letsencrypt/live";
/// Host ports compose publishes the web app and the Dashboard on (upstream's defaults of
/// `PROSE_APP_WEB_PORT` and `PROSE_POD_DASHBOARD_PORT`).
pub const APP_PORT: u16 = 8080;
pub const DASHBOARD_PORT: u16 = 8081;
/// HSTS max-age of every Mozilla profile: two years.
pub const HSTS_MAX_AGE: u32 = 63_072_000;

/// Mozilla's TLS settings for one profile, as nginx directives' values.
#[derive(Debug, Clone, Serialize)]
pub struct Tls {
    pub profile: String,
    pub guideline: String,
    pub protocols: Vec<String>,
    pub curves: String,
    /// `None` for modern: TLS 1.3 suites are not configured by `ssl_ciphers`.
    pub ciphers: Option<String>,
    /// For modern: an `ssl_ciphers` no handshake can use ([`NO_TLS12_CIPHERS`]).
    pub unusable_ciphers: Option<String>,
    pub prefer_server_ciphers: String,
}

const C6: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
ECDHE-RSA-CHACHA20-POLY1305";

/// Old 5.8: the 5.7 list without its five DHE suites.
const OLD_EXTRA: &str = "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:\
ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:\
ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:\
AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA";

/// `ssl_ciphers` of the modern profile: a pre-shared-key cipher, which nginx can never use (it
/// has no pre-shared keys). nginx 1.22 negotiates the protocol version with the `ssl_protocols`
/// of the default server for the port, before it knows the requested name, and only then uses
/// the named server's ciphers: with another site as default server that allows TLS 1.2, a
/// modern server block without usable TLS 1.2 ciphers still refuses TLS 1.2 (the live suite
/// measured TLS 1.2 and 13 ciphers accepted on a modern name without this).
pub const NO_TLS12_CIPHERS: &str = "PSK-AES128-GCM-SHA256";

/// The nginx TLS settings of a profile (Mozilla guideline 5.8, nginx 1.22, OpenSSL 3.0).
pub fn tls(profile: TlsProfile) -> Tls {
    let (protocols, ciphers, prefer) = match profile {
        TlsProfile::Modern => ("TLSv1.3", None, "off"),
        TlsProfile::Intermediate => ("TLSv1.2 TLSv1.3", Some(C6.to_owned()), "off"),
        TlsProfile::Old => (
            "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3",
            Some(format!("@SECLEVEL=0:{C6}:{OLD_EXTRA}")),
            "on",
        ),
    };
    let guideline = match profile {
        TlsProfile::Old => "guideline 5.8, deprecated by Mozilla since 6.0",
        _ => "guideline 5.8 = 6.0",
    };
    Tls {
        profile: profile.as_str().to_owned(),
        guideline: format!("{guideline}, for nginx 1.22 and OpenSSL 3.0"),
        protocols: protocols.split(' ').map(str::to_owned).collect(),
        curves: "X25519:prime256v1:secp384r1".to_owned(),
        unusable_ciphers: ciphers.is_none().then(|| NO_TLS12_CIPHERS.to_owned()),
        ciphers,
        prefer_server_ciphers: prefer.to_owned(),
    }
}

/// One HTTPS server block.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    /// `server_name` entries: ASCII hostnames or IP literals (`[…]` for IPv6).
    pub names: Vec<String>,
    pub certificate: String,
    pub certificate_key: String,
    /// The Strict-Transport-Security value.
    pub hsts: String,
    /// Root of `/.well-known/`.
    pub web_root: String,
    /// Whether this server block also serves `/.well-known/` (its name is the server domain).
    pub well_known: bool,
}

/// Upload proxying, present only when file upload is allowed.
#[derive(Debug, Clone, Serialize)]
pub struct Upload {
    /// The `Host` Prosody's upload component answers to.
    pub host: String,
    /// `client_max_body_size`, as nginx reads it.
    pub max_body_size: String,
    pub max_body_size_bytes: u64,
}

/// The variables of `nginx-pod.conf.j2`.
#[derive(Debug, Clone, Serialize)]
pub struct PodSite {
    pub notice: String,
    pub file_name: String,
    pub tls: Tls,
    /// The `Host` sent to the web app and to Prosody (its VirtualHost): the server domain.
    pub server_domain: String,
    pub app_port: u16,
    pub dashboard_port: u16,
    /// Prosody's HTTP port (`server.http_port`), published on 127.0.0.1 by compose.
    pub http_port: u16,
    pub pod: Site,
    pub dashboard: Site,
    pub upload: Option<Upload>,
    pub bosh: bool,
    /// The pod's static addresses when it has no domain of its own (for a comment: the pod
    /// domain must resolve to them).
    pub static_addresses: Vec<String>,
}

/// The variables of `nginx-well-known.conf.j2`.
#[derive(Debug, Clone, Serialize)]
pub struct WellKnownSite {
    pub notice: String,
    pub file_name: String,
    pub tls: Tls,
    pub site: Site,
}

/// The variables of `nginx-http.conf.j2`: plain HTTP on every name of the pod.
#[derive(Debug, Clone, Serialize)]
pub struct HttpSite {
    pub notice: String,
    pub file_name: String,
    /// Every name the HTTPS sites serve, and the groups component's (the certificate covers
    /// it, so its challenge is answered here too).
    pub names: Vec<String>,
    /// Where certbot writes the challenges (`<web_root>/.well-known/acme-challenge/`).
    pub web_root: String,
}

/// What the nginx target writes: the pod site, the well-known site unless the server domain
/// is one of the pod site's names, and the HTTP site.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub pod: PodSite,
    pub well_known: Option<WellKnownSite>,
    pub http: HttpSite,
}

impl Plan {
    /// The file names of every site, as in [`SITES_DIR`].
    pub fn file_names(&self) -> Vec<&str> {
        let mut names = vec![self.pod.file_name.as_str()];
        names.extend(self.well_known.iter().map(|s| s.file_name.as_str()));
        names.push(self.http.file_name.as_str());
        names
    }
}

/// The target: the nginx sites.
pub struct NginxSites;

/// Every file of [`SITES_DIR`].
const SITES: &str = "etc/nginx/sites-available/*";

impl super::Target for NginxSites {
    fn name(&self) -> &'static str {
        "nginx"
    }
    fn paths(&self) -> &'static [&'static str] {
        &[SITES]
    }
    fn templates(&self) -> &'static [super::templating::TemplateSource] {
        &[
            template!("nginx-common.j2"),
            template!("nginx-pod.conf.j2"),
            template!("nginx-well-known.conf.j2"),
            template!("nginx-http.conf.j2"),
        ]
    }
    fn variables(&self) -> &'static [FileVariable] {
        // compose publishes the web app and the Dashboard on these ports; the site proxies to
        // them.
        const PINNED: [FileVariable; 2] = [
            proxied("PROSE_APP_WEB_PORT", "8080"),
            proxied("PROSE_POD_DASHBOARD_PORT", "8081"),
        ];
        &PINNED
    }
    fn checks(&self) -> &'static [super::Check] {
        &[super::Check {
            files: SITES,
            validator: super::Validator::Nginx,
        }]
    }
    fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        render(ctx)
    }
    fn links(&self, ctx: &RenderContext) -> Diagnosed<Vec<super::GeneratedLink>> {
        // A plan with errors: `render` reports them.
        let Ok(plan) = plan(ctx) else {
            return Ok(Vec::new());
        };
        Ok(plan
            .file_names()
            .into_iter()
            .map(|name| super::GeneratedLink {
                path: format!("{ENABLED_DIR}/{name}").into(),
                target: format!("../sites-available/{name}").into(),
            })
            .collect())
    }
}

const fn proxied(name: &'static str, port: &'static str) -> FileVariable {
    FileVariable {
        name,
        status: VariableStatus::Pinned {
            value: port,
            what: "a port the nginx site still proxies to",
            by: "nginx",
            instead: "remove it (the port is only bound on 127.0.0.1)",
        },
    }
}

/// Renders with `ctx.templates` (the embedded ones, or `--templates DIR`).
pub fn render(ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
    render_plan(&plan(ctx)?, ctx.templates)
}

/// Renders a plan. Public so tests can render hostile values the front end would refuse.
pub fn render_plan(plan: &Plan, templates: &Templates) -> Diagnosed<Vec<GeneratedFile>> {
    let mut files = vec![file(
        &plan.pod.file_name,
        templates.render_file("nginx-pod.conf.j2", &plan.pod),
    )];
    if let Some(site) = &plan.well_known {
        files.push(file(
            &site.file_name,
            templates.render_file("nginx-well-known.conf.j2", site),
        ));
    }
    files.push(file(
        &plan.http.file_name,
        templates.render_file("nginx-http.conf.j2", &plan.http),
    ));
    crate::diagnostics::collect(files.into_iter().map(|f| f.map(Some)))
}

fn file(name: &str, contents: Diagnosed<String>) -> Diagnosed<GeneratedFile> {
    Ok(GeneratedFile {
        path: format!("{SITES_DIR}/{name}").into(),
        contents: contents?.into_bytes(),
        mode: 0o644,
    })
}

/// The ASCII form of a hostname, re-checked here (defence in depth: the front end has
/// validated it already).
fn ascii_host(ctx: &RenderContext, key: &[&str], value: &str) -> Result<String, Box<Diagnostic>> {
    formats::hostname(value).map_err(|p| {
        Box::new(
            Diagnostic::error(code::NGINX, format!("{}: {}", key.join("."), p.message))
                .key(key.join("."))
                .at(ctx.span_of(key), "not a hostname nginx can serve")
                .help(p.help),
        )
    })
}

/// The Dashboard's `server_name`: the host of `dashboard.url` when nginx can serve that URL
/// (root of the host, default port), else `admin.<pod domain>` (the configuration loader
/// warns that the URL is served elsewhere).
fn dashboard_host(ctx: &RenderContext) -> Result<String, Box<Diagnostic>> {
    const KEY: &[&str] = keys::DASHBOARD_URL.path();
    let error = |message: String, help: &str| {
        Box::new(
            Diagnostic::error(code::NGINX, message)
                .key(keys::DASHBOARD_URL)
                .at(ctx.span_of(KEY), "served by nginx at the root of its host")
                .help(help.to_owned()),
        )
    };
    let fallback = || {
        let pod = format!("admin.{}", ctx.config.pod_domain());
        ascii_host(ctx, keys::POD_DOMAIN.path(), &pod)
    };
    let Some(url) = &ctx.config.dashboard.url else {
        return fallback();
    };
    let parsed = url::Url::parse(url.as_str())
        .map_err(|e| error(format!("dashboard.url is not a URL: {e}"), "fix the URL"))?;
    if formats::dashboard_served_elsewhere(&parsed).is_some() {
        return fallback();
    }
    match parsed.host() {
        Some(url::Host::Domain(domain)) => {
            ascii_host(ctx, KEY, domain).map_err(|d| Box::new(d.key(keys::DASHBOARD_URL)))
        }
        Some(url::Host::Ipv4(ip)) => Ok(ip.to_string()),
        Some(url::Host::Ipv6(ip)) => Ok(format!("[{ip}]")),
        None => Err(error(
            "dashboard.url has no host".to_owned(),
            "write it as `https://admin.prose.example.org`",
        )),
    }
}

/// The `client_max_body_size` matching Prosody's upload limit, in the largest exact unit.
pub fn nginx_size(bytes: u64) -> Result<String, String> {
    if bytes > i64::MAX as u64 {
        return Err(format!(
            "the upload size limit ({bytes} bytes) is more than nginx can represent"
        ));
    }
    // nginx reads 0 as "no limit"; the closest limit to Prosody's "nothing" is one byte.
    let bytes = bytes.max(1);
    Ok(
        match [(1 << 30, "g"), (1 << 20, "m"), (1 << 10, "k")]
            .into_iter()
            .find(|(unit, _)| bytes.is_multiple_of(*unit))
        {
            Some((unit, suffix)) => format!("{}{suffix}", bytes / unit),
            None => bytes.to_string(),
        },
    )
}

fn lineage(name: &str) -> (String, String) {
    (
        format!("{LETSENCRYPT_LIVE}/{name}/fullchain.pem"),
        format!("{LETSENCRYPT_LIVE}/{name}/privkey.pem"),
    )
}

fn hsts(host: &str, server_domain: &str) -> String {
    if host == server_domain {
        format!("max-age={HSTS_MAX_AGE}")
    } else {
        format!("max-age={HSTS_MAX_AGE}; includeSubDomains")
    }
}

/// Computes the sites from the configuration, with every name checked.
pub fn plan(ctx: &RenderContext) -> Diagnosed<Plan> {
    let config = ctx.config;
    let mut errors = Vec::new();
    let server = ascii_host(
        ctx,
        keys::SERVER_DOMAIN.path(),
        config.server.domain.as_str(),
    )
    .map_err(|d| errors.push(*d))
    .ok();
    let pod = match &config.pod.address.domain {
        Some(domain) => ascii_host(ctx, keys::POD_DOMAIN.path(), domain.as_str())
            .map_err(|d| errors.push(*d))
            .ok(),
        None => server.as_ref().map(|s| format!("prose.{s}")),
    };
    let dashboard = dashboard_host(ctx).map_err(|d| errors.push(*d)).ok();
    let upload = if config.server.defaults.file_upload_allowed {
        let bytes = config.upload_size_limit();
        match nginx_size(bytes) {
            Ok(size) => Some(Upload {
                host: UPLOAD_HOST.to_owned(),
                max_body_size: size,
                max_body_size_bytes: bytes,
            }),
            Err(message) => {
                errors.push(
                    Diagnostic::error(code::NGINX, message)
                        .key("prosody.\"upload.prose.local\".http_file_share_size_limit"),
                );
                None
            }
        }
    } else {
        None
    };
    let (Some(server), Some(pod), Some(dashboard)) = (server, pod, dashboard) else {
        return Err(errors);
    };
    if dashboard == pod {
        errors.push(
            Diagnostic::error(
                code::NGINX,
                format!("the Dashboard and the web app would both be served at `https://{pod}/`"),
            )
            .key(keys::DASHBOARD_URL)
            .at(
                ctx.span_of(keys::DASHBOARD_URL.path()),
                "same host as the pod",
            )
            .help(format!(
                "give the Dashboard its own name, e.g. `https://admin.{pod}`"
            )),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let tls = tls(config.server.defaults.tls_profile);
    // One lineage for every name (`host_files::certificate`), named after the server domain.
    let (certificate, certificate_key) = lineage(&server);
    let site = |name: &str| Site {
        names: vec![name.to_owned()],
        certificate: certificate.clone(),
        certificate_key: certificate_key.clone(),
        hsts: hsts(name, &server),
        web_root: WEB_ROOT.to_owned(),
        well_known: name == server,
    };
    let pod_site = PodSite {
        notice: ctx.notice(),
        file_name: pod.clone(),
        tls: tls.clone(),
        server_domain: server.clone(),
        app_port: APP_PORT,
        dashboard_port: DASHBOARD_PORT,
        http_port: config.server.http_port,
        pod: site(&pod),
        dashboard: site(&dashboard),
        upload,
        bosh: config.bosh_enabled(),
        static_addresses: if config.pod.address.domain.is_none() {
            let address = &config.pod.address;
            let v4 = address.ipv4.iter().map(|ip| ip.to_string());
            v4.chain(address.ipv6.iter().map(|ip| ip.to_string()))
                .collect()
        } else {
            Vec::new()
        },
    };
    let mut http_names: Vec<String> = Vec::new();
    for name in [&pod, &dashboard, &server, &format!("groups.{server}")] {
        if !http_names.contains(name) {
            http_names.push(name.clone());
        }
    }
    let http = HttpSite {
        notice: ctx.notice(),
        file_name: format!("{server}_http"),
        names: http_names,
        web_root: WEB_ROOT.to_owned(),
    };
    let well_known = (server != pod && server != dashboard).then(|| {
        WellKnownSite {
            notice: ctx.notice(),
            file_name: server.clone(),
            tls,
            site: Site {
                names: vec![server.clone()],
                certificate,
                certificate_key,
                hsts: hsts(&server, &server),
                web_root: WEB_ROOT.to_owned(),
                well_known: true,
            },
        }
    });
    Ok(Plan {
        pod: pod_site,
        well_known,
        http,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_the_largest_exact_unit() {
        assert_eq!(nginx_size(20 * 1024 * 1024).unwrap(), "20m");
        assert_eq!(nginx_size(3 << 30).unwrap(), "3g");
        assert_eq!(nginx_size(1536).unwrap(), "1536");
        assert_eq!(nginx_size(2048).unwrap(), "2k");
        assert_eq!(nginx_size(1000).unwrap(), "1000");
        assert_eq!(nginx_size(0).unwrap(), "1");
        assert!(nginx_size(u64::MAX).is_err());
    }
}
