"""Applications over HTTP: creation rules, reads and filters, every action (moves, reject,
withdraw, unreject, hire), the transition log they write, If-Match, idempotent retries,
the opening a hire fills, events and history, and who may do what."""

import itertools

import harness
from harness import expect, expect_problem, expect_status

_seq = itertools.count(1)




def make_job(s, **fields):
    body = {"title": "Engineer %d" % next(_seq), "status": "open", "openings": 1}
    body.update(fields)
    return expect_status(s.post("/api/v1/jobs", body), 201).json


def make_candidate(s, role="admin"):
    n = next(_seq)
    body = {"first_name": "Ana%d" % n, "last_name": "Lima", "emails": ["ana%d@example.test" % n]}
    return expect_status(s.post("/api/v1/candidates", body, role=role), 201).json


def stage(job, stage_type):
    return next(st["id"] for st in job["stages"] if st["type"] == stage_type)


def apply(s, candidate, job, role="admin", **fields):
    body = {"candidate_id": candidate["id"], "job_id": job["id"], "source": "referral"}
    body.update(fields)
    return s.post("/api/v1/applications", body, role=role)


def new_application(s, job=None, **fields):
    job = job or make_job(s)
    app = expect_status(apply(s, make_candidate(s), job, **fields), 201).json
    return job, app


def transitions(s, app_id, role="admin"):
    r = expect_status(s.get("/api/v1/applications/%s/transitions" % app_id, role=role), 200)
    return r.json["data"]


def act(s, app_id, action, body=None, role="admin", headers=None):
    return s.post("/api/v1/applications/%s/%s" % (app_id, action), body if body is not None else {}, role=role,
                  headers=headers)


# ---------- creation and reads ----------

def test_create_and_get(s):
    job = make_job(s)
    cand = make_candidate(s)
    r = expect_status(apply(s, cand, job, credited_to=s.user_ids["recruiter"], answers={"visa": "no"}), 201)
    app = r.json
    expect(r.headers.get("etag") == '"v1"', "ETag of a new application", r.headers.get("etag"))
    expect(r.headers.get("location") == "/api/v1/applications/" + app["id"], "Location", r.headers.get("location"))
    expect(app["id"].startswith("app_") and len(app["id"]) > 20, "random id", app["id"])
    # Without stage_id: the first applied-type stage (the default pipeline starts with a lead stage).
    expect(app["stage_id"] == stage(job, "applied"), "starts in the applied stage", app)
    expect(app["stage_type"] == "applied")
    expect(app["status"] == "active" and app["source"] == "referral", "status and source", app)
    expect(app["credited_to"] == s.user_ids["recruiter"], "credited_to", app)
    expect(app["answers"] == {"visa": "no"}, "answers", app)
    expect(app["disposition"] is None and app["opening_id"] is None and app["version"] == 1, "fresh", app)
    expect(app["applied_at"].endswith("Z") and app["applied_at"] == app["stage_entered_at"], "times", app)
    got = expect_status(s.get("/api/v1/applications/" + app["id"]), 200)
    expect(got.json == app, "GET returns what POST did", got.json, app)
    expect(got.headers.get("etag") == '"v1"')
    log = transitions(s, app["id"])
    expect(len(log) == 1, "creation is logged", log)
    expect(log[0]["kind"] == "created" and log[0]["from_stage_id"] is None
           and log[0]["to_stage_id"] == stage(job, "applied"), "the created transition", log)
    expect(log[0]["actor"] == s.user_ids["admin"] and log[0]["actor_kind"] == "user", "actor", log)
    expect(log[0]["cause"] == r.headers.get("x-request-id"), "cause is the request id", log, r.headers)


def test_create_in_a_chosen_stage(s):
    job = make_job(s)
    app = expect_status(apply(s, make_candidate(s), job, stage_id=stage(job, "lead")), 201).json
    expect(app["stage_id"] == stage(job, "lead") and app["stage_type"] == "lead", "chosen stage", app)


