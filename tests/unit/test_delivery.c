/* The event dispatcher (hooks/delivery.c) on a temporary database with a real loop, writer
 * and reader threads: per-subscriber order and pattern matching, retries with backoff,
 * dead letters and replay, isolation of a slow and a failing subscriber (in-flight cap,
 * circuit breaker), and resuming after a restart on the same database. */
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
#include <uv.h>

#include "hooks/delivery.h"
#include "hooks/events.h"
#include "hooks/registry.h"
#include "db_fixture.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/reader.h"
#include "store/writer.h"
#include "talentd/types.h"
#include "util/buf.h"
#include "util/metrics.h"
#include "util/time.h"

enum { MODE_OK, MODE_FAIL, MODE_FAIL_FIRST, MODE_HOLD };
#define MAX_SEEN 256

/* What a test subscriber does and saw. */
typedef struct subscriber {
  int mode;
  int fail_first; /* MODE_FAIL_FIRST: calls that fail before the first success */
  int calls;
  char seen[MAX_SEEN][48]; /* event ids in call order */
  int64_t at[MAX_SEEN];    /* call times (ms) */
  td__event_done_fn held_done[MAX_SEEN];
  void *held_token[MAX_SEEN];
  int held;
} subscriber_t;

typedef struct env {
  uv_loop_t loop;
  td__writer_t *writer;
  td__delivery_t *dispatcher;
} env_t;

static char db_path[64];

static void on_event(const json_t *envelope, td__event_done_fn done, void *token, void *data) {
  subscriber_t *s = data;
  int n = s->calls++;
  if (n < MAX_SEEN) {
    snprintf(s->seen[n], sizeof s->seen[n], "%s", json_string_value(json_object_get(envelope, "id")));
    s->at[n] = td__time_now_ms();
  }
  assert_non_null(json_object_get(json_object_get(envelope, "subject"), "id"));
  switch (s->mode) {
    case MODE_OK: done(token, 0, NULL); break;
    case MODE_FAIL: done(token, TD_EIO, "HTTP 503"); break;
    case MODE_FAIL_FIRST: done(token, n < s->fail_first ? TD_EIO : 0, "HTTP 502"); break;
    default: s->held_done[s->held] = done; s->held_token[s->held++] = token;
  }
}

static int setup(void **state) {
  (void)state;
  return td_test_db_create(db_path, sizeof db_path, "td-delivery");
}

static int teardown(void **state) {
  (void)state;
  td__reader_close_all();
  td__hooks_reset();
  td__event_subscribers_reset();
  td_test_db_remove(db_path);
  return 0;
}

static void env_start(env_t *e, const td__delivery_config_t *cfg) {
  assert_int_equal(uv_loop_init(&e->loop), 0);
  td__db_t *db = NULL;
  assert_int_equal(td__db_open(db_path, TD_DB_READWRITE, &db), 0);
  assert_int_equal(td__writer_start(&e->loop, db, &e->writer), 0);
  assert_int_equal(td__delivery_start_with(&e->loop, e->writer, db_path, cfg, &e->dispatcher), 0);
}

static void env_stop(env_t *e, subscriber_t *held) {
  td__delivery_stop(e->dispatcher);
  /* Calls still in flight complete after the stop: they are dropped, not recorded. */
  if (held)
    for (int i = 0; i < held->held; i++) held->held_done[i](held->held_token[i], 0, NULL);
  td__writer_stop(e->writer);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&e->loop), 0);
}

/* ---- events and database checks ---- */

typedef struct emit {
  td__write_op_t op;
  const char *const *types;
  int n;
  int done;
} emit_t;

static int emit_run(td__db_t *db, void *arg) {
  emit_t *em = arg;
  static int counter;
  for (int i = 0; i < em->n; i++) {
    td__stmt_t *st = td__db_stmt(db,
                                 "INSERT INTO events(id, type, occurred_at, actor_kind, subject_type, "
                                 "subject_id, data) VALUES (?, ?, ?, 'user', 'candidate', 'can_1', '{}')");
    char id[32];
    snprintf(id, sizeof id, "evt_%06d", ++counter);
    td__stmt_bind_text(st, 1, id);
    td__stmt_bind_text(st, 2, em->types[i % 2]);
    td__stmt_bind_int(st, 3, td__time_now_ms());
    int rc = td__stmt_run(st);
    if (rc) return rc;
  }
  return 0;
}

