/* The SQL guard for plugin statements and its statement cache (core/store/guard.c): the
 * rules hold for cached statements, the cache key includes the guard, a re-prepare inside
 * step is checked again, and checking plugin SQL does not expire the core's statements. */
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
#include "store/db_internal.h"
#include "store/guard.h"
#include "talentd/types.h"

typedef struct fixture {
  char path[64];
  td__db_t *db;
} fixture_t;

static int setup(void **state) {
  static fixture_t f;
  memset(&f, 0, sizeof f);
  if (td_test_db_create(f.path, sizeof f.path, "td-guard") != 0) return -1;
  if (td__db_open(f.path, TD_DB_READWRITE, &f.db) != 0) return -1;
  /* As a migration would: a plugin table and a view over it. */
  if (td__db_exec(f.db, "CREATE TABLE p_items (id INTEGER PRIMARY KEY, label TEXT);"
                        "CREATE VIEW p_view AS SELECT label FROM p_items;"
                        "INSERT INTO p_items (label) VALUES ('one');") != 0)
    return -1;
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  td__db_close(f->db);
  td_test_db_remove(f->path);
  return 0;
}

static const td__db_guard_t writable = {.table_prefix = "p_"};
static const td__db_guard_t read_only = {.table_prefix = "p_", .read_only = true};
static const td__db_guard_t reads_all = {.table_prefix = "p_", .read_all = true};

static int prepare(td__db_t *db, const char *sql, const td__db_guard_t *guard, td__stmt_t **st, char *why) {
  const char *tail = NULL;
  return td__db_stmt_guarded(db, sql, guard, st, &tail, why, 200);
}

static void cached_statement_is_reused_and_given_back(void **state) {
  fixture_t *f = *state;
  char why[200];
  td__stmt_t *first = NULL, *again = NULL;
  assert_int_equal(prepare(f->db, "SELECT label FROM p_items", &writable, &first, why), 0);
  assert_int_equal(td__stmt_step(first), 1);
  assert_string_equal(td__stmt_text(first, 0), "one");
  td__stmt_finalize(first);
  assert_int_equal(prepare(f->db, "SELECT label FROM p_items", &writable, &again, why), 0);
  assert_ptr_equal(first, again);
  assert_int_equal(td__stmt_step(again), 1); /* reset when given back: the first row again */
  td__stmt_finalize(again);
}

static void nested_use_gets_its_own_statement(void **state) {
  fixture_t *f = *state;
  char why[200];
  td__stmt_t *outer = NULL, *inner = NULL;
  assert_int_equal(prepare(f->db, "SELECT count(*) FROM p_items", &writable, &outer, why), 0);
  assert_int_equal(prepare(f->db, "SELECT count(*) FROM p_items", &writable, &inner, why), 0);
  assert_ptr_not_equal(outer, inner);
  assert_int_equal(td__stmt_step(outer), 1);
  assert_int_equal(td__stmt_step(inner), 1);
  assert_int_equal(td__stmt_int(outer, 0), td__stmt_int(inner, 0));
  td__stmt_finalize(inner);
  td__stmt_finalize(outer);
}

static void the_key_includes_the_guard(void **state) {
  fixture_t *f = *state;
  char why[200];
  td__stmt_t *st = NULL;
  const char *insert = "INSERT INTO p_items (label) VALUES ('two')";
  assert_int_equal(prepare(f->db, insert, &writable, &st, why), 0);
  assert_int_equal(td__stmt_run(st), 0);
  td__stmt_finalize(st);
  /* The same text in a read-only context (a filter, a reader thread) is refused. */
  assert_int_equal(prepare(f->db, insert, &read_only, &st, why), TD_EDENIED);
  assert_null(st);
  assert_non_null(strstr(why, "writing table p_items"));
  /* And so is a core table without store.read, though another plugin may read it. */
  const td__db_guard_t other = {.table_prefix = "q_", .read_all = true};
  assert_int_equal(prepare(f->db, "SELECT count(*) FROM candidates", &other, &st, why), 0);
  td__stmt_finalize(st);
  assert_int_equal(prepare(f->db, "SELECT count(*) FROM candidates", &writable, &st, why), TD_EDENIED);
  assert_non_null(strstr(why, "reading table candidates"));
}

