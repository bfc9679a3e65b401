//! What the deployment guide creates by hand on the host (steps 2 and 3, and the certificates),
//! as files systemd and certbot apply:
//! - `etc/sysusers.d/prose.conf`: the `prose` user and group (uid/gid 1001, what compose runs
//!   the Pod API and the Pod Server as), member of `docker` (the unit runs the docker CLI as it);
//! - `etc/tmpfiles.d/prose.conf`: the directories compose mounts, the certificates directory,
//!   the database file and `prose.env`, with the guide's owners and modes; paths follow the
//!   configuration (`prosody_ext.config_file_path`, the database URLs), mapped to the host
//!   through compose's mounts (`config::host`);
//! - `etc/letsencrypt/prose/<server domain>-deploy-hook`: certbot runs it after issuing or
//!   renewing the pod's certificate (`certbot certonly --webroot … --deploy-hook`, which certbot
//!   keeps in the lineage's renewal configuration): it copies the certificate where Prosody
//!   reads it (`/etc/prosody/certs/<name>/`, Prosody indexes the names a certificate covers),
//!   written as the `prose` user who owns that directory (`setpriv`: root never writes through
//!   a link that user could plant), and reloads nginx and Prosody (`prosodyctl reload` in the server container: SIGHUP, on
//!   which Prosody reloads its certificates). It lives under `/etc/letsencrypt`, root's, not in
//!   a directory the `prose` user owns: certbot runs it as root.
//!
//! One certificate covers every name the pod serves ([`certificate`]): the server domain, the
//! groups component, the pod domain and the Dashboard host. nginx uses it for every HTTPS
//! site, and serves the http-01 challenge from [`nginx::WEB_ROOT`] on all of them.

use std::fmt::Write as _;

use super::nginx;
use super::templating::escape::line_comment;
use super::{GeneratedFile, RenderContext};
use crate::config::Config;
use crate::config::host::{self, Service};
use crate::diagnostics::Diagnosed;

pub const SYSUSERS: &str = "etc/sysusers.d/prose.conf";
pub const TMPFILES: &str = "etc/tmpfiles.d/prose.conf";
/// Where certbot writes http-01 challenges (under the web root nginx serves them from).
pub const ACME_CHALLENGE_DIR: &str = "/var/www/default/.well-known/acme-challenge";

/// The tree path of the deploy hook of a certificate.
pub fn hook_path(name: &str) -> String {
    format!("etc/letsencrypt/prose/{name}-deploy-hook")
}

/// One line of `tmpfiles.d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `d` (a directory, created or adjusted) or `f` (a file created empty when missing).
    pub kind: char,
    pub path: String,
    pub mode: u32,
    pub user: &'static str,
    pub group: &'static str,
    /// What it is, for the comment above it.
    pub what: String,
}

impl Entry {
    fn new(kind: char, path: String, mode: u32, owner: &'static str, what: String) -> Self {
        Entry {
            kind,
            path,
            mode,
            user: owner,
            group: owner,
            what,
        }
    }

    /// What `stat -c '%u:%g %a'` prints for it once created (numeric ids: they need no user
    /// database).
    pub fn owner_mode(&self) -> String {
        let id = |name: &str| if name == host::USER { host::ID } else { 0 };
        format!("{}:{} {:o}", id(self.user), id(self.group), self.mode)
    }
}

/// Whether tmpfiles and a shell take `path` as written: letters, digits, `._-+@/`, absolute,
/// no `..` (tmpfiles would read `%` as a specifier and split at a space).
fn plain_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() < 1024
        && !path.split('/').any(|s| s == "..")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+@/".contains(c))
}

/// The file of a `sqlite:` database URL, when it is one.
pub fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split(['?', '#']).next()?;
    path.starts_with('/').then_some(path)
}

