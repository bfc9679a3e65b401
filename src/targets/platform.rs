//! The target a build writes, shared by the command line (`--target`) and the config
//! repository (`target` in `prose-compile.toml`): a host's tree (the targets of the registry,
//! the default) or Kubernetes manifests ([`super::kubernetes`]).

use super::{GeneratedFile, GeneratedLink, RenderContext, Target};
use crate::config::repository::{self, TargetKind};
use crate::diagnostics::{self, Diagnosed, Diagnostic};

/// What a build renders, with the settings it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Platform {
    /// `etc/…` and `var/…` for one machine: Prosody, nginx, host-meta, compose, systemd.
    #[default]
    Host,
    /// `kubernetes/<server domain>/…`, with the repository's cluster-wide names.
    Kubernetes(repository::Kubernetes),
}

impl Platform {
    /// The platform of `kind`, with the repository's settings.
    pub fn new(kind: TargetKind, settings: &repository::Settings) -> Platform {
        match kind {
            TargetKind::Host => Platform::Host,
            TargetKind::Kubernetes => Platform::Kubernetes(settings.kubernetes.clone()),
        }
    }

    pub fn kind(&self) -> TargetKind {
        match self {
            Platform::Host => TargetKind::Host,
            Platform::Kubernetes(_) => TargetKind::Kubernetes,
        }
    }

    /// Every file of a pod's tree, structurally checked (see [`super::wellformed`]).
    pub fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        match self {
            Platform::Host => super::render_all(ctx),
            Platform::Kubernetes(settings) => {
                let files = super::kubernetes::render(ctx, settings)?;
                // The manifests come from the typed emitter, never from a template: the
                // structure check (a quarter of a fleet build's time) cannot fail on them, as
                // the injection tests prove with two YAML readers. Debug builds (the tests)
                // still run it; `verify` runs it on any tree found on disk.
                debug_assert!(
                    super::wellformed::check(&files).is_empty(),
                    "the Kubernetes emitter wrote a malformed manifest: {:?}",
                    super::wellformed::check(&files)
                );
                Ok(files)
            }
        }
    }

    /// The tree's symbolic links (nginx's `sites-enabled/`): none in Kubernetes manifests.
    pub fn links(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedLink>> {
        match self {
            Platform::Host => super::links_all(ctx),
            Platform::Kubernetes(_) => Ok(Vec::new()),
        }
    }

    /// The targets' warnings about a valid configuration.
    pub fn warnings(&self, ctx: &RenderContext) -> Vec<Diagnostic> {
        match self {
            Platform::Host => super::warnings_all(ctx),
            // The manifests carry the Prosody file: its warnings hold.
            Platform::Kubernetes(_) => {
                let mut warnings = super::prosody::ProsodyConfig.warnings(ctx);
                diagnostics::normalize(&mut warnings);
                warnings
            }
        }
    }
}
