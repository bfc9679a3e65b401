"""TLS: the protocol versions, TLS 1.2 ciphers and TLS 1.3 suites each endpoint accepts, probed
one by one with `openssl s_client` (Python's ssl module cannot choose TLS 1.3 suites), compared
with Mozilla's profile the configuration names. The expectations below are written from
Mozilla's Server Side TLS guideline 5.8 (= 6.0 for modern and intermediate), independently of
prose-compile's own tables."""
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

from common import as_list, guarded, result, sh, verdict, wait_port

ECDHE_AEAD = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
              "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"]
# In guideline 5.7 (what Prosody 13 embeds), not in 5.8/6.0.
DHE = ["DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
       "DHE-RSA-AES128-SHA256", "DHE-RSA-AES256-SHA256"]
OLD_EXTRA = ["ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
             "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
             "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256", "AES256-SHA256", "AES128-SHA", "AES256-SHA",
             "DES-CBC3-SHA"]
TLS13 = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
TLS13_OTHER = ["TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"]
# Key exchange groups (probed in TLS 1.3): every profile names the first three.
GROUPS = ["X25519", "prime256v1", "secp384r1"]
GROUPS_OTHER = ["X448", "secp521r1", "ffdhe2048", "ffdhe3072"]
PROFILES = {
    "modern": {"versions": {"TLSv1.3"}, "ciphers": set()},
    "intermediate": {"versions": {"TLSv1.2", "TLSv1.3"}, "ciphers": set(ECDHE_AEAD)},
    "old": {"versions": {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}, "ciphers": set(ECDHE_AEAD + OLD_EXTRA)},
}
VERSION_FLAG = {"TLSv1": "-tls1", "TLSv1.1": "-tls1_1", "TLSv1.2": "-tls1_2", "TLSv1.3": "-tls1_3"}


def client_ciphers():
    """The TLS 1.2 ciphers this machine's openssl can offer at all (Debian's 3.0 has no 3DES)."""
    out = sh(["openssl", "ciphers", "ALL:@SECLEVEL=0"]).stdout.strip()
    return set(out.split(":"))


class Scanner:
    def __init__(self, ca, keytype):
        self.ca, self.keytype = ca, keytype
        self.offerable = client_ciphers()

    def handshake(self, target, sni, starttls, version, cipher=None, suite=None, xmpphost=None, group=None):
        argv = ["openssl", "s_client", "-connect", target, VERSION_FLAG[version], "-CAfile", self.ca]
        if group:
            argv += ["-groups", group]
        argv += ["-servername", sni, "-verify_return_error", "-verify_hostname", sni] if sni else ["-noservername"]
        if starttls:
            argv += ["-starttls", starttls, "-xmpphost", xmpphost or sni]
        # OpenSSL 3 clients refuse TLS < 1.2 and legacy ciphers at security level 1 or above.
        if version in ("TLSv1", "TLSv1.1") or cipher:
            argv += ["-cipher", (cipher or "DEFAULT") + ":@SECLEVEL=0"]
        if suite:
            argv += ["-ciphersuites", suite]
        try:
            run = subprocess.run(argv, input="Q\n", capture_output=True, text=True, timeout=8)
        except subprocess.TimeoutExpired:
            return False, "timeout"
        m = re.search(r"Protocol\s*:\s*(\S+)\s*\n\s*Cipher\s*:\s*(\S+)", run.stdout) or \
            re.search(r"New, (\S+), Cipher is (\S+)", run.stdout)
        ok = m is not None and m.group(2) not in ("0000", "(NONE)")
        return ok, (m.group(2) if ok else ((run.stderr.strip().splitlines() or ["?"])[-1][:100]))

    def scan(self, target, sni, starttls=None, xmpphost=None, versions_only=False, groups=False):
        jobs = [("version", v, None, None, None) for v in VERSION_FLAG]
        if not versions_only:
            jobs += [("cipher", "TLSv1.2", c, None, None) for c in ECDHE_AEAD + DHE + OLD_EXTRA if c in self.offerable]
            jobs += [("suite", "TLSv1.3", None, s, None) for s in TLS13 + TLS13_OTHER]
        if groups:
            jobs += [("group", "TLSv1.3", None, None, g) for g in GROUPS + GROUPS_OTHER]
        with ThreadPoolExecutor(6) as pool:
            done = list(pool.map(lambda j: (j, self.handshake(target, sni, starttls, j[1], j[2], j[3], xmpphost, j[4])),
                                 jobs))
        got = {
            "versions": {j[1] for j, (ok, _) in done if j[0] == "version" and ok},
            "ciphers": {j[2] for j, (ok, _) in done if j[0] == "cipher" and ok},
            "suites": {j[3] for j, (ok, _) in done if j[0] == "suite" and ok},
        }
        if groups:
            got["groups"] = {j[4] for j, (ok, _) in done if j[0] == "group" and ok}
        return got

    def expected(self, profile):
        p = PROFILES[profile]
        # A certificate of one key type negotiates only that half of the list (ECDSA, or RSA).
        usable = {c for c in p["ciphers"] if c in self.offerable and ("ECDSA" in c) == (self.keytype == "ec")}
        return {"versions": p["versions"], "ciphers": usable, "suites": set(TLS13), "groups": set(GROUPS)}

    def judge(self, check, label, profile, got):
        want = self.expected(profile)
        diff = []
        for part in got:
            extra, missing = sorted(got[part] - want[part]), sorted(want[part] - got[part])
            if extra or missing:
                diff.append(f"{part}: extra {extra or 'none'}, missing {missing or 'none'}")
        untestable = sorted(c for c in PROFILES[profile]["ciphers"] if c not in self.offerable)
        verdict(check, not diff,
                f"{label}: Mozilla {profile!r} expected ({self.keytype.upper()} certificate); accepts "
                f"{sorted(got['versions'])}, {len(got['ciphers'])} TLS 1.2 ciphers, TLS 1.3 suites "
                f"{sorted(got['suites'])}" + (f", groups {sorted(got['groups'])}" if "groups" in got else "")
                + (f"; differs: {'; '.join(diff)}" if diff else "; matches")
                + (f" (this openssl cannot offer {untestable})" if untestable else ""))


