/* The authorizer behind td__db_prepare_guarded (see guard.h for the rules). */
#include "store/guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "talentd/types.h"
#include "util/mem.h"

/* The rules below apply while db->guard is set (a plugin statement being prepared or run);
 * the core's own SQL runs with it NULL and is allowed everything. */
static bool owned(const td__db_guard_t *g, const char *table) {
  size_t n = strlen(g->table_prefix);
  return table && strncmp(table, g->table_prefix, n) == 0 && table[n] != '\0';
}

static int deny(td__db_t *db, const char *what, const char *name) {
  if (db->why[0] == '\0')
    snprintf(db->why, db->why_size, "%s%s%s is not allowed", what, name ? " " : "", name ? name : "");
  return SQLITE_DENY;
}

/* The schema table is written by every CREATE/DROP: allowed only in migrations. */
static bool is_schema_table(const char *t) {
  return t && (strcmp(t, "sqlite_master") == 0 || strcmp(t, "sqlite_schema") == 0 ||
               strcmp(t, "sqlite_sequence") == 0 || strcmp(t, "sqlite_stat1") == 0);
}

static int on_write(td__db_t *db, const char *table) {
  const td__db_guard_t *g = db->guard;
  if (g->read_only) return deny(db, "writing table", table);
  if (owned(g, table)) return SQLITE_OK;
  if (g->ddl && is_schema_table(table)) return SQLITE_OK;
  if (!g->ddl && strcmp(table, "sqlite_sequence") == 0) return SQLITE_OK; /* AUTOINCREMENT */
  return deny(db, "writing table", table);
}

static int on_ddl(td__db_t *db, const char *name, const char *table) {
  const td__db_guard_t *g = db->guard;
  if (!g->ddl) return deny(db, "changing the schema outside a migration:", name);
  /* SQLite names the indexes behind UNIQUE and PRIMARY KEY constraints itself. */
  static const char autoindex[] = "sqlite_autoindex_";
  if (name && strncmp(name, autoindex, sizeof autoindex - 1) == 0) name += sizeof autoindex - 1;
  if (!owned(g, name) || (table && !owned(g, table)))
    return deny(db, "a schema object not named with the plugin's prefix:", name);
  return SQLITE_OK;
}

static int authorize(void *arg, int action, const char *a, const char *b, const char *dbname,
                     const char *inner) {
  (void)inner;
  td__db_t *db = arg;
  const td__db_guard_t *g = db->guard;
  if (g == NULL) return SQLITE_OK; /* the core's own SQL */
  if (dbname && strcmp(dbname, "main") != 0 && strcmp(dbname, "temp") != 0)
    return deny(db, "using database", dbname);
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE: return SQLITE_OK;
    case SQLITE_FUNCTION: return SQLITE_OK; /* load_extension is off on every connection */
    case SQLITE_READ:
      if (owned(g, a) || g->read_all || (g->ddl && is_schema_table(a))) return SQLITE_OK;
      return deny(db, "reading table", a);
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE: return on_write(db, a);
    case SQLITE_CREATE_TABLE:
    case SQLITE_DROP_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_DROP_VIEW: return on_ddl(db, a, NULL);
    case SQLITE_CREATE_INDEX:
    case SQLITE_DROP_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_DROP_TRIGGER: return on_ddl(db, a, b);
    case SQLITE_ALTER_TABLE: return on_ddl(db, b, NULL);
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
      if (b && strcmp(b, "fts5") != 0) return deny(db, "virtual table module", b);
      return on_ddl(db, a, NULL);
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT: return deny(db, "transaction control", NULL);
    case SQLITE_PRAGMA:
      /* FTS5 reads its table's data version on every query: read-only, without an argument. */
      if (a && strcmp(a, "data_version") == 0 && b == NULL) return SQLITE_OK;
      return deny(db, "PRAGMA", a);
    case SQLITE_REINDEX: return on_ddl(db, a, NULL); /* asked while a migration creates an index */
    case SQLITE_ATTACH:
    case SQLITE_DETACH: return deny(db, "ATTACH and DETACH", NULL);
    default: return deny(db, "this kind of statement", NULL);
  }
}

