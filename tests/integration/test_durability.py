"""Durable acknowledgement: concurrent clients make acknowledged writes while the server is
killed with SIGKILL at random moments. After each restart every acknowledged write is
there, nothing is half-there (every candidate has its email index row, its search row and
its candidate.created event, and nothing else exists without its candidate), and SQLite's
integrity check says ok.
"""

import os
import random
import subprocess
import threading
import time

import harness
from harness import expect

ROUNDS = int(os.environ.get("TD_DURABILITY_ROUNDS", "20"))
WRITES_WANTED = int(os.environ.get("TD_DURABILITY_WRITES", "2000"))
CLIENTS = 8


def sql(s, query):
    out = subprocess.run(["sqlite3", os.path.join(s.data, "talentd.db"), query], capture_output=True, text=True,
                         timeout=60)
    if out.returncode != 0:
        raise AssertionError("sqlite3 failed: " + out.stderr)
    return out.stdout.strip()


def writer(s, round_no, client_no, acked, attempted, stop):
    n = 0
    conn = None
    while not stop.is_set():
        email = "r%d.c%d.n%d@durability.test" % (round_no, client_no, n)
        n += 1
        attempted.append(email)
        try:
            if conn is None:
                conn = s.connect(timeout=5)
            r = s.post("/api/v1/candidates", {"first_name": "Dur", "last_name": "Ability", "emails": [email],
                                              "resume_text": "durability round %d" % round_no}, conn=conn)
        except Exception:
            conn = None
            if stop.is_set():
                return
            time.sleep(0.01)
            continue
        if r.status == 201:
            acked.append((email, r.json["id"]))


def check_consistency(s):
    expect(sql(s, "PRAGMA integrity_check") == "ok", "integrity_check")
    orphans = sql(s, "SELECT count(*) FROM candidates c WHERE NOT EXISTS (SELECT 1 FROM candidate_emails e"
                     " WHERE e.candidate_rowid = c.rowid)")
    expect(orphans == "0", "candidates without their email row", orphans)
    no_search = sql(s, "SELECT count(*) FROM candidates c WHERE NOT EXISTS (SELECT 1 FROM candidate_search f"
                       " WHERE f.rowid = c.rowid)")
    expect(no_search == "0", "candidates without their search row", no_search)
    no_event = sql(s, "SELECT count(*) FROM candidates c WHERE NOT EXISTS (SELECT 1 FROM events v"
                      " WHERE v.type = 'candidate.created' AND v.subject_id = c.id)")
    expect(no_event == "0", "candidates without their candidate.created event", no_event)
    ghost_events = sql(s, "SELECT count(*) FROM events v WHERE v.type = 'candidate.created' AND NOT EXISTS"
                          " (SELECT 1 FROM candidates c WHERE c.id = v.subject_id)")
    expect(ghost_events == "0", "events for candidates that do not exist", ghost_events)


def test_acknowledged_writes_survive_sigkill(s):
    s.stop()
    acked_all = []
    rng = random.Random(20261123)
    per_round = max(1, WRITES_WANTED // ROUNDS)
    for round_no in range(ROUNDS):
        s.start()
        acked, attempted, stop = [], [], threading.Event()
        threads = [threading.Thread(target=writer, args=(s, round_no, i, acked, attempted, stop))
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        # Kill at a random moment once this round has its share of acknowledged writes.
        deadline = time.time() + 60
        while len(acked) < per_round and time.time() < deadline:
            time.sleep(0.005)
        time.sleep(rng.random() * 0.05)
        s.kill()
        stop.set()
        for t in threads:
            t.join(10)
        acked_all.extend(acked)
        expect(len(acked) >= per_round, "round %d made only %d acknowledged writes" % (round_no, len(acked)))
    expect(len(acked_all) >= WRITES_WANTED, "acknowledged writes", len(acked_all))
    check_consistency(s)
    present = set(sql(s, "SELECT id FROM candidates").split())
    lost = [cid for _, cid in acked_all if cid not in present]
    expect(not lost, "%d acknowledged writes lost after SIGKILL" % len(lost), lost[:5])
    # The server serves the survivors after a last restart.
    s.start()
    email, cid = acked_all[rng.randrange(len(acked_all))]
    r = s.get("/api/v1/candidates/" + cid)
    expect(r.status == 200 and email in r.json["emails"], "acknowledged candidate readable", r)
    print("durability: %d acknowledged writes over %d SIGKILL rounds, none lost" % (len(acked_all), ROUNDS))


if __name__ == "__main__":
    harness.main()
