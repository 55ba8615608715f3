/* Unit tests of the candidate domain: the FTS5 query sanitizer (pure, and against a real
 * FTS5 table with hostile input), CSV cells, and on a migrated temporary database the
 * normalization of fields, duplicates by email, merge with aliases, the search index kept
 * in step with notes, erasure, and what an interviewer may see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "domain/candidate_export.h"
#include "domain/candidates.h"
#include "domain/notes.h"
#include "domain/search.h"
#include "domain/users.h"
#include "store/db.h"
#include "store/migrate.h"
#include "talentd/types.h"

/* ---------- the sanitizer ---------- */

static void check_query(const char *in, const char *want) {
  char *got = td__search_fts_query(in);
  if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
    fail_msg("fts_query(\"%s\") = %s; want %s", in, got ? got : "NULL", want ? want : "NULL");
  free(got);
}

static void test_sanitizer_quotes_terms(void **state) {
  (void)state;
  check_query("kubernetes", "\"kubernetes\"*");
  check_query("  ana   lopez ", "\"ana\" \"lopez\"*");
  check_query("go", "\"go\"*");
  check_query("a", "\"a\""); /* one byte: no prefix (it would match too much) */
  check_query("rust c", "\"rust\" \"c\"");
  check_query("ana.lopez@example.com", "\"ana.lopez@example.com\"*");
  check_query("López", "\"López\"*");
}

static void test_sanitizer_neutralizes_syntax(void **state) {
  (void)state;
  check_query("a OR b", "\"a\" \"OR\" \"b\"");
  check_query("NEAR(a b)", "\"NEAR(a\" \"b)\"*");
  check_query("name:bob", "\"name:bob\"*");
  check_query("say \"hi\"", "\"say\" \"\"\"hi\"\"\"*");
  check_query("-x +y ^z *", "\"-x\" \"+y\" \"^z\"*");
  check_query("\"", NULL);
  check_query("* - ( ) : ^ \"\"", NULL);
  check_query("", NULL);
  check_query(NULL, NULL);
  check_query("\t\n ", NULL);
}

static void test_sanitizer_limits(void **state) {
  (void)state;
  char many[512] = "";
  for (int i = 0; i < 20; i++) strcat(many, "w ");
  char *q = td__search_fts_query(many);
  assert_non_null(q);
  int terms = 0;
  for (char *p = q; *p; p++) terms += *p == '"';
  assert_int_equal(terms / 2, TD_SEARCH_MAX_TERMS);
  free(q);
  /* A long term is cut at 64 bytes without splitting a UTF-8 sequence. */
  char word[200] = "";
  for (int i = 0; i < 40; i++) strcat(word, "é"); /* 80 bytes */
  q = td__search_fts_query(word);
  assert_non_null(q);
  assert_int_equal(strlen(q), 1 + 64 + 2); /* quote, 32 x é, quote, star */
  free(q);
}

static void test_csv_cells(void **state) {
  (void)state;
  td__buf_t b = {0};
  td__csv_cell(&b, "plain", true);
  td__csv_cell(&b, "a,b", false);
  td__csv_cell(&b, "say \"hi\"", false);
  td__csv_cell(&b, "=HYPERLINK(\"http://x\")", false);
  td__csv_cell(&b, "+14155550100", false);
  td__csv_cell(&b, "@SUM(A1)", false);
  td__csv_cell(&b, "-1", false);
  td__csv_cell(&b, NULL, false);
  td__csv_cell(&b, "two\nlines", false);
  assert_string_equal(b.data,
                      "plain,\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"http://x\"\")\",\"'+14155550100\","
                      "\"'@SUM(A1)\",\"'-1\",,\"two\nlines\"");
  td__buf_free(&b);
}

/* ---------- on a database ---------- */

typedef struct fixture {
  char dir[64];
  char path[96];
  td__db_t *db;
  td__ctx_t ctx;
  char owner[TD_ID_MAX];
} fixture_t;

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/td-cand-unit-XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  snprintf(f->path, sizeof f->path, "%s/talentd.db", f->dir);
  const char *message = NULL;
  if (td__db_open(f->path, TD_DB_READWRITE, &f->db) != 0 || td__migrate(f->db, &message) != 0) return -1;
  f->ctx = (td__ctx_t){.db = f->db, .actor_kind = "user", .now_ms = 1700000000000, .cause = "unit"};
  if (td__user_create(f->db, "owner@example.test", "Owner", TD_ROLE_ADMIN, NULL, 1, f->owner) != 0) return -1;
  snprintf(f->ctx.principal.user_id, sizeof f->ctx.principal.user_id, "%s", f->owner);
  f->ctx.principal.role = TD_ROLE_ADMIN;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  td__ctx_dispose(&f->ctx);
  td__db_close(f->db);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  if (system(cmd) != 0) return -1;
  free(f);
  return 0;
}