def test_create_validation(s):
    job = make_job(s)
    other = make_job(s)
    cand = make_candidate(s)
    base = {"candidate_id": cand["id"], "job_id": job["id"], "source": "web"}
    expect_problem(s.post("/api/v1/applications", {"candidate_id": cand["id"], "job_id": job["id"]}), 422, "/source")
    expect_problem(s.post("/api/v1/applications", dict(base, extra=1)), 422, "/extra")
    expect_problem(s.post("/api/v1/applications", dict(base, candidate_id="can_nobody")), 422, "/candidate_id")
    expect_problem(s.post("/api/v1/applications", dict(base, job_id="job_nobody")), 422, "/job_id")
    expect_problem(s.post("/api/v1/applications", dict(base, stage_id=stage(other, "applied"))), 422, "/stage_id")
    expect_problem(s.post("/api/v1/applications", dict(base, credited_to="usr_nobody")), 422, "/credited_to")
    r = expect_problem(s.post("/api/v1/applications", dict(base, candidate_id="nope", job_id="nope")), 422)
    expect(sorted(e["pointer"] for e in r.json["errors"]) == ["/candidate_id", "/job_id"], "both named", r.json)
    # A hire is not a creation: no starting in a hired-type stage.
    expect_problem(s.post("/api/v1/applications", dict(base, stage_id=stage(job, "hired"))), 409, "/stage_id")
    closed = make_job(s, status="closed")
    expect_problem(s.post("/api/v1/applications", dict(base, job_id=closed["id"])), 409, "/job_id")
    # None of the refusals created anything.
    listed = expect_status(s.get("/api/v1/applications?candidate_id=" + cand["id"]), 200).json["data"]
    expect(listed == [], "nothing created", listed)


def test_one_active_application_per_candidate_and_job(s):
    job, app = new_application(s)
    again = {"candidate_id": app["candidate_id"], "job_id": job["id"], "source": "web"}
    r = expect_problem(s.post("/api/v1/applications", again), 409)
    expect(r.json.get("existing_id") == app["id"], "409 names the existing application", r.json)
    # After a rejection the candidate may apply again.
    expect_status(act(s, app["id"], "reject", {"reason": "timing", "kind": "rejected"}), 200)
    second = expect_status(s.post("/api/v1/applications", again), 201).json
    expect(second["id"] != app["id"] and second["status"] == "active")


def test_get_unknown_is_404(s):
    expect_problem(s.get("/api/v1/applications/app_nobody"), 404)
    expect_problem(s.get("/api/v1/applications/app_nobody/transitions"), 404)
    expect_problem(act(s, "app_nobody", "moves", {"to_stage_id": "stg_x"}), 404)


def test_list_filters_and_pagination(s):
    job = make_job(s)
    apps = [new_application(s, job)[1] for _ in range(3)]
    ids = [a["id"] for a in apps]
    expect_status(act(s, ids[0], "moves", {"to_stage_id": stage(job, "screen")}), 200)
    expect_status(act(s, ids[1], "reject", {"reason": "no", "kind": "withdrawn"}), 200)
    listed = expect_status(s.get("/api/v1/applications?job_id=" + job["id"]), 200).json
    expect([a["id"] for a in listed["data"]] == ids and listed["next_cursor"] is None, "by job, in order", listed)
    by_stage = s.get("/api/v1/applications?job_id=%s&stage_id=%s" % (job["id"], stage(job, "screen"))).json["data"]
    expect([a["id"] for a in by_stage] == [ids[0]], "by stage", by_stage)
    by_status = s.get("/api/v1/applications?job_id=%s&status=withdrawn" % job["id"]).json["data"]
    expect([a["id"] for a in by_status] == [ids[1]], "by status", by_status)
    by_status = s.get("/api/v1/applications?job_id=%s&status=active" % job["id"]).json["data"]
    expect([a["id"] for a in by_status] == [ids[0], ids[2]], "active ones", by_status)
    by_cand = s.get("/api/v1/applications?candidate_id=" + apps[2]["candidate_id"]).json["data"]
    expect([a["id"] for a in by_cand] == [ids[2]], "by candidate", by_cand)
    page1 = expect_status(s.get("/api/v1/applications?limit=2&job_id=" + job["id"]), 200).json
    expect([a["id"] for a in page1["data"]] == ids[:2] and page1["next_cursor"], "first page", page1)
    page2 = s.get("/api/v1/applications?limit=2&job_id=%s&cursor=%s" % (job["id"], page1["next_cursor"])).json
    expect([a["id"] for a in page2["data"]] == ids[2:] and page2["next_cursor"] is None, "second page", page2)
    expect_problem(s.get("/api/v1/applications?status=pending"), 400, "/query/status")
    expect_problem(s.get("/api/v1/applications?limit=0"), 400, "/query/limit")
    expect(s.get("/api/v1/applications?job_id=job_nobody").json["data"] == [], "unknown job: empty")


# ---------- actions and the transition log ----------

