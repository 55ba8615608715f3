"""The analytics plugin's sources report (/api/v1/analytics/sources) and the touches it credits:
the touches the core records for every application (channel from the source), touches posted
by integrators through POST /api/v1/candidates/{id}/touches, hires through the REST API, then
the per-source table and the first-touch, last-touch and linear credit checked exactly against
hand-computed numbers (credit columns sum to the hires; touches after a hire do not count).
Also who may post and read touches, and the report's parameter errors and access rules. The
definitions are unit-tested in test_analytics_attribution.c."""

import datetime
import uuid

import harness
from harness import expect, expect_problem, expect_status

BASE = "/api/v1/analytics/sources"


def enable(s):
    s.cli("plugin", "enable", "analytics", "--data", s.data)


def new_job(s, dept, **extra):
    body = {"title": "Job %s" % uuid.uuid4().hex[:6], "status": "open", "department": dept, "openings": 3}
    body.update(extra)
    return expect_status(s.post("/api/v1/jobs", body), 201).json


def new_candidate(s):
    n = uuid.uuid4().hex[:10]
    return expect_status(s.post("/api/v1/candidates", {"first_name": "Src%s" % n, "emails": ["src%s@example.test" % n]}),
                         201).json


def apply(s, cand, job, source):
    return expect_status(s.post("/api/v1/applications", {"candidate_id": cand["id"], "job_id": job["id"],
                                                         "source": source}), 201).json


def stage(job, stage_type):
    return next(st["id"] for st in job["stages"] if st["type"] == stage_type)


def move(s, app, job, stage_type):
    expect_status(s.post("/api/v1/applications/%s/moves" % app["id"], {"to_stage_id": stage(job, stage_type)}), 200)


def hire(s, app):
    expect_status(s.post("/api/v1/applications/%s/hire" % app["id"], {}), 200)


def touch(s, cand, channel, source=None, at=None, role="admin"):
    body = {"channel": channel}
    if source:
        body["source"] = source
    if at:
        body["at"] = at
    return s.post("/api/v1/candidates/%s/touches" % cand["id"], body, role=role)


def later(minutes):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class World:
    """Two jobs of one fresh department and five candidates:
      a  applies to j1 via linkedin (board); an alumni-pool touch in January before; hired; a
         meetup touch after the hire (does not count).
      b  applies to j1 as a referral; a career-fair event in February and a glassdoor click in
         March before; hired: three touches, a third each.
      c  applies to j1 via indeed, moved to screen, rejected; a sequence touch and a linkedin
         event touch (so the label linkedin is board twice, event once: board).
      d  applies to j2 (the hiring manager's job) via linkedin, moved to interview, hired: one
         touch.
      e  applies to j1 from careers-page and stays in applied."""

    def __init__(self, s):
        self.dept = "Sources-%s" % uuid.uuid4().hex[:8]
        self.j1 = new_job(s, self.dept)
        self.j2 = new_job(s, self.dept, hiring_team={"hiring_managers": [s.user_ids["hiring_manager"]]})
        self.a, self.b, self.c, self.d, self.e = (new_candidate(s) for _ in range(5))
        self.app_a = apply(s, self.a, self.j1, "linkedin")
        expect_status(touch(s, self.a, "pool", "pool:alumni", "2026-01-10T09:00:00Z"), 201)
        hire(s, self.app_a)
        expect_status(touch(s, self.a, "event", "meetup", later(2)), 201)
        self.app_b = apply(s, self.b, self.j1, "referral")
        expect_status(touch(s, self.b, "event", "career-fair", "2026-02-10T09:00:00Z"), 201)
        expect_status(touch(s, self.b, "board", "glassdoor", "2026-03-10T09:00:00Z", role="recruiter"), 201)
        hire(s, self.app_b)
        self.app_c = apply(s, self.c, self.j1, "indeed")
        expect_status(touch(s, self.c, "sequence", "outreach", "2026-01-02T09:00:00Z"), 201)
        expect_status(touch(s, self.c, "event", "linkedin", "2026-01-03T09:00:00Z"), 201)
        move(s, self.app_c, self.j1, "screen")
        expect_status(s.post("/api/v1/applications/%s/reject" % self.app_c["id"],
                             {"reason": "not a fit", "kind": "rejected"}), 200)
        self.app_d = apply(s, self.d, self.j2, "linkedin")
        move(s, self.app_d, self.j2, "interview")
        hire(s, self.app_d)
        self.app_e = apply(s, self.e, self.j1, "careers-page")


