-- Scheduled runs (core/sched/): named, durable runs of a handler at a time, after a delay,
-- or on a cron expression. A run binds to its handler by NAME; the runner claims a due run
-- with a lease (leased_until, lease_token) so that a run in flight when the process died
-- runs again once its lease has expired. A cron series is one row per occurrence: when an
-- occurrence finishes, the next one is inserted as a new pending row.
CREATE TABLE scheduled_runs (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  handler TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'done', 'dead', 'cancelled')),
  run_at INTEGER NOT NULL,
  cron TEXT,
  time_zone TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  backoff_ms INTEGER NOT NULL DEFAULT 1000 CHECK (backoff_ms >= 0),
  backoff_max_ms INTEGER NOT NULL DEFAULT 3600000 CHECK (backoff_max_ms >= 0),
  leased_until INTEGER,
  lease_token TEXT,
  last_error TEXT,
  created_by_kind TEXT NOT NULL DEFAULT 'system',
  created_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1
);
-- The runner's two questions: which pending runs are due, which leases have expired.
CREATE INDEX scheduled_runs_due ON scheduled_runs (run_at) WHERE status = 'pending';
CREATE INDEX scheduled_runs_leases ON scheduled_runs (leased_until) WHERE status = 'running';
CREATE INDEX scheduled_runs_status ON scheduled_runs (status, rowid);
CREATE INDEX scheduled_runs_handler ON scheduled_runs (handler, rowid);
