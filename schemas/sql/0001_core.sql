-- talentd core schema. Times are epoch milliseconds (UTC). Every object has an internal
-- integer rowid (fast joins, cursor pagination) and a random public text id.

CREATE TABLE users (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'recruiter', 'hiring_manager', 'interviewer')),
  password_hash TEXT,
  active INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE api_tokens (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  can_write INTEGER NOT NULL DEFAULT 1,
  expires_at INTEGER,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE sessions (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL REFERENCES users(id),
  token_hash TEXT NOT NULL UNIQUE,
  csrf_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  revoked_at INTEGER
);

CREATE TABLE audit_log (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  at INTEGER NOT NULL,
  actor_id TEXT,
  actor_kind TEXT NOT NULL,
  action TEXT NOT NULL,
  object_type TEXT,
  object_id TEXT,
  status INTEGER NOT NULL,
  request_id TEXT,
  remote_ip TEXT
);
CREATE INDEX audit_log_object ON audit_log(object_type, object_id);

CREATE TABLE idempotency_keys (
  principal_id TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status INTEGER NOT NULL,
  body TEXT,
  headers TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (principal_id, key)
) WITHOUT ROWID;

-- Candidates. emails/phones/links/tags/custom_fields are JSON arrays/objects; emails and
-- tags are also normalised into side tables for dedupe and filtering.
CREATE TABLE candidates (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  emails TEXT NOT NULL DEFAULT '[]',
  phones TEXT NOT NULL DEFAULT '[]',
  links TEXT NOT NULL DEFAULT '[]',
  location TEXT,
  source TEXT,
  tags TEXT NOT NULL DEFAULT '[]',
  custom_fields TEXT NOT NULL DEFAULT '{}',
  resume_text TEXT,
  owner_id TEXT REFERENCES users(id),
  consent TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX candidates_updated ON candidates(updated_at);
CREATE INDEX candidates_source ON candidates(source);

CREATE TABLE candidate_emails (
  email TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
  candidate_rowid INTEGER NOT NULL REFERENCES candidates(rowid) ON DELETE CASCADE
);
CREATE INDEX candidate_emails_candidate ON candidate_emails(candidate_rowid);

CREATE TABLE candidate_tags (
  candidate_rowid INTEGER NOT NULL REFERENCES candidates(rowid) ON DELETE CASCADE,
  tag TEXT NOT NULL COLLATE NOCASE,
  PRIMARY KEY (tag, candidate_rowid)
) WITHOUT ROWID;
CREATE INDEX candidate_tags_candidate ON candidate_tags(candidate_rowid);

-- A merged-away candidate id keeps resolving to the survivor.
CREATE TABLE candidate_aliases (
  alias_id TEXT NOT NULL PRIMARY KEY,
  candidate_id TEXT NOT NULL
) WITHOUT ROWID;

-- Full-text search over names, emails, tags, notes and resume text (maintained by the
-- domain layer in the same transaction as the candidate, notes included).
CREATE VIRTUAL TABLE candidate_search USING fts5(
  name, emails, tags, notes, resume,
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE pipeline_templates (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  is_default INTEGER NOT NULL DEFAULT 0,
  stages TEXT NOT NULL, -- JSON [{"name","type"}]
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE jobs (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  department TEXT,
  location TEXT,
  employment_type TEXT,
  status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'on_hold', 'closed')),
  confidential INTEGER NOT NULL DEFAULT 0,
  custom_fields TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX jobs_department ON jobs(department);

CREATE TABLE job_team (
  job_rowid INTEGER NOT NULL REFERENCES jobs(rowid) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id),
  role TEXT NOT NULL CHECK (role IN ('hiring_manager', 'recruiter', 'coordinator', 'interviewer')),
  PRIMARY KEY (job_rowid, user_id, role)
) WITHOUT ROWID;
CREATE INDEX job_team_user ON job_team(user_id, role);

CREATE TABLE openings (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  job_rowid INTEGER NOT NULL REFERENCES jobs(rowid) ON DELETE CASCADE,
  target_date TEXT,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'filled', 'closed')),
  close_reason TEXT,
  filled_by_application TEXT,
  created_at INTEGER NOT NULL,
  closed_at INTEGER
);
CREATE INDEX openings_job ON openings(job_rowid);

CREATE TABLE stages (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  job_rowid INTEGER NOT NULL REFERENCES jobs(rowid) ON DELETE CASCADE,
  name TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('lead', 'applied', 'screen', 'interview', 'offer', 'hired')),
  position INTEGER NOT NULL,
  sla_days INTEGER,
  deleted_at INTEGER
);
CREATE INDEX stages_job ON stages(job_rowid, position);

