//! Which component each key and variable reaches, at the pinned versions ([`compat`]).
//!
//! compose gives `prose.env` to the Pod API and the Pod Server, the generated
//! `prose-server.env` to the Pod Server only, and `compose.env` to no container (prose.service
//! reads it for compose's own variables). Both daemons read `/etc/prose/prose.toml`. So a key
//! is written into the tree's `prose.toml` when the pinned Pod API accepts it, into
//! `prose-server.env` when only the Pod Server reads it (the Pod API would refuse to start on
//! it), and nowhere, with a warning, when no pinned component reads it.

use crate::config::compat::{self, Component, EnvSecret, Fate, Pins};
use crate::config::env::{self, Assignment, FileVariable};
use crate::config::schema_nav::{SchemaNav, did_you_mean};
use crate::config::schema_structure::{Structure, structure};
use crate::diagnostics::source::{SourceId, SourceKind, Sources};
use crate::diagnostics::{Diagnostic, code, is_secret_key};
use crate::provenance::{Node, Origin, dotted, owned};

/// Where a key goes in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `etc/prose/prose.toml`: the Pod API accepts it.
    ProseToml,
    /// `etc/prose/prose-server.env`: only the Pod Server reads it.
    ServerEnv,
    /// prose-compile's own (`audit`): never written.
    Ours,
    /// No pinned component reads it: left out, for this reason.
    Nowhere { why: String, help: String },
}

/// Where the key at `path` goes with these pins.
pub fn route(path: &[&str], pins: &Pins) -> Route {
    if path.first() == Some(&"audit") {
        return Route::Ours;
    }
    let api = pins.api.effective(Component::PodApi);
    let server = pins.server.effective(Component::PodServer);
    let Some(entry) = compat::entry(path) else {
        return Route::Nowhere {
            why: "no component reads it".into(),
            help: "remove it".into(),
        };
    };
    if let ["prosody", _, _, option, ..] = path
        && !known_prosody_option(option)
    {
        let refused = compat::refuses_unknown(Component::PodApi, api, path);
        return Route::Nowhere {
            why: format!(
                "{} {} Prosody options it does not know",
                pins.label(Component::PodApi),
                if refused {
                    "refuses (it would not start on)"
                } else {
                    "ignores"
                }
            ),
            help: match did_you_mean(option, prosody_options().iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "the Pod API writes prosody.cfg.lua from prose.toml: an option it does \
                         not know never reaches Prosody at run time"
                    .into(),
            },
        };
    }
    let api_fate = compat::fate(entry, Component::PodApi, api, path);
    let server_fate = compat::fate(entry, Component::PodServer, server, path);
    let reads = api_fate == Fate::Reads || server_fate == Fate::Reads;
    match (api_fate, server_fate) {
        (Fate::Refuses, Fate::Reads) => Route::ServerEnv,
        (_, Fate::Refuses) if api_fate == Fate::Reads => Route::Nowhere {
            why: format!(
                "{} reads it but {} refuses it",
                pins.label(Component::PodApi),
                pins.label(Component::PodServer)
            ),
            help: "remove it, or pin versions that agree on it".into(),
        },
        _ if reads => Route::ProseToml,
        _ => {
            let fate_text = |component: Component, fate: Fate| {
                let verb = match fate {
                    Fate::Refuses => "refuses",
                    _ => "ignores",
                };
                match entry.reads(component) {
                    compat::Reads::Never => format!("{} {verb} it", pins.label(component)),
                    reads => format!(
                        "{} {verb} it (read {})",
                        pins.label(component),
                        reads.describe()
                    ),
                }
            };
            let hint = [Component::PodServer, Component::PodApi]
                .into_iter()
                .find_map(|c| compat::upgrade_hint(entry, c));
            let help = match (entry.note, hint) {
                ("", Some(hint)) => hint,
                ("", None) => "remove it".into(),
                (note, Some(hint)) => format!("{note}; {hint}"),
                (note, None) => note.into(),
            };
            Route::Nowhere {
                why: format!(
                    "{}, {}",
                    fate_text(Component::PodApi, api_fate),
                    fate_text(Component::PodServer, server_fate)
                ),
                help,
            }
        }
    }
}

/// The typed Prosody options (`ProsodySettings`): what the Pod API knows. Listed once per
/// process: every Prosody key routed asks.
fn prosody_options() -> &'static [&'static str] {
    static OPTIONS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    OPTIONS.get_or_init(|| {
        let nav = SchemaNav::new(structure());
        nav.at(&["prosody", "global", "overrides"])
            .map(|s| nav.property_names(s))
            .unwrap_or_default()
    })
}

fn known_prosody_option(option: &str) -> bool {
    prosody_options().contains(&option)
}

