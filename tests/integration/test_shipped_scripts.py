"""The rules shipped in scripts/: each is loaded through PUT /api/v1/scripts/{name} (so it
must load as it is), its effect checked through the API, then removed."""
import os
import sqlite3
import time

import harness
from harness import expect, expect_problem, expect_status

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts")
DAY_MS = 24 * 3600 * 1000
_seq = iter(range(1, 10**6))


def load(s, name):
    with open(os.path.join(SCRIPTS, name + ".lua"), "rb") as f:
        src = f.read()
    r = expect_status(s.request("PUT", "/api/v1/scripts/" + name, raw=src, headers={"Content-Type": "text/x-lua"}),
                      201)
    expect(r.json["loaded"] and r.json["description"], "loaded with its manifest", r.json)
    return r.json


def unload(s, name):
    expect_status(s.delete("/api/v1/scripts/" + name), 204)


def db_write(s, sql, *args):
    db = sqlite3.connect(os.path.join(s.data, "talentd.db"), timeout=10)
    try:
        db.execute(sql, args)
        db.commit()
    finally:
        db.close()


def new_job(s, openings=1, team=None):
    body = {"title": "Shipped %d" % next(_seq), "status": "open", "openings": openings}
    if team:
        body["hiring_team"] = team
    return expect_status(s.post("/api/v1/jobs", body), 201).json


def new_application(s, job, to_stage=None):
    return harness.new_application(s, job, to_stage)


def test_tag_by_keywords(s):
    load(s, "tag_by_keywords")
    c = expect_status(s.post("/api/v1/candidates", {"first_name": "Kw", "last_name": "One", "tags": ["referral"],
                                                    "resume_text": "Built Rust services on Kubernetes."}), 201).json
    expect(sorted(c["tags"]) == ["kubernetes", "referral", "rust"], "tags from the default keywords", c["tags"])
    plain = expect_status(s.post("/api/v1/candidates", {"first_name": "Kw", "last_name": "Two",
                                                        "resume_text": "Sales and marketing."}), 201).json
    expect(plain["tags"] == [], "no keyword, no tag", plain["tags"])
    unload(s, "tag_by_keywords")


def test_no_hire_without_opening(s):
    """The domain already refuses a hire without an open opening (and a move into a hired
    stage); the script is the belt to those braces: with it loaded, a hire without an opening
    is still refused and one with an opening still goes through."""
    load(s, "no_hire_without_opening")
    closed = new_job(s, openings=0)
    app = new_application(s, closed, to_stage="offer")
    r = s.post("/api/v1/applications/%s/hire" % app["id"], {})
    expect(r.status in (409, 422), "a hire without an open opening is refused", r.status, r.json)
    ok_job = new_job(s, openings=1)
    app2 = new_application(s, ok_job, to_stage="offer")
    r = s.post("/api/v1/applications/%s/hire" % app2["id"], {})
    expect_status(r, 200, "with an open opening the script allows the hire")
    unload(s, "no_hire_without_opening")


def test_reject_reason_after_interview(s):
    load(s, "reject_reason_after_interview")
    job = new_job(s)
    late = new_application(s, job, to_stage="interview")
    r = s.post("/api/v1/applications/%s/reject" % late["id"], {"reason": "   ", "kind": "rejected"})
    expect_problem(r, 422)
    expect("reason is required" in r.raw.decode(), "the script's reason", r.json)
    expect_status(s.post("/api/v1/applications/%s/reject" % late["id"], {"reason": "hired elsewhere",
                                                                           "kind": "rejected"}), 200)
    early = new_application(s, job)
    r = s.post("/api/v1/applications/%s/reject" % early["id"], {"reason": "   ", "kind": "rejected"})
    expect("reason is required" not in r.raw.decode(), "before the interview stage the script does not ask", r.json)
    unload(s, "reject_reason_after_interview")


def test_stale_task(s):
    load(s, "stale_task")
    rec = s.user_ids["recruiter"]
    job = new_job(s, team={"recruiters": [rec]})
    app = new_application(s, job)
    db_write(s, "UPDATE applications SET stage_entered_at = ? WHERE id = ?", int(time.time() * 1000) - 30 * DAY_MS,
             app["id"])
    series = s.db_query("SELECT id FROM scheduled_runs WHERE handler = 'core.stale_scan' AND status = 'pending'")
    expect(len(series) == 1, "the stale scan series", series)
    db_write(s, "UPDATE scheduled_runs SET run_at = 0 WHERE id = ?", series[0][0])
    deadline = time.time() + 20
    tasks = []
    while time.time() < deadline and not tasks:
        tasks = s.db_query("SELECT t.title, t.assignee_id FROM tasks t JOIN applications a"
                           " ON a.rowid = t.application_rowid WHERE a.id = ?", app["id"])
        time.sleep(0.1)
    expect(tasks, "a task was created for the stale application", s.db_query("SELECT * FROM deliveries"))
    expect(tasks[0][1] == rec and "stuck in applied" in tasks[0][0], "for the job's recruiter", tasks)
    unload(s, "stale_task")


if __name__ == "__main__":
    harness.main()
