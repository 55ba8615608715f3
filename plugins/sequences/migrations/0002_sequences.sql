-- Sequences: ordered steps (email, wait, task, condition) that enrolled candidates walk through.
-- Every step carries a stable id ("stp_...") given at save time and kept across edits, so
-- what an enrollment already did is remembered by step id, not by position.
CREATE TABLE sequences_sequences (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  steps TEXT NOT NULL,                  -- JSON array of steps, each with its "id"
  paused INTEGER NOT NULL DEFAULT 0,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);

-- One candidate walking one sequence. current_step is the index of the next step to run
-- (current_step_id its id, to find it again after an edit); next_run_at is when it runs.
CREATE TABLE sequences_enrollments (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  sequence_rowid INTEGER NOT NULL REFERENCES sequences_sequences(rowid) ON DELETE CASCADE,
  candidate_id TEXT NOT NULL,
  owner_id TEXT,                        -- who enrolled: tasks go to them, mail is sent as them
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'stopped')),
  stop_reason TEXT CHECK (stop_reason IN ('replied', 'unsubscribed', 'bounced', 'applied', 'hired', 'manual')),
  current_step INTEGER NOT NULL DEFAULT 0,
  current_step_id TEXT,
  sent_count INTEGER NOT NULL DEFAULT 0,
  next_run_at INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ended_at INTEGER,
  -- Indexes as constraints (the migration guard refuses CREATE INDEX's REINDEX step). One
  -- active enrollment per (sequence, candidate) is kept by the code (writes are serialised).
  UNIQUE (next_run_at, rowid),          -- the runner's due enrollments (NULL once ended)
  UNIQUE (candidate_id, status, rowid), -- a person's enrollments (stops)
  UNIQUE (sequence_rowid, status, rowid) -- a sequence's enrollments (lists, counts, edits)
);

-- The steps an enrollment has done, by stable step id: an email step found here is never
-- sent again, whatever edits moved it.
CREATE TABLE sequences_enrollment_steps (
  enrollment_rowid INTEGER NOT NULL REFERENCES sequences_enrollments(rowid) ON DELETE CASCADE,
  step_id TEXT NOT NULL,
  step_index INTEGER NOT NULL,
  kind TEXT NOT NULL,
  message_id TEXT,                      -- email steps: the queued message's Message-ID
  done_at INTEGER NOT NULL,
  PRIMARY KEY (enrollment_rowid, step_id)
) WITHOUT ROWID;

-- Small durable state: the runner's and the inbox poller's pending run (token, time), the
-- IMAP mailbox's UIDVALIDITY and last UID seen.
CREATE TABLE sequences_state (
  key TEXT NOT NULL PRIMARY KEY,
  value TEXT,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Message-IDs of inbound mail already handled (a changed UIDVALIDITY makes the poller read
-- the mailbox again; these keep it from handling a message twice). Pruned after 30 days.
CREATE TABLE sequences_inbox_seen (
  message_id TEXT NOT NULL PRIMARY KEY,
  seen_at INTEGER NOT NULL
) WITHOUT ROWID;