def test_transition_log_after_moves_reject_unreject_hire(s):
    job = make_job(s, openings=[{"target_date": "2030-09-01"}, {"target_date": "2030-03-01"}])
    job, app = new_application(s, job)
    aid = app["id"]
    applied, screen, interview, hired = (stage(job, t) for t in ("applied", "screen", "interview", "hired"))
    r = expect_status(act(s, aid, "moves", {"to_stage_id": screen}, role="recruiter"), 200)
    expect(r.json["stage_id"] == screen and r.json["version"] == 2 and r.headers.get("etag") == '"v2"', r.json)
    expect(r.json["stage_entered_at"] >= app["stage_entered_at"])
    expect_status(act(s, aid, "moves", {"to_stage_id": interview, "reason": "strong screen"}), 200)
    r = expect_status(act(s, aid, "reject", {"reason": "salary", "kind": "rejected"}), 200)
    expect(r.json["status"] == "rejected" and r.json["stage_id"] == interview, "rejected in place", r.json)
    expect(r.json["disposition"] == {"reason": "salary", "kind": "rejected"}, r.json)
    expect(r.json["closed_at"] is not None)
    r = expect_status(act(s, aid, "unreject", {"reason": "budget found"}), 200)
    expect(r.json["status"] == "active" and r.json["disposition"] is None and r.json["closed_at"] is None, r.json)
    r = expect_status(act(s, aid, "hire"), 200)
    hire_request = r.headers.get("x-request-id")
    expect(r.json["status"] == "hired" and r.json["stage_id"] == hired and r.json["stage_type"] == "hired", r.json)
    early = next(o["id"] for o in job["openings"] if o["target_date"] == "2030-03-01")
    expect(r.json["opening_id"] == early, "the opening with the earliest target date", r.json, job["openings"])
    expect(r.json["version"] == 6, "one version per action", r.json)

    log = transitions(s, aid)
    got = [(t["kind"], t["from_stage_id"], t["to_stage_id"], t["reason"]) for t in log]
    want = [("created", None, applied, None),
            ("moved", applied, screen, None),
            ("moved", screen, interview, "strong screen"),
            ("rejected", interview, interview, "salary"),
            ("unrejected", interview, interview, "budget found"),
            ("hired", interview, hired, None)]
    expect(got == want, "the whole history, oldest first", got)
    expect([t["actor"] for t in log] == [s.user_ids["admin"], s.user_ids["recruiter"]] + [s.user_ids["admin"]] * 4,
           "actors", [t["actor"] for t in log])
    expect(log[-1]["cause"] == hire_request, "cause is the request id", log[-1], hire_request)
    expect([t["at"] for t in log] == sorted(t["at"] for t in log), "times in order")
    page = s.get("/api/v1/applications/%s/transitions?limit=4" % aid).json
    expect(len(page["data"]) == 4 and page["next_cursor"], "transitions paginate", page)
    rest = s.get("/api/v1/applications/%s/transitions?limit=4&cursor=%s" % (aid, page["next_cursor"])).json
    expect([t["id"] for t in page["data"] + rest["data"]] == [t["id"] for t in log], "pages join up")

    # The opening is filled by this application, and the job's ETag moved.
    got_job = expect_status(s.get("/api/v1/jobs/" + job["id"]), 200).json
    filled = [o for o in got_job["openings"] if o["status"] == "filled"]
    expect(len(filled) == 1 and filled[0]["id"] == early and filled[0]["filled_by_application_id"] == aid,
           "opening filled", got_job["openings"])

    # One event per action, and the candidate's history shows each stage change.
    events = s.db_query("SELECT type FROM events WHERE subject_type = 'application' AND subject_id = ?"
                         " ORDER BY rowid", aid)
    expect([e[0] for e in events] == ["application.created", "application.stage_changed",
                                      "application.stage_changed", "application.rejected",
                                      "application.unrejected", "application.hired"], "events", events)
    acts = expect_status(s.get("/api/v1/candidates/%s/activities" % app["candidate_id"]), 200).json["data"]
    changes = [a for a in acts if a.get("kind") == "stage_change"]
    expect(len(changes) == 6, "six stage_change activities", acts)


