"""Per-object permissions: every route of the binary x every role (and anonymous) x every
relation of the caller to the object (on my job A / on another job B / on confidential job C /
on confidential job D whose team I am on / unrelated), checked against an expectation table
written here from the rules (README "Permissions", core/auth/policy.h), never from the server's
answers. A route the table does not cover fails the test, so every new route gets a
permission decision. Also: what lists, searches and reads leave out (invisible objects,
others' private notes, sensitive custom fields), and the audit entries of denied requests.

The rules:
  admin           everything
  recruiter       every job, candidate and application, except confidential jobs (and their
                  applications) they are not on the hiring team of; may not manage users
  hiring_manager  jobs where they are on the hiring team (as hiring manager, recruiter or
                  coordinator), those applications and those candidates: read, notes, tasks;
                  no moves, no deletes, no creates of jobs, candidates or applications
  interviewer     applications of jobs where they are an interviewer (and those candidates and
                  jobs): read and notes; never others' private notes nor sensitive custom fields
An object the caller may not see answers 404 (a path id) or 422 naming the field (an id in a
request body: indistinguishable from an id that does not exist); an action the role may not take
on an object it can see answers 403; lists leave out what the caller may not see.

Decisions where the table is silent (change them here, with the code, if they change):
  - users may be read (listed) by every role: tasks are assigned to them; only admins create them.
  - tokens and sessions are the caller's own; an admin may revoke anyone's token, others get 404.
  - custom-field definitions: read by all; created and edited by admin and recruiter; deleted by
    admin only. Pipeline templates: the same, but interviewers may not read them (they see a job's
    stages through the job).
  - CSV export and imports (bulk personal data): admin and recruiter only.
  - the event feed: admin only (events name objects of every job, confidential ones included).
  - tasks: visible to their assignee, their creator, and whoever sees the candidate (and the
    application) they are about; admins see all. Interviewers may update (complete) tasks they
    see, but not create them (tasks test: "Interviewers may complete tasks they see").
  - attachments (files: offer letters as well as resumes) are read by admin, recruiter and hiring
    manager on candidates they see; interviewers get 403 (they read resume_text on the
    candidate); uploading is admin and recruiter (attachments test: "their role has no access
    to files").
"""

import itertools
import os
import sqlite3
import time

import harness
from harness import expect, expect_status

API = "/api/v1"
ADMIN, REC, HM, INT = "admin", "recruiter", "hiring_manager", "interviewer"
ALL = frozenset((ADMIN, REC, HM, INT))
AR = frozenset((ADMIN, REC))
ARH = frozenset((ADMIN, REC, HM))
ONLY_ADMIN = frozenset((ADMIN,))
ANON = None  # no credentials

_seq = itertools.count(1)
F = {}  # the fixture, built by test_fixture

# ---------------------------------------------------------------------------------------------
# The oracle: who sees which object, per relation.
#   A: job A, team {hiring_managers:[hm], recruiters:[recruiter], interviewers:[interviewer]}
#   B: job B, not confidential, nobody on its team
#   C: job C, confidential, nobody on its team
#   D: job D, confidential, team {recruiters:[recruiter], coordinators:[hm]}
#   N: a candidate with no application
# ---------------------------------------------------------------------------------------------
VISIBLE = {
    "candidate": {"A": ALL, "B": AR, "C": AR, "D": ARH, "N": AR},
    "job": {"A": ALL, "B": AR, "C": ONLY_ADMIN, "D": ARH},
    "application": {"A": ALL, "B": AR, "C": ONLY_ADMIN, "D": ARH},
    # tasks linked to application X (created by and assigned to admin); "mine": no links,
    # assigned to the caller by admin; "todo": no links, the recruiter's own to-do.
    "task": {"A": ALL, "B": AR, "C": ONLY_ADMIN, "D": ARH, "mine": ALL, "todo": AR},
    # a token of the caller's own, or of another user.
    "token": {"own": ALL, "other": ONLY_ADMIN},
}
RELATIONS = {"candidate": "ABCDN", "job": "ABCD", "application": "ABCD",
             "task": ("A", "B", "C", "D", "mine", "todo"), "token": ("own", "other"), None: ("-",)}


class Rule:
    """ok: the status of an allowed call; may: roles whose role may take the action; kind: what
    the relation is about (None: nothing); ref: where its id goes ("path": invisible => 404
    before the role check; "body": the role check first, then invisible => 422)."""

    def __init__(self, ok, may, kind=None, ref="path", public=False):
        self.ok, self.may, self.kind, self.ref, self.public = ok, may, kind, ref, public


