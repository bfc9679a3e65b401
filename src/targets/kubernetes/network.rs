//! Ingresses (ingress-nginx) and NetworkPolicies.
//!
//! Each location of the nginx site is an Ingress of its own, because ingress-nginx's
//! annotations apply to a whole Ingress: the same paths, timeouts, body sizes, rates, `Host`
//! sent upstream and path rewrite as the site (`templates/nginx-pod.conf.j2`), its TLS ciphers
//! (the protocols are the controller's, see the README), and its security headers through
//! `custom-headers` ConfigMaps (no configuration snippet: ingress-nginx refuses them by
//! default, for good reasons). TLS uses the Secret `tls-<host>` of each name.

use super::config_maps::Names;
use super::names::tls_secret;
use super::yaml::{Document, Map, map, seq};
use super::{
    API_NAME, APP_NAME, C2S_PORT, DASHBOARD_NAME, Plan, S2S_PORT, SERVER_NAME, WEB_PORT,
    WELL_KNOWN_NAME, labels, metadata, selector,
};
use crate::config::model::UPLOAD_HOST;

/// The annotations' prefix.
const NGINX: &str = "nginx.ingress.kubernetes.io";

/// One path of an Ingress.
struct Route<'a> {
    path: &'a str,
    kind: &'a str,
    service: &'a str,
    port: &'a str,
}

