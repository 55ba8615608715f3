-- The mail part of the sequences plugin: templates, the outbox of rendered messages, the
-- suppression list, used unsubscribe tokens, the per-install signing key, and the sender's
-- wake-up bookkeeping.

CREATE TABLE sequences_templates (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  subject TEXT NOT NULL,
  body_text TEXT NOT NULL,
  body_html TEXT,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);

-- One row per queued message: the rendered RFC 5322 bytes are stored when it is queued (in
-- sequences_outbox_bodies), so a re-send (after a temporary failure or a crash) sends the
-- same bytes and Message-ID.
-- status: queued -> sending -> sent | failed (permanent) ; queued again on a temporary failure.
-- boot: the sender instance that marked it sending; a row left 'sending' by an earlier
-- instance (a crash) is sent again.
CREATE TABLE sequences_outbox (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  message_id TEXT NOT NULL UNIQUE,      -- with angle brackets
  candidate_id TEXT NOT NULL,
  enrollment_id TEXT,
  step_index INTEGER,
  template_id TEXT,
  sender_key TEXT NOT NULL,             -- a user id, or '' for the configured from address
  to_address TEXT NOT NULL,
  to_domain TEXT NOT NULL,
  mail_from TEXT NOT NULL,
  subject TEXT NOT NULL,
  time_zone TEXT,                       -- the recipient's, for the sending window
  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
  due_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  boot TEXT,
  send_day INTEGER,                     -- UTC day (epoch days) of the last claim, for the daily cap
  last_code INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  updated_at INTEGER NOT NULL,
  -- Indexes as constraints: the core's migration guard refuses the REINDEX step SQLite
  -- authorizes for a separate CREATE INDEX.
  UNIQUE (status, due_at, id),          -- the sender's claim
  UNIQUE (candidate_id, id),            -- a person's messages
  UNIQUE (send_day, sender_key, id)     -- the daily cap
);

CREATE TABLE sequences_suppressions (
  address TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
  reason TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complaint', 'manual')),
  created_at INTEGER NOT NULL
);

-- Unsubscribe tokens already used (a token works once).
CREATE TABLE sequences_unsubscribes (
  outbox_id TEXT NOT NULL PRIMARY KEY,
  used_at INTEGER NOT NULL
);

-- Per-install secrets made on first use (the unsubscribe signing key).
CREATE TABLE sequences_mail_keys (
  name TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
);

-- When the next sender run is scheduled (NULL: none), so queueing a burst schedules one run.
CREATE TABLE sequences_mail_pump (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  next_at INTEGER
);
INSERT INTO sequences_mail_pump (id, next_at) VALUES (1, NULL);

-- The rendered bytes of each outbox row (same rowid), apart from the row itself: a message's
-- status changes three times (queued, sending, sent), and with the kilobytes in the same row
-- every change would write them to the WAL again.
CREATE TABLE sequences_outbox_bodies (
  rowid INTEGER PRIMARY KEY,            -- sequences_outbox.rowid
  message TEXT NOT NULL
);