static void emit_done(void *arg, int rc) {
  emit_t *em = arg;
  assert_int_equal(rc, 0);
  em->done = 1;
}

/* Emits n events through the writer, alternating type0 and type1. */
static void emit(env_t *e, const char *type0, const char *type1, int n) {
  const char *types[2] = {type0, type1 ? type1 : type0};
  emit_t em = {.types = types, .n = n};
  em.op = (td__write_op_t){.run = emit_run, .done = emit_done, .arg = &em};
  td__writer_submit(e->writer, &em.op);
  while (!em.done) uv_run(&e->loop, UV_RUN_ONCE);
}

static int64_t query_int(const char *sql) { return td_test_db_int(db_path, sql); }

/* Runs the loop until sql counts want rows, or fails the test after timeout_ms. */
static void run_until_count(env_t *e, const char *sql, int64_t want, int64_t timeout_ms) {
  int64_t deadline = td__time_now_ms() + timeout_ms;
  while (query_int(sql) != want) {
    if (td__time_now_ms() > deadline) fail_msg("timed out waiting for %s = %lld", sql, (long long)want);
    uv_run(&e->loop, UV_RUN_ONCE);
  }
}

/* Runs the loop until the subscribers a and b (may be NULL) got want_a and want_b calls. */
static void run_until_calls(env_t *e, const subscriber_t *a, int want_a, const subscriber_t *b, int want_b,
                            int64_t timeout_ms) {
  int64_t deadline = td__time_now_ms() + timeout_ms;
  while (a->calls < want_a || (b && b->calls < want_b)) {
    if (td__time_now_ms() > deadline)
      fail_msg("timed out waiting for %d and %d calls (got %d, %d)", want_a, want_b, a->calls,
               b ? b->calls : 0);
    uv_run(&e->loop, UV_RUN_ONCE);
  }
}

/* Runs the loop for ms milliseconds. */
static void run_for(env_t *e, int64_t ms) {
  int64_t deadline = td__time_now_ms() + ms;
  while (td__time_now_ms() < deadline) uv_run(&e->loop, UV_RUN_ONCE);
}

static td__delivery_config_t fast_config(void) {
  td__delivery_config_t c = td__delivery_config_default();
  c.poll_ms = 10;
  c.base_ms = 20;
  c.cap_ms = 200;
  return c;
}

/* ---- tests ---- */

/* Each subscriber gets its matching events once, in outbox order, and each delivery row ends ok. */
static void test_order_and_patterns(void **state) {
  (void)state;
  subscriber_t all = {.mode = MODE_OK}, cand = {.mode = MODE_OK};
  assert_int_equal(td__event_subscribe("all", "*", 0, on_event, &all), 0);
  assert_int_equal(td__event_subscribe("cand", "candidate.*", 10, on_event, &cand), 0);
  assert_int_equal(td__event_subscribe("cand", "candidate.*", 0, on_event, &cand), TD_ECONFLICT);
  assert_int_equal(td__event_subscribe("bad", "candidate.before_create", 0, on_event, &cand), TD_EINVAL);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  env_t e;
  td__delivery_config_t cfg = fast_config();
  cfg.batch = 16; /* several scans */
  env_start(&e, &cfg);
  run_for(&e, 30); /* cursors start at the end of the outbox */
  emit(&e, "candidate.created", "job.created", 60);
  run_until_calls(&e, &all, 60, &cand, 30, 5000);
  /* A first attempt that works writes no row: the cursor moves on (in batches). */
  run_until_count(&e, "SELECT min(last_event_rowid) FROM delivery_cursors", 60, 5000);
  env_stop(&e, NULL);
  assert_int_equal(all.calls, 60);
  assert_int_equal(cand.calls, 30);
  for (int i = 0; i < 60; i++) {
    char want[32];
    snprintf(want, sizeof want, "evt_%06d", i + 1);
    assert_string_equal(all.seen[i], want);
    if (i % 2 == 0) assert_string_equal(cand.seen[i / 2], want);
  }
  assert_int_equal(query_int("SELECT count(*) FROM deliveries"), 0);
  assert_int_equal(query_int("SELECT last_event_rowid FROM delivery_cursors WHERE package = 'cand'"), 60);
}

