"""`talentd demo`: the data set `make run` serves is realistic and every printed login works."""

import os
import re
import subprocess
import tempfile

import harness
from harness import expect, expect_status


def sql(data, query):
    out = subprocess.run(["sqlite3", os.path.join(data, "talentd.db"), query], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def analytics_are_plausible(s, auth, job_ids):
    """The demo's analytics (enabled by the demo) give non-degenerate numbers in every report."""
    import datetime
    get = lambda path: expect_status(s.get("/api/v1/analytics/" + path, role=None, headers=auth), 200).json
    conv = {r["type"]: r for r in get("conversion")["stages"]}
    for t in ("applied", "screen", "interview", "offer"):
        expect(0.05 < conv[t]["conversion"] < 0.95, "conversion of %s" % t, conv[t])
    tis = {r["type"]: r for r in get("time-in-stage")["stages"]}
    for t in ("applied", "screen", "interview", "offer"):
        expect(tis[t]["count"] > 20 and 86400 <= tis[t]["median_seconds"] <= 30 * 86400, "time in %s" % t, tis[t])
    drop = {r["type"]: r for r in get("drop-off")["stages"]}
    expect(all(len(drop[t]["reasons"]) >= 2 for t in ("applied", "screen", "interview")), drop)
    src = get("sources")
    credited = [r for r in src["sources"] if r["credit"]["linear"] > 0]
    expect(src["hires"] >= 20 and len(credited) >= 6, "hires credited to several sources", src["hires"], len(credited))
    expect(any(r["channel"] in ("event", "pool") for r in credited), "earlier touches share the credit", credited)
    today = datetime.date.today()
    quarter = "%dQ%d" % (today.year, (today.month - 1) // 3 + 1)
    plan = get("plan?quarter=" + quarter)
    expect(len(plan["jobs"]) >= 3 and plan["totals"]["coverage"] is not None and plan["totals"]["coverage"] > 0, plan["totals"])
    velocity = get("velocity?weeks=8")["weeks"]
    expect(sum(w["entries"]["applied"] for w in velocity) > 50, velocity)
    forecasts = [get("forecast?job_id=%s&simulations=2000" % j) for j in job_ids]
    expect(any(f["p_filled_by_target"] and f["p_filled_by_target"] > 0 for f in forecasts),
           "some job can be filled by its target", [(f["openings_left"], f["p_filled_by_target"]) for f in forecasts])


def test_demo_data_set(s):
    d = tempfile.mkdtemp(prefix="talentd-demo-")
    out = subprocess.run([harness.BIN, "demo", "--data", d], capture_output=True, text=True, timeout=300)
    expect(out.returncode == 0, "demo failed", out.stderr[-2000:])
    logins = dict((role, (email, pw)) for role, email, pw in
                  re.findall(r"^\s+(\w+)\s+(\S+@\S+)\s+(\S+)$", out.stdout, re.M))
    expect(set(logins) == set(harness.ROLES), "one login per role", out.stdout)
    expect(oct(os.stat(os.path.join(d, "demo-logins.txt")).st_mode & 0o777) == "0o600", "logins file private")

    expect(sql(d, "SELECT count(*), count(DISTINCT department) FROM jobs") == "8|4", "8 jobs in 4 departments")
    candidates = int(sql(d, "SELECT count(*) FROM candidates"))
    expect(1900 <= candidates <= 2100, "about 2,000 candidates", candidates)
    applications = int(sql(d, "SELECT count(*) FROM applications"))
    expect(2900 <= applications <= 3000, "about 3,000 applications", applications)
    span_days = float(sql(d, "SELECT (max(at) - min(at)) / 86400000.0 FROM stage_transitions"))
    expect(240 <= span_days <= 310, "transitions span about 9 months", span_days)
    # Believable funnel: every status present, hires a small share, rejections at every stage type.
    by_status = dict(line.split("|") for line in sql(d, "SELECT status, count(*) FROM applications GROUP BY 1").split())
    expect(set(by_status) == {"active", "rejected", "withdrawn", "hired"}, by_status)
    hired = int(by_status["hired"])
    expect(0.01 * applications <= hired <= 0.06 * applications, "hire rate", hired)
    reject_stages = sql(d, "SELECT DISTINCT s.type FROM stage_transitions t JOIN stages s ON s.rowid = t.to_stage_rowid"
                           " WHERE t.kind IN ('rejected', 'withdrawn')").split()
    expect({"applied", "screen", "interview", "offer"} <= set(reject_stages), "drop-outs at every stage", reject_stages)
    sources = int(sql(d, "SELECT count(DISTINCT source) FROM applications"))
    expect(sources >= 5, "several sources", sources)
    # Every move is in the log: an application's current stage is its last transition's target.
    drift = sql(d, "SELECT count(*) FROM applications a WHERE a.stage_rowid != (SELECT t.to_stage_rowid FROM"
                   " stage_transitions t WHERE t.application_rowid = a.rowid ORDER BY t.rowid DESC LIMIT 1)")
    expect(drift == "0", "stage matches the transition log", drift)

    other = harness.Server(data_dir=d, users=False)
    try:
        other.start()
        for role, (email, password) in logins.items():
            r = expect_status(other.post("/api/v1/sessions", {"email": email, "password": password}, role=None), 201)
            expect(r.json["user"]["role"] == role)
        r = expect_status(other.post("/api/v1/sessions", {"email": logins["recruiter"][0],
                                                          "password": logins["recruiter"][1]}, role=None), 201)
        cookie = r.headers["set-cookie"].split(";")[0]
        jobs = expect_status(other.get("/api/v1/jobs", role=None, headers={"Cookie": cookie}), 200).json["data"]
        expect(len(jobs) == 8, "the recruiter is on every demo job's team", len(jobs))
        found = expect_status(other.get("/api/v1/candidates?q=kubernetes", role=None, headers={"Cookie": cookie}), 200)
        expect(len(found.json["data"]) > 0, "search finds resume words")
        analytics_are_plausible(other, {"Cookie": cookie}, [j["id"] for j in jobs])
    finally:
        other.cleanup()


if __name__ == "__main__":
    harness.main(start=False, users=False)