void td__guard_attach(td__db_t *db) {
  db->why = db->why_scratch;
  db->why_size = sizeof db->why_scratch;
  db->why_scratch[0] = '\0';
  sqlite3_set_authorizer(db->conn, authorize, db);
}

/* Connects the connection's virtual tables (the candidates' full-text index) without the
 * guard, again after each schema change: connecting one makes SQLite parse its declaration as
 * its own CREATE TABLE, which the guard would refuse as a schema write though the plugin only
 * reads the table. */
static void connect_virtual_tables(td__db_t *db) {
  td__stmt_t *version_stmt = td__db_stmt(db, "PRAGMA schema_version");
  int version = version_stmt && td__stmt_step(version_stmt) == 1 ? (int)td__stmt_int(version_stmt, 0) : -1;
  if (version_stmt) td__stmt_reset(version_stmt);
  if (version == db->vtab_schema) return;
  db->vtab_schema = version;
  sqlite3_stmt *st = NULL;
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

/* Compiles the first statement of sql with the authorizer applying guard. */
static int prepare_raw(td__db_t *db, const char *sql, const td__db_guard_t *guard, unsigned flags,
                       sqlite3_stmt **raw, const char **tail, char *why, size_t why_size) {
  *raw = NULL;
  why[0] = '\0';
  if (strlen(guard->table_prefix) >= GUARD_PREFIX_MAX) {
    snprintf(why, why_size, "the plugin's table prefix is too long");
    return TD_EINVAL;
  }
  connect_virtual_tables(db);
  const td__db_guard_t *outer_guard = db->guard;
  char *outer_why = db->why;
  size_t outer_why_size = db->why_size;
  db->guard = guard;
  db->why = why;
  db->why_size = why_size;
  int rc = sqlite3_prepare_v3(db->conn, sql, -1, flags, raw, tail);
  db->guard = outer_guard;
  db->why = outer_why;
  db->why_size = outer_why_size;
  if (rc == SQLITE_AUTH || (rc != SQLITE_OK && why[0] != '\0')) {
    sqlite3_finalize(*raw);
    *raw = NULL;
    return TD_EDENIED;
  }
  if (rc != SQLITE_OK) {
    snprintf(why, why_size, "%s", sqlite3_errmsg(db->conn));
    return TD_EINVAL;
  }
  return 0;
}

static td__stmt_t *wrap(td__db_t *db, sqlite3_stmt *raw, const td__db_guard_t *guard) {
  td__stmt_t *st = td__xcalloc(1, sizeof *st);
  st->raw = raw;
  st->db = db;
  st->guarded = true;
  st->guard.guard = *guard;
  snprintf(st->guard.prefix, sizeof st->guard.prefix, "%s", guard->table_prefix);
  st->guard.guard.table_prefix = st->guard.prefix;
  return st;
}

int td__db_prepare_guarded(td__db_t *db, const char *sql, const td__db_guard_t *guard, td__stmt_t **out,
                           const char **tail, char *why, size_t why_size) {
  *out = NULL;
  sqlite3_stmt *raw = NULL;
  int rc = prepare_raw(db, sql, guard, 0, &raw, tail, why, why_size);
  if (rc == 0 && raw) *out = wrap(db, raw, guard);
  return rc;
}

/* ---- the cache of plugin statements ---------------------------------------------------
 * Plugins pass the same SQL again and again (the sequences runner, per message); parsing it
 * each time was a fifth of the writer's time in the sequences benchmark. The cache is keyed
 * by the text and the guard, set-associative with LRU eviction, so it stays bounded however
 * much SQL a plugin builds at run time. */

#define GUARDED_SQL_MAX 8192 /* longer SQL is built at run time: not worth a slot */

static uint64_t key_hash(const char *sql, const td__db_guard_t *g) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)sql; *p; p++) h = (h ^ *p) * 1099511628211ULL;
  for (const unsigned char *p = (const unsigned char *)g->table_prefix; *p; p++) h = (h ^ *p) * 1099511628211ULL;
  unsigned flags = (unsigned)g->read_only | (unsigned)g->read_all << 1 | (unsigned)g->ddl << 2;
  return (h ^ flags) * 1099511628211ULL;
}