/* Failures are retried with a growing delay (jitter keeps at least half of it). */
static void test_retry_backoff(void **state) {
  (void)state;
  subscriber_t s = {.mode = MODE_FAIL_FIRST, .fail_first = 3};
  assert_int_equal(td__event_subscribe("flaky", "candidate.created", 0, on_event, &s), 0);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  env_t e;
  td__delivery_config_t cfg = fast_config();
  cfg.base_ms = 40;
  env_start(&e, &cfg);
  run_for(&e, 30);
  emit(&e, "candidate.created", NULL, 1);
  run_until_count(&e, "SELECT count(*) FROM deliveries WHERE status = 'failed' AND last_error = 'HTTP 502'",
                  1, 2000);
  run_until_count(&e, "SELECT count(*) FROM deliveries WHERE status = 'ok' AND attempts = 4", 1, 5000);
  env_stop(&e, NULL);
  assert_int_equal(s.calls, 4);
  /* Delays 40, 80, 160 ms, each at least halved by the jitter. */
  assert_true(s.at[1] - s.at[0] >= 20);
  assert_true(s.at[2] - s.at[1] >= 40);
  assert_true(s.at[3] - s.at[2] >= 80);
  for (int i = 1; i < 4; i++) assert_string_equal(s.seen[i], s.seen[0]); /* the same event */
  assert_int_equal(query_int("SELECT count(*) FROM deliveries WHERE last_error IS NULL"), 1);
}

/* After max_attempts failures a delivery is dead, listed, and a replay delivers it again. */
typedef struct replay_op {
  td__write_op_t op;
  char id[48];
  int rc, done;
  json_t *out;
} replay_op_t;

static int replay_run(td__db_t *db, void *arg) {
  replay_op_t *r = arg;
  return td__delivery_replay(db, r->id, td__time_now_ms(), &r->out);
}

static void replay_done(void *arg, int rc) {
  replay_op_t *r = arg;
  r->rc = rc;
  r->done = 1;
}

static void dead_id(char *out, size_t size) {
  td__db_t *db = NULL;
  assert_int_equal(td__db_open(db_path, TD_DB_READONLY, &db), 0);
  json_t *items = NULL;
  int64_t next = 1;
  assert_int_equal(td__delivery_list(db, "dead", "broken", 50, 0, &items, &next), 0);
  assert_int_equal(json_array_size(items), 1);
  assert_int_equal(next, 0);
  json_t *d = json_array_get(items, 0);
  assert_string_equal(json_string_value(json_object_get(d, "status")), "dead");
  assert_int_equal(json_integer_value(json_object_get(d, "attempts")), 3);
  assert_string_equal(json_string_value(json_object_get(d, "last_error")), "HTTP 503");
  assert_string_equal(json_string_value(json_object_get(d, "event_type")), "job.created");
  assert_true(json_is_null(json_object_get(d, "next_attempt_at")));
  snprintf(out, size, "%s", json_string_value(json_object_get(d, "id")));
  json_decref(items);
  assert_int_equal(td__delivery_list(db, "dead", "nobody", 50, 0, &items, &next), 0);
  assert_int_equal(json_array_size(items), 0);
  json_decref(items);
  td__db_close(db);
}

