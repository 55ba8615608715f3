"""The crm plugin over HTTP: talent pools (CRUD with the core's ETag, If-Match/412 and Location, bulk adds that commit
whole or not at all, steps, conversion into an application with its touch and history) and
segments (each filter and q return exactly the hand-picked candidates; an unknown filter is a
422 naming it), and who may use them."""

import datetime
import json
import re
import uuid

import harness
from harness import expect, expect_problem, expect_status

MARK = "crm" + uuid.uuid4().hex[:8]  # a tag only this run's candidates carry


def enable(s):
    s.cli("plugin", "enable", "crm", "--data", s.data)


def iso(delta_hours):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=delta_hours)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


_people = {}


def people(s):
    """Four candidates with hand-chosen tags, sources, locations, custom fields and consent."""
    if _people:
        return _people
    for key, typ in (("level", "text"), ("years", "number"), ("remote", "boolean")):
        expect_status(s.post("/api/v1/custom-fields", {"entity": "candidate", "key": key, "type": typ}), 201)
    specs = {
        "A": {"first_name": "Ada", "last_name": "Lovelace", "tags": [MARK, "python", "senior"], "source": "linkedin",
              "location": "Berlin, Germany", "custom_fields": {"level": "senior", "years": 7, "remote": True},
              "consent": {"status": "granted"}, "resume_text": "compilers and the analytical engine"},
        "B": {"first_name": "Bob", "last_name": "Builder", "tags": [MARK, "python"], "source": "referral",
              "location": "Munich", "custom_fields": {"level": "junior", "years": 2, "remote": False},
              "consent": {"status": "requested"}},
        "C": {"first_name": "Cleo", "last_name": "Patra", "tags": [MARK, "java"], "source": "LinkedIn",
              "location": "berlin", "custom_fields": {"level": "senior", "years": 7}},
        "D": {"first_name": "Dan", "last_name": "Brown", "tags": [MARK]},
    }
    for k, body in specs.items():
        _people[k] = expect_status(s.post("/api/v1/candidates", body), 201).json["id"]
    for k in ("A", "C"):  # a contact (a note) now for A and C only
        expect_status(s.post("/api/v1/candidates/%s/notes" % _people[k], {"body": "called about the role"}), 201)
    return _people


def names(s, ids):
    by_id = {v: k for k, v in people(s).items()}
    return sorted(by_id.get(i, i) for i in ids)


def preview(s, filters=None, q=None, role="admin", limit=100):
    body = {"filters": dict({"tags": [MARK]}, **(filters or {}))}
    if "tags" in (filters or {}):
        body["filters"]["tags"] = [MARK] + filters["tags"]
    if q is not None:
        body["q"] = q
    return s.post("/api/v1/segments/preview?limit=%d" % limit, body, role=role)


def matched(s, filters=None, q=None):
    r = expect_status(preview(s, filters, q), 200).json
    return names(s, [c["id"] for c in r["data"]])


def test_segment_filters(s):
    people(s)
    expect(matched(s) == ["A", "B", "C", "D"], matched(s))
    expect(matched(s, {"tags": ["python"]}) == ["A", "B"])
    expect(matched(s, {"tags": ["PYTHON", "senior"]}) == ["A"], "tags are all-of, case-insensitive")
    expect(matched(s, {"source": "linkedin"}) == ["A", "C"], matched(s, {"source": "linkedin"}))
    expect(matched(s, {"location": "BERLIN"}) == ["A", "C"])
    expect(matched(s, {"location": "munich"}) == ["B"])
    expect(matched(s, {"custom_fields": {"level": "senior"}}) == ["A", "C"])
    expect(matched(s, {"custom_fields": {"level": "senior", "years": 7, "remote": True}}) == ["A"])
    expect(matched(s, {"custom_fields": {"remote": False}}) == ["B"])
    expect(matched(s, {"custom_fields": {"years": 2}}) == ["B"])
    expect(matched(s, {"consent": "granted"}) == ["A"])
    expect(matched(s, {"consent": "requested"}) == ["B"])
    expect(matched(s, {"consent": "unknown"}) == ["C", "D"])
    expect(matched(s, {"last_contact_after": iso(-1)}) == ["A", "C"])
    expect(matched(s, {"last_contact_before": iso(1)}) == ["A", "C"])
    expect(matched(s, {"last_contact_before": iso(-1)}) == [])
    expect(matched(s, {"has_active_application": False}) == ["A", "B", "C", "D"])


