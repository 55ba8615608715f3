"""Custom field definitions: create, read, list, update and delete with their rules (roles,
duplicate keys, options, type changes while values exist, If-Match), events, and the
values enforced on every candidate write."""

import os
import sqlite3

import harness
from harness import expect, expect_problem, expect_status

BASE = "/api/v1/custom-fields"


def define(s, body, role="admin", status=201):
    return expect_status(s.post(BASE, body, role=role), status).json


def candidate(s, custom=None, email=None, role="admin"):
    body = {"first_name": "Ada", "last_name": "Lovelace"}
    if custom is not None:
        body["custom_fields"] = custom
    if email:
        body["emails"] = [email]
    return s.post("/api/v1/candidates", body, role=role)


def events(s, type_):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(s.data, "talentd.db"), uri=True)
    try:
        return db.execute("SELECT subject_id, data FROM events WHERE type = ?", (type_,)).fetchall()
    finally:
        db.close()


def test_create_get_list(s):
    r = expect_status(s.post(BASE, {"entity": "job", "key": "cost_center", "label": "Cost center", "type": "text"}), 201)
    f = r.json
    expect(f["id"].startswith("cfd_") and f["entity"] == "job" and f["key"] == "cost_center", "fields", f)
    expect(f["label"] == "Cost center" and f["type"] == "text" and f["options"] == [], "fields", f)
    expect(f["required"] is False and f["sensitive"] is False, "defaults", f)
    expect(r.headers.get("location") == BASE + "/" + f["id"], "location", r.headers)
    etag = r.headers.get("etag")
    expect(etag and etag.startswith('"v'), "etag", r.headers)
    got = expect_status(s.get(BASE + "/" + f["id"], role="interviewer"), 200)
    expect(got.json == f and got.headers.get("etag") == etag, "read back", got.json)
    sel = define(s, {"entity": "candidate", "key": "cf_list_probe", "type": "single_select", "options": ["a", "b"]})
    all_ = expect_status(s.get(BASE + "?limit=100", role="hiring_manager"), 200).json["data"]
    ids = [x["id"] for x in all_]
    expect(f["id"] in ids and sel["id"] in ids, "listed", ids)
    only_jobs = expect_status(s.get(BASE + "?entity=job&limit=100"), 200).json["data"]
    expect(all(x["entity"] == "job" for x in only_jobs) and f["id"] in [x["id"] for x in only_jobs], "filter")
    expect_problem(s.get(BASE + "?entity=person"), 400, "/query/entity")
    expect_problem(s.get(BASE + "/cfd_nope"), 404)
    ev = [row for row in events(s, "custom_field.created") if row[0] == f["id"]]
    expect(len(ev) == 1 and '"key":"cost_center"' in ev[0][1], "event emitted", ev)


