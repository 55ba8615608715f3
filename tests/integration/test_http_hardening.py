"""HTTP front door hardening (reliability-and-security.md section 2, HTTP-01..HTTP-08 and the
per-IP connection cap):
a corpus of malformed and smuggling requests, each answered with the right status and a
problem+json body and the connection closed, with a request appended after it that must never
run (a token-creating POST whose marker name is looked for afterwards); every size limit at
exactly the limit and one byte over; slow headers, idle keep-alive and the per-connection
request cap.

The server runs with default size limits (ARCHITECTURE section 8) and short timeouts."""

import http.client
import json
import os
import re
import select
import socket
import threading
import time

import harness
from harness import expect

HEADER_TIMEOUT_MS = 1000
KEEPALIVE_MS = 500
MAX_REQUESTS = 5
SERVER_ARGS = ("--set", "http.header_timeout_ms=%d" % HEADER_TIMEOUT_MS,
               "--set", "http.keepalive_timeout_ms=%d" % KEEPALIVE_MS,
               "--set", "http.max_requests_per_connection=%d" % MAX_REQUESTS)

# Defaults from ARCHITECTURE section 8; the tests check them exactly (limit and limit + 1).
MAX_URL = 8 * 1024
MAX_HEADER = 8 * 1024
MAX_HEADERS = 100
MAX_HEAD = 32 * 1024
MAX_BODY = 1024 * 1024

RUN = "%x" % (int(time.time() * 1000) & 0xffffff)


# ---------- raw HTTP helpers ----------

def exchange(s, data, timeout=5.0):
    """Sends data on a fresh connection and reads until the server closes it. Returns
    (bytes read, how it ended: "fin", "reset" or "timeout")."""
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=timeout)
    out = b""
    how = "timeout"
    try:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused early and stopped reading; what it sent is still there
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                how = "reset"
                break
            if not chunk:
                how = "fin"
                break
            out += chunk
    finally:
        sock.close()
    return out, how


parse_responses = harness.parse_raw_responses


def token_post(s, marker, extra=""):
    """A valid request that creates an API token named marker (the side-effect probe)."""
    body = json.dumps({"name": marker})
    return ("POST /api/v1/tokens HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
            % (s.tokens["admin"], len(body), extra, body)).encode()


def token_names(s):
    r = harness.expect_status(s.get("/api/v1/tokens"), 200)
    return {t["name"] for t in r.json["data"]}


def expect_refused(s, name, data, status, marker):
    """One bad request (+ an appended probe): exactly one problem response with that status,
    Connection: close, and the connection closed by the server."""
    raw, how = exchange(s, data)
    replies = parse_responses(raw)
    expect(len(replies) == 1, "%s: exactly one response" % name, replies)
    r = replies[0]
    expect(r.status == status, "%s: status %d" % (name, status), r)
    expect(r.headers.get("content-type", "").startswith("application/problem+json"),
           "%s: problem content type" % name, r.headers)
    doc = r.json or {}
    expect(doc.get("status") == status and doc.get("title"), "%s: problem body" % name, doc)
    expect(r.headers.get("connection") == "close", "%s: Connection: close" % name, r.headers)
    expect(how == "fin", "%s: connection closed by the server (got %s)" % (name, how))
    return marker


# ---------- the corpus ----------

