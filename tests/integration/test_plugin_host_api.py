"""The host API members added in host 0.3, driven by the sdk_probe fixture plugin
(tests/fixtures/plugins/sdk_probe): non-JSON answers (respond_bytes), acting on core records
with the domain's rules and rollback (act), admin Lua evaluated in a fresh sandbox
(lua_eval), time zones, plugin-owned events (emit), typed row scans (query_rows), and api
roots: a plugin may serve several first-class areas, never one the core or another plugin
already serves."""

import json
import os

import harness
from harness import expect, expect_problem, expect_status

FIXTURES = os.path.join(os.environ.get("TALENTD_BUILD", "build"), "tests", "fixtures", "plugins")
SERVER_ARGS = ("--set", "plugins.path=%s" % json.dumps([os.path.abspath(FIXTURES)]),
               "--set", "plugins.allow_unsigned=true")


def enable(s, *names):
    for name in names or ("sdk_probe", "root_core"):
        s.cli("plugin", "enable", name, "--data", s.data, *SERVER_ARGS)


def plugins(s):
    return {p["name"]: p for p in expect_status(s.get("/api/v1/plugins"), 200).json["data"]}


def test_roots_and_refusals(s):
    p = plugins(s)
    expect(p["sdk_probe"]["loaded"], p["sdk_probe"])
    expect(not p["root_core"]["loaded"] and "core already serves /api/v1/jobs" in p["root_core"]["error"],
           p["root_core"])
    paths = sorted(r["path"] for r in p["sdk_probe"]["routes"])
    expect(all(x.startswith("/api/v1/probe-a/") or x.startswith("/api/v1/probe-b/") for x in paths), paths)
    expect("/elsewhere" not in " ".join(paths), paths)   # registered outside the roots: refused
    doc = expect_status(s.get("/api/v1/openapi.json"), 200).json
    expect("/api/v1/probe-b/lua" in doc["paths"], sorted(doc["paths"])[:5])
    expect_status(s.get("/api/v1/jobs"), 200)            # the core's area is untouched


def test_respond_bytes(s):
    r = expect_status(s.get("/api/v1/probe-a/bytes"), 200)
    expect(r.raw == b"a,b\r\n1,2\r\n", r.raw)
    expect(r.headers["content-type"] == "text/csv; charset=utf-8", r.headers)
    expect(r.headers["content-disposition"] == 'attachment; filename="probe.csv"', r.headers)
    expect_problem(s.get("/api/v1/probe-a/bytes?type=text/x-evil"), 422)
    expect_problem(s.get("/api/v1/probe-a/bytes?filename=..%2Fpasswd"), 422)
    expect_problem(s.get("/api/v1/probe-a/bytes?filename=a%22b"), 422)


def test_headers_and_reading_post(s):
    r = expect_status(s.post("/api/v1/probe-a/headers", {"note": "n"}, headers={"X-Probe": "hello"}), 200)
    expect(r.json["probe"] == "hello" and r.json["etag"] == 0, r.json)
    expect(r.headers.get("etag") == '"v7"', r.headers)
    expect(r.json["cookie"] == -2 and r.json["split"] == -2 and "set-cookie" not in r.headers, r.json, r.headers)
    expect(r.json["write_refused"] is True, "a reading POST must run in a read-only transaction", r.json)
    expect_problem(s.post("/api/v1/probe-a/headers", {"bogus": 1}), 422, "/bogus")   # its body is still checked


def new_candidate(s, n):
    return expect_status(s.post("/api/v1/candidates", {"first_name": "Probe%d" % n, "last_name": "Person"}),
                         201).json


def test_act_follows_domain_rules(s):
    cand = new_candidate(s, 1)
    job = expect_status(s.post("/api/v1/jobs", {"title": "Probe role", "status": "open"}), 201).json
    out = expect_status(s.post("/api/v1/probe-a/act", {"action": "application.create", "args": {
        "candidate_id": cand["id"], "job_id": job["id"], "source": "pool:Probe"}}), 200).json
    expect(out["rc"] == 0 and out["result"]["source"] == "pool:Probe", out)
    app = expect_status(s.get("/api/v1/applications/" + out["result"]["id"]), 200).json
    expect(app["candidate_id"] == cand["id"], app)
    # The same again: the core's one-active-application rule refuses it (TD_ECONFLICT = -4).
    again = s.post("/api/v1/probe-a/act", {"action": "application.create", "args": {
        "candidate_id": cand["id"], "job_id": job["id"], "source": "pool:Probe"}}).json
    expect(again["rc"] == -4 and again["why"], again)
    # Unknown fields are refused by the same schema as the REST API (TD_EINVAL = -2).
    bad = s.post("/api/v1/probe-a/act", {"action": "application.create", "args": {
        "candidate_id": cand["id"], "job_id": job["id"], "source": "x", "bogus": 1}}).json
    expect(bad["rc"] == -2 and "bogus" in bad["why"], bad)
    act = s.post("/api/v1/probe-a/act", {"action": "activity.add", "args": {
        "candidate_id": cand["id"], "kind": "email_out", "body": "Hello", "data": {"message_id": "<x@y>"}}}).json
    expect(act["rc"] == 0 and act["result"]["id"].startswith("act_"), act)
    acts = expect_status(s.get("/api/v1/candidates/%s/activities" % cand["id"]), 200).json["data"]
    expect(any(a["id"] == act["result"]["id"] and a["kind"] == "email_out" for a in acts), acts)
    touch = s.post("/api/v1/probe-a/act", {"action": "touch.record", "args": {
        "candidate_id": cand["id"], "channel": "pool", "source": "Probe pool"}}).json
    expect(touch["rc"] == 0, touch)
    rows = s.db_query("SELECT channel, source, actor_kind FROM touches WHERE id = ?", touch["result"]["id"])
    expect(rows == [("pool", "Probe pool", "user")], rows)
    for args in ({"candidate_id": cand["id"], "channel": "carrier-pigeon"}, {"channel": "pool"}):
        r = s.post("/api/v1/probe-a/act", {"action": "touch.record", "args": args}).json
        expect(r["rc"] == -2, r)
    expect(s.post("/api/v1/probe-a/act", {"action": "job.delete", "args": {}}).json["rc"] == -2)


