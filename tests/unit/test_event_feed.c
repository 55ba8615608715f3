/* test_event_feed.c - the event feed on a temporary database: envelopes as written by
 * td__event_emit, paging in outbox order without gaps or repeats, exact and prefix type
 * filters, the scan bound of prefix pages (empty pages that still carry a cursor), resuming
 * after an event id, the type-filter grammar, and that only admins may read the feed. */
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

#include "domain/event_feed.h"
#include "domain/events.h"
#include "store/db.h"
#include "store/migrate.h"
#include "talentd/types.h"

static char dir[64];
static td__db_t *db;

/* Rows written by the fixture: every 1000th is an import.completed, the rest alternate
 * between candidate.created and application.created; enough that a prefix page for the
 * rare type must cross several scan windows. */
#define EVENTS (TD_EVENT_FEED_SCAN * 2 + 5000)
#define RARE_EVERY 1000

static const char *type_of(int i) {
  if (i % RARE_EVERY == 0) return "import.completed";
  return i % 2 ? "candidate.created" : "application.created";
}

static td__ctx_t ctx_as(td__role_t role) {
  td__ctx_t ctx = {.db = db, .actor_kind = "user", .cause = "req_test", .now_ms = 1700000000000};
  snprintf(ctx.principal.user_id, sizeof ctx.principal.user_id, "usr_test");
  ctx.principal.role = role;
  ctx.principal.via = TD_VIA_TOKEN;
  return ctx;
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/td-event-feed-XXXXXX");
  if (mkdtemp(dir) == NULL) return -1;
  char path[128];
  snprintf(path, sizeof path, "%s/talentd.db", dir);
  const char *message = NULL;
  if (td__db_open(path, TD_DB_READWRITE, &db) || td__migrate(db, &message)) return -1;
  if (td__db_exec(db, "BEGIN")) return -1;
  td__ctx_t ctx = ctx_as(TD_ROLE_ADMIN);
  for (int i = 1; i <= EVENTS; i++) {
    char subject[32];
    snprintf(subject, sizeof subject, "obj_%d", i);
    if (td__event_emit(&ctx, type_of(i), "thing", subject, json_pack("{s:i}", "n", i))) return -1;
  }
  return td__db_exec(db, "COMMIT");
}

static int teardown(void **state) {
  (void)state;
  td__db_close(db);
  char path[160];
  const char *const files[] = {"talentd.db", "talentd.db-wal", "talentd.db-shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
  return 0;
}

/* Follows the feed from after to its end with pages of limit; returns the data.n of every
 * event in order and counts the pages (and the empty ones). */
static json_t *read_all(const char *type, int limit, int64_t after, int *pages, int *empty_pages) {
  json_t *ns = json_array();
  *pages = *empty_pages = 0;
  for (;;) {
    td__ctx_t ctx = ctx_as(TD_ROLE_ADMIN);
    json_t *items = NULL;
    int64_t next = 0;
    assert_int_equal(td__event_feed_page(&ctx, type, limit, after, &items, &next), 0);
    assert_null(ctx.problem);
    assert_true((int)json_array_size(items) <= limit);
    (*pages)++;
    if (json_array_size(items) == 0) (*empty_pages)++;
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e) json_array_append(ns, json_object_get(json_object_get(e, "data"), "n"));
    json_decref(items);
    td__ctx_dispose(&ctx);
    if (next == 0) break;
    assert_true(next > after); /* always progresses */
    after = next;
  }
  return ns;
}

static void assert_sequence(json_t *ns, int (*want)(int), int expected_count) {
  assert_int_equal((int)json_array_size(ns), expected_count);
  int k = 0;
  for (int i = 1; i <= EVENTS; i++)
    if (want(i)) assert_int_equal(json_integer_value(json_array_get(ns, (size_t)k++)), i);
}

static int any(int i) { return i > 0; }
static int rare(int i) { return i % RARE_EVERY == 0; }
static int candidate(int i) { return i % RARE_EVERY != 0 && i % 2; }

static void test_envelope(void **state) {
  (void)state;
  td__ctx_t ctx = ctx_as(TD_ROLE_ADMIN);
  json_t *items = NULL;
  int64_t next = 0;
  assert_int_equal(td__event_feed_page(&ctx, NULL, 2, 0, &items, &next), 0);
  assert_int_equal(next, 2);
  json_t *e = json_array_get(items, 0);
  assert_string_equal(json_string_value(json_object_get(e, "type")), "candidate.created");
  assert_int_equal(json_integer_value(json_object_get(e, "version")), 1);
  assert_string_equal(json_string_value(json_object_get(e, "occurred_at")), "2023-11-14T22:13:20.000Z");
  assert_string_equal(json_string_value(json_object_get(json_object_get(e, "actor"), "id")), "usr_test");
  assert_string_equal(json_string_value(json_object_get(json_object_get(e, "actor"), "kind")), "user");
  assert_string_equal(json_string_value(json_object_get(json_object_get(e, "subject"), "type")), "thing");
  assert_string_equal(json_string_value(json_object_get(json_object_get(e, "subject"), "id")), "obj_1");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "data"), "n")), 1);
  assert_true(strncmp(json_string_value(json_object_get(e, "id")), "evt_", 4) == 0);
  assert_int_equal(json_object_size(e), 7);
  json_decref(items);
  td__ctx_dispose(&ctx);
}

