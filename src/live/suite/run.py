"""run.py W [--only GROUPS]: the checks, INSIDE a fresh network, mount and PID namespace
(`unshare --net --mount --pid --fork --kill-child --mount-proc`, see prose-compile's live
module): only `lo` exists, so nothing can leave the machine and the generated ports are used
unchanged; when this process ends, the kernel ends every process of the namespace.

Brings lo up, bind-mounts the harness' /etc/hosts, /etc/resolv.conf, /etc/ssl/certs and
/var/lib/prosody, starts dnsmasq, the app and Dashboard stand-ins, the generated Prosody (as
`prosody`), a peer Prosody for s2s and nginx with the generated sites, runs the checks, and stops
every process it started by its PID.

GROUPS (comma-separated, default all): config reload c2s xmpp upload s2s http ws bosh tls exposure
"""
import asyncio
import json
import sys
import time
from pathlib import Path

import checks_exposure
import checks_http
import checks_server
import checks_tls
import checks_xmpp
from common import COUNTS, T0, Processes, note, result, sh

GROUPS = {"config", "reload", "c2s", "xmpp", "upload", "s2s", "http", "ws", "bosh", "tls", "exposure"}


def main():
    W = Path(sys.argv[1]).resolve()
    only = None
    if "--only" in sys.argv:
        only = set(sys.argv[sys.argv.index("--only") + 1].split(","))
        unknown = only - GROUPS
        if unknown:
            raise SystemExit(f"unknown groups {sorted(unknown)}; known: {sorted(GROUPS)}")

    def want(group):
        return only is None or group in only

    plan = json.loads((W / "plan.json").read_text())
    suite = Path(__file__).resolve().parent
    ca = str(W / "ca.crt")
    sh(["ip", "link", "set", "lo", "up"])
    for source, target in [(W / "hosts", "/etc/hosts"), (W / "resolv.conf", "/etc/resolv.conf"),
                           (W / "trust", "/etc/ssl/certs"), (W / "prosody-data", "/var/lib/prosody")]:
        mounted = sh(["mount", "--bind", str(source), target])
        if mounted.returncode != 0:
            raise SystemExit(f"mount --bind {source} {target}: {mounted.stderr.strip()}")
    checks_server.isolated()
    procs = Processes(W / "log")
    prosody = checks_server.Prosody(plan, procs)
    nginx = checks_server.Nginx(plan, procs)
    http = checks_http.Http(plan, ca)
    try:
        checks_server.start_helpers(plan, procs, suite, sys.executable)
        if want("config"):
            prosody.check_config()
        prosody.register_users()
        if not prosody.start():
            return
        plan["missing_modules"] = prosody.missing
        if want("config"):
            prosody.options_known()
        if plan["federating"] and want("s2s"):
            checks_server.start_peer(plan, procs)
        nginx.config_test()
        if not nginx.start():
            return
        if want("reload"):
            prosody.sighup()
        if want("c2s"):
            checks_xmpp.c2s_raw(plan, ca)
        if want("xmpp") or want("upload") or want("s2s"):
            asyncio.run(checks_xmpp.clients(plan, ca, http, want))
        if want("http"):
            http.redirects()
            http.acme_challenge()
            http.host_meta()
            http.upstreams()
        if want("ws"):
            asyncio.run(http.websocket())
        if want("bosh"):
            http.bosh()
        if want("exposure"):
            checks_exposure.check(plan, http)
        if want("tls"):
            checks_tls.check(plan, ca, http)
        if want("reload"):
            nginx.sighup()
        # Errors the checks provoke on purpose (the body one byte over the limit), and the reset
        # that follows every WebSocket close: Prosody closes the TCP connection right after its
        # close frame, so the client's answering close frame meets a reset (RFC 6455 wants the
        # server to read it first); harmless, nginx logs it at [error].
        nginx.error_log_check({"client intended to send too large body": "the upload one byte over the limit",
                               "while proxying upgraded connection": "the WebSocket close (Prosody resets)"})
        prosody.log_during_checks()
    finally:
        procs.stop_all()
        note("DONE", f"{COUNTS} in {time.monotonic() - T0:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except SystemExit as e:
        if e.code not in (None, 0):
            result("harness", "FAIL", str(e.code))
        raise
