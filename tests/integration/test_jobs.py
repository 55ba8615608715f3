"""Jobs, their hiring team, openings and pipeline stages, and pipeline templates, over HTTP:
stages copied from the default template in order, dense positions through every stage
edit, soft-deleted stages, confidential and team-based visibility, field-naming 422s,
If-Match, and the events each write leaves in the outbox."""

import os
import sqlite3

import harness
from harness import expect, expect_problem, expect_status

DEFAULT_STAGES = [("Lead", "lead"), ("Applied", "applied"), ("Phone screen", "screen"),
                  ("Interview", "interview"), ("Offer", "offer"), ("Hired", "hired")]


def create_job(s, role="admin", **fields):
    body = {"title": "Backend engineer"}
    body.update(fields)
    return expect_status(s.post("/api/v1/jobs", body, role=role), 201).json


def events_for(s, subject_id):
    """(type, data) of the outbox rows about one subject, oldest first."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(s.data, "talentd.db"), uri=True)
    try:
        return [r[0] for r in db.execute(
            "SELECT type FROM events WHERE subject_id = ? ORDER BY rowid", (subject_id,))]
    finally:
        db.close()


def stage_view(job):
    return [(st["name"], st["type"], st["position"]) for st in job["stages"]]


def add_user(s, role, name):
    """A new user of role with a token; returns (user_id, token)."""
    email = "%s@example.test" % name
    u = expect_status(s.post("/api/v1/users", {"email": email, "name": name, "role": role}), 201).json
    token = s.cli("token", "create", "--data", s.data, "--email", email).strip()
    return u["id"], token


# ---------- create and read ----------

def test_create_copies_default_template_in_order(s):
    r = expect_status(s.post("/api/v1/jobs", {"title": "Data engineer", "department": "Data",
                                              "location": "Lisbon", "employment_type": "full_time"}), 201)
    job = r.json
    expect(job["id"].startswith("job_"), "random job id", job["id"])
    expect(r.headers.get("location") == "/api/v1/jobs/" + job["id"], "Location", r.headers.get("location"))
    expect(r.headers.get("etag") == '"v1"', "ETag of a new job", r.headers.get("etag"))
    expect(job["status"] == "draft" and job["confidential"] is False, "defaults", job)
    expect(job["department"] == "Data" and job["location"] == "Lisbon", "fields kept", job)
    expect(stage_view(job) == [(n, t, i) for i, (n, t) in enumerate(DEFAULT_STAGES)], "stages", stage_view(job))
    expect(len({st["id"] for st in job["stages"]}) == 6, "distinct stage ids")
    expect(len(job["openings"]) == 1 and job["openings"][0]["status"] == "open", "one opening by default",
           job["openings"])
    got = expect_status(s.get("/api/v1/jobs/" + job["id"]), 200)
    expect(got.json == job, "GET returns what POST returned", got.json, job)
    expect(got.headers.get("etag") == '"v1"', "GET ETag")
    expect(events_for(s, job["id"]) == ["job.created"], "job.created in the outbox", events_for(s, job["id"]))


def test_create_open_emits_opened(s):
    job = create_job(s, status="open")
    expect(events_for(s, job["id"]) == ["job.created", "job.opened"], "events", events_for(s, job["id"]))


def test_openings_as_count_or_list(s):
    job = create_job(s, openings=3)
    expect(len(job["openings"]) == 3, "three openings", job["openings"])
    expect(all(o["target_date"] is None and o["status"] == "open" for o in job["openings"]), "undated, open")
    job = create_job(s, openings=[{"target_date": "2027-03-01"}, {"target_date": None}, {}])
    expect([o["target_date"] for o in job["openings"]] == ["2027-03-01", None, None], "dates", job["openings"])
    job = create_job(s, openings=0)
    expect(job["openings"] == [], "no openings when asked for 0")
    r = s.post("/api/v1/jobs", {"title": "x", "openings": [{"target_date": "2027-02-30"}]})
    expect_problem(r, 422)
    pointers = [e["pointer"] for e in r.json["errors"]]
    expect(any(p.startswith("/openings") for p in pointers), "names the openings", pointers)
    expect_problem(s.post("/api/v1/jobs", {"title": "x", "openings": 101}), 422)


def test_create_validation_names_fields(s):
    expect_problem(s.post("/api/v1/jobs", {"department": "Eng"}), 422, "/title")
    expect_problem(s.post("/api/v1/jobs", {"title": ""}), 422, "/title")
    expect_problem(s.post("/api/v1/jobs", {"title": "x", "salary": 1}), 422, "/salary")
    expect_problem(s.post("/api/v1/jobs", {"title": "x", "status": "published"}), 422, "/status")
    expect_problem(s.post("/api/v1/jobs", {"title": "x", "hiring_team": {"owners": []}}), 422,
                   "/hiring_team/owners")
    expect_problem(s.post("/api/v1/jobs", {"title": "x", "custom_fields": {"no_such_field": 1}}), 422,
                   "/custom_fields/no_such_field")
    expect_problem(s.post("/api/v1/jobs", {"title": "x", "pipeline_template_id": "tpl_nope"}), 422,
                   "/pipeline_template_id")


def test_hiring_team_users_must_exist(s):
    ids = s.user_ids
    team = {"interviewers": [ids["interviewer"], ids["recruiter"], "usr_doesnotexist"]}
    r = expect_problem(s.post("/api/v1/jobs", {"title": "x", "hiring_team": team}), 422,
                       "/hiring_team/interviewers/2")
    expect(len(r.json["errors"]) == 1, "only the bad entry is named", r.json["errors"])
    before = expect_status(s.get("/api/v1/jobs?limit=100"), 200).json["data"]
    expect(not any(j["title"] == "x" for j in before), "nothing created by a refused request")


def test_hiring_team_kept_in_order_and_replaced_per_list(s):
    hm2, _ = add_user(s, "hiring_manager", "hm-order")
    ids = s.user_ids
    job = create_job(s, hiring_team={"hiring_managers": [hm2, ids["hiring_manager"]],
                                     "interviewers": [ids["interviewer"]]})
    team = job["hiring_team"]
    expect(team["hiring_managers"] == [hm2, ids["hiring_manager"]], "order kept", team)
    expect(team["interviewers"] == [ids["interviewer"]] and team["recruiters"] == [], "lists", team)
    r = expect_status(s.patch("/api/v1/jobs/" + job["id"], {"hiring_team": {"recruiters": [ids["recruiter"]]}}), 200)
    team = r.json["hiring_team"]
    expect(team["recruiters"] == [ids["recruiter"]], "recruiters set", team)
    expect(team["hiring_managers"] == [hm2, ids["hiring_manager"]], "other lists untouched", team)
    r = expect_status(s.patch("/api/v1/jobs/" + job["id"], {"hiring_team": {"interviewers": []}}), 200)
    expect(r.json["hiring_team"]["interviewers"] == [], "a list can be emptied")
    expect_problem(s.patch("/api/v1/jobs/" + job["id"], {"hiring_team": {"coordinators": ["usr_x", "usr_y"]}}),
                   422, "/hiring_team/coordinators/1")


# ---------- update ----------

def test_patch_fields_events_and_if_match(s):
    job = create_job(s, department="Sales")
    path = "/api/v1/jobs/" + job["id"]
    r = expect_status(s.patch(path, {"title": "Account executive", "department": None, "status": "open"},
                              headers={"If-Match": '"v1"'}), 200)
    expect(r.headers.get("etag") == '"v2"', "new ETag", r.headers.get("etag"))
    expect(r.json["title"] == "Account executive" and r.json["department"] is None and r.json["status"] == "open",
           "changed", r.json)
    expect(r.json["stages"] == job["stages"], "stages unchanged by a PATCH of fields")
    stale = s.patch(path, {"title": "Stale"}, headers={"If-Match": '"v1"'})
    expect_problem(stale, 412)
    expect(expect_status(s.get(path), 200).json["title"] == "Account executive", "412 changed nothing")
    expect_status(s.patch(path, {"status": "closed"}, headers={"If-Match": '"v2"'}), 200)
    expect_status(s.patch(path, {"status": "closed"}), 200)
    expect(events_for(s, job["id"]) == ["job.created", "job.updated", "job.opened", "job.updated", "job.closed",
                                        "job.updated"], "events", events_for(s, job["id"]))
    expect_problem(s.patch(path, {}), 422)
    expect_problem(s.patch(path, {"confidential": "yes"}), 422, "/confidential")
    expect_problem(s.patch(path, {"stages": []}), 422, "/stages")
    expect_problem(s.patch("/api/v1/jobs/job_nope", {"title": "x"}), 404)


def test_openings_add_close_reopen(s):
    job = create_job(s, openings=[{"target_date": "2027-01-15"}])
    path = "/api/v1/jobs/" + job["id"]
    first = job["openings"][0]["id"]
    r = expect_status(s.patch(path, {"openings": [{"target_date": "2027-06-01"}, {}]}), 200)
    openings = r.json["openings"]
    expect([o["target_date"] for o in openings] == ["2027-01-15", "2027-06-01", None], "added", openings)
    expect_problem(s.patch(path, {"openings": [{"id": first, "status": "closed"}]}), 422, "/openings/0/close_reason")
    expect_problem(s.patch(path, {"openings": [{}, {"id": "opn_nope", "status": "closed", "close_reason": "x"}]}),
                   422, "/openings/1/id")
    expect_problem(s.patch(path, {"openings": [{"status": "closed"}]}), 422, "/openings/0/status")
    expect_problem(s.patch(path, {"openings": [{"id": first, "close_reason": "why"}]}), 422,
                   "/openings/0/close_reason")
    expect(len(expect_status(s.get(path), 200).json["openings"]) == 3, "refused PATCHes added nothing")
    r = expect_status(s.patch(path, {"openings": [{"id": first, "status": "closed", "close_reason": "Budget cut"}]}),
                      200)
    o = [x for x in r.json["openings"] if x["id"] == first][0]
    expect(o["status"] == "closed" and o["close_reason"] == "Budget cut" and o["closed_at"], "closed", o)
    r = expect_status(s.patch(path, {"openings": [{"id": first, "status": "open", "target_date": None}]}), 200)
    o = [x for x in r.json["openings"] if x["id"] == first][0]
    expect(o["status"] == "open" and o["close_reason"] is None and o["closed_at"] is None
           and o["target_date"] is None, "reopened", o)


# ---------- visibility ----------

def test_confidential_job_hidden_from_recruiter_off_team(s):
    job = create_job(s, title="Secret CFO search", confidential=True)
    path = "/api/v1/jobs/" + job["id"]
    expect_problem(s.get(path, role="recruiter"), 404)
    expect_problem(s.patch(path, {"title": "x"}, role="recruiter"), 404)
    expect_problem(s.get(path + "/stages", role="recruiter"), 404)
    listed = expect_status(s.get("/api/v1/jobs?limit=100", role="recruiter"), 200).json["data"]
    expect(job["id"] not in [j["id"] for j in listed], "not listed for the recruiter")
    expect_status(s.patch(path, {"hiring_team": {"recruiters": [s.user_ids["recruiter"]]}}), 200)
    expect_status(s.get(path, role="recruiter"), 200)
    listed = expect_status(s.get("/api/v1/jobs?limit=100", role="recruiter"), 200).json["data"]
    expect(job["id"] in [j["id"] for j in listed], "listed once on the team")
    expect_status(s.patch(path, {"title": "CFO"}, role="recruiter"), 200)


def test_recruiter_creating_confidential_job_keeps_it(s):
    job = create_job(s, role="recruiter", title="Quiet search", confidential=True)
    expect(job["hiring_team"]["recruiters"] == [s.user_ids["recruiter"]], "creator joined", job["hiring_team"])
    expect_status(s.get("/api/v1/jobs/" + job["id"], role="recruiter"), 200)
    public = create_job(s, role="recruiter", title="Open search")
    expect(public["hiring_team"]["recruiters"] == [], "not added to non-confidential jobs")


def test_hiring_manager_sees_only_their_jobs(s):
    hm_id, hm_token = add_user(s, "hiring_manager", "hm-only")
    mine = create_job(s, title="HM job", hiring_team={"hiring_managers": [hm_id]})
    other = create_job(s, title="Not HM job")
    listed = expect_status(s.get("/api/v1/jobs?limit=100", token=hm_token), 200).json["data"]
    expect([j["id"] for j in listed] == [mine["id"]], "only their job", [j["id"] for j in listed])
    expect_status(s.get("/api/v1/jobs/" + mine["id"], token=hm_token), 200)
    expect_problem(s.get("/api/v1/jobs/" + other["id"], token=hm_token), 404)
    expect_problem(s.patch("/api/v1/jobs/" + mine["id"], {"title": "x"}, token=hm_token), 403)
    expect_problem(s.post("/api/v1/jobs/" + mine["id"] + "/stages", {"name": "x", "type": "screen"},
                          token=hm_token), 403)
    expect_problem(s.post("/api/v1/jobs", {"title": "x"}, token=hm_token), 403)


def test_interviewer_reads_jobs_they_interview(s):
    iv_id, iv_token = add_user(s, "interviewer", "iv-only")
    mine = create_job(s, title="IV job", hiring_team={"interviewers": [iv_id]})
    other = create_job(s, title="Not IV job", hiring_team={"hiring_managers": [iv_id]})
    listed = expect_status(s.get("/api/v1/jobs?limit=100", token=iv_token), 200).json["data"]
    expect([j["id"] for j in listed] == [mine["id"]], "only where they interview", [j["id"] for j in listed])
    expect_problem(s.get("/api/v1/jobs/" + other["id"], token=iv_token), 404)
    expect_problem(s.patch("/api/v1/jobs/" + mine["id"], {"title": "x"}, token=iv_token), 403)


# ---------- lists ----------

def test_list_filters_and_pagination(s):
    made = [create_job(s, title="Filter %d" % i, department="Filterdept", status="open" if i % 2 else "draft")
            for i in range(5)]
    want = [j["id"] for j in made]
    got = expect_status(s.get("/api/v1/jobs?department=Filterdept"), 200).json
    expect([j["id"] for j in got["data"]] == want and got["next_cursor"] is None, "department filter", got)
    got = expect_status(s.get("/api/v1/jobs?department=Filterdept&status=open"), 200).json["data"]
    expect([j["id"] for j in got] == want[1::2], "status filter", [j["id"] for j in got])
    seen, cursor = [], None
    while True:
        r = expect_status(s.get("/api/v1/jobs?department=Filterdept&limit=2" + ("&cursor=" + cursor if cursor else "")),
                          200).json
        expect(len(r["data"]) <= 2, "page size")
        seen += [j["id"] for j in r["data"]]
        cursor = r["next_cursor"]
        if not cursor:
            break
    expect(seen == want, "pages cover every job once, in order", seen)
    expect_problem(s.get("/api/v1/jobs?status=published"), 400, "/query/status")
    expect_problem(s.get("/api/v1/jobs?limit=0"), 400, "/query/limit")


# ---------- stages ----------

def test_stage_add_reorder_keeps_positions_dense(s):
    job = create_job(s)
    path = "/api/v1/jobs/%s/stages" % job["id"]
    r = expect_status(s.post(path, {"name": "Tech test", "type": "interview", "position": 3, "sla_days": 5}), 201)
    stage = r.json
    expect(stage["position"] == 3 and stage["sla_days"] == 5 and stage["type"] == "interview", "new stage", stage)
    expect(r.headers.get("location") == path + "/" + stage["id"], "Location", r.headers.get("location"))
    expect(r.headers.get("etag") == '"v2"', "the job's new ETag", r.headers.get("etag"))
    job2 = expect_status(s.get("/api/v1/jobs/" + job["id"]), 200).json
    names = [st["name"] for st in job2["stages"]]
    expect(names == ["Lead", "Applied", "Phone screen", "Tech test", "Interview", "Offer", "Hired"], "order", names)
    expect([st["position"] for st in job2["stages"]] == list(range(7)), "dense", stage_view(job2))
    r = expect_status(s.post(path, {"name": "Reference check", "type": "offer"}), 201)
    expect(r.json["position"] == 7, "appended by default", r.json)
    hired = job2["stages"][-1]["id"]
    r = expect_status(s.patch(path + "/" + hired, {"position": 0, "name": "Placed"}), 200)
    expect(r.json["position"] == 0 and r.json["name"] == "Placed" and r.json["type"] == "hired", "moved", r.json)
    job3 = expect_status(s.get("/api/v1/jobs/" + job["id"]), 200).json
    expect([st["name"] for st in job3["stages"]] ==
           ["Placed", "Lead", "Applied", "Phone screen", "Tech test", "Interview", "Offer", "Reference check"],
           "order after move", stage_view(job3))
    expect([st["position"] for st in job3["stages"]] == list(range(8)), "dense after move", stage_view(job3))
    lead = job3["stages"][1]["id"]
    expect_status(s.patch(path + "/" + lead, {"position": 7}), 200)
    job4 = expect_status(s.get("/api/v1/jobs/" + job["id"]), 200).json
    expect([st["name"] for st in job4["stages"]][-1] == "Lead", "moved to the end", stage_view(job4))
    expect([st["position"] for st in job4["stages"]] == list(range(8)), "dense", stage_view(job4))
    expect(events_for(s, job["id"]).count("job.updated") == 4, "job.updated per stage edit", events_for(s, job["id"]))


def test_stage_validation_and_if_match(s):
    job = create_job(s)
    path = "/api/v1/jobs/%s/stages" % job["id"]
    expect_problem(s.post(path, {"name": "x", "type": "assessment"}), 422, "/type")
    expect_problem(s.post(path, {"type": "screen"}), 422, "/name")
    expect_problem(s.post(path, {"name": "x", "type": "screen", "position": 7}), 422, "/position")
    expect_problem(s.post(path, {"name": "x", "type": "screen", "color": "red"}), 422, "/color")
    sid = job["stages"][2]["id"]
    expect_problem(s.patch(path + "/" + sid, {"position": 6}), 422, "/position")
    expect_problem(s.patch(path + "/" + sid, {}), 422)
    expect_problem(s.patch(path + "/stg_nope", {"name": "x"}), 404)
    expect_problem(s.post("/api/v1/jobs/job_nope/stages", {"name": "x", "type": "screen"}), 404)
    expect_problem(s.patch(path + "/" + sid, {"name": "Screen"}, headers={"If-Match": '"v7"'}), 412)
    r = expect_status(s.patch(path + "/" + sid, {"name": "Screen", "type": "interview"},
                              headers={"If-Match": '"v1"'}), 200)
    expect(r.json["name"] == "Screen" and r.json["type"] == "interview" and r.json["position"] == 2, "renamed", r.json)
    expect(r.headers.get("etag") == '"v2"', "job ETag moves with stage edits", r.headers.get("etag"))
    expect_problem(s.delete(path + "/" + sid, headers={"If-Match": '"v1"'}), 412)
    expect(len(expect_status(s.get("/api/v1/jobs/" + job["id"]), 200).json["stages"]) == 6, "refusals changed nothing")


def test_stage_soft_delete(s):
    job = create_job(s)
    path = "/api/v1/jobs/%s/stages" % job["id"]
    screen = job["stages"][2]
    expect_status(s.delete(path + "/" + screen["id"]), 204)
    job2 = expect_status(s.get("/api/v1/jobs/" + job["id"]), 200).json
    expect([st["name"] for st in job2["stages"]] == ["Lead", "Applied", "Interview", "Offer", "Hired"], "gone",
           stage_view(job2))
    expect([st["position"] for st in job2["stages"]] == list(range(5)), "renumbered densely", stage_view(job2))
    live = expect_status(s.get(path), 200).json["data"]
    expect(live == job2["stages"], "GET stages lists the live ones")
    every = expect_status(s.get(path + "?include_deleted=true"), 200).json["data"]
    deleted = [st for st in every if st["id"] == screen["id"]]
    expect(len(every) == 6 and len(deleted) == 1 and deleted[0].get("deleted_at"), "kept with deleted_at", every)
    expect(deleted[0]["name"] == "Phone screen" and deleted[0]["type"] == "screen", "still resolves", deleted)
    expect_problem(s.delete(path + "/" + screen["id"]), 404)
    expect_problem(s.patch(path + "/" + screen["id"], {"name": "x"}), 404)


def test_job_keeps_a_hired_stage(s):
    job = create_job(s)
    path = "/api/v1/jobs/%s/stages" % job["id"]
    hired = job["stages"][-1]["id"]
    expect_problem(s.delete(path + "/" + hired), 409)
    expect_problem(s.patch(path + "/" + hired, {"type": "offer"}), 409)
    second = expect_status(s.post(path, {"name": "Hired (contract)", "type": "hired"}), 201).json
    expect_status(s.delete(path + "/" + hired), 204)
    expect_problem(s.patch(path + "/" + second["id"], {"type": "offer"}), 409)
    types = [st["type"] for st in expect_status(s.get("/api/v1/jobs/" + job["id"]), 200).json["stages"]]
    expect(types == ["lead", "applied", "screen", "interview", "offer", "hired"], "types", types)


# ---------- pipeline templates ----------

def test_templates_crud_and_single_default(s):
    base = "/api/v1/pipeline-templates"
    templates = expect_status(s.get(base), 200).json["data"]
    default = [t for t in templates if t["is_default"]]
    expect(len(default) == 1 and default[0]["id"] == "tpl_default", "seeded default", templates)
    expect([(x["name"], x["type"]) for x in default[0]["stages"]] == DEFAULT_STAGES, "seed stages")
    expect_problem(s.post(base, {"name": "No hire", "stages": [{"name": "Lead", "type": "lead"}]}), 422, "/stages")
    expect_problem(s.post(base, {"name": "Empty", "stages": []}), 422, "/stages")
    expect_problem(s.post(base, {"name": "Bad", "stages": [{"name": "X", "type": "won"}]}), 422, "/stages/0/type")
    stages = [{"name": "Sourced", "type": "lead"}, {"name": "Chat", "type": "screen"}, {"name": "Placed", "type": "hired"}]
    r = expect_status(s.post(base, {"name": "Agency", "stages": stages}), 201)
    tpl = r.json
    expect(tpl["is_default"] is False and tpl["stages"] == stages, "created", tpl)
    expect(r.headers.get("location") == base + "/" + tpl["id"], "Location")
    expect_problem(s.post(base, {"name": "Agency", "stages": stages}), 409, "/name")
    job = create_job(s, pipeline_template_id=tpl["id"])
    expect(stage_view(job) == [("Sourced", "lead", 0), ("Chat", "screen", 1), ("Placed", "hired", 2)], "from template",
           stage_view(job))
    # Moving the default: exactly one at a time.
    r = expect_status(s.patch(base + "/" + tpl["id"], {"is_default": True}, headers={"If-Match": '"v1"'}), 200)
    expect(r.json["is_default"] is True and r.headers.get("etag") == '"v2"', "now default", r.json)
    defaults = [t["id"] for t in expect_status(s.get(base), 200).json["data"] if t["is_default"]]
    expect(defaults == [tpl["id"]], "exactly one default", defaults)
    expect(stage_view(create_job(s))[0] == ("Sourced", "lead", 0), "new jobs use the new default")
    expect_problem(s.patch(base + "/" + tpl["id"], {"is_default": False}), 409, "/is_default")
    expect_problem(s.delete(base + "/" + tpl["id"]), 409)
    expect_problem(s.patch(base + "/" + tpl["id"], {"name": "x"}, headers={"If-Match": '"v1"'}), 412)
    expect_status(s.patch(base + "/tpl_default", {"is_default": True}), 200)
    r = expect_status(s.patch(base + "/" + tpl["id"], {"name": "Agency v2", "stages": stages[::-1]}), 200)
    expect(r.json["name"] == "Agency v2" and r.json["stages"] == stages[::-1] and not r.json["is_default"], "edited")
    expect(stage_view(expect_status(s.get("/api/v1/jobs/" + job["id"]), 200).json)[0] == ("Sourced", "lead", 0),
           "existing jobs keep their stages")
    expect_problem(s.delete(base + "/" + tpl["id"], role="recruiter"), 403)
    expect_status(s.delete(base + "/" + tpl["id"]), 204)
    expect_problem(s.get(base + "/" + tpl["id"]), 404)
    expect_status(s.get("/api/v1/jobs/" + job["id"]), 200)


def test_template_permissions_and_pages(s):
    base = "/api/v1/pipeline-templates"
    stages = [{"name": "Hired", "type": "hired"}]
    r = expect_status(s.post(base, {"name": "By recruiter", "stages": stages}, role="recruiter"), 201)
    expect_status(s.patch(base + "/" + r.json["id"], {"name": "By recruiter 2"}, role="recruiter"), 200)
    expect_problem(s.post(base, {"name": "By HM", "stages": stages}, role="hiring_manager"), 403)
    expect_status(s.get(base, role="hiring_manager"), 200)
    expect_problem(s.get(base, role="interviewer"), 403)
    for i in range(3):
        expect_status(s.post(base, {"name": "Paged %d" % i, "stages": stages}), 201)
    seen, cursor = [], None
    while True:
        page = expect_status(s.get(base + "?limit=2" + ("&cursor=" + cursor if cursor else "")), 200).json
        seen += [t["id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    every = expect_status(s.get(base + "?limit=100"), 200).json["data"]
    expect(seen == [t["id"] for t in every] and len(seen) == len(set(seen)), "pages", seen)


if __name__ == "__main__":
    harness.main()