/// Whether a value was written by the operator (a layer), not a default or a computation.
fn set_by_operator(node: &Node) -> bool {
    matches!(
        node.origin,
        Origin::File(_) | Origin::Env { .. } | Origin::Set(_)
    )
}

/// Warnings for keys the pinned components do not take from `prose.toml`: one per row of the
/// compatibility table, at the first key of it the operator set.
pub fn check_keys(
    tree: &Node,
    pins: &Pins,
    _schema: &Structure,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut seen: Vec<(String, Route)> = Vec::new();
    tree.for_each_leaf(&mut Vec::new(), &mut |path, node| {
        if !set_by_operator(node) {
            return;
        }
        let route = route(path, pins);
        if matches!(route, Route::ProseToml | Route::Ours) {
            return;
        }
        let group = match (&route, compat::entry(path)) {
            (Route::Nowhere { .. }, _) if path.first() == Some(&"prosody") => dotted(path),
            (_, Some(entry)) => entry.key.to_owned(),
            _ => dotted(path),
        };
        if seen.iter().any(|(g, r)| *g == group && *r == route) {
            return;
        }
        seen.push((group.clone(), route.clone()));
        let key = dotted(path);
        let span = node.key_span.or(node.origin.span());
        diagnostics.push(match route {
            Route::ServerEnv => Diagnostic::warning(
                code::COMPATIBILITY,
                format!(
                    "`{group}`: {} refuses it (it would not start), so it reaches {} only, \
                     through prose-server.env",
                    pins.label(Component::PodApi),
                    pins.label(Component::PodServer),
                ),
            )
            .key(key)
            .at(span, "for the Pod Server only")
            .help(
                "nothing to do: prose-compile writes it into etc/prose/prose-server.env, which \
                 compose gives to the Pod Server's container only",
            ),
            Route::Nowhere { why, help } => Diagnostic::warning(
                code::COMPATIBILITY,
                format!("`{key}` has no effect: {why}; it is left out of etc/prose/prose.toml"),
            )
            .key(key)
            .at(span, "read by no pinned component")
            .help(help),
            Route::ProseToml | Route::Ours => return,
        });
    });
}

/// Warnings for variables of the env files that reach a container that refuses them, or no
/// container at all.
pub fn check_env_files(
    prose_env: &[Assignment],
    compose_env: &[Assignment],
    variables: &[FileVariable],
    pins: &Pins,
    schema: &Structure,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let nav = SchemaNav::new(schema);
    let api = pins.api.effective(Component::PodApi);
    for a in prose_env {
        if !a.name.starts_with(env::PREFIX) || a.name.starts_with("PROSE_COMPILE_") {
            continue;
        }
        let Some(path) = env::key_path(&a.name) else {
            continue;
        };
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        let is_compose_variable = variables.iter().any(|v| v.name == a.name);
        if is_compose_variable {
            if compat::refuses_unknown(Component::PodApi, api, &segments) {
                diagnostics.push(
                    Diagnostic::warning(
                        code::COMPATIBILITY,
                        format!(
                            "`{}` in prose.env also reaches the Pod API (compose's `env_file`), \
                             where it is the unknown key `{}`: {} refuses to start",
                            a.name,
                            dotted(&segments),
                            pins.label(Component::PodApi)
                        ),
                    )
                    .at(
                        Some(a.value_span),
                        "read by compose, refused by the Pod API",
                    )
                    .help(
                        "move the line to compose.env beside prose.env: prose.service reads it \
                         for compose, and no container gets it",
                    ),
                );
            }
            continue;
        }
        if nav.at(&path).is_none() {
            continue;
        }
        if route(&segments, pins) == Route::ServerEnv {
            diagnostics.push(
                Diagnostic::warning(
                    code::COMPATIBILITY,
                    format!(
                        "`{}` in prose.env also reaches the Pod API, which refuses `{}`: {} \
                         would not start",
                        a.name,
                        dotted(&segments),
                        pins.label(Component::PodApi)
                    ),
                )
                .key(dotted(&segments))
                .at(Some(a.value_span), "refused by the Pod API")
                .help(
                    "set the key in prose.toml instead: prose-compile hands it to the Pod \
                     Server only (etc/prose/prose-server.env)",
                ),
            );
        }
    }
    for a in compose_env {
        if let Some(d) = env::file_variable_warning(a, variables) {
            diagnostics.push(d);
            continue;
        }
        let names_key = env::key_path(&a.name).is_some_and(|p| nav.at(&p).is_some());
        if names_key && !variables.iter().any(|v| v.name == a.name) {
            diagnostics.push(
                Diagnostic::warning(
                    code::COMPATIBILITY,
                    format!(
                        "`{}` in compose.env reaches no container: compose.env holds compose's \
                         own variables",
                        a.name
                    ),
                )
                .at(Some(a.value_span), "not a configuration layer")
                .help("move it to prose.env, or set the key in prose.toml"),
            );
        }
    }
}

