/* Unit tests of domain/row_json (nullable text and time columns, one page of a list, one
 * object by id) and of the query refusal td__fail_query, on a small table in an in-memory
 * database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "domain/context.h"
#include "domain/row_json.h"
#include "store/db.h"
#include "talentd/types.h"

typedef struct fixture {
  td__db_t *db;
  td__ctx_t ctx;
} fixture_t;

/* Five rows (rowids 1..5) in an in-memory database; rows 2 and 4 have NULL label and time. */
static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);
  if (td__db_open(":memory:", TD_DB_READWRITE, &f->db) != 0) return -1;
  if (td__db_exec(f->db,
                  "CREATE TABLE t(rowid INTEGER PRIMARY KEY, name TEXT NOT NULL, label TEXT, at INTEGER);"
                  "INSERT INTO t(name, label, at) VALUES ('a', 'A', 1700000000000), ('b', NULL, NULL),"
                  " ('c', 'C', 0), ('d', NULL, NULL), ('e', 'E', 1700000000123);") != 0)
    return -1;
  f->ctx = (td__ctx_t){.db = f->db, .actor_kind = "system", .now_ms = 1700000000000, .cause = "unit"};
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  td__ctx_dispose(&f->ctx);
  td__db_close(f->db);
  free(f);
  return 0;
}

static json_t *row_json(td__stmt_t *st) {
  return json_pack("{s:s,s:o,s:o}", "name", td__stmt_text(st, 1), "label", td__row_text(st, 2), "at",
                   td__row_time(st, 3));
}

static td__stmt_t *page_stmt(fixture_t *f, int64_t after, int limit) {
  td__stmt_t *st =
      td__db_prepare(f->db, "SELECT rowid, name, label, at FROM t WHERE rowid > ? ORDER BY rowid LIMIT ?");
  assert_non_null(st);
  td__stmt_bind_int(st, 1, after);
  td__stmt_bind_int(st, 2, limit + 1);
  return st;
}

/* One page of t after rowid `after`: the names of its items joined by commas into out, and
 * the cursor of the next page in *next. */
static void page_names(fixture_t *f, int64_t after, int limit, char *out, size_t size, int64_t *next) {
  td__stmt_t *st = page_stmt(f, after, limit);
  json_t *items = NULL;
  *next = -1;
  assert_int_equal(td__row_page(&f->ctx, st, 0, limit, row_json, &items, next), 0);
  td__stmt_finalize(st);
  size_t i, used = 0;
  json_t *item;
  out[0] = '\0';
  json_array_foreach(items, i, item) {
    int n = snprintf(out + used, size - used, "%s%s", i ? "," : "",
                     json_string_value(json_object_get(item, "name")));
    assert_true(n > 0 && (size_t)n < size - used);
    used += (size_t)n;
  }
  json_decref(items);
}

static void test_text_and_time_or_null(void **state) {
  fixture_t *f = *state;
  td__stmt_t *st = page_stmt(f, 0, 10);
  assert_int_equal(td__stmt_step(st), 1);
  json_t *a = row_json(st);
  assert_string_equal(json_string_value(json_object_get(a, "label")), "A");
  assert_string_equal(json_string_value(json_object_get(a, "at")), "2023-11-14T22:13:20.000Z");
  assert_int_equal(td__stmt_step(st), 1);
  json_t *b = row_json(st);
  assert_true(json_is_null(json_object_get(b, "label")));
  assert_true(json_is_null(json_object_get(b, "at")));
  assert_int_equal(td__stmt_step(st), 1);
  json_t *c = row_json(st);
  /* 0 is the epoch, not "no time". */
  assert_string_equal(json_string_value(json_object_get(c, "at")), "1970-01-01T00:00:00.000Z");
  json_decref(a);
  json_decref(b);
  json_decref(c);
  td__stmt_finalize(st);
}

static void test_pages_follow_each_other(void **state) {
  fixture_t *f = *state;
  char got[64];
  int64_t next;
  page_names(f, 0, 2, got, sizeof got, &next);
  assert_string_equal(got, "a,b");
  assert_int_equal(next, 2);
  page_names(f, next, 2, got, sizeof got, &next);
  assert_string_equal(got, "c,d");
  assert_int_equal(next, 4);
  /* The last page, exactly full: no cursor. */
  page_names(f, 3, 2, got, sizeof got, &next);
  assert_string_equal(got, "d,e");
  assert_int_equal(next, 0);
  page_names(f, 5, 2, got, sizeof got, &next);
  assert_string_equal(got, "");
  assert_int_equal(next, 0);
  page_names(f, 0, 100, got, sizeof got, &next);
  assert_string_equal(got, "a,b,c,d,e");
  assert_int_equal(next, 0);
  assert_null(f->ctx.problem);
}

static void test_page_cursor_from_named_column(void **state) {
  fixture_t *f = *state;
  td__stmt_t *st =
      td__db_prepare(f->db, "SELECT rowid, name, label, at, rowid * 10 FROM t ORDER BY rowid LIMIT 2");
  assert_non_null(st);
  json_t *items = NULL;
  int64_t next = 0;
  assert_int_equal(td__row_page(&f->ctx, st, 4, 1, row_json, &items, &next), 0);
  td__stmt_finalize(st);
  assert_int_equal(json_array_size(items), 1);
  assert_int_equal(next, 10);
  json_decref(items);
}

static void test_object_found_and_not_found(void **state) {
  fixture_t *f = *state;
  td__stmt_t *st = td__db_stmt(f->db, "SELECT rowid, name, label, at FROM t WHERE name = ?");
  assert_non_null(st);
  td__stmt_bind_text(st, 1, "e");
  json_t *out = NULL;
  int64_t version = 0;
  assert_int_equal(td__row_object(&f->ctx, st, "thing", row_json, 0, &out, &version), 0);
  assert_string_equal(json_string_value(json_object_get(out, "label")), "E");
  assert_int_equal(version, 5);
  json_decref(out);
  assert_null(f->ctx.problem);

  td__stmt_bind_text(st, 1, "zzz");
  out = NULL;
  assert_int_equal(td__row_object(&f->ctx, st, "thing", row_json, 0, &out, NULL), TD_EINVAL);
  assert_null(out);
  assert_int_equal(json_integer_value(json_object_get(f->ctx.problem, "status")), 404);
  assert_string_equal(json_string_value(json_object_get(f->ctx.problem, "detail")),
                      "no thing with that id exists, or you may not see it");
}

static void test_fail_query(void **state) {
  fixture_t *f = *state;
  assert_int_equal(td__fail_query(&f->ctx, "status", "must be open or closed"), TD_EINVAL);
  json_t *p = f->ctx.problem;
  assert_int_equal(json_integer_value(json_object_get(p, "status")), 400);
  assert_string_equal(json_string_value(json_object_get(p, "title")), "Invalid query parameter");
  assert_string_equal(json_string_value(json_object_get(p, "detail")), "status must be open or closed");
  json_t *errors = json_object_get(p, "errors");
  assert_int_equal(json_array_size(errors), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "pointer")),
                      "/query/status");
  assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "message")),
                      "must be open or closed");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_text_and_time_or_null, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pages_follow_each_other, setup, teardown),
      cmocka_unit_test_setup_teardown(test_page_cursor_from_named_column, setup, teardown),
      cmocka_unit_test_setup_teardown(test_object_found_and_not_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fail_query, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
