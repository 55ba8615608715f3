"""Tasks (to-dos) over HTTP: creation with defaults and links, validation, PATCH with
If-Match and completion, list filters and pagination, events, and who sees which task."""

import itertools

import harness
from harness import expect, expect_problem, expect_status

_seq = itertools.count(1)




def make_job(s, **fields):
    body = {"title": "Job %d" % next(_seq), "status": "open"}
    body.update(fields)
    return expect_status(s.post("/api/v1/jobs", body), 201).json


def make_candidate(s):
    n = next(_seq)
    body = {"first_name": "Bo%d" % n, "last_name": "Chen", "emails": ["bo%d@example.test" % n]}
    return expect_status(s.post("/api/v1/candidates", body), 201).json


def make_application(s, job=None):
    job = job or make_job(s)
    cand = make_candidate(s)
    body = {"candidate_id": cand["id"], "job_id": job["id"], "source": "web"}
    return expect_status(s.post("/api/v1/applications", body), 201).json


def make_task(s, role="admin", **fields):
    body = {"title": "Call back %d" % next(_seq)}
    body.update(fields)
    return expect_status(s.post("/api/v1/tasks", body, role=role), 201)


def test_create_and_get(s):
    r = make_task(s, role="recruiter", due_at="2030-05-01T09:00:00+02:00")
    t = r.json
    expect(t["id"].startswith("tsk_") and r.headers.get("etag") == '"v1"', r.headers, t)
    expect(r.headers.get("location") == "/api/v1/tasks/" + t["id"])
    expect(t["assignee_id"] == s.user_ids["recruiter"], "assigned to its creator by default", t)
    expect(t["created_by"] == s.user_ids["recruiter"])
    expect(t["due_at"] == "2030-05-01T07:00:00.000Z", "due_at normalised to UTC", t)
    expect(t["done"] is False and t["done_at"] is None and t["candidate_id"] is None, t)
    got = expect_status(s.get("/api/v1/tasks/" + t["id"], role="recruiter"), 200)
    expect(got.json == t and got.headers.get("etag") == '"v1"', got.json)
    events = s.db_query("SELECT type FROM events WHERE subject_id = ?", t["id"])
    expect(events == [("task.created",)], "task.created", events)
    expect_problem(s.get("/api/v1/tasks/tsk_nobody"), 404)


def test_links_to_candidate_and_application(s):
    app = make_application(s)
    t = make_task(s, application_id=app["id"]).json
    expect(t["application_id"] == app["id"] and t["candidate_id"] == app["candidate_id"],
           "an application's task is about its candidate", t)
    cand = make_candidate(s)
    t2 = make_task(s, candidate_id=cand["id"], assignee_id=s.user_ids["hiring_manager"]).json
    expect(t2["candidate_id"] == cand["id"] and t2["application_id"] is None, t2)
    expect(t2["assignee_id"] == s.user_ids["hiring_manager"])
    expect_problem(s.post("/api/v1/tasks", {"title": "x", "candidate_id": cand["id"], "application_id": app["id"]}),
                   422, "/application_id")
    listed = s.get("/api/v1/tasks?candidate_id=" + app["candidate_id"]).json["data"]
    expect([x["id"] for x in listed] == [t["id"]], "filter by candidate", listed)
    listed = s.get("/api/v1/tasks?application_id=" + app["id"]).json["data"]
    expect([x["id"] for x in listed] == [t["id"]], "filter by application", listed)


