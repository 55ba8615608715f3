/* SQLite connections and a per-connection cache of prepared statements. */
#include "store/db.h"
#include "store/db_internal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talentd/types.h"
#include "util/log.h"
#include "util/mem.h"

int td__db_map_rc(int rc) {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW: return 0;
    case SQLITE_CONSTRAINT: return TD_ECONFLICT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return TD_EBUSY;
    case SQLITE_NOMEM: return TD_ENOMEM;
    default: return TD_EIO;
  }
}

static void log_sql_error(td__db_t *db, const char *what, int rc) {
  /* The message names the SQL problem, never the bound values. */
  td__log(TD_LOG_ERROR, "sql_error",
          json_pack("{s:s,s:i,s:s}", "op", what, "code", rc, "message", sqlite3_errmsg(db->conn)));
}

/* SQLite's memory statistics take one process-wide mutex on every allocation, which the
 * writer and the readers then queue on; nothing here reads those statistics. */
static void configure_sqlite(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

int td__db_open(const char *path, int mode, td__db_t **out) {
  static pthread_once_t configured = PTHREAD_ONCE_INIT;
  pthread_once(&configured, configure_sqlite);
  td__db_t *db = td__xcalloc(1, sizeof *db);
  int flags = mode == TD_DB_READONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX; /* each connection belongs to one thread */
  int rc = sqlite3_open_v2(path, &db->conn, flags, NULL);
  if (rc != SQLITE_OK) {
    td__log(TD_LOG_ERROR, "db_open_failed",
            json_pack("{s:s}", "message", db->conn ? sqlite3_errmsg(db->conn) : "no memory"));
    sqlite3_close(db->conn);
    free(db);
    return TD_EIO;
  }
  sqlite3_busy_timeout(db->conn, 5000);
  sqlite3_extended_result_codes(db->conn, 1);
  const char *pragmas = mode == TD_DB_READONLY
                            ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON; PRAGMA cache_size=-16000;"
                            : "PRAGMA page_size=8192; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                              "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA cache_size=-32000;"
                              "PRAGMA wal_autocheckpoint=2000;";
  char *err = NULL;
  rc = sqlite3_exec(db->conn, pragmas, NULL, NULL, &err);
  if (rc != SQLITE_OK) {
    td__log(TD_LOG_ERROR, "db_pragma_failed", json_pack("{s:s}", "message", err ? err : "?"));
    sqlite3_free(err);
    sqlite3_close(db->conn);
    free(db);
    return TD_EIO;
  }
  td__guard_attach(db);
  *out = db;
  return 0;
}

void td__db_close(td__db_t *db) {
  if (db == NULL) return;
  td__guard_detach(db);
  for (size_t i = 0; i < TEXT_CACHE_SLOTS; i++) {
    if (db->text_cache[i].stmt) {
      sqlite3_finalize(db->text_cache[i].stmt->raw);
      free(db->text_cache[i].stmt);
    }
  }
  for (size_t i = 0; i < STMT_CACHE_SLOTS; i++) {
    if (db->cache[i].stmt) {
      sqlite3_finalize(db->cache[i].stmt->raw);
      free(db->cache[i].stmt);
    }
  }
  sqlite3_close(db->conn);
  free(db);
}


int td__db_exec(td__db_t *db, const char *sql) {
  char *err = NULL;
  int rc = sqlite3_exec(db->conn, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) {
    td__log(TD_LOG_ERROR, "sql_exec_failed", json_pack("{s:s}", "message", err ? err : "?"));
    sqlite3_free(err);
  }
  return td__db_map_rc(rc);
}

static td__stmt_t *prepare(td__db_t *db, const char *sql, bool cached) {
  sqlite3_stmt *raw = NULL;
  int rc = sqlite3_prepare_v3(db->conn, sql, -1, cached ? SQLITE_PREPARE_PERSISTENT : 0, &raw, NULL);
  if (rc != SQLITE_OK) {
    log_sql_error(db, "prepare", rc);
    return NULL;
  }
  td__stmt_t *st = td__xcalloc(1, sizeof *st);
  st->raw = raw;
  st->db = db;
  st->cached = cached;
  return st;
}

td__stmt_t *td__db_stmt(td__db_t *db, const char *sql) {
  size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE_SLOTS;
  for (size_t probe = 0; probe < STMT_CACHE_SLOTS; probe++) {
    size_t i = (h + probe) % STMT_CACHE_SLOTS;
    if (db->cache[i].sql == sql) {
      td__stmt_t *st = db->cache[i].stmt;
      sqlite3_reset(st->raw);
      sqlite3_clear_bindings(st->raw);
      return st;
    }
    if (db->cache[i].sql == NULL) {
      td__stmt_t *st = prepare(db, sql, true);
      if (st == NULL) return NULL;
      db->cache[i].sql = sql;
      db->cache[i].stmt = st;
      db->cached_count++;
      return st;
    }
  }
  /* A full cache means SQL is being built at run time and passed here by mistake. */
  td__log(TD_LOG_ERROR, "stmt_cache_full", NULL);
  return NULL;
}

td__stmt_t *td__db_prepare(td__db_t *db, const char *sql) { return prepare(db, sql, false); }

int td__db_run(td__db_t *db, const char *sql) {
  td__stmt_t *st = td__db_stmt(db, sql);
  return st ? td__stmt_run(st) : TD_EIO;
}

void td__stmt_finalize(td__stmt_t *st) {
  if (st == NULL) return;
  if (st->cached) {
    if (st->in_use) { /* a cached plugin statement given back */
      sqlite3_reset(st->raw);
      sqlite3_clear_bindings(st->raw);
      st->in_use = false;
    }
    return;
  }
  sqlite3_finalize(st->raw);
  free(st);
}

void td__stmt_reset(td__stmt_t *st) {
  sqlite3_reset(st->raw);
  sqlite3_clear_bindings(st->raw);
}

void td__stmt_bind_text(td__stmt_t *st, int idx, const char *text) {
  if (text == NULL)
    sqlite3_bind_null(st->raw, idx);
  else
    sqlite3_bind_text(st->raw, idx, text, -1, SQLITE_TRANSIENT);
}

void td__stmt_bind_int(td__stmt_t *st, int idx, int64_t value) { sqlite3_bind_int64(st->raw, idx, value); }

void td__stmt_bind_double(td__stmt_t *st, int idx, double value) { sqlite3_bind_double(st->raw, idx, value); }

void td__stmt_bind_null(td__stmt_t *st, int idx) { sqlite3_bind_null(st->raw, idx); }

int td__stmt_bind_text_named(td__stmt_t *st, const char *name, const char *text) {
  int idx = sqlite3_bind_parameter_index(st->raw, name);
  if (idx == 0) return TD_EINVAL;
  td__stmt_bind_text(st, idx, text);
  return 0;
}

int td__stmt_bind_int_named(td__stmt_t *st, const char *name, int64_t value) {
  int idx = sqlite3_bind_parameter_index(st->raw, name);
  if (idx == 0) return TD_EINVAL;
  sqlite3_bind_int64(st->raw, idx, value);
  return 0;
}

int td__stmt_step(td__stmt_t *st) {
  /* Plugin SQL runs under its guard: sqlite3_step re-prepares a statement after a schema
   * change, and the authorizer must see that compilation too. */
  const td__db_guard_t *outer_guard = st->db->guard;
  if (st->guarded) st->db->guard = &st->guard.guard;
  int rc = sqlite3_step(st->raw);
  st->db->guard = outer_guard;
  if (rc == SQLITE_ROW) return 1;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(st->raw);
    return 0;
  }
  if ((rc & 0xff) != SQLITE_CONSTRAINT) log_sql_error(st->db, "step", rc);
  sqlite3_reset(st->raw);
  return td__db_map_rc(rc);
}