W = None


def world(s):
    global W
    if W is None:
        W = World(s)
    return W


def by_source(report):
    return {r["source"]: r for r in report["sources"]}


def close(x, y):
    return abs(x - y) < 1e-9


def expect_credit(row, first, last, linear):
    c = row["credit"]
    expect(c["first_touch"] == first and c["last_touch"] == last and close(c["linear"], linear), row)


def test_applications_record_touches(s):
    w = world(s)
    # Every application ever created has its touch (ref_type application, ref_id its id).
    missing = s.db_query("SELECT count(*) FROM applications a WHERE NOT EXISTS (SELECT 1 FROM touches t"
                         " WHERE t.ref_type = 'application' AND t.ref_id = a.id"
                         " AND t.candidate_rowid = a.candidate_rowid AND t.at = a.applied_at)")
    expect(missing == [(0,)], missing)
    rows = dict(s.db_query("SELECT ref_id, channel || ' ' || source FROM touches WHERE ref_type = 'application'"))
    expect(rows[w.app_a["id"]] == "board linkedin" and rows[w.app_b["id"]] == "referral referral"
           and rows[w.app_c["id"]] == "board indeed" and rows[w.app_e["id"]] == "application careers-page", rows)
    # The job-board list ignores letter case and takes board:<name>; anything else is an application.
    job = new_job(s, "Sources-mapping-%s" % uuid.uuid4().hex[:6])
    for source, channel in (("LinkedIn", "board"), ("board:welcome-to-the-jungle", "board"),
                            ("StepStone", "board"), ("glassdoor", "board"), ("referrals", "application")):
        app = apply(s, new_candidate(s), job, source)
        got = s.db_query("SELECT channel, source, actor_kind FROM touches WHERE ref_id = ?", app["id"])
        expect(got == [(channel, source, "user")], source, got)


def test_touches_api(s):
    w = world(s)
    page = expect_status(s.get("/api/v1/candidates/%s/touches" % w.a["id"]), 200).json
    got = [(t["channel"], t["source"], t["ref_type"], t["ref_id"]) for t in page["data"]]
    expect(got == [("board", "linkedin", "application", w.app_a["id"]), ("pool", "pool:alumni", None, None),
                   ("event", "meetup", None, None)], got)
    expect(page["data"][1]["at"] == "2026-01-10T09:00:00.000Z" and page["next_cursor"] is None, page)
    expect(all(t["candidate_id"] == w.a["id"] and t["actor_kind"] == "user" for t in page["data"]), page)
    first = expect_status(s.get("/api/v1/candidates/%s/touches?limit=2" % w.a["id"]), 200).json
    expect(len(first["data"]) == 2 and first["next_cursor"], first)
    rest = expect_status(s.get("/api/v1/candidates/%s/touches?limit=2&cursor=%s" % (w.a["id"], first["next_cursor"])),
                         200).json
    expect([t["source"] for t in rest["data"]] == ["meetup"] and rest["next_cursor"] is None, rest)
    # source defaults to the channel; the answer is the stored touch.
    made = expect_status(touch(s, w.e, "event"), 201).json
    expect(made["source"] == "event" and made["channel"] == "event" and made["id"].startswith("tch_"), made)
    # Who may record: admins and recruiters; others get 403 on a candidate they see, 404 otherwise.
    for role in ("hiring_manager", "interviewer"):
        r = touch(s, w.e, "event", role=role)
        expect(r.status in (403, 404), role, r.status)
    expect_status(touch(s, w.e, "event", role=None), 401)
    # Bad bodies: 422 naming the field.
    expect_problem(touch(s, w.e, "phone"), 422)
    expect_problem(touch(s, w.e, "event", at="last tuesday"), 422)
    expect_problem(touch(s, w.e, "event", at=later(60)), 422, "/at")
    expect_problem(s.post("/api/v1/candidates/%s/touches" % w.e["id"], {"channel": "event", "extra": 1}), 422)
    expect_status(touch(s, {"id": "cand_nope"}, "event"), 404)
    expect_status(s.get("/api/v1/candidates/cand_nope/touches"), 404)