def test_segment_q(s):
    people(s)
    expect(matched(s, q="lovelace") == ["A"])
    expect(matched(s, q="analyt") == ["A"], "the last word matches as a prefix (resume text)")
    expect(matched(s, q="ada lovelace") == ["A"])
    expect(matched(s, q="ada bob") == [], "every word must match")
    expect(matched(s, q="called") == ["A", "C"], "team notes are searched")
    # FTS syntax in user text is only words: no error, no operator.
    expect(matched(s, q='lovelace OR "builder" NEAR(') == [], matched(s, q='lovelace OR "builder" NEAR('))
    expect(matched(s, q="bob*") == ["B"])
    expect_problem(preview(s, q="!!! ..."), 422, "/q")


def test_preview_pages(s):
    """The preview is a reading POST (on a reader thread): it pages like the members list."""
    people(s)
    first = expect_status(preview(s, limit=3), 200).json
    expect(len(first["data"]) == 3 and first["next_cursor"], first)
    body = {"filters": {"tags": [MARK]}}
    rest = expect_status(s.post("/api/v1/segments/preview?limit=3&cursor=" + first["next_cursor"], body), 200).json
    expect(rest["next_cursor"] is None, rest)
    expect(names(s, [c["id"] for c in first["data"] + rest["data"]]) == ["A", "B", "C", "D"], first, rest)
    expect_problem(s.post("/api/v1/segments/preview?limit=0", body), 400, "/query/limit")
    expect_problem(s.get("/api/v1/pools?cursor=abc"), 400, "/query/cursor")


def test_segment_validation(s):
    expect_problem(preview(s, {"colour": "blue"}), 422, "/filters/colour")
    r = s.post("/api/v1/segments", {"name": "x", "filters": {"tags": ["a"]}, "extra": 1})
    expect_problem(r, 422, "/extra")
    expect_problem(preview(s, {"last_contact_before": "last tuesday"}), 422, "/filters/last_contact_before")
    for loose in (" 2026-01-31T09:00:00Z", "2026-1-31T09:00:00Z", "+2026-01-31T09:00:00Z", "2026-01-31T09:00:00"):
        expect_problem(preview(s, {"last_contact_after": loose}), 422, "/filters/last_contact_after")
    expect_status(preview(s, {"last_contact_after": "2026-01-31t09:00:00.5+01:00"}), 200)
    expect_problem(preview(s, {"in_pool": "pool_nope"}), 422, "/filters/in_pool")
    expect_problem(preview(s, {"custom_fields": {"Bad-Key": 1}}), 422)
    expect_problem(preview(s, {"consent": "maybe"}), 422, "/filters/consent")


def expect_stale(resp):
    """A 412 exactly as the core answers a stale If-Match (api/call.c)."""
    expect_problem(resp, 412)
    expect(resp.json["title"] == "Precondition failed" and "If-Match does not match" in resp.json["detail"],
           resp.json)
    expect("etag" not in resp.headers, "a refused write has no ETag", resp.headers)


