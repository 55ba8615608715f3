/* Migration runner over the embedded schemas/sql/ files. */
#include "store/migrate.h"

#include <stdlib.h>
#include <string.h>

#include "talentd/types.h"
#include "util/log.h"
#include "util/resources.h"

#define SQL_PREFIX "schemas/sql/"

/* Returns the NNNN of "schemas/sql/NNNN_name.sql", or -1 for other resources. */
static int migration_version(const char *path) {
  size_t n = strlen(SQL_PREFIX);
  if (strncmp(path, SQL_PREFIX, n) != 0) return -1;
  char *end = NULL;
  long v = strtol(path + n, &end, 10);
  if (end == path + n || *end != '_' || v <= 0 || v > 100000) return -1;
  return (int)v;
}

int td__migrate_latest(void) {
  int latest = 0;
  for (const td__resource_t *r = td__resources; r->path; r++) {
    int v = migration_version(r->path);
    if (v > latest) latest = v;
  }
  return latest;
}

static int current_version(td__db_t *db, int *version) {
  int rc = td__db_exec(db,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  if (rc) return rc;
  td__stmt_t *st = td__db_stmt(db, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (st == NULL) return TD_EIO;
  rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_EIO;
  *version = (int)td__stmt_int(st, 0);
  td__stmt_reset(st);
  return 0;
}

static int apply_one(td__db_t *db, const td__resource_t *r, int version) {
  int rc = td__db_exec(db, "BEGIN IMMEDIATE");
  if (rc) return rc;
  rc = td__db_exec(db, r->data);
  if (rc == 0) {
    td__stmt_t *st = td__db_stmt(db,
                                 "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, "
                                 "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))");
    if (st == NULL)
      rc = TD_EIO;
    else {
      td__stmt_bind_int(st, 1, version);
      td__stmt_bind_text(st, 2, r->path + strlen(SQL_PREFIX));
      rc = td__stmt_run(st);
    }
  }
  if (rc == 0) rc = td__db_exec(db, "COMMIT");
  if (rc) {
    td__db_exec(db, "ROLLBACK");
    td__log(TD_LOG_ERROR, "migration_failed", json_pack("{s:s}", "migration", r->path));
    return rc;
  }
  td__log(TD_LOG_INFO, "migration_applied", json_pack("{s:s}", "migration", r->path));
  return 0;
}

int td__migrate(td__db_t *db, const char **message) {
  int version = 0;
  *message = NULL;
  int rc = current_version(db, &version);
  if (rc) return rc;
  int latest = td__migrate_latest();
  if (version > latest) {
    *message = "this database was written by a newer talentd; upgrade talentd before serving it";
    return TD_ECONFLICT;
  }
  /* Resources are sorted by path, and NNNN is zero-padded, so this is version order. */
  for (const td__resource_t *r = td__resources; r->path; r++) {
    int v = migration_version(r->path);
    if (v <= version) continue;
    rc = apply_one(db, r, v);
    if (rc) {
      *message = "a migration failed; the database is unchanged by it";
      return rc;
    }
  }
  return 0;
}