@guarded("tls")
def check(plan, ca, http):
    glob = plan["prosody"]["*"]
    profile = glob.get("tls_profile", "intermediate")
    scanner = Scanner(ca, plan["keytype"])
    domain = plan["domain"]
    if profile not in PROFILES:
        result("tls.profile", "FAIL", f"tls_profile {profile!r} is not a Mozilla profile")
        return
    c2s = scanner.scan("127.0.0.1:5222", domain, "xmpp", domain, groups=True)
    scanner.judge(f"tls[c2s {domain}:5222]", "c2s STARTTLS", profile, c2s)
    if plan["federating"]:
        s2s = scanner.scan("127.0.0.1:5269", domain, "xmpp-server", domain)
        scanner.judge(f"tls[s2s {domain}:5269]", "s2s STARTTLS", profile, s2s)
    else:
        verdict("s2s.port_closed", not wait_port("127.0.0.1", 5269, 0.5), "federation off: port 5269 closed")
    for port in as_list(glob.get("https_ports"), [5281]):
        if wait_port("127.0.0.1", port, 0.3):
            upload = next((h for h, m in plan["components"].items() if m == "http_file_share"), domain)
            got = scanner.scan(f"127.0.0.1:{port}", upload)
            scanner.judge(f"tls[prosody https {upload}:{port}]", "Prosody HTTPS", profile, got)
    nginx = {}
    for server in http.https_servers():
        for name in server["server_name"]:
            if name not in nginx:
                nginx[name] = scanner.scan("127.0.0.1:443", name)
                scanner.judge(f"tls[nginx {name}:443]", "nginx", profile, nginx[name])
    # One key (tls_profile) drives both servers: each nginx name accepts exactly what c2s does.
    differ = {}
    for name, got in nginx.items():
        for part in got:
            if got[part] != c2s[part]:
                differ.setdefault(name, []).append(f"{part} only Prosody {sorted(c2s[part] - got[part])}, "
                                                   f"only nginx {sorted(got[part] - c2s[part])}")
    verdict("tls.prosody_vs_nginx", not differ,
            f"tls_profile {profile!r}: Prosody's c2s accepts {sorted(c2s['versions'])}, {len(c2s['ciphers'])} TLS 1.2 "
            f"ciphers, {len(c2s['suites'])} TLS 1.3 suites; nginx names accepting something else: "
            + ("; ".join(f"{n}: {', '.join(d)}" for n, d in differ.items()) if differ else "none"))
    # Another site on the same nginx (the harness adds one: default_server for :443, every
    # version and cipher): a client naming a Prose site (SNI) gets that site's settings.
    other = scanner.scan("127.0.0.1:443", plan["other_site"], versions_only=True)
    weak = {"TLSv1", "TLSv1.1"} <= other["versions"]
    kept = all(g["versions"] == PROFILES[profile]["versions"] for g in nginx.values())
    verdict("tls.independent_of_other_sites", weak and kept,
            f"the other site ({plan['other_site']}, default_server) accepts {sorted(other['versions'])}"
            f"{'' if weak else ' (the scenario needs it to accept TLS 1.0 and 1.1)'}; every Prose name still accepts "
            f"exactly {sorted(PROFILES[profile]['versions'])}: {kept}")
    if nginx:
        name = next(iter(nginx))
        groups = scanner.scan("127.0.0.1:443", name, versions_only=True, groups=True)["groups"]
        result("tls.nginx_groups", "INFO",
               f"{name} accepts the key exchange groups {sorted(groups)} (its profile names {GROUPS}): nginx 1.22 "
               "takes them from the default server for :443 (here the other site), whatever the server block says "
               "(not judged: see the README)")
    no_sni = {v: scanner.handshake("127.0.0.1:443", None, None, v)[0] for v in ("TLSv1", "TLSv1.2")}
    subject = sh(["sh", "-c", "openssl s_client -connect 127.0.0.1:443 -noservername </dev/null 2>/dev/null"
                  " | openssl x509 -noout -subject"]).stdout.strip()
    result("tls.no_sni", "INFO", f"a client sending no SNI gets nginx's default server for :443 (here the other "
           f"site: {subject or 'no certificate'}; TLS 1.0 {'accepted' if no_sni['TLSv1'] else 'refused'}): its "
           "TLS settings and its certificate, which names no Prose site, so such a client cannot reach a Prose "
           "name securely whatever the profile")
