/* The connection and statement structs, shared by the files of core/store/ only. */
#ifndef TD_STORE_DB_INTERNAL_H
#define TD_STORE_DB_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "store/guard.h"

#define STMT_CACHE_SLOTS 1024 /* open addressing; the core has a few hundred literals */
#define TEXT_CACHE_SLOTS 16   /* savepoint verbs and names: a handful */
#define GUARDED_SETS 64       /* plugin SQL cache: GUARDED_SETS x GUARDED_WAYS statements */
#define GUARDED_WAYS 4
#define GUARD_PREFIX_MAX 48   /* "<plugin>_": plugin names have at most 31 bytes */

/* The guard a plugin statement was prepared under, kept with it: the statement runs under it
 * too, so a re-prepare inside sqlite3_step (after a schema change) is checked again. */
typedef struct td__guard_copy {
  td__db_guard_t guard;
  char prefix[GUARD_PREFIX_MAX];
} td__guard_copy_t;

struct td__stmt {
  sqlite3_stmt *raw;
  td__db_t *db;
  bool cached;  /* owned by a cache: finalizing gives it back instead */
  bool in_use;  /* a cached plugin statement handed out and not yet given back */
  bool guarded; /* plugin SQL: runs under guard */
  td__guard_copy_t guard;
};

typedef struct td__guarded_slot {
  char *sql;
  uint64_t hash;
  uint64_t last_use;
  td__stmt_t *stmt;
} td__guarded_slot_t;

struct td__db {
  sqlite3 *conn;
  struct {
    const char *sql;
    td__stmt_t *stmt;
  } cache[STMT_CACHE_SLOTS];
  size_t cached_count;
  /* Statements cached by text rather than by address (savepoints): */
  struct {
    char sql[96];
    td__stmt_t *stmt;
  } text_cache[TEXT_CACHE_SLOTS];
  td__guarded_slot_t guarded[GUARDED_SETS][GUARDED_WAYS];
  uint64_t guarded_clock;
  /* The authorizer stays installed for the connection's life (setting it expires every
   * prepared statement): it allows everything while guard is NULL, which it is except while
   * a plugin statement is prepared or stepped. */
  const td__db_guard_t *guard;
  char *why;
  size_t why_size;
  char why_scratch[160];
  int vtab_schema; /* schema_version when the virtual tables were last connected (guard.c) */
};

/* Maps a SQLite result code to a TD_E* code. */
int td__db_map_rc(int rc);

/* guard.c: installs the authorizer on a new connection; finalizes the cached plugin
 * statements before it closes. */
void td__guard_attach(td__db_t *db);
void td__guard_detach(td__db_t *db);

#endif
