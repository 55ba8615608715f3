"""Candidates over HTTP: fields round-trip and normalization, duplicate emails (409 with
existing_id, or merge on request), PATCH with If-Match, Idempotency-Key, merge and alias
resolution, ranked full-text search over resume text and notes, cursor pagination of lists
and searches, notes and the activity history with visibility, export (CSV with formula
protection, JSON), GDPR erasure, events, and what each role may see and do."""

import csv
import io
import os
import sqlite3

import harness
from harness import expect, expect_problem, expect_status

C = "/api/v1/candidates"


def create(s, role="admin", expect_code=201, **fields):
    body = {"first_name": "Test"}
    body.update(fields)
    return expect_status(s.post(C, body, role=role), expect_code).json


def db_rows(s, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(s.data, "talentd.db"), uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def ids_of(resp):
    return [c["id"] for c in resp.json["data"]]


def all_pages(s, path, role="admin"):
    """Follows next_cursor to the end; returns (ids, page count)."""
    ids, pages, cursor = [], 0, None
    while True:
        sep = "&" if "?" in path else "?"
        r = expect_status(s.get(path + (sep + "cursor=" + cursor if cursor else ""), role=role), 200)
        ids += ids_of(r)
        pages += 1
        cursor = r.json["next_cursor"]
        expect(pages < 50, "pagination ends")
        if cursor is None:
            return ids, pages


def jobs_available(s):
    r = s.post("/api/v1/jobs", {"title": "probe"})
    return r.status == 201


def make_job(s, **fields):
    body = {"title": "Engineer", "status": "open"}
    body.update(fields)
    return expect_status(s.post("/api/v1/jobs", body), 201).json


def apply(s, candidate_id, job_id):
    return expect_status(s.post("/api/v1/applications", {"candidate_id": candidate_id, "job_id": job_id,
                                                         "source": "referral"}), 201).json


# ---------- create, read, normalization ----------

def test_create_round_trips_and_normalizes(s):
    body = {"first_name": "  Ana ", "last_name": "López", "emails": [" Ana.Lopez@Example.COM", "ana.lopez@example.com",
                                                                     "ana@work.example"],
            "phones": ["(415) 555-0100", "+1 415-555-0100", "+44 (0)20 7946 0958", "0049 30 901820", "ext. 12"],
            "links": ["linkedin.com/in/ana", "https://github.com/ana", "https://github.com/ana"],
            "location": " Lisbon ", "source": "referral", "tags": [" Go ", "go", "Rust", "RUST"],
            "resume_text": "Ten years of distributed systems.", "owner_id": s.user_ids["recruiter"],
            "consent": {"status": "granted", "at": "2024-05-01T09:30:00Z", "note": "form"}}
    r = expect_status(s.post(C, body), 201)
    c = r.json
    expect(c["id"].startswith("can_") and len(c["id"]) > 20, "random id", c["id"])
    expect(r.headers.get("etag") == '"v1"', "ETag", r.headers.get("etag"))
    expect(r.headers.get("location") == C + "/" + c["id"], "Location", r.headers.get("location"))
    expect(c["first_name"] == "Ana" and c["last_name"] == "López", "names trimmed", c)
    expect(c["emails"] == ["ana.lopez@example.com", "ana@work.example"], "emails", c["emails"])
    expect(c["phones"] == ["+14155550100", "+442079460958", "+4930901820", "ext. 12"], "phones", c["phones"])
    expect(c["links"] == ["https://linkedin.com/in/ana", "https://github.com/ana"], "links", c["links"])
    expect(c["tags"] == ["Go", "Rust"], "tags", c["tags"])
    expect(c["location"] == "Lisbon" and c["source"] == "referral", "text fields", c)
    expect(c["resume_text"] == body["resume_text"] and c["owner_id"] == s.user_ids["recruiter"], "kept", c)
    expect(c["consent"] == {"status": "granted", "at": "2024-05-01T09:30:00.000Z", "note": "form"}, "consent",
           c["consent"])
    expect(c["custom_fields"] == {} and c["version"] == 1, "defaults", c)
    expect(c["created_at"].endswith("Z") and c["created_at"] == c["updated_at"], "timestamps", c)
    got = expect_status(s.get(C + "/" + c["id"]), 200)
    expect(got.json == c, "GET returns what POST returned", got.json, c)
    expect(got.headers.get("etag") == '"v1"', "GET ETag")
    # Minimal candidate: only a first name.
    m = create(s, first_name="Solo")
    expect(m["last_name"] == "" and m["emails"] == [] and m["consent"] is None and m["location"] is None, "minimal",
           m)


def test_invalid_fields_named(s):
    r = expect_problem(s.post(C, {"first_name": "X", "bogus": 1, "shoe_size": 42}), 422)
    pointers = sorted(e["pointer"] for e in r.json["errors"])
    expect(pointers == ["/bogus", "/shoe_size"], "unknown fields named", pointers)
    r = expect_problem(s.post(C, {"last_name": "Y"}), 422, "/first_name")
    r = expect_problem(s.post(C, {"first_name": "X", "emails": ["ok@example.com", "not-an-email", "a@b"],
                                  "links": ["javascript:alert(1)"], "tags": ["  "], "owner_id": "usr_nobody",
                                  "phones": ["   "]}), 422)
    pointers = sorted(e["pointer"] for e in r.json["errors"])
    expect(pointers == ["/emails/1", "/emails/2", "/links/0", "/owner_id", "/phones/0", "/tags/0"],
           "every bad field named", pointers)
    expect_problem(s.post(C, {"first_name": "X", "consent": {"status": "maybe"}}), 422, "/consent/status")
    expect_problem(s.post(C, {"first_name": "X", "emails": "a@example.com"}), 422, "/emails")
    expect_problem(s.post(C + "?on_duplicate=sometimes", {"first_name": "X"}), 400, "/query/on_duplicate")


def test_duplicate_email_conflict_then_merge_on_request(s):
    a = create(s, first_name="Bo", emails=["bo.dup@example.com"], tags=["java"])
    r = expect_problem(s.post(C, {"first_name": "Bob", "emails": ["new.dup@example.com", "BO.DUP@example.com"]}),
                       409, "/emails/1")
    expect(r.json["existing_id"] == a["id"], "existing_id", r.json)
    # Nothing of the refused candidate was stored.
    expect(db_rows(s, "SELECT count(*) FROM candidate_emails WHERE email = 'new.dup@example.com'")[0][0] == 0)
    m = expect_status(s.post(C + "?on_duplicate=merge", {"first_name": "Bob", "last_name": "Stone",
                                                         "emails": ["BO.DUP@example.com", "b2.dup@example.com"],
                                                         "tags": ["JAVA", "sql"], "location": "Porto"}), 200)
    expect(m.json["id"] == a["id"], "merged into the existing candidate", m.json)
    expect(m.json["first_name"] == "Bo" and m.json["last_name"] == "Stone" and m.json["location"] == "Porto",
           "existing values win, empty ones are filled", m.json)
    expect(m.json["emails"] == ["bo.dup@example.com", "b2.dup@example.com"], "emails united", m.json["emails"])
    expect(m.json["tags"] == ["java", "sql"], "tags united case-insensitively", m.json["tags"])
    expect(m.json["version"] == 2 and m.headers.get("etag") == '"v2"', "a merge is a new version", m.headers)
    # Emails of two different candidates cannot be merged into one on create.
    other = create(s, first_name="Other", emails=["other.dup@example.com"])
    r = expect_problem(s.post(C + "?on_duplicate=merge", {"first_name": "Z", "emails": ["bo.dup@example.com",
                                                                                      "other.dup@example.com"]}), 409)
    expect(r.json["existing_id"] == other["id"], "names the second owner", r.json)
    # Updating a candidate to another's email is a conflict too.
    r = expect_problem(s.patch(C + "/" + other["id"], {"emails": ["b2.dup@example.com"]}), 409, "/emails/0")
    expect(r.json["existing_id"] == a["id"])


# ---------- update ----------

def test_patch_with_if_match_and_custom_fields(s):
    have_cf = s.post("/api/v1/custom-fields", {"entity": "candidate", "key": "salary_expectation",
                                               "type": "number", "sensitive": True}).status == 201
    c = create(s, first_name="Pat", location="Rome", resume_text="x", tags=["a"])
    url = C + "/" + c["id"]
    expect_problem(s.patch(url, {"location": "Milan"}, headers={"If-Match": '"v7"'}), 412)
    r = expect_status(s.patch(url, {"location": "Milan", "tags": ["b", "B", " c "], "resume_text": None},
                              headers={"If-Match": '"v1"'}), 200)
    expect(r.headers.get("etag") == '"v2"', "new ETag", r.headers.get("etag"))
    expect(r.json["location"] == "Milan" and r.json["tags"] == ["b", "c"] and r.json["resume_text"] is None, r.json)
    expect(r.json["first_name"] == "Pat", "untouched fields stay")
    expect_problem(s.patch(url, {"location": "Turin"}, headers={"If-Match": '"v1"'}), 412)
    expect_problem(s.patch(url, {"first_name": ""}), 422, "/first_name")
    expect_problem(s.patch(url, {"nickname": "P"}), 422, "/nickname")
    # A PATCH that changes nothing keeps the version.
    same = expect_status(s.patch(url, {"location": "Milan"}), 200)
    expect(same.json["version"] == 2, "no-op keeps version", same.json)
    if have_cf:
        expect_problem(s.patch(url, {"custom_fields": {"salary_expectation": "lots"}}), 422,
                       "/custom_fields/salary_expectation")
        expect_problem(s.patch(url, {"custom_fields": {"undefined_key": 1}}), 422, "/custom_fields/undefined_key")
        r = expect_status(s.patch(url, {"custom_fields": {"salary_expectation": 90000}}), 200)
        expect(r.json["custom_fields"] == {"salary_expectation": 90000}, r.json)
        r = expect_status(s.patch(url, {"custom_fields": {"salary_expectation": None}}), 200)
        expect(r.json["custom_fields"] == {}, "null removes a key", r.json)
    expect_problem(s.patch(C + "/can_doesnotexist", {"location": "x"}), 404)


def test_idempotency_key(s):
    h = {"Idempotency-Key": "cand-key-1"}
    a = expect_status(s.post(C, {"first_name": "Idem", "emails": ["idem@example.com"]}, headers=h), 201)
    b = expect_status(s.post(C, {"first_name": "Idem", "emails": ["idem@example.com"]}, headers=h), 201)
    expect(a.json["id"] == b.json["id"], "the retry answers the same candidate")
    expect(b.headers.get("idempotent-replayed") == "true", "marked as replayed", b.headers)
    expect(db_rows(s, "SELECT count(*) FROM candidates WHERE first_name = 'Idem'")[0][0] == 1, "created once")
    expect_problem(s.post(C, {"first_name": "Other body"}, headers=h), 422)


# ---------- search and pagination ----------

def test_search_ranks_resume_and_note_words(s):
    a = create(s, first_name="Quentin", last_name="Zephyrine", resume_text="Erlang and OTP")
    b = create(s, first_name="Dana", resume_text="zephyrine zephyrine zephyrine pipelines")
    n = create(s, first_name="Noor", resume_text="Go")
    expect_status(s.post(C + "/" + n["id"] + "/notes", {"body": "Mentioned the Xylophonist meetup"}), 201)
    r = expect_status(s.get(C + "?q=zephyrine"), 200)
    expect(ids_of(r) == [a["id"], b["id"]], "both found, the name hit first", ids_of(r))
    r = expect_status(s.get(C + "?q=erlang"), 200)
    expect(ids_of(r) == [a["id"]], "resume word", ids_of(r))
    r = expect_status(s.get(C + "?q=xylophonist"), 200)
    expect(ids_of(r) == [n["id"]], "note word", ids_of(r))
    r = expect_status(s.get(C + "?q=xyloph"), 200)
    expect(ids_of(r) == [n["id"]], "prefix of the last word", ids_of(r))
    r = expect_status(s.get(C + "?q=quentin%20otp"), 200)
    expect(ids_of(r) == [a["id"]], "all words must match", ids_of(r))
    r = expect_status(s.get(C + "?q=ana.lopez%40example.com"), 200)
    expect(all("ana.lopez@example.com" in c["emails"] for c in r.json["data"]) and r.json["data"], "email search")
    # User text is never FTS5 syntax.
    for q in ['"', 'a"b', "NEAR(x", "name:x", "*", "OR", "x%20NOT%20y", "%5E", "(((", "'"]:
        r = expect_status(s.get(C + "?q=" + q), 200, q)
    # A private note's words are not searchable.
    expect_status(s.post(C + "/" + n["id"] + "/notes", {"body": "secretword", "visibility": "private"}), 201)
    expect(ids_of(expect_status(s.get(C + "?q=secretword"), 200)) == [], "private notes are not indexed")


def test_pagination_over_many_candidates(s):
    made = []
    for i in range(130):
        made.append(create(s, first_name="Bulk%03d" % i, tags=["bulk"], source="pager",
                           resume_text="quokkaword number %d" % i)["id"])
    ids, pages = all_pages(s, C + "?tag=bulk&limit=50")
    expect(pages == 3 and len(ids) == 130 and len(set(ids)) == 130, "three pages, no repeats", pages, len(ids))
    expect(ids == list(reversed(made)), "newest first")
    ids, _ = all_pages(s, C + "?source=pager&tag=BULK&limit=100")
    expect(len(ids) == 130, "tag filter is case-insensitive", len(ids))
    ids, pages = all_pages(s, C + "?q=quokkaword&limit=40")
    expect(pages == 4 and sorted(ids) == sorted(made), "search pages cover every hit once", pages, len(ids))
    # A cursor belongs to its query kind.
    list_cursor = expect_status(s.get(C + "?tag=bulk&limit=10"), 200).json["next_cursor"]
    search_cursor = expect_status(s.get(C + "?q=quokkaword&limit=10"), 200).json["next_cursor"]
    expect_problem(s.get(C + "?q=quokkaword&cursor=" + list_cursor), 400, "/query/cursor")
    expect_problem(s.get(C + "?tag=bulk&cursor=" + search_cursor), 400, "/query/cursor")
    expect_problem(s.get(C + "?cursor=garbage"), 400, "/query/cursor")
    expect_problem(s.get(C + "?limit=101"), 400, "/query/limit")
    expect_problem(s.get(C + "?updated_since=yesterday"), 400, "/query/updated_since")
    r = expect_status(s.get(C + "?source=pager&updated_since=2000-01-01T00:00:00Z&limit=1"), 200)
    expect(len(r.json["data"]) == 1 and r.json["next_cursor"], "updated_since filter")
    r = expect_status(s.get(C + "?source=pager&updated_since=2999-01-01T00:00:00Z"), 200)
    expect(r.json["data"] == [], "nothing updated in the future")


# ---------- notes and activities ----------

def test_notes_and_activity_visibility(s):
    c = create(s, first_name="Nora")
    url = C + "/" + c["id"]
    team = expect_status(s.post(url + "/notes", {"body": "Strong communicator"}, role="recruiter"), 201).json
    expect(team["kind"] == "note" and team["visibility"] == "team" and team["body"] == "Strong communicator", team)
    expect(team["author"]["id"] == s.user_ids["recruiter"] and team["candidate_id"] == c["id"], team)
    private = expect_status(s.post(url + "/notes", {"body": "my own reminder", "visibility": "private"}), 201).json
    admin_only = expect_status(s.post(url + "/notes", {"body": "comp band", "visibility": "admin"}), 201).json
    expect_problem(s.post(url + "/notes", {"body": "x", "visibility": "public"}), 422, "/visibility")
    expect_problem(s.post(url + "/notes", {"body": "   "}), 422, "/body")
    expect_problem(s.post(url + "/notes", {"body": "x", "application_id": "app_nope"}), 422, "/application_id")
    expect_problem(s.post(url + "/notes", {"body": "x", "colour": "red"}), 422, "/colour")
    expect_problem(s.post(C + "/can_nope/notes", {"body": "x"}), 404)
    mine = [a["id"] for a in expect_status(s.get(url + "/activities?kind=note"), 200).json["data"]]
    expect(mine == [admin_only["id"], private["id"], team["id"]], "admin sees all notes, newest first", mine)
    theirs = [a["id"] for a in expect_status(s.get(url + "/activities?kind=note", role="recruiter"), 200).json["data"]]
    expect(theirs == [team["id"]], "others' private and admin notes are hidden", theirs)
    everything = expect_status(s.get(url + "/activities"), 200).json["data"]
    expect(any(a["kind"] == "system" and a["data"].get("action") == "created" for a in everything), "history",
           everything)
    for i in range(5):
        expect_status(s.post(url + "/notes", {"body": "note %d" % i}), 201)
    ids, pages = all_pages(s, url + "/activities?limit=2")
    expect(len(ids) == len(set(ids)) == 9 and pages == 5, "activity pages", len(ids), pages)


# ---------- merge ----------

def test_merge_moves_everything_and_keeps_alias(s):
    survivor = create(s, first_name="Cara", emails=["cara.m@example.com"], tags=["python"], phones=["+351 912 345 678"])
    dup = create(s, first_name="Cara", last_name="Diaz", emails=["cd.m@example.com"], tags=["PYTHON", "ml"],
                 phones=["+351912345678", "+351 213 000 000"], resume_text="tensorflow researcher")
    note = expect_status(s.post(C + "/" + dup["id"] + "/notes", {"body": "met at pycon"}), 201).json
    url = C + "/" + survivor["id"]
    expect_problem(s.post(url + "/merge", {"duplicate_id": survivor["id"]}), 422, "/duplicate_id")
    expect_problem(s.post(url + "/merge", {"duplicate_id": "can_nope"}), 422, "/duplicate_id")
    expect_problem(s.post(url + "/merge", {"duplicate_id": dup["id"], "extra": 1}), 422, "/extra")
    expect_problem(s.post(url + "/merge", {"duplicate_id": dup["id"]}, role="hiring_manager"), 404)
    m = expect_status(s.post(url + "/merge", {"duplicate_id": dup["id"]}), 200).json
    expect(m["id"] == survivor["id"] and m["last_name"] == "Diaz", m)
    expect(m["emails"] == ["cara.m@example.com", "cd.m@example.com"], m["emails"])
    expect(m["tags"] == ["python", "ml"] and m["phones"] == ["+351912345678", "+351213000000"], m)
    expect(m["resume_text"] == "tensorflow researcher" and m["version"] == 2, m)
    old = expect_status(s.get(C + "/" + dup["id"]), 200)
    expect(old.json["id"] == survivor["id"], "the old id resolves to the survivor", old.json)
    acts = expect_status(s.get(url + "/activities?kind=note"), 200).json["data"]
    expect([a["id"] for a in acts] == [note["id"]], "the note moved", acts)
    expect(ids_of(expect_status(s.get(C + "?q=pycon"), 200)) == [survivor["id"]], "search follows the note")
    expect(ids_of(expect_status(s.get(C + "?q=tensorflow"), 200)) == [survivor["id"]])
    expect_problem(s.post(url + "/merge", {"duplicate_id": dup["id"]}), 422, "/duplicate_id")
    expect(db_rows(s, "SELECT count(*) FROM candidates WHERE id = ?", dup["id"])[0][0] == 0, "duplicate deleted")
    # A chain: merging the survivor into a third keeps the first alias resolving.
    third = create(s, first_name="Cara3")
    expect_status(s.post(C + "/" + third["id"] + "/merge", {"duplicate_id": survivor["id"]}), 200)
    expect(expect_status(s.get(C + "/" + dup["id"]), 200).json["id"] == third["id"], "alias chain")
    types = [r[0] for r in db_rows(s, "SELECT type FROM events WHERE subject_id = ? ORDER BY rowid", third["id"])]
    expect("candidate.merged" in types, types)


def test_merge_with_applications_to_the_same_job(s):
    if not jobs_available(s):
        print("  (jobs/applications not available yet: skipped)")
        return
    job = make_job(s)
    other_job = make_job(s, title="Designer")
    a = create(s, first_name="Ines", emails=["ines.app@example.com"])
    b = create(s, first_name="Ines", emails=["ines.app2@example.com"])
    keep = apply(s, a["id"], job["id"])
    drop = apply(s, b["id"], job["id"])
    moved = apply(s, b["id"], other_job["id"])
    expect_status(s.post(C + "/" + a["id"] + "/merge", {"duplicate_id": b["id"]}), 200)
    k = expect_status(s.get("/api/v1/applications/" + keep["id"]), 200).json
    d = expect_status(s.get("/api/v1/applications/" + drop["id"]), 200).json
    mv = expect_status(s.get("/api/v1/applications/" + moved["id"]), 200).json
    expect(k["status"] == "active" and k["candidate_id"] == a["id"], k)
    expect(d["status"] == "withdrawn" and d["candidate_id"] == a["id"], d)
    expect(mv["status"] == "active" and mv["candidate_id"] == a["id"], mv)
    reasons = db_rows(s, "SELECT t.kind, t.reason FROM stage_transitions t JOIN applications ap"
                         " ON ap.rowid = t.application_rowid WHERE ap.id = ? ORDER BY t.rowid", drop["id"])
    expect(reasons[-1] == ("withdrawn", "merged"), "the withdrawal is in the transition log", reasons)
    # Erasing the person takes their applications and their history with them.
    expect_status(s.delete(C + "/" + a["id"]), 204)
    expect_problem(s.get("/api/v1/applications/" + keep["id"]), 404)
    left = db_rows(s, "SELECT count(*) FROM stage_transitions t JOIN applications ap ON ap.rowid = t.application_rowid"
                      " WHERE ap.id IN (?, ?, ?)", keep["id"], drop["id"], moved["id"])
    expect(left[0][0] == 0 and db_rows(s, "SELECT count(*) FROM applications WHERE id = ?", drop["id"])[0][0] == 0,
           "applications and transitions erased", left)


# ---------- roles ----------

def test_role_visibility_and_permissions(s):
    c = create(s, first_name="Vera", resume_text="visibilityword")
    url = C + "/" + c["id"]
    for role in ("interviewer", "hiring_manager"):
        r = expect_status(s.get(C + "?limit=100", role=role), 200)
        expect(r.json["data"] == [], "%s sees no candidate without an application" % role, r.json)
        expect(ids_of(expect_status(s.get(C + "?q=visibilityword", role=role), 200)) == [], role)
        expect_problem(s.get(url, role=role), 404)
        expect_problem(s.post(url + "/notes", {"body": "x"}, role=role), 404)
        expect_problem(s.get(url + "/activities", role=role), 404)
        expect_problem(s.patch(url, {"location": "x"}, role=role), 404)
        expect_problem(s.delete(url, role=role), 404)
        expect_problem(s.post(C, {"first_name": "No"}, role=role), 403)
        expect_problem(s.get(C + "/export", role=role), 403)
    r = expect_status(s.get(url, role="recruiter"), 200)
    expect(r.json["id"] == c["id"], "recruiters see every candidate")
    expect_status(s.patch(url, {"location": "Oslo"}, role="recruiter"), 200)


def test_interviewer_sees_candidate_of_their_job(s):
    if not jobs_available(s):
        print("  (jobs/applications not available yet: skipped)")
        return
    have_cf = s.post("/api/v1/custom-fields", {"entity": "candidate", "key": "current_salary", "type": "number",
                                               "sensitive": True}).status == 201
    job = make_job(s, hiring_team={"interviewers": [s.user_ids["interviewer"]]})
    fields = {"custom_fields": {"current_salary": 120000}} if have_cf else {}
    c = create(s, first_name="Ivo", resume_text="interviewword", **fields)
    url = C + "/" + c["id"]
    expect_problem(s.get(url, role="interviewer"), 404)
    apply(s, c["id"], job["id"])
    seen = expect_status(s.get(url, role="interviewer"), 200).json
    if have_cf:
        expect("current_salary" not in seen["custom_fields"], "sensitive fields hidden", seen)
        expect(expect_status(s.get(url), 200).json["custom_fields"] == {"current_salary": 120000})
    expect(ids_of(expect_status(s.get(C + "?q=interviewword", role="interviewer"), 200)) == [c["id"]])
    expect_status(s.post(url + "/notes", {"body": "good pairing session"}, role="interviewer"), 201)
    expect_problem(s.patch(url, {"location": "x"}, role="interviewer"), 403)
    expect_problem(s.delete(url, role="interviewer"), 403)


# ---------- export ----------

def test_export_csv_and_json(s):
    c = create(s, first_name="=cmd|' /C calc'!A0", last_name="Export, \"Quoted\"", emails=["exp@example.com"],
               phones=["+1 415 555 0199"], tags=["export-tag", "b"], source="exportsrc")
    r = expect_status(s.get(C + "/export?format=csv&source=exportsrc", role="recruiter"), 200)
    expect(r.headers["content-type"].startswith("text/csv"), r.headers)
    expect("attachment" in r.headers.get("content-disposition", ""), r.headers)
    expect(r.headers.get("x-export-truncated") == "false")
    text = r.raw.decode()
    expect("\r\n" in text, "CRLF lines")
    rows = list(csv.reader(io.StringIO(text)))
    expect(rows[0][:4] == ["id", "first_name", "last_name", "emails"], rows[0])
    expect(len(rows) == 2, "one candidate", rows)
    row = dict(zip(rows[0], rows[1]))
    expect(row["id"] == c["id"], row)
    expect(row["first_name"] == "'=cmd|' /C calc'!A0", "formula neutralized", row["first_name"])
    expect(row["last_name"] == 'Export, "Quoted"', "quoting", row["last_name"])
    expect(row["phones"] == "'+14155550199", "a leading + is neutralized too", row["phones"])
    expect(row["tags"] == "export-tag; b", row["tags"])
    j = expect_status(s.get(C + "/export?format=json&source=exportsrc"), 200)
    expect(j.headers["content-type"].startswith("application/json"))
    expect(j.json["truncated"] is False and [x["id"] for x in j.json["data"]] == [c["id"]], j.json)
    expect(j.json["data"][0]["first_name"] == "=cmd|' /C calc'!A0", "JSON keeps the value as is")
    expect_problem(s.get(C + "/export?format=xml"), 400, "/query/format")
    everything = expect_status(s.get(C + "/export"), 200)
    expect(len(list(csv.reader(io.StringIO(everything.raw.decode())))) > 100, "default is CSV of everyone")


# ---------- erasure and events ----------

def test_delete_erases_the_person(s):
    c = create(s, first_name="Gdpr", emails=["gdpr@example.com"], resume_text="erasureword", tags=["erase"])
    url = C + "/" + c["id"]
    expect_status(s.post(url + "/notes", {"body": "erasurenote"}), 201)
    expect_problem(s.delete(url, role="recruiter", headers={"If-Match": '"v9"'}), 412)
    r = expect_status(s.delete(url, role="recruiter"), 204)
    expect(r.raw == b"", "no body")
    expect_problem(s.get(url), 404)
    expect_problem(s.delete(url), 404)
    expect(ids_of(expect_status(s.get(C + "?q=erasureword"), 200)) == [])
    expect(ids_of(expect_status(s.get(C + "?q=erasurenote"), 200)) == [])
    rowid_free = db_rows(s, "SELECT count(*) FROM candidate_emails WHERE email = 'gdpr@example.com'")[0][0]
    expect(rowid_free == 0, "email rows gone")
    expect(db_rows(s, "SELECT count(*) FROM candidate_search WHERE candidate_search MATCH 'erasureword'")[0][0] == 0)
    expect(db_rows(s, "SELECT count(*) FROM activities WHERE body = 'erasurenote'")[0][0] == 0, "notes gone")
    events = db_rows(s, "SELECT type, data FROM events WHERE subject_id = ? ORDER BY rowid", c["id"])
    expect([e[0] for e in events][-1] == "candidate.deleted", events)
    expect(all("gdpr@example.com" not in e[1] and "Gdpr" not in e[1] for e in events), "no personal data in events",
           events)
    # The email may be used again.
    create(s, first_name="Gdpr again", emails=["gdpr@example.com"])


def test_events_for_each_write(s):
    c = create(s, first_name="Evan", source="events")
    expect_status(s.patch(C + "/" + c["id"], {"location": "Faro"}), 200)
    note = expect_status(s.post(C + "/" + c["id"] + "/notes", {"body": "hello"}), 201).json
    types = [r[0] for r in db_rows(s, "SELECT type FROM events WHERE subject_id = ? ORDER BY rowid", c["id"])]
    expect(types == ["candidate.created", "candidate.updated"], types)
    data = db_rows(s, "SELECT data FROM events WHERE subject_id = ? AND type = 'candidate.updated'", c["id"])[0][0]
    expect('"changed":["location"]' in data, data)
    expect(db_rows(s, "SELECT type FROM events WHERE subject_id = ?", note["id"]) == [("note.created",)])
    audit = db_rows(s, "SELECT action FROM audit_log WHERE object_id = ? ORDER BY rowid", c["id"])
    expect([a[0] for a in audit] == ["POST /api/v1/candidates", "PATCH /api/v1/candidates/{id}"], audit)


if __name__ == "__main__":
    harness.main()