/// `PROSE_POD_SERVER_PORT_HTTP` moves the host port of Prosody's HTTP, which nginx reaches
/// at `server.http_port`: a warning when they differ.
pub fn check_http_port(assignments: &[Assignment], tree: &Node, diagnostics: &mut Vec<Diagnostic>) {
    let Some(a) = assignments
        .iter()
        .rev()
        .find(|a| a.name == "PROSE_POD_SERVER_PORT_HTTP")
    else {
        return;
    };
    let port = match tree.get_path(&["server", "http_port"]).map(|n| &n.value) {
        Some(crate::provenance::Value::Integer(n)) => *n,
        _ => 5280,
    };
    if a.value.trim() != port.to_string() {
        diagnostics.push(
            Diagnostic::warning(
                code::COMPOSE_VARIABLE,
                format!(
                    "`{}` moves Prosody's HTTP port on the host, where nginx proxies to \
                     `server.http_port` ({port})",
                    a.name
                ),
            )
            .at(Some(a.value_span), "nginx does not follow this")
            .help(format!(
                "remove it (the port is only bound on 127.0.0.1), or keep {port}"
            )),
        );
    }
}

/// The secrets whose effective value came from the environment or `--set`.
pub fn env_secrets(tree: &Node, server_env: Option<SourceId>, sources: &Sources) -> Vec<EnvSecret> {
    let mut found = Vec::new();
    tree.for_each_leaf(&mut Vec::new(), &mut |path, node| {
        // The origin first: most values come from the file, and need no key built.
        if !matches!(node.origin, Origin::Env { .. } | Origin::Set(_))
            || !is_secret_key(&dotted(path))
        {
            return;
        }
        let (variable, from) = match &node.origin {
            Origin::Env { var, span } if Some(span.source) != server_env => {
                let source = sources.get(span.source);
                let from = match source.kind {
                    SourceKind::Environment => "the environment".to_owned(),
                    _ => source
                        .name
                        .rsplit('/')
                        .next()
                        .unwrap_or(&source.name)
                        .to_owned(),
                };
                (var.clone(), from)
            }
            Origin::Set(_) => (env::var_name(path), "--set".to_owned()),
            _ => return,
        };
        found.push(EnvSecret {
            path: owned(path),
            variable,
            from,
        });
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_go_where_the_pinned_components_read_them() {
        let pins = Pins::default();
        assert_eq!(route(&["server", "domain"], &pins), Route::ProseToml);
        assert_eq!(
            route(&["vendor_analytics", "enabled"], &pins),
            Route::ServerEnv
        );
        assert_eq!(
            route(&["policies", "auto_update_enabled"], &pins),
            Route::ServerEnv
        );
        assert_eq!(
            route(&["log", "opentelemetry", "enabled"], &pins),
            Route::ServerEnv
        );
        assert_eq!(
            route(&["auth", "oauth2_registration_key"], &pins),
            Route::ServerEnv
        );
        assert_eq!(route(&["server_api", "address"], &pins), Route::ProseToml);
        assert_eq!(route(&["audit", "acknowledged", "x"], &pins), Route::Ours);
        assert!(matches!(
            route(&["api", "default_response_timeout"], &pins),
            Route::Nowhere { .. }
        ));
        // Read only by a later Pod Server than the pinned 0.4.3.
        let Route::Nowhere { help, .. } = route(&["backups", "s3", "region"], &pins) else {
            panic!("backups reach a Pod Server 0.4.3");
        };
        assert!(help.contains("PROSE_POD_SERVER_VERSION=0.5.0"), "{help}");
        let newer = Pins::from_variables([("PROSE_POD_SERVER_VERSION", "0.5.0")]);
        assert_eq!(
            route(&["backups", "s3", "region"], &newer),
            Route::ServerEnv
        );
        assert_eq!(route(&["api", "local_hostname"], &newer), Route::ServerEnv);
        // Known and unknown Prosody options.
        let known = ["prosody", "global", "overrides", "c2s_timeout"];
        assert_eq!(route(&known, &pins), Route::ProseToml);
        let unknown = ["prosody", "global", "overrides", "statistics"];
        assert!(matches!(route(&unknown, &pins), Route::Nowhere { .. }));
        // An older Pod API.
        let old = Pins::from_variables([("PROSE_POD_API_VERSION", "0.19.2")]);
        assert!(matches!(
            route(&["auth", "min_password_length"], &old),
            Route::Nowhere { .. }
        ));
        assert_eq!(
            route(&["auth", "oauth2_registration_key"], &old),
            Route::ProseToml
        );
    }
}
