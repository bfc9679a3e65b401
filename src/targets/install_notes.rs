//! `INSTALL.md`: the deployment guide's manual steps for this pod, in order, as exact commands
//! run from the tree's directory, each followed by a check that exits non-zero when the step
//! did not do its job. Outside the installed root (like `SHA256SUMS`). Every command is made
//! from the data the other targets generate ([`Step`]s from the DNS records, the tmpfiles
//! entries, the certificate, nginx's sites), never written per pod.
//!
//! The order answers the guide's chicken-and-egg: nginx cannot load a site whose certificate
//! does not exist yet, so the HTTP site (ACME challenges, no certificate) is enabled alone,
//! certbot obtains the certificate through it (`--webroot`, which renewals use too while
//! nginx runs), and only then are the HTTPS sites enabled. The pod's directories are owned by
//! `prose` (guide step 3): their files are copied with `--chown`, since `rsync -a` keeps the
//! builder's owners, and tmpfiles runs after them (it refuses to adjust a path below a
//! directory another user owns).

use std::fmt::Write as _;

use super::templating::escape::xml_comment;
use super::{GeneratedFile, RenderContext};
use super::{dns, host_files, nginx, systemd};
use crate::config::host;
use crate::diagnostics::Diagnosed;

pub const PATH: &str = "INSTALL.md";
/// The file the HTTP site check serves (removed by the same check).
pub const PROBE: &str = "prose-compile-check";

/// One step: what it does, its commands, and the check after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub title: String,
    pub why: String,
    pub commands: Vec<String>,
    pub check: Vec<String>,
}

fn step(title: &str, why: String, commands: Vec<String>, check: Vec<String>) -> Step {
    Step {
        title: title.to_owned(),
        why,
        commands,
        check,
    }
}

