"""HTTP through nginx: host-meta, CORS, redirects, security headers, the app and Dashboard
upstreams, XMPP over WebSocket and BOSH to Prosody."""
import asyncio
import base64
import http.client
import json
import re
import ssl
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

from common import guarded, result, verdict

SECURITY_HEADERS = ["strict-transport-security", "x-content-type-options", "x-frame-options", "referrer-policy",
                    "content-security-policy", "permissions-policy", "x-permitted-cross-domain-policies"]
WEBSOCKET_REL = "urn:xmpp:alt-connections:websocket"
BOSH_REL = "urn:xmpp:alt-connections:xbosh"


def https_request(name, method, path, ca, body=None, headers=None, port=443, timeout=30):
    """One HTTPS request to nginx on 127.0.0.1 (the names resolve there), SNI and Host = `name`."""
    ctx = ssl.create_default_context(cafile=ca)
    c = http.client.HTTPSConnection(name, port, timeout=timeout, context=ctx)
    try:
        c.request(method, path, body=body, headers=dict({"Host": name}, **(headers or {})))
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


def security_headers(what, headers):
    names = [k.lower() for k, _ in headers]
    missing = [h for h in SECURITY_HEADERS if h not in names]
    twice = sorted({n for n in names if names.count(n) > 1 and n in SECURITY_HEADERS})
    powered = [v for k, v in headers if k.lower() == "x-powered-by"]
    server = [v for k, v in headers if k.lower() == "server"]
    verdict(f"http.headers[{what}]", not (missing or twice or powered or any(re.search(r"\d", s) for s in server)),
            f"missing {missing or 'none'}; twice {twice or 'none'}; X-Powered-By {powered or 'absent'}; "
            f"Server {server} (no version)")


