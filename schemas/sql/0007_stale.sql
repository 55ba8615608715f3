-- Stale applications (core/domain/stale.c): one row per stage visit that was reported as
-- stale by an application.stale event, so that the scheduled scan reports each visit once.
-- A visit is the application's current stage and the time it entered it: moving to another
-- stage, or back to the same one later, starts a new visit (a new stage_entered_at) that
-- may go stale and be reported again. Rows of past visits stay as a record of what was
-- reported; they go with their application.
CREATE TABLE application_stale_visits (
  rowid INTEGER PRIMARY KEY,
  application_rowid INTEGER NOT NULL REFERENCES applications(rowid) ON DELETE CASCADE,
  stage_rowid INTEGER NOT NULL,
  stage_entered_at INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  reported_at INTEGER NOT NULL,
  UNIQUE (application_rowid, stage_entered_at, stage_rowid)
);
-- The scan walks active applications oldest visit first; this keeps that walk off the
-- closed applications, which pile up over the years.
CREATE INDEX applications_active_stage_entered ON applications(stage_entered_at) WHERE status = 'active';
