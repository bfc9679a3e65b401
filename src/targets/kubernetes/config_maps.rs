//! The ConfigMaps of a pod. Each is named after a hash of its content and immutable: a new
//! configuration is a new name, so the workloads (or Ingresses) that refer to it change and
//! roll, and an old one is never edited under a running pod.

use super::names::hashed;
use super::yaml::{Document, Map, map};
use super::{Plan, labels};

/// The security headers of every HTTPS response, as the nginx site sends them
/// (`templates/nginx-common.j2`, macro `headers`; a test keeps them equal). The
/// Strict-Transport-Security value depends on the host and the CSP on what is served.
pub const STATIC_HEADERS: [(&str, &str); 5] = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Permitted-Cross-Domain-Policies", "none"),
    (
        "Permissions-Policy",
        "accelerometer=(), camera=(self), geolocation=(), gyroscope=(), magnetometer=(), \
         microphone=(self), payment=(), usb=()",
    ),
];

/// Every header name the Ingresses set: what the controller's
/// `global-allowed-response-headers` must list.
pub const HEADER_NAMES: [&str; 7] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "X-Permitted-Cross-Domain-Policies",
    "Content-Security-Policy",
    "Permissions-Policy",
];

/// Content-Security-Policy of the web app and the Dashboard, of uploaded files (never run as
/// a page), and of host-meta (the nginx site's three policies).
pub const APP_CSP: &str = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'";
pub const UPLOAD_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";
pub const STATIC_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Where the well-known server's files are mounted, and its port.
pub const WELL_KNOWN_ROOT: &str = "/srv/www";

/// The well-known server's nginx configuration: the web app image's nginx, with this file as
/// `/etc/nginx/nginx.conf`. Nothing in it comes from the configuration. Every writable path
/// is under `/tmp` (the root filesystem is read-only); CORS and content types as the nginx
/// site's `/.well-known/` locations; the security headers come from the Ingress.
pub const WELL_KNOWN_NGINX: &str = r#"# The well-known server of the Prose Pod: host-meta and host-meta.json (XEP-0156), with CORS.
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;

events {
    worker_connections 256;
}

http {
    access_log off;
    server_tokens off;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;

    server {
        listen 8080;
        root /srv/www;

        location = /.well-known/host-meta {
            types { }
            default_type application/xrd+xml;
            charset utf-8;
            add_header Access-Control-Allow-Origin "*" always;
            add_header Access-Control-Allow-Methods "GET, OPTIONS" always;
            add_header Access-Control-Allow-Headers "Content-Type" always;
            if ($request_method = OPTIONS) {
                return 204;
            }
            try_files $uri =404;
        }

        location = /.well-known/host-meta.json {
            types { }
            default_type application/json;
            add_header Access-Control-Allow-Origin "*" always;
            add_header Access-Control-Allow-Methods "GET, OPTIONS" always;
            add_header Access-Control-Allow-Headers "Content-Type" always;
            if ($request_method = OPTIONS) {
                return 204;
            }
            try_files $uri =404;
        }

        location / {
            return 404;
        }
    }
}
"#;

/// The names the other objects refer to.
pub struct Names {
    pub prose: String,
    pub prosody: String,
    pub server_env: Option<String>,
    pub well_known: String,
    pub headers_app: String,
    pub headers_dashboard: String,
    pub headers_upload: Option<String>,
    pub headers_well_known: String,
}

pub struct ConfigMaps {
    pub documents: Vec<Document>,
    pub names: Names,
}

/// A ConfigMap named `<base>-<hash of data>`.
fn config_map(plan: &Plan, base: &str, data: &[(&str, &str)], out: &mut Vec<Document>) -> String {
    let name = hashed(base, data);
    let mut entries = Map::new();
    for (key, value) in data {
        entries.push(*key, *value);
    }
    out.push(Document::new(map! {
        "apiVersion" => "v1",
        "kind" => "ConfigMap",
        "metadata" => map! {
            "name" => name.as_str(),
            "namespace" => plan.namespace.as_str(),
            "labels" => labels(base),
        },
        "immutable" => true,
        "data" => entries,
    }));
    name
}

/// The headers of one kind of response on one host.
fn headers(plan: &Plan, host: &str, csp: &str) -> Vec<(String, String)> {
    let mut out = vec![(HEADER_NAMES[0].to_owned(), plan.hsts(host))];
    out.extend(
        STATIC_HEADERS[..4]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    out.push(("Content-Security-Policy".to_owned(), csp.to_owned()));
    out.push((
        STATIC_HEADERS[4].0.to_owned(),
        STATIC_HEADERS[4].1.to_owned(),
    ));
    out
}

fn headers_map(plan: &Plan, base: &str, host: &str, csp: &str, out: &mut Vec<Document>) -> String {
    let pairs = headers(plan, host, csp);
    let data: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    config_map(plan, base, &data, out)
}

pub fn config_maps(plan: &Plan) -> ConfigMaps {
    let mut documents = Vec::new();
    let out = &mut documents;
    let prose = config_map(
        plan,
        "prose-config",
        &[("prose.toml", &plan.prose_toml)],
        out,
    );
    let prosody = config_map(
        plan,
        "prosody-config",
        &[("prosody.cfg.lua", &plan.prosody_cfg)],
        out,
    );
    let server_env = (!plan.server_variables.is_empty()).then(|| {
        let data: Vec<(&str, &str)> = plan
            .server_variables
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        config_map(plan, "prose-server-env", &data, out)
    });
    let well_known = config_map(
        plan,
        "well-known",
        &[
            ("nginx.conf", WELL_KNOWN_NGINX),
            ("host-meta", &plan.host_meta),
            ("host-meta.json", &plan.host_meta_json),
        ],
        out,
    );
    let headers_app = headers_map(plan, "headers-app", &plan.pod_host, APP_CSP, out);
    let headers_dashboard = headers_map(
        plan,
        "headers-dashboard",
        &plan.dashboard_host,
        APP_CSP,
        out,
    );
    let headers_upload = plan
        .upload
        .as_ref()
        .map(|_| headers_map(plan, "headers-upload", &plan.pod_host, UPLOAD_CSP, out));
    let headers_well_known = headers_map(plan, "headers-well-known", &plan.domain, STATIC_CSP, out);
    ConfigMaps {
        documents,
        names: Names {
            prose,
            prosody,
            server_env,
            well_known,
            headers_app,
            headers_dashboard,
            headers_upload,
            headers_well_known,
        },
    }
}
