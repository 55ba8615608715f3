"""GET/DELETE /api/v1/scheduled-runs: admin-only listing with filters, cancel, and the runner
picking up a due run whose handler is unknown (it fails, then goes dead)."""
import os
import sqlite3
import time

from harness import main, expect, expect_status, expect_problem


def insert(s, rid, handler, status, run_at, max_attempts=3):
    db = sqlite3.connect(os.path.join(s.data, "talentd.db"), timeout=10)
    db.execute("INSERT INTO scheduled_runs(id, handler, payload, status, run_at, max_attempts, backoff_ms,"
               " created_at, updated_at) VALUES (?, ?, '{\"n\":1}', ?, ?, ?, 10, 1, 1)",
               (rid, handler, status, run_at, max_attempts))
    db.commit()
    db.close()


def test_list_filter_cancel(s):
    far = int(time.time() * 1000) + 3600 * 1000
    insert(s, "srun_a", "demo.one", "pending", far)
    insert(s, "srun_b", "demo.two", "pending", far)
    r = expect_status(s.get("/api/v1/scheduled-runs?handler=demo.one"), 200)
    expect([x["id"] for x in r.json["data"]] == ["srun_a"], "handler filter", r.json)
    run = r.json["data"][0]
    expect(run["status"] == "pending" and run["payload"] == {"n": 1} and run["retry"]["backoff_ms"] == 10, run)
    expect_problem(s.get("/api/v1/scheduled-runs?status=bogus"), 400, "/query/status")
    expect_status(s.get("/api/v1/scheduled-runs", role="recruiter"), 403)
    expect_status(s.delete("/api/v1/scheduled-runs/srun_a", role="recruiter"), 403)
    expect_status(s.delete("/api/v1/scheduled-runs/srun_a"), 204)
    expect_status(s.delete("/api/v1/scheduled-runs/srun_a"), 409)
    expect_status(s.delete("/api/v1/scheduled-runs/srun_nosuch"), 404)
    r = expect_status(s.get("/api/v1/scheduled-runs?status=cancelled"), 200)
    expect([x["id"] for x in r.json["data"]] == ["srun_a"], r.json)


def test_runner_marks_unknown_handler_dead(s):
    insert(s, "srun_c", "demo.nobody", "pending", 0, max_attempts=1)
    for _ in range(100):
        r = expect_status(s.get("/api/v1/scheduled-runs?handler=demo.nobody"), 200)
        if r.json["data"][0]["status"] == "dead":
            break
        time.sleep(0.05)
    run = r.json["data"][0]
    expect(run["status"] == "dead" and run["attempts"] == 1, run)
    expect(run["last_error"] == "no handler is registered under this name", run)


if __name__ == "__main__":
    main()