int td__stmt_run(td__stmt_t *st) {
  int rc = td__stmt_step(st);
  if (rc == 1) {
    sqlite3_reset(st->raw);
    return 0;
  }
  return rc;
}

const char *td__stmt_text(td__stmt_t *st, int col) { return (const char *)sqlite3_column_text(st->raw, col); }

int64_t td__stmt_int(td__stmt_t *st, int col) { return sqlite3_column_int64(st->raw, col); }

double td__stmt_double(td__stmt_t *st, int col) { return sqlite3_column_double(st->raw, col); }

bool td__stmt_is_null(td__stmt_t *st, int col) { return sqlite3_column_type(st->raw, col) == SQLITE_NULL; }



int64_t td__db_last_rowid(td__db_t *db) { return sqlite3_last_insert_rowid(db->conn); }

int td__db_changes(td__db_t *db) { return sqlite3_changes(db->conn); }

/* The statement for a SQL text built at run time from a few fixed parts (savepoints), cached
 * by its text; NULL when the text is too long or the cache is full. */
static td__stmt_t *text_stmt(td__db_t *db, const char *sql) {
  if (strlen(sql) >= sizeof db->text_cache[0].sql) return NULL;
  for (size_t i = 0; i < TEXT_CACHE_SLOTS; i++) {
    if (db->text_cache[i].stmt == NULL) {
      td__stmt_t *st = prepare(db, sql, true);
      if (st == NULL) return NULL;
      snprintf(db->text_cache[i].sql, sizeof db->text_cache[i].sql, "%s", sql);
      db->text_cache[i].stmt = st;
      return st;
    }
    if (strcmp(db->text_cache[i].sql, sql) == 0) {
      td__stmt_reset(db->text_cache[i].stmt);
      return db->text_cache[i].stmt;
    }
  }
  return NULL;
}

/* Savepoints are taken around every write op: prepared once, not parsed per op. */
static int savepoint_op(td__db_t *db, const char *verb, const char *name) {
  char sql[96];
  snprintf(sql, sizeof sql, "%s%s", verb, name);
  td__stmt_t *st = text_stmt(db, sql);
  return st ? td__stmt_run(st) : td__db_exec(db, sql);
}

int td__db_savepoint(td__db_t *db, const char *name) { return savepoint_op(db, "SAVEPOINT ", name); }
int td__db_release(td__db_t *db, const char *name) { return savepoint_op(db, "RELEASE ", name); }
int td__db_rollback_to(td__db_t *db, const char *name) {
  int rc = savepoint_op(db, "ROLLBACK TO ", name);
  if (rc == 0) rc = savepoint_op(db, "RELEASE ", name);
  return rc;
}
