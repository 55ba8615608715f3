-- Touches: every contact a person had with us before and while applying (an application, a
-- talent pool, an email sequence, a referral, a job-board click, an event). Append-only; the
-- analytics plugin credits hires to sources from them (first, last and linear touch).
CREATE TABLE touches (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  candidate_rowid INTEGER NOT NULL REFERENCES candidates(rowid) ON DELETE CASCADE,
  channel TEXT NOT NULL CHECK (channel IN ('application', 'pool', 'sequence', 'referral', 'board', 'event')),
  source TEXT NOT NULL,
  ref_type TEXT,
  ref_id TEXT,
  actor_id TEXT,
  actor_kind TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX touches_candidate ON touches(candidate_rowid, at);
-- Append-only, except that merging two candidates moves the duplicate's touches over.
CREATE TRIGGER touches_no_update
  BEFORE UPDATE OF id, channel, source, ref_type, ref_id, actor_id, actor_kind, at ON touches
  BEGIN SELECT RAISE(ABORT, 'touches is append-only'); END;

