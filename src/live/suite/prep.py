"""prep.py --tree TREE --work W [--ca DIR] [--keytype rsa|ec] [--modules DIR]

Runs as root OUTSIDE the network namespace, before run.py. Copies what the run needs from a
built tree into W, rewrites only environment paths in the copies (each rewrite is reported),
makes a throwaway CA (or reuses the one in --ca) and a certificate for every generated name, and
writes the harness' own files: the nginx main configuration, another site on the same nginx,
/etc/hosts, resolv.conf and dnsmasq configuration for the namespace, the trust store, and the
peer Prosody used for s2s. Writes W/plan.json for run.py.
"""
import argparse
import fcntl
import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import time
from pathlib import Path

from common import note, sh

HERE = Path(__file__).resolve().parent
PEER_ADDRESS = "127.0.0.2"
# The pod binds *:5269; Linux refuses a second listener on a more specific address for the same
# port, so the peer listens on 5270 and its SRV record says so (the pod is reached through the
# A-record fallback on 5269, as a real remote server would).
PEER_S2S_PORT = 5270
PEER_C2S_PORT = 15222
NOT_WHITELISTED = "evil.example"
FRIEND = "friend.example"
OTHER_SITE = "other-site.test"
OAUTH2_KEY = "live-test-oauth2-registration-key"


class Rewriter:
    """Regex rewrites of environment paths in a copy, each changed line reported."""

    def __init__(self):
        self.count = 0

    def __call__(self, label, text, pattern, replacement, what):
        out = []
        for number, line in enumerate(text.splitlines(keepends=True), 1):
            new = re.sub(pattern, replacement, line)
            if new != line:
                self.count += 1
                note("REWRITE", f"{label}:{number} ({what}): {line.strip()}  ->  {new.strip()}")
            out.append(new)
        return "".join(out)


HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
MAX_FILE = 16 * 1024 * 1024


def hostname(name, where):
    """A name the harness writes into hosts, DNS and Lua files: plain ASCII hostnames only (a
    tree may be hostile; prose-compile's own trees always pass)."""
    if not isinstance(name, str) or not HOSTNAME.match(name):
        raise SystemExit(f"{where}: {name!r} is not a plain hostname; the live checks refuse it")
    return name


SITE_LINKS = Path("etc/nginx/sites-enabled")


def copy_tree(src, dst):
    """Regular files and directories only (no symbolic link followed), each file bounded. The
    only links accepted are nginx's `sites-enabled/<name>` -> `../sites-available/<name>`, never
    copied: their names are returned (the harness enables those sites itself)."""
    enabled = []
    for root, dirs, files in os.walk(src):
        rel = Path(root).relative_to(src)
        for name in dirs + files:
            path = Path(root) / name
            if path.is_symlink():
                target = os.readlink(path)
                site = Path(root).parent / "sites-available" / name
                if Path(src.name) / rel == SITE_LINKS and target == f"../sites-available/{name}" and site.is_file() and not site.is_symlink():
                    enabled.append(name)
                    continue
                raise SystemExit(f"{path}: a symbolic link in the tree other than a site's; "
                                 "the live checks copy regular files only")
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            path = Path(root) / name
            if path.is_symlink():
                continue
            if not path.is_file() or path.stat().st_size > MAX_FILE:
                raise SystemExit(f"{path}: not a regular file of at most {MAX_FILE} bytes")
            shutil.copyfile(path, dst / rel / name)
    return enabled


def as_prosody(argv):
    """Runs code from the tree (its Lua configuration) as `prosody`, never as root."""
    return ["setpriv", "--reuid", "prosody", "--regid", "prosody", "--init-groups", *argv]


def prosody_options(cfg):
    """The options of each section of a prosody.cfg.lua, as Prosody's configmanager sees them."""
    env = dict(os.environ, OAUTH2_REGISTRATION_KEY=OAUTH2_KEY)
    run = sh(as_prosody(["lua5.4", str(HERE / "cfgdump.lua"), str(cfg)]), env=env)
    if run.returncode != 0:
        raise SystemExit(f"cannot evaluate {cfg}: {run.stderr.strip()}")
    sections = {}
    for line in run.stdout.splitlines():
        host, option, value = line.split("\t", 2)
        sections.setdefault(host, {})[option] = json.loads(value)
    return sections