def test_pagination(s):
    for i in range(3):
        define(s, {"entity": "application", "key": "page_%d" % i, "type": "boolean"})
    seen, cursor = [], None
    while True:
        r = expect_status(s.get(BASE + "?entity=application&limit=2" + ("&cursor=" + cursor if cursor else "")), 200)
        seen += [x["key"] for x in r.json["data"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    expect([k for k in seen if k.startswith("page_")] == ["page_0", "page_1", "page_2"], "pages", seen)


def test_validation(s):
    expect_problem(s.post(BASE, {"entity": "candidate", "key": "Bad Key", "type": "text"}), 422, "/key")
    expect_problem(s.post(BASE, {"entity": "candidate", "key": "9lives", "type": "text"}), 422, "/key")
    expect_problem(s.post(BASE, {"entity": "candidate", "key": "k" * 64, "type": "text"}), 422, "/key")
    expect_problem(s.post(BASE, {"entity": "person", "key": "x", "type": "text"}), 422, "/entity")
    expect_problem(s.post(BASE, {"entity": "candidate", "key": "x", "type": "color"}), 422, "/type")
    expect_problem(s.post(BASE, {"entity": "candidate", "key": "x", "type": "text", "extra": 1}), 422, "/extra")
    expect_problem(s.post(BASE, {"entity": "candidate", "key": "x", "type": "single_select"}), 422, "/options")
    expect_problem(s.post(BASE, {"entity": "candidate", "key": "x", "type": "multi_select", "options": []}), 422,
                   "/options")
    expect_problem(s.post(BASE, {"entity": "candidate", "key": "x", "type": "single_select",
                                 "options": ["a", "b", "a"]}), 422, "/options/2")
    expect_problem(s.post(BASE, {"entity": "candidate", "key": "x", "type": "number", "options": ["1"]}), 422,
                   "/options")
    expect_problem(s.post(BASE, {"entity": "candidate", "key": "x", "type": "single_select", "options": [""]}), 422,
                   "/options/0")
    # Nothing of the refused definitions was stored.
    keys = [x["key"] for x in s.get(BASE + "?entity=candidate&limit=100").json["data"]]
    expect("x" not in keys, "nothing stored", keys)


def test_duplicate_key_is_409_per_entity(s):
    define(s, {"entity": "candidate", "key": "nickname", "type": "text"})
    r = expect_problem(s.post(BASE, {"entity": "candidate", "key": "nickname", "type": "number"}), 409, "/key")
    expect("exists" in r.json["detail"], r.json)
    define(s, {"entity": "job", "key": "nickname", "type": "text"})


def test_roles(s):
    define(s, {"entity": "candidate", "key": "by_recruiter", "type": "text"}, role="recruiter")
    for role in ("hiring_manager", "interviewer"):
        expect_problem(s.post(BASE, {"entity": "candidate", "key": "by_" + role, "type": "text"}, role=role), 403)
    f = define(s, {"entity": "job", "key": "role_probe", "type": "text"})
    expect_problem(s.patch(BASE + "/" + f["id"], {"label": "x"}, role="hiring_manager"), 403)
    expect_status(s.patch(BASE + "/" + f["id"], {"label": "x"}, role="recruiter"), 200)
    expect_problem(s.delete(BASE + "/" + f["id"], role="recruiter"), 403)
    expect_problem(s.delete(BASE + "/" + f["id"], role="interviewer"), 403)
    expect_status(s.get(BASE + "/" + f["id"], role="admin"), 200)


def test_values_enforced_on_candidate_writes(s):
    define(s, {"entity": "candidate", "key": "years_experience", "type": "number"})
    define(s, {"entity": "candidate", "key": "remote_ok", "type": "boolean"})
    define(s, {"entity": "candidate", "key": "start_date", "type": "date"})
    define(s, {"entity": "candidate", "key": "languages", "type": "multi_select", "options": ["en", "de", "fr"]})
    req = define(s, {"entity": "candidate", "key": "seniority", "type": "single_select",
                     "options": ["junior", "senior"], "required": True})
    try:
        expect_problem(candidate(s, {}), 422, "/custom_fields/seniority")
        bad = candidate(s, {"seniority": "principal", "years_experience": "ten", "remote_ok": "yes",
                            "start_date": "next week", "languages": ["en", "xx"], "undefined_key": 1})
        expect_problem(bad, 422)
        pointers = sorted(e["pointer"] for e in bad.json["errors"])
        expect(pointers == ["/custom_fields/languages", "/custom_fields/remote_ok", "/custom_fields/seniority",
                            "/custom_fields/start_date", "/custom_fields/undefined_key",
                            "/custom_fields/years_experience"], "every bad value named", pointers)
        good = expect_status(candidate(s, {"seniority": "senior", "years_experience": 12.5, "remote_ok": True,
                                           "start_date": "2030-01-15", "languages": ["en", "fr"]}), 201).json
        expect(good["custom_fields"] == {"seniority": "senior", "years_experience": 12.5, "remote_ok": True,
                                         "start_date": "2030-01-15", "languages": ["en", "fr"]}, good)
        # Updates are checked too.
        expect_problem(s.patch("/api/v1/candidates/" + good["id"], {"custom_fields": {"remote_ok": 3}}), 422,
                       "/custom_fields/remote_ok")
    finally:
        # Later tests create candidates without it.
        expect_status(s.delete(BASE + "/" + req["id"] + "?purge=true"), 204)


def test_sensitive_values_hidden_from_interviewers(s):
    define(s, {"entity": "candidate", "key": "salary_expectation", "type": "number", "sensitive": True})
    c = expect_status(candidate(s, {"salary_expectation": 90000}, email="sens@example.test"), 201).json
    team = {"interviewers": [s.user_ids["interviewer"]], "hiring_managers": [s.user_ids["hiring_manager"]]}
    job = expect_status(s.post("/api/v1/jobs", {"title": "Sensitive probe", "status": "open", "hiring_team": team}),
                        201).json
    expect_status(s.post("/api/v1/applications", {"candidate_id": c["id"], "job_id": job["id"], "source": "test"}), 201)
    seen = expect_status(s.get("/api/v1/candidates/" + c["id"], role="interviewer"), 200).json
    expect("salary_expectation" not in seen["custom_fields"], "hidden from interviewer", seen["custom_fields"])
    hm = expect_status(s.get("/api/v1/candidates/" + c["id"], role="hiring_manager"), 200).json
    expect(hm["custom_fields"].get("salary_expectation") == 90000, "shown to hiring manager", hm["custom_fields"])


def test_update_rules_and_if_match(s):
    f = define(s, {"entity": "candidate", "key": "shirt_size", "type": "single_select", "options": ["s", "m", "l"]})
    url = BASE + "/" + f["id"]
    etag = s.get(url).headers["etag"]
    r = expect_status(s.patch(url, {"label": "Shirt size", "options": ["s", "m", "l", "xl"]},
                              headers={"If-Match": etag}), 200)
    expect(r.json["label"] == "Shirt size" and r.json["options"] == ["s", "m", "l", "xl"], r.json)
    expect(r.headers["etag"] != etag, "new etag")
    expect_problem(s.patch(url, {"label": "stale"}, headers={"If-Match": etag}), 412)
    expect(s.get(url).json["label"] == "Shirt size", "stale write changed nothing")
    expect_problem(s.patch(url, {"key": "renamed"}), 422, "/key")
    expect_problem(s.patch(url, {}), 422)
    c = expect_status(candidate(s, {"shirt_size": "m"}, email="shirt@example.test"), 201).json
    # Dropping an option in use, or changing the type while values exist: 409 naming the field.
    r = expect_problem(s.patch(url, {"options": ["s", "l", "xl"]}), 409, "/options")
    expect("1 record" in r.json["errors"][0]["message"], r.json)
    expect_problem(s.patch(url, {"type": "text"}), 409, "/type")
    expect_status(s.patch(url, {"options": ["s", "m", "l"]}), 200)  # dropping an unused option
    expect_problem(s.patch(url, {"options": ["s", "s"]}), 422, "/options/1")
    # Without values the type may change; a select type needs options.
    g = define(s, {"entity": "candidate", "key": "fav_number", "type": "text"})
    gurl = BASE + "/" + g["id"]
    expect_problem(s.patch(gurl, {"type": "single_select"}), 422, "/options")
    r = expect_status(s.patch(gurl, {"type": "single_select", "options": ["7", "42"], "required": False,
                                     "sensitive": True, "label": None}), 200)
    expect(r.json["type"] == "single_select" and r.json["sensitive"] is True and r.json["label"] is None, r.json)
    r = expect_status(s.patch(gurl, {"type": "number"}), 200)
    expect(r.json["options"] == [], "options cleared with a non-select type", r.json)
    expect(s.get("/api/v1/candidates/" + c["id"]).json["custom_fields"] == {"shirt_size": "m"})
    ev = [row for row in events(s, "custom_field.updated") if row[0] == f["id"]]
    expect(len(ev) == 2, "one event per successful update", ev)


def test_delete_refused_while_values_exist_then_purged(s):
    f = define(s, {"entity": "candidate", "key": "referral_code", "type": "text"})
    url = BASE + "/" + f["id"]
    c = expect_status(candidate(s, {"referral_code": "R-1"}, email="ref@example.test"), 201)
    cid, version = c.json["id"], c.headers["etag"]
    r = expect_problem(s.delete(url), 409)
    expect("purge=true" in r.json["detail"], r.json)
    expect_problem(s.delete(url + "?purge=maybe"), 400, "/query/purge")
    expect_problem(s.delete(url, headers={"If-Match": '"v1"'}), 412)
    expect_status(s.delete(url + "?purge=true", headers={"If-Match": s.get(url).headers["etag"]}), 204)
    expect_problem(s.get(url), 404)
    after = expect_status(s.get("/api/v1/candidates/" + cid), 200)
    expect("referral_code" not in after.json["custom_fields"], "value purged", after.json)
    expect(after.headers["etag"] != version, "candidate version bumped")
    ev = [row for row in events(s, "custom_field.deleted") if row[0] == f["id"]]
    expect(len(ev) == 1 and '"purged":1' in ev[0][1], "deleted event with purge count", ev)
    # The key is free again, and an unused field deletes without purge.
    g = define(s, {"entity": "candidate", "key": "referral_code", "type": "number"})
    expect_status(s.delete(BASE + "/" + g["id"]), 204)
    expect_problem(s.delete(BASE + "/" + g["id"]), 404)


if __name__ == "__main__":
    harness.main()