def test_segment_crud_and_members(s):
    p = people(s)
    r = expect_status(s.post("/api/v1/segments", {"name": "Pythonistas", "filters": {"tags": [MARK, "python"]}}),
                      201)
    seg = r.json
    url = "/api/v1/segments/" + seg["id"]
    expect(seg["version"] == 1 and seg["q"] is None and seg["filters"] == {"tags": [MARK, "python"]}, seg)
    expect(r.headers.get("location") == url, "Location", r.headers.get("location"))
    expect(r.headers.get("etag") == '"v1"', "ETag on create", r.headers.get("etag"))
    expect(expect_status(s.get(url), 200).headers.get("etag") == '"v1"', "ETag on GET")
    page1 = expect_status(s.get("/api/v1/segments/%s/members?limit=1" % seg["id"]), 200).json
    expect(len(page1["data"]) == 1 and page1["next_cursor"], page1)
    page2 = expect_status(s.get("/api/v1/segments/%s/members?limit=1&cursor=%s" % (seg["id"], page1["next_cursor"])),
                          200).json
    expect(page2["next_cursor"] is None and len(page2["data"]) == 1, page2)
    expect(names(s, [page1["data"][0]["id"], page2["data"][0]["id"]]) == ["A", "B"])
    expect(page1["data"][0]["tags"][0] == MARK, page1)
    upd = expect_status(s.patch(url, {"q": "builder"}, headers={"If-Match": '"v1"'}), 200)
    expect(upd.json["version"] == 2 and upd.json["q"] == "builder", upd.json)
    expect(upd.headers.get("etag") == '"v2"', "the ETag changes with a PATCH", upd.headers.get("etag"))
    # A stale If-Match changes nothing: same name, same version, same ETag.
    expect_stale(s.patch(url, {"name": "late"}, headers={"If-Match": '"v1"'}))
    expect_stale(s.patch(url, {"name": "late"}, headers={"If-Match": 'W/"v2"'}))  # weak never matches
    got = expect_status(s.get(url), 200)
    expect(got.json["name"] == "Pythonistas" and got.json["version"] == 2 and got.headers.get("etag") == '"v2"',
           got.json, got.headers)
    # The body "version" of earlier releases is gone: the schema names it.
    expect_problem(s.patch(url, {"name": "x", "version": 2}), 422, "/version")
    got = expect_status(s.get("/api/v1/segments/%s/members" % seg["id"]), 200).json
    expect([c["id"] for c in got["data"]] == [p["B"]], got)
    upd = expect_status(s.patch(url, {"q": None}, headers={"If-Match": '"v1", "v2"'}), 200)  # a list matches
    expect(upd.json["q"] is None and upd.json["version"] == 3 and upd.headers.get("etag") == '"v3"', upd.json)
    upd = expect_status(s.patch(url, {"name": "Py"}), 200)  # no If-Match: unconditional, like the core
    expect(upd.json["version"] == 4 and upd.headers.get("etag") == '"v4"', upd.json)
    expect_stale(s.delete(url, headers={"If-Match": '"v3"'}))
    expect(expect_status(s.get(url), 200).json["name"] == "Py", "a refused DELETE leaves the segment")
    expect_status(s.delete(url, headers={"If-Match": '"v4"'}), 204)
    expect_status(s.get(url), 404)
    expect_problem(s.patch(url, {"name": "gone"}, headers={"If-Match": '"v4"'}), 404)


def new_pool(s, name, steps=None):
    body = {"name": name}
    if steps is not None:
        body["steps"] = steps
    return expect_status(s.post("/api/v1/pools", body), 201).json


def member_ids(s, pool):
    r = expect_status(s.get("/api/v1/pools/%s/members" % pool["id"]), 200).json
    return names(s, [m["candidate_id"] for m in r["data"]])


