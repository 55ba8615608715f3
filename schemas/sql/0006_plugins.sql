-- C plugins: which are enabled in this data directory, and which of their own migrations ran.
CREATE TABLE plugin_states (
  name TEXT PRIMARY KEY,
  enabled INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);

CREATE TABLE plugin_migrations (
  plugin TEXT NOT NULL,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL,
  PRIMARY KEY (plugin, name)
);
