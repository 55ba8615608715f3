"""The webhooks plugin end to end: endpoints through the API, Standard Webhooks signatures
checked the way a receiver would, event-type filtering, retries that skip endpoints already
served, secret rotation with two signatures, the SSRF guard and the per-endpoint breaker.
Receivers are real HTTP servers on 127.0.0.1 (allowed with outbound.allow_hosts)."""

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time

import harness
from harness import expect, expect_problem, expect_status

received = []  # (path, headers, body bytes)
fail_counts = {}  # path -> how many more times to answer 503 ("always" for 500 forever)
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            left = fail_counts.get(self.path, 0)
            if left == "always":
                status = 500
            elif left:
                fail_counts[self.path] = left - 1
                status = 503
            else:
                status = 200
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


RECEIVER = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=RECEIVER.serve_forever, daemon=True).start()
BASE = "http://127.0.0.1:%d" % RECEIVER.server_address[1]
ARGS = ("--set", 'outbound.allow_hosts=["127.0.0.1:%d"]' % RECEIVER.server_address[1], "--set", "plugins.webhooks.disable_after_failures=3")
EP = "/api/v1/plugins/webhooks/endpoints"


def verify(secret, headers, body):
    """Standard Webhooks: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>; True if any signature matches."""
    key = base64.b64decode(secret[len("whsec_"):])
    content = ("%s.%s." % (headers["webhook-id"], headers["webhook-timestamp"])).encode() + body
    want = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return any(sig == "v1," + want for sig in headers["webhook-signature"].split(" "))


