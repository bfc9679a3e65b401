"""XMPP: c2s STARTTLS on a raw socket, two real clients (slixmpp) exchanging a message, file
upload through nginx (XEP-0363) and s2s to a peer server."""
import asyncio
import base64
import hashlib
import os
import re
import socket
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

from common import guarded, parse_size, result, verdict
from checks_http import https_request, security_headers

# Full uploads up to this size; above it the limits are probed with headers only (nginx decides
# on Content-Length before reading a body), so a large limit does not cost minutes.
FULL_UPLOAD_CAP = 20 * 1024 * 1024
PROBE_SIZE = 4 * 1024 * 1024
PROSODY_DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024


def receive(sock, marks, timeout=5.0):
    sock.settimeout(timeout)
    data, end = b"", time.monotonic() + timeout
    while time.monotonic() < end and not any(m in data for m in marks):
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def stream_open(to, ns="jabber:client"):
    return (f"<?xml version='1.0'?><stream:stream to='{to}' xmlns='{ns}' "
            "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>").encode()


@guarded("c2s.starttls")
def c2s_raw(plan, ca):
    domain = plan["domain"]
    credentials = base64.b64encode(b"\0alice\0pw-alice").decode()
    auth = f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>".encode()
    with socket.create_connection(("127.0.0.1", 5222), 5) as s:
        s.sendall(stream_open(domain))
        features = receive(s, [b"</stream:features>"])
        required = bool(re.search(r"<starttls xmlns=.urn:ietf:params:xml:ns:xmpp-tls.>\s*<required/>", features))
        early = re.findall(r"<mechanism>([^<]+)</mechanism>", features)
        verdict("c2s.starttls_required", required and not early,
                f"features before TLS: <starttls><required/> {required}; SASL mechanisms offered {early}")
        s.sendall(auth)
        answer = receive(s, [b"</failure>", b"</stream:stream>", b"<success", b"</stream:error>"])
        refused = "<success" not in answer and ("failure" in answer or "stream:error" in answer or answer == "")
        verdict("c2s.plain_before_tls_refused", refused, f"PLAIN before STARTTLS answered {answer.strip()[:200]!r}")
    with socket.create_connection(("127.0.0.1", 5222), 5) as s:
        s.sendall(stream_open(domain))
        receive(s, [b"</stream:features>"])
        s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        proceed = receive(s, [b"<proceed"])
        if "<proceed" not in proceed:
            result("c2s.starttls_then_auth", "FAIL", f"no <proceed/> after <starttls/>: {proceed[:200]!r}")
            return
        tls = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname=domain)
        tls.sendall(stream_open(domain))
        features = receive(tls, [b"</stream:features>"])
        mechanisms = re.findall(r"<mechanism>([^<]+)</mechanism>", features)
        tls.sendall(auth)
        answer = receive(tls, [b"<success", b"</failure>"])
        verdict("c2s.starttls_then_auth", "<success" in answer,
                f"{tls.version()} {tls.cipher()[0]}, certificate of {domain} verified; mechanisms after TLS "
                f"{mechanisms}; PLAIN -> {'success' if '<success' in answer else answer[:150]}")


def client_class():
    import slixmpp

    class Client(slixmpp.ClientXMPP):
        def __init__(self, jid, password, ca):
            super().__init__(jid, password)
            self.enable_direct_tls = False
            self.enable_plaintext = False
            self.enable_starttls = True
            self.ca_certs = Path(ca)
            loop = asyncio.get_event_loop()
            self.ready, self.inbox = loop.create_future(), loop.create_future()
            self.add_event_handler("session_start", self.on_start)
            self.add_event_handler("message", self.on_message)
            self.add_event_handler("failed_auth", self.on_failed)

        async def on_start(self, _):
            self.send_presence()
            await self.get_roster()
            if not self.ready.done():
                self.ready.set_result(True)

        def on_failed(self, _):
            if not self.ready.done():
                self.ready.set_exception(RuntimeError("authentication failed"))

        def on_message(self, message):
            if message["type"] in ("chat", "normal") and not self.inbox.done():
                self.inbox.set_result(message)

    return Client


