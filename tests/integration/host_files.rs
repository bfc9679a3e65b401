//! The host files of every example's tree, applied by the real tools: `systemd-sysusers
//! --root`, `systemd-tmpfiles --create --root` and `named-checkzone`, with what they create
//! asserted (users and ids, owners, modes and types, records), not only their exit codes.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use prose_compile::verify::host::{apply_sysusers, apply_tmpfiles, check_zone_fragment};
use prose_compile::verify::require_or_skip;

use crate::support::{cli, repo};

const EXAMPLES: &[&str] = &[
    "full",
    "gdpr-analytics",
    "minimal",
    "prosody-overrides",
    "static-address",
];

fn golden(example: &str) -> std::path::PathBuf {
    repo().join("golden").join(example)
}

/// Owner, group, permission bits and type of `root/path`, never following a link.
fn stat(root: &Path, path: &str) -> (u32, u32, u32, &'static str) {
    let meta = std::fs::symlink_metadata(root.join(path.trim_start_matches('/')))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let kind = if meta.is_dir() {
        "dir"
    } else if meta.is_file() {
        "file"
    } else {
        "other"
    };
    (meta.uid(), meta.gid(), meta.mode() & 0o7777, kind)
}

/// Applies a tree's sysusers.d and tmpfiles.d to a fresh root; `None` when a tool is missing.
fn apply(tree: &Path) -> Option<tempfile::TempDir> {
    let root = tempfile::tempdir().expect("tempdir");
    let outcome = apply_sysusers(&tree.join("etc/sysusers.d/prose.conf"), root.path());
    if !require_or_skip(&outcome) {
        return None;
    }
    assert!(outcome.is_passed(), "{}", outcome);
    let outcome = apply_tmpfiles(&tree.join("etc/tmpfiles.d/prose.conf"), root.path());
    if !require_or_skip(&outcome) {
        return None;
    }
    assert!(outcome.is_passed(), "{}", outcome);
    Some(root)
}

#[test]
fn sysusers_and_tmpfiles_create_the_guides_user_directories_and_files() {
    for example in EXAMPLES {
        let Some(root) = apply(&golden(example)) else {
            return;
        };
        let root = root.path();
        let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
        let group = std::fs::read_to_string(root.join("etc/group")).unwrap();
        assert!(
            passwd
                .lines()
                .any(|l| l == "prose:x:1001:1001:Prose Pod:/:/usr/sbin/nologin"),
            "{example}: {passwd}"
        );
        assert!(group.lines().any(|l| l == "prose:x:1001:"), "{group}");
        assert!(
            group
                .lines()
                .any(|l| l.starts_with("docker:x:") && l.ends_with(":prose")),
            "{example}: prose is in the docker group: {group}"
        );
        // Guide step 3, and the directories compose mounts besides.
        for (path, mode, kind) in [
            ("/etc/prose", 0o750, "dir"),
            ("/etc/prosody", 0o750, "dir"),
            ("/etc/prosody/certs", 0o750, "dir"),
            ("/var/lib/prose-pod-api", 0o750, "dir"),
            ("/var/lib/prose-pod-server", 0o750, "dir"),
            ("/var/lib/prosody", 0o750, "dir"),
            ("/var/lib/prose-pod-api/database.sqlite", 0o640, "file"),
            ("/etc/prose/prose.env", 0o600, "file"),
        ] {
            assert_eq!(
                stat(root, path),
                (1001, 1001, mode, kind),
                "{example}: {path}"
            );
        }
        assert_eq!(
            stat(root, "/var/www/default/.well-known/acme-challenge"),
            (0, 0, 0o755, "dir")
        );
    }
}

#[test]
fn tmpfiles_paths_follow_the_configuration() {
    let ran = cli()
        .file(
            "pod/prose.toml",
            "[server]\ndomain = \"example.org\"\n\
             [api.databases.main]\nurl = \"sqlite:///var/lib/prose-pod-api/data/main.sqlite?mode=rwc\"\n\
             [prosody_ext]\nconfig_file_path = \"/etc/prosody/conf.d/prosody.cfg.lua\"\n",
        )
        .args(&["build", "--no-env", "pod", "-o", "out"])
        .run()
        .status(0);
    let text = std::fs::read_to_string(ran.path("out/etc/tmpfiles.d/prose.conf")).unwrap();
    for line in [
        "d /etc/prosody/conf.d 0750 prose prose -",
        "d /var/lib/prose-pod-api/data 0750 prose prose -",
        "f /var/lib/prose-pod-api/data/main.sqlite 0640 prose prose -",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
    }
    assert!(!text.contains("database.sqlite"), "{text}");
    let Some(root) = apply(&ran.path("out")) else {
        return;
    };
    assert_eq!(
        stat(root.path(), "/var/lib/prose-pod-api/data/main.sqlite"),
        (1001, 1001, 0o640, "file")
    );
    assert_eq!(
        stat(root.path(), "/etc/prosody/conf.d"),
        (1001, 1001, 0o750, "dir")
    );
}