/// Every directory and file the pod needs on its host, in creation order.
pub fn tmpfiles_entries(config: &Config) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut add = |entry: Entry| {
        if plain_path(&entry.path) && !entries.iter().any(|e| e.path == entry.path) {
            entries.push(entry);
        }
    };
    for mount in host::MOUNTS {
        add(Entry::new(
            'd',
            mount.host.to_owned(),
            0o750,
            host::USER,
            format!("{} (compose mounts it)", mount.what),
        ));
    }
    // Where the Pod API writes Prosody's configuration (`prosody_ext.config_file_path`).
    if let Some(dir) = host::host_path(Service::Api, config.prosody_ext.config_file_path.as_str())
        .as_deref()
        .and_then(|p| p.rsplit_once('/'))
        .map(|(dir, _)| dir.to_owned())
        .filter(|d| !d.is_empty())
    {
        add(Entry::new(
            'd',
            dir,
            0o750,
            host::USER,
            "the directory of prosody_ext.config_file_path".to_owned(),
        ));
    }
    add(Entry::new(
        'd',
        host::PROSODY_CERTS.to_owned(),
        0o750,
        host::USER,
        "the certificates Prosody reads (the deploy hook copies them here)".to_owned(),
    ));
    let databases = &config.api.databases;
    let urls = [
        ("main", Some(&databases.main)),
        ("main_read", databases.main_read.as_ref()),
        ("main_write", databases.main_write.as_ref()),
    ];
    for (name, database) in urls {
        let Some(file) = database.and_then(|d| sqlite_file(&d.url)) else {
            continue;
        };
        let Some(file) = host::host_path(Service::Api, file) else {
            continue; // not on a mount: the Pod API's own, lost with its container
        };
        if let Some((dir, _)) = file.rsplit_once('/')
            && !dir.is_empty()
        {
            add(Entry::new(
                'd',
                dir.to_owned(),
                0o750,
                host::USER,
                format!("the directory of api.databases.{name}.url"),
            ));
        }
        add(Entry::new(
            'f',
            file,
            0o640,
            host::USER,
            format!("the Pod API's database (api.databases.{name}.url)"),
        ));
    }
    add(Entry::new(
        'f',
        "/etc/prose/prose.env".to_owned(),
        0o600,
        host::USER,
        "the pod's environment (yours: never written by prose-compile)".to_owned(),
    ));
    add(Entry {
        kind: 'd',
        path: ACME_CHALLENGE_DIR.to_owned(),
        mode: 0o755,
        user: "root",
        group: "root",
        what: "where certbot writes the http-01 challenges nginx serves".to_owned(),
    });
    entries
}

/// The pod's certificate: one lineage for every name it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The lineage name (`--cert-name`): the server domain.
    pub name: String,
    /// Every name it covers, ASCII, in order: server domain, groups, pod domain, Dashboard.
    pub domains: Vec<String>,
    /// `--webroot-path`.
    pub webroot: &'static str,
    /// The deploy hook, as installed (absolute).
    pub hook: String,
}

impl Certificate {
    /// The command that requests it (interactive the first time: certbot asks for an e-mail
    /// address and the terms of service).
    pub fn certbot_command(&self) -> String {
        let mut command = format!(
            "certbot certonly --webroot --webroot-path {} --cert-name {}",
            self.webroot, self.name
        );
        for domain in &self.domains {
            let _ = write!(command, " -d {domain}");
        }
        let _ = write!(command, " --deploy-hook {}", self.hook);
        command
    }

    /// Where certbot keeps it.
    pub fn live_dir(&self) -> String {
        format!("{}/{}", nginx::LETSENCRYPT_LIVE, self.name)
    }

    /// Where Prosody reads it.
    pub fn prosody_dir(&self) -> String {
        format!("{}/{}", host::PROSODY_CERTS, self.name)
    }
}

/// The certificate of the pod's names, from nginx's plan (`None` when the plan has errors,
/// which the nginx target reports). IP literals (a Dashboard URL with an address) get none.
pub fn certificate(ctx: &RenderContext) -> Option<Certificate> {
    let plan = nginx::plan(ctx).ok()?;
    Some(certificate_of(&plan))
}

/// [`certificate`] from a computed plan.
pub fn certificate_of(plan: &nginx::Plan) -> Certificate {
    let server = plan.pod.server_domain.clone();
    // The groups component's name (`Config::groups_domain`), in ASCII as nginx's names are.
    let groups = format!("groups.{server}");
    let mut domains: Vec<String> = Vec::new();
    let names = [server.as_str(), groups.as_str()]
        .into_iter()
        .chain(plan.pod.pod.names.iter().map(String::as_str))
        .chain(plan.pod.dashboard.names.iter().map(String::as_str));
    for name in names {
        let ip = name.starts_with('[') || name.parse::<std::net::IpAddr>().is_ok();
        if !ip && !domains.iter().any(|d| d == name) {
            domains.push(name.to_owned());
        }
    }
    Certificate {
        hook: format!("/{}", hook_path(&server)),
        name: server,
        domains,
        webroot: nginx::WEB_ROOT,
    }
}

/// The target: sysusers.d, tmpfiles.d and the certificate's deploy hook.
pub struct HostFiles;

