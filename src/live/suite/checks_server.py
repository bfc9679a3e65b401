"""The servers themselves: the namespace, Prosody's configuration check, start, modules, options,
reload, nginx's configuration test and reload, and what both logged."""
import os
import re
import signal
import time
from pathlib import Path

from common import guarded, new_log_text, note, result, sh, verdict, wait_port

PROSODY_MODULES = Path("/usr/lib/prosody/modules")
LOG_LINE = re.compile(r"^(\S+)\s+(error|warn)\t(.*)$")


@guarded("ns.isolated")
def isolated():
    links = sh(["ip", "-o", "link"]).stdout.strip().splitlines()
    names = [line.split(":")[1].strip() for line in links]
    verdict("ns.isolated", names == ["lo"], f"network interfaces in the namespace: {names}")


def log_problems(text):
    """(modules Prosody could not load, every other error or warning) in a stretch of its log."""
    missing, other = [], []
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if not m:
            continue
        source, level, message = m.groups()
        mm = re.match(r"Unable to load module '([^']+)'", message)
        if mm:
            missing.append(mm.group(1))
        elif not message.startswith("Received SIG"):
            other.append(f"{source} {level}: {message}")
    return missing, other


class Prosody:
    def __init__(self, plan, procs):
        self.plan, self.procs = plan, procs
        self.W = Path(plan["W"])
        self.cfg = self.W / "etc/prosody/prosody.cfg.lua"
        self.sections = plan["prosody"]
        self.glob = self.sections["*"]
        self.env = plan["env"]
        self.proc = None
        self.missing = []

    def ctl(self, *args, cfg=None):
        # As `prosody`: prosodyctl runs the tree's Lua configuration.
        return sh(["setpriv", "--reuid", "prosody", "--regid", "prosody", "--init-groups",
                   "prosodyctl", "--config", str(cfg or self.cfg), *args], timeout=60,
                  env=dict(os.environ, **self.env))

    def plugin_dirs(self):
        return [Path(p) for p in (self.glob.get("plugin_paths") or [])] + [PROSODY_MODULES]

    def enabled_modules(self):
        """Every module the file enables, with the sections that enable it."""
        modules = {}
        for host, options in self.sections.items():
            for m in options.get("modules_enabled") or []:
                modules.setdefault(m, []).append(host)
            if options.get("component_module"):
                modules.setdefault(options["component_module"], []).append(host)
        return modules

    def on_disk(self, module):
        # Prosody's loader also tries <dir>/mod_<name>/mod_<name>.lua and <dir>/<name>/mod_<name>.lua.
        return any((d / f"mod_{module}.lua").exists() or (d / f"mod_{module}/mod_{module}.lua").exists()
                   or (d / module / f"mod_{module}.lua").exists() for d in self.plugin_dirs())

    @guarded("prosody.check_config")
    def check_config(self):
        run = self.ctl("check", "config")
        text = run.stdout + run.stderr
        body = text[text.find("Checking config"):] if "Checking config" in text else text
        lines = [line.strip() for line in body.splitlines()
                 if line.strip() and not line.strip().startswith(("Checking", "Done", "All checks passed"))]
        verdict("prosody.check_config", run.returncode == 0 and "All checks passed" in text,
                f"prosodyctl check config: exit status {run.returncode}; " + (" | ".join(lines)[:800] or "All checks passed"))

    def register_users(self):
        ok = True
        for user in ("alice", "bob"):
            run = self.ctl("register", user, self.plan["domain"], "pw-" + user)
            ok &= run.returncode == 0
            if run.returncode != 0:
                result("xmpp.register", "FAIL", f"prosodyctl register {user}@{self.plan['domain']}: exit status "
                       f"{run.returncode}: {(run.stdout + run.stderr).strip()[-300:]}")
        if ok:
            result("xmpp.register", "PASS", f"alice and bob registered on {self.plan['domain']} with prosodyctl "
                   "(in-band registration is off: `allow_registration = false`)")
        for peer in self.plan["peers"]:
            self.ctl("register", "carol", peer, "pw-carol", cfg=self.W / "peer/prosody.cfg.lua")

    @guarded("prosody.start")
    def start(self):
        started = time.monotonic()
        self.proc = self.procs.start("prosody", ["prosody", "-F", "--config", str(self.cfg)], env=self.env,
                                     user="prosody")
        up = wait_port("127.0.0.1", 5222, 20)
        # Modules load after the c2s port opens: give the log a moment.
        time.sleep(1.0)
        text = new_log_text(self.proc)
        if not up or self.proc.poll() is not None:
            result("prosody.start", "FAIL", f"c2s port 5222 not listening (exit status {self.proc.poll()}): {text[-1200:]}")
            return False
        result("prosody.start", "PASS", f"Prosody 13 runs as `prosody` (pid {self.proc.pid}); c2s up after "
               f"{time.monotonic() - started:.1f} s")
        missing, other = log_problems(text)
        self.missing = sorted(set(missing))
        modules = self.enabled_modules()
        for m in self.missing:
            result(f"prosody.module.{m}", "NOTAVAIL",
                   f"mod_{m} (enabled on {', '.join(modules.get(m, ['?']))}) is not installed here: Prosody "
                   f"logged \"Unable to load module '{m}'\" and runs without it; its behaviour is not judged")
        predicted = sorted(m for m in modules if not self.on_disk(m))
        verdict("prosody.modules.prediction", predicted == self.missing,
                f"modules absent from {', '.join(map(str, self.plugin_dirs()))}: {predicted}; modules Prosody "
                f"could not load: {self.missing}")
        verdict("prosody.log.startup", not other,
                "no error or warning besides the missing modules" if not other else " || ".join(other)[:1500])
        listening = sh(["ss", "-ltnpH"]).stdout
        sockets = sorted({line.split()[3] for line in listening.splitlines() if "lua" in line or "prosody" in line})
        result("prosody.listeners", "INFO", f"Prosody listens on {sockets}")
        return True

    @guarded("prosody.options_known")
    def options_known(self):
        """Prosody reports no unknown option (neither at start nor in `check config`): find, in the
        Lua sources on this machine, the code that reads each option the file sets."""
        read = set()
        by_option = re.compile(r"""get_option[a-z_]*\s*\(\s*["']([A-Za-z0-9_]+)["']""")
        by_section = re.compile(r"""(?:configmanager|config)\.get\s*\(\s*[^,()]+,\s*["']([A-Za-z0-9_]+)["']""")
        by_module = re.compile(r"""get_option[a-z_]*\s*\(\s*module\.name\s*\.\.\s*["']([A-Za-z0-9_]+)["']""")
        own_name = re.compile(r"""get_option[a-z_]*\s*\(\s*module\.name\s*[,)]""")
        service = re.compile(r"""provides\(\s*["']net["']\s*,\s*\{(.*?)\}\s*\)""", re.S)
        roots = [Path("/usr/lib/prosody")] + [d for d in self.plugin_dirs() if d.is_dir()]
        for root in roots:
            for f in root.rglob("*.lua"):
                text = f.read_text(errors="replace")
                read |= set(by_option.findall(text)) | set(by_section.findall(text))
                name = f.stem[4:] if f.stem.startswith("mod_") else None
                if name:
                    read |= {name + suffix for suffix in by_module.findall(text)}
                    if own_name.search(text):
                        read.add(name)
                # A network service's <name or config_prefix>_ports/_interfaces/_ssl (portmanager).
                for body in service.findall(text):
                    for prefix in re.findall(r"""(?:name|config_prefix)\s*=\s*["']([a-z0-9_]+)["']""", body):
                        read |= {f"{prefix}_{s}" for s in ("ports", "interfaces", "interface", "ssl")}
        unknown, unjudged = [], []
        for host, options in self.sections.items():
            for option in options:
                if option in ("__kind", "component_module") or option in read:
                    continue
                owner = next((m for m in self.missing if option == m or option.startswith(m + "_")), None)
                (unjudged if owner else unknown).append((host, option, owner))
        for host, option, owner in unjudged:
            result(f"prosody.option.{option}", "NOTAVAIL",
                   f"`{option}` ({host}) is read by mod_{owner}, which is not installed here")
        verdict("prosody.options_known", not unknown,
                f"every option the file sets is read by Prosody or a module installed here "
                f"({sum(len(o) - ('__kind' in o) - ('component_module' in o) for o in self.sections.values())} options, "
                f"{len(unjudged)} of not-installed modules)" if not unknown else
                "options no code on this machine reads (misspelt, or of another Prosody version): "
                + ", ".join(f"{o} ({h})" for h, o, _ in unknown))

    @guarded("prosody.sighup")
    def sighup(self):
        new_log_text(self.proc)
        os.kill(self.proc.pid, signal.SIGHUP)
        time.sleep(1.5)
        missing, other = log_problems(new_log_text(self.proc))
        alive = self.proc.poll() is None and wait_port("127.0.0.1", 5222, 3)
        verdict("prosody.sighup", alive and not other,
                f"reloaded on SIGHUP: running={alive}; errors or warnings: {other[:5] or 'none'}")

    @guarded("prosody.log.during_checks")
    def log_during_checks(self):
        missing, other = log_problems(new_log_text(self.proc))
        verdict("prosody.log.during_checks", not other,
                "no error or warning while the checks ran" if not other else " || ".join(other)[:1500])