static void test_dead_and_replay(void **state) {
  (void)state;
  subscriber_t s = {.mode = MODE_FAIL};
  assert_int_equal(td__event_subscribe("broken", "job.*", 0, on_event, &s), 0);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  env_t e;
  td__delivery_config_t cfg = fast_config();
  cfg.max_attempts = 3;
  cfg.base_ms = 5;
  env_start(&e, &cfg);
  run_for(&e, 30);
  emit(&e, "job.created", NULL, 1);
  run_until_count(&e, "SELECT count(*) FROM deliveries WHERE status = 'dead'", 1, 5000);
  run_for(&e, 100);
  assert_int_equal(s.calls, 3); /* no call after dead */
  replay_op_t r = {0};
  dead_id(r.id, sizeof r.id);
  replay_op_t missing = {.id = "dlv_nope"};
  s.mode = MODE_OK;
  r.op = (td__write_op_t){.run = replay_run, .done = replay_done, .arg = &r};
  missing.op = (td__write_op_t){.run = replay_run, .done = replay_done, .arg = &missing};
  td__writer_submit(e.writer, &r.op);
  td__writer_submit(e.writer, &missing.op);
  while (!r.done || !missing.done) uv_run(&e.loop, UV_RUN_ONCE);
  assert_int_equal(r.rc, 0);
  assert_int_equal(missing.rc, TD_ENOTFOUND);
  assert_string_equal(json_string_value(json_object_get(r.out, "status")), "pending");
  assert_int_equal(json_integer_value(json_object_get(r.out, "attempts")), 0);
  json_decref(r.out);
  run_until_count(&e, "SELECT count(*) FROM deliveries WHERE status = 'ok' AND attempts = 1", 1, 5000);
  env_stop(&e, NULL);
  assert_int_equal(s.calls, 4);
}

/* A subscriber that never answers holds only its own slots; one that keeps failing is cut
 * off by its breaker; the healthy one gets everything meanwhile. */
static void test_isolation_and_breaker(void **state) {
  (void)state;
  subscriber_t slow = {.mode = MODE_HOLD}, failing = {.mode = MODE_FAIL}, fast = {.mode = MODE_OK};
  assert_int_equal(td__event_subscribe("slow", "*", 100, on_event, &slow), 0);
  assert_int_equal(td__event_subscribe("failing", "*", 50, on_event, &failing), 0);
  assert_int_equal(td__event_subscribe("fast", "*", 0, on_event, &fast), 0);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  env_t e;
  td__delivery_config_t cfg = fast_config();
  cfg.inflight_cap = 4;
  cfg.breaker_threshold = 3;
  cfg.breaker_cooldown_ms = 60000;
  cfg.base_ms = 1;
  env_start(&e, &cfg);
  run_for(&e, 30);
  int64_t t0 = td__time_now_ms();
  emit(&e, "candidate.created", "candidate.updated", 40);
  run_until_calls(&e, &fast, 40, NULL, 0, 5000);
  assert_true(td__time_now_ms() - t0 < 2000);
  run_for(&e, 100);
  assert_int_equal(fast.calls, 40);
  assert_int_equal(slow.calls, 4);    /* its in-flight cap */
  assert_int_equal(failing.calls, 3); /* its breaker opened */
  size_t n = 0;
  td__hook_entry_t *const *entries = td__hooks_entries("*", &n);
  assert_int_equal(n, 3);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(atomic_load(&entries[i]->disabled), strcmp(entries[i]->package, "failing") == 0);
  td__buf_t m = {0};
  td__metrics_render(&m);
  assert_non_null(strstr(m.data, "td_event_breaker_opened_total 1"));
  td__buf_free(&m);
  env_stop(&e, &slow);
  /* The calls completed after the stop were not recorded: slow's cursor never passed its
   * first event, so all 40 are handed out again after a restart. */
  assert_int_equal(query_int("SELECT last_event_rowid FROM delivery_cursors WHERE package = 'slow'"), 0);
  assert_int_equal(query_int("SELECT count(*) FROM deliveries WHERE package = 'slow'"), 0);
}

/* Deliveries that failed before a stop, and events written while stopped, are delivered
 * after a restart on the same database. */
