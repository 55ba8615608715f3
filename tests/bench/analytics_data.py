"""Generates a large recruiting history straight into a talentd database, for the analytics
benchmark (issue 4): N applications over 500 jobs in 10 departments with the default
six-stage pipeline, about 5 transitions each (creation, forward moves, some moves back and
forth, rejections and withdrawals in every stage, hires), applied over the last two years,
plus openings with target dates next quarter. Rows go in with plain INSERTs in one
transaction: the server's own rules are tested elsewhere; this only needs volume with a
realistic shape. Deterministic for a given seed.

    python3 tests/bench/analytics_data.py DATA_DIR [applications] [seed]
"""

import os
import random
import sqlite3
import subprocess
import sys
import time

DAY = 86400 * 1000
TYPES = ["lead", "applied", "screen", "interview", "offer", "hired"]
SOURCES = ["linkedin", "referral", "careers_page", "indeed", "agency", "event", "pool:Alumni", "stepstone"]
DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Support", "Finance", "People", "Design", "Data",
               "Operations", "Legal"]
REASONS = ["not a fit", "salary", "location", "took another offer", "no show", "experience", None]
ADVANCE = [0.0, 0.55, 0.5, 0.45, 0.75]   # P(move on) from lead, applied, screen, interview, offer


def path_for(rng, start):
    """The positions an application visits, its end (active, rejected, withdrawn, hired) and
    the number of extra back-and-forth moves."""
    pos, visits = start, [start]
    while pos < 5:
        if rng.random() >= ADVANCE[pos]:
            break
        pos += 1 if rng.random() < 0.85 or pos >= 4 else 2   # sometimes a stage is skipped
        pos = min(pos, 5)
        visits.append(pos)
    if pos == 5:
        return visits, "hired"
    r = rng.random()
    end = "rejected" if r < 0.6 else "withdrawn" if r < 0.75 else "active"
    return visits, end


def generate(data_dir, n_apps, seed=7):
    rng = random.Random(seed)
    db = sqlite3.connect(os.path.join(data_dir, "talentd.db"))
    db.execute("PRAGMA synchronous=OFF")
    now = int(time.time() * 1000)
    jobs, stages = [], {}
    cur = db.cursor()
    cur.execute("BEGIN")
    for j in range(500):
        jid = "job_bench%05d" % j
        cur.execute("INSERT INTO jobs(id,title,department,status,created_at,updated_at) VALUES (?,?,?,?,?,?)",
                    (jid, "Role %d" % j, DEPARTMENTS[j % 10], "open", now - 800 * DAY, now))
        jrow = cur.lastrowid
        jobs.append(jrow)
        for p, t in enumerate(TYPES):
            cur.execute("INSERT INTO stages(id,job_rowid,name,type,position) VALUES (?,?,?,?,?)",
                        ("stg_b%05d%d" % (j, p), jrow, t.title(), t, p))
            stages[(jrow, p)] = cur.lastrowid
        for k in range(1 + j % 3):
            cur.execute("INSERT INTO openings(id,job_rowid,target_date,status,created_at) VALUES (?,?,?,?,?)",
                        ("opn_b%05d%d" % (j, k), jrow, time.strftime("%Y-%m-%d", time.gmtime(
                            (now + (60 + 20 * k + j % 30) * DAY) / 1000)), "open", now - 30 * DAY))
    cand_rows = []
    for c in range(n_apps):
        cand_rows.append(("can_bench%07d" % c, "F%d" % c, "L%d" % c, now - 900 * DAY, now))
    cur.executemany("INSERT INTO candidates(id,first_name,last_name,created_at,updated_at) VALUES (?,?,?,?,?)",
                    cand_rows)
    first_cand = cur.execute("SELECT min(rowid) FROM candidates WHERE id LIKE 'can_bench%'").fetchone()[0]
    apps, trans = [], []
    app_rowid = (cur.execute("SELECT coalesce(max(rowid),0) FROM applications").fetchone()[0]) + 1
    for a in range(n_apps):
        jrow = jobs[rng.randrange(500)]
        start = 0 if rng.random() < 0.1 else 1
        visits, end = path_for(rng, start)
        at = now - rng.randrange(730 * DAY)
        t = at
        rows = [(None, visits[0], "created", t)]
        for prev, nxt in zip(visits, visits[1:]):
            t += rng.randrange(DAY // 2, 12 * DAY)
            rows.append((prev, nxt, "moved" if nxt < 5 else "hired", t))
        # moves back and forth (a re-screen, a second interview loop) give ~5 transitions per app
        extra = rng.choice((1, 1, 2, 2, 3))
        for _ in range(extra if rows[-1][1] >= 1 and end != "hired" else 0):
            last = rows[-1][1]
            t += rng.randrange(DAY // 4, 5 * DAY)
            rows.append((last, last - 1, "moved", t))
            t += rng.randrange(DAY // 4, 5 * DAY)
            rows.append((last - 1, last, "moved", t))
        final = rows[-1][1]
        if end in ("rejected", "withdrawn"):
            t += rng.randrange(DAY // 2, 10 * DAY)
            rows.append((final, final, end, t))
        if t > now:   # the story ran past today: it happened earlier instead
            shift = t - now + DAY
            rows = [(f, to, kind, when - shift) for f, to, kind, when in rows]
            at, t = at - shift, t - shift
        status = end
        reason = rng.choice(REASONS) if end in ("rejected", "withdrawn") else None
        apps.append((app_rowid, "app_bench%07d" % a, first_cand + a, jrow, stages[(jrow, final)], status,
                     rng.choice(SOURCES), reason, end if end in ("rejected", "withdrawn") else None, at,
                     rows[-1][3], rows[-1][3] if status != "active" else None, rows[-1][3]))
        for i, (f, to, kind, when) in enumerate(rows):
            trans.append(("trn_b%07d_%d" % (a, i), app_rowid, jrow, stages[(jrow, f)] if f is not None else None,
                          stages[(jrow, to)], kind, when, "system"))
        app_rowid += 1
        if len(trans) > 200000:
            flush(cur, apps, trans)
    flush(cur, apps, trans)
    cur.execute("COMMIT")
    counts = (cur.execute("SELECT count(*) FROM applications").fetchone()[0],
              cur.execute("SELECT count(*) FROM stage_transitions").fetchone()[0])
    db.execute("ANALYZE")
    db.close()
    return counts


def flush(cur, apps, trans):
    cur.executemany("INSERT INTO applications(rowid,id,candidate_rowid,job_rowid,stage_rowid,status,source,"
                    "disposition_reason,disposition_kind,applied_at,stage_entered_at,closed_at,updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", apps)
    cur.executemany("INSERT INTO stage_transitions(id,application_rowid,job_rowid,from_stage_rowid,"
                    "to_stage_rowid,kind,at,actor_kind) VALUES (?,?,?,?,?,?,?,?)", trans)
    apps.clear()
    trans.clear()


def main():
    data_dir = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    binary = os.environ.get("TALENTD_BIN", "build/talentd")
    os.makedirs(data_dir, exist_ok=True)
    subprocess.run([binary, "migrate", "--data", data_dir], check=True, capture_output=True)
    t0 = time.time()
    apps, trans = generate(data_dir, n, seed)
    print("generated %d applications and %d transitions in %.1f s" % (apps, trans, time.time() - t0))


if __name__ == "__main__":
    main()
