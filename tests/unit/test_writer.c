/* The writer thread: ops run in one batch transaction, each in its own savepoint (a failing
 * op leaves no trace and does not disturb the others), completions arrive on the loop, and
 * stopping drains the queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db_fixture.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/writer.h"
#include "talentd/types.h"

typedef struct op_ctx {
  td__write_op_t op;
  int value; /* inserted into a scratch table */
  int fail;  /* return this from run after inserting */
  int done_rc;
  int done_calls;
} op_ctx_t;

static char db_path[64];

static int setup(void **state) {
  (void)state;
  snprintf(db_path, sizeof db_path, "/tmp/td-writer-XXXXXX");
  int fd = mkstemp(db_path);
  if (fd < 0) return -1;
  close(fd);
  td__db_t *db = NULL;
  if (td__db_open(db_path, TD_DB_READWRITE, &db)) return -1;
  int rc = td__db_exec(db, "CREATE TABLE scratch(v INTEGER UNIQUE)");
  td__db_close(db);
  return rc;
}

static int teardown(void **state) {
  (void)state;
  td_test_db_remove(db_path);
  return 0;
}

static int run_insert(td__db_t *db, void *arg) {
  op_ctx_t *o = arg;
  td__stmt_t *st = td__db_stmt(db, "INSERT INTO scratch(v) VALUES (?)");
  td__stmt_bind_int(st, 1, o->value);
  int rc = td__stmt_run(st);
  return rc ? rc : o->fail;
}

static void on_done(void *arg, int rc) {
  op_ctx_t *o = arg;
  o->done_rc = rc;
  o->done_calls++;
}

static int64_t count_rows(const char *sql) { return td_test_db_int(db_path, sql); }

static void test_batch_isolates_failures(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  td__db_t *db = NULL;
  assert_int_equal(td__db_open(db_path, TD_DB_READWRITE, &db), 0);
  td__writer_t *w = NULL;
  assert_int_equal(td__writer_start(&loop, db, &w), 0);
  enum { N = 200 };
  op_ctx_t *ops = calloc(N, sizeof *ops);
  for (int i = 0; i < N; i++) {
    ops[i].value = i;
    ops[i].fail = (i % 10 == 3) ? TD_EINVAL : 0; /* refused by its handler */
    if (i % 10 == 7) ops[i].value = 0;           /* duplicate of op 0: a constraint failure */
    ops[i].op = (td__write_op_t){.run = run_insert, .done = on_done, .arg = &ops[i]};
    td__writer_submit(w, &ops[i].op);
  }
  while (td__writer_pending(w) > 0) uv_run(&loop, UV_RUN_ONCE);
  td__writer_stop(w);
  uv_run(&loop, UV_RUN_DEFAULT);
  int ok = 0;
  for (int i = 0; i < N; i++) {
    assert_int_equal(ops[i].done_calls, 1);
    if (i % 10 == 3)
      assert_int_equal(ops[i].done_rc, TD_EINVAL);
    else if (i % 10 == 7)
      assert_int_equal(ops[i].done_rc, TD_ECONFLICT);
    else {
      assert_int_equal(ops[i].done_rc, 0);
      ok++;
    }
  }
  /* Refused ops left nothing: their rows were rolled back to the savepoint. */
  assert_int_equal(count_rows("SELECT count(*) FROM scratch"), ok);
  assert_int_equal(count_rows("SELECT count(*) FROM scratch WHERE v % 10 = 3"), 0);
  free(ops);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_submit_after_stop_is_busy(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  td__db_t *db = NULL;
  assert_int_equal(td__db_open(db_path, TD_DB_READWRITE, &db), 0);
  td__writer_t *w = NULL;
  assert_int_equal(td__writer_start(&loop, db, &w), 0);
  op_ctx_t first = {.value = 100000};
  first.op = (td__write_op_t){.run = run_insert, .done = on_done, .arg = &first};
  td__writer_submit(w, &first.op);
  td__writer_stop(w); /* drains: the queued op still runs */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(first.done_calls, 1);
  assert_int_equal(first.done_rc, 0);
  assert_int_equal(count_rows("SELECT count(*) FROM scratch WHERE v = 100000"), 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_migrations_recorded_and_newer_refused(void **state) {
  (void)state;
  td__db_t *db = NULL;
  assert_int_equal(td__db_open(db_path, TD_DB_READWRITE, &db), 0);
  const char *msg = NULL;
  assert_int_equal(td__migrate(db, &msg), 0);
  assert_int_equal(td__migrate(db, &msg), 0); /* idempotent */
  td__stmt_t *st = td__db_prepare(db, "SELECT count(*), max(version) FROM schema_migrations");
  assert_int_equal(td__stmt_step(st), 1);
  assert_true(td__stmt_int(st, 0) >= 1);
  assert_int_equal(td__stmt_int(st, 1), td__migrate_latest());
  td__stmt_finalize(st);
  assert_int_equal(td__db_exec(db, "INSERT INTO schema_migrations VALUES (99999, 'future', 0)"), 0);
  assert_int_equal(td__migrate(db, &msg), TD_ECONFLICT);
  assert_non_null(msg);
  assert_non_null(strstr(msg, "newer talentd"));
  td__db_close(db);
}

static void test_stmt_cache_and_errors(void **state) {
  (void)state;
  td__db_t *db = NULL;
  assert_int_equal(td__db_open(db_path, TD_DB_READWRITE, &db), 0);
  static const char sql[] = "SELECT ? + 1";
  td__stmt_t *a = td__db_stmt(db, sql);
  td__stmt_bind_int(a, 1, 41);
  assert_int_equal(td__stmt_step(a), 1);
  assert_int_equal(td__stmt_int(a, 0), 42);
  td__stmt_t *b = td__db_stmt(db, sql); /* same literal: same statement, reset and unbound */
  assert_ptr_equal(a, b);
  assert_int_equal(td__stmt_step(b), 1);
  assert_true(td__stmt_is_null(b, 0));
  td__stmt_reset(b);
  assert_null(td__db_prepare(db, "SELEC nonsense"));
  assert_int_equal(td__db_exec(db, "INSERT INTO scratch(v) VALUES (1); INSERT INTO scratch(v) VALUES (1)"),
                   TD_ECONFLICT);
  td__db_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_batch_isolates_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(test_submit_after_stop_is_busy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migrations_recorded_and_newer_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stmt_cache_and_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
