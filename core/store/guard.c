/* The authorizer behind td__db_prepare_guarded (see guard.h for the rules). */
#include "store/guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "talentd/types.h"
#include "util/mem.h"

typedef struct authz {
  const td__db_guard_t *guard;
  char *why;
  size_t why_size;
} authz_t;

static bool owned(const authz_t *z, const char *table) {
  size_t n = strlen(z->guard->table_prefix);
  return table && strncmp(table, z->guard->table_prefix, n) == 0 && table[n] != '\0';
}

static int deny(authz_t *z, const char *what, const char *name) {
  if (z->why[0] == '\0')
    snprintf(z->why, z->why_size, "%s%s%s is not allowed", what, name ? " " : "", name ? name : "");
  return SQLITE_DENY;
}

/* The schema table is written by every CREATE/DROP: allowed only in migrations. */
static bool is_schema_table(const char *t) {
  return t && (strcmp(t, "sqlite_master") == 0 || strcmp(t, "sqlite_schema") == 0 ||
               strcmp(t, "sqlite_sequence") == 0 || strcmp(t, "sqlite_stat1") == 0);
}

static int on_write(authz_t *z, const char *table) {
  if (z->guard->read_only) return deny(z, "writing table", table);
  if (owned(z, table)) return SQLITE_OK;
  if (z->guard->ddl && is_schema_table(table)) return SQLITE_OK;
  if (!z->guard->ddl && strcmp(table, "sqlite_sequence") == 0) return SQLITE_OK; /* AUTOINCREMENT */
  return deny(z, "writing table", table);
}

static int on_ddl(authz_t *z, const char *name, const char *table) {
  if (!z->guard->ddl) return deny(z, "changing the schema outside a migration:", name);
  /* SQLite names the indexes behind UNIQUE and PRIMARY KEY constraints itself. */
  static const char autoindex[] = "sqlite_autoindex_";
  if (name && strncmp(name, autoindex, sizeof autoindex - 1) == 0) name += sizeof autoindex - 1;
  if (!owned(z, name) || (table && !owned(z, table)))
    return deny(z, "a schema object not named with the plugin's prefix:", name);
  return SQLITE_OK;
}

static int authorize(void *arg, int action, const char *a, const char *b, const char *dbname,
                     const char *inner) {
  (void)inner;
  authz_t *z = arg;
  if (dbname && strcmp(dbname, "main") != 0 && strcmp(dbname, "temp") != 0)
    return deny(z, "using database", dbname);
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE: return SQLITE_OK;
    case SQLITE_FUNCTION: return SQLITE_OK; /* load_extension is off on every connection */
    case SQLITE_READ:
      if (owned(z, a) || z->guard->read_all || (z->guard->ddl && is_schema_table(a))) return SQLITE_OK;
      return deny(z, "reading table", a);
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE: return on_write(z, a);
    case SQLITE_CREATE_TABLE:
    case SQLITE_DROP_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_DROP_VIEW: return on_ddl(z, a, NULL);
    case SQLITE_CREATE_INDEX:
    case SQLITE_DROP_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_DROP_TRIGGER: return on_ddl(z, a, b);
    case SQLITE_ALTER_TABLE: return on_ddl(z, b, NULL);
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
      if (b && strcmp(b, "fts5") != 0) return deny(z, "virtual table module", b);
      return on_ddl(z, a, NULL);
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT: return deny(z, "transaction control", NULL);
    case SQLITE_PRAGMA:
      /* FTS5 reads its table's data version on every query: read-only, without an argument. */
      if (a && strcmp(a, "data_version") == 0 && b == NULL) return SQLITE_OK;
      return deny(z, "PRAGMA", a);
    case SQLITE_REINDEX: return on_ddl(z, a, NULL); /* asked while a migration creates an index */
    case SQLITE_ATTACH:
    case SQLITE_DETACH: return deny(z, "ATTACH and DETACH", NULL);
    default: return deny(z, "this kind of statement", NULL);
  }
}

/* Connects the connection's virtual tables (the candidates' full-text index) without the
 * guard, again after each schema change: connecting one makes SQLite parse its declaration as
 * its own CREATE TABLE, which the guard would refuse as a schema write though the plugin only
 * reads the table. */
static void connect_virtual_tables(td__db_t *db) {
  sqlite3_stmt *st = NULL;
  int version = -1;
  if (sqlite3_prepare_v2(db->conn, "PRAGMA schema_version", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (version == db->vtab_schema) return;
  db->vtab_schema = version;
  st = NULL;
  if (sqlite3_prepare_v2(db->conn,
                         "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'", -1,
                         &st, NULL) != SQLITE_OK)
    return;
  while (sqlite3_step(st) == SQLITE_ROW) {
    char *probe_sql = sqlite3_mprintf("SELECT 1 FROM \"%w\" WHERE 0", (const char *)sqlite3_column_text(st, 0));
    sqlite3_stmt *probe = NULL;
    if (probe_sql && sqlite3_prepare_v2(db->conn, probe_sql, -1, &probe, NULL) == SQLITE_OK) sqlite3_step(probe);
    sqlite3_finalize(probe);
    sqlite3_free(probe_sql);
  }
  sqlite3_finalize(st);
}

int td__db_prepare_guarded(td__db_t *db, const char *sql, const td__db_guard_t *guard, td__stmt_t **out,
                           const char **tail, char *why, size_t why_size) {
  *out = NULL;
  why[0] = '\0';
  connect_virtual_tables(db);
  authz_t z = {guard, why, why_size};
  sqlite3_set_authorizer(db->conn, authorize, &z);
  sqlite3_stmt *raw = NULL;
  int rc = sqlite3_prepare_v2(db->conn, sql, -1, &raw, tail);
  sqlite3_set_authorizer(db->conn, NULL, NULL);
  if (rc == SQLITE_AUTH || (rc != SQLITE_OK && why[0] != '\0')) {
    sqlite3_finalize(raw);
    return TD_EDENIED;
  }
  if (rc != SQLITE_OK) {
    snprintf(why, why_size, "%s", sqlite3_errmsg(db->conn));
    return TD_EINVAL;
  }
  if (raw == NULL) return 0;
  td__stmt_t *st = td__xcalloc(1, sizeof *st);
  st->raw = raw;
  st->db = db;
  *out = st;
  return 0;
}

int td__stmt_column_count(td__stmt_t *st) { return sqlite3_column_count(st->raw); }
const char *td__stmt_column_name(td__stmt_t *st, int col) { return sqlite3_column_name(st->raw, col); }
int td__stmt_param_count(td__stmt_t *st) { return sqlite3_bind_parameter_count(st->raw); }

td__col_kind_t td__stmt_column_kind(td__stmt_t *st, int col) {
  switch (sqlite3_column_type(st->raw, col)) {
    case SQLITE_INTEGER: return TD_COL_INT;
    case SQLITE_FLOAT: return TD_COL_REAL;
    case SQLITE_TEXT: return TD_COL_TEXT;
    case SQLITE_BLOB: return TD_COL_BLOB;
    default: return TD_COL_NULL;
  }
}
