//! The Kubernetes target (`--target kubernetes`): one pod as a kustomization of plain
//! manifests in `kubernetes/<server domain>/`, and a fleet root that includes every pod
//! ([`fleet`]). The README's "Running many pods on Kubernetes" says what is generated, what the
//! operator provides and why; in short:
//!
//! - **Same containers as compose**: the Pod Server as a one-replica `StatefulSet` (its data
//!   on `PersistentVolumeClaim`s), the Pod API, the web app and the Dashboard as
//!   `Deployment`s, with compose's images and versions (the pinned ones, `compose.env`
//!   included), users (uid/gid 1001 for all: the restricted Pod Security profile, which the
//!   namespace enforces) and mounts. The Pod API writes Prosody's configuration into
//!   `/etc/prosody` at every start and the Pod Server reads it, as on a host: that directory is
//!   a `ReadWriteMany` claim both mount.
//! - **Configuration** in ConfigMaps named after a hash of their content, so a change is a new
//!   name and rolls the workloads: the very `prosody.cfg.lua` and `prose.toml` of the host
//!   target (without secrets), the Pod Server's own variables, host-meta, and the security
//!   headers of the Ingresses. Secrets never appear: each one the configuration uses is taken
//!   from the operator's Secret by its variable's name ([`secrets`]).
//! - **Exposure**: ingress-nginx `Ingress`es carrying the nginx site's behaviour (paths,
//!   timeouts, body sizes, rates, `Host` rewrites, TLS ciphers, security headers), TLS from a
//!   Secret per name; XMPP (5222, and 5269 when federating) through a `LoadBalancer` Service.
//! - **Isolation**: NetworkPolicies deny every ingress but what each component needs; the
//!   Pod Server's admin interfaces (Prosody's HTTP port, the Pod Server API) admit only the Pod
//!   API (and the ingress controller on the HTTP port, for the paths the Ingresses route).
//!
//! Every string from the configuration goes through the typed YAML emitter ([`yaml`]).

pub mod config_maps;
pub mod fleet;
pub mod names;
mod network;
pub mod secrets;
pub mod shape;
mod workloads;
pub mod yaml;

use super::nginx::{self, Tls};
use super::{GeneratedFile, RenderContext};
use crate::config::compat::{self, APP_WEB_VERSION, Component, POD_DASHBOARD_VERSION};
use crate::config::keys;
use crate::config::repository::Kubernetes as Settings;
use crate::diagnostics::{Diagnosed, Diagnostic, code};
use yaml::{Document, Map, map};

/// The Kubernetes version whose schemas the manifests are validated against
/// (`kubernetes-validate --strict`); they use no API newer than 1.25 (Pod Security labels).
pub const KUBERNETES_VERSION: &str = "1.31.0";

/// The directory of every Kubernetes tree, below the output directory.
pub const DIR: &str = "kubernetes";

/// The files of a pod's kustomization, in the order it lists them.
pub const KUSTOMIZATION: &str = "kustomization.yaml";
const NAMESPACE: &str = "namespace.yaml";
const CONFIG: &str = "config.yaml";
const SERVER: &str = "server.yaml";
const API: &str = "api.yaml";
const APP: &str = "app.yaml";
const DASHBOARD: &str = "dashboard.yaml";
const WELL_KNOWN: &str = "well-known.yaml";
const INGRESS: &str = "ingress.yaml";
const NETWORK_POLICIES: &str = "network-policies.yaml";

/// Object names: the Services keep compose's network aliases, so every component finds the
/// others by the names it uses on a host (the Dashboard calls `prose-pod-api:8080`).
pub const SERVER_NAME: &str = "prose-pod-server";
pub const API_NAME: &str = "prose-pod-api";
pub const APP_NAME: &str = "prose-app-web";
pub const DASHBOARD_NAME: &str = "prose-pod-dashboard";
pub const WELL_KNOWN_NAME: &str = "prose-well-known";