/* Creates a candidate from JSON text; returns its JSON (caller decrefs) or fails. */
static json_t *create(fixture_t *f, const char *text, bool merge, int want_rc) {
  json_error_t err;
  json_t *body = json_loads(text, 0, &err);
  assert_non_null(body);
  json_t *out = NULL;
  bool created = false;
  int rc = td__candidate_create(&f->ctx, body, merge, &out, &created);
  json_decref(body);
  if (rc != want_rc) fail_msg("create rc %d, want %d", rc, want_rc);
  return out;
}

static const char *sval(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}
static const char *item(const json_t *o, const char *key, size_t i) {
  return json_string_value(json_array_get(json_object_get(o, key), i));
}

typedef struct hits {
  td__ctx_t *ctx;
  json_t *ids;
} hits_t;

static int collect(td__stmt_t *st, void *arg) {
  hits_t *h = arg;
  json_t *c = td__candidate_row_json(h->ctx, st);
  json_array_append_new(h->ids, json_string(sval(c, "id")));
  json_decref(c);
  return 0;
}

/* The ids the list query returns for q (and nothing else). */
static json_t *search(fixture_t *f, const char *q) {
  td__candidate_filter_t filter = {.q = q};
  hits_t h = {&f->ctx, json_array()};
  assert_int_equal(td__candidate_query(&f->ctx, &filter, 0, 100, collect, &h, NULL), 0);
  return h.ids;
}

static void test_normalizes_fields(void **state) {
  fixture_t *f = *state;
  char text[1024];
  snprintf(
      text, sizeof text,
      "{\"first_name\":\" Ana \",\"last_name\":\"López\",\"emails\":[\" "
      "Ana@Example.COM\",\"ana@example.com\"],"
      "\"phones\":[\"(415) 555-0100\",\"+1 415 555 0100\",\"ext 12\"],\"tags\":[\" Go\",\"go\",\"Rust\"],"
      "\"links\":[\"linkedin.com/in/ana\",\"https://github.com/ana\"],\"location\":\"  "
      "\",\"owner_id\":\"%s\","
      "\"consent\":{\"status\":\"granted\"}}",
      f->owner);
  json_t *c = create(f, text, false, 0);
  assert_string_equal(sval(c, "first_name"), "Ana");
  assert_int_equal(json_array_size(json_object_get(c, "emails")), 1);
  assert_string_equal(item(c, "emails", 0), "ana@example.com");
  assert_int_equal(json_array_size(json_object_get(c, "phones")), 2);
  assert_string_equal(item(c, "phones", 0), "+14155550100");
  assert_string_equal(item(c, "phones", 1), "ext 12");
  assert_int_equal(json_array_size(json_object_get(c, "tags")), 2);
  assert_string_equal(item(c, "tags", 0), "Go");
  assert_string_equal(item(c, "links", 0), "https://linkedin.com/in/ana");
  assert_true(json_is_null(json_object_get(c, "location")));
  assert_string_equal(sval(c, "owner_id"), f->owner);
  assert_string_equal(sval(json_object_get(c, "consent"), "status"), "granted");
  assert_string_equal(sval(json_object_get(c, "consent"), "at"), "2023-11-14T22:13:20.000Z");
  json_decref(c);
}

static void test_rejects_bad_fields_with_pointers(void **state) {
  fixture_t *f = *state;
  create(f,
         "{\"first_name\":\" \",\"emails\":[\"ok@example.com\",\"nope\"],\"links\":[\"javascript:alert(1)\"],"
         "\"tags\":[\"  \"],\"owner_id\":\"usr_nobody\"}",
         false, TD_EINVAL);
  json_t *errors = json_object_get(f->ctx.problem, "errors");
  const char *want[] = {"/first_name", "/emails/1", "/links/0", "/tags/0", "/owner_id"};
  for (size_t i = 0; i < 5; i++) {
    bool found = false;
    size_t j;
    json_t *e;
    json_array_foreach(errors, j, e) found |= strcmp(sval(e, "pointer"), want[i]) == 0;
    if (!found) fail_msg("no error at %s", want[i]);
  }
  assert_int_equal(json_array_size(errors), 5);
}

