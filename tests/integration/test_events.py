"""The event feed and the event schemas: real actions over the API (candidates, notes, jobs,
applications, tasks, custom fields, attachments, imports) produce exactly the events
expected, in order, in GET /api/v1/events; every delivered event validates against
schemas/events/<type>.json with the server's own validator (`talentd validate`); every
event type the domain can emit has a schema; cursor paging over hundreds of events neither
skips nor repeats nor reorders; filters, `after`, errors and permissions; the generated
catalog docs/events.md is current; payloads carry no personal data beyond the known
free-text fields."""

import glob
import json
import os
import re
import subprocess
import sys

import harness
from harness import expect, expect_problem, expect_status

sys.path.insert(0, os.path.join(harness.SOURCE, "tests", "tools"))
import gen_event_docs  # noqa: E402

SCHEMA_DIR = os.path.join(harness.SOURCE, "schemas", "events")
FEED = "/api/v1/events"

# Values only a person's record holds; none may show up in an event payload, except in the
# fields below, which carry free text a user typed (reported to the domain owners: an
# attachment's file name often names the person, and a reason is free text).
PERSONAL = ("zebulonia", "quixotely", "zq.private@example.test", "4155550123", "glockenspiel", "callback-secret")
KNOWN_FREE_TEXT = {("attachment.created", "filename")} | {
    ("application." + verb, "reason") for verb in ("created", "stage_changed", "rejected", "withdrawn", "unrejected",
                                                   "hired")}


def schema_types():
    return sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(SCHEMA_DIR, "*.json")))




def read_feed(s, query="", limit=None, after=None):
    """Every event from the start (or after an event id) to the end, following next_cursor;
    also the pages' sizes."""
    events, sizes = [], []
    params = [query] if query else []
    if limit:
        params.append("limit=%d" % limit)
    if after:
        params.append("after=" + after)
    url = FEED + ("?" + "&".join(params) if params else "")
    while True:
        page = expect_status(s.get(url), 200).json
        expect(set(page) == {"data", "next_cursor"}, "page shape", page.keys())
        events.extend(page["data"])
        sizes.append(len(page["data"]))
        if page["next_cursor"] is None:
            return events, sizes
        rest = [p for p in params if not p.startswith("after=")]
        url = FEED + "?" + "&".join(rest + ["cursor=" + page["next_cursor"]])


def last_event_id(s):
    rows = s.db_query("SELECT id FROM events ORDER BY rowid DESC LIMIT 1")
    return rows[0][0] if rows else None