# ---- nginx sites -----------------------------------------------------------------------------

def strip_comments(text):
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in text.splitlines())


def blocks(text, keyword):
    """The bodies of top-level `keyword { ... }` blocks (brace counting)."""
    found, i = [], 0
    for m in re.finditer(r"(?m)^\s*" + keyword + r"\s*\{", text):
        if m.start() < i:
            continue
        depth, j = 0, m.end() - 1
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        found.append(text[m.end():j])
        i = j
    return found


def directive(body, name):
    return [m.group(1).strip() for m in re.finditer(r"(?m)^\s*" + name + r"\s+([^;]*);", body)]


def parse_server(body):
    locations = []
    for m in re.finditer(r"location\s+([^{]*?)\s*\{((?:[^{}]|\{[^{}]*\})*)\}", body):
        loc = m.group(2)

        def one(name, loc=loc):
            values = directive(loc, name)
            return values[0] if values else None
        locations.append({
            "match": m.group(1), "proxy_pass": one("proxy_pass"),
            "host_header": one("proxy_set_header Host"),
            "client_max_body_size": one("client_max_body_size"), "limit_rate": one("limit_rate"),
            "proxy_buffering": one("proxy_buffering"), "proxy_max_temp_file_size": one("proxy_max_temp_file_size"),
        })
    top = re.sub(r"location\s+[^{]*\{(?:[^{}]|\{[^{}]*\})*\}", "", body)
    first = lambda name: (directive(top, name) or [None])[0]  # noqa: E731
    return {
        "listen": directive(top, "listen"),
        "server_name": " ".join(directive(top, "server_name")).split(),
        "ssl_certificate": first("ssl_certificate"),
        "ssl_protocols": first("ssl_protocols"),
        "ssl_ciphers": first("ssl_ciphers"),
        "locations": locations,
    }


# ---- certificates ----------------------------------------------------------------------------

def openssl(*args):
    run = sh(["openssl", *args], timeout=120)
    if run.returncode != 0:
        raise SystemExit(f"openssl {' '.join(args[:3])}…: {run.stderr.strip()[-400:]}")


class Authority:
    """A throwaway CA (P-256, 2 days) and one leaf key per key type, made once per directory
    (several runs in parallel share it: a lock), then one certificate per name set."""

    def __init__(self, directory, keytype):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keytype = keytype
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            ca = self.dir / "ca.crt"
            if not ca.exists() or time.time() - ca.stat().st_mtime > 86400:
                openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "2", "-subj", "/CN=prose-compile live test throwaway CA",
                        "-keyout", str(self.dir / "ca.key"), "-out", str(ca),
                        "-addext", "basicConstraints=critical,CA:TRUE",
                        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
                for old in self.dir.glob("leaf-*.key"):
                    old.unlink()
                note("CERT", f"throwaway CA made: {ca}")
            key = self.dir / f"leaf-{keytype}.key"
            if not key.exists():
                spec = (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] if keytype == "rsa"
                        else ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
                openssl("genpkey", *spec, "-out", str(key))
        self.ca, self.key = ca, key

    def issue(self, names, crt, key):
        """A leaf for `names` (the first is the subject) at `crt` (leaf + CA) and `key`."""
        crt.parent.mkdir(parents=True, exist_ok=True)
        leaf = crt.with_suffix(".leaf")
        openssl("req", "-x509", "-new", "-key", str(self.key), "-CA", str(self.ca),
                "-CAkey", str(self.dir / "ca.key"), "-days", "2", "-sha256", "-subj", f"/CN={names[0]}",
                "-addext", "subjectAltName=" + ",".join(f"DNS:{n}" for n in names),
                "-addext", "basicConstraints=critical,CA:FALSE",
                "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
                "-addext", "extendedKeyUsage=serverAuth,clientAuth", "-out", str(leaf))
        crt.write_bytes(leaf.read_bytes() + self.ca.read_bytes())
        leaf.unlink()
        shutil.copy(self.key, key)


