/* The connection and statement structs, shared by the files of core/store/ only. */
#ifndef TD_STORE_DB_INTERNAL_H
#define TD_STORE_DB_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/db.h"

#define STMT_CACHE_SLOTS 1024 /* open addressing; the core has a few hundred literals */

struct td__stmt {
  sqlite3_stmt *raw;
  td__db_t *db;
  bool cached;
};

struct td__db {
  sqlite3 *conn;
  struct {
    const char *sql;
    td__stmt_t *stmt;
  } cache[STMT_CACHE_SLOTS];
  size_t cached_count;
  int vtab_schema; /* schema_version when the virtual tables were last connected (guard.c) */
};

/* Maps a SQLite result code to a TD_E* code. */
int td__db_map_rc(int rc);

#endif
