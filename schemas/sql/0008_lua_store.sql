-- Package-private key/value store of Lua scripts (talent.store, core/lua/api_model.c):
-- JSON values (at most 64 KiB), keys of at most 200 bytes, at most 10,000 keys per package.
-- Rows outlive a reload of the package (same name) so a script keeps its state.
CREATE TABLE lua_store (
  package TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (package, key)
);
