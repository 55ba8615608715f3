"""Lua scripts managed live: PUT /api/v1/scripts/{name} loads a script beside the running
version and swaps it in only when it loads (a broken version changes nothing), a new
version's registrations replace the old ones, DELETE unloads it, a runaway handler is
stopped while the server keeps answering, and only admins may manage scripts."""
import json
import time

import harness
from harness import expect, expect_problem, expect_status

API = "/api/v1/scripts"
LUA = {"Content-Type": "text/x-lua"}

TAGGER_V1 = b"""-- talentd: {"description": "tags candidates", "role": "recruiter"}
talent.filter("candidate.before_create", function(c)
  local tags = c.tags or {}
  tags[#tags + 1] = "scripted"
  return {tags = tags}
end)
"""

BROKEN = b"""-- talentd: {"description": "broken"}
talent.filter("candidate.before_create", function(c)
  return {tags = {"x"}
end
"""

TAGGER_V3 = b"""-- talentd: {"description": "logs instead"}
talent.on("candidate.created", function(evt)
  talent.log("info", "tagger v3 saw a candidate")
end)
"""

RUNAWAY = b"""talent.on("candidate.created", function(evt)
  while true do end
end)
"""

N = [0]


def put(s, name, src, role="admin", headers=LUA):
    return s.request("PUT", API + "/" + name, raw=src, headers=headers, role=role)


def new_candidate(s):
    N[0] += 1
    r = expect_status(s.post("/api/v1/candidates", {"first_name": "Script%d" % N[0], "last_name": "Test"}), 201)
    return r.json


def deliveries(s, package):
    r = expect_status(s.get("/api/v1/deliveries?subscriber=%s&limit=100" % package), 200)
    return [d for d in r.json["data"] if d["subscriber"]["package"] == package]


def hooks_output(s):
    return s.cli("hooks", "--data", s.data)


def test_put_tags_candidates(s):
    r = expect_status(put(s, "tagger", TAGGER_V1), 201)
    expect(r.json["version"] == 1 and r.json["loaded"] is True, "version 1 loaded", r.json)
    expect(r.json["registrations"] == [{"kind": "filter", "name": "candidate.before_create", "priority": 0}],
           "the filter is listed", r.json["registrations"])
    expect(r.json["description"] == "tags candidates" and r.json["role"] == "recruiter", "manifest", r.json)
    expect("scripted" in new_candidate(s)["tags"], "the live script tagged the candidate")
    one = expect_status(s.get(API + "/tagger"), 200).json
    expect(one["source"] == TAGGER_V1.decode() and one["error"] is None, "source stored", one)
    users = s.db_query("SELECT name, role, password_hash FROM users WHERE email = ?",
                       "script+tagger@scripts.talentd.invalid")
    expect(users == [("Script tagger", "recruiter", None)], "the script's principal user, no password", users)


def test_broken_version_is_refused_and_old_keeps_running(s):
    r = expect_problem(put(s, "tagger", BROKEN), 422, "/source")
    msg = json.dumps(r.json)
    expect("tagger:4:" in msg or "tagger\\\"]:4:" in msg or ":4:" in msg, "the error names line 4", msg)
    one = expect_status(s.get(API + "/tagger"), 200).json
    expect(one["version"] == 1 and one["source"] == TAGGER_V1.decode(), "the stored version is untouched", one)
    expect("scripted" in new_candidate(s)["tags"], "the old version still tags")


def test_new_version_switches_registrations(s):
    r = expect_status(put(s, "tagger", TAGGER_V3), 200)
    expect(r.json["version"] == 2, "version 2", r.json)
    expect(r.json["registrations"] == [{"kind": "event", "name": "candidate.created", "priority": 0}],
           "now an event handler", r.json["registrations"])
    c = new_candidate(s)
    expect("scripted" not in c["tags"], "the old filter is gone", c)
    deadline = time.time() + 10
    while time.time() < deadline and "tagger v3 saw a candidate" not in s.log():
        time.sleep(0.1)
    expect("tagger v3 saw a candidate" in s.log(), "the new event handler ran: its log line is in the server log")
    expect(not [d for d in deliveries(s, "tagger") if d["status"] != "ok"], "and did not fail")
    listed = [x for x in expect_status(s.get(API), 200).json["data"] if x["name"] == "tagger"]
    expect(listed and listed[0]["registrations"][0]["kind"] == "event" and listed[0]["version"] == 2,
           "GET /api/v1/scripts shows the new registrations", listed)
    out = hooks_output(s)
    expect("tagger" in out and "candidate.created" in out, "talentd hooks lists the handler", out)
    expect("candidate.before_create" not in out, "talentd hooks no longer lists the filter", out)