def test_withdrawn_is_a_kind_of_ending(s):
    job, app = new_application(s)
    r = expect_status(act(s, app["id"], "reject", {"reason": "took another offer", "kind": "withdrawn"}), 200)
    expect(r.json["status"] == "withdrawn" and r.json["disposition"]["kind"] == "withdrawn", r.json)
    expect(transitions(s, app["id"])[-1]["kind"] == "withdrawn")
    expect_problem(act(s, app["id"], "reject", {"reason": "x", "kind": "rejected"}), 409)
    expect_problem(act(s, app["id"], "reject", {"reason": "x", "kind": "maybe"}), 422, "/kind")
    expect_problem(act(s, app["id"], "reject", {"kind": "rejected"}), 422, "/reason")


def test_illegal_moves(s):
    job, app = new_application(s)
    other = make_job(s)
    aid = app["id"]
    expect_problem(act(s, aid, "moves", {"to_stage_id": app["stage_id"]}), 409, "/to_stage_id")
    r = expect_problem(act(s, aid, "moves", {"to_stage_id": stage(job, "hired")}), 409, "/to_stage_id")
    expect("/hire" in r.json["detail"], "points to the hire action", r.json)
    expect_problem(act(s, aid, "moves", {"to_stage_id": stage(other, "screen")}), 422, "/to_stage_id")
    expect_problem(act(s, aid, "moves", {"to_stage_id": "stg_nowhere"}), 422, "/to_stage_id")
    expect_problem(act(s, aid, "moves", {}), 422, "/to_stage_id")
    # A deleted stage is no longer a target.
    offer = stage(job, "offer")
    expect_status(s.delete("/api/v1/jobs/%s/stages/%s" % (job["id"], offer)), 204)
    expect_problem(act(s, aid, "moves", {"to_stage_id": offer}), 422, "/to_stage_id")
    expect_status(act(s, aid, "reject", {"reason": "no", "kind": "rejected"}), 200)
    expect_problem(act(s, aid, "moves", {"to_stage_id": stage(job, "screen")}), 409)
    expect_problem(act(s, aid, "hire"), 409)
    # Nothing but the creation and the rejection was logged.
    expect([t["kind"] for t in transitions(s, aid)] == ["created", "rejected"], transitions(s, aid))
    got = s.get("/api/v1/applications/" + aid).json
    expect(got["version"] == 2 and got["stage_id"] == app["stage_id"], got)


def test_unreject_rules(s):
    job, first = new_application(s)
    expect_problem(act(s, first["id"], "unreject"), 409)  # active: nothing to undo
    expect_status(act(s, first["id"], "reject", {"reason": "no", "kind": "rejected"}), 200)
    again = {"candidate_id": first["candidate_id"], "job_id": job["id"], "source": "web"}
    second = expect_status(s.post("/api/v1/applications", again), 201).json
    r = expect_problem(act(s, first["id"], "unreject"), 409)
    expect(r.json.get("existing_id") == second["id"], "names the other active application", r.json)
    expect_problem(act(s, first["id"], "unreject", {"note": "x"}), 422, "/note")
    expect_status(act(s, second["id"], "reject", {"reason": "dup", "kind": "withdrawn"}), 200)
    r = expect_status(act(s, first["id"], "unreject"), 200)
    expect(r.json["status"] == "active" and r.json["stage_id"] == first["stage_id"], r.json)


def test_hire_needs_an_open_opening(s):
    job = make_job(s, openings=0)
    _, app = new_application(s, job)
    r = expect_problem(act(s, app["id"], "hire"), 409)
    expect("opening" in r.json["detail"], r.json)
    other = make_job(s)
    expect_problem(act(s, app["id"], "hire", {"opening_id": other["openings"][0]["id"]}), 409, "/opening_id")
    expect_problem(act(s, app["id"], "hire", {"opening_id": "opn_nobody"}), 409, "/opening_id")
    got = s.get("/api/v1/applications/" + app["id"]).json
    expect(got["status"] == "active" and got["version"] == 1, "untouched", got)
    # A named opening is the one filled; a second hire for it is refused.
    job2 = make_job(s, openings=2)
    _, a = new_application(s, job2)
    _, b = new_application(s, job2)
    chosen = job2["openings"][1]["id"]
    expect(expect_status(act(s, a["id"], "hire", {"opening_id": chosen}), 200).json["opening_id"] == chosen)
    expect_problem(act(s, b["id"], "hire", {"opening_id": chosen}), 409, "/opening_id")
    expect(expect_status(act(s, b["id"], "hire"), 200).json["opening_id"] == job2["openings"][0]["id"])
    expect_problem(act(s, b["id"], "hire"), 409)  # a hire is final