def deliveries_to(path, event_id=None, timeout=15, count=1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with lock:
            got = [r for r in received if r[0] == path and (event_id is None or r[1]["webhook-id"] == event_id)]
        if len(got) >= count:
            return got
        time.sleep(0.05)
    raise AssertionError("%s got %d deliveries, wanted %d" % (path, len(got), count))


def new_candidate(s, name="Ana"):
    cand = expect_status(s.post("/api/v1/candidates", {"first_name": name, "last_name": "Test"}), 201).json
    events = s.get("/api/v1/events?type=candidate.created&limit=100").json["data"]
    return cand, next(e["id"] for e in events if e["subject"]["id"] == cand["id"])


def endpoint(s, path, types, **kw):
    body = dict({"url": BASE + path, "event_types": types}, **kw)
    return expect_status(s.post(EP, body), 201).json


def enable(s):
    s.cli("plugin", "enable", "webhooks", "--data", s.data)


def test_signed_delivery(s):
    ep = endpoint(s, "/a", ["candidate.*"], description="CRM sync")
    expect(ep["secret"].startswith("whsec_") and ep["enabled"], ep)
    listed = expect_status(s.get(EP), 200).json["data"]
    expect([e["id"] for e in listed] == [ep["id"]] and "secret" not in listed[0], listed)
    cand, event_id = new_candidate(s)
    path, headers, body = deliveries_to("/a", event_id)[0]
    envelope = json.loads(body)
    expect(envelope["id"] == event_id and envelope["type"] == "candidate.created"
           and envelope["subject"]["id"] == cand["id"], envelope)
    expect(abs(int(headers["webhook-timestamp"]) - time.time()) < 60, headers)
    expect(verify(ep["secret"], headers, body), "signature verifies", headers)
    expect(not verify("whsec_" + base64.b64encode(b"x" * 32).decode(), headers, body), "a wrong key fails")
    s.secrets = {"/a": ep["secret"]}
    s.endpoint_a = ep["id"]


def test_event_types_filter(s):
    endpoint(s, "/jobs", ["job.created"])
    new_candidate(s)
    job = expect_status(s.post("/api/v1/jobs", {"title": "Welder", "status": "draft", "openings": 1}), 201).json
    got = deliveries_to("/jobs")
    expect([json.loads(b)["type"] for _, _, b in got] == ["job.created"], [json.loads(b)["type"] for _, _, b in got])
    expect(json.loads(got[0][2])["subject"]["id"] == job["id"], got[0][2])


def test_retry_skips_endpoints_already_served(s):
    with lock:
        fail_counts["/b"] = 2
    endpoint(s, "/b", ["candidate.created"])
    _, event_id = new_candidate(s, "Retry")
    deliveries_to("/b", event_id, timeout=30, count=3)  # 503, 503, then 200 after backoff
    time.sleep(0.5)
    expect(len(deliveries_to("/a", event_id)) == 1, "/a got the event once, not once per retry")


def test_rotation_signs_with_both_secrets(s):
    old = s.secrets["/a"]
    r = expect_status(s.post(EP + "/%s/rotate-secret" % s.endpoint_a, {"grace_seconds": 3600}), 200).json
    new = r["secret"]
    expect(new != old and r["previous_secret_expires_at"], r)
    _, event_id = new_candidate(s, "Rot")
    _, headers, body = deliveries_to("/a", event_id)[0]
    sigs = headers["webhook-signature"].split(" ")
    expect(len(sigs) == 2 and verify(new, headers, body) and verify(old, headers, body), headers)
    r = expect_status(s.post(EP + "/%s/rotate-secret" % s.endpoint_a, {"grace_seconds": 0}), 200).json
    _, event_id = new_candidate(s, "Rot2")
    _, headers, body = deliveries_to("/a", event_id)[0]
    expect(len(headers["webhook-signature"].split(" ")) == 1 and verify(r["secret"], headers, body)
           and not verify(new, headers, body), headers)


def test_bad_urls_are_refused(s):
    expect_problem(s.post(EP, {"url": "https://10.0.0.1/hook", "event_types": ["*"]}), 422, "/url")
    expect_problem(s.post(EP, {"url": "https://[::1]/hook", "event_types": ["*"]}), 422, "/url")
    expect_problem(s.post(EP, {"url": "http://hooks.example.test/x", "event_types": ["*"]}), 422, "/url")
    expect_problem(s.post(EP, {"url": "https://u:p@hooks.example.test/x", "event_types": ["*"]}), 422, "/url")
    expect_problem(s.post(EP, {"url": BASE + "/x", "event_types": ["Candidate"]}), 422, "/event_types/0")
    expect_status(s.post(EP, {"url": BASE + "/x", "event_types": ["*"]}, role="recruiter"), 403)


def test_private_name_is_refused_when_sending(s):
    ep = endpoint(s, "/unused", ["candidate.created"])
    # localhost resolves to loopback and is not on the allow list: refused at send time.
    r = expect_status(s.patch(EP + "/" + ep["id"], {"url": "https://localhost:9/hook"}), 200).json
    new_candidate(s, "Ssrf")
    deadline = time.time() + 15
    while time.time() < deadline:
        got = s.get(EP + "/" + ep["id"]).json
        if got["last_error"]:
            break
        time.sleep(0.1)
    expect("not allowed" in (got["last_error"] or ""), got)
    expect_status(s.delete(EP + "/" + ep["id"]), 204)
    expect_status(s.get(EP + "/" + r["id"]), 404)


def test_breaker_disables_a_dead_endpoint(s):
    with lock:
        fail_counts["/dead"] = "always"
    ep = endpoint(s, "/dead", ["candidate.created"])
    for i in range(3):
        new_candidate(s, "Dead%d" % i)
    deadline = time.time() + 20
    while time.time() < deadline:
        got = s.get(EP + "/" + ep["id"]).json
        if not got["enabled"]:
            break
        time.sleep(0.1)
    expect(not got["enabled"] and "3 failed events" in got["disabled_reason"], got)
    got = expect_status(s.patch(EP + "/" + ep["id"], {"enabled": True}), 200).json
    expect(got["enabled"] and got["consecutive_failures"] == 0 and got["disabled_reason"] is None, got)
    expect_status(s.delete(EP + "/" + ep["id"]), 204)


def test_endpoint_failures_do_not_open_the_plugin_breaker(s):
    # Five more events to an endpoint that always fails (its own breaker is at 3, so make a
    # fresh one per event): the core's breaker for the webhooks subscriber must stay closed.
    with lock:
        for i in range(5):
            fail_counts["/down%d" % i] = "always"
    for i in range(5):
        endpoint(s, "/down%d" % i, ["candidate.created"])
    for i in range(5):
        new_candidate(s, "Down%d" % i)
    deadline = time.time() + 20
    failed = []
    while time.time() < deadline and len(failed) < 5:
        failed = [json.loads(l) for l in s.log().splitlines()
                  if '"event_delivery_failed"' in l and '"webhooks"' in l]
        time.sleep(0.1)
    expect(len(failed) >= 5, "at least five failed deliveries in a row", len(failed))
    expect("event_subscriber_disabled" not in s.log(), "the core breaker stayed closed")
    _, event_id = new_candidate(s, "StillServed")
    deliveries_to("/a", event_id, timeout=5)


if __name__ == "__main__":
    harness.main(server_args=ARGS, prepare=enable)