def test_pool_crud_and_etags(s):
    r = expect_status(s.post("/api/v1/pools", {"name": "Backend " + MARK, "steps": ["contacted", "engaged", "ready"]}),
                      201)
    pool = r.json
    url = "/api/v1/pools/" + pool["id"]
    expect(pool["version"] == 1 and pool["steps"] == ["contacted", "engaged", "ready"] and pool["member_count"] == 0,
           pool)
    expect(r.headers.get("location") == url and r.headers.get("etag") == '"v1"', r.headers)
    expect_status(s.post("/api/v1/pools", {"name": "backend " + MARK}), 409)
    expect_problem(s.post("/api/v1/pools", {"name": "\u20ac" * 99}), 422, "/name")  # 297 bytes: too long a source
    expect(expect_status(s.get(url), 200).headers.get("etag") == '"v1"', "ETag on GET")
    upd = expect_status(s.patch(url, {"description": "server people"}, headers={"If-Match": '"v1"'}), 200)
    expect(upd.json["version"] == 2 and upd.json["description"] == "server people", upd.json)
    expect(upd.headers.get("etag") == '"v2"', "the ETag changes with a PATCH", upd.headers.get("etag"))
    expect_stale(s.patch(url, {"name": "stale", "description": "lost"}, headers={"If-Match": '"v1"'}))
    got = expect_status(s.get(url), 200)
    expect(got.json["name"] == "Backend " + MARK and got.json["description"] == "server people"
           and got.json["version"] == 2 and got.headers.get("etag") == '"v2"', "a 412 changed nothing", got.json)
    expect_status(s.patch(url, {"description": "any"}, headers={"If-Match": "*"}), 200)
    expect_problem(s.patch(url, {"steps": ["a", "a"]}), 422)
    expect_problem(s.patch(url, {"version": 3}), 422, "/version")
    listed = expect_status(s.get("/api/v1/pools?limit=100"), 200).json
    expect(pool["id"] in [p["id"] for p in listed["data"]], listed)
    expect_problem(s.get("/api/v1/pools/pool_nope"), 404)
    gone = new_pool(s, "Temp " + MARK)
    gone_url = "/api/v1/pools/" + gone["id"]
    expect_stale(s.delete(gone_url, headers={"If-Match": '"v2"'}))
    expect(expect_status(s.get(gone_url), 200).json["version"] == 1, "a refused DELETE leaves the pool")
    expect_status(s.delete(gone_url, headers={"If-Match": '"v1"'}), 204)
    expect_problem(s.get(gone_url), 404)
    expect_problem(s.delete(gone_url), 404)


def touches(s, candidate_id):
    return s.db_query("SELECT t.channel, t.source, t.ref_type, t.ref_id FROM touches t JOIN candidates c"
                      " ON c.rowid = t.candidate_rowid WHERE c.id = ? ORDER BY t.rowid", candidate_id)


def test_bulk_add_all_or_nothing(s):
    p = people(s)
    pool = new_pool(s, "Bulk " + MARK, ["contacted", "engaged", "ready"])
    url = "/api/v1/pools/%s/members" % pool["id"]
    expect_problem(s.post(url, {"candidate_ids": [p["A"], "cand_nope", p["B"]]}), 422, "/candidate_ids/1")
    expect(member_ids(s, pool) == [] and touches(s, p["A"]) == [], "a refused request leaves no trace")
    r = expect_status(s.post(url, {"candidate_ids": [p["A"], p["B"]]}), 200).json
    expect(names(s, r["added"]) == ["A", "B"] and r["already_members"] == [] and r["added_count"] == 2, r)
    r = expect_status(s.post(url, {"candidate_ids": [p["A"], p["C"]]}), 200).json
    expect(names(s, r["added"]) == ["C"] and names(s, r["already_members"]) == ["A"], r)
    expect(member_ids(s, pool) == ["A", "B", "C"])
    # A candidate named twice counts once: added once, never also "already a member".
    r = expect_status(s.post(url, {"candidate_ids": [p["D"], p["D"]]}), 200).json
    expect(names(s, r["added"]) == ["D"] and r["already_members"] == [] and r["added_count"] == 1, r)
    expect_status(s.delete(url + "/" + p["D"]), 204)
    expect(touches(s, p["A"]) == [("pool", "Bulk " + MARK, "pool", pool["id"])], touches(s, p["A"]))
    acts = expect_status(s.get("/api/v1/candidates/%s/activities" % p["A"]), 200).json["data"]
    sys_acts = [a for a in acts if a["kind"] == "system" and a["body"] == 'Added to talent pool "Bulk %s"' % MARK]
    expect(len(sys_acts) == 1, acts)
    m = expect_status(s.get(url + "?limit=2"), 200).json
    expect(len(m["data"]) == 2 and m["next_cursor"], m)
    expect(m["data"][0]["step"] == "contacted" and m["data"][0]["added_by"] == s.user_ids["admin"], m["data"][0])
    expect(m["data"][0]["added_at"].endswith("Z") and m["data"][0]["converted"] is False, m["data"][0])
    rest = expect_status(s.get(url + "?limit=2&cursor=" + m["next_cursor"]), 200).json
    expect(len(rest["data"]) == 1 and rest["next_cursor"] is None, rest)
    expect_problem(s.post(url, {"candidate_ids": ["x"] * 1001}), 422, "/candidate_ids")
    expect_problem(s.post(url, {"candidate_ids": [p["A"]], "segment_id": "seg_x"}), 422)
    # in_pool sees the pool
    expect(matched(s, {"in_pool": pool["id"]}) == ["A", "B", "C"])


