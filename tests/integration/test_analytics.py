"""The analytics plugin's first tables over HTTP, on a small hand-built history: conversion,
time in stage and drop-off per stage of a job and per stage type across jobs, the cohort
filter, and who may see them. The definitions are unit-tested in test_analytics_metrics.c;
this checks the plugin reads the real transition log and answers the published shape."""

import harness
from harness import expect, expect_problem, expect_status

BASE = "/api/v1/analytics"


def enable(s):
    s.cli("plugin", "enable", "analytics", "--data", s.data)


def stage(job, stage_type):
    return next(st["id"] for st in job["stages"] if st["type"] == stage_type)


def act(s, app, action, body):
    return expect_status(s.post("/api/v1/applications/%s/%s" % (app["id"], action), body), 200).json


def build(s):
    job = expect_status(s.post("/api/v1/jobs", {"title": "Analyst", "status": "open", "openings": 2}), 201).json
    a = harness.new_application(s, job)                     # applied -> screen -> interview
    act(s, a, "moves", {"to_stage_id": stage(job, "screen")})
    act(s, a, "moves", {"to_stage_id": stage(job, "interview")})
    b = harness.new_application(s, job)                     # applied -> interview (skips screen), rejected
    act(s, b, "moves", {"to_stage_id": stage(job, "interview")})
    act(s, b, "reject", {"reason": "not a fit", "kind": "rejected"})
    c = harness.new_application(s, job)                     # withdrawn in applied
    act(s, c, "reject", {"reason": "took another offer", "kind": "withdrawn"})
    return job


def rows(r):
    return {row["type"]: row for row in r.json["stages"]}


def test_tables_for_one_job(s):
    job = build(s)
    conv = expect_status(s.get(BASE + "/conversion?job_id=" + job["id"]), 200)
    by = rows(conv)
    expect(conv.json["applications"] == 3, conv.json)
    # a and b reached interview (b skipped screen); c stayed in applied.
    expect(by["applied"]["reached"] == 3 and by["screen"]["reached"] == 2 and by["interview"]["reached"] == 2
           and by["offer"]["reached"] == 0, by)
    expect(abs(by["applied"]["conversion"] - 2 / 3) < 1e-9 and by["screen"]["conversion"] == 1.0
           and by["offer"]["conversion"] is None, by)
    expect(by["applied"]["stage_id"] == stage(job, "applied"), by["applied"])
    tis = rows(expect_status(s.get(BASE + "/time-in-stage?job_id=" + job["id"]), 200))
    # applied: a, b and c each left it (moved, moved, withdrawn): 3 closed; interview: a open, b closed by the rejection.
    expect(tis["applied"]["count"] == 3 and tis["applied"]["open"] == 0, tis["applied"])
    expect(tis["interview"]["count"] == 1 and tis["interview"]["open"] == 1, tis["interview"])
    expect(tis["offer"]["median_seconds"] is None, tis["offer"])
    drop = rows(expect_status(s.get(BASE + "/drop-off?job_id=" + job["id"]), 200))
    expect(drop["interview"]["rejected"] == 1 and drop["interview"]["reasons"][0]["reason"] == "not a fit", drop)
    expect(drop["applied"]["withdrawn"] == 1 and drop["applied"]["reasons"][0]["reason"] == "took another offer", drop)


def test_per_stage_type_across_jobs_and_cohort(s):
    build(s)
    conv = expect_status(s.get(BASE + "/conversion"), 200).json
    expect([r["type"] for r in conv["stages"]] == ["lead", "applied", "screen", "interview", "offer", "hired"], conv)
    expect(conv["applications"] >= 6 and all(r["stage_id"] is None for r in conv["stages"]), conv)
    empty = expect_status(s.get(BASE + "/conversion?from=2000-01-01&to=2000-01-02"), 200).json
    expect(empty["applications"] == 0, empty)


def test_errors_and_access(s):
    expect_status(s.get(BASE + "/conversion?job_id=job_nope"), 404)
    expect_status(s.get(BASE + "/conversion?from=yesterday"), 400)
    expect_status(s.get(BASE + "/conversion", role="interviewer"), 403)
    # A hiring manager on no job's team sees tables over no applications (not everyone's).
    mine = expect_status(s.get(BASE + "/conversion", role="hiring_manager"), 200).json
    expect(mine["applications"] == 0, mine)
    expect_status(s.get(BASE + "/conversion", role="recruiter"), 200)
    expect_status(s.get(BASE + "/conversion", role=None), 401)


def test_formats(s):
    import csv, io, xml.etree.ElementTree as ET
    job = build(s)
    q = "?job_id=" + job["id"]
    r = expect_status(s.get(BASE + "/conversion" + q + "&format=csv"), 200)
    expect(r.headers["content-type"].startswith("text/csv"), r.headers)
    expect('filename="conversion' in r.headers.get("content-disposition", ""), r.headers)
    table = list(csv.DictReader(io.StringIO(r.raw.decode("utf-8"))))
    as_json = rows(expect_status(s.get(BASE + "/conversion" + q), 200))
    expect([t["type"] for t in table] == list(as_json), table)
    expect(all(int(t["reached"]) == as_json[t["type"]]["reached"] for t in table), table)
    x = expect_status(s.get(BASE + "/drop-off" + q + "&format=xlsx"), 200)
    expect(x.raw[:2] == b"PK" and "spreadsheetml" in x.headers["content-type"], x.headers)
    svg = expect_status(s.get(BASE + "/time-in-stage" + q + "&format=svg"), 200)
    root = ET.fromstring(svg.raw)
    expect(root.tag.endswith("svg") and b"Interview" in svg.raw, svg.raw[:200])
    expect_problem(s.get(BASE + "/drop-off" + q + "&format=svg"), 400)   # no chart for drop-off
    expect_problem(s.get(BASE + "/conversion" + q + "&format=pdf"), 400)


def test_digest_without_mail_is_skipped(s):
    import time
    r = expect_status(s.request("POST", "/api/v1/analytics/digest"), 200).json
    expect(r["sent"] == 0 and "sequences" in r["skipped"], r)
    expect_status(s.request("POST", "/api/v1/analytics/digest", role="recruiter"), 403)
    # The weekly series was scheduled once the server had started (one pending row, Mondays 07:00).
    deadline = time.time() + 10
    rows = []
    while time.time() < deadline and not rows:
        rows = s.db_query("SELECT cron, status FROM scheduled_runs WHERE handler = 'analytics.digest'")
        time.sleep(0.1)
    expect(rows == [("0 7 * * 1", "pending")], rows)


if __name__ == "__main__":
    harness.main(prepare=enable)