class Http:
    def __init__(self, plan, ca):
        self.plan, self.ca = plan, ca
        self.W = Path(plan["W"])
        self.servers = [s for site in plan["sites"] for s in site["servers"]]

    def https_servers(self):
        return [s for s in self.servers if any("ssl" in listen for listen in s["listen"])]

    def location(self, prefix):
        return next((loc for s in self.https_servers() for loc in s["locations"] if loc["match"].startswith(prefix)),
                    None)

    def host_meta_links(self):
        path = self.W / "www/.well-known/host-meta"
        if not path.exists():
            return {}
        root = ET.parse(path).getroot()
        return {link.get("rel"): link.get("href")
                for link in root.iter("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")}

    @guarded("http.redirects")
    def redirects(self):
        for server in self.servers:
            if any("ssl" in listen for listen in server["listen"]):
                continue
            for name in server["server_name"]:
                c = http.client.HTTPConnection("127.0.0.1", 80, timeout=5)
                c.request("GET", "/some/path?q=1", headers={"Host": name})
                r = c.getresponse()
                r.read()
                c.close()
                location = r.getheader("Location")
                verdict(f"http.redirect[{name}]", r.status in (301, 308) and location == f"https://{name}/some/path?q=1",
                        f"http://{name}/some/path?q=1 -> {r.status} {location}")

    @guarded("http.acme_challenge")
    def acme_challenge(self):
        """certbot --webroot: a file it writes under <web root>/.well-known/acme-challenge/ is served over
        plain HTTP, not redirected, on every name of a port-80 server that has the location."""
        probe = self.W / "www/.well-known/acme-challenge/prose-live-probe"
        probe.parent.mkdir(parents=True, exist_ok=True)
        token = "probe-" + base64.urlsafe_b64encode(time.time_ns().to_bytes(8, "big")).decode()
        probe.write_text(token)
        probe.parent.chmod(0o755)
        probe.chmod(0o644)
        try:
            for server in self.servers:
                if any("ssl" in listen for listen in server["listen"]):
                    continue
                if not any(loc["match"] == "^~ /.well-known/acme-challenge/" for loc in server["locations"]):
                    continue
                for name in server["server_name"]:
                    c = http.client.HTTPConnection("127.0.0.1", 80, timeout=5)
                    c.request("GET", "/.well-known/acme-challenge/prose-live-probe", headers={"Host": name})
                    r = c.getresponse()
                    body = r.read()
                    c.close()
                    verdict(f"http.acme_challenge[{name}]", r.status == 200 and body == token.encode(),
                            f"http://{name}/.well-known/acme-challenge/prose-live-probe -> {r.status}, "
                            f"body is the file: {body == token.encode()}")
        finally:
            probe.unlink()

    @guarded("http.host_meta")
    def host_meta(self):
        files = {"/.well-known/host-meta": ("application/xrd+xml", self.W / "www/.well-known/host-meta"),
                 "/.well-known/host-meta.json": ("application/json", self.W / "www/.well-known/host-meta.json")}
        served = False
        for server in self.https_servers():
            if not any(loc["match"] == "= /.well-known/host-meta" for loc in server["locations"]):
                continue
            for name in server["server_name"]:
                served = True
                for path, (ctype, file) in files.items():
                    status, headers, body = https_request(name, "GET", path, self.ca)
                    h = {k.lower(): v for k, v in headers}
                    same = file.exists() and body == file.read_bytes()
                    verdict(f"http.host_meta[{name}{path}]",
                            status == 200 and h.get("content-type", "").split(";")[0] == ctype and same
                            and h.get("access-control-allow-origin") == "*",
                            f"{status}, Content-Type {h.get('content-type')}, Access-Control-Allow-Origin "
                            f"{h.get('access-control-allow-origin')}, body identical to the file: {same}")
                    security_headers(f"{name}{path}", headers)
                    status, headers, _ = https_request(name, "OPTIONS", path, self.ca, headers={
                        "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
                    h = {k.lower(): v for k, v in headers}
                    verdict(f"http.cors_preflight[{name}{path}]",
                            status in (200, 204) and h.get("access-control-allow-origin") == "*"
                            and "GET" in h.get("access-control-allow-methods", ""),
                            f"OPTIONS -> {status}, Access-Control-Allow-Origin {h.get('access-control-allow-origin')}, "
                            f"Access-Control-Allow-Methods {h.get('access-control-allow-methods')}")
                status, headers, _ = https_request(name, "GET", "/.well-known/not-here", self.ca)
                verdict(f"http.not_found[{name}]", status == 404, f"GET /.well-known/not-here -> {status}")
                security_headers(f"{name} {status}", headers)
        if not served:
            result("http.host_meta", "FAIL", "no HTTPS server serves /.well-known/host-meta")

    @guarded("http.proxy")
    def upstreams(self):
        """The app (8080) and the Dashboard (8081) reached through nginx, with the headers they get."""
        for server in self.https_servers():
            root = next((loc for loc in server["locations"] if loc["match"] == "/"), None)
            if not root or not root["proxy_pass"]:
                if root:
                    for name in server["server_name"]:
                        status, headers, _ = https_request(name, "GET", "/not-here", self.ca)
                        verdict(f"http.not_found[{name}/]", status == 404, f"GET /not-here -> {status}")
                        security_headers(f"{name} {status}", headers)
                continue
            port = urlsplit(root["proxy_pass"]).port
            expected_server = {8080: "app:8080", 8081: "dashboard:8081"}.get(port, f"?:{port}")
            for name in server["server_name"]:
                status, headers, body = https_request(name, "GET", "/some/page?x=1", self.ca)
                try:
                    echo = json.loads(body)
                except ValueError:
                    verdict(f"http.proxy[{name}]", False, f"GET / -> {status}, not the stand-in: {body[:100]!r}")
                    continue
                h = {k.lower(): v for k, v in echo["headers"].items()}
                # The app gets the XMPP domain as Host (upstream's site), the Dashboard the name asked.
                host = self.plan["domain"] if port == 8080 else name
                ok = (echo["server"] == expected_server and echo["path"] == "/some/page?x=1"
                      and h.get("host") == host and h.get("x-forwarded-proto") == "https"
                      and h.get("x-forwarded-for") == "127.0.0.1" and h.get("x-real-ip") == "127.0.0.1")
                verdict(f"http.proxy[{name}]", ok,
                        f"reached {echo['server']} (expected {expected_server}) at {echo['path']}: Host {h.get('host')} "
                        f"(expected {host}), X-Forwarded-Proto {h.get('x-forwarded-proto')}, X-Forwarded-For "
                        f"{h.get('x-forwarded-for')}, X-Real-IP {h.get('x-real-ip')}")
                security_headers(f"{name}/ {status}", headers)
                # A 404 from the upstream gets the same headers.
                status, headers, _ = https_request(name, "GET", "/not-here", self.ca)
                verdict(f"http.not_found[{name}/]", status == 404, f"GET /not-here (a 404 from {expected_server}) -> {status}")
                security_headers(f"{name} {status}", headers)
        upload = self.location("/upload/")
        if upload:
            name = next(n for s in self.https_servers() for loc in s["locations"] if loc is upload for n in s["server_name"])
            status, headers, _ = https_request(name, "GET", "/upload/not-a-file/x.bin", self.ca)
            verdict(f"http.not_found[{name}/upload/]", status == 404, f"GET /upload/not-a-file/x.bin -> {status}")
            security_headers(f"{name}/upload/ {status}", headers)

    async def websocket(self):
        import websockets
        url = self.host_meta_links().get(WEBSOCKET_REL)
        if not url:
            result("ws", "FAIL", "host-meta advertises no WebSocket endpoint")
            return
        domain = self.plan["domain"]
        ctx = ssl.create_default_context(cafile=self.ca)
        try:
            async with websockets.connect(url, subprotocols=["xmpp"], ssl=ctx, open_timeout=10, close_timeout=2,
                                          additional_headers={"Origin": f"https://{domain}"}) as ws:
                async def rx():
                    return await asyncio.wait_for(ws.recv(), 10)
                opening = f"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{domain}' version='1.0'/>"
                await ws.send(opening)
                await rx()
                features = await rx()
                mechanisms = re.findall(r"<mechanism>([^<]+)</mechanism>", features)
                credentials = base64.b64encode(b"\0alice\0pw-alice").decode()
                await ws.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>")
                auth = await rx()
                await ws.send(opening)
                await rx()
                await rx()
                await ws.send("<iq type='set' id='b1' xmlns='jabber:client'><bind "
                              "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>ws</resource></bind></iq>")
                bound = re.search(r"<jid>([^<]+)</jid>", await rx())
                verdict("ws.session", "<success" in auth and bound is not None,
                        f"{url} (from host-meta): subprotocol {ws.subprotocol}; mechanisms {mechanisms}; auth "
                        f"{'success' if '<success' in auth else auth[:120]}; bound {bound and bound.group(1)}")
                # RFC 7395 close: the server answers <close/>, then closes the WebSocket (1000).
                await ws.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
                started = time.monotonic()
                try:
                    reply = await asyncio.wait_for(ws.recv(), 3)
                    try:
                        await asyncio.wait_for(ws.recv(), 3)
                        closing = "more data instead of a close frame"
                    except websockets.ConnectionClosed as e:
                        closing = f"close frame {e.rcvd.code if e.rcvd else None}"
                    except asyncio.TimeoutError:
                        closing = "no close frame within 3 s"
                except (asyncio.TimeoutError, websockets.ConnectionClosed) as e:
                    reply, closing = f"no <close/> ({type(e).__name__})", ""
                took = time.monotonic() - started
                verdict("ws.close", "<close" in reply and closing == "close frame 1000" and took < 2.5,
                        f"after the client's <close/>: server sent {reply[:60]!r}, then {closing} "
                        f"after {took:.1f} s")
        except Exception as e:  # noqa: BLE001 - the session's failure is the check's
            result("ws.session", "FAIL", f"{url}: {type(e).__name__}: {str(e)[:300]}")

    @guarded("bosh.session")
    def bosh(self):
        url = self.host_meta_links().get(BOSH_REL)
        location = self.location("/http-bind")
        if not url and not location:
            result("bosh", "SKIP", "BOSH is off (mod_bosh not enabled: host-meta advertises none, nginx proxies none)")
            return
        if not url:
            result("bosh.session", "FAIL", "nginx proxies /http-bind but host-meta does not advertise it")
            return
        domain = self.plan["domain"]
        u = urlsplit(url)
        body = (f"<body content='text/xml; charset=utf-8' hold='1' rid='1000' to='{domain}' ver='1.6' wait='5' "
                "xml:lang='en' xmpp:version='1.0' xmlns='http://jabber.org/protocol/httpbind' "
                "xmlns:xmpp='urn:xmpp:xbosh'/>")
        status, headers, answer = https_request(u.hostname, "POST", u.path, self.ca, body=body.encode(),
                                                headers={"Content-Type": "text/xml; charset=utf-8"})
        security_headers("BOSH", headers)
        sid = re.search(rb"sid=['\"]([^'\"]+)", answer)
        if not sid:
            result("bosh.session", "FAIL", f"POST {url} -> {status} {answer[:200]!r}")
            return
        credentials = base64.b64encode(b"\0alice\0pw-alice").decode()
        auth = (f"<body rid='1001' sid='{sid.group(1).decode()}' xmlns='http://jabber.org/protocol/httpbind'>"
                f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth></body>")
        status, _, answer = https_request(u.hostname, "POST", u.path, self.ca, body=auth.encode(),
                                          headers={"Content-Type": "text/xml; charset=utf-8"})
        verdict("bosh.session", b"<success" in answer,
                f"{url} (from host-meta): session opened, PLAIN -> {answer[:150]!r}")