def test_steps_and_removal(s):
    p = people(s)
    pool = new_pool(s, "Steps " + MARK, ["contacted", "engaged", "ready"])
    url = "/api/v1/pools/%s/members" % pool["id"]
    expect_status(s.post(url, {"candidate_ids": [p["A"], p["B"]]}), 200)
    m = expect_status(s.patch(url + "/" + p["A"], {"step": "ready"}), 200).json
    expect(m["step"] == "ready" and m["candidate_id"] == p["A"], m)
    expect_problem(s.patch(url + "/" + p["A"], {"step": "hired"}), 422, "/step")
    expect_status(s.patch(url + "/" + p["C"], {"step": "ready"}), 404)
    at_ready = expect_status(s.get(url + "?step=ready"), 200).json["data"]
    expect([x["candidate_id"] for x in at_ready] == [p["A"]], at_ready)
    expect_problem(s.patch("/api/v1/pools/" + pool["id"], {"steps": ["contacted", "engaged"]}), 422, "/steps")
    expect_status(s.delete(url + "/" + p["B"]), 204)
    expect_status(s.delete(url + "/" + p["B"]), 404)
    expect(member_ids(s, pool) == ["A"])
    plain = new_pool(s, "Plain " + MARK)
    expect_status(s.post("/api/v1/pools/%s/members" % plain["id"], {"candidate_ids": [p["D"]]}), 200)
    m = expect_status(s.get("/api/v1/pools/%s/members" % plain["id"]), 200).json["data"][0]
    expect(m["step"] is None, m)
    expect_problem(s.patch("/api/v1/pools/%s/members/%s" % (plain["id"], p["D"]), {"step": "x"}), 422, "/step")


def test_add_from_segment(s):
    people(s)
    seg = expect_status(s.post("/api/v1/segments", {"name": "py", "filters": {"tags": [MARK, "python"]}}), 201).json
    pool = new_pool(s, "From segment " + MARK)
    r = expect_status(s.post("/api/v1/pools/%s/members" % pool["id"], {"segment_id": seg["id"]}), 200).json
    expect(names(s, r["added"]) == ["A", "B"], r)
    expect_problem(s.post("/api/v1/pools/%s/members" % pool["id"], {"segment_id": "seg_nope"}), 422, "/segment_id")
    # A segment whose pool is deleted matches no one, and can still be renamed.
    seg2 = expect_status(s.post("/api/v1/segments", {"name": "in", "filters": {"in_pool": pool["id"]}}), 201).json
    expect(len(expect_status(s.get("/api/v1/segments/%s/members" % seg2["id"]), 200).json["data"]) == 2)
    expect_status(s.delete("/api/v1/pools/" + pool["id"]), 204)
    expect(expect_status(s.get("/api/v1/segments/%s/members" % seg2["id"]), 200).json["data"] == [])
    expect(expect_status(s.patch("/api/v1/segments/" + seg2["id"], {"name": "renamed"}), 200).json["name"] == "renamed")
    expect_problem(s.patch("/api/v1/segments/" + seg2["id"], {"filters": {"in_pool": pool["id"]}}), 422,
                   "/filters/in_pool")