static bool same_key(const td__guarded_slot_t *slot, uint64_t h, const char *sql, const td__db_guard_t *g) {
  const td__db_guard_t *k = &slot->stmt->guard.guard;
  return slot->hash == h && strcmp(slot->sql, sql) == 0 && strcmp(k->table_prefix, g->table_prefix) == 0 &&
         k->read_only == g->read_only && k->read_all == g->read_all && k->ddl == g->ddl;
}

static void free_slot(td__guarded_slot_t *slot) {
  if (slot->stmt) {
    sqlite3_finalize(slot->stmt->raw);
    free(slot->stmt);
  }
  free(slot->sql);
  memset(slot, 0, sizeof *slot);
}

/* An empty slot of the set, else the least recently used one not handed out; NULL when all
 * are handed out (nested queries). */
static td__guarded_slot_t *victim(td__guarded_slot_t *set) {
  td__guarded_slot_t *best = NULL;
  for (int w = 0; w < GUARDED_WAYS; w++) {
    if (set[w].stmt == NULL) return &set[w];
    if (!set[w].stmt->in_use && (best == NULL || set[w].last_use < best->last_use)) best = &set[w];
  }
  return best;
}

static bool only_separators(const char *tail) { return tail == NULL || strspn(tail, " \t\r\n;") == strlen(tail); }

int td__db_stmt_guarded(td__db_t *db, const char *sql, const td__db_guard_t *guard, td__stmt_t **out,
                        const char **tail, char *why, size_t why_size) {
  *out = NULL;
  if (guard->ddl || strlen(sql) > GUARDED_SQL_MAX) return td__db_prepare_guarded(db, sql, guard, out, tail, why, why_size);
  uint64_t h = key_hash(sql, guard);
  td__guarded_slot_t *set = db->guarded[h % GUARDED_SETS];
  for (int w = 0; w < GUARDED_WAYS; w++) {
    td__guarded_slot_t *slot = &set[w];
    if (slot->stmt == NULL || !same_key(slot, h, sql, guard)) continue;
    /* Handed out already (the same query nested in its own row callback): a one-off. */
    if (slot->stmt->in_use) return td__db_prepare_guarded(db, sql, guard, out, tail, why, why_size);
    connect_virtual_tables(db); /* a re-prepare inside step must find them connected */
    why[0] = '\0';
    slot->last_use = ++db->guarded_clock;
    slot->stmt->in_use = true;
    if (tail) *tail = sql + strlen(sql);
    *out = slot->stmt;
    return 0;
  }
  sqlite3_stmt *raw = NULL;
  int rc = prepare_raw(db, sql, guard, SQLITE_PREPARE_PERSISTENT, &raw, tail, why, why_size);
  if (rc || raw == NULL) return rc;
  *out = wrap(db, raw, guard);
  td__guarded_slot_t *slot = only_separators(tail ? *tail : NULL) ? victim(set) : NULL;
  if (slot == NULL) return 0; /* a one-off: the caller finalizes it */
  free_slot(slot);
  slot->sql = td__xstrdup(sql);
  slot->hash = h;
  slot->last_use = ++db->guarded_clock;
  slot->stmt = *out;
  slot->stmt->cached = true;
  slot->stmt->in_use = true;
  return 0;
}

void td__guard_detach(td__db_t *db) {
  for (int s = 0; s < GUARDED_SETS; s++)
    for (int w = 0; w < GUARDED_WAYS; w++) free_slot(&db->guarded[s][w]);
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
