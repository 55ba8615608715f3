"""The analytics plugin keeps the recruiting history in memory and refreshes it from what
changed (plugins/analytics/cache.h). These rounds interleave random changes through the REST
API (new applications, moves forwards and backwards, rejections, withdrawals, unrejections,
hires, a candidate erased) with reports, and after every round compare the tables with the
same numbers computed here from the raw transition log in the database: a stale or
half-updated cache shows up as a mismatch."""

import random

import harness
from harness import expect, expect_status

BASE = "/api/v1/analytics"
TYPES = ["lead", "applied", "screen", "interview", "offer", "hired"]


def enable(s):
    s.cli("plugin", "enable", "analytics", "--data", s.data)


def reference(s, job_id=None):
    """reached, open intervals and drop-offs per stage type, from the raw log."""
    rows = s.db_query(
        "SELECT t.application_rowid, t.kind, st.type FROM stage_transitions t"
        " JOIN stages st ON st.rowid = t.to_stage_rowid JOIN applications a ON a.rowid = t.application_rowid"
        " JOIN jobs j ON j.rowid = a.job_rowid WHERE (? IS NULL OR j.id = ?) ORDER BY t.application_rowid, t.rowid",
        job_id, job_id)
    furthest, state, drops = {}, {}, {t: 0 for t in TYPES}
    for app, kind, stype in rows:
        pos = TYPES.index(stype)
        furthest[app] = max(furthest.get(app, pos), pos)
        if kind in ("rejected", "withdrawn"):
            drops[stype] += 1
            state[app] = None
        else:
            state[app] = stype if kind != "hired" else "hired"
    reached = {t: sum(1 for f in furthest.values() if f >= i) for i, t in enumerate(TYPES)}
    open_ = {t: sum(1 for v in state.values() if v == t) for t in TYPES}
    return reached, open_, drops


def compare(s, job_id=None):
    q = "?job_id=" + job_id if job_id else ""
    reached, open_, drops = reference(s, job_id)
    key = "type"
    conv = {r[key]: r for r in expect_status(s.get(BASE + "/conversion" + q), 200).json["stages"]}
    tis = {r[key]: r for r in expect_status(s.get(BASE + "/time-in-stage" + q), 200).json["stages"]}
    drop = {r[key]: r for r in expect_status(s.get(BASE + "/drop-off" + q), 200).json["stages"]}
    for t in TYPES:
        if t not in conv:
            continue
        expect(conv[t]["reached"] == reached[t], "reached", t, conv[t], reached)
        expect(tis[t]["open"] == open_[t], "open", t, tis[t], open_)
        expect(drop[t]["rejected"] + drop[t]["withdrawn"] == drops[t], "drops", t, drop[t], drops)


def act(s, app, action, body=None):
    return s.post("/api/v1/applications/%s/%s" % (app["id"], action), body or {})


def random_change(s, rng, jobs, apps):
    job = rng.choice(jobs)
    roll = rng.random()
    if roll < 0.3 or not apps:
        apps.append(harness.new_application(s, job))
        apps[-1]["job"] = job
        return
    app = rng.choice(apps)
    stages = {st["type"]: st["id"] for st in app["job"]["stages"]}
    if roll < 0.65:
        target = rng.choice(["lead", "applied", "screen", "interview", "offer"])
        act(s, app, "moves", {"to_stage_id": stages[target]})
    elif roll < 0.8:
        act(s, app, "reject", {"reason": rng.choice(["not a fit", "salary"]),
                               "kind": rng.choice(["rejected", "withdrawn"])})
    elif roll < 0.9:
        act(s, app, "unreject", {})
    else:
        act(s, app, "hire", {})


def test_reports_follow_every_change(s):
    rng = random.Random(11)
    jobs = [expect_status(s.post("/api/v1/jobs", {"title": "Cache %d" % i, "status": "open", "openings": 20}),
                          201).json for i in range(2)]
    apps = []
    compare(s)   # the empty history, then one report per round so the cache refreshes each time
    for _ in range(12):
        for _ in range(rng.randrange(3, 9)):
            random_change(s, rng, jobs, apps)
        compare(s)
        compare(s, jobs[0]["id"])


def test_erasing_a_candidate_reloads(s):
    job = expect_status(s.post("/api/v1/jobs", {"title": "Erasure", "status": "open"}), 201).json
    gone = harness.new_application(s, job, to_stage="screen")
    harness.new_application(s, job)
    compare(s, job["id"])
    before = expect_status(s.get(BASE + "/conversion?job_id=" + job["id"]), 200).json["applications"]
    expect_status(s.delete("/api/v1/candidates/" + gone["candidate_id"]), 204)
    after = expect_status(s.get(BASE + "/conversion?job_id=" + job["id"]), 200).json["applications"]
    expect(after == before - 1, "the erased candidate's application is still counted", before, after)
    compare(s)


def test_a_history_over_the_limit_is_refused(s):
    """plugins.analytics.max_transitions caps the memory the history may take: past it every
    report answers 503 saying so, never a partial table."""
    t = harness.Server(extra_args=["--set", "plugins.analytics.max_transitions=10"])
    try:
        enable(t)
        t.start()
        job = expect_status(t.post("/api/v1/jobs", {"title": "Capped", "status": "open"}), 201).json
        for _ in range(3):
            harness.new_application(t, job, to_stage="screen")   # 2 transitions each: 6 of 10
        expect_status(t.get(BASE + "/conversion"), 200)
        for _ in range(3):
            harness.new_application(t, job, to_stage="screen")   # 12 of 10
        for path in ("/conversion", "/plan?quarter=2027Q1", "/velocity"):
            r = t.get(BASE + path)
            expect(r.status == 503 and "max_transitions" in r.json["detail"], path, r)
    finally:
        t.cleanup()


if __name__ == "__main__":
    harness.main(prepare=enable)
