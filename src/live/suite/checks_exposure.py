"""Prosody's HTTP(S) ports: reachable from outside only through nginx, unless the configuration
asks for it. Prosody runs in the Pod Server's container, so what the outside reaches is what
compose.yaml publishes (its default interfaces, or those compose.env sets) of the ports Prosody
serves HTTP on; nginx reaches Prosody through the port published on the host's loopback."""
import re
from pathlib import Path
from urllib.parse import urlsplit

from common import as_list, guarded, result, sh, verdict

LOOPBACK = {"127.0.0.1", "::1", "[::1]", "localhost"}


def env_file(path):
    values = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            m = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
            if m:
                values[m.group(1)] = m.group(2).strip().strip("'\"")
    return values


def interpolate(text, env, asked):
    """Compose's ${VAR:-default}, ${VAR-default} and ${VAR}, nested; `asked` collects the
    variables whose value came from the environment files (the operator's choice)."""
    out, i = "", 0
    while i < len(text):
        if text.startswith("${", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0) if text[j] in "{}" else 0
                j += 1
            inner = text[i + 2:j - 1]
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?$", inner, re.S)
            name, op, default = m.group(1), m.group(2), m.group(3) or ""
            value = env.get(name)
            if value is not None and (op != ":-" or value != ""):
                asked.add(name)
                out += value
            else:
                out += interpolate(default, env, asked)
            i = j
        else:
            out += text[i]
            i += 1
    return out


def server_ports(compose):
    """The `ports:` entries of the `server` service (the Pod Server, Prosody's container)."""
    entries, in_server, in_ports = [], False, False
    for line in compose.splitlines():
        if re.match(r"^  [A-Za-z0-9_-]+:\s*$", line):
            in_server, in_ports = line.strip() == "server:", False
        elif in_server and re.match(r"^    ports:\s*$", line):
            in_ports = True
        elif in_server and re.match(r"^    [A-Za-z_]", line):
            in_ports = False
        elif in_server and in_ports:
            m = re.match(r'^\s*-\s*"?([^"#]+?)"?\s*$', line)
            if m:
                entries.append(m.group(1))
    return entries


@guarded("exposure")
def check(plan, http):
    W = Path(plan["W"])
    glob = plan["prosody"]["*"]
    http_ports = as_list(glob.get("http_ports"), [5280])
    https_ports = as_list(glob.get("https_ports"), [5281])
    listening = sh(["ss", "-ltnpH"]).stdout.splitlines()
    bound = {}
    for line in listening:
        address = line.split()[3]
        port = int(address.rsplit(":", 1)[1])
        if port in http_ports + https_ports and ("lua" in line or "prosody" in line):
            bound.setdefault(port, []).append(address.rsplit(":", 1)[0])
    result("exposure.prosody_http_listeners", "INFO",
           f"Prosody serves HTTP on {http_ports} and HTTPS on {https_ports or 'nothing'}; bound here: "
           f"{ {p: sorted(a) for p, a in bound.items()} or 'nothing'}")
    private = [p for p, addresses in bound.items() if set(addresses) <= {"127.0.0.1", "[::1]"}]
    if private:
        result("exposure.container_interfaces", "INFO",
               f"Prosody binds {sorted(private)} to loopback only (`http_interfaces` unset: Prosody 13's default "
               "for its private HTTP service). In the Pod Server's container, compose's published port and the "
               "`prose-pod-server` alias reach the container's own interface, not its loopback: not judged "
               "here (no container runtime)")

    compose_path = W / "tree/etc/prose/compose.yaml"
    if not compose_path.is_file():
        result("exposure.compose", "SKIP", "no etc/prose/compose.yaml in the tree")
        return
    env = {**env_file(W / "tree/etc/prose/prose.env"), **env_file(W / "tree/etc/prose/compose.env")}
    published = {}
    for entry in server_ports(compose_path.read_text(errors="replace")):
        asked = set()
        value = interpolate(entry, env, asked)
        m = re.match(r"^(?:(\[[^\]]+\]|[^:]+):)?(\d+):(\d+)(?:/tcp)?$", value)
        if m:
            published[int(m.group(3))] = (m.group(1) or "0.0.0.0", int(m.group(2)), entry, asked)
    for port in sorted(set(http_ports + https_ports + [5280, 5281])):
        if port not in published:
            continue
        interface, host_port, entry, asked = published[port]
        serves = "HTTPS" if port in https_ports else "HTTP" if port in http_ports else "where Prosody serves nothing"
        chosen = [v for v in asked if "INTERFACE" in v]
        ok = interface in LOOPBACK or bool(chosen)
        verdict(f"exposure.compose[{port}]", ok,
                f"compose publishes the Pod Server's port {port} ({serves}) on {interface}:{host_port}"
                + (f", as {', '.join(chosen)} in compose.env asks" if chosen else
                   "" if interface in LOOPBACK else
                   " by default: reachable from outside, past nginx (its TLS, headers and limits), as soon as "
                   "Prosody serves it")
                + f" (`{entry}`)")
    # nginx reaches Prosody's HTTP port through the port published on the host's loopback.
    ws = http.location("/websocket")
    if ws and ws["proxy_pass"]:
        target = urlsplit(ws["proxy_pass"])
        match = [(p, v) for p, v in published.items() if v[1] == target.port]
        ok = bool(match) and match[0][0] in http_ports and (match[0][1][0] in LOOPBACK or target.hostname not in LOOPBACK)
        verdict("exposure.nginx_to_prosody", ok,
                f"nginx proxies to {target.hostname}:{target.port}; compose publishes "
                + (f"container port {match[0][0]} there on {match[0][1][0]}; Prosody's HTTP ports {http_ports}"
                   if match else f"nothing on host port {target.port}"))
