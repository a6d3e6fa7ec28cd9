#!/usr/bin/python3
"""The privacy test (issue 7).

Runs a full session flow against real serendip-server processes (two
instances sharing one redis-server, then one with the memory store): clients
with distinct client addresses (IPv4, IPv6, IPv4-mapped IPv6, claimed through
X-Forwarded-For / X-Real-IP from the trusted proxy 127.0.0.1) join with
interests, get matched, exchange realistic SDP and ICE candidates, send text
the server must never keep, skip with `next`, drop and resume (also with a
wrong and a used token), and finally three clients from three addresses
report one victim, who is banned (`banned`, close 1008) and refused at the
next connection.

Then it scans every line the servers wrote (stdout and stderr, text and
JSON log formats, --log-level debug), /metrics, and dumps of every Redis key
and value (taken while sessions are connected and after the servers
stopped) for anything that must never be kept: IP addresses in any textual
form, SDP, ICE candidates, chat text, report reasons, resume tokens, TURN
credentials and secrets. Every Redis key must have a TTL.

    privacy_test.py --tmp DIR SERVER_BINARY   the test (run.sh makes DIR)
    privacy_test.py --self-check               the scanner must flag a planted bad sample

Prints TAP-like `ok - ...` / `not ok - ...` lines; exits 1 on any failure.
Every process it starts has DIR in its command line and its pid in DIR/pids,
so run.sh's trap can end exactly those.
"""

import argparse
import asyncio
import hashlib
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.request

import websockets
import websockets.exceptions

ORIGIN = "http://privacy.test"
ADDRESS_SECRET = "privacy-test-address-secret-5b1e9c"
TURN_SECRET = "privacy-test-turn-secret-0d4f7a"
TURN_URL = "turn:turn.privacy.test:3478?transport=udp"
LISTEN = "127.0.0.1"

# Text the server must never keep, sent in every place a client can put text.
CHAT_MARKER = "PrivacyChatMarker-Hello-are-you-there-4d9e"
TYPE_MARKER = "chatmsg-PrivTypeMarker-77"
# Interests are kept (docs/privacy.md: a session's last join) while the session
# lives, so they are forbidden in logs and /metrics only.
INTEREST_MARKERS = ["privacy-interest-q7z", "privacy-interest-b4k"]
REPORT_REASONS = ["harassment", "underage", "nudity"]
WRONG_TOKEN = "WrongTokenPrivacyTst0Q"  # well-formed (22 base64url characters), unknown
MDNS_NAME = "4f1c8a2e-7b3d-4c1a-9e2f-0a1b2c3d4e5f.local"
LAN_ADDRESS = "10.0.0.2"    # raddr of the srflx candidates
RELAY_ADDRESS = "198.51.100.250"  # a TURN server's relayed address

# The clients' claimed addresses (documentation ranges).
ALICE = "203.0.113.7"                       # IPv4, X-Forwarded-For
BOB = "2001:db8:85a3::8a2e:370:7334"        # IPv6, X-Real-IP
CAROL = "::ffff:198.51.100.9"               # IPv4-mapped, X-Forwarded-For after a spoofed entry
SPOOF = "192.0.2.55"                        # leftmost X-Forwarded-For entry: not the client
FRESH = "198.51.100.200"                    # an unrelated user after the ban
VICTIM_V6 = "2001:db8:beef:7::1d"           # the reported user in the Redis run
VICTIM_V6_SIBLING = "2001:db8:beef:7:aaaa:bbbb:cccc:dddd"  # same /64
VICTIM_V4 = "192.0.2.200"                   # the reported user in the memory run
VICTIM_V4_MAPPED = "::ffff:192.0.2.200"

ALL_ADDRESSES = [ALICE, BOB, CAROL, SPOOF, FRESH, VICTIM_V6, VICTIM_V6_SIBLING, VICTIM_V4,
                 VICTIM_V4_MAPPED, LAN_ADDRESS, RELAY_ADDRESS]  # 0.0.0.0 (in the SDP): the generic IPv4 rule


# ---------------------------------------------------------------------------
# Results

class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, desc, details=()):
        if cond:
            self.passed += 1
            print(f"ok - {desc}", flush=True)
        else:
            self.failed += 1
            print(f"not ok - {desc}", flush=True)
            for d in details:
                print(f"#   {d}", flush=True)
        return cond

    def note(self, text):
        print(f"# {text}", flush=True)


class FlowError(Exception):
    pass


# ---------------------------------------------------------------------------
# What must never be kept, and the scanner

def address_forms(text):
    """Every plausible textual form of one address (lower case; matched case-insensitively)."""
    ip = ipaddress.ip_address(text)
    forms = {text.lower()}
    v4 = None
    if ip.version == 6:
        forms |= {ip.compressed, ip.exploded, ip.exploded.replace(":", ""), ip.reverse_pointer}
        if ip.ipv4_mapped is not None:
            v4 = ip.ipv4_mapped
            forms.add(f"::ffff:{v4}")
            forms.add(f"0:0:0:0:0:ffff:{v4}")
        else:
            groups = ip.exploded.split(":")[:4]
            net = ipaddress.ip_network(f"{ip}/64", strict=False)
            forms |= {
                str(net),                                    # 2001:db8:85a3::/64
                net.network_address.compressed,              # 2001:db8:85a3::
                ":".join(groups),                            # 2001:0db8:85a3:0000
                ":".join(g.lstrip("0") or "0" for g in groups) + ":",  # 2001:db8:85a3:0:
                "".join(groups),                             # 20010db885a30000
            }
    else:
        v4 = ip
    if v4 is not None:
        octets = str(v4).split(".")
        forms |= {
            str(v4),
            ".".join(f"{int(o):03d}" for o in octets),       # 203.000.113.007
            ".".join(reversed(octets)),                      # 7.113.0.203 (in-addr.arpa)
            v4.packed.hex(),                                 # cb007107
            v4.packed[::-1].hex(),                           # little-endian
            f"::ffff:{v4.packed[:2].hex()}:{v4.packed[2:].hex()}",
            ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + v4.packed).exploded,
        }
    return forms


def unkeyed_hashes(text):
    """MD5, SHA-1 and SHA-256 of an address's usual byte forms, hex."""
    ip = ipaddress.ip_address(text)
    v4 = ip if ip.version == 4 else ip.ipv4_mapped
    inputs = {text.encode(), ip.packed, str(ip).encode()}
    if v4 is not None:
        inputs |= {str(v4).encode(), v4.packed, b"4" + v4.packed}
    else:
        inputs |= {ip.packed[:8], b"6" + ip.packed[:8]}
    return {hashlib.new(alg, data).hexdigest() for alg in ("md5", "sha1", "sha256") for data in inputs}