def test_delete_removes_live(s):
    expect_status(put(s, "tagger", TAGGER_V1), 200)
    expect("scripted" in new_candidate(s)["tags"], "tagging again before the delete")
    expect_status(s.delete(API + "/tagger"), 204)
    expect("scripted" not in new_candidate(s)["tags"], "no effect after DELETE")
    expect_status(s.get(API + "/tagger"), 404)
    expect(not [x for x in expect_status(s.get(API), 200).json["data"] if x["name"] == "tagger"], "not listed")
    expect_status(s.delete(API + "/tagger"), 404)
    user = "script+tagger@scripts.talentd.invalid"
    expect(s.db_query("SELECT active FROM users WHERE email = ?", user) == [(0,)],
           "the script's user stays for history, inactive")
    expect_status(put(s, "tagger", TAGGER_V1), 201)
    expect(s.db_query("SELECT active FROM users WHERE email = ?", user) == [(1,)], "active again when reloaded")
    expect_status(s.delete(API + "/tagger"), 204)


def test_runaway_handler_is_stopped_while_server_answers(s):
    expect_status(put(s, "runaway", RUNAWAY), 201)
    new_candidate(s)
    worst = 0.0
    conn = s.connect()
    for _ in range(50):
        t0 = time.time()
        r = s.get("/healthz", role=None, conn=conn)
        worst = max(worst, time.time() - t0)
        expect_status(r, 200)
        time.sleep(0.01)
    for _ in range(10):
        t0 = time.time()
        expect_status(s.get("/api/v1/candidates?limit=1"), 200)
        worst = max(worst, time.time() - t0)
    conn.close()
    expect(worst < 0.5, "requests answered promptly during the runaway script (worst %.3fs)" % worst)
    deadline = time.time() + 15
    failed = []
    while time.time() < deadline:
        failed = [d for d in deliveries(s, "runaway") if d.get("last_error")]
        if failed:
            break
        time.sleep(0.2)
    expect(failed, "the runaway delivery failed", deliveries(s, "runaway"))
    err = failed[0]["last_error"]
    expect("runaway" in err and "budget" in err, "a clear error naming the script and the budget", err)
    expect_status(s.delete(API + "/runaway"), 204)


def test_reloads_while_events_flow(s):
    """Versions swapped and removed while deliveries run: the dispatcher never calls a retired
    registration (this crashed once: a freed entry was called before the resync)."""
    import threading
    v1 = b'talent.on("candidate.created", function(e) local x = e.subject.id end)\n'
    v2 = b'talent.on("candidate.*", function(e) local y = e.type end)\n'
    expect_status(put(s, "churn", v1), 201)
    stop = threading.Event()

    def create():
        conn = s.connect()
        while not stop.is_set():
            s.post("/api/v1/candidates", {"first_name": "Churn", "last_name": "Load"}, conn=conn)

    threads = [threading.Thread(target=create) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(30):
            expect_status(put(s, "churn", v2 if i % 2 else v1), 200)
            time.sleep(0.02)
        expect_status(s.delete("/api/v1/scripts/churn"), 204)
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join()
    expect(s.proc.poll() is None, "the server survived")
    # First attempts that work leave no delivery row: only failures would show here.
    bad = [d for d in deliveries(s, "churn") if d["status"] in ("failed", "dead")]
    expect(not bad, "no delivery of the churned script failed", bad[:3])
    expect_status(s.get("/healthz", role=None), 200)


def test_scheduled_runs_of_a_script_loaded_live(s):
    """A script PUT while the server runs gets its talent.on_run handler at once."""
    src = (b'talent.on_run("ping", function(payload) talent.log("info", "ping ran", {n = payload.n}) end)\n'
           b'talent.on("candidate.created", function(e) talent.schedule.after(10, "ping", {n = 7}) end)\n')
    expect_status(put(s, "live_runner", src), 201)
    new_candidate(s)
    deadline = time.time() + 15
    while time.time() < deadline and '"ping ran"' not in s.log():
        time.sleep(0.1)
    expect('"ping ran"' in s.log(), "the run reached the script's handler")
    runs = s.get("/api/v1/scheduled-runs?handler=script.live_runner.ping").json["data"]
    expect(runs and runs[0]["status"] == "done", runs)
    expect_status(s.delete(API + "/live_runner"), 204)


def test_only_admins(s):
    for role in ("recruiter", "hiring_manager", "interviewer"):
        expect_problem(s.get(API, role=role), 403)
        expect_problem(put(s, "sneaky", TAGGER_V1, role=role), 403)
        expect_problem(s.delete(API + "/tagger", role=role), 403)
    expect_status(s.get(API, role=None), 401)
    expect_status(s.get(API + "/sneaky"), 404)


def test_refusals(s):
    expect_problem(put(s, "big", b"-- " + b"x" * (300 * 1024) + b"\n"), 413)
    # Refused from the headers alone: the server does not read (or spool) 5 MB first.
    t0 = time.time()
    raw = s.raw_exchange(("PUT /api/v1/scripts/huge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                          "Content-Type: text/x-lua\r\nContent-Length: 5000000\r\n\r\n-- x\n"
                          % s.tokens["admin"]).encode(), timeout=5.0)
    expect(raw.startswith(b"HTTP/1.1 413") and time.time() - t0 < 3, "413 at once", raw[:200])
    expect_problem(put(s, "json", b'{"source": "x"}', headers={"Content-Type": "application/json"}), 415)
    expect_problem(put(s, "manifest", b'-- talentd: {"description": "d", "colour": "red"}\nreturn\n'), 422,
                   "/source")
    expect_problem(put(s, "badrole", b'-- talentd: {"role": "overlord"}\n'), 422, "/source")
    expect_problem(put(s, "Bad_Name", b"return\n"), 422)
    expect_problem(put(s, "empty", b""), 422, "/source")
    expect(not s.db_query("SELECT name FROM scripts WHERE name IN ('big', 'json', 'manifest', 'badrole', 'empty')"),
           "nothing refused was stored")


def test_cli_load_list_remove(s):
    import os
    import tempfile
    d = tempfile.mkdtemp(prefix="talentd-cli-script-")
    try:
        path = os.path.join(d, "cli_tagger.lua")
        with open(path, "wb") as f:
            f.write(TAGGER_V1)
        out = s.cli("script", "load", path, "--data", s.data)
        expect("cli_tagger" in out and "next start" in out, "load says when it takes effect", out)
        bad = os.path.join(d, "bad.lua")
        with open(bad, "wb") as f:
            f.write(BROKEN)
        p = __import__("subprocess").run([harness.BIN, "script", "load", bad, "--data", s.data],
                                         capture_output=True, text=True)
        expect(p.returncode != 0 and ":4:" in p.stderr, "a broken file is refused with its line", p.stderr)
        out = s.cli("script", "list", "--data", s.data)
        expect("cli_tagger" in out and "bad" not in out.split(), "listed", out)
        out = s.cli("script", "remove", "cli_tagger", "--data", s.data)
        expect("removed" in out, "removed", out)
        expect("cli_tagger" not in s.cli("script", "list", "--data", s.data), "gone")
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)


