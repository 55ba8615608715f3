-- Applications changed since a moment, for readers that keep their own copy up to date (the
-- analytics plugin's in-memory transition history) without rescanning every application.
CREATE INDEX applications_updated ON applications(updated_at);