class Rule:
    def __init__(self, label, pattern, scopes, flags=re.IGNORECASE):
        self.label = label
        self.regex = re.compile(pattern, flags)
        self.scopes = scopes


ALL_SCOPES = frozenset({"log", "redis", "metrics"})
NOT_REDIS = frozenset({"log", "metrics"})

IPV4_RE = re.compile(r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])")
# Runs that could be an IPv6 address; each is then parsed.
IPV6_RUN_RE = re.compile(r"[0-9A-Za-z:.%]*:[0-9A-Za-z:.%]*:[0-9A-Za-z:.%]*")
ALLOWED_IPV4 = {LISTEN}


def generic_addresses(text):
    """Any IPv4 (other than the listen address) or IPv6 address in text."""
    found = []
    for m in IPV4_RE.finditer(text):
        s = m.group(0)
        if all(int(o) <= 255 for o in s.split(".")) and s not in ALLOWED_IPV4:
            found.append(("an IPv4 address", s))
    for m in IPV6_RUN_RE.finditer(text):
        run = m.group(0)
        # Drop what a log line or URL may glue to an address: a port, a zone, dots.
        candidates = [run, run.strip("."), run.split("%")[0]]
        if run.count(":") >= 2:
            candidates.append(run.rsplit(":", 1)[0])  # addr:port written without brackets
        for c in candidates:
            if c in ("", "::"):
                continue
            try:
                ipaddress.IPv6Address(c)
            except ValueError:
                continue
            found.append(("an IPv6 address", c))
            break
    return found


class Forbidden:
    def __init__(self):
        self.rules = []
        self.secrets = {}   # value -> what it is, filled as the flow runs: tokens, TURN credentials

    def literal(self, label, text, scopes=ALL_SCOPES, word=False):
        p = re.escape(text)
        if word:
            p = rf"(?<![0-9A-Za-z]){p}(?![0-9A-Za-z])"
        self.rules.append(Rule(label, p, scopes))

    def pattern(self, label, p, scopes=ALL_SCOPES, flags=re.IGNORECASE):
        self.rules.append(Rule(label, p, scopes, flags))

    def scan(self, items, scope):
        """items: (where, text). Returns a list of (where, label, excerpt)."""
        findings = []
        secret_rules = [Rule(what, re.escape(s), ALL_SCOPES, 0) for s, what in sorted(self.secrets.items())]
        for where, text in items:
            for rule in self.rules + secret_rules:
                if scope not in rule.scopes:
                    continue
                m = rule.regex.search(text)
                if m:
                    findings.append((where, rule.label, excerpt(text, m.start(), m.end())))
            for label, s in generic_addresses(text):
                findings.append((where, label, s))
        return findings


def excerpt(text, a, b):
    lo, hi = max(0, a - 40), min(len(text), b + 40)
    return ("..." if lo else "") + text[lo:hi].replace("\n", "\\n") + ("..." if hi < len(text) else "")


def standard_forbidden():
    f = Forbidden()
    for a in ALL_ADDRESSES:
        for form in sorted(address_forms(a)):
            # Short hex forms could sit inside a longer hex string only by a
            # 1 in 2^32 chance; the decimal forms need digit boundaries.
            f.literal(f"address {a} as {form!r}", form)
        ip = ipaddress.ip_address(a)
        v4 = ip if ip.version == 4 else ip.ipv4_mapped
        if v4 is not None:
            f.pattern(f"address {a} as the integer {int(v4)}", rf"(?<![0-9]){int(v4)}(?![0-9])")
        # A hash without a key can be reversed by trying every address.
        for digest in unkeyed_hashes(a):
            f.literal(f"address {a} hashed without a key", digest[:32])
    # SDP
    f.pattern("SDP version line (v=0)", r"(?<![A-Za-z0-9_])v=0(?![0-9])")
    f.pattern("SDP origin line", r"o=- [0-9]{6,}")
    f.literal("SDP session id", "4611731400430051336")
    f.pattern("SDP connection data (IN IP4/IP6)", r"IN IP[46]")
    f.literal("SDP ice-ufrag attribute", "ice-ufrag")
    f.literal("SDP ice-pwd attribute", "ice-pwd")
    f.literal("SDP fingerprint attribute", "fingerprint:sha-256")
    f.pattern("SDP media line", r"(?<![A-Za-z0-9_])m=(audio|video|application) ")
    for c in CLIENT_CREDENTIALS.values():
        f.literal("ICE ufrag value", c["ufrag"], word=True)
        f.literal("ICE pwd value", c["pwd"])
        f.literal("DTLS fingerprint value", c["fingerprint"])
        f.literal("DTLS fingerprint value (no colons)", c["fingerprint"].replace(":", ""))
    # ICE candidates
    f.pattern("ICE candidate type", r"typ (host|srflx|prflx|relay)")
    f.literal("ICE candidate prefix", "candidate:")
    f.pattern("ICE candidate raddr/rport", r"\b(raddr|rport|tcptype|network-cost)\b")
    for foundation in FOUNDATIONS:
        f.literal(f"ICE candidate foundation {foundation}", foundation, word=True)
    for priority in PRIORITIES:
        f.literal(f"ICE candidate priority {priority}", priority, word=True)
    f.literal("mDNS candidate name", MDNS_NAME)
    f.pattern("an mDNS .local name", r"[0-9a-z-]\.local\b")
    # Chat text and other things a client wrote
    f.literal("chat marker text", CHAT_MARKER)
    f.literal("chat marker (first word)", CHAT_MARKER.split("-")[0])
    f.literal("unknown message type marker", TYPE_MARKER)
    for interest in INTEREST_MARKERS:
        f.literal(f"interest {interest}", interest, NOT_REDIS)
    for reason in REPORT_REASONS:
        f.literal(f"report reason {reason}", reason)
    f.literal("the wrong resume token a client tried", WRONG_TOKEN)
    # Secrets the server was given
    f.literal("the address secret", ADDRESS_SECRET)
    f.literal("the TURN secret", TURN_SECRET)
    return f