CREATE TABLE applications (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  candidate_rowid INTEGER NOT NULL REFERENCES candidates(rowid) ON DELETE CASCADE,
  job_rowid INTEGER NOT NULL REFERENCES jobs(rowid),
  stage_rowid INTEGER NOT NULL REFERENCES stages(rowid),
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'rejected', 'withdrawn', 'hired')),
  source TEXT,
  credited_to TEXT REFERENCES users(id),
  answers TEXT NOT NULL DEFAULT '{}',
  disposition_reason TEXT,
  disposition_kind TEXT CHECK (disposition_kind IN ('rejected', 'withdrawn')),
  opening_id TEXT,
  applied_at INTEGER NOT NULL,
  stage_entered_at INTEGER NOT NULL,
  closed_at INTEGER,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);
-- One active application per candidate and job.
CREATE UNIQUE INDEX applications_one_active ON applications(candidate_rowid, job_rowid) WHERE status = 'active';
CREATE INDEX applications_job_stage ON applications(job_rowid, stage_rowid, status);
CREATE INDEX applications_candidate ON applications(candidate_rowid);

-- Append-only: the source of truth for analytics (ARCHITECTURE wall 5).
CREATE TABLE stage_transitions (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  application_rowid INTEGER NOT NULL REFERENCES applications(rowid) ON DELETE CASCADE,
  job_rowid INTEGER NOT NULL,
  from_stage_rowid INTEGER,
  to_stage_rowid INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('created', 'moved', 'rejected', 'withdrawn', 'unrejected', 'hired')),
  at INTEGER NOT NULL,
  actor_id TEXT,
  actor_kind TEXT NOT NULL,
  reason TEXT,
  cause TEXT
);
CREATE INDEX stage_transitions_application ON stage_transitions(application_rowid, rowid);
CREATE INDEX stage_transitions_job_at ON stage_transitions(job_rowid, at);
CREATE TRIGGER stage_transitions_no_update BEFORE UPDATE ON stage_transitions
  BEGIN SELECT RAISE(ABORT, 'stage_transitions is append-only'); END;

CREATE TABLE activities (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  candidate_rowid INTEGER NOT NULL REFERENCES candidates(rowid) ON DELETE CASCADE,
  application_rowid INTEGER REFERENCES applications(rowid) ON DELETE SET NULL,
  kind TEXT NOT NULL, -- note, stage_change, email_in, email_out, call, meeting, system
  visibility TEXT NOT NULL DEFAULT 'team' CHECK (visibility IN ('private', 'team', 'admin')),
  author_id TEXT,
  author_kind TEXT NOT NULL DEFAULT 'user',
  body TEXT,
  data TEXT NOT NULL DEFAULT '{}',
  at INTEGER NOT NULL
);
CREATE INDEX activities_candidate ON activities(candidate_rowid, at);

CREATE TABLE tasks (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  assignee_id TEXT REFERENCES users(id),
  due_at INTEGER,
  candidate_rowid INTEGER REFERENCES candidates(rowid) ON DELETE CASCADE,
  application_rowid INTEGER REFERENCES applications(rowid) ON DELETE CASCADE,
  done INTEGER NOT NULL DEFAULT 0,
  done_at INTEGER,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tasks_assignee ON tasks(assignee_id, done, due_at);

CREATE TABLE custom_fields (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  entity TEXT NOT NULL CHECK (entity IN ('candidate', 'job', 'application')),
  key TEXT NOT NULL,
  label TEXT,
  type TEXT NOT NULL CHECK (type IN ('text', 'number', 'date', 'boolean', 'single_select', 'multi_select')),
  options TEXT NOT NULL DEFAULT '[]',
  required INTEGER NOT NULL DEFAULT 0,
  sensitive INTEGER NOT NULL DEFAULT 0, -- e.g. compensation: hidden from interviewers
  created_at INTEGER NOT NULL,
  UNIQUE (entity, key)
);

CREATE TABLE attachments (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  candidate_rowid INTEGER NOT NULL REFERENCES candidates(rowid) ON DELETE CASCADE,
  sha256 TEXT NOT NULL,
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  uploaded_by TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX attachments_candidate ON attachments(candidate_rowid);

CREATE TABLE imports (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  created INTEGER NOT NULL DEFAULT 0,
  merged INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  report TEXT NOT NULL DEFAULT '[]',
  created_by TEXT,
  created_at INTEGER NOT NULL
);

-- The outbox: one row per event, written in the same transaction as the change it reports.
-- Delivery to subscribers (ARCHITECTURE section 2) reads from here after commit.
CREATE TABLE events (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  occurred_at INTEGER NOT NULL,
  actor_id TEXT,
  actor_kind TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT '{}',
  cause TEXT
);
CREATE INDEX events_type ON events(type, rowid);