static void test_pages_cover_everything_in_order(void **state) {
  (void)state;
  int pages, empty;
  json_t *ns = read_all(NULL, 100, 0, &pages, &empty);
  assert_sequence(ns, any, EVENTS);
  assert_int_equal(pages, (EVENTS + 99) / 100);
  assert_int_equal(empty, 0);
  json_decref(ns);
}

static void test_exact_type(void **state) {
  (void)state;
  int pages, empty;
  json_t *ns = read_all("import.completed", 7, 0, &pages, &empty);
  assert_sequence(ns, rare, EVENTS / RARE_EVERY);
  assert_int_equal(empty, 0);
  json_decref(ns);
  ns = read_all("import.started", 100, 0, &pages, &empty);
  assert_int_equal((int)json_array_size(ns), 0);
  assert_int_equal(pages, 1);
  json_decref(ns);
}

/* A rare type under a prefix: the pages stop at each scan window, some of them empty, but
 * following the cursors yields every match once, in order. */
static void test_prefix_crosses_scan_windows(void **state) {
  (void)state;
  int pages, empty;
  json_t *ns = read_all("import.*", 100, 0, &pages, &empty);
  assert_sequence(ns, rare, EVENTS / RARE_EVERY);
  assert_true(pages >= EVENTS / TD_EVENT_FEED_SCAN);
  json_decref(ns);
  ns = read_all("candidate.*", 100, 0, &pages, &empty);
  int count = 0;
  for (int i = 1; i <= EVENTS; i++) count += candidate(i);
  assert_sequence(ns, candidate, count);
  assert_int_equal(empty, 0);
  json_decref(ns);
  ns = read_all("nothing.*", 100, 0, &pages, &empty);
  assert_int_equal((int)json_array_size(ns), 0);
  assert_int_equal(pages, EVENTS / TD_EVENT_FEED_SCAN + 1);
  json_decref(ns);
}

static void test_resume_after_event_id(void **state) {
  (void)state;
  td__ctx_t ctx = ctx_as(TD_ROLE_ADMIN);
  json_t *items = NULL;
  int64_t next = 0, pos = 0;
  assert_int_equal(td__event_feed_page(&ctx, NULL, 3, EVENTS - 3, &items, &next), 0);
  assert_int_equal(next, 0);
  const char *last = json_string_value(json_object_get(json_array_get(items, 2), "id"));
  assert_int_equal(td__event_feed_position(&ctx, last, &pos), 0);
  assert_int_equal(pos, EVENTS);
  json_decref(items);
  assert_int_equal(td__event_feed_page(&ctx, NULL, 3, pos, &items, &next), 0);
  assert_int_equal((int)json_array_size(items), 0);
  json_decref(items);
  assert_int_not_equal(td__event_feed_position(&ctx, "evt_nope", &pos), 0);
  assert_non_null(ctx.problem);
  assert_int_equal(json_integer_value(json_object_get(ctx.problem, "status")), 400);
  td__ctx_dispose(&ctx);
}

static void test_type_grammar(void **state) {
  (void)state;
  const char *good[] = {"candidate.created", "application.*", "custom_field.*", "a.b.c", "x1.y_2", "a.b.*"};
  const char *bad[] = {"",           "candidate",    "*",     ".*",   "Candidate.created",
                       "candidate.", "candidate..x", "a.*.b", "a.b*", "candidate.created ",
                       "a-b.c",      "a.%"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) assert_true(td__event_feed_type_ok(good[i]));
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_false(td__event_feed_type_ok(bad[i]));
  td__ctx_t ctx = ctx_as(TD_ROLE_ADMIN);
  json_t *items = NULL;
  int64_t next = 0;
  assert_int_not_equal(td__event_feed_page(&ctx, "candidate", 10, 0, &items, &next), 0);
  assert_null(items);
  assert_int_equal(json_integer_value(json_object_get(ctx.problem, "status")), 400);
  td__ctx_dispose(&ctx);
}

static void test_admins_only(void **state) {
  (void)state;
  const td__role_t others[] = {TD_ROLE_RECRUITER, TD_ROLE_HIRING_MANAGER, TD_ROLE_INTERVIEWER, TD_ROLE_NONE};
  for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
    td__ctx_t ctx = ctx_as(others[i]);
    json_t *items = NULL;
    int64_t next = 0;
    assert_int_not_equal(td__event_feed_page(&ctx, NULL, 10, 0, &items, &next), 0);
    assert_null(items);
    assert_int_equal(json_integer_value(json_object_get(ctx.problem, "status")), 403);
    td__ctx_dispose(&ctx);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_envelope),
      cmocka_unit_test(test_pages_cover_everything_in_order),
      cmocka_unit_test(test_exact_type),
      cmocka_unit_test(test_prefix_crosses_scan_windows),
      cmocka_unit_test(test_resume_after_event_id),
      cmocka_unit_test(test_type_grammar),
      cmocka_unit_test(test_admins_only),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
