//! Follows a built tree's `INSTALL.md` in a scratch root, as an operator would on a host: every
//! command and every check of every step, in order, in one shell that stops at the first
//! failure. What the test changes, and only that:
//! - paths: `/etc/…` and `/var/…` (not rsync's `--exclude=` patterns, relative to the
//!   transfer) become `$ROOT/etc/…`, the install destination `/` and
//!   `cd /` become `$ROOT`, and the systemd tools get `--root=$ROOT`;
//! - stand-ins on `PATH` record their arguments: `certbot` (issues a throwaway lineage under
//!   `$ROOT/etc/letsencrypt/live/` and runs the deploy hook it was given, paths moved the same
//!   way), `systemctl`, `docker`, `nginx` (fails `-t` when an enabled site names a certificate
//!   that does not exist yet), `curl` (answers from the web root only for a name an enabled
//!   site serves on that scheme), `dig` (answers from the tree's zone fragment; the pod
//!   domain's own address, the operator's, is 192.0.2.1).
//!
//! Then it asserts the users, directories, links and certificate request the guide would make.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use prose_compile::verify::{Outcome, require_or_skip};

use crate::support::prose_compile;

const FAKES: &str = r#"
log() { printf '%s\n' "$*" >> "$LOGS/$(basename "$0")"; }
"#;