# Per client: ICE credentials and a DTLS fingerprint, all recognisable.
CLIENT_CREDENTIALS = {
    "alice": {"ufrag": "PvAl", "pwd": "PrivAlicePwd0aQ7vXk2Lm9Zc3Rt", "sid": "4611731400430051336",
              "fingerprint": "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:91"},
    "bob": {"ufrag": "PvBo", "pwd": "PrivBobPwd0bR8wYl3Mn0Ad4Su", "sid": "4611731400430051336",
            "fingerprint": "B1:C2:D3:E4:F5:06:17:28:39:4A:5B:6C:7D:8E:9F:A0:B1:C2:D3:E4:F5:06:17:28:39:4A:5B:6C:7D:8E:9F:A2"},
    "carol": {"ufrag": "PvCa", "pwd": "PrivCarolPwd0cS9xZm4No1Be5Tv", "sid": "4611731400430051336",
              "fingerprint": "C1:D2:E3:F4:05:16:27:38:49:5A:6B:7C:8D:9E:AF:B0:C1:D2:E3:F4:05:16:27:38:49:5A:6B:7C:8D:9E:AF:B3"},
    "victim": {"ufrag": "PvVi", "pwd": "PrivVictimPwd0dT0yAn5Op2Cf6Uw", "sid": "4611731400430051336",
               "fingerprint": "D1:E2:F3:04:15:26:37:48:59:6A:7B:8C:9D:AE:BF:C0:D1:E2:F3:04:15:26:37:48:59:6A:7B:8C:9D:AE:BF:C4"},
}
FOUNDATIONS = ["842163049", "1467250027", "3010307402", "1876313031", "2999745851"]
PRIORITIES = ["1677729535", "2122262783", "2113937151", "41885439", "1518283007"]


def sdp(kind, who, address):
    c = CLIENT_CREDENTIALS[who]
    ip = ipaddress.ip_address(address)
    v4 = ip if ip.version == 4 else ip.ipv4_mapped
    fam, shown = ("IP4", str(v4)) if v4 is not None else ("IP6", str(ip))
    setup = "actpass" if kind == "offer" else "active"
    lines = [
        "v=0",
        f"o=- {c['sid']} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1 2",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS 3c9a6f1e-privacy",
        "m=audio 46154 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
        f"c=IN {fam} {shown}",
        "a=rtcp:9 IN IP4 0.0.0.0",
        f"a=candidate:842163049 1 udp 1677729535 {shown} 46154 typ srflx raddr {LAN_ADDRESS} rport 46154 generation 0 network-cost 999",
        f"a=candidate:3010307402 1 udp 2113937151 {MDNS_NAME} 52001 typ host generation 0 network-cost 999",
        f"a=ice-ufrag:{c['ufrag']}",
        f"a=ice-pwd:{c['pwd']}",
        "a=ice-options:trickle",
        f"a=fingerprint:sha-256 {c['fingerprint']}",
        f"a=setup:{setup}",
        "a=mid:0",
        "a=sendrecv",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "c=IN IP4 0.0.0.0",
        f"a=ice-ufrag:{c['ufrag']}",
        f"a=ice-pwd:{c['pwd']}",
        f"a=fingerprint:sha-256 {c['fingerprint']}",
        f"a=setup:{setup}",
        "a=mid:1",
        "a=sendrecv",
        "a=rtpmap:96 VP8/90000",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=mid:2",
        "a=sctp-port:5000",
    ]
    return "\r\n".join(lines) + "\r\n"


def candidates(who, address):
    """RTCIceCandidateInit dicts: srflx with the client's address, host IPv6, mDNS, relay, end."""
    c = CLIENT_CREDENTIALS[who]
    ip = ipaddress.ip_address(address)
    v4 = ip if ip.version == 4 else ip.ipv4_mapped
    shown = str(v4) if v4 is not None else str(ip)
    v6 = str(ip) if ip.version == 6 and v4 is None else "2001:db8:85a3::8a2e:370:7334"
    u = c["ufrag"]
    lines = [
        f"candidate:842163049 1 udp 1677729535 {shown} 46154 typ srflx raddr {LAN_ADDRESS} rport 46154 generation 0 ufrag {u} network-id 1 network-cost 10",
        f"candidate:1467250027 1 udp 2122262783 {v6} 54321 typ host generation 0 ufrag {u} network-id 2",
        f"candidate:3010307402 1 udp 2113937151 {MDNS_NAME} 52001 typ host generation 0 ufrag {u} network-cost 999",
        f"candidate:2999745851 1 tcp 1518283007 {shown} 9 typ host tcptype active generation 0 ufrag {u} network-id 1",
        f"candidate:1876313031 1 udp 41885439 {RELAY_ADDRESS} 61010 typ relay raddr {shown} rport 46154 generation 0 ufrag {u} network-cost 999",
    ]
    out = [{"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": u} for line in lines]
    out.append({"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": u})
    return out


# ---------------------------------------------------------------------------
# Processes

class Processes:
    def __init__(self, tmp):
        self.tmp = tmp
        self.pidfile = os.path.join(tmp, "pids")
        self.running = []

    def start(self, name, args, cwd=None):
        out = open(os.path.join(self.tmp, f"{name}.stdout"), "wb")
        err = open(os.path.join(self.tmp, f"{name}.stderr"), "wb")
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd or self.tmp)
        out.close()
        err.close()
        with open(self.pidfile, "a") as f:
            f.write(f"{p.pid}\n")
        self.running.append(p)
        return p

    def stop(self, p, timeout=10.0):
        """SIGTERM, wait; SIGKILL if it hangs. Returns (exit code, cleanly)."""
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                return p.returncode, False
        return p.returncode, True

    def stop_all(self):
        for p in reversed(self.running):
            if p.poll() is None:
                self.stop(p, 5)


def free_port():
    with socket.socket() as s:
        s.bind((LISTEN, 0))
        return s.getsockname()[1]


