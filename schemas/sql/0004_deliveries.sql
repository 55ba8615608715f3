-- Event delivery (ARCHITECTURE section 2, "An event"): one row per (outbox event, subscriber),
-- created by the dispatcher (core/hooks/delivery.c) after the event committed, and its state.
-- A subscriber is named by its package and the hook pattern it subscribed with.
-- status: pending (not tried yet, or replayed), failed (will be retried at next_attempt_at),
-- ok (handled), dead (gave up after the configured attempts; an admin may replay it).
-- last_error is the subscriber's short reason ("HTTP 503"), never personal data.
-- No foreign key to events: pruning old outbox rows must not be blocked by delivery history.
CREATE TABLE deliveries (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  event_rowid INTEGER NOT NULL,
  package TEXT NOT NULL,
  hook TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'failed', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (package, hook, event_rowid)
);
-- What is due: the dispatcher's scan, in outbox order per subscriber.
CREATE INDEX deliveries_due ON deliveries(package, hook, event_rowid) WHERE status IN ('pending', 'failed');
-- The admin list by status.
CREATE INDEX deliveries_status ON deliveries(status, rowid);

-- Per subscriber: the last outbox rowid for which delivery rows exist. A subscriber seen for
-- the first time starts at the end of the outbox (it gets events from then on, not history:
-- the replayable feed GET /api/v1/events serves history).
CREATE TABLE delivery_cursors (
  package TEXT NOT NULL,
  hook TEXT NOT NULL,
  last_event_rowid INTEGER NOT NULL,
  PRIMARY KEY (package, hook)
);