def validate(s, event):
    """Runs the server's validator on event against its type's schema: (exit code, output)."""
    path = os.path.join(SCHEMA_DIR, event["type"] + ".json")
    p = subprocess.run([harness.BIN, "validate", path], input=json.dumps(event), capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout + p.stderr


def expect_valid(s, events):
    missing = sorted({e["type"] for e in events} - set(schema_types()))
    expect(not missing, "event types without a schema in schemas/events/", missing)
    for e in events:
        rc, out = validate(s, e)
        expect(rc == 0, "%s does not match its schema: %s" % (e["type"], out.strip()), e)


class Recorder:
    """The events each action should add to the feed, in order."""

    def __init__(self):
        self.expected = []

    def add(self, *pairs):
        self.expected.extend(pairs)


_state = {}


def post(s, path, body):
    r = s.post(path, body)
    expect(r.status in (200, 201), "POST %s" % path, r)
    return r.json


def drive_actions(s, rec):
    """One of every write the core emits an event for; returns the ids the checks need."""
    admin = s.user_ids["admin"]
    ids = {}
    cf = post(s, "/api/v1/custom-fields", {"entity": "candidate", "key": "shirt_size", "type": "text"})
    rec.add(("custom_field.created", cf["id"]))
    expect_status(s.patch("/api/v1/custom-fields/" + cf["id"], {"label": "Shirt size"}), 200)
    rec.add(("custom_field.updated", cf["id"]))

    a = post(s, "/api/v1/candidates", {"first_name": "Zebulonia", "last_name": "Quixotely",
                                       "emails": ["zq.private@example.test"], "phones": ["+1 415 555 0123"],
                                       "source": "referral", "owner_id": admin})
    rec.add(("candidate.created", a["id"]))
    expect_status(s.patch("/api/v1/candidates/" + a["id"],
                          {"last_name": "Quixotely-Smith", "custom_fields": {"shirt_size": "M"}}), 200)
    rec.add(("candidate.updated", a["id"]))
    dup = post(s, "/api/v1/candidates?on_duplicate=merge",
               {"first_name": "Zebulonia", "emails": ["zq.private@example.test"], "tags": ["python"]})
    expect(dup["id"] == a["id"], "merged into the existing candidate", dup)
    rec.add(("candidate.updated", a["id"]))

    job = post(s, "/api/v1/jobs", {"title": "Backend Engineer", "status": "open", "openings": 1})
    rec.add(("job.created", job["id"]), ("job.opened", job["id"]))
    expect_status(s.patch("/api/v1/jobs/" + job["id"], {"department": "Platform"}), 200)
    rec.add(("job.updated", job["id"]))
    post(s, "/api/v1/jobs/%s/stages" % job["id"], {"name": "Tech screen", "type": "screen"})
    rec.add(("job.updated", job["id"]))

    app = post(s, "/api/v1/applications", {"candidate_id": a["id"], "job_id": job["id"], "source": "referral"})
    rec.add(("application.created", app["id"]))
    note = post(s, "/api/v1/candidates/%s/notes" % a["id"],
                {"body": "Mentions the Glockenspiel club", "visibility": "team", "application_id": app["id"]})
    rec.add(("note.created", note["id"]))
    interview = next(st["id"] for st in job["stages"] if st["type"] == "interview")
    act = "/api/v1/applications/%s/" % app["id"]
    post(s, act + "moves", {"to_stage_id": interview})
    rec.add(("application.stage_changed", app["id"]))
    post(s, act + "reject", {"reason": "Quixotely chose another offer", "kind": "rejected"})
    rec.add(("application.rejected", app["id"]))
    post(s, act + "unreject", {})
    rec.add(("application.unrejected", app["id"]))
    hired = post(s, act + "hire", {})
    rec.add(("application.hired", app["id"]), ("job.updated", job["id"]))
    expect_status(s.patch("/api/v1/jobs/" + job["id"], {"status": "closed"}), 200)
    rec.add(("job.updated", job["id"]), ("job.closed", job["id"]))

    task = post(s, "/api/v1/tasks", {"title": "Callback-secret for Zebulonia", "candidate_id": a["id"],
                                     "due_at": "2030-05-01T09:00:00Z"})
    rec.add(("task.created", task["id"]))
    expect_status(s.patch("/api/v1/tasks/" + task["id"], {"title": "Callback-secret again"}), 200)
    rec.add(("task.updated", task["id"]))
    expect_status(s.patch("/api/v1/tasks/" + task["id"], {"done": True}), 200)
    rec.add(("task.completed", task["id"]))

    boundary = "evtboundary"
    body = (b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename=\"Quixotely_CV.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 cv\r\n--"
            + boundary.encode() + b"--\r\n")
    att = expect_status(s.request("POST", "/api/v1/candidates/%s/attachments" % a["id"], raw=body,
                                  headers={"Content-Type": "multipart/form-data; boundary=" + boundary}), 201).json
    rec.add(("attachment.created", att["id"]))

    # A merge whose duplicate has an active application to a job the survivor also applied
    # to: that application is withdrawn first (its own event), then the merge.
    job2 = post(s, "/api/v1/jobs", {"title": "Data Engineer", "status": "open"})
    rec.add(("job.created", job2["id"]), ("job.opened", job2["id"]))
    b = post(s, "/api/v1/candidates", {"first_name": "Zebulonia", "last_name": "Q."})
    rec.add(("candidate.created", b["id"]))
    app_a2 = post(s, "/api/v1/applications", {"candidate_id": a["id"], "job_id": job2["id"], "source": "web"})
    app_b2 = post(s, "/api/v1/applications", {"candidate_id": b["id"], "job_id": job2["id"], "source": "web"})
    rec.add(("application.created", app_a2["id"]), ("application.created", app_b2["id"]))
    post(s, "/api/v1/candidates/%s/merge" % a["id"], {"duplicate_id": b["id"]})
    rec.add(("application.withdrawn", app_b2["id"]), ("candidate.merged", a["id"]))

    c = post(s, "/api/v1/candidates", {"first_name": "Zebulonia", "last_name": "Quixotely", "emails": []})
    rec.add(("candidate.created", c["id"]))
    expect_status(s.delete("/api/v1/candidates/" + c["id"]), 204)
    rec.add(("candidate.deleted", c["id"]))

    csv = "first_name,last_name,email\nImpa,Rowone,impa@example.test\nImpb,Rowtwo,impb@example.test\n"
    imp = expect_status(s.request("POST", "/api/v1/imports", raw=csv.encode(), headers={"Content-Type": "text/csv"}),
                        201).json
    rec.add(*[("candidate.created", row["candidate_id"]) for row in imp["rows"]])
    rec.add(("import.completed", imp["id"]))

    expect_status(s.delete("/api/v1/custom-fields/%s?purge=true" % cf["id"]), 204)
    rec.add(("custom_field.deleted", cf["id"]))
    ids.update(cf=cf, a=a, b=b, c=c, job=job, job2=job2, app=app, hired=hired, note=note, task=task, att=att,
               app_a2=app_a2, app_b2=app_b2, imp=imp, interview=interview)
    return ids


def test_every_type_the_domain_emits_has_a_schema(s):
    """A static guard for types the actions below do not reach: every event type literal in
    core/domain/*.c (noun.verb of the nouns events are about) has a schema. The transition
    table's `application.unknown` fallback is never emitted for a valid kind."""
    nouns = "application|attachment|candidate|custom_field|import|job|note|task"
    found = set()
    for path in glob.glob(os.path.join(harness.SOURCE, "core", "domain", "*.c")):
        with open(path) as f:
            found.update(re.findall(r'"((?:%s)\.[a-z_]+)"' % nouns, f.read()))
    found = {t for t in found if not t.split(".", 1)[1].startswith("before_")} - {"application.unknown"}
    expect(len(found) >= 20, "the scan finds the emitted types", sorted(found))
    missing = sorted(found - set(schema_types()))
    expect(not missing, "event types emitted in core/domain without a schema in schemas/events/", missing)
    for t in schema_types():
        with open(os.path.join(SCHEMA_DIR, t + ".json")) as f:
            doc = json.load(f)
        expect(doc.get("$schema") == "http://json-schema.org/draft-07/schema#", "draft-07", t)
        expect(doc["properties"]["type"] == {"const": t}, "schema of %s fixes its type" % t)
        expect(doc["properties"]["data"].get("additionalProperties") is False, "data of %s is closed" % t)


def plugin_event_types():
    types = set()
    for manifest in glob.glob(os.path.join(harness.SOURCE, "plugins", "*", "plugin.json")):
        with open(manifest) as f:
            types.update(json.load(f).get("emits", []))
    return types


def test_actions_produce_the_expected_events(s):
    start = last_event_id(s)
    rec = Recorder()
    ids = drive_actions(s, rec)
    events, sizes = read_feed(s, limit=7, after=start)
    _state["events"] = events
    _state["ids"] = ids
    got = [(e["type"], e["subject"]["id"]) for e in events]
    expect(got == rec.expected, "the feed holds exactly the events of the actions, in order",
           [(i, g, w) for i, (g, w) in enumerate(zip(got, rec.expected)) if g != w][:5], len(got),
           len(rec.expected))
    expect(all(n == 7 for n in sizes[:-1]) and sizes[-1] <= 7, "pages of 7", sizes)
    covered = {e["type"] for e in events}
    # server.started comes from start-up and application.stale from the scheduled scan:
    # test_stale_events.py and tests/unit/test_stale.c cover them. Events bundled plugins emit
    # (their manifests' "emits") are covered by those plugins' tests.
    acted = set(schema_types()) - {"server.started", "application.stale"} - plugin_event_types()
    expect(covered == acted, "the actions cover every schema (and nothing else)", sorted(acted ^ covered))
    admin = s.user_ids["admin"]
    times = [e["occurred_at"] for e in events]
    expect(times == sorted(times), "occurred_at never goes back", times)
    for e in events:
        expect(e["actor"] == {"id": admin, "kind": "user"}, "actor", e)
        expect(e["version"] == 1 and e["id"].startswith("evt_"), e)
    check_payloads(s, events, ids)


def by_type(events, t):
    return [e["data"] for e in events if e["type"] == t]


def check_payloads(s, events, ids):
    """Values the actions determine (beyond what the schemas check)."""
    a, job, app = ids["a"]["id"], ids["job"]["id"], ids["app"]["id"]
    created = by_type(events, "candidate.created")[0]
    expect(created == {"candidate_id": a, "source": "referral", "owner_id": s.user_ids["admin"]}, created)
    updates = by_type(events, "candidate.updated")
    expect(updates[0] == {"candidate_id": a, "changed": ["last_name", "custom_fields"]}, updates[0])
    expect(updates[1].get("via") == "duplicate_merge" and "tags" in updates[1]["changed"], updates[1])
    stage_changed = by_type(events, "application.stage_changed")[0]
    expect(stage_changed["to_stage_id"] == ids["interview"] and stage_changed["job_id"] == job
           and stage_changed["candidate_id"] == a and stage_changed["status"] == "active", stage_changed)
    created_app = by_type(events, "application.created")[0]
    expect(created_app["from_stage_id"] is None and stage_changed["from_stage_id"] == created_app["to_stage_id"],
           created_app, stage_changed)
    rejected = by_type(events, "application.rejected")[0]
    expect(rejected["status"] == "rejected" and rejected["to_stage_id"] == ids["interview"], rejected)
    hired = by_type(events, "application.hired")[0]
    expect(hired["opening_id"] == ids["hired"]["opening_id"] == ids["job"]["openings"][0]["id"], hired)
    expect(hired["to_stage_id"] == ids["hired"]["stage_id"] and hired["application_id"] == app, hired)
    transitions = expect_status(s.get("/api/v1/applications/%s/transitions" % app), 200).json["data"]
    logged = [t["id"] for t in transitions]
    emitted = [d["transition_id"] for d in events_of_app(events, app)]
    expect(emitted == logged, "one event per logged transition, same order", emitted, logged)
    job_updates = by_type(events, "job.updated")
    expect([d["changed"] for d in job_updates] == [["department"], ["stages"], ["openings"], ["status"]],
           job_updates)
    expect(job_updates[0]["job"]["department"] == "Platform" and job_updates[3]["job"]["status"] == "closed")
    expect(by_type(events, "job.opened")[0] == {"job_id": job, "from_status": None, "to_status": "open"})
    expect(by_type(events, "job.closed")[0] == {"job_id": job, "from_status": "open", "to_status": "closed"})
    expect(by_type(events, "note.created")[0] == {"note_id": ids["note"]["id"], "candidate_id": a,
                                                  "application_id": app, "visibility": "team"})
    tasks = by_type(events, "task.created") + by_type(events, "task.updated") + by_type(events, "task.completed")
    expect([t["done"] for t in tasks] == [False, False, True], tasks)
    expect(all(t["due_at"] == "2030-05-01T09:00:00.000Z" and t["candidate_id"] == a for t in tasks), tasks)
    merged = by_type(events, "candidate.merged")[0]
    expect(merged == {"candidate_id": a, "duplicate_id": ids["b"]["id"],
                      "withdrawn_applications": [ids["app_b2"]["id"]]}, merged)
    withdrawn = by_type(events, "application.withdrawn")[0]
    expect(withdrawn["candidate_id"] == ids["b"]["id"] and withdrawn["status"] == "withdrawn", withdrawn)
    expect(by_type(events, "candidate.deleted")[0] == {"candidate_id": ids["c"]["id"]})
    expect(by_type(events, "import.completed")[0] == {"import_id": ids["imp"]["id"], "created": 2, "merged": 0,
                                                      "rejected": 0})
    expect(by_type(events, "custom_field.updated")[0]["changed"] == ["label"])
    expect(by_type(events, "custom_field.deleted")[0] == {"entity": "candidate", "key": "shirt_size", "purged": 1})
    att = by_type(events, "attachment.created")[0]
    expect(att["candidate_id"] == a and att["size"] == len(b"%PDF-1.4 cv") and att["sha256"] == ids["att"]["sha256"])


def events_of_app(events, app_id):
    return [e["data"] for e in events if e["type"].startswith("application.") and e["subject"]["id"] == app_id]


def test_every_delivered_event_matches_its_schema(s):
    events = _state.get("events")
    expect(events, "the actions test ran first")
    expect_valid(s, events)


def test_validator_catches_missing_renamed_and_foreign_fields(s):
    """What the schema test relies on: the validator rejects a payload with a field missing,
    renamed or of the wrong kind, and names where."""
    events = _state.get("events")
    expect(events, "the actions test ran first")
    hired = next(e for e in events if e["type"] == "application.hired")
    bad = json.loads(json.dumps(hired))
    del bad["data"]["opening_id"]
    rc, out = validate(s, bad)
    expect(rc == 1 and "/data" in out and "opening_id" in out, "a missing field is caught", rc, out)
    bad = json.loads(json.dumps(hired))
    bad["data"]["stage_id"] = bad["data"].pop("to_stage_id")
    rc, out = validate(s, bad)
    expect(rc == 1 and "to_stage_id" in out and "stage_id" in out, "a renamed field is caught", rc, out)
    bad = json.loads(json.dumps(hired))
    bad["data"]["candidate_id"] = bad["data"]["job_id"]
    rc, out = validate(s, bad)
    expect(rc == 1 and "/data/candidate_id" in out, "an id of the wrong kind is caught", rc, out)
    rc, out = validate(s, dict(hired, version=2))
    expect(rc == 1 and "/version" in out, "another version is caught", rc, out)
    p = subprocess.run([harness.BIN, "validate", os.path.join(SCHEMA_DIR, "nope.json")], input="{}",
                       capture_output=True, text=True, timeout=30)
    expect(p.returncode == 2 and "nope.json" in p.stderr, "an unreadable schema exits 2", p.returncode, p.stderr)
    p = subprocess.run([harness.BIN, "validate", os.path.join(SCHEMA_DIR, "job.opened.json")], input="{",
                       capture_output=True, text=True, timeout=30)
    expect(p.returncode == 2 and "stdin" in p.stderr, "malformed input exits 2", p.returncode, p.stderr)


def test_no_personal_data_in_payloads(s):
    events = _state.get("events")
    expect(events, "the actions test ran first")
    leaks = []
    for e in events:
        for key, value in e["data"].items():
            text = json.dumps(value).lower().replace(" ", "")
            for token in PERSONAL:
                if token.replace(" ", "") in text and (e["type"], key) not in KNOWN_FREE_TEXT:
                    leaks.append((e["type"], key, token))
    expect(not leaks, "personal data in event payloads", leaks)


def test_paging_over_hundreds_of_events_is_complete_and_ordered(s):
    rows = "".join("Bulk%d,Row,bulk%d@example.test\n" % (i, i) for i in range(230))
    expect_status(s.request("POST", "/api/v1/imports", raw=("first_name,last_name,email\n" + rows).encode(),
                            headers={"Content-Type": "text/csv"}), 201)
    truth = [r[0] for r in s.db_query("SELECT id FROM events ORDER BY rowid")]
    expect(len(truth) > 250, "enough events", len(truth))
    for limit in (None, 100, 13):
        events, sizes = read_feed(s, limit=limit)
        expect([e["id"] for e in events] == truth, "the whole feed in order with limit %s" % limit,
               len(events), len(truth))
        want = limit or 50
        expect(all(n == want for n in sizes[:-1]) and 0 < sizes[-1] <= want, "full pages", sizes)
    for query, sql, arg in (("type=candidate.created", "type = ?", "candidate.created"),
                            ("type=application.*", "type LIKE ?", "application.%"),
                            ("type=candidate.*", "type LIKE ?", "candidate.%")):
        want = [r[0] for r in s.db_query("SELECT id FROM events WHERE %s ORDER BY rowid" % sql, arg)]
        events, _ = read_feed(s, query, limit=100)
        expect([e["id"] for e in events] == want, query, len(events), len(want))
    expect(len(want) > 200, "the candidate.* filter paged over more than 100 events", len(want))


def test_after_resumes_at_the_end_of_the_feed(s):
    last = last_event_id(s)
    page = expect_status(s.get(FEED + "?after=" + last), 200).json
    expect(page == {"data": [], "next_cursor": None}, "nothing after the last event yet", page)
    cand = post(s, "/api/v1/candidates", {"first_name": "Late", "last_name": "Comer"})
    page = expect_status(s.get(FEED + "?after=" + last), 200).json
    expect([(e["type"], e["subject"]["id"]) for e in page["data"]] == [("candidate.created", cand["id"])], page)
    expect(page["next_cursor"] is None, page)
    page = expect_status(s.get(FEED + "?type=job.*&after=" + last), 200).json
    expect(page["data"] == [], "filters apply after `after` too", page)


def test_bad_queries_and_permissions(s):
    for bad in ("candidate", "Candidate.created", "application.*.x", "*", "a.b*", "x" * 70 + ".y"):
        expect_problem(s.get(FEED + "?type=" + bad), 400, "/query/type")
    expect_problem(s.get(FEED + "?limit=0"), 400, "/query/limit")
    expect_problem(s.get(FEED + "?limit=101"), 400, "/query/limit")
    expect_problem(s.get(FEED + "?cursor=bogus"), 400, "/query/cursor")
    expect_problem(s.get(FEED + "?after=evt_nosuchevent"), 400, "/query/after")
    first = expect_status(s.get(FEED + "?limit=1"), 200).json
    expect_problem(s.get(FEED + "?after=%s&cursor=%s" % (first["data"][0]["id"], first["next_cursor"])), 400,
                   "/query/after")
    for role in ("recruiter", "hiring_manager", "interviewer"):
        expect_problem(s.get(FEED, role=role), 403)
    expect_problem(s.get(FEED, role=None), 401)


def shape(value):
    """The JSON kinds in value (not the strings and numbers themselves)."""
    if isinstance(value, dict):
        return tuple(sorted((k, shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list",) + tuple(sorted(set(shape(v) for v in value)))
    return type(value).__name__


def test_every_event_in_the_feed_matches_its_schema(s):
    """The whole feed, the bulk import's hundreds of candidate.created included: each event
    of a shape not validated yet (the actions test validated each of its events)."""
    events, _ = read_feed(s, limit=100)
    expect(len(events) > 250, len(events))
    seen = {(e["type"], shape(e)) for e in _state.get("events", [])}
    todo = []
    for e in events:
        key = (e["type"], shape(e))
        if key not in seen:
            seen.add(key)
            todo.append(e)
    missing = sorted({e["type"] for e in events} - set(schema_types()))
    expect(not missing, "event types without a schema in schemas/events/", missing)
    expect_valid(s, todo)


def test_event_catalog_is_current(s):
    with open(os.path.join(harness.SOURCE, "docs", "events.md")) as f:
        current = f.read()
    expect(current == gen_event_docs.render(harness.SOURCE),
           "docs/events.md is stale: run python3 tests/tools/gen_event_docs.py")
    for t in schema_types():
        expect("\n### %s\n" % t in current, "the catalog documents %s" % t)


if __name__ == "__main__":
    harness.main()