def test_create_validation(s):
    expect_problem(s.post("/api/v1/tasks", {}), 422, "/title")
    expect_problem(s.post("/api/v1/tasks", {"title": ""}), 422, "/title")
    expect_problem(s.post("/api/v1/tasks", {"title": "x", "extra": True}), 422, "/extra")
    expect_problem(s.post("/api/v1/tasks", {"title": "x", "due_at": "next friday"}), 422, "/due_at")
    expect_problem(s.post("/api/v1/tasks", {"title": "x", "assignee_id": "usr_nobody"}), 422, "/assignee_id")
    expect_problem(s.post("/api/v1/tasks", {"title": "x", "candidate_id": "can_nobody"}), 422, "/candidate_id")
    expect_problem(s.post("/api/v1/tasks", {"title": "x", "application_id": "app_nobody"}), 422, "/application_id")
    r = expect_problem(s.post("/api/v1/tasks", {"title": "x", "assignee_id": "usr_nobody",
                                                "candidate_id": "can_nobody"}), 422)
    expect(sorted(e["pointer"] for e in r.json["errors"]) == ["/assignee_id", "/candidate_id"], r.json)


def test_patch_complete_and_if_match(s):
    t = make_task(s).json
    url = "/api/v1/tasks/" + t["id"]
    expect_problem(s.patch(url, {}), 422)
    expect_problem(s.patch(url, {"done": "yes"}), 422, "/done")
    expect_problem(s.patch(url, {"title": "x"}, headers={"If-Match": '"v9"'}), 412)
    r = expect_status(s.patch(url, {"done": True}, headers={"If-Match": '"v1"'}), 200)
    expect(r.json["done"] is True and r.json["done_at"] is not None and r.json["version"] == 2, r.json)
    expect(r.headers.get("etag") == '"v2"')
    done_at = r.json["done_at"]
    r = expect_status(s.patch(url, {"title": "Call back Ana on Friday", "due_at": "2030-01-02T03:04:05Z"}), 200)
    expect(r.json["title"] == "Call back Ana on Friday" and r.json["due_at"] == "2030-01-02T03:04:05.000Z", r.json)
    expect(r.json["done_at"] == done_at, "done_at kept while done", r.json)
    r = expect_status(s.patch(url, {"done": False, "due_at": None, "assignee_id": None}), 200)
    expect(r.json["done"] is False and r.json["done_at"] is None and r.json["due_at"] is None, r.json)
    expect(r.json["assignee_id"] is None and r.json["version"] == 4, r.json)
    expect_problem(s.patch(url, {"assignee_id": "usr_nobody"}), 422, "/assignee_id")
    events = [e[0] for e in s.db_query("SELECT type FROM events WHERE subject_id = ? ORDER BY rowid", t["id"])]
    expect(events == ["task.created", "task.completed", "task.updated", "task.updated"], events)
    expect_problem(s.patch("/api/v1/tasks/tsk_nobody", {"done": True}), 404)


def test_patch_links(s):
    app = make_application(s)
    other = make_application(s)
    t = make_task(s).json
    url = "/api/v1/tasks/" + t["id"]
    r = expect_status(s.patch(url, {"application_id": app["id"]}), 200)
    expect(r.json["candidate_id"] == app["candidate_id"], r.json)
    expect_problem(s.patch(url, {"candidate_id": other["candidate_id"]}), 422, "/application_id")
    r = expect_status(s.patch(url, {"candidate_id": other["candidate_id"], "application_id": other["id"]}), 200)
    expect(r.json["candidate_id"] == other["candidate_id"] and r.json["application_id"] == other["id"], r.json)
    r = expect_status(s.patch(url, {"candidate_id": None, "application_id": None}), 200)
    expect(r.json["candidate_id"] is None and r.json["application_id"] is None, r.json)