class Resp:
    """A minimal RESP2 client (binary-safe, no quoting questions)."""

    def __init__(self, port):
        self.sock = socket.create_connection((LISTEN, port), timeout=5)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(f"redis error: {rest.decode(errors='replace')}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError(f"unexpected RESP reply {line!r}")

    def cmd(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(parts))
        return self._reply()


def start_redis(procs):
    for _ in range(5):
        port = free_port()
        p = procs.start(f"redis-{port}", ["/usr/bin/redis-server", "--port", str(port), "--bind", LISTEN,
                                          "--save", "", "--appendonly", "no", "--dir", procs.tmp,
                                          "--protected-mode", "yes"])
        deadline = time.time() + 5
        while time.time() < deadline and p.poll() is None:
            try:
                r = Resp(port)
                if r.cmd("PING") == "PONG":
                    return p, port, r
                r.close()
            except OSError:
                time.sleep(0.05)
        procs.stop(p, 2)
    raise FlowError("redis-server did not start")


def dump_redis(r):
    """[(key, type, pttl, [(label, bytes)])] for every key."""
    out = []
    for key in sorted(r.cmd("KEYS", "*") or []):
        kind = r.cmd("TYPE", key)
        pttl = r.cmd("PTTL", key)
        if kind == "string":
            v = r.cmd("GET", key)
            items = [("value", v)] if v is not None else []
        elif kind == "hash":
            flat = r.cmd("HGETALL", key) or []
            items = []
            for i in range(0, len(flat), 2):
                items.append(("field name", flat[i]))
                items.append((f"field {flat[i].decode(errors='backslashreplace')}", flat[i + 1]))
        elif kind == "zset":
            flat = r.cmd("ZRANGE", key, 0, -1, "WITHSCORES") or []
            items = []
            for i in range(0, len(flat), 2):
                items.append(("member", flat[i]))
                items.append(("score", flat[i + 1]))
        elif kind == "set":
            items = [("member", m) for m in r.cmd("SMEMBERS", key) or []]
        elif kind == "list":
            items = [(f"item {i}", m) for i, m in enumerate(r.cmd("LRANGE", key, 0, -1) or [])]
        elif kind == "stream":
            items = [("entry", repr(e).encode()) for e in r.cmd("XRANGE", key, "-", "+") or []]
        elif kind == "none":
            continue  # expired between KEYS and TYPE
        else:
            items = [("unknown type", kind.encode())]
        out.append((key, kind, pttl, items))
    return out


def redis_items(dump):
    for key, kind, _, items in dump:
        k = key.decode(errors="backslashreplace")
        yield f"redis key name {k!r}", k
        for label, v in items:
            yield f"redis {kind} {k!r} {label}", v.decode(errors="backslashreplace")


def key_kinds(dump):
    """How many keys of each prefix (sd:s, sd:t, ...): shows what was there."""
    counts = {}
    for key, _, _, _ in dump:
        k = key.decode(errors="backslashreplace")
        prefix = ":".join(k.split(":")[:2]) if k.count(":") >= 2 else k
        counts[prefix] = counts.get(prefix, 0) + 1
    return ", ".join(f"{p} {n}" for p, n in sorted(counts.items()))


def keys_without_ttl(dump):
    return [(k.decode(errors="backslashreplace"), pttl) for k, _, pttl, _ in dump if pttl == -1]


# ---------------------------------------------------------------------------
# Servers

def server_args(binary, tmp, name, store, extra=()):
    return [binary, "--listen", LISTEN, "--port", "0", "--port-file", os.path.join(tmp, f"{name}.port"),
            "--threads", "1", "--log-level", "debug", "--store", store,
            "--trusted-proxy", LISTEN, "--address-secret", ADDRESS_SECRET, "--allowed-origins", ORIGIN,
            "--max-per-address", "50", "--new-per-minute", "600",
            "--turn-urls", TURN_URL, "--turn-secret", TURN_SECRET, *extra]


class Server:
    def __init__(self, procs, binary, name, store, extra=()):
        self.name = name
        self.procs = procs
        self.portfile = os.path.join(procs.tmp, f"{name}.port")
        self.proc = procs.start(name, server_args(binary, procs.tmp, name, store, extra))
        self.port = None
        self.logs = [os.path.join(procs.tmp, f"{name}.stdout"), os.path.join(procs.tmp, f"{name}.stderr")]

    def wait_ready(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise FlowError(f"{self.name} exited with {self.proc.returncode}: {tail(self.logs[1])}")
            try:
                with open(self.portfile) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    with urllib.request.urlopen(f"http://{LISTEN}:{self.port}/readyz", timeout=2) as resp:
                        if resp.status == 200:
                            return
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise FlowError(f"{self.name} not ready within {timeout}s: {tail(self.logs[1])}")

    def metrics(self):
        with urllib.request.urlopen(f"http://{LISTEN}:{self.port}/metrics", timeout=5) as resp:
            return resp.read().decode(errors="backslashreplace")

    def stop(self):
        return self.procs.stop(self.proc)


def tail(path, n=5):
    try:
        with open(path, errors="backslashreplace") as f:
            return " | ".join(f.read().splitlines()[-n:])
    except OSError:
        return "(no output)"


# ---------------------------------------------------------------------------
# Clients

class Client:
    def __init__(self, flow, name, server, address, header="xff", resume=None):
        self.flow = flow
        self.name = name
        self.server = server
        self.address = address
        self.header = header
        self.resume = resume
        self.ws = None
        self.queue = asyncio.Queue()
        self.reader = None
        self.welcome = None

    async def open(self, expect_welcome=True):
        uri = f"ws://{LISTEN}:{self.server.port}/ws"
        if self.resume is not None:
            uri += f"?resume={self.resume}"
        if self.header == "xff":
            headers = {"X-Forwarded-For": self.address}
        elif self.header == "xff-spoofed":
            headers = {"X-Forwarded-For": f"{SPOOF}, {self.address}"}
        else:
            headers = {"X-Real-IP": self.address}
        self.ws = await websockets.connect(uri, origin=ORIGIN, extra_headers=headers, open_timeout=5,
                                           ping_interval=None, close_timeout=3, max_size=2 ** 20)
        self.reader = asyncio.create_task(self._read())
        self.flow.clients.append(self)
        if expect_welcome:
            w = await self.expect("welcome")
            if not (w.get("v") == 1 and isinstance(w.get("session"), str) and isinstance(w.get("resume"), str)
                    and isinstance(w.get("online"), int) and isinstance(w.get("iceServers"), list)):
                raise FlowError(f"{self.name}: malformed welcome {w}")
            self.welcome = w
        return self

    async def _read(self):
        try:
            async for text in self.ws:
                msg = json.loads(text)
                self.flow.record(msg)
                if msg.get("type") != "online":
                    await self.queue.put(msg)
        except websockets.exceptions.ConnectionClosed:
            pass
        except Exception as e:  # noqa: BLE001 - surfaces as a flow failure
            await self.queue.put({"type": "__reader_error__", "error": repr(e)})
        await self.queue.put(None)

    async def next(self, timeout=4.0):
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            raise FlowError(f"{self.name}: nothing received within {timeout}s") from None

    async def expect(self, kind, timeout=4.0, skip=()):
        while True:
            m = await self.next(timeout)
            if m is None:
                raise FlowError(f"{self.name}: connection closed (code {self.ws.close_code}) while expecting {kind}")
            if m.get("type") == kind:
                return m
            if m.get("type") in skip:
                continue
            raise FlowError(f"{self.name}: expected {kind}, got {json.dumps(m)[:300]}")

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))

    async def send_raw(self, text):
        await self.ws.send(text)

    async def closed(self, timeout=4.0):
        """Waits for the end of the stream; returns (messages after now, close code)."""
        rest = []
        while True:
            m = await self.next(timeout)
            if m is None:
                return rest, self.ws.close_code
            rest.append(m)

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.wait_for(self.reader, 5)


