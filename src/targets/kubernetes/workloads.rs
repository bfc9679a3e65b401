//! The workloads: the Pod Server's StatefulSet and the Deployments of the Pod API, the web
//! app, the Dashboard and the well-known server, with their claims and Services.
//!
//! Every pod: uid/gid 1001, no privilege escalation, every capability dropped, the
//! runtime's seccomp profile, a read-only root filesystem (the paths each image writes are
//! `emptyDir`s), no service account token (nothing here talks to the Kubernetes API), and no
//! service links: Kubernetes would otherwise inject `PROSE_POD_API_PORT=tcp://…` and the like
//! into every container, which the Pod API reads as unknown configuration keys and refuses to
//! start on.

use super::config_maps::{Names, WELL_KNOWN_ROOT};
use super::secrets;
use super::yaml::{Document, Map, Yaml, map, seq};
use super::{
    API_DATA_SIZE, API_NAME, API_RESOURCES, API_SERVICE_PORT, APP_NAME, C2S_PORT, COPY_RESOURCES,
    DASHBOARD_NAME, PROSODY_CONFIG_SIZE, PROSODY_DATA_SIZE, Plan, Resources, S2S_PORT,
    SERVER_DATA_SIZE, SERVER_NAME, SERVER_RESOURCES, STATIC_RESOURCES, UID, WEB_PORT,
    WELL_KNOWN_NAME, labels, metadata, selector,
};

/// The claim both the Pod Server and the Pod API mount at `/etc/prosody`.
pub const PROSODY_CONFIG_CLAIM: &str = "prosody-config";
pub const API_DATA_CLAIM: &str = "prose-pod-api-data";
/// Where the init container finds the generated `prosody.cfg.lua`.
const GENERATED_PROSODY_DIR: &str = "/etc/prose-compile";

fn pod_security() -> Map {
    map! {
        "runAsNonRoot" => true,
        "runAsUser" => UID,
        "runAsGroup" => UID,
        "fsGroup" => UID,
        "fsGroupChangePolicy" => "OnRootMismatch",
        "seccompProfile" => map! { "type" => "RuntimeDefault" },
    }
}

fn container_security() -> Map {
    map! {
        "allowPrivilegeEscalation" => false,
        "readOnlyRootFilesystem" => true,
        "capabilities" => map! { "drop" => seq!["ALL"] },
    }
}

fn resources(r: &Resources) -> Map {
    map! {
        "requests" => map! { "cpu" => r.cpu_request, "memory" => r.memory_request },
        "limits" => map! { "cpu" => r.cpu_limit, "memory" => r.memory_limit },
    }
}

fn port(name: &str, number: u16) -> Map {
    map! { "name" => name, "containerPort" => number, "protocol" => "TCP" }
}

fn mount(name: &str, path: &str, read_only: bool) -> Map {
    let mount = map! { "name" => name, "mountPath" => path };
    if read_only {
        mount.with("readOnly", true)
    } else {
        mount
    }
}

fn empty_dir(name: &str) -> Map {
    map! { "name" => name, "emptyDir" => map! { "sizeLimit" => "64Mi" } }
}

fn config_map_volume(name: &str, config_map: &str) -> Map {
    map! { "name" => name, "configMap" => map! { "name" => config_map } }
}

fn claim_volume(name: &str, claim: &str) -> Map {
    map! { "name" => name, "persistentVolumeClaim" => map! { "claimName" => claim } }
}

/// An HTTP probe of a named port.
fn http_probe(path: &str, port: &str, period: u32, failures: u32) -> Map {
    map! {
        "httpGet" => map! { "path" => path, "port" => port },
        "periodSeconds" => period,
        "timeoutSeconds" => 5u32,
        "failureThreshold" => failures,
    }
}

/// Startup (up to 5 minutes: a first start migrates data), readiness and liveness probes.
fn probes(container: Map, path: &str, port: &str) -> Map {
    container
        .with("startupProbe", http_probe(path, port, 5, 60))
        .with("readinessProbe", http_probe(path, port, 10, 3))
        .with("livenessProbe", http_probe(path, port, 20, 6))
}

fn container(name: &str, image: &str, r: &Resources) -> Map {
    map! {
        "name" => name,
        "image" => image,
        "imagePullPolicy" => "IfNotPresent",
    }
    .with("resources", resources(r))
    .with("securityContext", container_security())
}

