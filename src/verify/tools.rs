//! The real tools, one function per validator: each runs its tool on a copy of a file in a
//! throwaway directory (see the module documentation of `verify`).

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::Outcome;

// ---------------------------------------------------------------------------------------------
// Running tools

/// Generous: every tool here answers in well under a second; this only stops a hung tool.
const TOOL_DEADLINE: Duration = Duration::from_secs(120);

/// A finished tool run.
pub(super) struct Run {
    pub(super) success: bool,
    pub(super) stdout: String,
    pub(super) stderr: String,
}

impl Run {
    /// stdout then stderr, trimmed: what `Failed` carries.
    pub(super) fn output(&self) -> String {
        let (out, err) = (self.stdout.trim(), self.stderr.trim());
        match (out.is_empty(), err.is_empty()) {
            (true, _) => err.to_owned(),
            (_, true) => out.to_owned(),
            _ => format!("{out}\n{err}"),
        }
    }

    /// Passed only on exit status 0 *and* silence: these tools print warnings with status 0.
    pub(super) fn silent_success(&self) -> Outcome {
        if self.success && self.output().is_empty() {
            Outcome::Passed
        } else {
            self.failed()
        }
    }

    pub(super) fn failed(&self) -> Outcome {
        let output = self.output();
        Outcome::Failed {
            output: if output.is_empty() {
                "(exit status non-zero, no output)".to_owned()
            } else {
                output
            },
        }
    }
}