class Flow:
    """One run of the session flow against a set of server instances."""

    def __init__(self, results, forbidden, servers, redis, victim, victim_alias):
        self.results = results
        self.forbidden = forbidden
        self.servers = servers
        self.redis = redis
        self.victim = victim
        self.victim_alias = victim_alias
        self.clients = []
        self.run_name = "redis" if redis else "memory"
        self.snapshots = []

    def srv(self, i):
        return self.servers[i % len(self.servers)]

    def record(self, msg):
        """Collects every secret the server handed out."""
        if msg.get("type") == "welcome" and isinstance(msg.get("resume"), str):
            self.forbidden.secrets[msg["resume"]] = "a resume token the server issued"
        for s in msg.get("iceServers") or []:
            for field in ("username", "credential"):
                v = s.get(field)
                if isinstance(v, str):
                    self.forbidden.secrets[v] = f"a TURN {field} the server issued"
                    if field == "username" and ":" in v:
                        self.forbidden.secrets[v.split(":", 1)[1]] = "a TURN pseudonym the server issued"

    def check(self, cond, desc, details=()):
        return self.results.check(cond, f"{self.run_name}: {desc}", details)

    async def phase(self, name, coro):
        try:
            await coro
            return True
        except (FlowError, websockets.exceptions.WebSocketException, OSError, asyncio.TimeoutError) as e:
            self.check(False, f"{name}: completed", [str(e)])
            return False

    async def until_dropped(self, session):
        """Until the store knows the session's connection is gone (so that
        what its partner sends now is held, not sent to the closed one)."""
        if not self.redis:
            await asyncio.sleep(0.5)  # the memory store learns it at the close
            return
        deadline = time.time() + 5
        while time.time() < deadline:
            if self.redis.cmd("HGET", f"sd:s:{session}", "c") == b"0":
                return
            await asyncio.sleep(0.05)
        raise FlowError(f"Redis never marked session {session} disconnected (sd:s:{session} field c)")

    # -- snapshots of Redis ------------------------------------------------

    def snapshot(self, when, scan=True):
        if not self.redis:
            return
        dump = dump_redis(self.redis)
        self.results.note(f"{self.run_name}: Redis {when}: {len(dump)} keys ({key_kinds(dump)}), "
                          f"{sum(len(i) for _, _, _, i in dump)} values")
        self.check(len(dump) > 0, f"Redis {when}: the dump is not empty")
        missing = keys_without_ttl(dump)
        self.check(not missing, f"Redis {when}: every key has a TTL",
                   [f"key {k!r} has no TTL (PTTL {p})" for k, p in missing])
        if scan:
            self.snapshots.append((when, dump))

    # -- the flow -----------------------------------------------------------

    async def run(self):
        ok = await self.phase("signalling", self.signalling())
        if ok:
            ok = await self.phase("next", self.next_and_rematch())
        if ok:
            await self.phase("drop and resume", self.resume())
        await self.phase("reports and ban", self.ban())

    async def relay(self, sender, receiver, data, desc):
        await sender.send({"type": "signal", "data": data})
        got = await receiver.expect("signal")
        if got.get("data") != data:
            raise FlowError(f"{desc}: relayed {json.dumps(got)[:300]}, sent {json.dumps(data)[:300]}")

    async def pair(self, a, b, a_join, b_join):
        """a joins first (so is the offerer), then b; both must be matched."""
        await a.send(a_join)
        await a.expect("queued")
        await b.send(b_join)
        mb = await b.expect("matched", skip=("queued",))
        ma = await a.expect("matched")
        if ma.get("role") != "offerer" or mb.get("role") != "answerer":
            raise FlowError(f"roles {ma.get('role')}/{mb.get('role')}: the longer-waiting side must offer")
        return ma, mb

    async def exchange(self, offerer, answerer, who_o, who_a):
        await self.relay(offerer, answerer, {"description": {"type": "offer", "sdp": sdp("offer", who_o, offerer.address)}},
                         "offer")
        await self.relay(answerer, offerer, {"description": {"type": "answer", "sdp": sdp("answer", who_a, answerer.address)}},
                         "answer")
        for c in candidates(who_o, offerer.address):
            await self.relay(offerer, answerer, {"candidate": c}, "candidate")
        for c in candidates(who_a, answerer.address):
            await self.relay(answerer, offerer, {"candidate": c}, "candidate")

    async def signalling(self):
        self.alice = await Client(self, "alice", self.srv(0), ALICE, "xff").open()
        self.bob = await Client(self, "bob", self.srv(1), BOB, "real-ip").open()
        ma, mb = await self.pair(
            self.alice, self.bob,
            {"type": "join", "mode": "video", "interests": ["Hiking", INTEREST_MARKERS[0]]},
            {"type": "join", "mode": "video", "interests": [" hiking ", INTEREST_MARKERS[1]], "fallback": True})
        across = " across the two instances" if len(self.servers) > 1 else ""
        self.check(ma.get("common") == ["hiking"] and mb.get("common") == ["hiking"],
                   f"alice and bob matched{across} on their common interest",
                   [f"common {ma.get('common')} / {mb.get('common')}"])
        await self.exchange(self.alice, self.bob, "alice", "bob")
        self.check(True, "offer, answer and 12 ICE candidates relayed exactly")

        # Text the server must not keep, in every place a client can put it.
        a, b = self.alice, self.bob
        await a.send({"type": "chat", "text": CHAT_MARKER})
        e = await a.expect("error")
        self.check(e.get("code") == "unknown_type" and e.get("ref") == "chat", "chat text as an unknown type: unknown_type",
                   [json.dumps(e)])
        await a.send({"type": TYPE_MARKER, "text": CHAT_MARKER})
        e = await a.expect("error")
        self.check(e.get("code") == "unknown_type", "an unknown type carrying chat text: unknown_type", [json.dumps(e)])
        await b.send_raw('{"type":"chat","text":"' + CHAT_MARKER + '"')
        e = await b.expect("error")
        self.check(e.get("code") == "bad_json", "chat text in broken JSON: bad_json", [json.dumps(e)])
        cand = candidates("bob", BOB)[0]
        await b.send({"type": "signal", "data": {"candidate": cand, "text": CHAT_MARKER}, "text": CHAT_MARKER})
        got = await a.expect("signal")
        self.check(got.get("data") == {"candidate": cand}, "chat text beside a signal is dropped, the signal relayed",
                   [json.dumps(got)[:300]])
        await b.send({"type": "signal", "data": {"candidate": {**cand, "sdpMLineIndex": CHAT_MARKER}}})
        e = await b.expect("error")
        self.check(e.get("code") == "bad_message", "a signal with chat text for an index: bad_message", [json.dumps(e)])
        await a.send({"type": "report", "reason": CHAT_MARKER})
        e = await a.expect("error")
        self.check(e.get("code") == "bad_message" and e.get("ref") == "report",
                   "a report with chat text for a reason: bad_message", [json.dumps(e)])
        await a.send({"type": "face", "present": True, "note": CHAT_MARKER})
        await a.send({"type": "signal", "data": {"description": {"type": "offer", "sdp": sdp("offer", "alice", ALICE)}}})
        got = await b.expect("signal")
        self.check(got.get("data", {}).get("description", {}).get("type") == "offer",
                   "the pair still works after the refused messages")
        self.snapshot("while alice and bob are paired and connected")

    async def next_and_rematch(self):
        a, b = self.alice, self.bob
        await b.send({"type": "next"})
        q = await b.expect("queued")
        left = await a.expect("peer_left")
        self.check(left.get("reason") == "next" and q.get("mode") == "video", "next: bob re-queued, alice told peer_left next",
                   [json.dumps(left), json.dumps(q)])
        self.carol = await Client(self, "carol", self.srv(0), CAROL, "xff-spoofed").open()
        c = self.carol
        await c.send({"type": "join", "mode": "video", "interests": ["hiking", "chess"]})
        mc = await c.expect("matched", skip=("queued",))
        mb = await b.expect("matched")
        self.check(mb.get("role") == "offerer" and mc.get("role") == "answerer",
                   "carol (IPv4-mapped, behind a spoofed X-Forwarded-For entry) matched with the waiting bob",
                   [json.dumps(mb)[:200], json.dumps(mc)[:200]])
        await self.exchange(b, c, "bob", "carol")
        await a.send({"type": "leave"})

    async def resume(self):
        b, c = self.bob, self.carol
        session, token = c.welcome["session"], c.welcome["resume"]
        await c.close()
        await self.until_dropped(session)
        held = [{"candidate": x} for x in candidates("bob", BOB)[:3]]
        held.insert(0, {"description": {"type": "offer", "sdp": sdp("offer", "bob", BOB)}})
        for d in held:
            await b.send({"type": "signal", "data": d})
        await asyncio.sleep(0.5)
        self.snapshot("while signals are held for the dropped carol (TTL only: held signals are documented)",
                      scan=False)

        wrong = Client(self, "carol-wrong-token", self.srv(1), CAROL, "xff", resume=WRONG_TOKEN)
        await wrong.open()
        e = await wrong.expect("error")
        self.check(wrong.welcome["session"] != session and e.get("code") == "resume_failed",
                   "resume with a wrong token: a fresh session and resume_failed", [json.dumps(e)])
        await wrong.close()

        again = Client(self, "carol-resumed", self.srv(1), CAROL, "xff", resume=token)
        await again.open()
        where = "on the other instance" if len(self.servers) > 1 else "on a new connection"
        self.check(again.welcome["session"] == session and again.welcome["resume"] != token,
                   f"resume {where}: the same session, a new token",
                   [f"session {again.welcome['session']} (was {session})"])
        got = [(await again.expect("signal")).get("data") for _ in held]
        self.check(got == held, "the signals bob sent meanwhile arrive in order after the resume",
                   [json.dumps(got)[:300]])
        self.carol = c = again

        used = Client(self, "carol-used-token", self.srv(0), CAROL, "xff", resume=token)
        await used.open()
        e = await used.expect("error")
        self.check(used.welcome["session"] != session and e.get("code") == "resume_failed",
                   "resume with a used token: a fresh session and resume_failed", [json.dumps(e)])
        await used.close()

        await self.relay(c, b, {"candidate": candidates("carol", CAROL)[0]}, "after resume")
        self.check(True, "carol's signal reaches bob after the resume")
        await asyncio.sleep(0.3)
        self.snapshot("after the resume (held signals delivered), alice, bob and carol connected")
        await c.send({"type": "leave"})
        left = await b.expect("peer_left")
        self.check(left.get("reason") == "leave", "carol leaves: bob told peer_left leave", [json.dumps(left)])

    async def ban(self):
        # The victim takes three topics; each reporter one of them, no
        # fallback: reporters never pair with one another.
        header = "real-ip" if ":" in self.victim else "xff"
        v = await Client(self, "victim", self.srv(0), self.victim, header).open()
        await v.send({"type": "join", "mode": "video", "interests": ["topic-r1", "topic-r2", "topic-r3"],
                      "fallback": False})
        await v.expect("queued")
        reporters = [("reporter-alice", ALICE, "xff"), ("reporter-bob", BOB, "real-ip"),
                     ("reporter-carol", CAROL, "xff-spoofed")]
        for i, (name, address, hdr) in enumerate(reporters):
            r = await Client(self, name, self.srv(i + 1), address, hdr).open()
            await r.send({"type": "join", "mode": "video", "interests": [f"topic-r{i + 1}"], "fallback": False})
            mr = await r.expect("matched", skip=("queued",))
            mv = await v.expect("matched")
            if mr.get("common") != [f"topic-r{i + 1}"] or mv.get("role") != "offerer":
                raise FlowError(f"{name}: unexpected match {json.dumps(mr)[:200]} / {json.dumps(mv)[:200]}")
            await self.relay(v, r, {"description": {"type": "offer", "sdp": sdp("offer", "victim", self.victim)}}, "offer")
            await self.relay(v, r, {"candidate": candidates("victim", self.victim)[0]}, "candidate")
            await r.send({"type": "report", "reason": REPORT_REASONS[i]})
            q = await r.expect("queued")
            self.check(q.get("mode") == "video", f"report {i + 1} ({address}): the reporter is re-queued")
            if i < 2:
                left = await v.expect("peer_left")
                self.check(left.get("reason") == "report", f"report {i + 1}: the victim is told peer_left report",
                           [json.dumps(left)])
                await v.send({"type": "next"})
                await v.expect("queued")
            else:
                rest, code = await v.closed()
                rest = [m for m in rest if not (m.get("type") == "peer_left" and m.get("reason") == "report")]
                banned = rest[0] if rest else {}
                now = time.time()
                self.check(len(rest) == 1 and banned.get("type") == "banned" and banned.get("reason") == "reports"
                           and isinstance(banned.get("until"), int) and now + 60 < banned["until"] <= now + 7 * 86400 + 60,
                           "report 3 (the third distinct address): the victim gets banned, reason reports, until in the future",
                           [f"received {json.dumps(rest)[:300]}"])
                self.check(code == 1008, "the banned victim's connection closes with 1008", [f"close code {code}"])
            await r.send({"type": "leave"})
            await r.close()

        for i, s in enumerate(self.servers):
            for address, what in ((self.victim, "the victim's address"), (self.victim_alias[0], self.victim_alias[1])):
                c = Client(self, "victim-again", s, address, "xff")
                await c.open(expect_welcome=False)
                rest, code = await c.closed()
                self.check(len(rest) == 1 and rest[0].get("type") == "banned" and code == 1008,
                           f"a new connection from {what} to {s.name}: banned (no welcome), close 1008",
                           [f"received {json.dumps(rest)[:300]}, close code {code}"])
        fresh = await Client(self, "fresh", self.srv(1), FRESH, "xff").open()
        self.check(True, "a new connection from an unrelated address gets its welcome")
        await fresh.close()
        await asyncio.sleep(0.3)
        self.snapshot("after the ban, alice and bob still connected")

    async def close_all(self):
        for c in self.clients:
            try:
                await c.close()
            except Exception:  # noqa: BLE001 - closing what may already be gone
                pass