/// The pod template of a component.
fn pod_template(component: &str, spec: Map) -> Map {
    let mut full = map! {
        "automountServiceAccountToken" => false,
        "enableServiceLinks" => false,
        "securityContext" => pod_security(),
    };
    for (key, value) in spec.entries() {
        full.push(key, value.clone());
    }
    map! {
        "metadata" => map! { "labels" => labels(component) },
        "spec" => full,
    }
}

fn claim(plan: &Plan, name: &str, component: &str, mode: &str, size: &str) -> Map {
    map! {
        "apiVersion" => "v1",
        "kind" => "PersistentVolumeClaim",
        "metadata" => metadata(plan, name, component),
        "spec" => claim_spec(mode, size),
    }
}

fn claim_spec(mode: &str, size: &str) -> Map {
    map! {
        "accessModes" => seq![mode],
        "resources" => map! { "requests" => map! { "storage" => size } },
    }
}

/// A ClusterIP Service in front of a component.
fn service(plan: &Plan, name: &str, component: &str, ports: Vec<Map>) -> Document {
    Document::new(map! {
        "apiVersion" => "v1",
        "kind" => "Service",
        "metadata" => metadata(plan, name, component),
        "spec" => map! {
            "type" => "ClusterIP",
            "selector" => selector(component),
            "ports" => ports,
        },
    })
}

fn service_port(name: &str, port: u16, target: &str) -> Map {
    map! { "name" => name, "port" => port, "targetPort" => target, "protocol" => "TCP" }
}

/// A Deployment of one replica.
fn deployment(plan: &Plan, component: &str, strategy: &str, spec: Map) -> Document {
    Document::new(map! {
        "apiVersion" => "apps/v1",
        "kind" => "Deployment",
        "metadata" => metadata(plan, component, component),
        "spec" => map! {
            "replicas" => 1u32,
            "strategy" => map! { "type" => strategy },
            "selector" => map! { "matchLabels" => selector(component) },
            "template" => pod_template(component, spec),
        },
    })
}

