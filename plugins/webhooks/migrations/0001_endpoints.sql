-- Webhook endpoints. Secrets are stored as given to the endpoint's owner (they must be
-- able to sign); the API shows a secret once, when it is created or rotated.
CREATE TABLE webhooks_endpoints (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  event_types TEXT NOT NULL,            -- JSON array of patterns: "candidate.created", "job.*", "*"
  secret TEXT NOT NULL,                 -- whsec_<base64>
  previous_secret TEXT,                 -- still signs until previous_expires_at (rotation)
  previous_expires_at INTEGER,
  enabled INTEGER NOT NULL DEFAULT 1,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  disabled_reason TEXT,
  last_status INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);