/// Runs `cmd` with no stdin, capturing both streams, killing it after [`TOOL_DEADLINE`].
/// `Err(NotFound)` means the program is not installed.
pub(super) fn run(cmd: &mut Command) -> io::Result<Run> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > TOOL_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("killed after {} s: {cmd:?}", TOOL_DEADLINE.as_secs()),
            ));
        }
        thread::sleep(Duration::from_millis(10));
    };
    Ok(Run {
        success: status.success(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Reads a pipe on its own thread so a chatty tool cannot block on a full pipe.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn not_installed(tool: &str, package: &str) -> Outcome {
    Outcome::Skipped {
        reason: format!("{tool} not installed (apt-get install {package})"),
    }
}

/// Maps a run to an outcome: not found is a skip, any other I/O error a failure.
pub(super) fn judge(
    result: io::Result<Run>,
    tool: &str,
    package: &str,
    verdict: impl FnOnce(&Run) -> Outcome,
) -> Outcome {
    match result {
        Ok(run) => verdict(&run),
        Err(e) if e.kind() == io::ErrorKind::NotFound => not_installed(tool, package),
        Err(e) => Outcome::Failed {
            output: format!("could not run {tool}: {e}"),
        },
    }
}

/// Whether `program` can be started at all (its own version flag or similar).
pub(super) fn installed(program: &str, args: &[&str]) -> bool {
    run(Command::new(program).args(args)).is_ok()
}

pub(super) fn setup_failed(what: &str, e: impl fmt::Display) -> Outcome {
    Outcome::Failed {
        output: format!("prose-compile: could not prepare {what}: {e}"),
    }
}

pub(super) fn temp_dir() -> io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("prose-compile-validate-")
        .tempdir()
}

fn write_executable(path: &Path, text: &str) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

/// `file` as an argument that cannot be read as an option, for tools without `--`.
pub(super) fn not_an_option(file: &Path) -> PathBuf {
    if file.is_relative() && file.to_string_lossy().starts_with('-') {
        Path::new(".").join(file)
    } else {
        file.to_owned()
    }
}

/// The tools name the temp copies they were given: on failure, say which file each one is.
fn note_copies(outcome: Outcome, copies: &[(PathBuf, &Path)]) -> Outcome {
    let Outcome::Failed { mut output } = outcome else {
        return outcome;
    };
    for (copy, original) in copies {
        if output.contains(&*copy.to_string_lossy()) {
            output.push_str(&format!(
                "\nprose-compile: {} is a copy of {}",
                copy.display(),
                original.display()
            ));
        }
    }
    Outcome::Failed { output }
}

/// `path` (absolute) re-rooted under `root`.
fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// Replaces the absolute directory `prefix` (no trailing slash) with `root` + `prefix` wherever
/// it is a whole path component: not the tail of a longer path (`/srv/etc/prose`), not the
/// start of a longer name (`/etc/prosody`). Only paths change; the rest is kept byte for byte.
pub(super) fn reroot(text: &str, prefix: &str, root: &Path) -> String {
    let continues_path = |c: char| c.is_alphanumeric() || "/._$}".contains(c);
    let continues_name = |c: char| c.is_alphanumeric() || "._-".contains(c);
    let replacement = format!("{}{prefix}", root.display());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        let whole = !rest[..at].chars().next_back().is_some_and(continues_path)
            && !after.chars().next().is_some_and(continues_name);
        out.push_str(&rest[..at]);
        out.push_str(if whole { &replacement } else { prefix });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The path tokens in `text` that start with `prefix` (up to whitespace, `;`, quotes, braces).
fn path_tokens<'t>(text: &'t str, prefix: &str) -> Vec<&'t str> {
    let mut found: Vec<&str> = text
        .match_indices(prefix)
        .map(|(at, _)| {
            let tail = &text[at..];
            let end = tail
                .find(|c: char| c.is_whitespace() || ";\"'{}".contains(c))
                .unwrap_or(tail.len());
            &tail[..end]
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

pub(super) fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

// ---------------------------------------------------------------------------------------------
// Lua and Prosody

/// `luac -p`: parses the file as Lua without running it (on a private copy, as an
/// unprivileged user when the tool runs as root).
pub fn lua_syntax(file: &Path) -> Outcome {
    let dir = match private_copy(file, &[]) {
        Ok(dir) => dir,
        Err(e) => return setup_failed("the Lua file copy", e),
    };
    let copy = dir.path().join(LUA_COPY);
    for luac in ["luac5.4", "luac"] {
        let mut cmd = Command::new(luac);
        cmd.arg("-p").arg("--").arg(&copy).current_dir(dir.path());
        match run(unprivileged(&mut cmd)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            result => {
                let outcome = judge(result, luac, "lua5.4", Run::silent_success);
                return note_copies(outcome, &[(copy, file)]);
            }
        }
    }
    not_installed("luac5.4 (or luac)", "lua5.4")
}

/// The Lua sandbox that loads a Prosody configuration before prosodyctl may (see
/// `sandbox.lua`): Prosody's configuration calls and nothing else, no `os`, `io`, `require`,
/// `load`, string methods or `Lua`/`RunScript`/`Include`, an instruction budget.
const SANDBOX: &str = include_str!("sandbox.lua");

/// The name of the copy of a Lua file in its private directory.
const LUA_COPY: &str = "prosody.cfg.lua";

/// `prosodyctl --config FILE check config`, after the file has loaded cleanly in the Lua
/// sandbox.
///
/// prosodyctl *executes* the configuration with Lua's whole library (`Lua.os.execute(…)`
/// appended to a file runs): so it runs only on a file that the sandbox (`sandbox.lua`,
/// `lua5.4`) loads without touching anything but Prosody's configuration calls, on a private
/// copy, with a cleared environment, and as `nobody` when the tool runs as root. Without
/// `lua5.4` the check is skipped rather than run unsandboxed.
///
/// How its messages are sorted (Prosody 0.12.3, `util/prosodyctl/check.lua`):
/// - `check config` never loads modules, resolves DNS or opens certificates (those are
///   `check certs`/`check dns`, not run here), so the Prose modules missing from Debian's
///   prosody (`http_oauth2`, `rest`, ...) and `/usr/local/lib/prosody/modules` produce no
///   message at all.
/// - Environment-only, ignored: certmanager's log line about indexing the certificate
///   directory (`<config dir>/certs` by default). The file is copied into a temp dir that has
///   an empty `certs/`, so it normally does not appear at all.
/// - Failures: exit status 1 (Lua error while reading the config) or 2 ("Problems found":
///   obsolete/deprecated options, global-only options under a host, no hosts, no `log`, ...).
/// - Also failures: anything else printed inside the "Checking config..." section, although
///   prosodyctl exits 0 for it: a `mod_` prefix in `modules_enabled`, `auth_*`/`storage_*`
///   modules, a module enabled both globally and as a Component, conflicting modules,
///   public registration, unreferenced components. Each is a real defect of a generated file.
/// - Not a failure: the "Suggestion: ... consider renaming it" note for hosts named
///   `chat.`/`xmpp.`/`im.`/`jabber.`: it comments on the operator's domain, not on the file.
pub fn prosody_config(file: &Path) -> Outcome {
    let dir = match private_copy(file, &["certs"]) {
        Ok(dir) => dir,
        Err(e) => return setup_failed("the Prosody config copy", e),
    };
    let config = dir.path().join(LUA_COPY);
    if let Some(refused) = sandboxed_load(dir.path(), &config) {
        return note_copies(refused, &[(config, file)]);
    }
    let mut cmd = Command::new("prosodyctl");
    cmd.arg("--config")
        .arg(&config)
        .args(["check", "config"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path());
    let result = run(unprivileged(&mut cmd));
    let outcome = judge(result, "prosodyctl", "prosody", judge_prosody);
    note_copies(outcome, &[(config, file)])
}

/// Loads `config` in the Lua sandbox: `None` when it loads cleanly (prosodyctl may run), else
/// why not (a failure, or a skip when `lua5.4` is missing).
fn sandboxed_load(dir: &Path, config: &Path) -> Option<Outcome> {
    let script = dir.join("sandbox.lua");
    if let Err(e) = fs::write(&script, SANDBOX) {
        return Some(setup_failed("the Lua sandbox", e));
    }
    let mut cmd = Command::new("lua5.4");
    cmd.arg(&script).arg(config).current_dir(dir).env_clear();
    let run = match run(unprivileged(&mut cmd)) {
        Ok(run) => run,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Some(Outcome::Skipped {
                reason: "lua5.4 not installed (apt-get install lua5.4): prosodyctl executes the \
                         configuration, so it runs only after the file loads in a Lua sandbox"
                    .to_owned(),
            });
        }
        Err(e) => {
            return Some(Outcome::Failed {
                output: format!("could not run the Lua sandbox: {e}"),
            });
        }
    };
    if run.success {
        return None;
    }
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    let mut problems: Vec<String> = report["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    problems.dedup();
    if let Some(error) = report["error"].as_str().filter(|e| !e.is_empty()) {
        problems.push(error.to_owned());
    }
    if problems.is_empty() {
        problems.push(run.output());
    }
    Some(Outcome::Failed {
        output: format!(
            "prose-compile: the configuration does what a generated one never does, so \
             prosodyctl (which would execute it) was not run: {}",
            problems.join("; ")
        ),
    })
}

/// A private directory holding a copy of `file` (named [`LUA_COPY`]) and the given empty
/// subdirectories: only the user the tools run as may enter it (`nobody` when the tool runs as
/// root, see [`unprivileged`]). The copy itself is 0644 (prosodyctl refuses a file its user
/// cannot read; the directory keeps everyone else out).
fn private_copy(file: &Path, subdirectories: &[&str]) -> io::Result<tempfile::TempDir> {
    let dir = temp_dir()?;
    let copy = dir.path().join(LUA_COPY);
    fs::copy(file, &copy)?;
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o644))?;
    for sub in subdirectories {
        fs::create_dir(dir.path().join(sub))?;
    }
    if let Some((uid, gid)) = unprivileged_ids() {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        for sub in subdirectories {
            std::os::unix::fs::chown(dir.path().join(sub), Some(uid), Some(gid))?;
        }
    }
    Ok(dir)
}

/// The user and group the tools that read or execute a tree's files run as when the tool runs
/// as root: `nobody` (from `/etc/passwd`, else 65534). `None` when not root (the tool's own
/// user is already unprivileged).
fn unprivileged_ids() -> Option<(u32, u32)> {
    if !is_root() {
        return None;
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let nobody = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.first() != Some(&"nobody") || fields.len() < 4 {
            return None;
        }
        Some((fields[2].parse().ok()?, fields[3].parse().ok()?))
    });
    Some(nobody.unwrap_or((65534, 65534)))
}

/// `cmd`, to run as [`unprivileged_ids`] when the tool runs as root (std drops the
/// supplementary groups too).
fn unprivileged(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = unprivileged_ids() {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

fn judge_prosody(run: &Run) -> Outcome {
    if !run.success {
        return run.failed();
    }
    let output = run.output();
    match prosody_findings(&output) {
        Some(findings) if findings.is_empty() => Outcome::Passed,
        Some(findings) => Outcome::Failed {
            output: format!(
                "{output}\nprose-compile: prosodyctl exited 0 but reported {} problem line(s), \
                 first: {}",
                findings.len(),
                findings[0].trim()
            ),
        },
        None => Outcome::Failed {
            output: format!("{output}\nprose-compile: no \"Checking config...\" section found"),
        },
    }
}

/// The problem lines of the "Checking config..." section; `None` if there is no section.
fn prosody_findings(output: &str) -> Option<Vec<&str>> {
    let mut lines = output
        .lines()
        .skip_while(|l| l.trim() != "Checking config...");
    lines.next()?;
    let mut findings = Vec::new();
    let mut in_suggestion = false;
    for line in lines.take_while(|l| l.trim() != "Done.") {
        in_suggestion = line.trim_start().starts_with("Suggestion:")
            || (in_suggestion && line.starts_with("     "));
        let informative = line.trim().is_empty()
            || line.trim() == "The following configuration files have been loaded:"
            || line.trim_start().starts_with("-  ")
            || PROSODY_13_FEATURE_NOTE.contains(&line.trim());
        if !(informative || in_suggestion || is_env_only_prosody_log(line)) {
            findings.push(line);
        }
    }
    Some(findings)
}

/// Prosody 13's note after every check (`util/prosodyctl/check.lua`): a pointer to `check
/// features`, which suggests optional modules (bookmarks, BOSH, TURN…), not a config problem.
const PROSODY_13_FEATURE_NOTE: &[&str] = &[
    "Some of your hosts may be missing features due to a lack of configuration.",
    "For more details, use the 'prosodyctl check features' command.",
];

fn is_env_only_prosody_log(line: &str) -> bool {
    line.starts_with("certmanager") && line.contains("Error indexing certificate directory")
}

// ---------------------------------------------------------------------------------------------
// nginx

/// Paths that only exist on the pod server: redirected into the temp dir. `/etc/letsencrypt/`
/// holds Certbot's certificates and TLS snippets; `/var/log/` because `nginx -t` opens (and so
/// creates) log files.
const NGINX_REROOTED: [&str; 2] = ["/etc/letsencrypt", "/var/log"];

/// Certbot's `options-ssl-nginx.conf` (certbot-nginx `tls_configs/options-ssl-nginx.conf`), so
/// a site that also sets one of these directives hits the same clash as on the server.
const CERTBOT_OPTIONS_SSL_NGINX: &str = "\
ssl_session_cache shared:le_nginx_SSL:10m;
ssl_session_timeout 1440m;
ssl_session_tickets off;

ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;

ssl_ciphers \"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384\";
";

/// `nginx -t` on a main config that includes every site, as `sites-enabled/*` would.
///
/// The sites are copied into a temp dir with `/etc/letsencrypt/...` and `/var/log/...` paths
/// redirected there; certificates are a throwaway self-signed ECDSA pair (openssl), the
/// dhparam file is RFC 7919 ffdhe2048 (what Certbot ships), the options file is Certbot's.
/// pid, logs and temp paths live in the temp dir. `nginx -t` binds the listen ports, so a
/// non-root user runs it under `unshare --user --map-root-user --net`. Any output under `-q`
/// (warnings included, e.g. conflicting server names) is a failure.
pub fn nginx_sites(sites: &[PathBuf]) -> Outcome {
    if sites.is_empty() {
        return Outcome::Failed {
            output: "prose-compile: no nginx site files to check".to_owned(),
        };
    }
    if !installed("nginx", &["-v"]) {
        return not_installed("nginx", "nginx-light");
    }
    if !installed("openssl", &["version"]) {
        return not_installed("openssl", "openssl");
    }
    let unprivileged = !is_root();
    if unprivileged && !installed_ok("unshare", &["--user", "--map-root-user", "--net", "true"]) {
        return Outcome::Skipped {
            reason: "nginx -t binds ports 80/443: run as root, or allow unprivileged user \
                     namespaces for unshare (apt-get install util-linux)"
                .to_owned(),
        };
    }
    let (dir, copies) = match prepare_nginx_dir(sites, unprivileged) {
        Ok(prepared) => prepared,
        Err(e) => return setup_failed("the nginx test harness", e),
    };
    let main = dir.path().join("nginx.conf");
    let mut cmd = if unprivileged {
        let mut cmd = Command::new("unshare");
        cmd.args(["--user", "--map-root-user", "--net", "nginx"]);
        cmd
    } else {
        Command::new("nginx")
    };
    cmd.args(["-t", "-q", "-e", "stderr", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(&main);
    let outcome = judge(run(&mut cmd), "nginx", "nginx-light", Run::silent_success);
    let copies: Vec<(PathBuf, &Path)> = copies
        .into_iter()
        .zip(sites.iter().map(|s| s.as_path()))
        .collect();
    note_copies(outcome, &copies)
}

/// `installed` and also exited 0.
pub(super) fn installed_ok(program: &str, args: &[&str]) -> bool {
    run(Command::new(program).args(args)).is_ok_and(|r| r.success)
}

/// The harness dir, and the copy of each site in order.
fn prepare_nginx_dir(
    sites: &[PathBuf],
    unprivileged: bool,
) -> io::Result<(tempfile::TempDir, Vec<PathBuf>)> {
    let dir = temp_dir()?;
    let root = dir.path();
    let sites_dir = root.join("sites");
    fs::create_dir(&sites_dir)?;
    fs::create_dir(root.join("temp"))?;
    let mut stand_ins = Vec::new();
    let mut copies = Vec::new();
    for (i, site) in sites.iter().enumerate() {
        let mut text = fs::read_to_string(site)?;
        for prefix in NGINX_REROOTED {
            text = reroot(&text, prefix, root);
        }
        let prefix = format!("{}/", root.display());
        stand_ins.extend(path_tokens(&text, &prefix).into_iter().map(str::to_owned));
        let name = site.file_name().unwrap_or_default().to_string_lossy();
        let copy = sites_dir.join(format!("{i}-{name}"));
        fs::write(&copy, text)?;
        copies.push(copy);
    }
    create_stand_ins(root, &stand_ins)?;
    fs::write(root.join("nginx.conf"), nginx_main_conf(root, unprivileged))?;
    Ok((dir, copies))
}

/// Creates the files the rewritten sites point at, by Certbot file name.
fn create_stand_ins(root: &Path, paths: &[String]) -> io::Result<()> {
    let pair = root.join("selfsigned");
    fs::create_dir(&pair)?;
    let (cert, key) = (pair.join("cert.pem"), pair.join("key.pem"));
    let mut made_pair = false;
    for path in paths.iter().filter(|p| !p.contains('$')).map(Path::new) {
        fs::create_dir_all(path.parent().unwrap_or(root))?;
        if path.starts_with(root.join("var/log")) || path.exists() {
            continue;
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let is_pem = name.ends_with(".pem") || name.ends_with(".crt") || name.ends_with(".key");
        if name.contains("dhparam") {
            openssl(&[
                "genpkey",
                "-genparam",
                "-algorithm",
                "DH",
                "-pkeyopt",
                "group:ffdhe2048",
                "-out",
            ])
            .arg(path)
            .output_checked()?;
        } else if is_pem {
            if !made_pair {
                self_signed_pair(&cert, &key)?;
                made_pair = true;
            }
            let is_key = name.contains("privkey") || name.ends_with(".key");
            fs::copy(if is_key { &key } else { &cert }, path)?;
        } else if name == "options-ssl-nginx.conf" {
            fs::write(path, CERTBOT_OPTIONS_SSL_NGINX)?;
        } else {
            fs::write(path, "")?;
        }
    }
    Ok(())
}

fn self_signed_pair(cert: &Path, key: &Path) -> io::Result<()> {
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=prose-compile-validator",
        "-keyout",
    ])
    .arg(key)
    .arg("-out")
    .arg(cert)
    .output_checked()
}

fn openssl(args: &[&str]) -> Command {
    let mut cmd = Command::new("openssl");
    cmd.args(args);
    cmd
}

trait CheckedOutput {
    fn output_checked(&mut self) -> io::Result<()>;
}

impl CheckedOutput for Command {
    /// Runs a setup command; a failure becomes an `io::Error` carrying its output.
    fn output_checked(&mut self) -> io::Result<()> {
        let done = run(self)?;
        if done.success {
            Ok(())
        } else {
            Err(io::Error::other(format!("{self:?}: {}", done.output())))
        }
    }
}

/// Only wrapper directives: where nginx keeps its own files. Site content is not touched.
fn nginx_main_conf(root: &Path, unprivileged: bool) -> String {
    let r = root.display();
    // In a user namespace the temp dir belongs to "root"; nginx would otherwise chown its
    // temp dirs to `nobody`, which the namespace cannot map.
    let user = if unprivileged { "user root;\n" } else { "" };
    let mime = Path::new("/etc/nginx/mime.types");
    let mime = if mime.exists() {
        format!("    include {};\n", mime.display())
    } else {
        String::new()
    };
    format!(
        "{user}pid {r}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n{mime}    \
         access_log off;\n    client_body_temp_path {r}/temp/body;\n    proxy_temp_path \
         {r}/temp/proxy;\n    fastcgi_temp_path {r}/temp/fastcgi;\n    uwsgi_temp_path \
         {r}/temp/uwsgi;\n    scgi_temp_path {r}/temp/scgi;\n    include {r}/sites/*;\n}}\n"
    )
}

// ---------------------------------------------------------------------------------------------
// systemd

/// Units the pod server provides and the generated unit may depend on: systemd's own targets
/// (its default dependencies) and `docker.service` from Docker's package.
const SYSTEMD_STUB_UNITS: [(&str, &str); 5] = [
    ("sysinit.target", "[Unit]\nDescription=stub\n"),
    ("basic.target", "[Unit]\nDescription=stub\n"),
    ("shutdown.target", "[Unit]\nDescription=stub\n"),
    ("multi-user.target", "[Unit]\nDescription=stub\n"),
    (
        "docker.service",
        "[Unit]\nDescription=stub\n[Service]\nExecStart=/usr/bin/dockerd\n",
    ),
];

/// Executables a Debian pod server with Docker has. A fixed list rather than "whatever this
/// build machine has", so the verdict does not depend on the build machine. The stub root is
/// merged-/usr (`/bin` -> `usr/bin`), as on Debian 12.
const SYSTEMD_STUB_EXECUTABLES: [&str; 5] = [
    "/usr/bin/docker",
    "/usr/bin/dockerd",
    "/usr/bin/bash",
    "/usr/bin/sh",
    "/usr/bin/env",
];

const EXEC_KEYS: [&str; 7] = [
    "ExecStart",
    "ExecStartPre",
    "ExecStartPost",
    "ExecStop",
    "ExecStopPost",
    "ExecReload",
    "ExecCondition",
];

/// `systemd-analyze verify --root=<stub root>`; fails on a non-zero status or ANY stderr output
/// (unknown keys and unparsable values are only warnings with status 0).
///
/// The unit is copied to `<root>/etc/systemd/system/`; the root holds stub units and stub
/// executables for what the server provides (see the constants above), so a dependency on
/// anything else is still "not found". `--man=no`: `Documentation=man:` pages are the server's.
/// On top of systemd, an `Exec*=` program must be an absolute path: systemd 252 accepts a bare
/// name and searches its PATH, which hides typos behind whatever the server has installed.
pub fn systemd_unit(file: &Path) -> Outcome {
    let Some(name) = file.file_name() else {
        return setup_failed("the systemd root", "unit path has no file name");
    };
    let (dir, text) = match prepare_systemd_root(file) {
        Ok(prepared) => prepared,
        Err(e) => return setup_failed("the systemd root", e),
    };
    let mut cmd = Command::new("systemd-analyze");
    cmd.arg("verify")
        .arg("--man=no")
        .arg(format!("--root={}", dir.path().display()))
        .arg(name)
        .current_dir(dir.path());
    for var in [
        "SYSTEMD_LOG_LEVEL",
        "SYSTEMD_LOG_TARGET",
        "SYSTEMD_LOG_COLOR",
        "SYSTEMD_LOG_TIME",
        "SYSTEMD_LOG_LOCATION",
        "SYSTEMD_LOG_TID",
    ] {
        cmd.env_remove(var);
    }
    let copy = dir.path().join("etc/systemd/system").join(name);
    let outcome = judge(run(&mut cmd), "systemd-analyze", "systemd", |run| {
        let relative = relative_exec_lines(&text);
        if run.success && run.stderr.trim().is_empty() && relative.is_empty() {
            return Outcome::Passed;
        }
        let mut output = run.output();
        for line in relative {
            output.push_str(&format!(
                "\nprose-compile: {line}: Exec program must be an absolute path"
            ));
        }
        Outcome::Failed {
            output: output.trim().to_owned(),
        }
    });
    note_copies(outcome, &[(copy, file)])
}

fn prepare_systemd_root(file: &Path) -> io::Result<(tempfile::TempDir, String)> {
    let dir = temp_dir()?;
    let root = dir.path();
    for sub in ["bin", "sbin", "lib"] {
        fs::create_dir_all(root.join("usr").join(sub))?;
        std::os::unix::fs::symlink(format!("usr/{sub}"), root.join(sub))?;
    }
    let units = root.join("usr/lib/systemd/system");
    fs::create_dir_all(&units)?;
    for (name, text) in SYSTEMD_STUB_UNITS {
        fs::write(units.join(name), text)?;
    }
    for exe in SYSTEMD_STUB_EXECUTABLES {
        write_executable(&under(root, exe), "#!/bin/sh\nexit 0\n")?;
    }
    let local = root.join("etc/systemd/system");
    fs::create_dir_all(&local)?;
    let text = fs::read_to_string(file)?;
    fs::write(local.join(file.file_name().unwrap_or_default()), &text)?;
    Ok((dir, text))
}

/// `Exec*=` lines whose program (after systemd's `@-:+!` prefixes) is not absolute.
fn relative_exec_lines(unit: &str) -> Vec<&str> {
    unit.lines()
        .filter(|line| {
            let Some((key, value)) = line.split_once('=') else {
                return false;
            };
            if !EXEC_KEYS.contains(&key.trim()) {
                return false;
            }
            let program = value
                .trim_start()
                .trim_start_matches(['@', '-', ':', '+', '!']);
            !program.is_empty() && !program.starts_with('/')
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Compose

/// The pod's config directory, where compose.yaml is installed.
const COMPOSE_REROOTED: &str = "/etc/prose";

pub use prose_compile_validators::ComposeSpec;

/// The compose file as Compose v2 reads it, without Docker: the YAML, validated against the
/// Compose Specification schema ([`ComposeSpec`]) as written and once its variables are
/// interpolated as Compose v2 does with an empty environment (the defaults); then every env
/// file compose requires must be in the tree (the file's directory stands for `/etc/prose`).
/// So a tree installed on an empty host starts.
pub fn compose_schema(file: &Path) -> Outcome {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return setup_failed("the compose file", e),
    };
    let instance: serde_json::Value = match serde_yaml_ng::from_str(&text) {
        Ok(value) => value,
        Err(e) => {
            return Outcome::Failed {
                output: e.to_string(),
            };
        }
    };
    let interpolated =
        match super::interpolate::interpolate_document(&instance, &Default::default()) {
            Ok(value) => value,
            Err(e) => {
                return Outcome::Failed {
                    output: format!("interpolation (as Compose v2): {}", e.0),
                };
            }
        };
    let mut errors: Vec<String> = Vec::new();
    for (what, document) in [("", &instance), ("interpolated: ", &interpolated)] {
        errors.extend(ComposeSpec::iter_errors(document).map(|e| {
            format!(
                "{what}{}: {e}",
                pointer_or_root(&e.instance_path().to_string())
            )
        }));
    }
    let config_dir = file.parent().unwrap_or(Path::new("."));
    errors.extend(missing_env_files(&interpolated, config_dir));
    if errors.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed {
            output: errors.join("\n"),
        }
    }
}

/// The env files compose requires that are not in the tree.
fn missing_env_files(compose: &serde_json::Value, config_dir: &Path) -> Vec<String> {
    use serde_json::Value as J;
    let mut missing = Vec::new();
    let services = compose.get("services").and_then(J::as_object);
    for (service, definition) in services.into_iter().flatten() {
        let files: Vec<(String, bool)> = match definition.get("env_file") {
            Some(J::String(path)) => vec![(path.clone(), true)],
            Some(J::Array(items)) => items
                .iter()
                .filter_map(|item| match item {
                    J::String(path) => Some((path.clone(), true)),
                    J::Object(entry) => Some((
                        entry.get("path")?.as_str()?.to_owned(),
                        entry.get("required").and_then(J::as_bool).unwrap_or(true),
                    )),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for (path, required) in files {
            let in_tree = path
                .strip_prefix(COMPOSE_REROOTED)
                .map(|rest| config_dir.join(rest.trim_start_matches('/')));
            let present = in_tree.as_ref().is_some_and(|p| p.is_file());
            if required && !present {
                missing.push(format!(
                    "services.{service}.env_file: `{path}` is required but not in the tree"
                ));
            }
        }
    }
    missing
}

fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// XML and JSON

/// `xmllint --noout`: well-formedness; warnings count as failures.
pub fn xml(file: &Path) -> Outcome {
    let result = run(Command::new("xmllint")
        .arg("--noout")
        .arg(not_an_option(file)));
    judge(result, "xmllint", "libxml2-utils", Run::silent_success)
}

/// Parses the file as JSON (serde_json, strict RFC 8259).
pub fn json(file: &Path) -> Outcome {
    match read_json(file) {
        Ok(_) => Outcome::Passed,
        Err(output) => Outcome::Failed { output },
    }
}

/// Python's `tomllib` (3.11+) parses the file: an independent TOML 1.0 parser.
pub fn toml(file: &Path) -> Outcome {
    let script = "import sys, tomllib\nwith open(sys.argv[1], 'rb') as f:\n    tomllib.load(f)\n";
    let mut cmd = Command::new("python3");
    cmd.args(["-c", script]).arg(file);
    judge(run(&mut cmd), "python3", "python3", |run| {
        run.silent_success()
    })
}

/// The regular files in `dir`, sorted so runs are reproducible.
pub(super) fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut sites: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    sites.sort();
    sites
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reroot_only_rewrites_path_starts() {
        let root = Path::new("/tmp/x");
        let text =
            "a /etc/prose/k;\n\"/etc/prose\" /srv/etc/prose/no /etc/prosody ${X:-/etc/prose}/e";
        assert_eq!(
            reroot(text, "/etc/prose", root),
            "a /tmp/x/etc/prose/k;\n\"/tmp/x/etc/prose\" /srv/etc/prose/no /etc/prosody \
             ${X:-/tmp/x/etc/prose}/e"
        );
    }

    #[test]
    fn path_tokens_stop_at_nginx_delimiters() {
        let text = "ssl_certificate /r/a.pem; include \"/r/o.conf\";\n/r/a.pem";
        assert_eq!(path_tokens(text, "/r/"), ["/r/a.pem", "/r/o.conf"]);
    }

    #[test]
    fn relative_exec_programs_are_found() {
        let unit = "[Service]\nExecStart=docker compose up\nExecStop=-/usr/bin/docker down\n\
                    ExecStartPre=@sh x\nEnvironment=ExecStart=x";
        assert_eq!(
            relative_exec_lines(unit),
            ["ExecStart=docker compose up", "ExecStartPre=@sh x"]
        );
    }

    #[test]
    fn prosody_findings_ignore_suggestions_and_cert_noise() {
        let output = "certmanager error\tError indexing certificate directory /x/certs\n\
            Checking config...\n    The following configuration files have been loaded:\n      \
            -  /x/prosody.cfg.lua\n\n    Suggestion: If chat.example.org is a new host\n     \
            example.org. You can use SRV records\n     For more information see: x\n\
            Done.\n\nAll checks passed, congratulations!";
        assert_eq!(prosody_findings(output), Some(vec![]));
        let bad = "Checking config...\n    Modules in modules_enabled should not have the \
            'mod_' prefix included.\nDone.";
        assert_eq!(prosody_findings(bad).map(|f| f.len()), Some(1));
        assert_eq!(prosody_findings("no section"), None);
    }

    #[test]
    fn require_or_skip_proceeds_on_real_outcomes() {
        assert!(crate::verify::require_or_skip(&Outcome::Passed));
        assert!(crate::verify::require_or_skip(&Outcome::Failed {
            output: "x".into()
        }));
    }
}
