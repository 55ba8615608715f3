"""The analytics plugin's hiring plan, forecast and velocity over HTTP, on a history built
through the REST API (applications moved, rejected, withdrawn and hired; openings with target
dates): P(hire | stage type), expected hires, coverage and required weekly applicants checked
against numbers computed by hand from that history; the forecast on a deterministic history
(everyone hired: filled for sure) and its seeding; the weekly velocity counts; who may see
what (hiring managers only their jobs, 404 for others; interviewers 403; confidential jobs
for recruiters only when on the team); and 422s naming bad parameters. The computations
themselves are unit-tested in test_analytics_plan.c and test_analytics_forecast.c."""

import datetime
import uuid

import harness
from harness import expect, expect_problem, expect_status

BASE = "/api/v1/analytics"
DAY = datetime.timedelta(days=1)


def enable(s):
    s.cli("plugin", "enable", "analytics", "--data", s.data)


def next_quarter():
    """The quarter after today's: its name and first day."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    q = (today.month - 1) // 3 + 1
    year, q = (today.year + 1, 1) if q == 4 else (today.year, q + 1)
    return "%dQ%d" % (year, q), datetime.date(year, 3 * q - 2, 1)


def stage(job, stage_type):
    return next(st["id"] for st in job["stages"] if st["type"] == stage_type)


def act(s, app, action, body):
    return expect_status(s.post("/api/v1/applications/%s/%s" % (app["id"], action), body), 200).json


def new_job(s, dept, openings, **extra):
    body = {"title": "Job %s" % uuid.uuid4().hex[:6], "status": "open", "department": dept, "openings": openings}
    body.update(extra)
    return expect_status(s.post("/api/v1/jobs", body), 201).json


def get(s, path, status=200, role="admin"):
    return expect_status(s.get(BASE + path, role=role), status).json


class World:
    """One department with a history job, the hiring manager's plan job, a job they are not
    on, and a confidential job without the recruiter."""


def build(s):
    w = World()
    w.dept = "Plan-" + uuid.uuid4().hex[:8]
    w.quarter, w.q_start = next_quarter()
    d1, d2, d3 = (w.q_start + 14 * DAY).isoformat(), (w.q_start + 40 * DAY).isoformat(), (w.q_start + 60 * DAY).isoformat()
    later = (w.q_start + 200 * DAY).isoformat()  # due two quarters on: not in the plan
    # History: h1 applied -> screen -> hired; h2 applied -> screen -> rejected; h3 withdrawn in
    # applied; h4 applied -> interview -> hired. P(hire | applied) = 2/4, screen 1/2, interview 1/1.
    hist = new_job(s, w.dept, 2)
    h1 = harness.new_application(s, hist, "screen")
    act(s, h1, "hire", {})
    h2 = harness.new_application(s, hist, "screen")
    act(s, h2, "reject", {"reason": "skills", "kind": "rejected"})
    h3 = harness.new_application(s, hist)
    act(s, h3, "reject", {"reason": "took another offer", "kind": "withdrawn"})
    h4 = harness.new_application(s, hist, "interview")
    act(s, h4, "hire", {})
    # The plan job: 4 openings due in the quarter (d2 twice), one later; 3 active in applied,
    # 1 in screen, 1 in interview: expected = 3 * 0.5 + 0.5 + 1 = 3.
    hm = s.user_ids["hiring_manager"]
    w.plan_job = new_job(s, w.dept, [{"target_date": d2}, {"target_date": d1}, {"target_date": d2},
                                     {"target_date": d3}, {"target_date": later}],
                         hiring_team={"hiring_managers": [hm]})
    for _ in range(3):
        harness.new_application(s, w.plan_job)
    harness.new_application(s, w.plan_job, "screen")
    harness.new_application(s, w.plan_job, "interview")
    w.dates = sorted([d1, d2, d2, d3])
    # Not the hiring manager's (they interview there), and a confidential one.
    w.other_job = new_job(s, w.dept, [{"target_date": d1}],
                          hiring_team={"interviewers": [hm, s.user_ids["interviewer"]]})
    w.secret_job = new_job(s, w.dept, [{"target_date": d3}], confidential=True)
    harness.new_application(s, w.secret_job, "offer")
    return w


WORLD = {}


def world(s):
    if "w" not in WORLD:
        WORLD["w"] = build(s)
    return WORLD["w"]


def by_job(plan):
    return {j["job_id"]: j for j in plan["jobs"]}


def test_plan_numbers(s):
    w = world(s)
    plan = get(s, "/plan?quarter=%s&department=%s" % (w.quarter, w.dept))
    expect(plan["quarter"] == w.quarter and plan["from"] == w.q_start.isoformat(), plan)
    rates = plan["hire_rates"]
    expect(rates["window_days"] == 180 and rates["applied"] == 0.5 and rates["screen"] == 0.5
           and rates["interview"] == 1.0 and rates["lead"] is None, rates)
    # The confidential job's offer-stage application is active, so offer has no resolved history.
    expect(rates["offer"] is None, rates)
    jobs = by_job(plan)
    expect(set(jobs) == {w.plan_job["id"], w.other_job["id"], w.secret_job["id"]}, sorted(jobs))
    j = jobs[w.plan_job["id"]]
    expect(j["openings_left"] == 4 and j["target_dates"] == w.dates and j["deadline"] == w.dates[0], j)
    expect(j["active_by_stage_type"] == {"lead": 0, "applied": 3, "screen": 1, "interview": 1, "offer": 0,
                                         "hired": 0}, j)
    expect(abs(j["expected_hires"] - 3.0) < 1e-9 and abs(j["coverage"] - 0.75) < 1e-9, j)
    # required = (4 - 3) / 0.5 / weeks, weeks = (end of the first target day - median - now) / 7 days
    deadline = datetime.datetime.combine(datetime.date.fromisoformat(w.dates[0]) + DAY, datetime.time(),
                                         datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    weeks = ((deadline - now).total_seconds() - rates["median_applied_to_hire_seconds"]) / (7 * 86400)
    expect(abs(j["required_weekly_applicants"] - 2 / weeks) < 1e-3, j, weeks)
    other = jobs[w.other_job["id"]]
    expect(other["openings_left"] == 1 and other["expected_hires"] == 0 and other["coverage"] == 0, other)
    secret = jobs[w.secret_job["id"]]
    expect(secret["active_by_stage_type"]["offer"] == 1 and secret["expected_hires"] == 0, secret)
    t = plan["totals"]
    expect(t["jobs"] == 3 and t["openings_left"] == 6 and abs(t["expected_hires"] - 3.0) < 1e-9
           and abs(t["coverage"] - 0.5) < 1e-9, t)


def test_plan_access(s):
    w = world(s)
    q = "/plan?quarter=%s&department=%s" % (w.quarter, w.dept)
    # Recruiters: every job but the confidential one they are not on.
    rec = by_job(get(s, q, role="recruiter"))
    expect(set(rec) == {w.plan_job["id"], w.other_job["id"]}, sorted(rec))
    # Hiring managers: only the job they manage, with rates learned from the wider history.
    hm = get(s, q, role="hiring_manager")
    expect(set(by_job(hm)) == {w.plan_job["id"]}, hm)
    expect(hm["hire_rates"]["applied"] == 0.5 and abs(hm["jobs"][0]["expected_hires"] - 3.0) < 1e-9, hm)
    expect_status(s.get(BASE + q, role="interviewer"), 403)
    expect_status(s.get(BASE + q, role=None), 401)


def test_plan_bad_quarter(s):
    for bad in ("", "2027Q5", "2027", "Q1-2027", "2027Q1x"):
        expect_problem(s.get(BASE + "/plan?quarter=" + bad), 422, "/query/quarter")
    expect_problem(s.get(BASE + "/plan"), 422, "/query/quarter")


def test_forecast_access_and_parameters(s):
    w = world(s)
    f = "/forecast?job_id=%s&simulations=500&seed=7"
    a = get(s, f % w.plan_job["id"])
    b = get(s, f % w.plan_job["id"])
    # Same seed, same data: the same runs. required_weekly_applicants moves with the clock
    # (weeks left until the target), so it is compared loosely.
    ra, rb = a.pop("required_weekly_applicants"), b.pop("required_weekly_applicants")
    expect(a == b and abs(ra - rb) < 1e-6, a, b)
    expect(a["openings_left"] == 5 and a["target_date"] == w.dates[0] and a["simulations"] == 500
           and a["seed"] == 7 and a["active"] == 5 and a["history"] == "all", a)
    expect(0.0 <= a["p_filled_by_target"] <= 1.0, a)
    get(s, f % w.plan_job["id"], role="hiring_manager")
    get(s, f % w.other_job["id"], 404, role="hiring_manager")  # on the team, but not as hiring manager
    get(s, f % w.plan_job["id"], 403, role="interviewer")
    get(s, f % w.secret_job["id"], 404, role="recruiter")
    get(s, f % w.secret_job["id"])
    get(s, f % "job_nope", 404)
    expect_problem(s.get(BASE + "/forecast?simulations=10"), 422, "/query/job_id")
    for bad in ("0", "100001", "ten", "-1"):
        expect_problem(s.get(BASE + "/forecast?job_id=%s&simulations=%s" % (w.plan_job["id"], bad)), 422,
                       "/query/simulations")
    expect_problem(s.get(BASE + "/forecast?job_id=%s&seed=x" % w.plan_job["id"]), 422, "/query/seed")


def test_tables_for_hiring_managers(s):
    w = world(s)
    get(s, "/conversion?job_id=" + w.plan_job["id"], role="hiring_manager")
    get(s, "/conversion?job_id=" + w.other_job["id"], 404, role="hiring_manager")
    get(s, "/time-in-stage?job_id=" + w.secret_job["id"], 404, role="recruiter")
    get(s, "/drop-off?job_id=" + w.plan_job["id"], 403, role="interviewer")


def test_velocity(s):
    w = world(s)
    v = get(s, "/velocity?weeks=3&department=" + w.dept)
    expect(len(v["weeks"]) == 3, v)
    this_week = v["weeks"][-1]
    monday = datetime.datetime.now(datetime.timezone.utc).date()
    monday -= monday.weekday() * DAY
    expect(this_week["week_start"] == monday.isoformat() + "T00:00:00Z", this_week)
    # Everything was built this week (a test day that crosses midnight Sunday is not supported).
    # Entries: applied 4 (history) + 5 (plan job) + 1 (secret) = 10; screen h1 h2 + 1 = 3;
    # interview h4 + 1 = 2; offer 1; hired 2.
    e = this_week["entries"]
    expect(e == {"lead": 0, "applied": 10, "screen": 3, "interview": 2, "offer": 1, "hired": 2}, e)
    # Closed applied stays: h1 h2 h3 h4, and the plan job's screen/interview ones and the secret one's.
    expect(this_week["intervals"]["applied"] == 7 and this_week["median_seconds"]["applied"] is not None,
           this_week)
    expect(this_week["median_seconds"]["offer"] is None, this_week)
    hm = get(s, "/velocity?weeks=1&department=" + w.dept, role="hiring_manager")
    expect(hm["weeks"][0]["entries"]["applied"] == 5, hm)  # only the plan job
    get(s, "/velocity?job_id=" + w.other_job["id"], 404, role="hiring_manager")
    for bad in ("0", "105", "x"):
        expect_problem(s.get(BASE + "/velocity?weeks=" + bad), 422, "/query/weeks")


def test_forecast_deterministic_history(s):
    """A server of its own, where every application ever was hired: the job with as many
    applicants as openings is filled in every run (today), and the one with more openings than
    applicants never is. Also the history rule: the department's own once it has 50 stays."""
    own = harness.Server()
    try:
        enable(own)
        own.start()
        dept = "Det"
        target = (datetime.date.today() + 30 * DAY).isoformat()
        hist = new_job(own, dept, 3)
        for _ in range(3):
            act(own, harness.new_application(own, hist), "hire", {})
        full = new_job(own, dept, [{"target_date": target}, {"target_date": target}])
        short = new_job(own, dept, [{"target_date": target}] * 3)
        for _ in range(2):
            harness.new_application(own, full)
            harness.new_application(own, short)
        f = get(own, "/forecast?job_id=%s&simulations=2000&seed=3" % full["id"])
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        expect(f["p_filled_by_target"] == 1.0 and f["openings_left"] == 2 and f["target_date"] == target, f)
        expect(all(f["fill_date"][p] and f["fill_date"][p].startswith(today) for p in ("p10", "p50", "p90")), f)
        expect(f["required_weekly_applicants"] == 0.0, f)  # 2 expected hires (P = 1) for 2 openings
        g = get(own, "/forecast?job_id=%s&simulations=2000&seed=3" % short["id"])
        expect(g["p_filled_by_target"] == 0.0 and g["fill_date"] == {"p10": None, "p50": None, "p90": None}, g)
        # 3 openings, 2 expected: (3 - 2) / 1 / weeks, weeks = (target + 1 day - now) / 7 days
        expect(g["required_weekly_applicants"] is not None and 0.2 < g["required_weekly_applicants"] < 0.25, g)
        expect(f["history"] == "all", f)  # 3 stays in the department: too few to learn from alone
        # 24 more, each applied -> screen -> hired (2 stays): 51 in the department, with hires.
        more = new_job(own, dept, 24)
        for _ in range(24):
            act(own, harness.new_application(own, more, "screen"), "hire", {})
        f2 = get(own, "/forecast?job_id=%s&simulations=2000&seed=3" % full["id"])
        expect(f2["history"] == "department" and f2["p_filled_by_target"] == 1.0, f2)
        # A job in another department still learns from every job.
        lone = new_job(own, "Elsewhere", [{"target_date": target}])
        harness.new_application(own, lone)
        expect(get(own, "/forecast?job_id=%s&simulations=100" % lone["id"])["history"] == "all")
    finally:
        own.cleanup()


if __name__ == "__main__":
    harness.main(prepare=enable)