def test_act_rolls_back_with_the_route(s):
    cand = new_candidate(s, 2)
    before = s.db_query("SELECT count(*) FROM touches")[0][0]
    r = s.post("/api/v1/probe-a/act", {"action": "touch.record", "fail_after": True, "args": {
        "candidate_id": cand["id"], "channel": "event"}})
    expect_problem(r, 409)
    expect(s.db_query("SELECT count(*) FROM touches")[0][0] == before, "a failed route left its act behind")


def test_act_needs_the_permission_and_visibility(s):
    # An interviewer calling the route acts as the interviewer: the core hides the candidate.
    cand = new_candidate(s, 3)
    r = s.post("/api/v1/probe-a/act", {"action": "touch.record", "args": {
        "candidate_id": cand["id"], "channel": "event"}}, role="interviewer").json
    expect(r["rc"] in (-3, -5), r)


def test_lua_eval(s):
    def run(chunk, vars=None, compile_only=False):
        body = {"chunk": chunk, "compile_only": compile_only}
        if vars is not None:
            body["vars"] = vars
        return expect_status(s.post("/api/v1/probe-b/lua", body), 200).json
    r = run("local ctx = ... return ctx.candidate.tags[1] == 'python' and #ctx.candidate.tags", {
        "candidate": {"tags": ["python", "go"]}})
    expect(r["rc"] == 0 and r["result"] == 2, r)
    expect(run("return nil")["result"] is None)
    bad = run("return (", compile_only=True)
    expect(bad["rc"] == -2 and "condition" in bad["why"], bad)
    expect(run("return 1", compile_only=True)["rc"] == 0)
    loop = run("while true do end")
    expect(loop["rc"] == -7 and "CPU" in loop["why"], loop)
    mem = run("local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(100) .. i end")
    expect(mem["rc"] in (-7, -1) and mem["why"], mem)
    expect(run("return io ~= nil or os.execute ~= nil")["result"] is False)
    err = run("error('nope')")
    expect(err["rc"] == -2 and "nope" in err["why"], err)


def test_time_zones(s):
    # 2026-07-01T12:00:00Z: Berlin is on summer time (+2 h); New York -4 h.
    at = 1782907200000
    berlin = expect_status(s.get("/api/v1/probe-b/tz?zone=Europe/Berlin&at=%d" % at), 200).json
    expect(berlin["rc_offset"] == 0 and berlin["offset"] == 7200, berlin)
    expect(berlin["rc_utc"] == 0 and berlin["utc"] == at - 7200000, berlin)
    ny = expect_status(s.get("/api/v1/probe-b/tz?zone=America/New_York&at=%d" % at), 200).json
    expect(ny["offset"] == -14400, ny)
    nowhere = expect_status(s.get("/api/v1/probe-b/tz?zone=Mars/Olympus&at=0"), 200).json
    expect(nowhere["rc_offset"] == -2 and nowhere["rc_utc"] == -2, nowhere)


def test_emit(s):
    ok = expect_status(s.post("/api/v1/probe-b/emit", {"type": "probe.happened"}), 200).json
    expect(ok["rc"] == 0, ok)
    rows = s.db_query("SELECT subject_type, subject_id FROM events WHERE type = 'probe.happened'")
    expect(rows == [("probe", "prb_1")], rows)
    for t in ("probe.undeclared", "candidate.created", "application.hired"):
        r = expect_status(s.post("/api/v1/probe-b/emit", {"type": t}), 200).json
        expect(r["rc"] == -5, t, r)


def test_query_rows(s):
    r = expect_status(s.get("/api/v1/probe-b/rows"), 200).json
    stages = s.db_query("SELECT count(*), sum(sla_days IS NULL) FROM stages")[0]
    expect(r["rc"] == 0 and r["rows"] == stages[0] and r["nulls"] == stages[1] and r["typed"] == stages[0], r, stages)


def test_two_plugins_cannot_share_a_root(s):
    s.stop()
    enable(s, "root_clash")
    s.start(*SERVER_ARGS)
    p = plugins(s)
    loaded = [n for n in ("sdk_probe", "root_clash") if p[n]["loaded"]]
    refused = [n for n in ("sdk_probe", "root_clash") if not p[n]["loaded"]]
    expect(len(loaded) == 1 and len(refused) == 1, p["sdk_probe"], p["root_clash"])
    expect("another plugin already serves /api/v1/probe-b" in p[refused[0]]["error"], p[refused[0]])


if __name__ == "__main__":
    harness.main(server_args=SERVER_ARGS, prepare=enable)