/* A view the plugin owns is changed (by a migration) to read a core table: the cached
 * statement is re-prepared inside step, and that compilation is checked too. */
static void reprepare_after_a_schema_change_is_checked(void **state) {
  fixture_t *f = *state;
  char why[200];
  td__stmt_t *st = NULL;
  assert_int_equal(prepare(f->db, "SELECT * FROM p_view", &writable, &st, why), 0);
  assert_int_equal(td__stmt_step(st), 1);
  td__stmt_finalize(st);
  assert_int_equal(td__db_exec(f->db, "DROP VIEW p_view; CREATE VIEW p_view AS SELECT email FROM candidate_emails;"), 0);
  assert_int_equal(prepare(f->db, "SELECT * FROM p_view", &writable, &st, why), 0); /* the cached one */
  assert_true(td__stmt_step(st) < 0);
  td__stmt_finalize(st);
  /* With store.read the same statement may read it. */
  assert_int_equal(prepare(f->db, "SELECT * FROM p_view", &reads_all, &st, why), 0);
  assert_true(td__stmt_step(st) >= 0);
  td__stmt_finalize(st);
}

/* Installing an authorizer expires every prepared statement of the connection; the guard
 * installs it once, so the core's cached statements are not compiled again per plugin query. */
static void plugin_sql_leaves_core_statements_prepared(void **state) {
  fixture_t *f = *state;
  char why[200];
  td__stmt_t *core = td__db_stmt(f->db, "SELECT count(*) FROM candidates");
  assert_non_null(core);
  assert_int_equal(td__stmt_step(core), 1);
  td__stmt_reset(core);
  int before = sqlite3_stmt_status(core->raw, SQLITE_STMTSTATUS_REPREPARE, 0);
  for (int i = 0; i < 3; i++) {
    td__stmt_t *st = NULL;
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %d FROM p_items", i); /* a new text: compiled each time */
    assert_int_equal(prepare(f->db, sql, &writable, &st, why), 0);
    td__stmt_finalize(st);
    assert_int_equal(td__stmt_step(core), 1);
    td__stmt_reset(core);
  }
  assert_int_equal(sqlite3_stmt_status(core->raw, SQLITE_STMTSTATUS_REPREPARE, 0), before);
}

static void rules_still_refuse(void **state) {
  fixture_t *f = *state;
  char why[200];
  td__stmt_t *st = NULL;
  assert_int_equal(prepare(f->db, "PRAGMA journal_mode", &writable, &st, why), TD_EDENIED);
  assert_int_equal(prepare(f->db, "CREATE TABLE p_new (x)", &writable, &st, why), TD_EDENIED);
  assert_int_equal(prepare(f->db, "DELETE FROM candidates", &reads_all, &st, why), TD_EDENIED);
  assert_int_equal(prepare(f->db, "SELEC oops", &writable, &st, why), TD_EINVAL);
  assert_null(st);
  /* The core's own SQL is not under any guard. */
  assert_int_equal(td__db_exec(f->db, "CREATE TABLE core_probe (x); DROP TABLE core_probe;"), 0);
}

/* Many distinct texts: the cache evicts (bounded) and every statement still answers. */
static void eviction_keeps_answers_right(void **state) {
  fixture_t *f = *state;
  char why[200];
  int64_t rows = td_test_db_int(f->path, "SELECT count(*) FROM p_items");
  for (int i = 0; i < GUARDED_SETS * GUARDED_WAYS * 2; i++) {
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %d + count(*) FROM p_items", i);
    td__stmt_t *st = NULL;
    assert_int_equal(prepare(f->db, sql, &writable, &st, why), 0);
    assert_int_equal(td__stmt_step(st), 1);
    assert_int_equal(td__stmt_int(st, 0), i + rows);
    td__stmt_finalize(st);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cached_statement_is_reused_and_given_back),
      cmocka_unit_test(nested_use_gets_its_own_statement),
      cmocka_unit_test(the_key_includes_the_guard),
      cmocka_unit_test(reprepare_after_a_schema_change_is_checked),
      cmocka_unit_test(plugin_sql_leaves_core_statements_prepared),
      cmocka_unit_test(rules_still_refuse),
      cmocka_unit_test(eviction_keeps_answers_right),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