# ---------------------------------------------------------------------------
# The scans

def collect_metrics(results, servers):
    out = []
    for s in servers:
        try:
            out.append((s.name, s.metrics()))
        except OSError as e:
            results.check(False, f"{s.name}: /metrics answers", [repr(e)])
    return out


def log_lines(paths):
    for path in paths:
        with open(path, "rb") as f:
            for n, raw in enumerate(f.read().splitlines(), 1):
                yield f"{os.path.basename(path)}:{n}", raw.decode(errors="backslashreplace")


def report_findings(results, desc, findings, limit=40):
    details = [f"{where}: {label}: {text}" for where, label, text in findings[:limit]]
    if len(findings) > limit:
        details.append(f"... and {len(findings) - limit} more")
    results.check(not findings, desc, details)


def scan_everything(results, forbidden, run_name, servers, snapshots, metrics):
    paths = [p for s in servers for p in s.logs]
    lines = list(log_lines(paths))
    per_file = {os.path.basename(p): 0 for p in paths}
    for where, _ in lines:
        per_file[where.rsplit(":", 1)[0]] += 1
    results.note(f"{run_name}: scanning {len(lines)} log lines ("
                 + ", ".join(f"{name} {n}" for name, n in per_file.items())
                 + f") with {len(forbidden.rules)} rules and {len(forbidden.secrets)} issued tokens and credentials,"
                 " plus generic IPv4/IPv6 detection")
    results.check(len(lines) > 0, f"{run_name}: the servers wrote log lines to scan")
    report_findings(results, f"{run_name}: no address, SDP, candidate, chat text, reason, token or credential in any log line",
                    forbidden.scan(lines, "log"))
    for name, text in metrics:
        items = [(f"{name} /metrics:{n}", line) for n, line in enumerate(text.splitlines(), 1)]
        report_findings(results, f"{run_name}: nothing forbidden in {name}'s /metrics ({len(items)} lines)",
                        forbidden.scan(items, "metrics"))
    for when, dump in snapshots:
        items = list(redis_items(dump))
        results.note(f"{run_name}: Redis {when}: scanning {len(dump)} key names and {len(items) - len(dump)} values")
        report_findings(results, f"{run_name}: nothing forbidden in Redis {when}", forbidden.scan(items, "redis"))


