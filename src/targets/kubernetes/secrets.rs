//! Secrets on Kubernetes: the manifests never hold one. Every secret the configuration sets,
//! in any layer (`prose.toml`, an env file, the environment, `--set`), is left out of the
//! ConfigMaps and given to the containers that read it as an environment variable taken from
//! the operator's Secret, under the variable's own name as key
//! (`PROSE_NOTIFIERS__EMAIL__SMTP_PASSWORD`). Kubernetes refuses to start a container whose
//! Secret lacks one of them (`optional: false`), so a missing key shows at once, by name.

use super::yaml::{Map, map};
use crate::config::compat::{self, Component, Fate};
use crate::diagnostics::{Diagnostic, code};
use crate::targets::RenderContext;
use crate::targets::prose_toml::SecretVariable;

/// One secret as the workloads take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEnv {
    /// The key's path, dotted (`notifiers.email.smtp_password`).
    pub key: String,
    /// The variable, and the Secret's key.
    pub variable: String,
    /// Whether each component reads it (the containers that get it).
    pub api: bool,
    pub server: bool,
}

/// Secrets the configuration needs even when no layer sets them (they then live in the
/// cluster only): the SMTP password of an SMTP login.
const NEEDED: &[(&[&str], &[&str])] = &[(
    &["notifiers", "email", "smtp_password"],
    &["notifiers", "email", "smtp_username"],
)];

/// Every secret the pod takes from the Secret: those `variables` names (the ones the layers
/// set, see `prose_toml::render_with`) and those the configuration needs ([`NEEDED`]), with the
/// components that read them. A secret that no variable can carry (a key figment cannot
/// spell, such as a Prosody option under a dotted host) is an error: there is no way to give
/// it to the pod without a ConfigMap.
pub fn environment(
    ctx: &RenderContext,
    variables: &[SecretVariable],
    errors: &mut Vec<Diagnostic>,
) -> Vec<SecretEnv> {
    let pins = &ctx.config.deployment.pins;
    let mut all = variables.to_vec();
    for (secret, when) in NEEDED {
        let set = |path: &[&str]| ctx.tree.get_path(path).is_some();
        let listed = all.iter().any(|v| v.path.iter().eq(secret.iter()));
        if set(when) && !listed {
            all.push(SecretVariable {
                path: secret.iter().map(|s| (*s).to_owned()).collect(),
                variable: crate::config::env::var_name(secret),
                route: crate::config::containers::route(secret, pins),
            });
        }
    }
    let mut out = Vec::new();
    for secret in &all {
        let segments: Vec<&str> = secret.path.iter().map(String::as_str).collect();
        let key = secret.path.join(".");
        if !segments.iter().all(|s| figment_segment(s)) {
            errors.push(
                Diagnostic::error(
                    code::KUBERNETES,
                    format!(
                        "{key} holds a secret, which the Kubernetes manifests never write, and \
                         no environment variable can carry this key"
                    ),
                )
                .key(key.clone())
                .at(ctx.span_of(&segments), "a secret")
                .help("remove it, or deploy this pod with the host target"),
            );
            continue;
        }
        let reads = |component: Component| {
            compat::entry(&segments).is_some_and(|entry| {
                compat::fate(
                    entry,
                    component,
                    pins.get(component).effective(component),
                    &segments,
                ) == Fate::Reads
            })
        };
        out.push(SecretEnv {
            key,
            variable: secret.variable.clone(),
            api: reads(Component::PodApi),
            server: reads(Component::PodServer),
        });
    }
    out.sort_by(|a, b| a.variable.cmp(&b.variable));
    out
}

/// The secrets of a pod, as [`environment`] finds them (errors aside): what its workloads must
/// take from the Secret.
pub fn required(ctx: &RenderContext) -> Vec<SecretEnv> {
    // The Secret's name only appears in the files' comments, which are not kept.
    let files = crate::targets::prose_toml::render_with(
        ctx,
        crate::targets::prose_toml::SecretPolicy::FromSecret("-"),
    );
    environment(ctx, &files.secrets, &mut Vec::new())
}

/// A path segment figment gives back from a `PROSE_*` variable: lower case, digits, single `_`.
fn figment_segment(s: &str) -> bool {
    !s.is_empty()
        && !s.contains("__")
        && !s.starts_with('_')
        && !s.ends_with('_')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The `env` entries of a container: each secret it reads, from the Secret.
pub fn env(secret: &str, secrets: &[SecretEnv], reads: impl Fn(&SecretEnv) -> bool) -> Vec<Map> {
    secrets
        .iter()
        .filter(|s| reads(s))
        .map(|s| {
            map! {
                "name" => s.variable.as_str(),
                "valueFrom" => map! {
                    "secretKeyRef" => map! {
                        "name" => secret,
                        "key" => s.variable.as_str(),
                        "optional" => false,
                    },
                },
            }
        })
        .collect()
}

/// `PROSE_A (a.b), PROSE_C (c.d)`.
pub fn required_keys_text(secrets: &[SecretEnv]) -> String {
    secrets
        .iter()
        .map(|s| format!("{} ({})", s.variable, s.key))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_figment_spellable_segments_carry_secrets() {
        assert!(figment_segment("smtp_password"));
        for bad in ["upload.prose.local", "a__b", "_a", "Upper", ""] {
            assert!(!figment_segment(bad), "{bad:?}");
        }
    }
}