def test_if_match_on_actions(s):
    job, app = new_application(s)
    aid = app["id"]
    expect_problem(act(s, aid, "moves", {"to_stage_id": stage(job, "screen")}, headers={"If-Match": '"v7"'}), 412)
    r = expect_status(act(s, aid, "moves", {"to_stage_id": stage(job, "screen")}, headers={"If-Match": '"v1"'}), 200)
    expect(r.headers.get("etag") == '"v2"')
    expect_problem(act(s, aid, "reject", {"reason": "x", "kind": "rejected"}, headers={"If-Match": '"v1"'}), 412)
    expect_problem(act(s, aid, "hire", headers={"If-Match": '"v1"'}), 412)
    expect_status(act(s, aid, "reject", {"reason": "x", "kind": "rejected"}, headers={"If-Match": '"v2"'}), 200)
    expect_problem(act(s, aid, "unreject", headers={"If-Match": '"v2"'}), 412)
    expect(len(transitions(s, aid)) == 3, "stale writes logged nothing")
    # An unseen application is a 404 even with If-Match.
    expect_problem(act(s, "app_nobody", "hire", headers={"If-Match": '"v1"'}), 404)


def test_idempotent_retry_moves_once(s):
    job, app = new_application(s)
    key = {"Idempotency-Key": "move-%s" % app["id"]}
    body = {"to_stage_id": stage(job, "screen")}
    r1 = expect_status(act(s, app["id"], "moves", body, headers=key), 200)
    r2 = expect_status(act(s, app["id"], "moves", body, headers=key), 200)
    expect(r1.json == r2.json, "the same answer to a retry")
    expect(len(transitions(s, app["id"])) == 2, "moved once", transitions(s, app["id"]))


# ---------- permissions ----------

def test_permissions_by_role(s):
    team = {"hiring_managers": [s.user_ids["hiring_manager"]], "interviewers": [s.user_ids["interviewer"]]}
    job = make_job(s, hiring_team=team)
    _, app = new_application(s, job)
    _, hidden = new_application(s)  # a job nobody but admins and recruiters sees
    screen = stage(job, "screen")
    for role in ("hiring_manager", "interviewer"):
        expect_status(s.get("/api/v1/applications/" + app["id"], role=role), 200)
        expect_status(s.get("/api/v1/applications/%s/transitions" % app["id"], role=role), 200)
        # They see it, but may not change it: 403; an application they cannot see: 404.
        expect_problem(act(s, app["id"], "moves", {"to_stage_id": screen}, role=role), 403)
        expect_problem(act(s, app["id"], "reject", {"reason": "x", "kind": "rejected"}, role=role), 403)
        expect_problem(act(s, app["id"], "hire", role=role), 403)
        expect_problem(act(s, app["id"], "moves", {"to_stage_id": screen}, role=role, headers={"If-Match": '"v1"'}),
                       403)
        expect_problem(s.get("/api/v1/applications/" + hidden["id"], role=role), 404)
        expect_problem(act(s, hidden["id"], "reject", {"reason": "x", "kind": "rejected"}, role=role), 404)
        listed = [a["id"] for a in s.get("/api/v1/applications", role=role).json["data"]]
        expect(app["id"] in listed and hidden["id"] not in listed, "list filtered by visibility", role, listed)
        expect_problem(apply(s, make_candidate(s), job, role=role), 403)
    expect(len(transitions(s, app["id"])) == 1, "refused actions logged nothing")
    # Recruiters may act, except on confidential jobs they are not on.
    expect_status(act(s, app["id"], "moves", {"to_stage_id": screen}, role="recruiter"), 200)
    secret = make_job(s, confidential=True)
    _, secret_app = new_application(s, secret)
    expect_problem(s.get("/api/v1/applications/" + secret_app["id"], role="recruiter"), 404)
    expect_problem(act(s, secret_app["id"], "hire", role="recruiter"), 404)
    expect_problem(apply(s, make_candidate(s), secret, role="recruiter"), 422, "/job_id")
    expect_status(s.get("/api/v1/applications/" + secret_app["id"], role="admin"), 200)


def test_read_only_token_cannot_act(s):
    job, app = new_application(s)
    tok = expect_status(s.post("/api/v1/tokens", {"name": "ro", "scope": "read"}), 201).json["token"]
    expect_status(s.get("/api/v1/applications/" + app["id"], token=tok), 200)
    expect_problem(s.post("/api/v1/applications/%s/moves" % app["id"], {"to_stage_id": stage(job, "screen")},
                          token=tok), 403)


if __name__ == "__main__":
    harness.main()