# ---------------------------------------------------------------------------
# Runs

async def exercise(results, run_name, servers, make_flow):
    """Runs the flow; stops the servers with SIGTERM while some clients are
    still connected (the drain path writes its log lines too). Returns the
    flow and the /metrics texts taken before the stop."""
    flow, metrics = None, []
    try:
        for s in servers:
            s.wait_ready()
        results.note(f"{run_name}: instances on ports {', '.join(str(s.port) for s in servers)}")
        flow = make_flow()
        await flow.run()
    finally:
        metrics = collect_metrics(results, [s for s in servers if s.port])
        if flow is not None:
            still = sorted(c.name for c in flow.clients if c.ws is not None and c.ws.open)
            results.note(f"{run_name}: stopping the servers with {len(still)} clients connected ({', '.join(still)})")
        for s in servers:
            code, clean = await asyncio.to_thread(s.stop)
            results.check(clean and code == 0, f"{run_name}: {s.name} stops on SIGTERM with status 0",
                          [f"status {code}", tail(s.logs[1])])
        if flow is not None:
            await flow.close_all()
    return flow, metrics


async def run_redis(results, procs, binary):
    forbidden = standard_forbidden()
    redis_proc, port, r = start_redis(procs)
    results.note(f"redis: redis-server on port {port}")
    store = f"redis://{LISTEN}:{port}"
    servers = [Server(procs, binary, "instance-a", store, ["--instance-id", "privacy-a"]),
               Server(procs, binary, "instance-b", store, ["--instance-id", "privacy-b", "--log-format", "json"])]
    flow, metrics = await exercise(
        results, "redis", servers,
        lambda: Flow(results, forbidden, servers, r, VICTIM_V6, (VICTIM_V6_SIBLING, "another address in the victim's /64")))
    dump = dump_redis(r)
    results.note(f"redis: Redis after the servers stopped: {len(dump)} keys ({key_kinds(dump)})")
    results.check(len(dump) > 0, "redis: Redis after the servers stopped: the dump is not empty (something to scan)")
    missing = keys_without_ttl(dump)
    results.check(not missing, "redis: Redis after the servers stopped: every key has a TTL",
                  [f"key {k!r} has no TTL" for k, _ in missing])
    flow.snapshots.append(("after the servers stopped", dump))
    scan_everything(results, forbidden, "redis", servers, flow.snapshots, metrics)
    r.close()
    procs.stop(redis_proc, 5)


async def run_memory(results, procs, binary):
    forbidden = standard_forbidden()
    servers = [Server(procs, binary, "memory", "memory")]
    _, metrics = await exercise(
        results, "memory", servers,
        lambda: Flow(results, forbidden, servers, None, VICTIM_V4, (VICTIM_V4_MAPPED, "the victim's IPv4-mapped form")))
    scan_everything(results, forbidden, "memory", servers, [], metrics)