/// The user and group every container runs as: the `prose` user of the deployment guide,
/// which the Pod API and Pod Server images use.
pub const UID: i64 = 1001;

/// Ports inside the containers that the configuration does not choose: XMPP (the server
/// image's), and the web app's and Dashboard's nginx (compose maps both from 8080).
pub const C2S_PORT: u16 = 5222;
pub const S2S_PORT: u16 = 5269;
pub const WEB_PORT: u16 = 8080;
/// The Service port of the Pod API: the Dashboard's nginx proxies `/api/` to
/// `http://prose-pod-api:8080/` whatever `api.port` is.
pub const API_SERVICE_PORT: u16 = 8080;

/// Requests and limits of each container (the README's table): enough for a pod of a few
/// hundred users; an overlay patches them for larger ones.
pub struct Resources {
    pub cpu_request: &'static str,
    pub memory_request: &'static str,
    pub cpu_limit: &'static str,
    pub memory_limit: &'static str,
}

pub const SERVER_RESOURCES: Resources = Resources {
    cpu_request: "100m",
    memory_request: "256Mi",
    cpu_limit: "1",
    memory_limit: "1Gi",
};
pub const API_RESOURCES: Resources = Resources {
    cpu_request: "50m",
    memory_request: "128Mi",
    cpu_limit: "500m",
    memory_limit: "512Mi",
};
/// The web app, the Dashboard and the well-known server: nginx serving static files.
pub const STATIC_RESOURCES: Resources = Resources {
    cpu_request: "10m",
    memory_request: "32Mi",
    cpu_limit: "200m",
    memory_limit: "128Mi",
};
/// The init container that installs `prosody.cfg.lua`.
pub const COPY_RESOURCES: Resources = Resources {
    cpu_request: "10m",
    memory_request: "16Mi",
    cpu_limit: "100m",
    memory_limit: "32Mi",
};

/// Storage requested by each claim.
pub const PROSODY_DATA_SIZE: &str = "10Gi";
pub const SERVER_DATA_SIZE: &str = "1Gi";
pub const API_DATA_SIZE: &str = "1Gi";
pub const PROSODY_CONFIG_SIZE: &str = "64Mi";

/// What every file of a pod is computed from.
pub struct Plan {
    pub notice: String,
    pub settings: Settings,
    /// The server domain in ASCII: the pod's directory.
    pub domain: String,
    pub namespace: String,
    /// Hosts, in ASCII: the web app's, the Dashboard's.
    pub pod_host: String,
    pub dashboard_host: String,
    pub tls: Tls,
    pub upload: Option<nginx::Upload>,
    pub bosh: bool,
    pub federation: bool,
    pub http_port: u16,
    pub api_port: u16,
    pub server_api_port: u16,
    /// Extra Service names the configuration gives the Pod Server and the Pod API
    /// (`server.local_hostname`, `api.local_hostname` when they are not compose's aliases).
    pub server_alias: Option<String>,
    pub api_alias: Option<String>,
    /// Whether the pinned Pod Server calls the Pod API (>= 0.5.0).
    pub server_calls_api: bool,
    pub images: Images,
    /// The generated files the ConfigMaps hold.
    pub prose_toml: String,
    pub prosody_cfg: String,
    pub server_variables: Vec<(String, String)>,
    pub host_meta: String,
    pub host_meta_json: String,
    pub secrets: Vec<secrets::SecretEnv>,
}

/// Image references, as compose's defaults (the Pod API and Pod Server at their pins).
pub struct Images {
    pub server: String,
    pub api: String,
    pub app: String,
    pub dashboard: String,
}

/// The pod's files, relative to `kubernetes/<domain>/`.
pub fn render(ctx: &RenderContext, settings: &Settings) -> Diagnosed<Vec<GeneratedFile>> {
    let plan = plan(ctx, settings)?;
    Ok(render_plan(&plan))
}