RULES = {
    "GET /healthz": Rule(200, ALL, public=True),
    "GET /metrics": Rule(200, ALL, public=True),
    "GET /api/v1/openapi.json": Rule(200, ALL, public=True),
    "POST /api/v1/users": Rule(201, ONLY_ADMIN),
    "GET /api/v1/users": Rule(200, ALL),
    "GET /api/v1/users/me": Rule(200, ALL),
    "POST /api/v1/sessions": Rule(201, ALL, public=True),
    "DELETE /api/v1/sessions/current": Rule(204, ALL),
    "POST /api/v1/tokens": Rule(201, ALL),
    "GET /api/v1/tokens": Rule(200, ALL),
    "DELETE /api/v1/tokens/{id}": Rule(204, ALL, "token"),
    "POST /api/v1/candidates": Rule(201, AR),
    "GET /api/v1/candidates": Rule(200, ALL),
    "GET /api/v1/candidates/export": Rule(200, AR),
    "GET /api/v1/candidates/{id}": Rule(200, ALL, "candidate"),
    "PATCH /api/v1/candidates/{id}": Rule(200, AR, "candidate"),
    "DELETE /api/v1/candidates/{id}": Rule(204, AR, "candidate"),
    "POST /api/v1/candidates/{id}/merge": Rule(200, AR, "candidate"),
    "POST /api/v1/candidates/{id}/notes": Rule(201, ALL, "candidate"),
    "GET /api/v1/candidates/{id}/activities": Rule(200, ALL, "candidate"),
    "POST /api/v1/candidates/{id}/touches": Rule(201, AR, "candidate"),
    "GET /api/v1/candidates/{id}/touches": Rule(200, ALL, "candidate"),
    "POST /api/v1/jobs": Rule(201, AR),
    "GET /api/v1/jobs": Rule(200, ALL),
    "GET /api/v1/jobs/{id}": Rule(200, ALL, "job"),
    "PATCH /api/v1/jobs/{id}": Rule(200, AR, "job"),
    "GET /api/v1/jobs/{id}/stages": Rule(200, ALL, "job"),
    "POST /api/v1/jobs/{id}/stages": Rule(201, AR, "job"),
    "PATCH /api/v1/jobs/{id}/stages/{stage_id}": Rule(200, AR, "job"),
    "DELETE /api/v1/jobs/{id}/stages/{stage_id}": Rule(204, AR, "job"),
    "POST /api/v1/pipeline-templates": Rule(201, AR),
    "GET /api/v1/pipeline-templates": Rule(200, ARH),
    "GET /api/v1/pipeline-templates/{id}": Rule(200, ARH),
    "PATCH /api/v1/pipeline-templates/{id}": Rule(200, AR),
    "DELETE /api/v1/pipeline-templates/{id}": Rule(204, ONLY_ADMIN),
    "POST /api/v1/applications": Rule(201, AR, "job", ref="body"),
    "GET /api/v1/applications": Rule(200, ALL),
    "GET /api/v1/applications/{id}": Rule(200, ALL, "application"),
    "GET /api/v1/applications/{id}/transitions": Rule(200, ALL, "application"),
    "POST /api/v1/applications/{id}/moves": Rule(200, AR, "application"),
    "POST /api/v1/applications/{id}/reject": Rule(200, AR, "application"),
    "POST /api/v1/applications/{id}/unreject": Rule(200, AR, "application"),
    "POST /api/v1/applications/{id}/hire": Rule(200, AR, "application"),
    "POST /api/v1/tasks": Rule(201, ARH, "application", ref="body"),
    "GET /api/v1/tasks": Rule(200, ALL),
    "GET /api/v1/tasks/{id}": Rule(200, ALL, "task"),
    "PATCH /api/v1/tasks/{id}": Rule(200, ALL, "task"),
    "POST /api/v1/candidates/{id}/attachments": Rule(201, AR, "candidate"),
    "GET /api/v1/candidates/{id}/attachments": Rule(200, ARH, "candidate"),
    "GET /api/v1/attachments/{id}": Rule(200, ARH, "candidate"),
    "POST /api/v1/custom-fields": Rule(201, AR),
    "GET /api/v1/custom-fields": Rule(200, ALL),
    "GET /api/v1/custom-fields/{id}": Rule(200, ALL),
    "PATCH /api/v1/custom-fields/{id}": Rule(200, AR),
    "DELETE /api/v1/custom-fields/{id}": Rule(204, ONLY_ADMIN),
    "POST /api/v1/imports": Rule(201, AR),
    "GET /api/v1/imports": Rule(200, AR),
    "GET /api/v1/imports/{id}": Rule(200, AR),
    "GET /api/v1/events": Rule(200, ONLY_ADMIN),
    "GET /api/v1/deliveries": Rule(200, ONLY_ADMIN),
    "POST /api/v1/deliveries/{id}/replay": Rule(200, ONLY_ADMIN),
    "GET /api/v1/plugins": Rule(200, ONLY_ADMIN),
    "GET /api/v1/hooks": Rule(200, ONLY_ADMIN),
    "GET /api/v1/scheduled-runs": Rule(200, ONLY_ADMIN),
    "DELETE /api/v1/scheduled-runs/{id}": Rule(204, ONLY_ADMIN),
    "GET /api/v1/scripts": Rule(200, ONLY_ADMIN),
    "GET /api/v1/scripts/{name}": Rule(200, ONLY_ADMIN),
    "PUT /api/v1/scripts/{name}": Rule(201, ONLY_ADMIN),
    "DELETE /api/v1/scripts/{name}": Rule(204, ONLY_ADMIN),
}