def test_cli_dry_run_commits_nothing(s):
    import os
    import tempfile
    cand = expect_status(s.post("/api/v1/candidates", {"first_name": "Dry", "last_name": "Run"}), 201).json
    d = tempfile.mkdtemp(prefix="talentd-dry-run-")
    try:
        path = os.path.join(d, "dry_tagger.lua")
        with open(path, "w") as f:
            f.write('talent.on("candidate.created", function(e)\n'
                    '  talent.tag(e.subject.id, "would-tag")\n'
                    '  talent.note(e.subject.id, "hello")\n'
                    'end)\n')
        before = s.db_query("SELECT (SELECT count(*) FROM activities), (SELECT count(*) FROM audit_log),"
                            " (SELECT count(*) FROM events)")
        out = s.cli("script", "dry-run", path, "--data", s.data)
        line = [l for l in out.splitlines() if cand["id"] in l]
        expect(line and '"tag"' in line[0] and "would-tag" in line[0] and '"note"' in line[0],
               "the would-be actions of the candidate's event", out[-2000:])
        after = s.db_query("SELECT (SELECT count(*) FROM activities), (SELECT count(*) FROM audit_log),"
                           " (SELECT count(*) FROM events)")
        expect(before == after, "a dry run commits nothing", before, after)
        got = expect_status(s.get("/api/v1/candidates/" + cand["id"]), 200).json
        expect("would-tag" not in got["tags"], got["tags"])
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)


def test_startup_loads_and_skips_broken(s):
    """A stored script loads at the next start; one that fails is skipped with its error."""
    expect_status(put(s, "boot_tagger", TAGGER_V1), 201)
    with __import__("sqlite3").connect("%s/talentd.db" % s.data) as db:
        db.execute("INSERT INTO scripts(name, source, updated_at) VALUES ('boot_broken', 'this is not lua', 0)")
    db.close()
    s.stop()
    s.start()
    expect("scripted" in new_candidate(s)["tags"], "loaded at start-up")
    broken = expect_status(s.get(API + "/boot_broken"), 200).json
    expect(broken["loaded"] is False and broken["error"], "the broken one is skipped with its error", broken)
    expect_status(s.delete(API + "/boot_broken"), 204)
    expect_status(s.delete(API + "/boot_tagger"), 204)


if __name__ == "__main__":
    harness.main()
