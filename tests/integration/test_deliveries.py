"""Event deliveries over HTTP: GET /api/v1/deliveries lists them (admins only) filtered by
status and subscriber package, with cursor paging; POST /api/v1/deliveries/{id}/replay puts
a dead one back to pending, due now, attempts reset. The server has no real subscriber yet,
so the rows are written straight into the database (as the dispatcher would) while the
server runs; the dispatcher itself is covered by tests/unit/test_delivery.c."""

import os
import sqlite3
import time

import harness
from harness import expect, expect_problem, expect_status

API = "/api/v1/deliveries"




def seed(s):
    """Three events and deliveries in every state, as the dispatcher leaves them."""
    db = sqlite3.connect(os.path.join(s.data, "talentd.db"), timeout=10)
    now = int(time.time() * 1000)
    try:
        with db:
            rows = []
            for i, (status, package) in enumerate((("dead", "hooks_a"), ("ok", "hooks_a"), ("dead", "hooks_b"),
                                                   ("failed", "hooks_a"))):
                cur = db.execute("INSERT INTO events(id, type, occurred_at, actor_kind, subject_type, subject_id) "
                                 "VALUES (?, 'candidate.created', ?, 'system', 'candidate', 'can_x')",
                                 ("evt_dlvtest_%d" % i, now))
                db.execute("INSERT INTO deliveries(id, event_rowid, package, hook, status, attempts, "
                           "next_attempt_at, last_error, created_at, updated_at) VALUES (?, ?, ?, 'candidate.*', "
                           "?, ?, ?, ?, ?, ?)",
                           ("dlv_test_%d" % i, cur.lastrowid, package, status, 10 if status == "dead" else 1,
                            now + 3600 * 1000, None if status == "ok" else "HTTP 503", now, now))
                rows.append("dlv_test_%d" % i)
    finally:
        db.close()
    return rows


def ids(page):
    return [d["id"] for d in page["data"]]


def test_list_filter_page_and_replay(s):
    seed(s)
    everything = expect_status(s.get(API), 200).json
    expect(ids(everything) == ["dlv_test_0", "dlv_test_1", "dlv_test_2", "dlv_test_3"], "all, oldest first",
           ids(everything))
    dead = expect_status(s.get(API + "?status=dead"), 200).json
    expect(ids(dead) == ["dlv_test_0", "dlv_test_2"], "dead letters", ids(dead))
    d = dead["data"][0]
    expect(d["status"] == "dead" and d["attempts"] == 10 and d["last_error"] == "HTTP 503", "dead row", d)
    expect(d["event_id"] == "evt_dlvtest_0" and d["event_type"] == "candidate.created", "event", d)
    expect(d["subscriber"] == {"package": "hooks_a", "hook": "candidate.*"}, "subscriber", d)
    expect(d["next_attempt_at"] is None, "a dead delivery has no next attempt", d)
    mine = expect_status(s.get(API + "?status=dead&subscriber=hooks_b"), 200).json
    expect(ids(mine) == ["dlv_test_2"], "by subscriber", ids(mine))
    page = expect_status(s.get(API + "?limit=1&subscriber=hooks_a"), 200).json
    expect(ids(page) == ["dlv_test_0"] and page["next_cursor"], "first page", page)
    rest = expect_status(s.get(API + "?limit=5&subscriber=hooks_a&cursor=" + page["next_cursor"]), 200).json
    expect(ids(rest) == ["dlv_test_1", "dlv_test_3"] and rest["next_cursor"] is None, "next page", rest)

    r = expect_status(s.post(API + "/dlv_test_0/replay"), 200).json
    expect(r["id"] == "dlv_test_0" and r["status"] == "pending" and r["attempts"] == 0, "replayed", r)
    expect(r["next_attempt_at"] is not None, "due again", r)
    dead = expect_status(s.get(API + "?status=dead"), 200).json
    expect(ids(dead) == ["dlv_test_2"], "no longer dead", ids(dead))
    pending = expect_status(s.get(API + "?status=pending"), 200).json
    expect(ids(pending) == ["dlv_test_0"], "pending now", ids(pending))


def test_errors_and_permissions(s):
    expect_problem(s.get(API + "?status=lost"), 400, "/query/status")
    expect_status(s.post(API + "/dlv_nope/replay"), 404)
    for role in harness.ROLES:
        if role == "admin":
            continue
        expect_status(s.get(API, role=role), 403)
        expect_status(s.post(API + "/dlv_test_2/replay", role=role), 403)
    expect_status(s.get(API, role=None), 401)


if __name__ == "__main__":
    harness.main()