async def request_slot(client, service, filename, size):
    from slixmpp.xmlstream import ET
    iq = client.make_iq_get(ito=service)
    iq.append(ET.Element("{urn:xmpp:http:upload:0}request",
                         {"filename": filename, "size": str(size), "content-type": "application/octet-stream"}))
    try:
        answer = await iq.send(timeout=10)
    except Exception as e:  # noqa: BLE001 - an IQ error is the answer here
        error = getattr(e, "iq", None)
        return None, str(error) if error is not None else repr(e)
    ns = "{urn:xmpp:http:upload:0}"
    slot = answer.xml.find(f"{ns}slot")
    put, get = slot.find(f"{ns}put"), slot.find(f"{ns}get")
    headers = {h.get("name"): (h.text or "") for h in put.findall(f"{ns}header")}
    return (put.get("url"), get.get("url"), headers), None


def headers_only_put(url, length, ca, wait=1.5):
    """Sends a PUT's headers (Content-Length `length`) and no body; returns the status nginx
    answers before the body, or None when it waits for the body (it accepted the length)."""
    u = urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", u.port or 443), 5) as raw, \
            ctx.wrap_socket(raw, server_hostname=u.hostname) as s:
        s.sendall(f"PUT {u.path} HTTP/1.1\r\nHost: {u.hostname}\r\nContent-Length: {length}\r\n"
                  "Content-Type: application/octet-stream\r\n\r\n".encode())
        answer = receive(s, [b"\r\n\r\n"], wait)
    m = re.match(r"HTTP/1\.1 (\d{3})", answer)
    return (int(m.group(1)), answer) if m else (None, answer)


async def upload(plan, client, ca, http):
    service = next((h for h, m in plan["components"].items() if m == "http_file_share"), None)
    if not service:
        result("upload", "SKIP", "no http_file_share component (uploads are off)")
        return
    limit = plan["prosody"][service].get("http_file_share_size_limit", PROSODY_DEFAULT_UPLOAD_LIMIT)
    location = http.location("/upload/")
    nginx_max = parse_size(location and location["client_max_body_size"])
    verdict("upload.limits_agree", nginx_max == limit,
            f"Prosody's http_file_share_size_limit {limit} B, nginx's client_max_body_size on /upload/ "
            f"{location and location['client_max_body_size']} ({nginx_max} B)")
    size = min(PROBE_SIZE, limit)
    data = os.urandom(size)
    slot, error = await request_slot(client, service, "probe.bin", size)
    if not verdict("upload.slot", slot is not None,
                   f"slot from {service}: PUT {slot[0]}" if slot else f"slot request refused: {error[:400]}"):
        return
    put_url, get_url, headers = slot
    u = urlsplit(put_url)
    started = time.monotonic()
    status, _, body = https_request(u.hostname, "PUT", u.path, ca, body=data,
                                    headers=dict(headers, **{"Content-Type": "application/octet-stream"}))
    verdict("upload.put", status in (200, 201),
            f"PUT {size} B to {put_url} through nginx -> {status} in {time.monotonic() - started:.2f} s")
    g = urlsplit(get_url)
    started = time.monotonic()
    status, got_headers, back = https_request(g.hostname, "GET", g.path, ca, timeout=60)
    elapsed = time.monotonic() - started
    same = hashlib.sha256(back).digest() == hashlib.sha256(data).digest()
    verdict("upload.get", status == 200 and same,
            f"GET {get_url} -> {status}, {len(back)} B, identical to what was sent: {same}, {elapsed:.2f} s")
    security_headers("upload GET", got_headers)
    rate = parse_size(location and location["limit_rate"])
    if rate:
        expected = size / rate
        if expected < 0.5:
            result("upload.limit_rate", "INFO", f"limit_rate {location['limit_rate']}: a {size} B download would "
                   f"take {expected:.2f} s, too short to measure")
        else:
            verdict("upload.limit_rate", elapsed >= 0.6 * expected,
                    f"nginx's `limit_rate {location['limit_rate']}` on /upload/: {size} B downloaded in "
                    f"{elapsed:.2f} s (at least {0.6 * expected:.2f} s if the limit holds; it applies to "
                    f"downloads only, never to request bodies)")
    else:
        result("upload.limit_rate", "SKIP", "no limit_rate on /upload/")

    # The limits on both sides, at the limit and one byte over.
    slot, error = await request_slot(client, service, "over.bin", limit + 1)
    verdict("upload.slot_over_limit_refused", slot is None,
            f"slot for {limit + 1} B -> " + (f"refused: {error[:200]}" if slot is None else "GRANTED"))
    slot, error = await request_slot(client, service, "exact.bin", limit)
    if not verdict("upload.slot_at_limit", slot is not None,
                   f"slot for exactly {limit} B -> " + ("granted" if slot else f"refused: {error[:200]}")):
        return
    if limit <= FULL_UPLOAD_CAP:
        pu = urlsplit(slot[0])
        status, _, body = https_request(pu.hostname, "PUT", pu.path, ca, body=os.urandom(limit),
                                        headers=slot[2], timeout=120)
        verdict("upload.put_at_limit", status in (200, 201),
                f"PUT of exactly {limit} B (the limit) through nginx -> {status} {body[:100]!r}")
    else:
        status, answer = headers_only_put(slot[0], limit, ca)
        verdict("upload.put_at_limit", status is None,
                f"PUT headers with Content-Length {limit} (the limit): nginx "
                + ("waits for the body (accepted)" if status is None else f"answered {status} before the body")
                + f"; a full upload is capped at {FULL_UPLOAD_CAP} B to bound the suite's time")
    status, answer = headers_only_put(slot[0], limit + 1, ca)
    verdict("upload.nginx_over_limit", status == 413,
            f"PUT headers with Content-Length {limit + 1} (one byte over): nginx answered {status} before "
            "the body (413 expected)")
    slot, error = await request_slot(client, service, "small.bin", 1000)
    if slot:
        pu = urlsplit(slot[0])
        status, got_headers, _ = https_request(pu.hostname, "PUT", pu.path, ca, body=b"x" * 2000, headers=slot[2])
        verdict("upload.put_size_mismatch", status is not None and status >= 400,
                f"PUT of 2000 B on a slot of 1000 B -> {status}")
        security_headers("upload error", got_headers)