static void test_duplicate_email_conflict_and_merge(void **state) {
  fixture_t *f = *state;
  json_t *a =
      create(f, "{\"first_name\":\"Bo\",\"emails\":[\"bo@example.com\"],\"tags\":[\"java\"]}", false, 0);
  td__ctx_dispose(&f->ctx);
  create(f, "{\"first_name\":\"Bob\",\"emails\":[\"new@example.com\",\"BO@example.com\"]}", false, TD_EINVAL);
  assert_int_equal(json_integer_value(json_object_get(f->ctx.problem, "status")), 409);
  assert_string_equal(sval(f->ctx.problem, "existing_id"), sval(a, "id"));
  assert_string_equal(sval(json_array_get(json_object_get(f->ctx.problem, "errors"), 0), "pointer"),
                      "/emails/1");
  td__ctx_dispose(&f->ctx);
  json_t *m = create(f,
                     "{\"first_name\":\"Bob\",\"last_name\":\"Stone\","
                     "\"emails\":[\"BO@example.com\",\"b2@example.com\"],\"tags\":[\"JAVA\",\"sql\"]}",
                     true, 0);
  assert_string_equal(sval(m, "id"), sval(a, "id"));
  assert_string_equal(sval(m, "first_name"), "Bo");   /* the existing value wins */
  assert_string_equal(sval(m, "last_name"), "Stone"); /* an empty field is filled */
  assert_int_equal(json_array_size(json_object_get(m, "emails")), 2);
  assert_int_equal(json_array_size(json_object_get(m, "tags")), 2);
  assert_int_equal(json_integer_value(json_object_get(m, "version")), 2);
  json_decref(a);
  json_decref(m);
}

static void test_merge_moves_notes_and_keeps_alias(void **state) {
  fixture_t *f = *state;
  json_t *s = create(f, "{\"first_name\":\"Cara\",\"emails\":[\"cara@example.com\"]}", false, 0);
  json_t *d = create(f,
                     "{\"first_name\":\"Cara\",\"last_name\":\"Diaz\",\"emails\":[\"cd@example.com\"],"
                     "\"resume_text\":\"fortran wizard\"}",
                     false, 0);
  json_t *note = NULL, *body = json_pack("{s:s}", "body", "prefers zanzibar office");
  assert_int_equal(td__note_create(&f->ctx, sval(d, "id"), body, &note), 0);
  json_decref(body);
  json_t *out = NULL;
  assert_int_equal(td__candidate_merge(&f->ctx, sval(s, "id"), sval(s, "id"), &out), TD_EINVAL);
  td__ctx_dispose(&f->ctx);
  assert_int_equal(td__candidate_merge(&f->ctx, sval(s, "id"), sval(d, "id"), &out), 0);
  assert_string_equal(sval(out, "last_name"), "Diaz");
  assert_int_equal(json_array_size(json_object_get(out, "emails")), 2);
  /* The old id resolves to the survivor; the note and the resume are now the survivor's. */
  json_t *got = NULL;
  assert_int_equal(td__candidate_get(&f->ctx, sval(d, "id"), &got), 0);
  assert_string_equal(sval(got, "id"), sval(s, "id"));
  json_t *ids = search(f, "zanzibar");
  assert_int_equal(json_array_size(ids), 1);
  assert_string_equal(json_string_value(json_array_get(ids, 0)), sval(s, "id"));
  json_decref(ids);
  ids = search(f, "fortran");
  assert_int_equal(json_array_size(ids), 1);
  json_decref(ids);
  json_t *items = NULL;
  int64_t next = 0;
  assert_int_equal(td__activity_list(&f->ctx, sval(s, "id"), "note", 10, 0, &items, &next), 0);
  assert_int_equal(json_array_size(items), 1);
  assert_string_equal(sval(json_array_get(items, 0), "id"), sval(note, "id"));
  json_decref(items);
  /* Merging the alias again is the survivor itself. */
  json_decref(out);
  out = NULL;
  assert_int_equal(td__candidate_merge(&f->ctx, sval(s, "id"), sval(d, "id"), &out), TD_EINVAL);
  td__ctx_dispose(&f->ctx);
  json_decref(got);
  json_decref(note);
  json_decref(s);
  json_decref(d);
  json_decref(out);
}

