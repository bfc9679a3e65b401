//! The live suite (`prose_compile::live`, `verify --live`): every example's golden tree and
//! every variant of `tests/live/variants/` booted in network namespaces (Prosody 13 and nginx,
//! real clients), two at a time, and one tree with each fix of issue 15 undone, whose checks
//! must fail. Needs root and the suite's tools (`.ci/run` installs them): otherwise a visible
//! `SKIP:`, or a failure under `PROSE_COMPILE_REQUIRE_VALIDATORS=1`.
//!
//! `PROSE_COMPILE_LIVE_PYTHON` names the Python that has the suite's packages (default
//! `python3`); `PROSE_COMPILE_LIVE_REPORT=FILE` writes every check of every run there.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prose_compile::live::{self, Options, Report, Status};
use prose_compile::verify::{Outcome, require_or_skip};

use crate::support::{cli, repo};

/// How many namespaces run at once (the machine of record has 2 cores).
const PARALLEL: usize = 2;

/// One tree to prove, and what its report must show beyond the checks every tree passes.
struct Job {
    name: String,
    tree: PathBuf,
    only: Vec<String>,
    expect: Expect,
}

enum Expect {
    /// Every check passes (or is not available here); these also pass.
    Passes {
        profile: &'static str,
        more: Vec<&'static str>,
    },
    /// Exactly these checks fail (a fix undone).
    FailsExactly(Vec<&'static str>),
}

fn python() -> PathBuf {
    std::env::var_os("PROSE_COMPILE_LIVE_PYTHON")
        .map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

/// `prose-compile build` of a variant directory into `out`.
fn build(pod: &Path, out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_prose-compile"))
        .args(["build", "--quiet", "--no-env"])
        .arg(pod)
        .arg("-o")
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "build {}", pod.display());
}

/// A copy of `tree` with `from` replaced by `to` in `file` (which must contain it).
fn undo(tree: &Path, file: &str, from: &str, to: &str) {
    let path = tree.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(from),
        "{file} lacks {from:?}: the fix changed, update this test"
    );
    fs::write(&path, text.replace(from, to)).unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else if entry.path_is_symlink() {
            // nginx's sites-enabled links, kept as links.
            std::os::unix::fs::symlink(fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The checks every tree must pass.
const ALWAYS: &[&str] = &[
    "ns.isolated",
    "harness.helpers",
    "prosody.check_config",
    "xmpp.register",
    "prosody.start",
    "prosody.modules.prediction",
    "prosody.log.startup",
    "prosody.options_known",
    "nginx.config_test",
    "nginx.start",
    "prosody.sighup",
    "c2s.starttls_required",
    "c2s.plain_before_tls_refused",
    "c2s.starttls_then_auth",
    "xmpp.login",
    "xmpp.message",
    "upload.limits_agree",
    "upload.slot",
    "upload.put",
    "upload.get",
    "upload.limit_rate",
    "upload.slot_over_limit_refused",
    "upload.slot_at_limit",
    "upload.put_at_limit",
    "upload.nginx_over_limit",
    "upload.put_size_mismatch",
    "ws.session",
    "ws.close",
    "exposure.compose[5281]",
    "exposure.nginx_to_prosody",
    "tls.prosody_vs_nginx",
    "tls.independent_of_other_sites",
    "nginx.sighup",
    "nginx.error_log",
    "prosody.log.during_checks",
];

/// Check families every tree has at least one passing member of.
const FAMILIES: &[&str] = &[
    "tls[c2s ",
    "tls[nginx ",
    "http.redirect[",
    "http.acme_challenge[",
    "http.host_meta[",
    "http.cors_preflight[",
    "http.headers[",
    "http.proxy[",
    "http.not_found[",
];

fn problems(job: &Job, report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let status = |id: &str| report.get(id).map(|c| c.status);
    match &job.expect {
        Expect::Passes { profile, more } => {
            for check in &report.checks {
                match check.status {
                    Status::Fail => out.push(format!("FAIL {}: {}", check.id, check.detail)),
                    // Only what this machine lacks: Prose's own modules, the options they
                    // read, and the whitelist mod_s2s_whitelist would enforce.
                    Status::NotAvailable
                        if !["prosody.module.", "prosody.option.", "s2s.ping["]
                            .iter()
                            .any(|p| check.id.starts_with(p)) =>
                    {
                        out.push(format!(
                            "unexpected NOTAVAIL {}: {}",
                            check.id, check.detail
                        ))
                    }
                    _ => {}
                }
            }
            for id in ALWAYS.iter().chain(more) {
                if status(id) != Some(Status::Pass) {
                    out.push(format!("{id}: {:?}, expected a pass", status(id)));
                }
            }
            for family in FAMILIES {
                if !report
                    .checks
                    .iter()
                    .any(|c| c.id.starts_with(family) && c.status == Status::Pass)
                {
                    out.push(format!("no passing `{family}…` check"));
                }
            }
            let want = format!("Mozilla '{profile}' expected");
            for c in report.checks.iter().filter(|c| c.id.starts_with("tls[")) {
                if !c.detail.contains(&want) {
                    out.push(format!(
                        "{} judged another profile than {profile}: {}",
                        c.id, c.detail
                    ));
                }
            }
        }
        Expect::FailsExactly(ids) => {
            let failed: BTreeSet<&str> = report
                .checks
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| c.id.as_str())
                .collect();
            let want: BTreeSet<&str> = ids.iter().copied().collect();
            if failed != want {
                out.push(format!("failed {failed:?}, expected exactly {want:?}"));
            }
        }
    }
    out
}

fn summary(name: &str, report: &Report) -> String {
    let unjudged = |modules: bool| -> Vec<&str> {
        report
            .checks
            .iter()
            .filter(|c| c.status == Status::NotAvailable)
            .filter_map(|c| match c.id.strip_prefix("prosody.module.") {
                Some(module) if modules => Some(module),
                None if !modules => Some(c.id.as_str()),
                _ => None,
            })
            .collect()
    };
    format!(
        "live {name}: {} passed, {} failed, {} not available here, {} measured, {} skipped in {:.1} s \
         (not installed: {}; not judged: {})",
        report.count(Status::Pass),
        report.count(Status::Fail),
        report.count(Status::NotAvailable),
        report.count(Status::Info),
        report.count(Status::Skip),
        report.elapsed.as_secs_f64(),
        unjudged(true).join(" "),
        unjudged(false).join(" "),
    )
}

#[test]
fn every_example_and_variant_works_live_and_each_fix_is_proven() {
    let python = python();
    let missing = live::missing_prerequisites(&python);
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
        require_or_skip(&Outcome::Skipped {
            reason: format!(
                "the live suite needs {} (its Python is PROSE_COMPILE_LIVE_PYTHON, default python3)",
                list.join("; ")
            ),
        });
        return;
    }
    let started = Instant::now();
    let scratch = tempfile::tempdir().unwrap();
    let ca = scratch.path().join("ca");
    let mut jobs = Vec::new();
    // Every example, as its golden tree (tests/integration/golden.rs keeps them built; the
    // examples' Kubernetes trees, golden/kubernetes/, are not hosts).
    let mut examples: Vec<String> = fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    examples.sort();
    for example in examples {
        let (profile, more) = match example.as_str() {
            // Federation with a whitelist: a whitelisted peer answers; the other is judged
            // only when mod_s2s_whitelist is installed (else NOTAVAIL, allowed above).
            "full" => (
                "intermediate",
                vec![
                    "s2s.ping[jabber.crisp.im]",
                    "tls[s2s crisp.chat:5269]",
                    "exposure.compose[5280]",
                ],
            ),
            _ => ("modern", vec!["s2s.port_closed", "exposure.compose[5280]"]),
        };
        jobs.push(Job {
            tree: repo().join("golden").join(&example),
            name: example,
            only: Vec::new(),
            expect: Expect::Passes { profile, more },
        });
    }
    let variants = repo().join("tests/live/variants");
    for (variant, profile, more) in [
        (
            "old-bosh",
            "old",
            vec!["bosh.session", "http.headers[BOSH]", "s2s.port_closed"],
        ),
        (
            "http-port-federation",
            "modern",
            vec![
                "s2s.ping[friend.example]",
                "s2s.ping[evil.example]",
                "exposure.compose[5380]",
            ],
        ),
        ("same-domain", "modern", vec!["s2s.port_closed"]),
    ] {
        let tree = scratch.path().join(variant);
        build(&variants.join(variant), &tree);
        jobs.push(Job {
            name: variant.to_owned(),
            tree,
            only: Vec::new(),
            expect: Expect::Passes { profile, more },
        });
    }
    // Each fix undone on one tree: the checks that guard them fail, and only those.
    let before = scratch.path().join("old-bosh-before-the-fixes");
    copy_tree(&scratch.path().join("old-bosh"), &before);
    let site = "etc/nginx/sites-available/prose.old.example";
    undo(
        &before,
        site,
        "proxy_buffering on;\n        proxy_max_temp_file_size 0;",
        "proxy_buffering off;",
    );
    undo(
        &before,
        site,
        "proxy_send_timeout 900s;\n",
        "proxy_send_timeout 900s;\n        limit_rate 256k;\n",
    );
    let cfg = "etc/prosody/prosody.cfg.lua";
    let text = fs::read_to_string(before.join(cfg)).unwrap();
    let ssl = text.find("ssl = {").expect("the carried ssl");
    let end = ssl + text[ssl..].find("}\n").unwrap() + 2;
    undo(&before, cfg, &text[ssl..end], "");
    undo(
        &before,
        "etc/prose/compose.yaml",
        "INTERFACE_HTTPS:-127.0.0.1",
        "INTERFACE_HTTPS:-0.0.0.0",
    );
    jobs.push(Job {
        name: "old-bosh-before-the-fixes".into(),
        tree: before,
        only: ["xmpp", "upload", "ws", "tls", "exposure"]
            .map(String::from)
            .to_vec(),
        expect: Expect::FailsExactly(vec![
            "upload.limit_rate",
            "ws.close",
            "tls[c2s old.example:5222]",
            "tls.prosody_vs_nginx",
            "exposure.compose[5281]",
        ]),
    });
    // A modern site without its unusable ciphers: TLS 1.2 through the other site's settings.
    let modern = scratch.path().join("minimal-before-the-fixes");
    copy_tree(&repo().join("golden/minimal"), &modern);
    for site in ["crisp.chat", "prose.crisp.chat"] {
        let path = format!("etc/nginx/sites-available/{site}");
        let text = fs::read_to_string(modern.join(&path)).unwrap();
        fs::write(
            modern.join(&path),
            text.replace("    ssl_ciphers PSK-AES128-GCM-SHA256;\n", ""),
        )
        .unwrap();
    }
    jobs.push(Job {
        name: "minimal-before-the-fixes".into(),
        tree: modern,
        only: vec!["tls".into()],
        expect: Expect::FailsExactly(vec![
            "tls[nginx crisp.chat:443]",
            "tls[nginx prose.crisp.chat:443]",
            "tls[nginx admin.prose.crisp.chat:443]",
            "tls.prosody_vs_nginx",
            "tls.independent_of_other_sites",
        ]),
    });

    // Two namespaces at a time; the longest first.
    let queue = Mutex::new(jobs.into_iter().rev().collect::<Vec<_>>());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| {
                loop {
                    let Some(job) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let mut options = Options::new(&job.tree);
                    options.python = python.clone();
                    options.ca = Some(ca.clone());
                    options.only = job.only.clone();
                    options.deadline = Duration::from_secs(180);
                    options.keep = std::env::var_os("PROSE_COMPILE_LIVE_KEEP").is_some();
                    let report =
                        live::run(&options, &mut |_| {}).expect("prerequisites were checked");
                    let _ = writeln!(std::io::stderr(), "{}", summary(&job.name, &report));
                    results.lock().unwrap().push((job, report));
                }
            });
        }
    });
    let wall = started.elapsed();
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let _ = writeln!(
        std::io::stderr(),
        "live suite: {} runs in {:.1} s",
        results.len(),
        wall.as_secs_f64()
    );
    if let Some(path) = std::env::var_os("PROSE_COMPILE_LIVE_REPORT") {
        let mut text = format!(
            "# Live suite: {} runs in {:.1} s\n",
            results.len(),
            wall.as_secs_f64()
        );
        for (job, report) in &results {
            let _ = writeln!(
                text,
                "\n## {} ({:.1} s)\n",
                job.name,
                report.elapsed.as_secs_f64()
            );
            for c in &report.checks {
                let _ = writeln!(text, "- {} `{}`: {}", c.status.as_str(), c.id, c.detail);
            }
        }
        fs::write(path, text).unwrap();
    }
    let mut wrong = Vec::new();
    for (job, report) in &results {
        for problem in problems(job, report) {
            wrong.push(format!("{}: {problem}", job.name));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn verify_live_names_what_the_machine_lacks_and_refuses_bad_arguments() {
    let golden = repo().join("golden/minimal");
    let golden = golden.to_str().unwrap();
    cli()
        .args(&[
            "verify",
            "--live",
            "--python",
            "/nonexistent/python3",
            golden,
        ])
        .run()
        .status(2)
        .stderr_has("error: the live checks need")
        .stderr_has("Python (`/nonexistent/python3`)");
    cli()
        .args(&["verify", "--live", "--only", "tls,nope", golden])
        .run()
        .status(2)
        .stderr_has("no group of checks is named `nope`");
    cli()
        .args(&["verify", "--live", "Cargo.toml"])
        .run()
        .status(2)
        .stderr_has("no etc/prosody/prosody.cfg.lua");
    // The live options mean nothing without --live.
    cli()
        .args(&["verify", "--keep", golden])
        .run()
        .status(2)
        .stderr_has("--live");
}

/// Whether the live checks can run here (else a visible skip, or a failure under
/// PROSE_COMPILE_REQUIRE_VALIDATORS=1).
fn live_ready() -> bool {
    let missing = live::missing_prerequisites(&python());
    // A skip makes require_or_skip print `SKIP:` and answer false (or panic, in CI).
    missing.is_empty()
        || require_or_skip(&Outcome::Skipped {
            reason: format!(
                "verify --live needs {}",
                missing
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        })
}

#[test]
fn verify_live_prints_each_check_and_its_result() {
    if !live_ready() {
        return;
    }
    let golden = repo().join("golden/minimal");
    let run = cli()
        .args(&[
            "verify",
            "--live",
            "--only",
            "c2s",
            "--python",
            python().to_str().unwrap(),
        ])
        .args(&[golden.to_str().unwrap()])
        .run()
        .status(0)
        .stdout_has("PASS     ns.isolated: network interfaces in the namespace: ['lo']")
        .stdout_has("PASS     c2s.starttls_required: ")
        .stdout_has("NOTAVAIL prosody.module.prose_version: ")
        .stderr_has("rewrite  etc/prosody/prosody.cfg.lua:7 (pid file)")
        .stderr_has(" not available here (not judged)");
    let _ = run;
}

#[test]
fn a_hostile_tree_is_refused_before_anything_runs() {
    if !live_ready() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let tree = scratch.path().join("tree");
    copy_tree(&repo().join("golden/minimal"), &tree);
    std::os::unix::fs::symlink("/etc/shadow", tree.join("etc/prose/shadow")).unwrap();
    let mut options = Options::new(&tree);
    options.python = python();
    let report = live::run(&options, &mut |_| {}).unwrap();
    let prep = report.get("harness.prep").expect("the preparation failed");
    assert!(
        prep.detail.contains("a symbolic link in the tree"),
        "{}",
        prep.detail
    );
    assert!(report.get("prosody.start").is_none(), "nothing ran");
    // A name that is not a hostname cannot reach the harness' hosts, DNS or Lua files.
    fs::remove_file(tree.join("etc/prose/shadow")).unwrap();
    undo(
        &tree,
        "etc/prosody/prosody.cfg.lua",
        "VirtualHost \"crisp.chat\"",
        "VirtualHost \"crisp.chat\\\"x\"",
    );
    let report = live::run(&options, &mut |_| {}).unwrap();
    let prep = report.get("harness.prep").expect("the preparation failed");
    assert!(
        prep.detail.contains("is not a plain hostname"),
        "{}",
        prep.detail
    );
}