impl super::Target for HostFiles {
    fn name(&self) -> &'static str {
        "host"
    }
    fn paths(&self) -> &'static [&'static str] {
        &[SYSUSERS, TMPFILES, "etc/letsencrypt/prose/*"]
    }
    fn checks(&self) -> &'static [super::Check] {
        &[
            super::Check {
                files: SYSUSERS,
                validator: super::Validator::Sysusers,
            },
            super::Check {
                files: TMPFILES,
                validator: super::Validator::Tmpfiles,
            },
        ]
    }
    fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        let mut files = vec![
            text_file(SYSUSERS, sysusers(ctx), 0o644),
            text_file(TMPFILES, tmpfiles(ctx), 0o644),
        ];
        if let Some(certificate) = certificate(ctx) {
            files.push(text_file(
                &hook_path(&certificate.name),
                deploy_hook(ctx, &certificate),
                0o755,
            ));
        }
        Ok(files)
    }
}

fn text_file(path: &str, text: String, mode: u32) -> GeneratedFile {
    GeneratedFile {
        path: path.into(),
        contents: text.into_bytes(),
        mode,
    }
}

fn sysusers(ctx: &RenderContext) -> String {
    let (user, id, docker) = (host::USER, host::ID, host::DOCKER_GROUP);
    format!(
        "# {notice}\n\
         #\n\
         # The user the Prose Pod runs as (deployment guide, step 2): compose runs the Pod API and\n\
         # the Pod Server as {id}:{id}, and prose.service runs the docker CLI as `{user}`, which the\n\
         # `{docker}` group lets use the docker daemon. Apply: systemd-sysusers prose.conf\n\
         g {group} {id}\n\
         u {user} {id}:{id} \"Prose Pod\" - -\n\
         m {user} {docker}\n",
        notice = line_comment(&ctx.notice()),
        group = host::GROUP,
    )
}

fn tmpfiles(ctx: &RenderContext) -> String {
    let mut text = format!(
        "# {}\n\
         #\n\
         # The Prose Pod's directories and files on the host, with their owners and modes\n\
         # (deployment guide, step 3). `d` creates a directory or sets the mode and owner of an\n\
         # existing one; `f` creates an empty file when missing. Apply (after systemd-sysusers):\n\
         #   systemd-tmpfiles --create prose.conf\n",
        line_comment(&ctx.notice())
    );
    for entry in tmpfiles_entries(ctx.config) {
        let _ = write!(
            text,
            "\n# {}\n{} {} {:04o} {} {} -\n",
            entry.what, entry.kind, entry.path, entry.mode, entry.user, entry.group
        );
    }
    text
}

fn deploy_hook(ctx: &RenderContext, certificate: &Certificate) -> String {
    let live = certificate.live_dir();
    let dest = certificate.prosody_dir();
    let id = host::ID;
    let compose = format!("/{}", super::compose::PATH);
    format!(
        "#!/bin/sh\n\
         # {notice}\n\
         #\n\
         # certbot's deploy hook for the certificate `{name}` ({domains}): run by\n\
         #   {command}\n\
         # and by every renewal (certbot keeps it in /etc/letsencrypt/renewal/{name}.conf).\n\
         # It copies the certificate where Prosody reads it, then reloads nginx and Prosody when\n\
         # they run. The copy is written as the `prose` user ({id}:{id}), who owns the directory: a\n\
         # link planted there can only lead where that user may already write.\n\
         set -eu\n\
         live={live}\n\
         dest={dest}\n\
         as_prose() {{ setpriv --reuid={id} --regid={id} --clear-groups \"$@\"; }}\n\
         as_prose mkdir -p -m 0750 \"$dest\"\n\
         for file in fullchain.pem privkey.pem; do\n\
         \x20   as_prose sh -c 'umask 027 && cat > \"$1.new\" && mv -f \"$1.new\" \"$1\"' sh \"$dest/$file\" < \"$live/$file\"\n\
         done\n\
         if systemctl is-active --quiet nginx; then\n\
         \x20   systemctl reload nginx\n\
         fi\n\
         if systemctl is-active --quiet prose; then\n\
         \x20   docker compose -f {compose} exec -T server prosodyctl reload\n\
         fi\n",
        notice = line_comment(&ctx.notice()),
        name = certificate.name,
        domains = certificate.domains.join(", "),
        command = certificate.certbot_command(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/prose-pod-api/database.sqlite?mode=ro"),
            Some("/var/lib/prose-pod-api/database.sqlite")
        );
        assert_eq!(sqlite_file("sqlite:/data/db.sqlite"), Some("/data/db.sqlite"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://db/prose"), None);
    }

    #[test]
    fn only_plain_paths_reach_tmpfiles() {
        assert!(plain_path("/var/lib/prose-pod-api/database.sqlite"));
        assert!(!plain_path("/var/lib/a b"));
        assert!(!plain_path("/var/lib/%h"));
        assert!(!plain_path("/var/../etc"));
        assert!(!plain_path("relative"));
    }
}