/// The Pod Server: Prosody and the Pod Server API, one replica (a pod is one machine by
/// design), its data on claims of its own, `/etc/prosody` on the claim it shares with the Pod
/// API, which writes `prosody.cfg.lua` there. An init container first installs the generated
/// file, as `build` does on a host. Prosody's certificate for the server domain (and
/// `groups.<domain>`) comes from the TLS Secret of the server domain, where Prosody looks.
pub fn server(plan: &Plan, config: &Names) -> Vec<Document> {
    let mut ports = vec![port("c2s", C2S_PORT)];
    if plan.federation {
        ports.push(port("s2s", S2S_PORT));
    }
    ports.push(port("http", plan.http_port));
    ports.push(port("server-api", plan.server_api_port));
    let tls_secret = super::names::tls_secret(&plan.domain).unwrap_or_default();
    let mut server =
        container("server", &plan.images.server, &SERVER_RESOURCES).with("ports", ports);
    if let Some(env) = &config.server_env {
        server.push(
            "envFrom",
            vec![map! { "configMapRef" => map! { "name" => env.as_str() } }],
        );
    }
    let env = secrets::env(&plan.settings.secret, &plan.secrets, |s| s.server);
    if !env.is_empty() {
        server.push("env", env);
    }
    let server = probes(
        server.with(
            "volumeMounts",
            vec![
                mount("prose-config", "/etc/prose", true),
                mount("prosody-config", "/etc/prosody", false),
                mount(
                    "certificate",
                    &format!("/etc/prosody/certs/{}", plan.domain),
                    true,
                ),
                mount("prosody-data", "/var/lib/prosody", false),
                mount("server-data", "/var/lib/prose-pod-server", false),
                mount("run", "/var/run/prosody", false),
                mount("tmp", "/tmp", false),
            ],
        ),
        "/health",
        "server-api",
    );
    let install = container(
        "install-prosody-config",
        &plan.images.server,
        &COPY_RESOURCES,
    )
    .with(
        "command",
        seq![
            "cp",
            format!("{GENERATED_PROSODY_DIR}/prosody.cfg.lua"),
            "/etc/prosody/prosody.cfg.lua"
        ],
    )
    .with(
        "volumeMounts",
        vec![
            mount("generated-prosody-config", GENERATED_PROSODY_DIR, true),
            mount("prosody-config", "/etc/prosody", false),
        ],
    );
    let spec = map! {
        // The Pod Server calls Prosody's OAuth 2.0 at http://prose-pod-server:5280: itself.
        "hostAliases" => vec![map! { "ip" => "127.0.0.1", "hostnames" => seq![SERVER_NAME] }],
        "initContainers" => vec![install],
        "containers" => vec![server],
        "volumes" => vec![
            config_map_volume("prose-config", &config.prose),
            config_map_volume("generated-prosody-config", &config.prosody),
            claim_volume("prosody-config", PROSODY_CONFIG_CLAIM),
            map! {
                "name" => "certificate",
                "secret" => map! {
                    "secretName" => tls_secret.as_str(),
                    "defaultMode" => 0o440u32,
                    "items" => vec![
                        map! { "key" => "tls.crt", "path" => "fullchain.pem" },
                        map! { "key" => "tls.key", "path" => "privkey.pem" },
                    ],
                },
            },
            empty_dir("run"),
            empty_dir("tmp"),
        ],
    };
    let statefulset = map! {
        "apiVersion" => "apps/v1",
        "kind" => "StatefulSet",
        "metadata" => metadata(plan, SERVER_NAME, SERVER_NAME),
        "spec" => map! {
            "serviceName" => SERVER_NAME,
            "replicas" => 1u32,
            "selector" => map! { "matchLabels" => selector(SERVER_NAME) },
            "template" => pod_template(SERVER_NAME, spec),
            "volumeClaimTemplates" => vec![
                map! {
                    "metadata" => map! { "name" => "prosody-data", "labels" => labels(SERVER_NAME) },
                    "spec" => claim_spec("ReadWriteOnce", PROSODY_DATA_SIZE),
                },
                map! {
                    "metadata" => map! { "name" => "server-data", "labels" => labels(SERVER_NAME) },
                    "spec" => claim_spec("ReadWriteOnce", SERVER_DATA_SIZE),
                },
            ],
        },
    };
    let admin_ports = || {
        vec![
            service_port("http", plan.http_port, "http"),
            service_port("server-api", plan.server_api_port, "server-api"),
        ]
    };
    let mut xmpp_ports = vec![service_port("c2s", C2S_PORT, "c2s")];
    if plan.federation {
        xmpp_ports.push(service_port("s2s", S2S_PORT, "s2s"));
    }
    let mut documents = vec![
        Document::commented(
            &["Shared with the Pod API, which writes prosody.cfg.lua: ReadWriteMany."],
            claim(
                plan,
                PROSODY_CONFIG_CLAIM,
                SERVER_NAME,
                "ReadWriteMany",
                PROSODY_CONFIG_SIZE,
            ),
        ),
        Document::new(statefulset),
        Document::commented(
            &["Inside the cluster: Prosody's HTTP port and the Pod Server API."],
            service(plan, SERVER_NAME, SERVER_NAME, admin_ports())
                .body
                .clone(),
        ),
    ];
    if let Some(alias) = &plan.server_alias {
        documents.push(Document::commented(
            &["server.local_hostname: the name the Pod API calls the Pod Server by."],
            service(plan, alias, SERVER_NAME, admin_ports()).body,
        ));
    }
    documents.push(Document::commented(
        &[
            "XMPP from the Internet: clients (5222) and, when federating, servers (5269).",
            "Point the SRV/A records of the server domain at its address.",
        ],
        map! {
            "apiVersion" => "v1",
            "kind" => "Service",
            "metadata" => metadata(plan, &format!("{SERVER_NAME}-xmpp"), SERVER_NAME),
            "spec" => map! {
                "type" => "LoadBalancer",
                // Keeps the clients' addresses, which Prosody's limits and logs use.
                "externalTrafficPolicy" => "Local",
                "selector" => selector(SERVER_NAME),
                "ports" => xmpp_ports,
            },
        },
    ));
    documents
}