def test_convert(s):
    p = people(s)
    job = expect_status(s.post("/api/v1/jobs", {"title": "Compiler engineer", "status": "open", "openings": 1}),
                        201).json
    pool = new_pool(s, "Convert " + MARK, ["contacted", "ready"])
    url = "/api/v1/pools/%s/members" % pool["id"]
    expect_status(s.post(url, {"candidate_ids": [p["B"]]}), 200)
    conv = expect_status(s.post(url + "/%s/convert" % p["B"], {"job_id": job["id"]}), 201)
    r = conv.json
    app = r["application"]
    expect(conv.headers.get("location") == "/api/v1/applications/" + app["id"], conv.headers)
    expect(r["member"]["converted"] is True and r["member"]["application_id"] == app["id"], r)
    got = expect_status(s.get("/api/v1/applications/" + app["id"]), 200).json
    expect(got["source"] == "pool:Convert " + MARK and got["candidate_id"] == p["B"], got)
    expect(touches(s, p["B"])[-2:] == [("pool", "Convert " + MARK, "pool", pool["id"]),
                                       ("application", "pool:Convert " + MARK, "application", app["id"])],
           touches(s, p["B"]))
    acts = expect_status(s.get("/api/v1/candidates/%s/activities" % p["B"]), 200).json["data"]
    expect(any(a["kind"] == "system" and "Convert " + MARK in (a["body"] or "") for a in acts), acts)
    members = expect_status(s.get(url), 200).json["data"]
    expect(members[0]["application_id"] == app["id"] and members[0]["converted_at"], members)
    # The core's refusal comes back as the same kind of problem.
    expect_problem(s.post(url + "/%s/convert" % p["B"], {"job_id": job["id"]}), 409)
    expect_problem(s.post(url + "/%s/convert" % p["B"], {"job_id": "job_nope"}), 422, "/job_id")
    expect_status(s.post(url + "/%s/convert" % p["D"], {"job_id": job["id"]}), 404)
    closed = expect_status(s.post("/api/v1/jobs", {"title": "Old role", "status": "closed"}), 201).json
    expect_status(s.post(url, {"candidate_ids": [p["C"]]}), 200)
    expect_problem(s.post(url + "/%s/convert" % p["C"], {"job_id": closed["id"]}), 409)
    expect(expect_status(s.get(url + "?limit=100"), 200).json["data"][1]["converted"] is False,
           "a refused conversion leaves the member as it was")
    expect(matched(s, {"has_active_application": True}) == ["B"])
    expect(matched(s, {"has_active_application": False}) == ["A", "C", "D"])


def test_permissions(s):
    p = people(s)
    pool = new_pool(s, "Perm " + MARK)
    for role in ("hiring_manager", "interviewer"):
        expect_problem(s.get("/api/v1/pools", role=role), 403)
        expect_problem(s.get("/api/v1/pools/" + pool["id"], role=role), 403)
        expect_problem(s.get("/api/v1/pools/%s/members" % pool["id"], role=role), 403)
        expect_problem(s.post("/api/v1/pools", {"name": "x" + role}, role=role), 403)
        expect_problem(s.post("/api/v1/pools/%s/members" % pool["id"], {"candidate_ids": [p["A"]]}, role=role), 403)
        expect_problem(s.get("/api/v1/segments", role=role), 403)
        expect_problem(preview(s, role=role), 403)
    expect(member_ids(s, pool) == [])
    expect_status(s.get("/api/v1/pools", role=None), 401)
    mine = expect_status(s.post("/api/v1/pools", {"name": "Recruiter " + MARK}, role="recruiter"), 201).json
    expect(mine["created_by"] == s.user_ids["recruiter"], mine)
    r = expect_status(preview(s, {"tags": ["java"]}, role="recruiter"), 200).json
    expect(names(s, [c["id"] for c in r["data"]]) == ["C"], r)


def test_openapi_served(s):
    doc = expect_status(s.get("/api/v1/openapi.json", role=None), 200).json
    for path in ("/api/v1/pools", "/api/v1/pools/{id}/members/{candidate_id}/convert", "/api/v1/segments/preview",
                 "/api/v1/segments/{id}/members"):
        expect(path in doc["paths"], path)
    text = json.dumps(doc)
    missing = {r for r in re.findall(r'"#/components/schemas/(\w+)"', text) if r not in doc["components"]["schemas"]}
    expect(not missing, "every $ref resolves", missing)


if __name__ == "__main__":
    harness.main(prepare=enable)
