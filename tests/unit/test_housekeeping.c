/* Retention: idempotency records older than a day and ended sessions are deleted; fresh
 * ones stay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "domain/housekeeping.h"
#include "store/db.h"
#include "store/migrate.h"

#define DAY (24LL * 3600 * 1000)

static int64_t count(td__db_t *db, const char *sql) {
  td__stmt_t *st = td__db_prepare(db, sql);
  assert_non_null(st);
  assert_int_equal(td__stmt_step(st), 1);
  int64_t n = td__stmt_int(st, 0);
  td__stmt_finalize(st);
  return n;
}

static void test_retention(void **state) {
  (void)state;
  char path[] = "/tmp/td-housekeeping-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  td__db_t *db = NULL;
  const char *msg = NULL;
  assert_int_equal(td__db_open(path, TD_DB_READWRITE, &db), 0);
  assert_int_equal(td__migrate(db, &msg), 0);
  int64_t now = 100 * DAY;
  char sql[1024];
  snprintf(sql, sizeof sql,
           "INSERT INTO users(id, email, name, role, created_at, updated_at) VALUES ('usr_1', 'a@x.test', "
           "'A', 'admin', 0, 0);"
           "INSERT INTO idempotency_keys VALUES ('usr_1', 'old', 'h', 201, NULL, NULL, %lld);"
           "INSERT INTO idempotency_keys VALUES ('usr_1', 'fresh', 'h', 201, NULL, NULL, %lld);"
           "INSERT INTO sessions(id, user_id, token_hash, csrf_hash, created_at, last_seen_at, revoked_at)"
           " VALUES ('ses_revoked', 'usr_1', 't1', 'c', %lld, %lld, %lld);"
           "INSERT INTO sessions(id, user_id, token_hash, csrf_hash, created_at, last_seen_at)"
           " VALUES ('ses_ancient', 'usr_1', 't2', 'c', %lld, %lld);"
           "INSERT INTO sessions(id, user_id, token_hash, csrf_hash, created_at, last_seen_at)"
           " VALUES ('ses_live', 'usr_1', 't3', 'c', %lld, %lld);",
           (long long)(now - 2 * DAY), (long long)(now - 3600 * 1000), (long long)(now - 3 * DAY),
           (long long)(now - 3 * DAY), (long long)(now - 2 * DAY), (long long)(now - 5 * DAY),
           (long long)(now - 5 * DAY), (long long)(now - 3600 * 1000), (long long)(now - 60 * 1000));
  assert_int_equal(td__db_exec(db, sql), 0);
  assert_int_equal(td__housekeeping_run(db, now, 12LL * 3600 * 1000), 0);
  assert_int_equal(count(db, "SELECT count(*) FROM idempotency_keys WHERE key = 'old'"), 0);
  assert_int_equal(count(db, "SELECT count(*) FROM idempotency_keys WHERE key = 'fresh'"), 1);
  assert_int_equal(count(db, "SELECT count(*) FROM sessions WHERE id IN ('ses_revoked', 'ses_ancient')"), 0);
  assert_int_equal(count(db, "SELECT count(*) FROM sessions WHERE id = 'ses_live'"), 1);
  td__db_close(db);
  unlink(path);
  snprintf(sql, sizeof sql, "%s-wal", path);
  unlink(sql);
  snprintf(sql, sizeof sql, "%s-shm", path);
  unlink(sql);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_retention)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