/// The stand-ins, by name.
fn fakes() -> Vec<(&'static str, String)> {
    vec![
        (
            "systemctl",
            format!("#!/bin/sh\n{FAKES}log \"$@\"\nexit 0\n"),
        ),
        ("docker", format!("#!/bin/sh\n{FAKES}log \"$@\"\nexit 0\n")),
        (
            "nginx",
            format!(
                r#"#!/bin/sh
{FAKES}enabled=$(cd "$ROOT/etc/nginx/sites-enabled" && ls | tr '\n' ' ')
log "$@ | enabled: $enabled"
for site in "$ROOT"/etc/nginx/sites-enabled/*; do
    for cert in $(sed -n 's/^ *ssl_certificate\(_key\)\? \([^;]*\);/\2/p' "$site"); do
        [ -f "$ROOT$cert" ] || {{ echo "nginx: $site: no $cert" >&2; exit 1; }}
    done
done
"#
            ),
        ),
        (
            "curl",
            format!(
                r#"#!/bin/sh
{FAKES}log "$@"
for url; do :; done
scheme=${{url%%://*}}; rest=${{url#*://}}; name=${{rest%%/*}}; path=/${{rest#*/}}
port=80; [ "$scheme" = https ] && port=443
for site in "$ROOT"/etc/nginx/sites-enabled/*; do
    if grep -q "listen $port" "$site" && grep -Eq "server_name.* $name( |;)" "$site"; then
        exec cat "$ROOT/var/www/default$path"
    fi
done
echo "curl: no enabled site serves $name on $port" >&2
exit 22
"#
            ),
        ),
        (
            "dig",
            format!(
                r#"#!/bin/sh
{FAKES}log "$@"
if [ $# -eq 2 ]; then echo 192.0.2.1; exit 0; fi
grep -v '^;' "$ZONE" | awk -v n="$3." -v t="$2" '$1 == n && $4 == t {{ $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }}'
"#
            ),
        ),
        (
            "certbot",
            format!(
                r#"#!/bin/sh
{FAKES}log "$@"
name=; hook=; domains=
while [ $# -gt 0 ]; do
    case "$1" in
        --cert-name) name=$2; shift ;;
        --deploy-hook) hook=$2; shift ;;
        -d) domains="$domains $2"; shift ;;
    esac
    shift
done
live="$ROOT/etc/letsencrypt/live/$name"
mkdir -p "$live"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj "/CN=$name" -keyout "$live/privkey.pem" -out "$live/fullchain.pem" 2>/dev/null
sed -e "s#\([ =]\)/etc/#\1$ROOT/etc/#g" "$hook" > "$LOGS/hook"
RENEWED_LINEAGE="$live" RENEWED_DOMAINS="$domains" sh "$LOGS/hook"
"#
            ),
        ),
    ]
}

/// The shell blocks of INSTALL.md, in order.
fn blocks(notes: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in notes.lines() {
        match (&mut current, line) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                out.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), line) => lines.push(line),
            _ => {}
        }
    }
    out
}

/// Moves a command onto the scratch root (see the module's comment).
fn relocate(command: &str) -> String {
    let mut out = String::new();
    let mut prev = ' ';
    let mut rest = command;
    while let Some(c) = rest.chars().next() {
        if c == '/'
            && " '\"(".contains(prev)
            && (rest.starts_with("/etc/") || rest.starts_with("/var/"))
        {
            out.push_str("$ROOT");
        }
        out.push(c);
        prev = c;
        rest = &rest[c.len_utf8()..];
    }
    out.replace(" ./ /", " ./ \"$ROOT\"/")
        .replace("(cd / &&", "(cd \"$ROOT\" &&")
        .replace("systemd-sysusers ", "systemd-sysusers --root=\"$ROOT\" ")
        .replace(
            "systemd-tmpfiles --create ",
            "systemd-tmpfiles --create --root=\"$ROOT\" ",
        )
}

fn follow(example: &str, zone: &str) -> Option<(tempfile::TempDir, String)> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        require_or_skip(&Outcome::Skipped {
            reason: "following INSTALL.md sets owners: run as root".to_owned(),
        });
        return None;
    }
    for tool in ["rsync", "systemd-sysusers", "systemd-tmpfiles", "openssl"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| !o.status.success())
        {
            require_or_skip(&Outcome::Skipped {
                reason: format!("{tool} not installed"),
            });
            return None;
        }
    }
    let work = tempfile::tempdir().expect("tempdir");
    // The deploy hook writes as the `prose` user (uid 1001): it must reach the scratch root.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let tree = work.path().join("tree");
    let out = prose_compile(
        &[
            "build",
            "--no-env",
            &format!("examples/{example}"),
            "-o",
            tree.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    let (root, logs, bin) = (
        work.path().join("root"),
        work.path().join("logs"),
        work.path().join("bin"),
    );
    for dir in [&root, &logs, &bin] {
        std::fs::create_dir_all(dir).unwrap();
    }
    for (name, script) in fakes() {
        let path = bin.join(name);
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let notes = std::fs::read_to_string(tree.join("INSTALL.md")).unwrap();
    let blocks = blocks(&notes);
    assert!(
        blocks.len() >= 10,
        "the prelude and a command and a check per step"
    );
    let mut script = String::from("set -eu\n");
    for (n, block) in blocks.iter().enumerate() {
        script.push_str(&format!("echo '== block {n}' >&2\n{}\n", relocate(block)));
    }
    let run = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&tree)
        .env("ROOT", &root)
        .env("LOGS", &logs)
        .env("ZONE", tree.join("dns").join(zone))
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{example}: INSTALL.md stopped:\n{}\n--- script:\n{script}",
        String::from_utf8_lossy(&run.stderr)
    );
    let root_str = root.to_str().unwrap().to_owned();
    Some((work, root_str))
}

fn mode(root: &str, path: &str) -> (u32, u32, u32) {
    let meta = std::fs::symlink_metadata(format!("{root}{path}")).expect(path);
    (meta.uid(), meta.gid(), meta.mode() & 0o7777)
}

#[test]
fn following_install_md_creates_what_the_guide_would() {
    let Some((work, root)) = follow("full", "crisp.chat.zone") else {
        return;
    };
    let logs = work.path().join("logs");
    let log = |tool: &str| {
        std::fs::read_to_string(logs.join(tool))
            .unwrap_or_default()
            .replace(&root, "")
    };
    // The user and group (guide step 2).
    let passwd = std::fs::read_to_string(format!("{root}/etc/passwd")).unwrap();
    assert!(passwd.contains("prose:x:1001:1001:"), "{passwd}");
    // Directories and files (step 3), and the configuration owned by the pod's user.
    for (path, expected) in [
        ("/etc/prose", (1001, 1001, 0o750)),
        ("/etc/prosody/certs", (1001, 1001, 0o750)),
        (
            "/var/lib/prose-pod-api/database.sqlite",
            (1001, 1001, 0o640),
        ),
        ("/etc/prose/prose.env", (1001, 1001, 0o600)),
        ("/etc/prose/prose.toml", (1001, 1001, 0o640)),
        ("/etc/prosody/prosody.cfg.lua", (1001, 1001, 0o644)),
        ("/etc/systemd/system/prose.service", (0, 0, 0o644)),
    ] {
        assert_eq!(mode(&root, path), expected, "{path}");
    }
    // The sites, enabled by relative links.
    for site in ["prose.crisp.chat", "crisp.chat", "crisp.chat_http"] {
        let link = std::fs::read_link(format!("{root}/etc/nginx/sites-enabled/{site}")).unwrap();
        assert_eq!(link, Path::new("../sites-available").join(site));
    }
    // The HTTP site alone while the certificate did not exist, every site after it.
    let nginx = log("nginx");
    let runs: Vec<&str> = nginx.lines().collect();
    assert_eq!(runs.len(), 2, "{nginx}");
    assert_eq!(runs[0], "-t | enabled: crisp.chat_http ");
    assert_eq!(
        runs[1],
        "-t | enabled: crisp.chat crisp.chat_http prose.crisp.chat "
    );
    // The certificate request: webroot, every name, the deploy hook.
    assert_eq!(
        log("certbot").trim(),
        "certonly --webroot --webroot-path /var/www/default --cert-name crisp.chat \
         -d crisp.chat -d groups.crisp.chat -d prose.crisp.chat -d admin.prose.crisp.chat \
         --deploy-hook /etc/letsencrypt/prose/crisp.chat-deploy-hook"
    );
    // The hook copied it where Prosody reads it and reloaded nginx and Prosody.
    for file in ["fullchain.pem", "privkey.pem"] {
        let path = format!("/etc/prosody/certs/crisp.chat/{file}");
        assert_eq!(mode(&root, &path), (1001, 1001, 0o640), "{path}");
        assert_eq!(
            std::fs::read(format!("{root}{path}")).unwrap(),
            std::fs::read(format!("{root}/etc/letsencrypt/live/crisp.chat/{file}")).unwrap()
        );
    }
    let systemctl = log("systemctl");
    for expected in [
        "reload nginx",
        "daemon-reload",
        "enable --now prose",
        "is-active --quiet prose",
    ] {
        assert!(
            systemctl.lines().any(|l| l == expected),
            "{expected}: {systemctl}"
        );
    }
    assert!(
        log("docker")
            .lines()
            .any(|l| l == "compose -f /etc/prose/compose.yaml exec -T server prosodyctl reload"),
        "{}",
        log("docker")
    );
    // The ACME challenge was fetched on every name over plain HTTP.
    let curl = log("curl");
    for name in [
        "crisp.chat",
        "groups.crisp.chat",
        "prose.crisp.chat",
        "admin.prose.crisp.chat",
    ] {
        assert!(
            curl.contains(&format!(
                "http://{name}/.well-known/acme-challenge/prose-compile-check"
            )),
            "{name}: {curl}"
        );
    }
    // The checks asked DNS for every record of the fragment.
    assert!(log("dig").contains("+short SRV _xmpp-client._tcp.crisp.chat"));

    // A link the `prose` user plants in its certificates directory does not make the hook
    // (run by root on every renewal) write where `prose` may not: it writes as `prose`.
    let passwd_before = std::fs::read(format!("{root}/etc/passwd")).unwrap();
    let planted = format!("{root}/etc/prosody/certs/crisp.chat/fullchain.pem.new");
    std::os::unix::fs::symlink(format!("{root}/etc/passwd"), &planted).unwrap();
    let again = Command::new("sh")
        .arg(logs.join("hook"))
        .env("ROOT", &root)
        .env("LOGS", &logs)
        .env(
            "PATH",
            format!(
                "{}:{}",
                work.path().join("bin").display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "the write through the link is refused"
    );
    assert_eq!(
        std::fs::read(format!("{root}/etc/passwd")).unwrap(),
        passwd_before
    );
}

#[test]
fn install_md_of_a_static_address_pod_checks_its_address_records() {
    let Some((work, _root)) = follow("static-address", "example.org.zone") else {
        return;
    };
    let dig = std::fs::read_to_string(work.path().join("logs/dig")).unwrap();
    for query in [
        "+short A prose.example.org",
        "+short AAAA prose.example.org",
        "+short A example.org",
        "+short AAAA groups.example.org",
    ] {
        assert!(dig.lines().any(|l| l == query), "{query}: {dig}");
    }
}
