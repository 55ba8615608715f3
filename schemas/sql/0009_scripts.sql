-- Lua scripts managed by the server (core/lua/manager.h): the source of each, its manifest
-- (description, the role of its principal user), and the last load error.
CREATE TABLE scripts (
  name TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL DEFAULT 'recruiter'
    CHECK (role IN ('admin', 'recruiter', 'hiring_manager', 'interviewer')),
  enabled INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  updated_at INTEGER NOT NULL,
  updated_by TEXT,
  error TEXT
);