/// The records `named-checkzone` loaded: `name type data`, whitespace collapsed.
fn loaded_records(origin: &str, fragment: &str) -> Option<BTreeSet<String>> {
    let (outcome, canonical) = check_zone_fragment(origin, fragment);
    if !require_or_skip(&outcome) {
        return None;
    }
    assert!(outcome.is_passed(), "{origin}: {outcome}\n{fragment}");
    Some(
        canonical
            .expect("canonical zone")
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                // name ttl IN type data…
                format!("{} {} {}", f[0], f[3], f[4..].join(" "))
            })
            .filter(|r| !r.contains(" SOA ") && !r.contains(" NS "))
            .collect(),
    )
}

#[test]
fn named_checkzone_loads_every_examples_records() {
    for example in EXAMPLES {
        let dir = golden(example).join("dns");
        let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(entries.len(), 1, "{example}: one zone fragment");
        let path = entries[0].as_ref().unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        let origin = name.strip_suffix(".zone").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(records) = loaded_records(origin, &text) else {
            return;
        };
        assert!(
            records.contains(&format!(
                "_xmpp-client._tcp.{origin}. SRV 0 5 5222 prose.{origin}."
            )),
            "{example}: {records:#?}"
        );
        assert!(
            !records.iter().any(|r| r.starts_with("_xmpps-")),
            "{example}: no direct TLS is served"
        );
        match *example {
            "static-address" => {
                let expected: BTreeSet<String> = [
                    "prose.example.org. A 203.0.113.10",
                    "prose.example.org. AAAA 2001:db8::10",
                    "admin.example.org. A 203.0.113.10",
                    "admin.example.org. AAAA 2001:db8::10",
                    "example.org. A 203.0.113.10",
                    "example.org. AAAA 2001:db8::10",
                    "groups.example.org. A 203.0.113.10",
                    "groups.example.org. AAAA 2001:db8::10",
                    "_xmpp-client._tcp.example.org. SRV 0 5 5222 prose.example.org.",
                ]
                .into_iter()
                .map(str::to_owned)
                .collect();
                assert_eq!(records, expected, "federation off: no _xmpp-server");
            }
            "full" => {
                for record in [
                    "admin.prose.crisp.chat. CNAME prose.crisp.chat.",
                    "groups.crisp.chat. CNAME prose.crisp.chat.",
                    "_xmpp-server._tcp.crisp.chat. SRV 0 5 5269 prose.crisp.chat.",
                    "_xmpp-server._tcp.groups.crisp.chat. SRV 0 5 5269 prose.crisp.chat.",
                ] {
                    assert!(records.contains(record), "{record}: {records:#?}");
                }
                assert!(
                    !records.iter().any(|r| r.starts_with("crisp.chat. CNAME")),
                    "no CNAME at the apex"
                );
            }
            _ => {}
        }
    }
}

#[test]
fn a_broken_fragment_is_refused_by_named_checkzone() {
    let (outcome, _) = check_zone_fragment(
        "example.org",
        "example.org. 10800 IN CNAME prose.example.org.\n",
    );
    if require_or_skip(&outcome) {
        assert!(outcome.is_failed(), "a CNAME at the apex: {outcome}");
    }
}

#[test]
fn compose_variables_that_move_the_host_layout_are_warned_about() {
    let ran = cli()
        .file("pod/prose.toml", "[server]\ndomain = \"example.org\"\n")
        .file(
            "pod/compose.env",
            "PROSE_POD_API_DATA_DIR=/srv/api\nPROSE_GID=1001\nPROSE_POD_SERVER_PORT_C2S=5333\n",
        )
        .args(&["check", "pod"])
        .run()
        .status(0);
    let ran = ran
        .stderr_has("`PROSE_POD_API_DATA_DIR` moves /var/lib/prose-pod-api")
        .stderr_has("help: remove it, or keep /var/lib/prose-pod-api")
        .stderr_has("`PROSE_POD_SERVER_PORT_C2S` moves the published port 5222");
    assert!(
        !ran.stderr.contains("`PROSE_GID` moves"),
        "the default value moves nothing: {}",
        ran.stderr
    );
}

/// The label naming the input (the pod's directory) reaches every file's notice: a line break
/// in it stays in the comment, in the host files as in the others.
#[test]
fn a_hostile_input_label_stays_inside_the_comments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prose.toml");
    std::fs::write(&path, "[server]\ndomain = \"example.org\"\n").unwrap();
    let loaded = prose_compile::config::load(&path, &prose_compile::config::LoadOptions::default())
        .expect("readable");
    let label = "pod\nz /etc/shadow 0666 root root -\n-->\n$ORIGIN evil.\nrm -rf /\n/prose.toml";
    let tree = prose_compile::pipeline::compile(&loaded, label).expect("builds");
    for file in [
        "etc/sysusers.d/prose.conf",
        "etc/tmpfiles.d/prose.conf",
        "etc/letsencrypt/prose/example.org-deploy-hook",
        "dns/example.org.zone",
        "INSTALL.md",
    ] {
        let text = String::from_utf8(tree.get(file).expect(file).contents.clone()).unwrap();
        for injected in ["z /etc/shadow", "-->", "$ORIGIN", "rm -rf"] {
            assert!(
                !text.lines().any(|l| l.starts_with(injected)),
                "{file}: a line starts with {injected:?}:\n{text}"
            );
        }
    }
}
