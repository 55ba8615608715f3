/* Running a plugin's migrations under the store guard (see migrate.h). */
#include "plugin/migrate.h"

#include <stdio.h>
#include <string.h>

#include "store/guard.h"
#include "talentd/types.h"
#include "util/log.h"
#include "util/time.h"

static bool applied(td__db_t *db, const char *plugin, const char *name) {
  td__stmt_t *st = td__db_stmt(db, "SELECT 1 FROM plugin_migrations WHERE plugin = ?1 AND name = ?2");
  if (st == NULL) return false;
  td__stmt_bind_text(st, 1, plugin);
  td__stmt_bind_text(st, 2, name);
  int rc = td__stmt_step(st);
  td__stmt_reset(st);
  return rc == 1;
}

/* Runs every statement of sql under guard. */
static int run_script(td__db_t *db, const char *sql, const td__db_guard_t *guard, char *why,
                      size_t why_size) {
  const char *next = sql;
  while (next && *next) {
    td__stmt_t *st = NULL;
    const char *tail = NULL;
    int rc = td__db_prepare_guarded(db, next, guard, &st, &tail, why, why_size);
    if (rc) return rc;
    if (st == NULL) break;
    while ((rc = td__stmt_step(st)) == 1) {
    }
    td__stmt_finalize(st);
    if (rc < 0) {
      snprintf(why, why_size, "a statement failed (%s)", td_strerror(rc));
      return rc;
    }
    next = tail;
  }
  return 0;
}

static int apply_one(td_plugin_t *p, td__db_t *db, const td__blob_t *m, const td__db_guard_t *guard,
                     char *why, size_t why_size) {
  if (td__db_exec(db, "BEGIN IMMEDIATE") != 0) {
    snprintf(why, why_size, "cannot start a transaction for %s", m->path);
    return TD_EIO;
  }
  char detail[400] = "";
  int rc = run_script(db, m->data, guard, detail, sizeof detail);
  if (rc == 0) {
    td__stmt_t *st =
        td__db_stmt(db, "INSERT INTO plugin_migrations (plugin, name, applied_at) VALUES (?1, ?2, ?3)");
    if (st == NULL)
      rc = TD_EIO;
    else {
      td__stmt_bind_text(st, 1, p->name);
      td__stmt_bind_text(st, 2, m->path);
      td__stmt_bind_int(st, 3, td__time_now_ms());
      rc = td__stmt_run(st);
    }
  }
  if (rc == 0 && td__db_exec(db, "COMMIT") == 0) {
    td__log(TD_LOG_INFO, "plugin_migrated", json_pack("{s:s,s:s}", "plugin", p->name, "migration", m->path));
    return 0;
  }
  td__db_exec(db, "ROLLBACK");
  snprintf(why, why_size, "%s failed: %s", m->path, detail[0] ? detail : td_strerror(rc));
  return rc ? rc : TD_EIO;
}

int td__plugin_migrate(td_plugin_t *p, td__db_t *db, const td__plugin_files_t *files, char *why,
                       size_t why_size) {
  char prefix[40];
  snprintf(prefix, sizeof prefix, "%s_", p->name);
  td__db_guard_t guard = {.table_prefix = prefix, .read_only = false, .read_all = false, .ddl = true};
  for (size_t i = 0; i < files->migration_count; i++) {
    const td__blob_t *m = &files->migrations[i];
    if (applied(db, p->name, m->path)) continue;
    int rc = apply_one(p, db, m, &guard, why, why_size);
    if (rc) return rc;
  }
  return 0;
}
