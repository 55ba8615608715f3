"""server.started and application.stale through the real server: one server.started per
start (version, schema, plugins; a new subject id each time), exactly one cron series of
core.stale_scan however often the server starts, and a run of it reporting each stale
stage visit once (configured default per stage type, fresh applications left alone),
every payload valid against its schema.

Needs the serve wiring of td__stale_ensure_series, td__server_started_emit and
td__stale_register (core/api/app.c)."""

import json
import os
import sqlite3
import subprocess
import time

import harness
from harness import expect, expect_status

SCHEMA_DIR = os.path.join(harness.SOURCE, "schemas", "events")
DAY_MS = 24 * 3600 * 1000
HANDLER = "core.stale_scan"




def db_write(s, sql, *args):
    db = sqlite3.connect(os.path.join(s.data, "talentd.db"), timeout=10)
    try:
        db.execute(sql, args)
        db.commit()
    finally:
        db.close()


def feed(s, event_type):
    return expect_status(s.get("/api/v1/events?type=%s&limit=100" % event_type), 200).json["data"]


def expect_valid(event):
    path = os.path.join(SCHEMA_DIR, event["type"] + ".json")
    p = subprocess.run([harness.BIN, "validate", path], input=json.dumps(event), capture_output=True, text=True,
                       timeout=30)
    expect(p.returncode == 0, "%s does not match its schema: %s" % (event["type"], (p.stdout + p.stderr).strip()),
           event)


def live_series(s):
    return s.db_query("SELECT id, cron FROM scheduled_runs WHERE handler = ? AND cron IS NOT NULL"
                       " AND status IN ('pending', 'running')", HANDLER)


def run_scan_now(s, timeout=20):
    """Makes the pending occurrence of the series due now and waits until it has run."""
    series = live_series(s)
    expect(len(series) == 1, "one live series", series)
    run_id = series[0][0]
    db_write(s, "UPDATE scheduled_runs SET run_at = 0 WHERE id = ? AND status = 'pending'", run_id)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if s.db_query("SELECT status FROM scheduled_runs WHERE id = ?", run_id)[0][0] == "done":
            return
        time.sleep(0.05)
    raise AssertionError("the stale scan did not run: %s" % s.db_query("SELECT * FROM scheduled_runs"))


def test_server_started_once_per_start(s):
    events = feed(s, "server.started")
    expect(len(events) == 1, "one server.started", events)
    e = events[0]
    expect_valid(e)
    version = s.cli("version").strip()
    expect(e["data"]["version"] in version, "the running version", e["data"], version)
    latest = s.db_query("SELECT max(version) FROM schema_migrations")[0][0]
    expect(e["data"]["schema"] == latest, "the schema version", e["data"], latest)
    expect(e["data"]["plugins"] == [], "no plugin enabled in this data directory", e["data"])
    expect(e["actor"] == {"id": None, "kind": "system"}, "the system acts", e["actor"])
    expect(e["subject"]["type"] == "server" and e["subject"]["id"].startswith("srv_"), e["subject"])


def test_one_cron_series(s):
    series = live_series(s)
    expect(len(series) == 1 and series[0][1] == "*/10 * * * *", "one series every 10 minutes", series)


def make_application(s, job, to_stage=None, entered_days_ago=0):
    app = harness.new_application(s, job, to_stage)
    entered = int(time.time() * 1000) - entered_days_ago * DAY_MS
    db_write(s, "UPDATE applications SET stage_entered_at = ? WHERE id = ?", entered, app["id"])
    return {"id": app["candidate_id"]}, app, entered


def test_stale_visits_are_reported_once(s):
    job = expect_status(s.post("/api/v1/jobs", {"title": "Stale Engineer", "status": "open", "openings": 1}),
                        201).json
    cand_a, app_a, _ = make_application(s, job, entered_days_ago=8)      # applied, default 7: stale
    _, app_b, _ = make_application(s, job, to_stage="screen", entered_days_ago=3)  # screen, configured 2: stale
    _, app_c, _ = make_application(s, job, entered_days_ago=1)                   # applied: fresh
    _, app_d, _ = make_application(s, job, to_stage="interview", entered_days_ago=30)
    expect_status(s.post("/api/v1/applications/%s/reject" % app_d["id"], {"reason": "timing", "kind": "rejected"}),
                  200)  # closed: never stale
    run_scan_now(s)
    events = feed(s, "application.stale")
    subjects = sorted(e["subject"]["id"] for e in events)
    expect(subjects == sorted([app_a["id"], app_b["id"]]), "the two stale applications, once each", subjects)
    for e in events:
        expect_valid(e)
    a = next(e for e in events if e["subject"]["id"] == app_a["id"])
    applied = next(st for st in job["stages"] if st["type"] == "applied")
    expect(a["data"]["candidate_id"] == cand_a["id"] and a["data"]["job_id"] == job["id"], a["data"])
    expect(a["data"]["stage"] == {"id": applied["id"], "type": "applied"}, a["data"])
    expect(a["data"]["sla_days"] == 7 and a["data"]["days_in_stage"] == 8, a["data"])
    expect(a["actor"] == {"id": None, "kind": "system"}, a["actor"])
    b = next(e for e in events if e["subject"]["id"] == app_b["id"])
    expect(b["data"]["sla_days"] == 2 and b["data"]["stage"]["type"] == "screen", "the configured default", b)
    # The series went on; its next run reports nothing new.
    run_scan_now(s)
    expect(len(feed(s, "application.stale")) == 2, "no repeat for the same visits")
    # A new visit: app_a moves to screen and stays there past the 2 days.
    screen = next(st["id"] for st in job["stages"] if st["type"] == "screen")
    expect_status(s.post("/api/v1/applications/%s/moves" % app_a["id"], {"to_stage_id": screen}), 200)
    db_write(s, "UPDATE applications SET stage_entered_at = ? WHERE id = ?",
             int(time.time() * 1000) - 2 * DAY_MS - 1000, app_a["id"])
    run_scan_now(s)
    events = [e for e in feed(s, "application.stale") if e["subject"]["id"] == app_a["id"]]
    expect([e["data"]["stage"]["type"] for e in events] == ["applied", "screen"], "a new visit, a new event", events)
    expect(events[0]["data"]["entered_stage_at"] < events[1]["data"]["entered_stage_at"], events)


def test_restart_adds_one_server_started_and_keeps_one_series(s):
    first = feed(s, "server.started")
    s.stop()
    s.start()
    events = feed(s, "server.started")
    expect(len(events) == len(first) + 1, "one more server.started", events)
    expect(len({e["subject"]["id"] for e in events}) == len(events), "a new id per start", events)
    expect(len(live_series(s)) == 1, "still one series", live_series(s))


if __name__ == "__main__":
    harness.main(server_args=("--set", "applications.stale_after_days.screen=2"))