class Nginx:
    def __init__(self, plan, procs):
        self.plan, self.procs = plan, procs
        self.W = Path(plan["W"])
        self.conf = self.W / "etc/nginx/nginx.conf"
        self.proc = None
        self.error_log = self.W / "log/nginx-error.log"
        self.offset = 0

    @guarded("nginx.config_test")
    def config_test(self):
        run = sh(["nginx", "-t", "-q", "-c", str(self.conf)])
        complaints = [line for line in run.stderr.splitlines() if re.search(r"\[(warn|emerg|crit|alert|error)\]", line)]
        verdict("nginx.config_test", run.returncode == 0 and not complaints,
                f"nginx -t: exit status {run.returncode}; {complaints or 'no warning'}")

    def start(self):
        self.proc = self.procs.start("nginx", ["nginx", "-c", str(self.conf), "-g", "daemon off;"])
        up = wait_port("127.0.0.1", 443, 10) and wait_port("127.0.0.1", 80, 5)
        verdict("nginx.start", up and self.proc.poll() is None, f"nginx listening on 80 and 443: {up}")
        return up

    @guarded("nginx.sighup")
    def sighup(self):
        os.kill(self.proc.pid, signal.SIGHUP)
        time.sleep(0.5)
        alive = self.proc.poll() is None and wait_port("127.0.0.1", 443, 3)
        verdict("nginx.sighup", alive, f"nginx reloaded on SIGHUP: running={alive}")

    @guarded("nginx.error_log")
    def error_log_check(self, expected):
        """Every [error] or worse line must be one the checks provoke or explain (`expected`:
        substring -> why); [warn] lines and the expected ones are reported."""
        text = self.error_log.read_text(errors="replace") if self.error_log.exists() else ""
        bad, warned, known = [], [], {}
        for line in text.splitlines():
            if re.search(r"\[(error|crit|alert|emerg)\]", line):
                why = next((w for e, w in expected.items() if e in line), None)
                if why:
                    known[why] = known.get(why, 0) + 1
                else:
                    bad.append(line[20:260])
            elif "[warn]" in line:
                warned.append(line[20:200])
        if warned or known:
            result("nginx.warnings", "INFO", f"{len(warned)} [warn] lines: " + " || ".join(warned[:3])
                   + f"; expected [error] lines: {known or 'none'}")
        verdict("nginx.error_log", not bad, "no unexpected [error] or worse" if not bad else " || ".join(bad[:6]))


def start_helpers(plan, procs, suite_dir, python):
    procs.start("dnsmasq", ["dnsmasq", "-k", f"--conf-file={plan['W']}/dnsmasq.conf"])
    procs.start("app-echo", [python, "-B", str(suite_dir / "echo_server.py"), "127.0.0.1", "8080", "app:8080"])
    procs.start("dashboard-echo", [python, "-B", str(suite_dir / "echo_server.py"), "127.0.0.1", "8081",
                                   "dashboard:8081"])
    # dnsmasq answers on TCP too: all three are up once their ports accept.
    up = all(wait_port("127.0.0.1", port, 10) for port in (53, 8080, 8081))
    verdict("harness.helpers", up, "dnsmasq (53) and the app and Dashboard stand-ins (8080, 8081) are up")


def start_peer(plan, procs):
    if not plan["peers"]:
        return None
    peer = procs.start("peer-prosody", ["prosody", "-F", "--config", f"{plan['W']}/peer/prosody.cfg.lua"],
                       user="prosody")
    wait_port(plan["peer_address"], plan["peer_s2s_port"], 15)
    return peer