fn ingress(
    plan: &Plan,
    name: &str,
    host: &str,
    routes: &[Route<'_>],
    annotations: Vec<(&str, String)>,
    headers: &str,
) -> Document {
    let mut all = Map::new();
    all.push(format!("{NGINX}/ssl-redirect"), "true");
    if let Some(ciphers) = &plan.tls.ciphers {
        all.push(format!("{NGINX}/ssl-ciphers"), ciphers.as_str());
    }
    all.push(
        format!("{NGINX}/ssl-prefer-server-ciphers"),
        if plan.tls.prefer_server_ciphers == "on" {
            "true"
        } else {
            "false"
        },
    );
    all.push(
        format!("{NGINX}/custom-headers"),
        format!("{}/{headers}", plan.namespace),
    );
    for (key, value) in annotations {
        all.push(format!("{NGINX}/{key}"), value);
    }
    let paths: Vec<Map> = routes
        .iter()
        .map(|r| {
            map! {
                "path" => r.path,
                "pathType" => r.kind,
                "backend" => map! {
                    "service" => map! { "name" => r.service, "port" => map! { "name" => r.port } },
                },
            }
        })
        .collect();
    Document::new(map! {
        "apiVersion" => "networking.k8s.io/v1",
        "kind" => "Ingress",
        "metadata" => metadata(plan, name, name).with("annotations", all),
        "spec" => map! {
            "ingressClassName" => plan.settings.ingress_class.as_str(),
            "tls" => vec![map! {
                "hosts" => seq![host],
                "secretName" => tls_secret(host).unwrap_or_default(),
            }],
            "rules" => vec![map! {
                "host" => host,
                "http" => map! { "paths" => paths },
            }],
        },
    })
}

fn seconds(n: u32) -> String {
    n.to_string()
}

pub fn ingresses(plan: &Plan, config: &Names) -> Vec<Document> {
    let server_host = plan.domain.clone();
    let mut out = vec![ingress(
        plan,
        "prose-app",
        &plan.pod_host,
        &[Route {
            path: "/",
            kind: "Prefix",
            service: APP_NAME,
            port: "http",
        }],
        vec![("upstream-vhost", server_host.clone())],
        &config.headers_app,
    )];
    // XMPP over WebSocket, to Prosody's mod_websocket: idle connections stay open 15 minutes.
    out.push(ingress(
        plan,
        "prose-websocket",
        &plan.pod_host,
        &[Route {
            path: "/websocket",
            kind: "Prefix",
            service: SERVER_NAME,
            port: "http",
        }],
        vec![
            ("rewrite-target", "/xmpp-websocket".to_owned()),
            ("upstream-vhost", server_host.clone()),
            ("proxy-connect-timeout", seconds(5)),
            ("proxy-read-timeout", seconds(900)),
            ("proxy-send-timeout", seconds(900)),
            ("limit-rate", "256".to_owned()),
            ("proxy-body-size", "2m".to_owned()),
        ],
        &config.headers_app,
    ));
    if plan.bosh {
        out.push(ingress(
            plan,
            "prose-bosh",
            &plan.pod_host,
            &[Route {
                path: "/http-bind",
                kind: "Prefix",
                service: SERVER_NAME,
                port: "http",
            }],
            vec![
                ("upstream-vhost", server_host.clone()),
                ("proxy-buffering", "off".to_owned()),
                ("proxy-connect-timeout", seconds(5)),
                // Longer than Prosody's longest BOSH wait (bosh_max_wait, 120 s).
                ("proxy-read-timeout", seconds(150)),
                ("proxy-body-size", "2m".to_owned()),
            ],
            &config.headers_app,
        ));
    }
    if let (Some(upload), Some(headers)) = (&plan.upload, &config.headers_upload) {
        // File uploads (XEP-0363): Prosody's own size limit, streamed.
        out.push(ingress(
            plan,
            "prose-upload",
            &plan.pod_host,
            &[Route {
                path: "/upload",
                kind: "Prefix",
                service: SERVER_NAME,
                port: "http",
            }],
            vec![
                ("upstream-vhost", UPLOAD_HOST.to_owned()),
                ("proxy-connect-timeout", seconds(5)),
                ("proxy-read-timeout", seconds(60)),
                ("proxy-send-timeout", seconds(300)),
                ("proxy-buffering", "off".to_owned()),
                ("limit-rate", "4096".to_owned()),
                ("proxy-body-size", upload.max_body_size.clone()),
            ],
            headers,
        ));
    }
    out.push(ingress(
        plan,
        "prose-dashboard",
        &plan.dashboard_host,
        &[Route {
            path: "/",
            kind: "Prefix",
            service: DASHBOARD_NAME,
            port: "http",
        }],
        Vec::new(),
        &config.headers_dashboard,
    ));
    out.push(ingress(
        plan,
        "prose-well-known",
        &server_host,
        &[
            Route {
                path: "/.well-known/host-meta",
                kind: "Exact",
                service: WELL_KNOWN_NAME,
                port: "http",
            },
            Route {
                path: "/.well-known/host-meta.json",
                kind: "Exact",
                service: WELL_KNOWN_NAME,
                port: "http",
            },
        ],
        Vec::new(),
        &config.headers_well_known,
    ));
    out
}

/// `from` a component's pods.
fn from_pods(component: &str) -> Map {
    map! { "podSelector" => map! { "matchLabels" => selector(component) } }
}

/// `from` the ingress controller's namespace.
fn from_ingress(plan: &Plan) -> Map {
    map! {
        "namespaceSelector" => map! {
            "matchLabels" => map! {
                "kubernetes.io/metadata.name" => plan.settings.ingress_namespace.as_str(),
            },
        },
    }
}

fn tcp(port: u16) -> Map {
    map! { "protocol" => "TCP", "port" => port }
}

/// An ingress rule: these ports, from these peers (none: from anywhere).
fn rule(from: Vec<Map>, ports: Vec<Map>) -> Map {
    if from.is_empty() {
        map! { "ports" => ports }
    } else {
        map! { "from" => from, "ports" => ports }
    }
}

fn policy(plan: &Plan, component: &str, comment: &str, rules: Vec<Map>) -> Document {
    Document::commented(
        &[comment],
        map! {
            "apiVersion" => "networking.k8s.io/v1",
            "kind" => "NetworkPolicy",
            "metadata" => metadata(plan, component, component),
            "spec" => map! {
                "podSelector" => map! { "matchLabels" => selector(component) },
                "policyTypes" => seq!["Ingress"],
                "ingress" => rules,
            },
        },
    )
}

/// The pod's NetworkPolicies (none when `prose-compile.toml` turns them off). Egress stays
/// open: the Pod API and Pod Server reach SMTP, DNS, federated servers and push services.
pub fn network_policies(plan: &Plan) -> Vec<Document> {
    if !plan.settings.network_policies {
        return Vec::new();
    }
    let mut xmpp = vec![tcp(C2S_PORT)];
    if plan.federation {
        xmpp.push(tcp(S2S_PORT));
    }
    let mut api_from = vec![from_pods(DASHBOARD_NAME)];
    if plan.server_calls_api {
        api_from.push(from_pods(SERVER_NAME));
    }
    let web = |component: &str, what: &str| {
        policy(
            plan,
            component,
            &format!("{what}: from the ingress controller only."),
            vec![rule(vec![from_ingress(plan)], vec![tcp(WEB_PORT)])],
        )
    };
    vec![
        Document::commented(
            &["Nothing reaches a pod of this namespace unless a policy below lets it."],
            map! {
                "apiVersion" => "networking.k8s.io/v1",
                "kind" => "NetworkPolicy",
                "metadata" => map! {
                    "name" => "default-deny-ingress",
                    "namespace" => plan.namespace.as_str(),
                    "labels" => labels("prose-pod"),
                },
                "spec" => map! {
                    "podSelector" => Map::new(),
                    "policyTypes" => seq!["Ingress"],
                },
            },
        ),
        policy(
            plan,
            SERVER_NAME,
            "The Pod Server: XMPP from anywhere; its admin interfaces (Prosody's HTTP port, the \
             Pod Server API) from the Pod API only, and Prosody's HTTP port from the ingress \
             controller (websocket, uploads, BOSH). Nothing else reaches its data.",
            vec![
                rule(Vec::new(), xmpp),
                rule(
                    vec![from_pods(API_NAME)],
                    vec![tcp(plan.http_port), tcp(plan.server_api_port)],
                ),
                rule(vec![from_ingress(plan)], vec![tcp(plan.http_port)]),
            ],
        ),
        policy(
            plan,
            API_NAME,
            "The Pod API: from the Dashboard (its /api/ proxy), and the Pod Server when it calls \
             the API.",
            vec![rule(api_from, vec![tcp(plan.api_port)])],
        ),
        web(APP_NAME, "The web app"),
        web(DASHBOARD_NAME, "The Dashboard"),
        web(WELL_KNOWN_NAME, "The well-known server"),
    ]
}
