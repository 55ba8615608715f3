/* A temporary migrated database for unit tests that run a writer, readers or the
 * scheduler against a real file (not a test itself: tests/unit/test_*.c include it). */
#ifndef TD_TEST_DB_FIXTURE_H
#define TD_TEST_DB_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "store/db.h"
#include "store/migrate.h"

/* Creates /tmp/<prefix>-XXXXXX with every migration applied; path gets its name. Returns 0
 * or -1. */
static inline int td_test_db_create(char *path, size_t size, const char *prefix) {
  snprintf(path, size, "/tmp/%s-XXXXXX", prefix);
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  close(fd);
  td__db_t *db = NULL;
  const char *message = NULL;
  if (td__db_open(path, TD_DB_READWRITE, &db)) return -1;
  int rc = td__migrate(db, &message);
  td__db_close(db);
  return rc ? -1 : 0;
}

/* Removes the database and its WAL files. */
static inline void td_test_db_remove(const char *path) {
  char other[256];
  unlink(path);
  snprintf(other, sizeof other, "%s-wal", path);
  unlink(other);
  snprintf(other, sizeof other, "%s-shm", path);
  unlink(other);
}

/* The first column of the first row of sql on a fresh read-only connection, or INT64_MIN
 * when the query fails or returns nothing (tests compare it with what they expect). */
static inline int64_t td_test_db_int(const char *path, const char *sql) {
  td__db_t *db = NULL;
  if (td__db_open(path, TD_DB_READONLY, &db)) return INT64_MIN;
  td__stmt_t *st = td__db_prepare(db, sql);
  int64_t n = st && td__stmt_step(st) == 1 ? td__stmt_int(st, 0) : INT64_MIN;
  td__stmt_finalize(st);
  td__db_close(db);
  return n;
}

#endif