# ---- main --------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--ca")
    parser.add_argument("--keytype", choices=["rsa", "ec"], default="rsa")
    parser.add_argument("--modules")
    args = parser.parse_args()
    src, W = Path(args.tree).resolve(), Path(args.work).resolve()
    for d in ["tree", "etc/prosody/certs", "etc/nginx/sites-enabled", "certs/live", "trust", "prosody-data",
              "run", "log", "peer/data", "peer/certs", "www", "nginx-tmp"]:
        (W / d).mkdir(parents=True, exist_ok=True)
    os.chmod(W, 0o755)
    uid, gid = pwd.getpwnam("prosody").pw_uid, grp.getgrnam("prosody").gr_gid
    enabled = []
    for part in ["etc", "var"]:
        if (src / part).is_dir():
            enabled += copy_tree(src / part, W / "tree" / part)
    note("PREP", f"tree {src} copied to {W / 'tree'}")
    rewrite = Rewriter()

    # Prosody: the generated file, with only its environment paths moved.
    source = W / "tree/etc/prosody/prosody.cfg.lua"
    if not source.is_file():
        raise SystemExit(f"{src}: no etc/prosody/prosody.cfg.lua: is this a tree built by prose-compile?")
    cfg = W / "etc/prosody/prosody.cfg.lua"
    label = "etc/prosody/prosody.cfg.lua"
    text = source.read_text()
    text = rewrite(label, text, r'^(\s*)pidfile = "[^"]*"', rf'\1pidfile = "{W}/run/prosody.pid"', "pid file")
    text = rewrite(label, text, r'^(\s*)admin_socket = "[^"]*"', rf'\1admin_socket = "{W}/run/prosody.sock"',
                   "admin socket")
    text = rewrite(label, text, r'^(\s*)data_path = "[^"]*"', rf'\1data_path = "{W}/prosody-data"', "data path")
    text = rewrite(label, text, r'^(\s*)certificates = "[^"]*"', rf'\1certificates = "{W}/etc/prosody/certs"',
                   "certificates")
    if args.modules:
        modules = Path(args.modules).resolve()
        text = rewrite(label, text, r'^plugin_paths = \{[^}]*\}', f'plugin_paths = {{ "{modules}" }}',
                       "Prose's modules (--modules)")
    cfg.write_text(text)
    for p in (W / "etc/prosody", cfg):
        os.chown(p, 0, gid)
        os.chmod(p, 0o750 if p.is_dir() else 0o640)
    note("MOUNT", f"/var/lib/prosody (Prosody's data path: the file sets none) <- {W}/prosody-data, "
                  "in the namespace")
    prosody = prosody_options(cfg)
    vhosts = [h for h, o in prosody.items() if o.get("__kind") == "host"]
    components = {h: o.get("component_module") for h, o in prosody.items() if o.get("__kind") == "component"}
    if not vhosts:
        raise SystemExit(f"{source}: no VirtualHost")
    for name in vhosts + list(components):
        hostname(name, "a VirtualHost or Component of prosody.cfg.lua")
    domain = vhosts[0]
    glob = prosody["*"]

    # nginx: the generated sites, enabled, with the certificate paths and the web root moved.
    sites, cert_names = [], {}
    sites_dir = W / "tree/etc/nginx/sites-available"
    for f in sorted(sites_dir.iterdir()) if sites_dir.is_dir() else []:
        label = f"etc/nginx/sites-available/{f.name}"
        if f.name not in enabled:
            raise SystemExit(f"{label}: the tree has no etc/nginx/sites-enabled/{f.name} link to it")
        t = f.read_text()
        t = rewrite(label, t, r"/etc/letsencrypt/live/", f"{W}/certs/live/", "certificate path")
        t = rewrite(label, t, r"(\broot\s+)/var/www/default;", rf"\g<1>{W}/www;", "web root")
        (W / "etc/nginx/sites-enabled" / f.name).write_text(t)
        servers = [parse_server(b) for b in blocks(strip_comments(f.read_text()), "server")]
        for s in servers:
            for name in s["server_name"]:
                hostname(name, f"a server_name of {label}")
            if s["ssl_certificate"]:
                names = cert_names.setdefault(Path(s["ssl_certificate"]).parent.name, [])
                names += [n for n in s["server_name"] if n not in names]
        sites.append({"file": f.name, "servers": servers})
    if (W / "tree/var/www/default").is_dir():
        shutil.copytree(W / "tree/var/www/default", W / "www", dirs_exist_ok=True)
    main_conf = (HERE / "nginx.conf.in").read_text().replace("@W@", str(W))
    try:
        pwd.getpwnam("www-data")
        main_conf = main_conf.replace("@USER@", "user www-data;")
    except KeyError:
        main_conf = main_conf.replace("@USER@", "")
    (W / "etc/nginx/nginx.conf").write_text(main_conf)
    note("ADD", f"{W}/etc/nginx/nginx.conf: Debian's main configuration (http-level ssl_protocols TLSv1 to "
                "TLSv1.3 kept), including only the generated sites and the other site below")
    # Another site on the same nginx, default_server for :443 with weak TLS: the Prose names must
    # keep their own TLS settings (a client with SNI), whatever the machine's other sites do.
    (W / "etc/nginx/sites-enabled/000-other-site").write_text(f"""# harness: another site on this nginx
server {{
    listen 443 ssl default_server;
    listen [::]:443 ssl default_server;
    server_name {OTHER_SITE};
    ssl_certificate {W}/certs/live/{OTHER_SITE}/fullchain.pem;
    ssl_certificate_key {W}/certs/live/{OTHER_SITE}/privkey.pem;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_ciphers DEFAULT:@SECLEVEL=0;
    ssl_prefer_server_ciphers on;
    return 200 "other site\\n";
}}
""")
    note("ADD", f"{W}/etc/nginx/sites-enabled/000-other-site: another site, default_server for :443, "
                "TLS 1.0 to 1.3 with every cipher (to prove the Prose sites' TLS does not depend on it)")
    cert_names[OTHER_SITE] = [OTHER_SITE]

    # s2s: a peer Prosody for a whitelisted (or any, without a whitelist) and a non-whitelisted domain.
    federating = "s2s" not in (glob.get("modules_disabled") or [])
    whitelist_on = "s2s_whitelist" in (glob.get("modules_enabled") or [])
    whitelist = glob.get("s2s_whitelist") or []
    peers = []
    if federating:
        peers = [hostname(whitelist[0], "s2s_whitelist") if whitelist_on and whitelist else FRIEND, NOT_WHITELISTED]

    # Certificates: nginx's (one per certificate directory, every name using it), Prosody's
    # (one per host and component, in the `certs` directory beside the configuration, Prosody's
    # default), the peers'.
    ca_dir = Path(args.ca).resolve() if args.ca else W / "ca"
    authority = Authority(ca_dir, args.keytype)
    for directory, names in cert_names.items():
        live = W / "certs/live" / directory
        authority.issue(names, live / "fullchain.pem", live / "privkey.pem")
        note("CERT", f"{live}/fullchain.pem for {', '.join(names)}")
    prosody_names = vhosts + list(components)
    for name in prosody_names:
        authority.issue([name], W / f"etc/prosody/certs/{name}.crt", W / f"etc/prosody/certs/{name}.key")
    note("CERT", f"{W}/etc/prosody/certs/<name>.crt|key for {', '.join(prosody_names)} (Prosody's default "
                 "`certificates = \"certs\"`, beside the configuration)")
    for name in peers:
        authority.issue([name], W / f"peer/certs/{name}.crt", W / f"peer/certs/{name}.key")
    shutil.copy(authority.ca, W / "ca.crt")
    shutil.copy(authority.ca, W / "trust/prose-live-ca.pem")
    shutil.copy(authority.ca, W / "trust/ca-certificates.crt")
    sh(["openssl", "rehash", str(W / "trust")])
    note("MOUNT", f"/etc/ssl/certs <- {W}/trust in the namespace: the throwaway CA and nothing else "
                  "(Prosody's capath, openssl, Python)")

    # Names: every generated name resolves to 127.0.0.1, the peers to 127.0.0.2. Prosody's
    # resolver reads only resolv.conf (never /etc/hosts), so dnsmasq answers in the namespace.
    http_names = sorted({n for s in sites for srv in s["servers"] for n in srv["server_name"]})
    names = sorted(set(prosody_names + http_names + [OTHER_SITE]))
    hosts = "127.0.0.1 localhost\n::1 localhost\n" + "".join(f"127.0.0.1 {n}\n" for n in names)
    hosts += "".join(f"{PEER_ADDRESS} {p}\n" for p in peers)
    (W / "hosts").write_text(hosts)
    (W / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:2\n")
    dns = [f"addn-hosts={W}/hosts", "no-hosts", "no-resolv", "listen-address=127.0.0.1", "bind-interfaces",
           "port=53", "user=root", f"pid-file={W}/run/dnsmasq.pid", f"log-facility={W}/log/dnsmasq.log"]
    dns += [f"local=/{n}/" for n in names + peers]
    dns += [f"srv-host=_xmpp-server._tcp.{p},{p},{PEER_S2S_PORT}" for p in peers]
    (W / "dnsmasq.conf").write_text("\n".join(dns) + "\n")
    note("MOUNT", f"/etc/hosts <- {W}/hosts and /etc/resolv.conf <- {W}/resolv.conf in the namespace; "
                  f"dnsmasq on 127.0.0.1:53 answers for every name (SRV _xmpp-server._tcp.<peer> -> "
                  f"{PEER_ADDRESS}:{PEER_S2S_PORT}), nothing is forwarded")

    if peers:
        (W / "peer/prosody.cfg.lua").write_text(f"""-- harness: the remote server for the s2s checks (not generated)
pidfile = "{W}/run/peer.pid"
data_path = "{W}/peer/data"
certificates = "{W}/peer/certs"
log = {{ info = "*console" }}
interfaces = {{ "{PEER_ADDRESS}" }}
local_interfaces = {{ "{PEER_ADDRESS}" }}
c2s_ports = {{ {PEER_C2S_PORT} }}
s2s_ports = {{ {PEER_S2S_PORT} }}
http_ports = {{ }}
https_ports = {{ }}
c2s_direct_tls_ports = {{ }}
s2s_direct_tls_ports = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping"; "s2s_bidi" }}
s2s_secure_auth = true
authentication = "internal_hashed"
""" + "".join(f'VirtualHost "{p}"\n' for p in peers))
        note("ADD", f"{W}/peer/prosody.cfg.lua: a peer server for {', '.join(peers)} on {PEER_ADDRESS} "
                    "(certificate authentication required on its side)")

    # Prosody runs as `prosody` (Prosody 13 refuses root), nginx's workers as www-data.
    for d in ["prosody-data", "run", "peer/data"]:
        os.chown(W / d, uid, gid)
    for d in ["etc/prosody", "etc/prosody/certs", "peer", "peer/certs"]:
        for p in [W / d, *sorted((W / d).iterdir())]:
            if p.is_dir() or p.is_file():
                os.chown(p, 0, gid)
                os.chmod(p, 0o750 if p.is_dir() else 0o640)
    for d in [W / "www", W / "tree"]:
        os.chmod(d, 0o755)

    plan = {
        "W": str(W), "tree": str(src), "keytype": args.keytype, "domain": domain, "vhosts": vhosts,
        "components": components, "prosody": prosody, "sites": sites, "cert_names": cert_names,
        "peers": peers, "peer_address": PEER_ADDRESS, "peer_s2s_port": PEER_S2S_PORT,
        "whitelist_on": whitelist_on, "whitelist": whitelist, "federating": federating,
        "other_site": OTHER_SITE, "names": names, "http_names": http_names,
        "modules_dir": str(Path(args.modules).resolve()) if args.modules else None,
        "env": {"OAUTH2_REGISTRATION_KEY": OAUTH2_KEY}, "rewrites": rewrite.count,
    }
    (W / "plan.json").write_text(json.dumps(plan, indent=1))
    note("ENV", "OAUTH2_REGISTRATION_KEY is set for Prosody (the file reads ENV_OAUTH2_REGISTRATION_KEY; "
                "the Pod Server's container gets it)")
    note("PREP", f"{rewrite.count} lines rewritten; domain {domain}; hosts {vhosts}; components "
                 f"{components}; HTTP names {http_names}; s2s peers {peers or 'none (federation off)'}")


if __name__ == "__main__":
    main()
