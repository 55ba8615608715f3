-- Talent pools (named lists of candidates, optionally with their own steps) and segments
-- (saved searches). Members point at the core's candidates: deleting a candidate removes
-- its memberships.
CREATE TABLE crm_pools (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  description TEXT NOT NULL DEFAULT '',
  steps TEXT NOT NULL DEFAULT '[]',     -- JSON array of step names, in order
  created_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE crm_pool_members (
  rowid INTEGER PRIMARY KEY,
  pool_rowid INTEGER NOT NULL REFERENCES crm_pools(rowid) ON DELETE CASCADE,
  candidate_rowid INTEGER NOT NULL REFERENCES candidates(rowid) ON DELETE CASCADE,
  step TEXT,                            -- one of the pool's steps, or NULL for a pool without
  added_at INTEGER NOT NULL,
  added_by TEXT,
  application_id TEXT,                  -- set when the member was converted
  converted_at INTEGER,
  UNIQUE (pool_rowid, candidate_rowid),
  -- The same pair the other way round: the index behind in_pool and behind the cascade when
  -- a candidate is deleted. (A constraint, not CREATE INDEX: the core's migration guard
  -- refuses the REINDEX step SQLite authorizes for a separate CREATE INDEX.)
  UNIQUE (candidate_rowid, pool_rowid)
);

CREATE TABLE crm_segments (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  definition TEXT NOT NULL,             -- JSON {"q"?, "filters"?} as validated on save
  created_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);
