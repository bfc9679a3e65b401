//! `etc/systemd/system/prose.service`: starts and stops the compose project at boot, as
//! upstream's `templates/prose.service` (foreground `docker compose up`, a post-start check
//! that no container exited, `docker compose down` on stop, as user `prose`), from
//! `templates/prose.service.j2`. Its environment, for compose's `${VARIABLE}`s, is
//! `/etc/prose/prose.env` (as upstream) then `/etc/prose/compose.env` (compose's own
//! variables, which no container gets), both optional (`-`): a fresh host has neither.
//!
//! Hardening: the directives that restrict only what the docker CLI needs not do (it talks
//! to dockerd over a Unix socket; the containers are dockerd's children and unaffected). Each
//! directive left out is named in the unit with the reason: `PrivateUsers=` (the `docker`
//! group would not be mapped into the user namespace, so no socket access), `PrivateNetwork=`
//! and `IPAddressDeny=` (a `DOCKER_HOST` over TCP), `ProtectHome=yes` (registry credentials in
//! `~/.docker`), `ProcSubset=pid` and `SystemCallFilter=~@resources` (the Go runtime reads
//! `/proc` and calls `setrlimit`). `SystemCallErrorNumber=EPERM` makes a filtered call fail
//! instead of killing the process.
//! `COMPOSE_PROJECT_NAME=prose` keeps the project name of upstream's `name: prose`.

use serde::Serialize;

use super::compose;
use super::templating::{Templates, template};
use super::{GeneratedFile, RenderContext};
use crate::diagnostics::Diagnosed;

pub const PATH: &str = "etc/systemd/system/prose.service";

/// The variables of `prose.service.j2`.
#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub notice: String,
    pub description: String,
    /// The user the docker CLI runs as (created by the deployment guide, in group `docker`).
    pub user: String,
    /// Where `compose.yaml` is: compose finds it (and `compose.override.yaml`) there.
    pub working_directory: String,
    pub compose_file: String,
    /// Read in order, each optional (later ones win).
    pub env_files: Vec<String>,
}

/// The target: the systemd unit.
pub struct SystemdUnit;

impl super::Target for SystemdUnit {
    fn name(&self) -> &'static str {
        "systemd"
    }
    fn paths(&self) -> &'static [&'static str] {
        &[PATH]
    }
    fn templates(&self) -> &'static [super::templating::TemplateSource] {
        &[template!("prose.service.j2")]
    }
    fn checks(&self) -> &'static [super::Check] {
        &[super::Check {
            files: PATH,
            validator: super::Validator::SystemdAnalyze,
        }]
    }
    fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        render(ctx)
    }
}

/// Renders with `ctx.templates` (the embedded ones, or `--templates DIR`).
pub fn render(ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
    render_unit(&unit(ctx), ctx.templates)
}

pub fn unit(ctx: &RenderContext) -> Unit {
    Unit {
        notice: ctx.notice(),
        description: format!("Prose Pod of {}", ctx.config.server.domain),
        user: "prose".to_owned(),
        working_directory: "/etc/prose".to_owned(),
        compose_file: format!("/{}", compose::PATH),
        env_files: vec![
            "/etc/prose/prose.env".to_owned(),
            "/etc/prose/compose.env".to_owned(),
        ],
    }
}

/// Renders the unit. Public so tests can render hostile values the front end would refuse.
pub fn render_unit(unit: &Unit, templates: &Templates) -> Diagnosed<Vec<GeneratedFile>> {
    let text = templates.render_file("prose.service.j2", unit)?;
    Ok(vec![GeneratedFile {
        path: PATH.into(),
        contents: text.into_bytes(),
        mode: 0o644,
    }])
}
