"""What every part of the live suite shares: the event stream, processes, small network helpers.

Every line this suite writes on standard output is one JSON object (prose-compile reads them):
  {"type": "note", "kind": "REWRITE", "text": "..."}   what the harness did (rewrites, mounts,
                                                         certificates, processes)
  {"type": "result", "check": "c2s.starttls_required", "status": "PASS", "detail": "..."}
Statuses: PASS, FAIL, NOTAVAIL (what this machine cannot judge, e.g. a module that is not
installed: never a pass), INFO (a measurement that has no verdict), SKIP (does not apply to this
tree, e.g. BOSH when it is off).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

T0 = time.monotonic()
COUNTS = {}


def emit(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def note(kind, text):
    emit({"type": "note", "kind": kind, "text": text})


def result(check, status, detail):
    assert status in ("PASS", "FAIL", "NOTAVAIL", "INFO", "SKIP"), status
    COUNTS[status] = COUNTS.get(status, 0) + 1
    emit({"type": "result", "check": check, "status": status, "detail": detail,
          "t": round(time.monotonic() - T0, 2)})


def verdict(check, ok, detail):
    result(check, "PASS" if ok else "FAIL", detail)
    return ok


def guarded(check):
    """Runs a check function; an exception in it is that check's FAIL, not the suite's end."""
    def wrap(fn):
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - reported as the check's failure
                result(check, "FAIL", f"the check itself raised {type(e).__name__}: {str(e)[:400]}")
                return None
        return run
    return wrap


def sh(argv, timeout=30, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)


def wait_port(host, port, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection((host, port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def port_open(host, port):
    try:
        socket.create_connection((host, port), 0.5).close()
        return True
    except OSError:
        return False


class Processes:
    """Every process the suite starts, each stopped by its PID (TERM, then KILL after 5 s)."""

    def __init__(self, logdir):
        self.logdir = Path(logdir)
        self.procs = []

    def start(self, name, argv, env=None, user=None):
        log = self.logdir / f"{name}.out"
        fh = open(log, "ab")
        pre = ["setpriv", "--reuid", user, "--regid", user, "--init-groups"] if user else []
        p = subprocess.Popen(pre + argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=dict(os.environ, **(env or {})), start_new_session=True)
        fh.close()
        p.name, p.log, p.offset = name, log, 0
        self.procs.append(p)
        note("START", f"{name} pid {p.pid}{' as ' + user if user else ''}: {' '.join(argv)}")
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGTERM)
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(2)
                except ProcessLookupError:
                    pass
            note("STOP", f"{p.name} pid {p.pid}, exit status {p.returncode}")


def new_log_text(p):
    """What process `p` logged since the last call."""
    text = p.log.read_text(errors="replace")
    new = text[p.offset:]
    p.offset = len(text)
    return new


def as_list(value, default):
    """A Prosody list option as cfgdump prints it (an empty Lua table is `{}`), or `default`."""
    if value is None:
        return default
    if isinstance(value, dict):
        return list(value.values())
    return value if isinstance(value, list) else [value]


def parse_size(value):
    """nginx sizes: 20m, 512k, 1g, or bytes."""
    import re
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", (value or "").strip())
    if not m:
        return None
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2).lower()]
