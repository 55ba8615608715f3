"""HTTP/1.1 pipelining (reliability-and-security.md section 2, HTTP-07 and HTTP-09): many
requests in one write are answered in order even when they finish out of order on worker
threads; a bad request in the middle ends the connection after its error response and nothing
after it runs; a client that never reads its responses holds a bounded amount of server memory
and does not slow anyone else down."""

import json
import socket
import threading
import time

import harness
from harness import expect

SEND_TIMEOUT_MS = 2000
SERVER_ARGS = ("--set", "http.send_timeout_ms=%d" % SEND_TIMEOUT_MS)
RUN = "%x" % (int(time.time() * 1000) & 0xffffff)


def read_all(sock, timeout=20):
    sock.settimeout(timeout)
    out = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except (socket.timeout, ConnectionResetError):
            return out, False
        if not chunk:
            return out, True
        out += chunk


parse_responses = harness.parse_raw_responses


def get(path, token=None, close=False):
    auth = "Authorization: Bearer %s\r\n" % token if token else ""
    return ("GET %s HTTP/1.1\r\nHost: t\r\n%s%s\r\n" % (path, auth, "Connection: close\r\n" if close else "")).encode()


def token_post(s, marker):
    body = json.dumps({"name": marker})
    return ("POST /api/v1/tokens HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (s.tokens["admin"], len(body), body)).encode()


def token_names(s):
    r = harness.expect_status(s.get("/api/v1/tokens"), 200)
    return {t["name"] for t in r.json["data"]}


def test_100_pipelined_in_one_write_answered_in_order(s):
    # Four kinds of request whose answers differ: identity reads on pool threads (one per
    # role, so each body names its user), a loop-thread route, and an unknown path.
    kinds = [("me", r) for r in harness.ROLES] + [("health", None), ("missing", None)]
    plan = [kinds[(i * 7) % len(kinds)] for i in range(100)]
    data = b""
    for i, (kind, role) in enumerate(plan):
        close = i == len(plan) - 1
        if kind == "me":
            data += get("/api/v1/users/me?i=%d" % i, s.tokens[role], close)
        elif kind == "health":
            data += get("/healthz?i=%d" % i, None, close)
        else:
            data += get("/api/v1/no-such-thing/%d" % i, None, close)
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    try:
        sock.sendall(data)  # one write
        raw, closed = read_all(sock)
    finally:
        sock.close()
    replies = parse_responses(raw)
    expect(len(replies) == 100, "100 responses", len(replies))
    expect(closed, "closed after the request that asked for it")
    ids = []
    for i, ((kind, role), reply) in enumerate(zip(plan, replies)):
        status, headers, body = reply.status, reply.headers, reply.raw
        if kind == "me":
            expect(status == 200, "response %d status" % i, status, body[:200])
            expect(json.loads(body)["email"] == "%s@example.test" % role, "response %d is for %s" % (i, role), body[:200])
            ids.append(headers.get("x-request-id"))
        elif kind == "health":
            expect(status == 200 and json.loads(body)["status"] == "ok", "response %d is /healthz" % i, body[:200])
            ids.append(headers.get("x-request-id"))
        else:
            expect(status == 404, "response %d is a 404" % i, status)
        expect(headers.get("connection") == ("close" if i == 99 else "keep-alive"), "response %d Connection" % i)
    expect(all(ids) and len(set(ids)) == len(ids), "distinct X-Request-Id on every routed response", ids[:5])


def test_bad_request_mid_pipeline_ends_connection(s):
    before = ["pipe-before-%s-%d" % (RUN, i) for i in range(10)]
    after = ["pipe-after-%s-%d" % (RUN, i) for i in range(10)]
    bad = b"POST /api/v1/tokens HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    data = b"".join(token_post(s, m) + get("/healthz") for m in before) + bad + \
        b"".join(token_post(s, m) + get("/healthz") for m in after)
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    try:
        sock.sendall(data)
        raw, closed = read_all(sock)
    finally:
        sock.close()
    replies = parse_responses(raw)
    statuses = [r.status for r in replies]
    expect(statuses == [201, 200] * 10 + [400], "20 answers then the error, nothing after", statuses)
    last = replies[-1]
    expect(last.headers.get("content-type", "").startswith("application/problem+json") and
           last.headers.get("connection") == "close", "problem response with Connection: close", last.headers)
    expect(closed, "the connection is closed after the error response")
    names = token_names(s)
    expect(all(m in names for m in before), "requests before the bad one ran")
    expect(not any(m in names for m in after), "nothing after the bad one ran", [m for m in after if m in names])


def metric(s, prefix):
    """The value of the first /metrics line starting with prefix (0 if none)."""
    r = harness.expect_status(s.get("/metrics", role=None), 200)
    for line in r.raw.decode().splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def connections_gauge(s):
    r = harness.expect_status(s.get("/metrics", role=None), 200)
    for line in r.raw.decode().splitlines():
        if line.startswith("td_http_connections "):
            return int(line.split()[1])
    raise AssertionError("no td_http_connections in /metrics")


def test_non_reading_client_is_bounded_and_does_not_block_others(s):
    doc = harness.expect_status(s.get("/api/v1/openapi.json", role=None), 200)
    size = len(doc.raw)
    count = (96 << 20) // size + 1  # ask for at least 96 MiB of responses
    for _ in range(3):
        s.get("/api/v1/openapi.json", role=None)
    served = 'td_http_requests_total{method="GET",route="/api/v1/openapi.json",status="200"}'
    served_before = metric(s, served)
    conns_before = connections_gauge(s)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.connect(("127.0.0.1", s.port))
    payload = get("/api/v1/openapi.json") * count
    sender_done = threading.Event()

    def send():
        try:
            sock.sendall(payload)  # may block once the server stops reading: that is the point
        except OSError:
            pass
        sender_done.set()

    t = threading.Thread(target=send, daemon=True)
    t.start()
    try:
        time.sleep(0.5)
        # Others are served normally while that client sits on its responses.
        for _ in range(20):
            harness.expect_status(s.get("/healthz", role=None), 200)
        r = harness.expect_status(s.get("/api/v1/openapi.json", role=None), 200)
        expect(len(r.raw) == size)
        # The server stops reading that client's requests once 1 MiB of its responses wait
        # in the queue: what it produced fits the queue, the kernel's socket buffers (up to
        # 4 MiB send, 64 KiB receive here) and one pipeline of requests.
        produced = metric(s, served) - served_before - 1
        produced_mib = produced * size / float(1 << 20)
        expect(produced_mib < 12, "responses produced for a client that does not read are bounded",
               "%d responses, %.1f MiB, of %d asked (%d MiB)" % (produced, produced_mib, count, (count * size) >> 20))
        # The stalled connection is closed once the send timeout passes without progress.
        deadline = time.time() + SEND_TIMEOUT_MS / 1000.0 + 3.0
        while time.time() < deadline and connections_gauge(s) > conns_before:
            time.sleep(0.2)
        expect(connections_gauge(s) <= conns_before, "stalled connection closed at the send timeout")
    finally:
        sock.close()
    t.join(5)
    harness.expect_status(s.get("/healthz", role=None), 200)


if __name__ == "__main__":
    harness.main(server_args=SERVER_ARGS)