def test_sources_report(s):
    w = world(s)
    rep = expect_status(s.get(BASE + "?department=" + w.dept), 200).json
    rows = by_source(rep)
    expect(rep["applications"] == 5 and rep["hires"] == 3 and rep["untouched_hires"] == 0, rep)
    expect(sorted(rows) == ["career-fair", "careers-page", "glassdoor", "indeed", "linkedin", "pool:alumni",
                            "referral"], sorted(rows))  # meetup (after the hire) and outreach (no hire): no credit
    li = rows["linkedin"]
    expect(li["channel"] == "board" and li["applications"] == 2 and li["hires"] == 2
           and li["conversion_to_hire"] == 1.0, li)
    expect(li["reached"] == {"screen": 2, "interview": 2, "offer": 2, "hired": 2}, li)
    ind = rows["indeed"]
    expect(ind["applications"] == 1 and ind["hires"] == 0 and ind["conversion_to_hire"] == 0.0
           and ind["reached"] == {"screen": 1, "interview": 0, "offer": 0, "hired": 0} and ind["channel"] == "board", ind)
    cp = rows["careers-page"]
    expect(cp["channel"] == "application" and cp["reached"]["screen"] == 0 and cp["applications"] == 1, cp)
    ref = rows["referral"]
    expect(ref["channel"] == "referral" and ref["applications"] == 1 and ref["hires"] == 1, ref)
    # Credit: a = pool:alumni then linkedin; b = career-fair, glassdoor, referral; d = linkedin.
    expect_credit(li, 1, 2, 1.5)
    expect_credit(rows["pool:alumni"], 1, 0, 0.5)
    expect_credit(rows["career-fair"], 1, 0, 1 / 3)
    expect_credit(rows["glassdoor"], 0, 0, 1 / 3)
    expect_credit(ref, 0, 1, 1 / 3)
    expect_credit(ind, 0, 0, 0)
    pool = rows["pool:alumni"]
    expect(pool["channel"] == "pool" and pool["applications"] == 0 and pool["conversion_to_hire"] is None, pool)
    expect(rows["career-fair"]["channel"] == "event" and rows["glassdoor"]["channel"] == "board", rows)
    for col in ("first_touch", "last_touch", "linear"):
        total = sum(r["credit"][col] for r in rep["sources"])
        expect(close(total, rep["hires"]), col, total)
    expect(sum(r["hires"] for r in rep["sources"]) == rep["hires"], rep)


def test_sources_filters(s):
    w = world(s)
    one = expect_status(s.get(BASE + "?job_id=" + w.j2["id"]), 200).json
    expect(one["applications"] == 1 and one["hires"] == 1 and [r["source"] for r in one["sources"]] == ["linkedin"], one)
    row = one["sources"][0]
    expect(row["reached"] == {"screen": 1, "interview": 1, "offer": 1, "hired": 1}, row)
    expect_credit(row, 1, 1, 1)
    j1 = by_source(expect_status(s.get(BASE + "?job_id=" + w.j1["id"]), 200).json)
    expect(j1["linkedin"]["applications"] == 1 and j1["indeed"]["reached"]["screen"] == 1, j1)
    expect_credit(j1["linkedin"], 0, 1, 0.5)
    empty = expect_status(s.get(BASE + "?department=%s&from=2000-01-01&to=2000-01-02T00:00:00Z" % w.dept), 200).json
    expect(empty == {"sources": [], "applications": 0, "hires": 0, "untouched_hires": 0}, empty)


def test_sources_errors_and_access(s):
    w = world(s)
    for bad in ("from=yesterday", "to=2026-13-01", "from=2026-02-30", "from=2026-01-01T25:00:00Z",
                "from=2026-02-01&to=2026-01-01"):
        expect_problem(s.get(BASE + "?" + bad), 400)
    expect_status(s.get(BASE + "?job_id=job_nope"), 404)
    expect_status(s.get(BASE, role="interviewer"), 403)
    expect_status(s.get(BASE + "?job_id=" + w.j1["id"], role="interviewer"), 403)
    hm = expect_status(s.get(BASE + "?job_id=" + w.j2["id"], role="hiring_manager"), 200).json
    expect(hm["hires"] == 1 and [r["source"] for r in hm["sources"]] == ["linkedin"], hm)
    # Across jobs a hiring manager sees exactly their own jobs: here the same as j2 alone.
    mine = expect_status(s.get(BASE, role="hiring_manager"), 200).json
    expect(mine["hires"] == hm["hires"] and mine["sources"] == hm["sources"], mine, hm)
    expect_status(s.get(BASE + "?job_id=" + w.j1["id"], role="hiring_manager"), 404)
    expect_status(s.get(BASE + "?department=" + w.dept, role="recruiter"), 200)
    expect_status(s.get(BASE, role=None), 401)


if __name__ == "__main__":
    harness.main(prepare=enable)
