"""Sign-in, sessions with CSRF, API tokens, read-only scope, brute-force limits, and the
operational endpoints."""

import harness
from harness import expect, expect_problem, expect_status


def test_healthz_and_metrics(s):
    r = expect_status(s.get("/healthz", role=None), 200)
    expect(r.json["status"] == "ok")
    s.get("/api/v1/users")
    m = expect_status(s.get("/metrics", role=None), 200)
    text = m.raw.decode()
    expect('td_http_requests_total{method="GET",route="/api/v1/users",status="200"}' in text, "route counter")
    for name in ("td_http_request_duration_seconds_bucket", "td_event_loop_lag_seconds_count",
                 "td_db_commit_duration_seconds_count"):
        expect(name in text, "metric %s" % name)


def test_no_credentials_is_401_problem(s):
    r = expect_problem(s.get("/api/v1/users", role=None), 401)
    expect("www-authenticate" in r.headers)
    expect_problem(s.get("/api/v1/users", token="tdk_not-a-real-token"), 401)
    expect_problem(s.get("/api/v1/users", headers={"Authorization": "Basic abc"}, role=None), 401)


def test_unknown_route_and_method(s):
    expect_problem(s.get("/api/v1/nope"), 404)
    r = expect_problem(s.request("PUT", "/api/v1/users"), 405)
    expect("GET" in r.headers.get("allow", "") and "POST" in r.headers.get("allow", ""))


def test_session_sign_in_csrf_and_sign_out(s):
    bad = s.post("/api/v1/sessions", {"email": "admin@example.test", "password": "wrong password!"}, role=None)
    expect_problem(bad, 401)
    r = expect_status(s.post("/api/v1/sessions", {"email": "admin@example.test", "password": harness.PASSWORD},
                             role=None), 201)
    cookie = r.headers["set-cookie"]
    expect("HttpOnly" in cookie and "SameSite=Lax" in cookie, "cookie flags", cookie)
    sid = cookie.split(";")[0]
    csrf = r.json["csrf_token"]
    me = expect_status(s.get("/api/v1/users/me", role=None, headers={"Cookie": sid}), 200)
    expect(me.json["email"] == "admin@example.test")
    # A cookie-authenticated write without the CSRF token is refused, with it accepted.
    body = {"name": "from session"}
    expect_problem(s.post("/api/v1/tokens", body, role=None, headers={"Cookie": sid}), 401)
    expect_problem(s.post("/api/v1/tokens", body, role=None, headers={"Cookie": sid, "X-CSRF-Token": "x" * 32}), 401)
    expect_status(s.post("/api/v1/tokens", body, role=None, headers={"Cookie": sid, "X-CSRF-Token": csrf}), 201)
    expect_status(s.delete("/api/v1/sessions/current", role=None, headers={"Cookie": sid, "X-CSRF-Token": csrf}), 204)
    expect_problem(s.get("/api/v1/users/me", role=None, headers={"Cookie": sid}), 401)


def test_tokens_scoped_shown_once_and_revocable(s):
    r = expect_status(s.post("/api/v1/tokens", {"name": "ro", "scope": "read"}, role="recruiter"), 201)
    token, tid = r.json["token"], r.json["id"]
    expect(token.startswith("tdk_"))
    listed = expect_status(s.get("/api/v1/tokens", role="recruiter"), 200)
    expect(all("token" not in t for t in listed.json["data"]), "secrets never listed")
    expect(any(t["id"] == tid for t in listed.json["data"]))
    expect_status(s.get("/api/v1/users/me", token=token), 200)
    expect_problem(s.post("/api/v1/tokens", {"name": "x"}, token=token), 403)
    # Another non-admin user cannot revoke it; its owner can.
    expect_problem(s.delete("/api/v1/tokens/" + tid, role="interviewer"), 404)
    expect_status(s.delete("/api/v1/tokens/" + tid, role="recruiter"), 204)
    expect_problem(s.get("/api/v1/users/me", token=token), 401)


def test_expired_token_rejected(s):
    r = expect_problem(s.post("/api/v1/tokens", {"expires_at": "2001-01-01T00:00:00Z"}), 422, "/expires_at")
    expect(r)


def test_users_admin_only_and_validated(s):
    expect_problem(s.post("/api/v1/users", {"email": "x@example.test", "name": "X", "role": "recruiter"},
                          role="recruiter"), 403)
    r = expect_problem(s.post("/api/v1/users", {"email": "nope", "name": "", "role": "boss", "extra": 1}), 422)
    pointers = sorted(e["pointer"] for e in r.json["errors"])
    expect(pointers == ["/email", "/extra", "/name", "/role"], "every bad field named", pointers)
    new = expect_status(s.post("/api/v1/users", {"email": "new.user@example.test", "name": "New User",
                                                 "role": "interviewer", "password": "a long enough password"}), 201)
    expect(new.json["role"] == "interviewer" and "password" not in new.raw.decode())
    expect_problem(s.post("/api/v1/users", {"email": "NEW.user@example.test", "name": "Dup", "role": "admin"}), 409,
                   "/email")
    signed = s.post("/api/v1/sessions", {"email": "new.user@example.test", "password": "a long enough password"},
                    role=None)
    expect_status(signed, 201)


def test_bad_json_and_content_type(s):
    expect_problem(s.request("POST", "/api/v1/tokens", raw=b'{"name": ', headers={"Content-Type": "application/json"}),
                   400)
    expect_problem(s.request("POST", "/api/v1/tokens", raw=b'{"name":"x"}', headers={"Content-Type": "text/plain"}), 415)
    deep = b"[" * 40 + b"]" * 40
    expect_problem(s.request("POST", "/api/v1/tokens", raw=deep, headers={"Content-Type": "application/json"}), 400)
    dup = b'{"name":"a","name":"b"}'
    expect_problem(s.request("POST", "/api/v1/tokens", raw=dup, headers={"Content-Type": "application/json"}), 400)


def test_login_rate_limit(s):
    # A separate server with a tiny limit, so the shared one stays usable.
    other = harness.Server(extra_args=["--set", "auth.login_failures_per_account_per_hour=3"])
    try:
        other.start()
        body = {"email": "recruiter@example.test", "password": "definitely wrong"}
        for _ in range(3):
            expect_problem(other.post("/api/v1/sessions", body, role=None), 401)
        r = expect_problem(other.post("/api/v1/sessions", body, role=None), 429)
        expect(int(r.headers["retry-after"]) > 0)
        # Even the right password is refused while the account is locked out.
        good = {"email": "recruiter@example.test", "password": harness.PASSWORD}
        expect_problem(other.post("/api/v1/sessions", good, role=None), 429)
        other_account = {"email": "admin@example.test", "password": harness.PASSWORD}
        expect_status(other.post("/api/v1/sessions", other_account, role=None), 201)
    finally:
        other.cleanup()


def test_sigterm_stops_cleanly(s):
    other = harness.Server(users=False)
    try:
        other.start()
        rc = other.stop()
        expect(rc == 0, "exit code", rc)
        expect('"event":"stopped"' in other.log())
    finally:
        other.cleanup()


if __name__ == "__main__":
    harness.main()