async def s2s(plan, client):
    from slixmpp.xmlstream import ET
    if not plan["federating"]:
        result("s2s", "SKIP", "federation is off (`modules_disabled = { \"s2s\" }`)")
        return
    for peer in plan["peers"]:
        allowed = not plan["whitelist_on"] or peer in plan["whitelist"]
        iq = client.make_iq_get(ito=peer)
        iq.append(ET.Element("{urn:xmpp:ping}ping"))
        started = time.monotonic()
        try:
            await iq.send(timeout=15)
            outcome = "pong"
        except Exception as e:  # noqa: BLE001 - an IQ error or a timeout is the outcome
            error = getattr(e, "iq", None)
            outcome = f"error {error['error']['condition']}" if error is not None else type(e).__name__
        took = time.monotonic() - started
        label = ("on the whitelist" if peer in plan["whitelist"] else "NOT on the whitelist") if plan["whitelist_on"] \
            else "no whitelist"
        detail = f"{label}: ping from alice@{plan['domain']} to {peer} -> {outcome} in {took:.1f} s"
        ok = (outcome == "pong") == allowed
        if not ok and not allowed and "s2s_whitelist" in plan.get("missing_modules", []):
            result(f"s2s.ping[{peer}]", "NOTAVAIL", detail + " (mod_s2s_whitelist, which enforces the whitelist, "
                   "is not installed here)")
        else:
            verdict(f"s2s.ping[{peer}]", ok, detail)


async def clients(plan, ca, http, want):
    Client = client_class()
    domain = plan["domain"]
    alice = Client(f"alice@{domain}/live", "pw-alice", ca)
    bob = Client(f"bob@{domain}/live", "pw-bob", ca)
    for c in (alice, bob):
        c.connect("127.0.0.1", 5222)
    try:
        try:
            await asyncio.wait_for(asyncio.gather(alice.ready, bob.ready), 15)
        except Exception as e:  # noqa: BLE001
            result("xmpp.login", "FAIL", f"slixmpp login of alice and bob: {e!r}")
            return
        result("xmpp.login", "PASS", "alice and bob logged in with slixmpp (STARTTLS, certificate verified, "
               "SASL, resource binding)")
        body = f"hello bob, {time.time()}"
        alice.send_message(mto=f"bob@{domain}", mbody=body, mtype="chat")
        try:
            m = await asyncio.wait_for(bob.inbox, 10)
            verdict("xmpp.message", m["body"] == body, f"bob received {m['body']!r} from {m['from']}")
        except asyncio.TimeoutError:
            result("xmpp.message", "FAIL", "bob received nothing within 10 s")
        if want("upload"):
            try:
                await upload(plan, alice, ca, http)
            except Exception as e:  # noqa: BLE001
                result("upload", "FAIL", f"the upload checks raised {type(e).__name__}: {str(e)[:300]}")
        if want("s2s"):
            await s2s(plan, alice)
    finally:
        for c in (alice, bob):
            c.disconnect()
        await asyncio.sleep(0.2)