def corpus(s):
    """Returns [(name, bytes, expected status)] built from the classes of section 2. Each bad
    request is followed by a valid token POST with a marker that must never be created."""
    auth = "Authorization: Bearer %s\r\n" % s.tokens["admin"]
    cases = []

    def add(name, bad, status):
        marker = "smuggle-%s-%d" % (RUN, len(cases))
        if isinstance(bad, str):
            bad = bad.encode("latin-1")
        cases.append((name, bad + token_post(s, marker), status, marker))

    def post(headers, body="", line="POST /api/v1/tokens HTTP/1.1"):
        return line + "\r\n" + "Host: t\r\n" + auth + "".join(h + "\r\n" for h in headers) + "\r\n" + body

    inner = lambda i: token_post(s, "inner-%s-%d" % (RUN, i)).decode()

    # CL.TE and TE.CL: both framings present, in both orders, with assorted values.
    for i, (cl, te) in enumerate([("0", "chunked"), ("4", "chunked"), ("6", "chunked"), ("100", "chunked"),
                                  ("0", "Chunked"), ("4", "CHUNKED"), ("4", "chunked "), ("4", " chunked")]):
        add("CL.TE %s/%s" % (cl, te), post(["Content-Length: " + cl, "Transfer-Encoding: " + te],
                                           "0\r\n\r\n" + inner(i)), 400)
        add("TE.CL %s/%s" % (te, cl), post(["Transfer-Encoding: " + te, "Content-Length: " + cl],
                                           "5c\r\n" + inner(100 + i) + "\r\n0\r\n\r\n"), 400)
    # TE.TE: obfuscated Transfer-Encoding, alone and next to a Content-Length.
    te_bad = ["xchunked", "chunkedx", "chunk", "chunked, identity", "chunked,chunked", "\"chunked\"",
              "chunked\x0b", "\x0cchunked", "ch unked", "identity"]
    for i, te in enumerate(te_bad):
        add("TE.TE %r" % te, post(["Transfer-Encoding: " + te], "0\r\n\r\n"), 400)
        add("TE.TE+CL %r" % te, post(["Content-Length: 5", "Transfer-Encoding: " + te], "0\r\n\r\n"), 400)
    for te in ["gzip, chunked", "identity, chunked", "deflate,chunked"]:
        add("unknown coding %r" % te, post(["Transfer-Encoding: " + te], "0\r\n\r\n"), 501)
    add("TE twice", post(["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], "0\r\n\r\n"), 400)
    add("TE then identity", post(["Transfer-Encoding: chunked", "Transfer-Encoding: identity"], "0\r\n\r\n"), 400)
    add("TE space before colon", post(["Transfer-Encoding : chunked"], "0\r\n\r\n"), 400)
    add("TE tab before colon", post(["Transfer-Encoding\t: chunked"], "0\r\n\r\n"), 400)
    add("TE folded", post(["X: y", " Transfer-Encoding: chunked"], "0\r\n\r\n"), 400)
    add("TE bare LF name", post(["X: y\nTransfer-Encoding: chunked"], "0\r\n\r\n"), 400)
    # CL.CL and malformed Content-Length.
    for cl in [["4", "5"], ["5", "5"], ["5", "05"]]:
        add("CL.CL %s" % "/".join(cl), post(["Content-Length: " + v for v in cl], "hello"), 400)
    for v in ["+5", "-5", "5, 5", "5,5", "0x5", "5.0", "5 5", "1e3", "", "abc", "\x0b5",
              "99999999999999999999999", "18446744073709551616"]:
        add("Content-Length %r" % v, post(["Content-Length: " + v], "hello"), 400)
    # Bare CR, bare LF, CR CR LF, in the request line, the fields and the end of the head.
    base = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: b\r\n\r\n"
    for i, (old, new) in enumerate([("HTTP/1.1\r\n", "HTTP/1.1\n"), ("HTTP/1.1\r\n", "HTTP/1.1\r"),
                                    ("t\r\n", "t\n"), ("t\r\n", "t\r"), ("b\r\n\r\n", "b\r\n\n"),
                                    ("b\r\n\r\n", "b\n\r\n"), ("b\r\n\r\n", "b\r\r\n"), ("b\r\n\r\n", "b\n\n"),
                                    ("X-A: b", "X-A: b\rc"), ("X-A: b", "X-A: b\nc"), ("X-A", "X\r-A"),
                                    ("GET /healthz", "GET /healthz\r")]):
        add("bare CR/LF #%d" % i, base.replace(old, new, 1), 400)
    # obs-fold (RFC 9112 5.2).
    for i, fold in enumerate(["X-A: b\r\n c", "X-A: b\r\n\tc", "X-A:\r\n c", "Host: t\r\n t2", "X-A: b\r\n  \t c"]):
        add("obs-fold #%d" % i, "GET /healthz HTTP/1.1\r\nHost: t\r\n" + fold + "\r\n\r\n", 400)
    add("fold as first line", "GET /healthz HTTP/1.1\r\n Host: t\r\n\r\n", 400)
    # Whitespace between field name and colon (RFC 9112 5.1).
    for h in ["Host : t", "Host\t: t", "Content-Length : 0", "X-A : b", "Authorization : Bearer x"]:
        extra = "" if h.startswith("Host") else "Host: t\r\n"
        add("space before colon %r" % h, "GET /healthz HTTP/1.1\r\n" + extra + h + "\r\n\r\n", 400)
    # NUL and other controls in names, values and the target.
    for c in [0x00, 0x01, 0x07, 0x08, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f, 0x7f]:
        add("CTL %#x in name" % c, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-%sA: b\r\n\r\n" % chr(c), 400)
        add("CTL %#x in value" % c, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: b%sc\r\n\r\n" % chr(c), 400)
    for c in [0x00, 0x01, 0x09, 0x7f, 0x80, 0xff]:
        add("byte %#x in target" % c, "GET /healthz%s HTTP/1.1\r\nHost: t\r\n\r\n" % chr(c), 400)
    add("fragment in target", "GET /healthz#x HTTP/1.1\r\nHost: t\r\n\r\n", 400)
    add("non-ASCII name", "GET /healthz HTTP/1.1\r\nHost: t\r\nX-\xe9: b\r\n\r\n", 400)
    add("empty name", "GET /healthz HTTP/1.1\r\nHost: t\r\n: b\r\n\r\n", 400)
    # Chunked framing errors.
    chunked = ["Content-Type: application/json", "Transfer-Encoding: chunked"]
    for i, body in enumerate(["FFFFFFFFFFFFFFFFF\r\n", "10000000000000000\r\n", "5 \r\nhello\r\n0\r\n\r\n",
                              "5\t\r\nhello\r\n0\r\n\r\n", "-5\r\nhello\r\n0\r\n\r\n", "0x5\r\nhello\r\n0\r\n\r\n",
                              "+5\r\nhello\r\n0\r\n\r\n", " 5\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n",
                              "5\r\nhello!\r\n0\r\n\r\n", "5\nhello\r\n0\r\n\r\n", "5\r\nhello\n0\r\n\r\n",
                              "g\r\nhello\r\n0\r\n\r\n", "\r\n0\r\n\r\n", "5;a=\x01\r\nhello\r\n0\r\n\r\n",
                              "5;" + "e" * 20000 + "\r\nhello\r\n0\r\n\r\n",
                              "5;a=" + "v" * 20000 + "\r\nhello\r\n0\r\n\r\n",
                              "0\r\nX-T: a\x01b\r\n\r\n", "0\r\nX-T : a\r\n\r\n", "0\r\n\n",
                              "5\rhello\r\n0\r\n\r\n", "5\r\nhello\r0\r\n\r\n", "5\r\nhello\n\n0\r\n\r\n",
                              "5\r\nhello0\r\n\r\n", "0\r\nX-T: a\nX-U: b\r\n\r\n", "0\r\nX-T: a\r\n b\r\n\r\n",
                              "0\r\n\r", "5;a\n\r\nhello\r\n0\r\n\r\n"]):
        add("chunked #%d" % i, post(chunked, body), 400)
    # Transfer-Encoding on HTTP/1.0 (RFC 9112 6.1).
    for extra in [[], ["Connection: keep-alive"], ["Content-Length: 5"]]:
        add("TE on HTTP/1.0 %s" % extra, post(["Transfer-Encoding: chunked"] + extra, "0\r\n\r\n",
                                              line="POST /api/v1/tokens HTTP/1.0"), 400)
    # Host: missing on 1.1, duplicated.
    add("no Host", "GET /healthz HTTP/1.1\r\nX-A: b\r\n\r\n", 400)
    add("no Host, POST", "POST /api/v1/tokens HTTP/1.1\r\n" + auth + "Content-Length: 0\r\n\r\n", 400)
    for hosts in [("t", "t"), ("t", "u"), ("t", "")]:
        add("two Hosts %s" % (hosts,), "GET /healthz HTTP/1.1\r\nHost: %s\r\nhost: %s\r\n\r\n" % hosts, 400)
    # Versions.
    for v, st in [("HTTP/1.2", 505), ("HTTP/2.0", 505), ("HTTP/3.0", 505), ("HTTP/0.9", 505), ("HTTP/9.9", 505),
                  ("HTTP/1.x", 400), ("HTTP/1", 400), ("HTTP/11", 400), ("http/1.1", 400), ("HTTPS/1.1", 400),
                  ("HTTP/1.1 ", 400), ("HTTP/1.1\t", 400), ("HTTP/1.01", 400), ("HTTP/ 1.1", 400)]:
        add("version %r" % v, "GET /healthz %s\r\nHost: t\r\n\r\n" % v, st)
    add("HTTP/0.9 simple request", "GET /healthz\r\n\r\n", 505)
    add("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505)
    # Methods.
    for m, st in [("get", 501), ("FOO", 501), ("GETX", 501), ("G\x00T", 400), ("GE\x7fT", 400),
                  ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 501), ("ZZZ", 501)]:
        add("method %r" % m, "%s /healthz HTTP/1.1\r\nHost: t\r\n\r\n" % m, st)
    add("leading space", " GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", 400)
    add("CONNECT", "CONNECT t:443 HTTP/1.1\r\nHost: t\r\n\r\n", 400)
    add("asterisk target", "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", 400)
    add("relative target", "GET healthz HTTP/1.1\r\nHost: t\r\n\r\n", 400)
    add("ftp absolute-form", "GET ftp://t/healthz HTTP/1.1\r\nHost: t\r\n\r\n", 400)
    # Sizes: request target (414), one field, field count, the whole head (431).
    add("target over limit", "GET /healthz?p=" + "a" * MAX_URL + " HTTP/1.1\r\nHost: t\r\n\r\n", 414)
    add("target far over limit", "GET /" + "a" * (8 * MAX_URL) + " HTTP/1.1\r\nHost: t\r\n\r\n", 414)
    add("field over limit", "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: " + "v" * MAX_HEADER + "\r\n\r\n", 431)
    add("field name over limit", "GET /healthz HTTP/1.1\r\nHost: t\r\nX" + "n" * MAX_HEADER + ": v\r\n\r\n", 431)
    add("too many fields", "GET /healthz HTTP/1.1\r\nHost: t\r\n" +
        "".join("X-%d: v\r\n" % i for i in range(MAX_HEADERS)) + "\r\n", 431)
    add("head too large", "GET /healthz HTTP/1.1\r\nHost: t\r\n" +
        "".join("X-%d: %s\r\n" % (i, "v" * 7000) for i in range(5)) + "\r\n", 431)
    add("whitespace flood", "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A:" + " " * (MAX_HEAD + 10) + "v\r\n\r\n", 431)
    add("blank lines flood", "\r\n" * (MAX_HEAD // 2 + 10) + "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", 431)
    add("too many trailers", post(chunked, "0\r\n" + "".join("T-%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + "\r\n"),
        431)
    # Bodies over the limit (413), by Content-Length and by chunks.
    add("Content-Length over limit", post(["Content-Length: %d" % (MAX_BODY + 1)]), 413)
    add("Content-Length 10 GiB", post(["Content-Length: 10737418240"]), 413)
    add("chunk announced over limit", post(chunked, "%x\r\n" % (MAX_BODY + 1)), 413)
    add("chunks crossing the limit", post(chunked, ("%x\r\n" % (MAX_BODY // 2)) + "a" * (MAX_BODY // 2) + "\r\n" +
                                          ("%x\r\n" % (MAX_BODY // 2 + 1)) + "a" * (MAX_BODY // 2 + 1) + "\r\n0\r\n\r\n"),
        413)
    # Expectations other than 100-continue.
    for e in ["100-continuex", "foo", "200-ok", "100-continue, foo"]:
        add("Expect %r" % e, post(["Expect: " + e, "Content-Length: 2"], "{}"), 417)
    return cases


def test_corpus_refused_and_nothing_after_runs(s):
    cases = corpus(s)
    expect(len(cases) >= 120, "at least 120 cases", len(cases))
    failures = []
    for name, data, status, marker in cases:
        try:
            expect_refused(s, name, data, status, marker)
        except AssertionError as e:
            failures.append(str(e))
    expect(not failures, "%d of %d cases failed:\n  " % (len(failures), len(cases)) + "\n  ".join(failures[:40]))
    names = token_names(s)
    ran = [m for _, _, _, m in cases if m in names] + [n for n in names if n.startswith("inner-%s" % RUN)]
    expect(not ran, "requests after (or inside) a refused request ran", ran[:20])
    print("  %d cases refused, none of the appended requests ran" % len(cases))


def test_probe_detects_execution(s):
    """The side-effect probe is real: after a good request the appended one does run, and after
    a good request with Connection: close it does not."""
    a, b, c, d = ("probe-%s-%s" % (RUN, x) for x in "abcd")
    raw, how = exchange(s, token_post(s, a) + token_post(s, b))
    replies = parse_responses(raw)
    expect([r.status for r in replies] == [201, 201], "two tokens created", replies)
    raw, how = exchange(s, token_post(s, c, "Connection: close\r\n") + token_post(s, d))
    replies = parse_responses(raw)
    expect([r.status for r in replies] == [201] and how == "fin", "one response then close", replies, how)
    expect(replies[0].headers.get("connection") == "close")
    names = token_names(s)
    expect({a, b, c} <= names and d not in names, "tokens a, b, c exist and d does not", names)


# ---------- exactly at the limits ----------

def head_of_size(total, target="/healthz"):
    """A GET whose head (request line through the blank line) is exactly total bytes."""
    start = "GET %s HTTP/1.1\r\nHost: t\r\n" % target
    left = total - len(start) - 2
    fields, i = [], 0
    while left > 0:
        name = "X-P%d" % i
        overhead = len(name) + 4  # ": " and CRLF
        n = min(left - overhead, MAX_HEADER - len(name))
        expect(n >= 0, "head size reachable")
        fields.append("%s: %s\r\n" % (name, "v" * n))
        left -= overhead + n
        i += 1
    data = (start + "".join(fields) + "\r\n").encode()
    expect(len(data) == total, "built head size", len(data), total)
    return data


def one_reply(s, data):
    raw, how = exchange(s, data + b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    replies = parse_responses(raw)
    expect(replies, "a response")
    return replies, how


def test_limits_exact_accepted_one_over_refused(s):
    target = lambda n: "/healthz?p=" + "a" * (n - len("/healthz?p="))
    checks = [
        ("target", lambda n: ("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % target(n)).encode(), MAX_URL, 414),
        ("one field", lambda n: ("GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: %s\r\n\r\n" % ("v" * (n - 3))).encode(),
         MAX_HEADER, 431),
        ("field count", lambda n: ("GET /healthz HTTP/1.1\r\nHost: t\r\n" +
                                   "".join("X-%d: v\r\n" % i for i in range(n - 1)) + "\r\n").encode(), MAX_HEADERS, 431),
        ("whole head", head_of_size, MAX_HEAD, 431),
    ]
    for name, build, limit, status in checks:
        replies, _ = one_reply(s, build(limit))
        expect([r.status for r in replies] == [200, 200], "%s exactly at the limit (%d) is served" % (name, limit),
               replies)
        replies, how = one_reply(s, build(limit + 1))
        expect([r.status for r in replies] == [status] and how == "fin",
               "%s one byte over the limit is refused with %d" % (name, status), replies, how)


def padded_token_body(marker, size):
    body = '{"name":"%s"' % marker
    return (body + " " * (size - len(body) - 1) + "}").encode()


def test_body_limit_exact_accepted_one_over_refused(s):
    m1, m2, m3, m4 = ("body-%s-%d" % (RUN, i) for i in range(4))
    hdr = "POST /api/v1/tokens HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n" \
        % s.tokens["admin"]
    for marker, size, status in [(m1, MAX_BODY, 201), (m2, MAX_BODY + 1, 413)]:
        body = padded_token_body(marker, size)
        raw, how = exchange(s, (hdr + "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)).encode() + body,
                            timeout=20)
        replies = parse_responses(raw)
        expect([r.status for r in replies] == [status], "Content-Length body of %d bytes" % size, replies)
    # The same by chunks: the limit is on the decoded body.
    for marker, size, status in [(m3, MAX_BODY, 201), (m4, MAX_BODY + 1, 413)]:
        body = padded_token_body(marker, size)
        half = size // 2
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:half], body[half:])) + b"0\r\n\r\n"
        raw, how = exchange(s, (hdr + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode() + chunks,
                            timeout=20)
        replies = parse_responses(raw)
        expect([r.status for r in replies] == [status], "chunked body of %d bytes" % size, replies)
    names = token_names(s)
    expect(m1 in names and m3 in names and m2 not in names and m4 not in names, "only the bodies at the limit ran")


def test_413_before_the_body_is_sent(s):
    """The refusal comes from the head alone: nothing of the body is sent."""
    for length in (MAX_BODY + 1, 10737418240):
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        try:
            sock.sendall(("POST /api/v1/tokens HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                          "Content-Length: %d\r\n\r\n" % length).encode())
            raw = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
        finally:
            sock.close()
        replies = parse_responses(raw)
        expect([r.status for r in replies] == [413], "413 for Content-Length %d" % length, replies)


def test_chunked_refused_at_the_crossing(s):
    """A chunked body is refused when it crosses the limit, not at its end: the terminating
    chunk is never sent and the 413 still arrives."""
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    try:
        sock.sendall(b"POST /api/v1/tokens HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        piece = b"a" * 65536
        sent = 0
        while sent <= MAX_BODY:
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        raw = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    finally:
        sock.close()
    replies = parse_responses(raw)
    expect([r.status for r in replies] == [413], "413 at the crossing", replies)


def test_expect_100_continue(s):
    marker = "continue-%s" % RUN
    body = json.dumps({"name": marker}).encode()
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    try:
        sock.sendall(("POST /api/v1/tokens HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n"
                      "Connection: close\r\n\r\n" % (s.tokens["admin"], len(body))).encode())
        first = sock.recv(65536)
        expect(first == b"HTTP/1.1 100 Continue\r\n\r\n", "interim 100 before the body", first)
        sock.sendall(body)
        raw = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    finally:
        sock.close()
    replies = parse_responses(raw)
    expect([r.status for r in replies] == [201], "created after 100-continue", replies)


def test_trailers_never_become_headers(s):
    """A trailer named Authorization must not authenticate the request (RFC 9110 6.5.1)."""
    marker = "trailer-%s" % RUN
    body = json.dumps({"name": marker}).encode()
    data = (b"POST /api/v1/tokens HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + b"%x\r\n%s\r\n" % (len(body), body) +
            b"0\r\nAuthorization: Bearer " + s.tokens["admin"].encode() + b"\r\n\r\n")
    raw, how = exchange(s, data)
    replies = parse_responses(raw)
    expect([r.status for r in replies] == [401], "trailer credentials ignored", replies)
    expect(marker not in token_names(s))


def test_upgrade_is_answered_then_closed(s):
    marker = "upgrade-%s" % RUN
    raw, how = exchange(s, b"GET /healthz HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" +
                        token_post(s, marker))
    replies = parse_responses(raw)
    expect([r.status for r in replies] == [200] and how == "fin", "plain answer, then close", replies, how)
    expect(replies[0].headers.get("connection") == "close")
    expect(marker not in token_names(s), "nothing after an upgrade request runs")


def test_absolute_form_target_accepted(s):
    raw, how = exchange(s, b"GET http://t/healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    replies = parse_responses(raw)
    expect([r.status for r in replies] == [200], "absolute-form served", replies)


def test_http10_without_keepalive_closes(s):
    marker = "http10-%s" % RUN
    raw, how = exchange(s, b"GET /healthz HTTP/1.0\r\n\r\n" + token_post(s, marker))
    replies = parse_responses(raw)
    expect([r.status for r in replies] == [200] and how == "fin", "one answer then close", replies, how)
    expect(marker not in token_names(s))


def test_no_lenient_llhttp_flag(s):
    """HTTP-06: no code outside tests turns on an llhttp leniency (each one enables smuggling)."""
    offenders = []
    pattern = re.compile(r"llhttp_set_lenient_\w*\s*\(")
    for top in ("core", "plugins"):
        for root, _, files in os.walk(os.path.join(harness.SOURCE, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    path = os.path.join(root, f)
                    with open(path, errors="replace") as fh:
                        if pattern.search(fh.read()):
                            offenders.append(os.path.relpath(path, harness.SOURCE))
    expect(os.path.isdir(os.path.join(harness.SOURCE, "core", "http")), "source tree found", harness.SOURCE)
    expect(not offenders, "llhttp_set_lenient_* called in", offenders)


# ---------- time and connection bounds ----------

def slow_client(port, result):
    """Sends a request head one byte every 200 ms; records the answer and when it came."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    start = time.time()
    raw = b""
    how = "timeout"
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        while time.time() - start < 10:
            r, _, _ = select.select([sock], [], [], 0.2)
            if r:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    how = "reset"
                    break
                if not chunk:
                    how = "fin"
                    break
                raw += chunk
                continue
            try:
                sock.send(b"a")
            except (BrokenPipeError, ConnectionResetError):
                how = "reset"
                break
    finally:
        sock.close()
    result.update(raw=raw, how=how, elapsed=time.time() - start)


def test_slow_headers_closed_while_others_served(s):
    results = [dict() for _ in range(8)]
    threads = [threading.Thread(target=slow_client, args=(s.port, r)) for r in results]
    for t in threads:
        t.start()
    served = 0
    while any(t.is_alive() for t in threads):
        harness.expect_status(s.get("/healthz", role=None), 200)
        served += 1
        time.sleep(0.05)
    for t in threads:
        t.join()
    bound = HEADER_TIMEOUT_MS / 1000.0 + 1.0
    for r in results:
        replies = parse_responses(r["raw"])
        expect([x.status for x in replies] == [408], "slow client gets 408", replies)
        expect(r["how"] in ("fin", "reset"), "slow client closed", r["how"])
        expect(r["elapsed"] <= bound, "closed within header timeout + 1 s", r["elapsed"])
    expect(served >= 5, "a normal client was served meanwhile", served)


def test_idle_keepalive_closed(s):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    try:
        req = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        for _ in range(2):  # the connection stays open between two quick requests
            sock.sendall(req)
            r = parse_responses(read_one_response(sock))
            expect(r[0].status == 200 and r[0].headers.get("connection") == "keep-alive", r)
        idle_from = time.time()
        chunk = sock.recv(65536)
        waited = time.time() - idle_from
        expect(chunk == b"", "closed without a response", chunk)
        expect(waited <= KEEPALIVE_MS / 1000.0 + 1.0, "closed within keep-alive timeout + 1 s", waited)
    finally:
        sock.close()


def read_one_response(sock):
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = sock.recv(65536)
        expect(chunk, "response head")
        raw += chunk
    head, _, rest = raw.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    while len(rest) < n:
        chunk = sock.recv(65536)
        expect(chunk, "response body")
        rest += chunk
    expect(len(rest) == n, "nothing beyond the response", rest[n:])
    return head + b"\r\n\r\n" + rest


def test_request_cap_per_connection(s):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    try:
        for i in range(1, MAX_REQUESTS + 1):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            r = parse_responses(read_one_response(sock))[0]
            want = "close" if i == MAX_REQUESTS else "keep-alive"
            expect(r.status == 200 and r.headers.get("connection") == want, "response %d: Connection: %s" % (i, want),
                   r.headers)
        expect(sock.recv(65536) == b"", "closed after the last allowed request")
    finally:
        sock.close()
    # Pipelined beyond the cap: exactly MAX_REQUESTS answers, the rest never runs.
    marker = "cap-%s" % RUN
    raw, how = exchange(s, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" * MAX_REQUESTS + token_post(s, marker))
    replies = parse_responses(raw)
    expect([r.status for r in replies] == [200] * MAX_REQUESTS and how == "fin", replies, how)
    expect(marker not in token_names(s))


def test_streamed_upload_bodies_refused_and_removed(s):
    """Upload routes stream their body to a file under DATA/tmp as it arrives: framing errors
    inside such a body are refused like any other (nothing after them runs), an upload that
    crosses 10 MiB in chunks is refused at the crossing, and no temporary file is left."""
    import glob
    upload_limit = 10 * 1024 * 1024
    auth = "Authorization: Bearer %s\r\n" % s.tokens["admin"]
    head = ("POST /api/v1/candidates/can_x/attachments HTTP/1.1\r\nHost: t\r\n" + auth +
            "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    big = b"a" * 300000
    cases = [
        ("no CRLF after chunk data", head + b"%x\r\n%sXY" % (len(big), big), 400),
        ("bad chunk size after data", head + b"%x\r\n%s\r\nzz\r\n" % (len(big), big), 400),
        ("bare LF in trailer", head + b"%x\r\n%s\r\n0\r\nT: v\n\r\n" % (len(big), big), 400),
        ("chunk announced over the upload limit", head + b"%x\r\n%s\r\n%x\r\n" % (len(big), big, upload_limit), 413),
    ]
    for i, (name, data, status) in enumerate(cases):
        marker = "upload-%s-%d" % (RUN, i)
        expect_refused(s, name, data + token_post(s, marker), status, marker)
    # Crossing the limit with real bytes, chunk by chunk.
    marker = "upload-%s-cross" % RUN
    piece = b"b" * (1024 * 1024)
    data = head + b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(11)) + b"0\r\n\r\n"
    expect_refused(s, "chunks crossing the upload limit", data + token_post(s, marker), 413, marker)
    names = token_names(s)
    ran = [n for n in names if n.startswith("upload-%s" % RUN)]
    expect(not ran, "requests after a refused upload ran", ran)
    deadline = time.time() + 3
    left = glob.glob(os.path.join(s.data, "tmp", "*"))
    while left and time.time() < deadline:
        time.sleep(0.02)
        left = glob.glob(os.path.join(s.data, "tmp", "*"))
    expect(left == [], "no temporary body file left", left)


def closed_unanswered(sock, timeout=2.0):
    """True if the server closes sock (FIN or reset) within timeout without sending a byte."""
    sock.settimeout(timeout)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_per_ip_connection_cap(s):
    """Per-IP cap (section 2): with http.max_connections_per_ip=5, a 6th connection from the same address is
    closed at once, before anything is read, while the 5 open ones are still served; once one
    closes, a new one is accepted. Refusals are counted in /metrics and logged at most once per
    second, without the address."""
    cap = 5
    srv = harness.Server(extra_args=("--set", "http.max_connections_per_ip=%d" % cap), users=False)
    req = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    socks = []
    refused = 0
    try:
        srv.start()
        socks = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(cap)]
        # Accepts are handled in order, so the 5 idle ones are counted before the 6th.
        t0 = time.time()
        extra = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        expect(closed_unanswered(extra), "6th connection closed without a response")
        expect(time.time() - t0 < 1.0, "6th connection closed at once", time.time() - t0)
        extra.close()
        refused += 1
        # A burst of refusals: each counted, the log line written at most once per second.
        burst_from = time.time()
        for _ in range(10):
            extra = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            expect(closed_unanswered(extra), "connection over the cap closed")
            extra.close()
            refused += 1
        burst_s = time.time() - burst_from
        # The open connections still work.
        for sock in socks:
            sock.sendall(req)
            r = parse_responses(read_one_response(sock))[0]
            expect(r.status == 200 and r.headers.get("connection") == "keep-alive", r.status, r.headers)
        # Closing one frees its slot (the server notices the close asynchronously: retry briefly).
        socks.pop().close()
        deadline = time.time() + 3
        served = None
        while served is None and time.time() < deadline:
            fresh = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            try:
                fresh.sendall(req)
                served = parse_responses(read_one_response(fresh))[0]
            except (AssertionError, ConnectionResetError, BrokenPipeError):
                refused += 1
                time.sleep(0.05)
            finally:
                fresh.close()
        expect(served is not None and served.status == 200, "a new connection accepted after one closed", served)
        for sock in socks:
            sock.close()
        socks = []
        # /metrics itself needs a connection: wait until the closes above are seen.
        deadline = time.time() + 3
        text = None
        while text is None and time.time() < deadline:
            try:
                text = harness.expect_status(srv.get("/metrics", role=None), 200).raw.decode()
            except (OSError, http.client.HTTPException):
                refused += 1
                time.sleep(0.05)
        expect(text is not None, "/metrics reachable")
        counted = [float(line.split()[1]) for line in text.splitlines()
                   if line.startswith("td_http_connections_refused_total ")]
        expect(counted == [float(refused)], "every refusal counted", counted, refused)
        expect(srv.stop() == 0, "clean stop")
        lines = [json.loads(line) for line in srv.log().splitlines() if '"http_refused"' in line]
        per_ip = [x for x in lines if x.get("reason") == "per_ip_cap"]
        expect(per_ip, "refusal logged", lines)
        expect(len(per_ip) <= 2 + int(burst_s), "logged at most once per second", len(per_ip), burst_s)
        expect(all("127.0.0.1" not in json.dumps(x) for x in per_ip), "no address in the log", per_ip)
        expect(sum(x.get("suppressed", 0) for x in per_ip) + len(per_ip) <= refused, per_ip, refused)
    finally:
        for sock in socks:
            sock.close()
        srv.cleanup()


if __name__ == "__main__":
    harness.main(server_args=SERVER_ARGS)