def test_list_filters_and_pagination(s):
    # A user of its own, so other tests' tasks do not show up in the filters.
    n = next(_seq)
    user = expect_status(s.post("/api/v1/users", {"email": "assignee%d@example.test" % n, "name": "Assignee",
                                                  "role": "recruiter"}), 201).json["id"]
    mine = [make_task(s, role="recruiter", assignee_id=user, due_at="2031-0%d-01T00:00:00Z" % m).json
            for m in (1, 2, 3)]
    theirs = make_task(s, role="recruiter", assignee_id=s.user_ids["hiring_manager"]).json
    expect_status(s.patch("/api/v1/tasks/" + mine[1]["id"], {"done": True}, role="recruiter"), 200)
    q = "/api/v1/tasks?assignee_id=" + user
    by_id = s.get(q, role="recruiter").json["data"]
    expect([t["id"] for t in by_id] == [t["id"] for t in mine], "by assignee", by_id)
    me = {t["id"] for t in s.get("/api/v1/tasks?assignee_id=me&limit=100", role="hiring_manager").json["data"]}
    expect(theirs["id"] in me and not me & {t["id"] for t in mine}, "assignee_id=me", me)
    open_ = s.get(q + "&done=false", role="recruiter").json["data"]
    expect([t["id"] for t in open_] == [mine[0]["id"], mine[2]["id"]], "open ones", open_)
    done = s.get(q + "&done=true", role="recruiter").json["data"]
    expect([t["id"] for t in done] == [mine[1]["id"]], "done ones", done)
    due = s.get(q + "&due_before=2031-02-15T00:00:00Z", role="recruiter").json["data"]
    expect([t["id"] for t in due] == [mine[0]["id"], mine[1]["id"]], "due before", due)
    p1 = s.get(q + "&limit=2", role="recruiter").json
    expect(len(p1["data"]) == 2 and p1["next_cursor"], p1)
    p2 = s.get(q + "&limit=2&cursor=" + p1["next_cursor"], role="recruiter").json
    expect([t["id"] for t in p1["data"] + p2["data"]] == [t["id"] for t in mine] and p2["next_cursor"] is None, p2)
    expect_problem(s.get("/api/v1/tasks?done=maybe"), 400, "/query/done")
    expect_problem(s.get("/api/v1/tasks?due_before=soon"), 400, "/query/due_before")


def test_visibility_and_roles(s):
    team = {"hiring_managers": [s.user_ids["hiring_manager"]], "interviewers": [s.user_ids["interviewer"]]}
    team_app = make_application(s, make_job(s, hiring_team=team))
    hidden_app = make_application(s)
    on_team = make_task(s, role="recruiter", application_id=team_app["id"]).json
    hidden = make_task(s, role="recruiter", application_id=hidden_app["id"]).json
    personal = make_task(s, role="recruiter").json
    for_hm = make_task(s, role="recruiter", assignee_id=s.user_ids["hiring_manager"]).json
    # Tasks about what you can see, tasks assigned to you, tasks you created.
    for role, visible, invisible in (
            ("hiring_manager", [on_team, for_hm], [hidden, personal]),
            ("interviewer", [on_team], [hidden, personal, for_hm]),
            ("recruiter", [on_team, hidden, personal, for_hm], [])):
        listed = {t["id"] for t in s.get("/api/v1/tasks?limit=100", role=role).json["data"]}
        for t in visible:
            expect(t["id"] in listed, "%s lists %s" % (role, t["title"]))
            expect_status(s.get("/api/v1/tasks/" + t["id"], role=role), 200)
        for t in invisible:
            expect(t["id"] not in listed, "%s does not list %s" % (role, t["title"]))
            expect_problem(s.get("/api/v1/tasks/" + t["id"], role=role), 404)
            expect_problem(s.patch("/api/v1/tasks/" + t["id"], {"done": True}, role=role), 404)
    # Interviewers may complete tasks they see, not create them.
    r = expect_status(s.patch("/api/v1/tasks/" + on_team["id"], {"done": True}, role="interviewer"), 200)
    expect(r.json["done"] is True)
    expect_problem(s.post("/api/v1/tasks", {"title": "x"}, role="interviewer"), 403)
    # Hiring managers may create tasks about candidates they see, and no others.
    expect_status(s.post("/api/v1/tasks", {"title": "x", "candidate_id": team_app["candidate_id"]},
                         role="hiring_manager"), 201)
    expect_problem(s.post("/api/v1/tasks", {"title": "x", "candidate_id": hidden_app["candidate_id"]},
                          role="hiring_manager"), 422, "/candidate_id")


if __name__ == "__main__":
    harness.main()