def expected_status(rule, role, rel):
    if rule.public:
        return rule.ok
    if role is ANON:
        return 401
    visible = rule.kind is None or role in VISIBLE[rule.kind][rel]
    if rule.ref == "path":
        if not visible:
            return 404
        return rule.ok if role in rule.may else 403
    if role not in rule.may:
        return 403
    return rule.ok if visible else 422


# ---------------------------------------------------------------------------------------------
# Helpers (all fixture writes are made by admin)
# ---------------------------------------------------------------------------------------------

def n():
    return next(_seq)


def ok(resp, status, what):
    return expect_status(resp, status, what).json


def new_candidate(s, **extra):
    i = n()
    body = {"first_name": "Perm%d" % i, "last_name": "Case", "emails": ["perm%d@example.test" % i]}
    body.update(extra)
    return ok(s.post(API + "/candidates", body), 201, "fixture candidate")["id"]


def new_application(s, cid, rel):
    body = {"candidate_id": cid, "job_id": F["job"][rel], "source": "referral"}
    return ok(s.post(API + "/applications", body), 201, "fixture application")["id"]


def fresh_candidate(s, rel):
    """A new candidate with an application to job rel (none for N)."""
    cid = new_candidate(s)
    if rel != "N":
        new_application(s, cid, rel)
    return cid


def fresh_application(s, rel):
    return new_application(s, new_candidate(s), rel)


def upload_body():
    boundary = "----permBoundary%d" % n()
    body = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cv.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\nresume text\r\n--%s--\r\n" % (boundary, boundary)).encode()
    return body, "multipart/form-data; boundary=" + boundary


def session_cookie(resp_headers):
    return resp_headers.get("set-cookie", "").split(";", 1)[0]