/// The Pod API: its database on a claim of its own (one replica, recreated rather than
/// rolled: SQLite has one writer), `/etc/prosody` shared with the Pod Server.
pub fn api(plan: &Plan, config: &Names) -> Vec<Document> {
    let mut api = container("api", &plan.images.api, &API_RESOURCES)
        .with("ports", vec![port("http", plan.api_port)]);
    let env = secrets::env(&plan.settings.secret, &plan.secrets, |s| s.api);
    if !env.is_empty() {
        api.push("env", env);
    }
    let api = probes(
        api.with(
            "volumeMounts",
            vec![
                mount("prose-config", "/etc/prose", true),
                mount("prosody-config", "/etc/prosody", false),
                mount("data", "/var/lib/prose-pod-api", false),
                mount("tmp", "/tmp", false),
            ],
        ),
        "/health",
        "http",
    );
    let spec = map! {
        "containers" => vec![api],
        "volumes" => vec![
            config_map_volume("prose-config", &config.prose),
            claim_volume("prosody-config", PROSODY_CONFIG_CLAIM),
            claim_volume("data", API_DATA_CLAIM),
            empty_dir("tmp"),
        ],
    };
    let ports = || vec![service_port("http", API_SERVICE_PORT, "http")];
    let mut documents = vec![
        Document::new(claim(
            plan,
            API_DATA_CLAIM,
            API_NAME,
            "ReadWriteOnce",
            API_DATA_SIZE,
        )),
        deployment(plan, API_NAME, "Recreate", spec),
        service(plan, API_NAME, API_NAME, ports()),
    ];
    if let Some(alias) = &plan.api_alias {
        let mut alias = service(plan, alias, API_NAME, ports());
        alias.comments =
            vec!["api.local_hostname: the name the Pod Server calls the Pod API by.".into()];
        documents.push(alias);
    }
    documents
}

/// nginx serving static files: its image's paths for a pid file and caches are `emptyDir`s.
fn static_site(
    plan: &Plan,
    component: &str,
    image: &str,
    extra: Vec<Map>,
    volumes: Vec<Map>,
) -> Vec<Document> {
    let mut mounts = vec![
        mount("run", "/run", false),
        mount("cache", "/var/cache/nginx", false),
        mount("tmp", "/tmp", false),
    ];
    mounts.extend(extra);
    let probe_path = if component == WELL_KNOWN_NAME {
        "/.well-known/host-meta.json"
    } else {
        "/"
    };
    let site = probes(
        container("web", image, &STATIC_RESOURCES)
            .with("ports", vec![port("http", WEB_PORT)])
            .with("volumeMounts", mounts),
        probe_path,
        "http",
    );
    let mut all_volumes = vec![empty_dir("run"), empty_dir("cache"), empty_dir("tmp")];
    all_volumes.extend(volumes);
    let spec = map! {
        "containers" => vec![site],
        "volumes" => all_volumes,
    };
    vec![
        deployment(plan, component, "RollingUpdate", spec),
        service(
            plan,
            component,
            component,
            vec![service_port("http", WEB_PORT, "http")],
        ),
    ]
}

pub fn app(plan: &Plan) -> Vec<Document> {
    static_site(plan, APP_NAME, &plan.images.app, Vec::new(), Vec::new())
}

pub fn dashboard(plan: &Plan) -> Vec<Document> {
    static_site(
        plan,
        DASHBOARD_NAME,
        &plan.images.dashboard,
        Vec::new(),
        Vec::new(),
    )
}

/// host-meta and host-meta.json, served by the web app's image (an nginx) with a
/// configuration of its own: no other image to pull.
pub fn well_known(plan: &Plan, config: &Names) -> Vec<Document> {
    let items = |pairs: &[(&str, &str)]| -> Yaml {
        pairs
            .iter()
            .map(|(key, path)| Yaml::Map(map! { "key" => *key, "path" => *path }))
            .collect::<Vec<Yaml>>()
            .into()
    };
    let volume = |name: &str, pairs: &[(&str, &str)]| {
        map! {
            "name" => name,
            "configMap" => map! { "name" => config.well_known.as_str(), "items" => items(pairs) },
        }
    };
    static_site(
        plan,
        WELL_KNOWN_NAME,
        &plan.images.app,
        vec![
            mount("nginx-conf", "/etc/nginx", true),
            mount("files", &format!("{WELL_KNOWN_ROOT}/.well-known"), true),
        ],
        vec![
            volume("nginx-conf", &[("nginx.conf", "nginx.conf")]),
            volume(
                "files",
                &[
                    ("host-meta", "host-meta"),
                    ("host-meta.json", "host-meta.json"),
                ],
            ),
        ],
    )
}