/// Every value the files need, checked: an error names the key that Kubernetes cannot take.
pub fn plan(ctx: &RenderContext, settings: &Settings) -> Diagnosed<Plan> {
    let config = ctx.config;
    let site = nginx::plan(ctx)?;
    let mut errors = Vec::new();
    let domain = site.pod.server_domain.clone();
    let pod_host = site.pod.pod.names[0].clone();
    let dashboard_host = site.pod.dashboard.names[0].clone();
    for (host, key) in [
        (&pod_host, keys::POD_DOMAIN),
        (&dashboard_host, keys::DASHBOARD_URL),
        (&domain, keys::SERVER_DOMAIN),
    ] {
        if let Some(problem) = host_problem(host) {
            errors.push(
                Diagnostic::error(code::KUBERNETES, format!("{key}: `{host}` {problem}"))
                    .key(key)
                    .at(ctx.span_of(key.path()), "an Ingress host")
                    .help("give it a DNS name (an Ingress routes by name, and its TLS Secret is named after it)"),
            );
        }
    }
    let aliases = [
        (
            config.server.local_hostname.as_str(),
            SERVER_NAME,
            keys::SERVER_LOCAL_HOSTNAME,
        ),
        (
            config.api.local_hostname.as_str(),
            API_NAME,
            keys::API_LOCAL_HOSTNAME,
        ),
    ]
    .map(|(name, default, key)| {
        if name == default {
            return None;
        }
        if !names::is_service_name(name) {
            errors.push(
                Diagnostic::error(
                    code::KUBERNETES,
                    format!(
                        "{key}: `{name}` cannot be the name of a Service in the pod's namespace"
                    ),
                )
                .key(key)
                .at(ctx.span_of(key.path()), "resolved as a Service name")
                .help(format!(
                    "use a name of lower-case letters, digits and `-` (at most 63), or remove it \
                     (the default is `{default}`)"
                )),
            );
        }
        Some(name.to_owned())
    });
    let images = images(ctx, &mut errors);
    let files = super::prose_toml::render_with(
        ctx,
        super::prose_toml::SecretPolicy::FromSecret(&settings.secret),
    );
    let secrets = secrets::environment(ctx, &files.secrets, &mut errors);
    let prosody = super::prosody::render(ctx);
    let host_meta = super::host_meta::render(ctx);
    let (prosody, host_meta) = match (prosody, host_meta) {
        (Ok(prosody), Ok(host_meta)) => (prosody, host_meta),
        (prosody, host_meta) => {
            errors.extend(prosody.err().into_iter().flatten());
            errors.extend(host_meta.err().into_iter().flatten());
            return Err(errors);
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let text = |file: &GeneratedFile| file.text().into_owned();
    let server_version = config
        .deployment
        .pins
        .server
        .effective(Component::PodServer);
    let server_calls_api = compat::entry(keys::API_LOCAL_HOSTNAME.path())
        .is_some_and(|e| e.reads(Component::PodServer).at(server_version));
    let [server_alias, api_alias] = aliases;
    Ok(Plan {
        notice: ctx.notice(),
        settings: settings.clone(),
        namespace: names::namespace(&domain),
        domain,
        pod_host,
        dashboard_host,
        tls: site.pod.tls.clone(),
        upload: site.pod.upload.clone(),
        bosh: site.pod.bosh,
        federation: config.server.defaults.federation_enabled,
        http_port: config.server.http_port,
        api_port: config.api.port,
        server_api_port: config.server_api.port,
        server_alias,
        api_alias,
        server_calls_api,
        images,
        prose_toml: text(&files.files[0]),
        prosody_cfg: text(&prosody[0]),
        server_variables: files.server_variables,
        host_meta: text(&host_meta[0]),
        host_meta_json: text(&host_meta[1]),
        secrets,
    })
}

/// Why a host cannot be an Ingress rule's host (an IP address), or a TLS Secret's name.
fn host_problem(host: &str) -> Option<&'static str> {
    if host.parse::<std::net::Ipv4Addr>().is_ok() || host.starts_with('[') {
        return Some("is an IP address, which an Ingress cannot route by");
    }
    if names::tls_secret(host).is_none() {
        return Some("is too long for the name of its TLS Secret (`tls-<host>`, 253 characters)");
    }
    None
}

/// A Docker tag: what compose would accept after `:`.
fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn images(ctx: &RenderContext, errors: &mut Vec<Diagnostic>) -> Images {
    let pins = &ctx.config.deployment.pins;
    let mut image = |name: &str, component: Component| {
        let pin = pins.get(component);
        if !valid_tag(&pin.tag) {
            errors.push(
                Diagnostic::error(
                    code::KUBERNETES,
                    format!(
                        "{}: {:?} is not an image tag",
                        pin.set_by
                            .as_deref()
                            .unwrap_or(component.version_variable()),
                        pin.tag
                    ),
                )
                .help("write a version such as `0.20.0` (letters, digits, `_`, `.`, `-`)"),
            );
        }
        format!("proseim/{name}:{}", pin.tag)
    };
    Images {
        server: image("prose-pod-server", Component::PodServer),
        api: image("prose-pod-api", Component::PodApi),
        app: format!("proseim/prose-app-web:{APP_WEB_VERSION}"),
        dashboard: format!("proseim/prose-pod-dashboard:{POD_DASHBOARD_VERSION}"),
    }
}

/// Labels of every object of a component; the selector uses `app.kubernetes.io/name` only.
pub fn labels(component: &str) -> Map {
    map! {
        "app.kubernetes.io/name" => component,
        "app.kubernetes.io/part-of" => "prose-pod",
        "app.kubernetes.io/managed-by" => "prose-compile",
    }
}

pub fn selector(component: &str) -> Map {
    map! { "app.kubernetes.io/name" => component }
}

/// `metadata` of a namespaced object.
pub fn metadata(plan: &Plan, name: &str, component: &str) -> Map {
    map! {
        "name" => name,
        "namespace" => plan.namespace.as_str(),
        "labels" => labels(component),
    }
}

/// A file of the pod: its header (the notice and what it holds), then its documents.
fn file(plan: &Plan, path: &str, about: &str, documents: &[Document]) -> GeneratedFile {
    let header = vec![plan.notice.clone(), String::new(), about.to_owned()];
    GeneratedFile {
        path: path.into(),
        contents: yaml::file(&header, documents).into_bytes(),
        mode: 0o644,
    }
}

/// Renders a plan. Public so tests can render hostile values the front end would refuse.
pub fn render_plan(plan: &Plan) -> Vec<GeneratedFile> {
    let config_maps = config_maps::config_maps(plan);
    let mut out = vec![
        file(
            plan,
            NAMESPACE,
            &format!(
                "The namespace of the Prose Pod {}, under the restricted Pod Security profile.",
                plan.domain
            ),
            &[namespace(plan)],
        ),
        file(
            plan,
            CONFIG,
            "Configuration, in ConfigMaps named after their content: a change rolls the workloads.",
            &config_maps.documents,
        ),
        file(
            plan,
            SERVER,
            "The Pod Server (Prosody): one replica, its data and /etc/prosody on claims.",
            &workloads::server(plan, &config_maps.names),
        ),
        file(
            plan,
            API,
            "The Pod API: it rewrites /etc/prosody/prosody.cfg.lua from prose.toml at every start.",
            &workloads::api(plan, &config_maps.names),
        ),
        file(plan, APP, "The Prose web app.", &workloads::app(plan)),
        file(
            plan,
            DASHBOARD,
            "The Prose Pod Dashboard.",
            &workloads::dashboard(plan),
        ),
        file(
            plan,
            WELL_KNOWN,
            "/.well-known/host-meta and host-meta.json (XEP-0156), with CORS.",
            &workloads::well_known(plan, &config_maps.names),
        ),
        file(
            plan,
            INGRESS,
            "HTTPS through ingress-nginx: the nginx site's behaviour, as annotations.",
            &network::ingresses(plan, &config_maps.names),
        ),
    ];
    let policies = network::network_policies(plan);
    if !policies.is_empty() {
        out.push(file(
            plan,
            NETWORK_POLICIES,
            "Isolation: every ingress denied but what each component needs.",
            &policies,
        ));
    }
    let resources: Vec<String> = out.iter().map(|f| f.path.to_string()).collect();
    out.insert(0, kustomization(plan, resources));
    out
}

fn namespace(plan: &Plan) -> Document {
    let mut labels = labels("prose-pod");
    for mode in ["enforce", "audit", "warn"] {
        labels.push(format!("pod-security.kubernetes.io/{mode}"), "restricted");
    }
    Document::new(map! {
        "apiVersion" => "v1",
        "kind" => "Namespace",
        "metadata" => map! {
            "name" => plan.namespace.as_str(),
            "labels" => labels,
            "annotations" => map! { "prose-compile/server-domain" => plan.domain.as_str() },
        },
    })
}

/// The pod's kustomization: every file, and in its header what the operator provides.
fn kustomization(plan: &Plan, resources: Vec<String>) -> GeneratedFile {
    let mut header = vec![
        plan.notice.clone(),
        String::new(),
        format!(
            "The Prose Pod {} (namespace {}): `kubectl apply -k` this directory, or the fleet's.",
            plan.domain, plan.namespace
        ),
        "Before, the operator creates in the namespace:".to_owned(),
        if plan.secrets.is_empty() {
            "- no Secret: this configuration sets and needs no secret".to_owned()
        } else {
            format!(
                "- the Secret `{}` with the keys: {}",
                plan.settings.secret,
                secrets::required_keys_text(&plan.secrets)
            )
        },
    ];
    for host in plan.tls_hosts() {
        header.push(format!(
            "- the kubernetes.io/tls Secret `{}` for {host}{}",
            names::tls_secret(&host).unwrap_or_default(),
            if host == plan.domain {
                format!(" (and groups.{host}: Prosody's certificate)")
            } else {
                String::new()
            }
        ));
    }
    header.push(format!(
        "and the cluster has an ingress-nginx controller (class `{}`, namespace `{}`) and a \
         ReadWriteMany storage class.",
        plan.settings.ingress_class, plan.settings.ingress_namespace
    ));
    let body = map! {
        "apiVersion" => "kustomize.config.k8s.io/v1beta1",
        "kind" => "Kustomization",
        "resources" => resources,
    };
    GeneratedFile {
        path: KUSTOMIZATION.into(),
        contents: yaml::file(&header, &[Document::new(body)]).into_bytes(),
        mode: 0o644,
    }
}

impl Plan {
    /// Every host with a TLS Secret: the web app's, the Dashboard's and the server domain.
    pub fn tls_hosts(&self) -> Vec<String> {
        let mut hosts = vec![
            self.pod_host.clone(),
            self.dashboard_host.clone(),
            self.domain.clone(),
        ];
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// The Strict-Transport-Security value of a host, as the nginx site sends it.
    pub fn hsts(&self, host: &str) -> String {
        if host == self.domain {
            format!("max-age={}", nginx::HSTS_MAX_AGE)
        } else {
            format!("max-age={}; includeSubDomains", nginx::HSTS_MAX_AGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_what_compose_accepts() {
        for good in ["0.20.0", "latest", "v1_2-rc.1"] {
            assert!(valid_tag(good), "{good}");
        }
        for bad in ["", "-x", "a b", "a:b", "a\nb", &"a".repeat(129)] {
            assert!(!valid_tag(bad), "{bad:?}");
        }
    }
}