static void test_restart_resumes(void **state) {
  (void)state;
  subscriber_t s = {.mode = MODE_FAIL};
  assert_int_equal(td__event_subscribe("resumer", "candidate.*", 0, on_event, &s), 0);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  td__delivery_config_t cfg = fast_config();
  cfg.base_ms = 50;
  cfg.breaker_threshold = 100;
  env_t e;
  env_start(&e, &cfg);
  run_for(&e, 30);
  emit(&e, "candidate.created", "candidate.merged", 5);
  run_until_count(&e, "SELECT count(*) FROM deliveries WHERE status = 'failed'", 5, 5000);
  env_stop(&e, NULL);
  /* Written while no dispatcher runs (e.g. by the CLI). */
  env_t quiet;
  assert_int_equal(uv_loop_init(&quiet.loop), 0);
  td__db_t *db = NULL;
  assert_int_equal(td__db_open(db_path, TD_DB_READWRITE, &db), 0);
  assert_int_equal(td__writer_start(&quiet.loop, db, &quiet.writer), 0);
  emit(&quiet, "candidate.updated", NULL, 3);
  td__writer_stop(quiet.writer);
  uv_run(&quiet.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&quiet.loop), 0);

  s.mode = MODE_OK;
  int before = s.calls;
  env_start(&e, &cfg);
  run_until_calls(&e, &s, before + 8, NULL, 0, 5000);
  run_until_count(&e, "SELECT count(*) FROM deliveries WHERE status = 'ok'", 5, 5000);
  run_until_count(&e, "SELECT last_event_rowid FROM delivery_cursors WHERE package = 'resumer'", 8, 5000);
  env_stop(&e, NULL);
  assert_int_equal(s.calls - before, 8);
  /* Rows only for what failed: the 5 retried ones, now ok; the 3 new events needed none. */
  assert_int_equal(query_int("SELECT count(*) FROM deliveries"), 5);
  assert_int_equal(query_int("SELECT count(*) FROM deliveries WHERE status = 'ok' AND attempts >= 2"), 5);
}

/* A package replaced live (a script reload): a new subscriber starts at the end of the outbox,
 * a dropped one is not called again, a kept (package, pattern) keeps receiving, and the old
 * registry snapshot is freed once the writer has passed a quiescent point. */
static void test_live_replace(void **state) {
  (void)state;
  subscriber_t kept = {.mode = MODE_OK}, dropped = {.mode = MODE_OK}, added = {.mode = MODE_OK};
  assert_int_equal(td__event_subscribe("pkg", "candidate.*", 0, on_event, &dropped), 0);
  assert_int_equal(td__event_subscribe("other", "*", 0, on_event, &kept), 0);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  td__delivery_config_t cfg = fast_config();
  env_t e;
  env_start(&e, &cfg);
  emit(&e, "candidate.created", NULL, 2);
  run_until_calls(&e, &kept, 2, &dropped, 2, 5000);

  /* pkg now wants job.* instead of candidate.* */
  td__hook_spec_t spec;
  assert_int_equal(td__event_spec("pkg", "job.*", 0, on_event, &added, &spec), 0);
  td__hooks_retired_t *retired = NULL;
  assert_int_equal(td__hooks_replace_package("pkg", &spec, 1, &retired), 0);
  assert_non_null(retired);
  td__delivery_resync(e.dispatcher);
  /* The retired entries may be freed as soon as the resync returns (a scan may still be in
   * flight): the dispatcher must not touch them after that (ASan catches it if it does). */
  td__hooks_retired_free(retired);
  retired = NULL;
  /* The change applies once the scan in flight is done and the new cursor is written. */
  run_until_count(&e, "SELECT count(*) FROM delivery_cursors WHERE package = 'pkg' AND hook = 'job.*'", 1,
                  5000);
  emit(&e, "candidate.created", "job.created", 4);
  run_until_calls(&e, &kept, 6, &added, 2, 5000);
  run_for(&e, 100);
  assert_int_equal(dropped.calls, 2); /* never again */
  assert_int_equal(added.calls, 2);   /* only the job events emitted after the change */
  assert_int_equal(kept.calls, 2 + 4);
  run_until_count(
      &e, "SELECT last_event_rowid FROM delivery_cursors WHERE package = 'pkg' AND hook = 'job.*'", 6, 5000);
  size_t n = 0;
  td__hooks_entries("candidate.*", &n);
  assert_int_equal(n, 0);
  td__hooks_entries("job.*", &n);
  assert_int_equal(n, 1);
  env_stop(&e, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_order_and_patterns, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retry_backoff, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_and_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_isolation_and_breaker, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart_resumes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_live_replace, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