/// The steps, or `None` when nginx's plan has errors (the nginx target reports them).
pub fn steps(ctx: &RenderContext) -> Option<Vec<Step>> {
    let plan = nginx::plan(ctx).ok()?;
    let zone = dns::zone(ctx)?;
    let certificate = host_files::certificate_of(&plan);
    let id = host::ID;
    let mut steps = Vec::new();

    // 1. DNS: certbot's challenges and the clients need them first.
    let mut check = Vec::new();
    for record in &zone.records {
        let name = record.name.trim_end_matches('.');
        check.push(format!(
            "test \"$(dig +short {} {name})\" = \"{}\"",
            record.kind, record.data
        ));
    }
    let pod = &plan.pod.pod.names[0];
    if !zone.records.iter().any(|r| r.name == format!("{pod}.")) {
        check.push(format!("test -n \"$(dig +short {pod})\""));
    }
    steps.push(step(
        "DNS records",
        format!(
            "Add the records of `{}` at your DNS provider (its notes say what it cannot \
             give). certbot and XMPP clients need them.",
            dns::path(&zone.origin)
        ),
        vec![format!("cat {}", dns::path(&zone.origin))],
        check,
    ));

    // 2. Every file but the pod's own directories and the sites' links.
    let mut exclude = vec![
        format!("--exclude=/{PATH}"),
        format!("--exclude=/{}/", dns::DIR),
        "--exclude='/SHA256SUMS*'".to_owned(),
        // The output stage's work directory (`output::WORK_DIR`, a layer above the targets).
        "--exclude=/.prose-compile/".to_owned(),
        format!("--exclude=/{}/", nginx::ENABLED_DIR),
    ];
    let pod_dirs: Vec<&str> = host::MOUNTS
        .iter()
        .map(|m| m.host)
        .filter(|h| h.starts_with("/etc/"))
        .collect();
    exclude.extend(pod_dirs.iter().map(|d| format!("--exclude={d}/")));
    let installed = "(cd / && sha256sum --quiet --ignore-missing -c \"$TREE/SHA256SUMS\")";
    steps.push(step(
        "Host files",
        "The nginx sites, the systemd unit, sysusers.d, tmpfiles.d, the certificate's deploy \
         hook and the web root. (The pod's directories come after its user exists.)"
            .to_owned(),
        vec![format!("rsync -a {} ./ /", exclude.join(" "))],
        vec![installed.to_owned()],
    ));

    // 3. The user.
    steps.push(step(
        "The prose user",
        format!(
            "uid/gid {id}, what compose runs the Pod API and the Pod Server as, member of `{}`.",
            host::DOCKER_GROUP
        ),
        vec!["systemd-sysusers prose.conf".to_owned()],
        vec![
            format!(
                "grep -qx '{u}:x:{id}:{id}:Prose Pod:/:/usr/sbin/nologin' /etc/passwd",
                u = host::USER
            ),
            format!("grep -q '^{}:x:{id}:' /etc/group", host::GROUP),
            format!(
                "grep -Eq '^{}:x:[0-9]+:(.*,)?{}(,|$)' /etc/group",
                host::DOCKER_GROUP,
                host::USER
            ),
        ],
    ));

    // 4. The pod's configuration, owned by its user.
    let mut commands = Vec::new();
    let mut check = vec![installed.to_owned()];
    for dir in &pod_dirs {
        let relative = dir.trim_start_matches('/');
        commands.push(format!(
            "rsync -a --chown={id}:{id} --chmod=D0750 ./{relative}/ {dir}/"
        ));
        check.push(format!("test \"$(stat -c '%u:%g %a' {dir})\" = \"{id}:{id} 750\""));
    }
    steps.push(step(
        "The pod's configuration",
        format!(
            "{}, owned by `{}` (guide step 3).",
            pod_dirs.join(" and "),
            host::USER
        ),
        commands,
        check,
    ));

    // 5. Directories and files.
    let mut check = Vec::new();
    for entry in host_files::tmpfiles_entries(ctx.config) {
        let kind = if entry.kind == 'd' { "-d" } else { "-f" };
        check.push(format!(
            "test {kind} {} && test \"$(stat -c '%u:%g %a' {})\" = \"{}\"",
            entry.path,
            entry.path,
            entry.owner_mode()
        ));
    }
    steps.push(step(
        "Directories and files",
        "The directories compose mounts, the certificates, the database and `prose.env`, \
         with the guide's owners and modes."
            .to_owned(),
        vec!["systemd-tmpfiles --create prose.conf".to_owned()],
        check,
    ));

    // 6. The HTTP site, alone: it names no certificate.
    let http = &plan.http.file_name;
    let probe = format!("{}/{PROBE}", host_files::ACME_CHALLENGE_DIR);
    let mut check = vec![format!("echo {PROBE} > {probe}")];
    for name in &certificate.domains {
        check.push(format!(
            "test \"$(curl -fsS http://{name}/.well-known/acme-challenge/{PROBE})\" = {PROBE}"
        ));
    }
    check.push(format!("rm {probe}"));
    steps.push(step(
        "The HTTP site",
        "ACME challenges on every name, a redirect to HTTPS for the rest. Enabled alone: the \
         HTTPS sites need the certificate of the next step."
            .to_owned(),
        vec![format!(
            "rsync -a ./{}/{http} /{}/ && nginx -t && systemctl reload nginx",
            nginx::ENABLED_DIR,
            nginx::ENABLED_DIR
        )],
        check,
    ));

    // 7. The certificate.
    let dest = certificate.prosody_dir();
    steps.push(step(
        "The certificate",
        format!(
            "One certificate for {}, obtained through the HTTP site and renewed the same \
             way (certbot's timer). Its deploy hook copies it to {dest} for Prosody and \
             reloads nginx and Prosody, now and after every renewal.",
            certificate.domains.join(", ")
        ),
        vec![certificate.certbot_command()],
        vec![
            format!("test -s {}/fullchain.pem", certificate.live_dir()),
            format!("test \"$(stat -c '%u:%g %a' {dest}/fullchain.pem)\" = \"{id}:{id} 640\""),
            format!("test \"$(stat -c '%u:%g %a' {dest}/privkey.pem)\" = \"{id}:{id} 640\""),
        ],
    ));

    // 8. The HTTPS sites.
    let mut check = Vec::new();
    for name in plan.file_names() {
        check.push(format!(
            "test \"$(readlink /{}/{name})\" = ../sites-available/{name}",
            nginx::ENABLED_DIR
        ));
    }
    check.push(format!(
        "test \"$(curl -fsS https://{}/.well-known/host-meta.json)\" = \"$(cat ./var/www/default/.well-known/host-meta.json)\"",
        plan.pod.server_domain
    ));
    steps.push(step(
        "The HTTPS sites",
        "Every site of the tree, enabled by its relative link.".to_owned(),
        vec![format!(
            "rsync -a ./{}/ /{}/ && nginx -t && systemctl reload nginx",
            nginx::ENABLED_DIR,
            nginx::ENABLED_DIR
        )],
        check,
    ));

    // 9. The pod.
    let compose = format!("/{}", super::compose::PATH);
    let unit = systemd::PATH.rsplit('/').next().unwrap_or("prose.service");
    steps.push(step(
        "The pod",
        format!("`{unit}` runs compose at boot, after the users and directories exist."),
        vec!["systemctl daemon-reload && systemctl enable --now prose".to_owned()],
        vec![
            "systemctl is-enabled --quiet prose && systemctl is-active --quiet prose".to_owned(),
            format!("test -z \"$(docker compose -f {compose} ps --status=exited -q)\""),
        ],
    ));
    Some(steps)
}

/// The notes' text.
pub fn render_steps(ctx: &RenderContext, server: &str, steps: &[Step]) -> String {
    let mut text = format!(
        "<!-- {} -->\n\n\
         # Installing the Prose Pod of {}\n\n\
         Run every command as root, from this directory (the tree prose-compile built), in this\n\
         order. Each step ends with its check: a command that fails (non-zero) when the step did\n\
         not do its job. Running the steps again is safe.\n\n\
         ```sh\nTREE=\"$PWD\"\n```\n",
        xml_comment(&ctx.notice()),
        server
    );
    for (n, step) in steps.iter().enumerate() {
        let _ = write!(
            text,
            "\n## {}. {}\n\n{}\n\n```sh\n{}\n```\n\nCheck:\n\n```sh\n{}\n```\n",
            n + 1,
            step.title,
            step.why,
            step.commands.join("\n"),
            step.check.join("\n")
        );
    }
    text
}

/// The target: `INSTALL.md`.
pub struct InstallNotes;

impl super::Target for InstallNotes {
    fn name(&self) -> &'static str {
        "install-notes"
    }
    fn paths(&self) -> &'static [&'static str] {
        &[PATH]
    }
    fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        let (Some(steps), Ok(plan)) = (steps(ctx), nginx::plan(ctx)) else {
            return Ok(Vec::new());
        };
        Ok(vec![GeneratedFile {
            path: PATH.into(),
            contents: render_steps(ctx, &plan.pod.server_domain, &steps).into_bytes(),
            mode: 0o644,
        }])
    }
}