def all_pages(s, path, role):
    """Every item of a cursor-paginated list."""
    out, cursor = [], None
    sep = "&" if "?" in path else "?"
    while True:
        url = path + sep + "limit=100" + ("&cursor=" + cursor if cursor else "")
        page = ok(s.get(url, role=role), 200, "%s as %s" % (path, role))
        out += page["data"]
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def db_rows(s, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(s.data, "talentd.db"), uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


# ---------------------------------------------------------------------------------------------
# The fixture
# ---------------------------------------------------------------------------------------------

def test_fixture(s):
    u = s.user_ids
    F["field"] = {}
    for key, entity, ftype, sensitive in (("salary", "candidate", "number", True),
                                          ("nickname", "candidate", "text", False),
                                          ("budget", "job", "number", True),
                                          ("perm_dummy", "candidate", "text", False)):
        F["field"][key] = ok(s.post(API + "/custom-fields", {"entity": entity, "key": key, "type": ftype,
                                                              "sensitive": sensitive}), 201, "field")["id"]
    F["template"] = ok(s.post(API + "/pipeline-templates", {"name": "Perm template", "stages": [
        {"name": "Applied", "type": "applied"}, {"name": "Hired", "type": "hired"}]}), 201, "template")["id"]
    teams = {"A": {"hiring_managers": [u[HM]], "recruiters": [u[REC]], "interviewers": [u[INT]]},
             "B": {}, "C": {}, "D": {"recruiters": [u[REC]], "coordinators": [u[HM]]}}
    F["job"], F["screen"], F["extra_stage"] = {}, {}, {}
    for rel, team in teams.items():
        job = ok(s.post(API + "/jobs", {"title": "Perm job %s" % rel, "status": "open", "confidential": rel in "CD",
                                        "hiring_team": team, "custom_fields": {"budget": 99000},
                                        "openings": [{"target_date": "2031-01-01"} for _ in range(8)]}),
                 201, "job " + rel)
        F["job"][rel] = job["id"]
        F["screen"][rel] = [st["id"] for st in job["stages"] if st["type"] == "screen"][0]
        F["extra_stage"][rel] = ok(s.post(API + "/jobs/%s/stages" % job["id"], {"name": "Perm extra",
                                                                                 "type": "interview"}),
                                   201, "stage")["id"]
    profile = {"tags": ["permfix"], "resume_text": "permquokka engineer",
               "custom_fields": {"salary": 123456, "nickname": "Zed"}}
    F["cand"], F["app"] = {}, {}
    for rel in "ABCDN":
        F["cand"][rel] = new_candidate(s, **profile)
        if rel != "N":
            F["app"][rel] = new_application(s, F["cand"][rel], rel)
    # A candidate on job A and on confidential job C, for what leaks across applications.
    F["cand"]["AC"] = new_candidate(s, **profile)
    F["app"]["AC_A"] = new_application(s, F["cand"]["AC"], "A")
    F["app"]["AC_C"] = new_application(s, F["cand"]["AC"], "C")

    def note(role, cid, visibility, body, application_id=None):
        b = {"body": body, "visibility": visibility}
        if application_id:
            b["application_id"] = application_id
        created = ok(s.post(API + "/candidates/%s/notes" % cid, b, role=role), 201, "note")
        F["note_body"][created["id"]] = body
        return created["id"]

    F["note_body"] = {}
    cA = F["cand"]["A"]
    F["notes_cA"] = {  # note id -> roles that may read it
        note(ADMIN, cA, "private", "admin private permwombat"): ONLY_ADMIN,
        note(ADMIN, cA, "team", "admin team note"): ALL,
        note(ADMIN, cA, "admin", "admin-only note"): ONLY_ADMIN,
        note(REC, cA, "private", "recruiter private"): {ADMIN, REC},
        note(HM, cA, "private", "manager private"): {ADMIN, HM},
        note(INT, cA, "private", "interviewer private"): {ADMIN, INT},
        note(ADMIN, cA, "team", "team note on application A", F["app"]["A"]): ALL,
    }
    cAC = F["cand"]["AC"]
    F["notes_cAC"] = {
        note(ADMIN, cAC, "team", "confidential permokapi", F["app"]["AC_C"]): ONLY_ADMIN,
        note(ADMIN, cAC, "team", "plain team note"): ALL,
    }
    F["task"] = {}
    for rel in "ABCD":
        F["task"][rel] = ok(s.post(API + "/tasks", {"title": "Perm task %s" % rel, "application_id": F["app"][rel]}),
                            201, "task")["id"]
    F["task_mine"] = {role: ok(s.post(API + "/tasks", {"title": "Perm for %s" % role, "assignee_id": u[role]}),
                               201, "task")["id"] for role in harness.ROLES}
    F["task"]["todo"] = ok(s.post(API + "/tasks", {"title": "Recruiter to-do"}, role=REC), 201, "task")["id"]
    F["att"] = {}
    for rel in "ABCDN":
        raw, ctype = upload_body()
        r = s.request("POST", API + "/candidates/%s/attachments" % F["cand"][rel], raw=raw,
                      headers={"Content-Type": ctype})
        F["att"][rel] = ok(r, 201, "attachment")["id"]
    csv = "first_name,last_name,email\nImp,Orted,perm-import-%d@example.test\n" % n()
    r = s.request("POST", API + "/imports", raw=csv.encode(), headers={"Content-Type": "text/csv"})
    F["import"] = ok(r, 201, "import")["id"]
    F["own_token"] = {role: ok(s.post(API + "/tokens", {"name": "perm own"}, role=role), 201, "token")["id"]
                      for role in harness.ROLES}


# ---------------------------------------------------------------------------------------------
# Content rules: lists, searches and reads leave out what the caller may not see
# ---------------------------------------------------------------------------------------------

def ids(items):
    return {x["id"] for x in items}


def test_lists_exclude_invisible_objects(s):
    fixture_jobs = {F["job"][r]: r for r in "ABCD"}
    fixture_apps = {v: k for k, v in F["app"].items()}
    fixture_cands = {v: k for k, v in F["cand"].items()}
    problems = []
    want_apps = {ADMIN: {"A", "B", "C", "D", "AC_A", "AC_C"}, REC: {"A", "B", "D", "AC_A"}, HM: {"A", "D", "AC_A"},
                 INT: {"A", "AC_A"}}
    want_cands = {ADMIN: {"A", "B", "C", "D", "N", "AC"}, REC: {"A", "B", "C", "D", "N", "AC"},
                  HM: {"A", "D", "AC"}, INT: {"A", "AC"}}
    for role in harness.ROLES:
        got = {fixture_jobs[i] for i in ids(all_pages(s, API + "/jobs", role)) if i in fixture_jobs}
        want = {r for r in "ABCD" if role in VISIBLE["job"][r]}
        if got != want:
            problems.append("GET /jobs as %s lists jobs %s, expected %s" % (role, sorted(got), sorted(want)))
        got = {fixture_apps[i] for i in ids(all_pages(s, API + "/applications", role)) if i in fixture_apps}
        if got != want_apps[role]:
            problems.append("GET /applications as %s lists %s, expected %s" % (role, sorted(got),
                                                                               sorted(want_apps[role])))
        got = {fixture_apps[i] for i in ids(all_pages(s, API + "/applications?candidate_id=" + F["cand"]["AC"], role))}
        want = want_apps[role] & {"AC_A", "AC_C"}
        if got != want:
            problems.append("GET /applications?candidate_id=cAC as %s lists %s, expected %s" % (role, sorted(got),
                                                                                              sorted(want)))
        got = ids(all_pages(s, API + "/applications?job_id=" + F["job"]["C"], role))
        if role != ADMIN and got:
            problems.append("GET /applications?job_id=C as %s lists %d applications of job C" % (role, len(got)))
        for query in ("?tag=permfix", "?q=permquokka"):
            got = {fixture_cands[i] for i in ids(all_pages(s, API + "/candidates" + query, role)) if i in fixture_cands}
            if got != want_cands[role]:
                problems.append("GET /candidates%s as %s lists %s, expected %s" % (query, role, sorted(got),
                                                                                  sorted(want_cands[role])))
        # Tasks: linked ones by visibility of their application; "mine" ones by assignee.
        tasks = {v: k for k, v in F["task"].items()}
        tasks.update({v: "mine:" + k for k, v in F["task_mine"].items()})
        got = {tasks[i] for i in ids(all_pages(s, API + "/tasks", role)) if i in tasks}
        want = {r for r in ("A", "B", "C", "D", "todo") if role in VISIBLE["task"][r]}
        want |= {"mine:" + r for r in harness.ROLES} if role == ADMIN else {"mine:" + role}
        if got != want:
            problems.append("GET /tasks as %s lists %s, expected %s" % (role, sorted(got), sorted(want)))
        own = ids(ok(s.get(API + "/tokens", role=role), 200, "tokens")["data"])
        others = {F["own_token"][r] for r in harness.ROLES if r != role}
        if F["own_token"][role] not in own or own & others:
            problems.append("GET /tokens as %s: own token listed %s, others' listed %s"
                            % (role, F["own_token"][role] in own, sorted(own & others)))
        me = ok(s.get(API + "/users/me", role=role), 200, "me")
        if me.get("id") != s.user_ids[role] or me.get("role") != role:
            problems.append("GET /users/me as %s answers %s" % (role, me))
    for role in (ADMIN, REC):
        exported = ok(s.get(API + "/candidates/export?format=json&tag=permfix", role=role), 200, "export")["data"]
        got = {fixture_cands[c["id"]] for c in exported if c["id"] in fixture_cands}
        if got != want_cands[role]:
            problems.append("GET /candidates/export as %s has %s, expected %s" % (role, sorted(got),
                                                                                 sorted(want_cands[role])))
    expect(not problems, "list visibility:\n  " + "\n  ".join(problems))


def test_notes_private_and_confidential_stay_hidden(s):
    problems = []
    for role in harness.ROLES:
        for cand, notes in (("A", F["notes_cA"]), ("AC", F["notes_cAC"])):
            items = all_pages(s, API + "/candidates/%s/activities" % F["cand"][cand], role)
            got = {a["id"] for a in items if a["id"] in notes}
            want = {i for i, roles in notes.items() if role in roles}
            if got != want:
                problems.append("activities of c%s as %s: got notes %s, expected %s" % (
                    cand, role, sorted(F["note_body"][i] for i in got), sorted(F["note_body"][i] for i in want)))
        # Words of notes one may not read must not find the candidate either.
        for word, readers in (("permokapi", ONLY_ADMIN), ("permwombat", ONLY_ADMIN)):
            found = ids(ok(s.get(API + "/candidates?q=" + word, role=role), 200, "search")["data"])
            if role not in readers and found:
                problems.append("GET /candidates?q=%s as %s finds %s (the word is only in a note the caller "
                                "may not read)" % (word, role, sorted(found)))
    expect(not problems, "note visibility:\n  " + "\n  ".join(problems))


def test_sensitive_custom_fields_hidden_from_interviewers(s):
    problems = []
    for role in harness.ROLES:
        sees = role != INT
        reads = {"GET candidate": [ok(s.get(API + "/candidates/" + F["cand"]["A"], role=role), 200, "cand")],
                 "GET /candidates": all_pages(s, API + "/candidates?tag=permfix", role),
                 "search": all_pages(s, API + "/candidates?q=permquokka", role)}
        if role in AR:
            reads["export json"] = ok(s.get(API + "/candidates/export?format=json&tag=permfix", role=role),
                                      200, "export")["data"]
            csv = s.get(API + "/candidates/export?format=csv&tag=permfix", role=role).raw.decode()
            if ("123456" in csv) != sees:
                problems.append("export csv as %s: salary shown %s" % (role, "123456" in csv))
        for what, cands in reads.items():
            for c in cands:
                cf = c.get("custom_fields", {})
                if ("salary" in cf) != sees or cf.get("nickname") != "Zed":
                    problems.append("%s as %s: custom_fields %s" % (what, role, cf))
                    break
        jobs = [ok(s.get(API + "/jobs/" + F["job"]["A"], role=role), 200, "job")]
        jobs += [j for j in all_pages(s, API + "/jobs", role) if j["id"] in F["job"].values()]
        for j in jobs:
            if ("budget" in j.get("custom_fields", {})) != sees:
                problems.append("job %s as %s: custom_fields %s" % (j["id"], role, j.get("custom_fields")))
                break
    expect(not problems, "sensitive fields:\n  " + "\n  ".join(problems))


def test_notes_cannot_name_a_hidden_application(s):
    # The recruiter sees cAC but not its application to confidential job C.
    r = s.post(API + "/candidates/%s/notes" % F["cand"]["AC"], {"body": "x", "application_id": F["app"]["AC_C"]},
               role=REC)
    harness.expect_problem(r, 422, "/application_id")
    r = s.post(API + "/tasks", {"title": "x", "candidate_id": F["cand"]["B"]}, role=HM)
    harness.expect_problem(r, 422, "/candidate_id")


# ---------------------------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------------------------

def seed_scheduled_run(s):
    """A pending scheduled run due tomorrow, so the runner leaves it alone during the test."""
    db = sqlite3.connect(os.path.join(s.data, "talentd.db"), timeout=10)
    i, now = n(), int(time.time() * 1000)
    try:
        with db:
            db.execute("INSERT INTO scheduled_runs(id, handler, run_at, created_at, updated_at)"
                       " VALUES (?, 'perm.noop', ?, ?, ?)", ("srn_perm_%d" % i, now + 86400000, now, now))
    finally:
        db.close()
    return "srn_perm_%d" % i


def seed_delivery(s):
    """A dead delivery row, as the dispatcher leaves it (the server has no subscriber yet)."""
    db = sqlite3.connect(os.path.join(s.data, "talentd.db"), timeout=10)
    i, now = n(), int(time.time() * 1000)
    try:
        with db:
            ev = db.execute("SELECT max(rowid) FROM events").fetchone()[0] or 0
            db.execute("INSERT INTO deliveries(id, event_rowid, package, hook, status, attempts, next_attempt_at, "
                       "created_at, updated_at) VALUES (?, ?, ?, '*', 'dead', 10, ?, ?, ?)",
                       ("dlv_perm_%d" % i, ev, "perm_%d" % i, now, now, now))
    finally:
        db.close()
    return "dlv_perm_%d" % i


def build_request(s, route, role, rel):
    """A valid request for route as role about relation rel: (method, path, kwargs)."""
    method, pattern = route.split(" ", 1)
    p = pattern
    kw = {"role": role}
    body = None
    u = s.user_ids
    if "{id}" in p or route in ("POST /api/v1/applications", "POST /api/v1/tasks"):
        if route == "DELETE /api/v1/tokens/{id}":
            owner = role if rel == "own" and role else (REC if role == ADMIN else ADMIN)
            obj = ok(s.post(API + "/tokens", {"name": "perm doomed"}, role=owner), 201, "token")["id"]
        elif route == "DELETE /api/v1/candidates/{id}":
            obj = fresh_candidate(s, rel)
        elif route == "POST /api/v1/candidates/{id}/merge":
            obj = fresh_candidate(s, rel)
            body = {"duplicate_id": new_candidate(s)}
        elif pattern.startswith("/api/v1/candidates/{id}"):
            obj = F["cand"][rel]
        elif pattern.startswith("/api/v1/jobs/{id}"):
            obj = F["job"][rel]
        elif route in ("GET /api/v1/applications/{id}", "GET /api/v1/applications/{id}/transitions"):
            obj = F["app"][rel]
        elif pattern.startswith("/api/v1/applications/{id}/"):
            obj = fresh_application(s, rel)
            if route.endswith("/unreject"):
                ok(s.post(API + "/applications/%s/reject" % obj, {"reason": "perm", "kind": "rejected"}), 200, "reject")
        elif pattern.startswith("/api/v1/tasks/{id}"):
            obj = F["task_mine"][role or ADMIN] if rel == "mine" else F["task"][rel]
        elif pattern == "/api/v1/attachments/{id}":
            obj = F["att"][rel]
        elif route == "DELETE /api/v1/pipeline-templates/{id}":
            obj = ok(s.post(API + "/pipeline-templates", {"name": "Perm doomed %d" % n(), "stages": [
                {"name": "Hired", "type": "hired"}]}), 201, "template")["id"]
        elif pattern.startswith("/api/v1/pipeline-templates/{id}"):
            obj = F["template"]
        elif route == "DELETE /api/v1/custom-fields/{id}":
            obj = ok(s.post(API + "/custom-fields", {"entity": "candidate", "key": "perm_doomed_%d" % n(),
                                                     "type": "text"}), 201, "field")["id"]
        elif pattern.startswith("/api/v1/custom-fields/{id}"):
            obj = F["field"]["perm_dummy"]
        elif pattern.startswith("/api/v1/imports/{id}"):
            obj = F["import"]
        elif pattern.startswith("/api/v1/deliveries/{id}"):
            obj = seed_delivery(s)
        elif pattern.startswith("/api/v1/scheduled-runs/{id}"):
            obj = seed_scheduled_run(s)
        else:
            obj = None
        if obj is not None:
            p = p.replace("{id}", obj)
    if "{name}" in p:
        # Scripts: a fresh name per call; GET and DELETE find one stored by the admin first.
        name = "perm_script_%d" % n()
        if method in ("GET", "DELETE"):
            expect_status(s.request("PUT", API + "/scripts/" + name, raw=b"-- nothing to do\n",
                                    headers={"Content-Type": "text/x-lua"}), 201, "seed script")
        p = p.replace("{name}", name)
    if "{stage_id}" in p:
        stage = F["extra_stage"][rel]
        if method == "DELETE":
            stage = ok(s.post(API + "/jobs/%s/stages" % F["job"][rel], {"name": "Doomed", "type": "screen"}),
                       201, "stage")["id"]
        p = p.replace("{stage_id}", stage)

    i = n()
    bodies = {
        "POST /api/v1/users": {"email": "perm-user-%d@example.test" % i, "name": "Perm User", "role": "interviewer"},
        "POST /api/v1/sessions": {"email": "%s@example.test" % (role or ADMIN), "password": harness.PASSWORD},
        "POST /api/v1/tokens": {"name": "perm token"},
        "POST /api/v1/candidates": {"first_name": "Made%d" % i, "emails": ["made%d@example.test" % i]},
        "PATCH /api/v1/candidates/{id}": {"location": "Porto"},
        "POST /api/v1/candidates/{id}/notes": {"body": "matrix note", "visibility": "team"},
        "POST /api/v1/candidates/{id}/touches": {"channel": "event", "source": "matrix"},
        "POST /api/v1/jobs": {"title": "Matrix job %d" % i},
        "PATCH /api/v1/jobs/{id}": {"department": "Engineering"},
        "POST /api/v1/jobs/{id}/stages": {"name": "Matrix stage", "type": "interview"},
        "PATCH /api/v1/jobs/{id}/stages/{stage_id}": {"name": "Perm extra %d" % i},
        "POST /api/v1/pipeline-templates": {"name": "Matrix template %d" % i,
                                            "stages": [{"name": "Hired", "type": "hired"}]},
        "PATCH /api/v1/pipeline-templates/{id}": {"name": "Perm template %d" % i},
        "POST /api/v1/applications/{id}/moves": {"to_stage_id": F["screen"].get(rel, "")},
        "POST /api/v1/applications/{id}/reject": {"reason": "not now", "kind": "rejected"},
        "POST /api/v1/applications/{id}/unreject": {},
        "POST /api/v1/applications/{id}/hire": {},
        "PATCH /api/v1/tasks/{id}": {"due_at": "2031-01-0%dT09:00:00Z" % (i % 9 + 1)},
        "POST /api/v1/custom-fields": {"entity": "candidate", "key": "matrix_%d" % i, "type": "text"},
        "PATCH /api/v1/custom-fields/{id}": {"label": "Perm %d" % i},
    }
    if route == "POST /api/v1/applications":
        body = {"candidate_id": new_candidate(s), "job_id": F["job"][rel], "source": "web"}
    elif route == "POST /api/v1/tasks":
        body = {"title": "Matrix task", "application_id": F["app"][rel]}
    elif route in bodies:
        body = bodies[route]
    if route == "POST /api/v1/sessions":
        kw["role"] = None  # a sign-in carries credentials in its body, not a token
    elif route == "DELETE /api/v1/sessions/current" and role is not ANON:
        signed = s.post(API + "/sessions", {"email": "%s@example.test" % role, "password": harness.PASSWORD},
                        role=None)
        expect_status(signed, 201, "sign in for logout")
        kw["role"] = None
        kw["headers"] = {"Cookie": session_cookie(signed.headers), "X-CSRF-Token": signed.json["csrf_token"]}
    if route == "PUT /api/v1/scripts/{name}":
        kw["raw"] = b"-- a script that registers nothing\n"
        kw.setdefault("headers", {})["Content-Type"] = "text/x-lua"
    elif route in ("POST /api/v1/candidates/{id}/attachments", "POST /api/v1/imports"):
        if route == "POST /api/v1/imports":
            raw = ("first_name,last_name,email\nMat,Rix,matrix-import-%d@example.test\n" % i).encode()
            ctype = "text/csv"
        else:
            raw, ctype = upload_body()
        kw["raw"] = raw
        kw.setdefault("headers", {})["Content-Type"] = ctype
    elif body is not None:
        kw["body"] = body
    elif method in ("POST", "PATCH"):
        kw["body"] = {}
    return method, p, kw


def binary_routes(s):
    return [line.strip() for line in s.cli("routes").splitlines() if line.strip()]


def test_every_route_has_a_permission_decision(s):
    routes = binary_routes(s)
    missing = [r for r in routes if r not in RULES]
    stale = [r for r in RULES if r not in routes]
    expect(not missing, "routes with no permission decision in test_permissions.RULES (add one)", missing)
    expect(not stale, "RULES names routes the binary no longer has", stale)


MATRIX = {"calls": 0, "denied": [], "writes": [], "not_found": []}


def test_route_matrix(s):
    failures = []
    t0 = time.time()
    for route in binary_routes(s):
        rule = RULES.get(route)
        if rule is None:
            continue  # reported by test_every_route_has_a_permission_decision
        relations = RELATIONS[rule.kind]
        for role in harness.ROLES + (ANON,):
            for rel in (relations if role is not ANON else relations[:1]):
                want = expected_status(rule, role, rel)
                method, path, kw = build_request(s, route, role, rel)
                r = s.request(method, path, **kw)
                MATRIX["calls"] += 1
                rid = r.headers.get("x-request-id")
                if r.status in (401, 403):
                    MATRIX["denied"].append((rid, r.status, route, role))
                elif r.status == 404:
                    MATRIX["not_found"].append((rid, route, role))
                elif 200 <= r.status < 300 and method != "GET":
                    MATRIX["writes"].append((rid, r.status, route, role))
                if r.status != want:
                    failures.append("%-45s role=%-14s rel=%-5s expected %d, got %d %s" % (
                        route, role or "anonymous", rel, want, r.status, r.raw[:160].decode(errors="replace")))
    print("  matrix: %d calls over %d routes in %.1fs" % (MATRIX["calls"], len(RULES), time.time() - t0))
    expect(not failures, "%d of %d calls answered otherwise than the rules:\n  %s" % (
        len(failures), MATRIX["calls"], "\n  ".join(failures)))


def test_denied_requests_and_writes_are_audited(s):
    expect(MATRIX["calls"], "the matrix ran")
    # Denied requests are audited in a small write after the response: wait for it.
    want = {rid for rid, _, _, _ in MATRIX["denied"]}
    deadline = time.time() + 10
    while True:
        rows = {r[0]: r for r in db_rows(s, "SELECT request_id, status, actor_id, actor_kind, action FROM audit_log"
                                            " WHERE status IN (401, 403)")}
        if want <= set(rows) or time.time() > deadline:
            break
        time.sleep(0.1)
    problems = []
    for rid, status, route, role in MATRIX["denied"]:
        row = rows.get(rid)
        if row is None:
            problems.append("no audit entry for %d %s as %s" % (status, route, role or "anonymous"))
            continue
        actor = s.user_ids.get(role) if role else None
        if row[1] != status or row[4] != route or (role and row[2] != actor) or \
                row[3] != ("user" if role else "anonymous"):
            problems.append("audit entry of %s as %s: %s" % (route, role, row))
    audited = {r[0]: r for r in db_rows(s, "SELECT request_id, status, action FROM audit_log WHERE status < 300")}
    for rid, status, route, role in MATRIX["writes"]:
        if rid not in audited:
            problems.append("no audit entry for the write %d %s as %s" % (status, route, role or "anonymous"))
    # Invisible objects answer 404 without a "denied" mark: count what is audited of them.
    nf = {rid for rid, _, _ in MATRIX["not_found"]}
    nf_audited = len(nf & {r[0] for r in db_rows(s, "SELECT request_id FROM audit_log WHERE status = 404")})
    print("  audit: %d denied (401/403) calls, %d writes; %d of %d invisible-object 404s have an audit entry"
          % (len(MATRIX["denied"]), len(MATRIX["writes"]), nf_audited, len(nf)))
    expect(not problems, "audit:\n  " + "\n  ".join(problems[:40]))


if __name__ == "__main__":
    harness.main()