static void test_search_ranks_and_survives_hostile_queries(void **state) {
  fixture_t *f = *state;
  json_t *a = create(f, "{\"first_name\":\"Quentin\",\"last_name\":\"Haskell\",\"resume_text\":\"erlang\"}",
                     false, 0);
  json_t *b = create(f, "{\"first_name\":\"Dana\",\"resume_text\":\"haskell haskell haskell\"}", false, 0);
  json_t *ids = search(f, "haskell");
  assert_int_equal(json_array_size(ids), 2);
  /* A hit in the name outranks hits in the resume. */
  assert_string_equal(json_string_value(json_array_get(ids, 0)), sval(a, "id"));
  json_decref(ids);
  ids = search(f, "Quen");
  assert_int_equal(json_array_size(ids), 1);
  json_decref(ids);
  const char *hostile[] = {"\"",  "a\"b",  "NEAR(",        ")",        "name:",         "*",
                           "AND", "OR OR", "x NOT y",      "^start",   "{name}: x",     "''",
                           "\\",  "%",     "col:(a OR b)", "\xff\xfe", "a\"\" OR \"\"b"};
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    ids = search(f, hostile[i]);
    json_decref(ids);
  }
  json_decref(a);
  json_decref(b);
}

static void test_update_and_erase(void **state) {
  fixture_t *f = *state;
  json_t *c = create(f, "{\"first_name\":\"Eve\",\"emails\":[\"eve@example.com\"],\"resume_text\":\"cobol\"}",
                     false, 0);
  json_t *patch = json_pack("{s:[s],s:n}", "tags", "vip", "resume_text");
  json_t *out = NULL;
  assert_int_equal(td__candidate_update(&f->ctx, sval(c, "id"), patch, 7, &out), TD_EINVAL);
  assert_int_equal(json_integer_value(json_object_get(f->ctx.problem, "status")), 412);
  td__ctx_dispose(&f->ctx);
  assert_int_equal(td__candidate_update(&f->ctx, sval(c, "id"), patch, 1, &out), 0);
  assert_int_equal(json_integer_value(json_object_get(out, "version")), 2);
  assert_true(json_is_null(json_object_get(out, "resume_text")));
  json_t *ids = search(f, "cobol");
  assert_int_equal(json_array_size(ids), 0);
  json_decref(ids);
  assert_int_equal(td__candidate_delete(&f->ctx, sval(c, "id"), -1), 0);
  json_t *got = NULL;
  assert_int_equal(td__candidate_get(&f->ctx, sval(c, "id"), &got), TD_EINVAL);
  td__ctx_dispose(&f->ctx);
  ids = search(f, "vip");
  assert_int_equal(json_array_size(ids), 0);
  json_decref(ids);
  /* The email is free again. */
  json_t *again = create(f, "{\"first_name\":\"Eve\",\"emails\":[\"eve@example.com\"]}", false, 0);
  json_decref(again);
  json_decref(patch);
  json_decref(out);
  json_decref(c);
}

static void test_interviewer_sees_no_unrelated_candidate(void **state) {
  fixture_t *f = *state;
  json_t *c = create(f, "{\"first_name\":\"Finn\",\"resume_text\":\"ocaml\"}", false, 0);
  td__principal_t admin = f->ctx.principal;
  f->ctx.principal.role = TD_ROLE_INTERVIEWER;
  json_t *got = NULL;
  assert_int_equal(td__candidate_get(&f->ctx, sval(c, "id"), &got), TD_EINVAL);
  assert_int_equal(json_integer_value(json_object_get(f->ctx.problem, "status")), 404);
  td__ctx_dispose(&f->ctx);
  json_t *ids = search(f, "ocaml");
  assert_int_equal(json_array_size(ids), 0);
  json_decref(ids);
  create(f, "{\"first_name\":\"No\"}", false, TD_EINVAL);
  assert_int_equal(json_integer_value(json_object_get(f->ctx.problem, "status")), 403);
  td__ctx_dispose(&f->ctx);
  f->ctx.principal = admin;
  json_decref(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sanitizer_quotes_terms),
      cmocka_unit_test(test_sanitizer_neutralizes_syntax),
      cmocka_unit_test(test_sanitizer_limits),
      cmocka_unit_test(test_csv_cells),
      cmocka_unit_test_setup_teardown(test_normalizes_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rejects_bad_fields_with_pointers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_email_conflict_and_merge, setup, teardown),
      cmocka_unit_test_setup_teardown(test_merge_moves_notes_and_keeps_alias, setup, teardown),
      cmocka_unit_test_setup_teardown(test_search_ranks_and_survives_hostile_queries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_update_and_erase, setup, teardown),
      cmocka_unit_test_setup_teardown(test_interviewer_sees_no_unrelated_candidate, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