def main_test(args):
    results = Results()
    procs = Processes(args.tmp)
    started = time.time()
    if "--report-threshold" not in subprocess.run([args.server, "--help"], capture_output=True, text=True).stdout:
        results.note("this server has no --report-threshold: bans are not built yet, the ban checks will fail")
    try:
        for run in (run_redis, run_memory):
            try:
                asyncio.run(run(results, procs, args.server))
            except FlowError as e:
                results.check(False, f"{run.__name__}: set-up", [str(e)])
            except Exception:  # noqa: BLE001 - a bug in the driver must fail the test loudly
                results.check(False, f"{run.__name__}: ran without an exception", traceback.format_exc().splitlines())
    finally:
        procs.stop_all()
    return finish(results, args, started)


def finish(results, args, started):
    results.note(f"{results.passed} ok, {results.failed} not ok in {time.time() - started:.1f}s")
    if args.counts:
        with open(args.counts, "w") as f:
            f.write(f"{results.passed} {results.failed}\n")
    return 1 if results.failed else 0


# ---------------------------------------------------------------------------
# Self-check: the scanner must flag a planted bad sample, and pass a clean one

def self_check(args):
    results = Results()
    started = time.time()
    f = standard_forbidden()
    token = "q3R8vT2mXc9LpZ0aB7nD1w"
    f.secrets.update({token: "a resume token", "1764355200:9f3c2a7b4e1d08c6a5f2e7d1": "a TURN username",
                      "9f3c2a7b4e1d08c6a5f2e7d1": "a TURN pseudonym", "mR2x6yBc0Wq8a1r2hXzd1fC1p9Q=": "a TURN credential"})
    ts = "2025-01-01 12:34:56.789 info"
    bad = {
        "IPv4 in a log line": f"{ts} open session=abc from 203.0.113.7",
        "IPv4 with a port": f"{ts} peer 203.0.113.7:55012",
        "IPv4 zero-padded": f"{ts} addr=203.000.113.007",
        "IPv4 as an integer": f"{ts} addr={int(ipaddress.IPv4Address(ALICE))}",
        "IPv4 as hex": f"{ts} addr=CB007107",
        "unknown IPv4": f"{ts} x-forwarded-for: 100.64.12.34",
        "IPv6 compressed": f"{ts} peer [2001:db8:85a3::8a2e:370:7334]:443",
        "IPv6 upper case": f"{ts} peer 2001:DB8:85A3::8A2E:370:7334",
        "IPv6 expanded": f"{ts} peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "IPv6 /64": f"{ts} prefix 2001:db8:85a3::/64",
        "IPv6 /64 bare": f"{ts} prefix 2001:db8:85a3:0:",
        "unknown IPv6": f"{ts} peer fe80::1c2d:3e4f:5a6b:7c8d",
        "mapped": f"{ts} peer ::ffff:198.51.100.9",
        "mapped as hex": f"{ts} peer ::ffff:c633:6409",
        "SDP line": '{"sdp":"v=0\\r\\no=- 123456789 2 IN IP4 127.0.0.1\\r\\n"}',
        "SDP ufrag": "a=ice-ufrag:PvAl",
        "ufrag value": f"{ts} ufrag PvAl",
        "SDP fingerprint": CLIENT_CREDENTIALS["alice"]["fingerprint"],
        "candidate": "candidate:1 1 udp 1 x.invalid 9 typ srflx",
        "candidate foundation": f"{ts} foundation 842163049",
        "mDNS": f"{ts} host abcd-1234.local",
        "chat": f"{ts} text={CHAT_MARKER}",
        "interest": f"{ts} interests={INTEREST_MARKERS[0]}",
        "reason": f"{ts} report reason=harassment",
        "resume token": f"{ts} resume={token}",
        "TURN pseudonym": f"{ts} turn user 9f3c2a7b4e1d08c6a5f2e7d1",
        "TURN credential": f"{ts} cred mR2x6yBc0Wq8a1r2hXzd1fC1p9Q=",
        "TURN secret": f"{ts} secret {TURN_SECRET}",
        "address secret": f"{ts} secret {ADDRESS_SECRET}",
        "unkeyed address hash": f"{ts} ban {hashlib.sha256(ipaddress.ip_address(ALICE).packed).hexdigest()[:32]}",
    }
    for what, line in bad.items():
        hits = f.scan([("sample", line)], "log")
        results.check(bool(hits), f"self-check: flags {what}", [line])
    clean = [
        f"{ts} listening on 127.0.0.1:8080 (redis://127.0.0.1:6379, store redis, 1 threads)",
        f"{ts} open session=Zx8_aQ-1bc9D resumed=false",
        f"{ts} close session=Zx8_aQ-1bc9D reason=peer",
        '{"time":"2025-01-01T12:34:56.789+0000","level":"info","msg":"open session=Zx8_aQ-1bc9D resumed=true"}',
        f"{ts} redis store: instance privacy-a; serendip::redis_store 3f9a0c1d2e3b4a5f6e7d8c9b0a1f2e3d",
        "serendip_connections_open 3",
        'serendip_messages_total{type="signal"} 42',
    ]
    for line in clean:
        hits = f.scan([("sample", line)], "log")
        results.check(not hits, f"self-check: no false alarm on {line[:60]!r}", [str(hits)])
    # An interest is allowed in Redis (a live session's join), not in a log.
    results.check(not f.scan([("sample", f"ji={INTEREST_MARKERS[0]}")], "redis"),
                  "self-check: an interest in Redis is not flagged")
    # The TTL rule on a planted dump.
    dump = [(b"sd:s:abc", "hash", 29000, [("field k", b"x")]), (b"sd:leak", "string", -1, [("value", b"1")])]
    results.check(keys_without_ttl(dump) == [("sd:leak", -1)], "self-check: a key without a TTL is flagged")
    items = list(redis_items([(b"sd:t:" + token.encode(), "string", 100, [("value", b"abc")])]))
    results.check(bool(f.scan(items, "redis")), "self-check: a resume token in a Redis key name is flagged")
    return finish(results, args, started)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", nargs="?", help="the serendip-server binary")
    ap.add_argument("--tmp", help="a private temporary directory (run.sh makes it)")
    ap.add_argument("--counts", help="write 'passed failed' here")
    ap.add_argument("--self-check", action="store_true", help="check the scanner on planted samples only")
    args = ap.parse_args()
    if args.self_check:
        return self_check(args)
    if not args.server or not args.tmp:
        ap.error("SERVER and --tmp are required")
    return main_test(args)


if __name__ == "__main__":
    sys.exit(main())
