/* Scheduled runs (sched/sched.h) against a real database, writer thread and loop: a run due
 * now executes once; failures retry with exponential backoff and then go dead; cancel; a
 * run left leased by a process that died runs again after a restart; cron runs continue;
 * the registry refuses late registration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sched/sched.h"
#include "db_fixture.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/writer.h"
#include "talentd/types.h"
#include "util/time.h"

#define MAX_SEEN 16

typedef struct handler_state {
  int calls;
  int fail_first; /* fail this many calls, then succeed */
  int64_t when[MAX_SEEN];
  int attempts[MAX_SEEN];
  json_int_t n[MAX_SEEN];
} handler_state_t;

static char db_path[64];
static uv_loop_t loop;
static td__writer_t *writer;
static td__sched_t *sched;
static handler_state_t seen;

static void handler(td__sched_call_t *call, void *data) {
  handler_state_t *h = data;
  int i = h->calls < MAX_SEEN ? h->calls : MAX_SEEN - 1;
  h->when[i] = td__time_now_ms();
  h->attempts[i] = call->attempt;
  h->n[i] = json_integer_value(json_object_get(call->payload, "n"));
  h->calls++;
  if (h->calls <= h->fail_first)
    td__sched_finish(call, TD_EIO, "the mail server refused the connection");
  else
    td__sched_finish(call, 0, NULL);
}

static int setup(void **state) {
  (void)state;
  int rc = td_test_db_create(db_path, sizeof db_path, "td-sched");
  memset(&seen, 0, sizeof seen);
  td__sched_reset();
  if (td__sched_register("test.count", "tests", handler, &seen)) return -1;
  return rc;
}

static int teardown(void **state) {
  (void)state;
  td_test_db_remove(db_path);
  td__sched_reset();
  return 0;
}

/* A context on a fresh read-write connection inside a transaction (the caller's write). */
static td__ctx_t begin(void) {
  td__ctx_t ctx = {0};
  assert_int_equal(td__db_open(db_path, TD_DB_READWRITE, &ctx.db), 0);
  assert_int_equal(td__db_exec(ctx.db, "BEGIN IMMEDIATE"), 0);
  ctx.actor_kind = "system";
  ctx.now_ms = td__time_now_ms();
  return ctx;
}

static void commit(td__ctx_t *ctx) {
  assert_int_equal(td__db_exec(ctx->db, "COMMIT"), 0);
  td__db_close(ctx->db);
  td__ctx_dispose(ctx);
}

static void exec_sql(const char *sql) {
  td__db_t *db = NULL;
  assert_int_equal(td__db_open(db_path, TD_DB_READWRITE, &db), 0);
  assert_int_equal(td__db_exec(db, sql), 0);
  td__db_close(db);
}

/* Column 0 of the first row of sql as text into out ("" when no row). */
static void query_text(const char *sql, const char *id, char *out, size_t size) {
  td__db_t *db = NULL;
  assert_int_equal(td__db_open(db_path, TD_DB_READONLY, &db), 0);
  td__stmt_t *st = td__db_prepare(db, sql);
  assert_non_null(st);
  if (id) td__stmt_bind_text(st, 1, id);
  out[0] = '\0';
  if (td__stmt_step(st) == 1 && td__stmt_text(st, 0)) snprintf(out, size, "%s", td__stmt_text(st, 0));
  td__stmt_finalize(st);
  td__db_close(db);
}

static void status_of(const char *id, char out[16]) {
  query_text("SELECT status FROM scheduled_runs WHERE id = ?", id, out, 16);
}

static void start_runner(void) {
  assert_int_equal(uv_loop_init(&loop), 0);
  td__db_t *db = NULL;
  assert_int_equal(td__db_open(db_path, TD_DB_READWRITE, &db), 0);
  assert_int_equal(td__writer_start(&loop, db, &writer), 0);
  assert_int_equal(td__sched_start(&loop, writer, &sched), 0);
  td__sched_set_timing(sched, 5, 60000);
}

static void stop_runner(void) {
  td__sched_stop(sched);
  td__writer_stop(writer);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* Runs the loop until run id reaches status (or ms pass); returns whether it did. */
static int run_until(const char *id, const char *status, int64_t ms) {
  int64_t deadline = td__time_now_ms() + ms;
  char got[16];
  while (td__time_now_ms() < deadline) {
    uv_run(&loop, UV_RUN_NOWAIT);
    status_of(id, got);
    if (strcmp(got, status) == 0) return 1;
    usleep(2000);
  }
  return 0;
}

static void run_for(int64_t ms) {
  int64_t deadline = td__time_now_ms() + ms;
  while (td__time_now_ms() < deadline) {
    uv_run(&loop, UV_RUN_NOWAIT);
    usleep(2000);
  }
}

static void test_due_run_executes_once(void **state) {
  (void)state;
  char id[TD_ID_MAX], got[64];
  td__ctx_t ctx = begin();
  json_t *payload = json_pack("{s:i}", "n", 42);
  assert_int_equal(td__sched_at(&ctx, "test.count", ctx.now_ms, payload, NULL, id), 0);
  json_decref(payload);
  commit(&ctx);
  start_runner();
  assert_true(run_until(id, "done", 5000));
  run_for(100); /* a second claim must not run it again */
  stop_runner();
  assert_int_equal(seen.calls, 1);
  assert_int_equal(seen.n[0], 42);
  assert_int_equal(seen.attempts[0], 1);
  query_text(
      "SELECT attempts || ' ' || coalesce(finished_at > 0, 0) || ' ' || (leased_until IS NULL)"
      " FROM scheduled_runs WHERE id = ?",
      id, got, sizeof got);
  assert_string_equal(got, "1 1 1");
}

static void test_retry_backoff_then_dead(void **state) {
  (void)state;
  char id[TD_ID_MAX], got[128];
  seen.fail_first = 100;
  td__ctx_t ctx = begin();
  td__sched_retry_t retry = {3, 40, 60};
  assert_int_equal(td__sched_after(&ctx, "test.count", 0, NULL, &retry, id), 0);
  commit(&ctx);
  start_runner();
  assert_true(run_until(id, "dead", 5000));
  run_for(150);
  stop_runner();
  assert_int_equal(seen.calls, 3);
  assert_int_equal(seen.attempts[0], 1);
  assert_int_equal(seen.attempts[2], 3);
  assert_true(seen.when[1] - seen.when[0] >= 40); /* backoff_ms */
  assert_true(seen.when[2] - seen.when[1] >= 60); /* 80, capped at backoff_max_ms */
  query_text("SELECT attempts || ' ' || last_error FROM scheduled_runs WHERE id = ?", id, got, sizeof got);
  assert_string_equal(got, "3 the mail server refused the connection");
}

static void test_retry_then_success(void **state) {
  (void)state;
  char id[TD_ID_MAX], got[64];
  seen.fail_first = 1;
  td__ctx_t ctx = begin();
  td__sched_retry_t retry = {5, 10, 10};
  assert_int_equal(td__sched_after(&ctx, "test.count", 0, NULL, &retry, id), 0);
  commit(&ctx);
  start_runner();
  assert_true(run_until(id, "done", 5000));
  stop_runner();
  assert_int_equal(seen.calls, 2);
  query_text("SELECT attempts || ' ' || (last_error IS NULL) FROM scheduled_runs WHERE id = ?", id, got,
             sizeof got);
  assert_string_equal(got, "2 1");
}

static void test_cancel(void **state) {
  (void)state;
  char due[TD_ID_MAX], later[TD_ID_MAX], got[16];
  td__ctx_t ctx = begin();
  assert_int_equal(td__sched_after(&ctx, "test.count", 0, NULL, NULL, due), 0);
  assert_int_equal(td__sched_after(&ctx, "test.count", 3600000, NULL, NULL, later), 0);
  assert_int_equal(td__sched_cancel(&ctx, due), 0);
  assert_int_equal(td__sched_cancel(&ctx, later), 0);
  commit(&ctx);
  start_runner();
  run_for(100);
  stop_runner();
  assert_int_equal(seen.calls, 0);
  status_of(due, got);
  assert_string_equal(got, "cancelled");
  ctx = begin();
  assert_int_equal(td__sched_cancel(&ctx, later), TD_ECONFLICT);
  assert_int_equal(json_integer_value(json_object_get(ctx.problem, "status")), 409);
  td__ctx_dispose(&ctx);
  assert_int_equal(td__sched_cancel(&ctx, "srun_nosuch"), TD_ENOTFOUND);
  assert_int_equal(json_integer_value(json_object_get(ctx.problem, "status")), 404);
  commit(&ctx);
}

static void test_expired_lease_runs_again_after_restart(void **state) {
  (void)state;
  char got[64];
  /* A process that died mid-run left one run with an expired lease and one with a lease
   * still valid (it may still be running somewhere): only the first runs again. */
  exec_sql(
      "INSERT INTO scheduled_runs(id, handler, payload, status, run_at, attempts, leased_until, lease_token,"
      " created_at, updated_at) VALUES"
      " ('srun_expired', 'test.count', '{\"n\":7}', 'running', 1000, 1, 1000, 'lease_dead', 1000, 1000),"
      " ('srun_held', 'test.count', '{\"n\":8}', 'running', 1000, 1, 9999999999999, 'lease_alive', 1000, "
      "1000)");
  start_runner();
  assert_true(run_until("srun_expired", "done", 5000));
  run_for(100);
  stop_runner();
  assert_int_equal(seen.calls, 1);
  assert_int_equal(seen.n[0], 7);
  assert_int_equal(seen.attempts[0], 2);
  status_of("srun_held", got);
  assert_string_equal(got, "running");
}

static void test_cron_schedules_next_occurrence(void **state) {
  (void)state;
  char id[TD_ID_MAX], got[128];
  td__ctx_t ctx = begin();
  assert_int_equal(td__sched_cron(&ctx, "test.count", "*/5 * * * *", "+02:00", NULL, NULL, id), 0);
  assert_int_equal(td__sched_cron(&ctx, "test.count", "* * * *", NULL, NULL, NULL, NULL), TD_EINVAL);
  assert_int_equal(td__sched_cron(&ctx, "test.count", "* * * * *", "Mars/Olympus", NULL, NULL, NULL),
                   TD_EINVAL);
  char *problem = json_dumps(ctx.problem, 0);
  assert_non_null(strstr(problem, "/time_zone"));
  free(problem);
  commit(&ctx);
  /* A named zone with daylight saving is accepted (checked in a transaction rolled back, so
   * the runner below sees only the first run). */
  td__ctx_t zoned = begin();
  char berlin[TD_ID_MAX];
  assert_int_equal(td__sched_cron(&zoned, "test.count", "0 9 * * 1-5", "Europe/Berlin", NULL, NULL, berlin),
                   0);
  assert_int_equal(td__db_exec(zoned.db, "ROLLBACK"), 0);
  td__db_close(zoned.db);
  td__ctx_dispose(&zoned);
  query_text("SELECT (run_at % 300000 = 0) || ' ' || time_zone FROM scheduled_runs WHERE id = ?", id, got,
             sizeof got);
  assert_string_equal(got, "1 +02:00");
  exec_sql("UPDATE scheduled_runs SET run_at = 0");
  start_runner();
  assert_true(run_until(id, "done", 5000));
  run_for(50);
  stop_runner();
  assert_int_equal(seen.calls, 1);
  query_text(
      "SELECT count(*) || ' ' || min(cron) || ' ' || (min(run_at) > strftime('%s','now') * 1000)"
      " || ' ' || (min(run_at) % 300000 = 0) FROM scheduled_runs WHERE status = 'pending'",
      NULL, got, sizeof got);
  assert_string_equal(got, "1 */5 * * * * 1 1");
}

static void test_unknown_handler_fails(void **state) {
  (void)state;
  char id[TD_ID_MAX], got[128];
  td__ctx_t ctx = begin();
  td__sched_retry_t retry = {1, 0, 0};
  assert_int_equal(td__sched_after(&ctx, "test.nobody", 0, NULL, &retry, id), 0);
  assert_int_equal(td__sched_after(&ctx, "Bad Name", 0, NULL, NULL, NULL), TD_EINVAL);
  commit(&ctx);
  start_runner();
  assert_true(run_until(id, "dead", 5000));
  stop_runner();
  query_text("SELECT last_error FROM scheduled_runs WHERE id = ?", id, got, sizeof got);
  assert_string_equal(got, "no handler is registered under this name");
}

static void test_registry_and_list(void **state) {
  (void)state;
  assert_int_equal(td__sched_register("test.count", "tests", handler, &seen), TD_ECONFLICT);
  assert_int_equal(td__sched_register("Bad Name", "tests", handler, &seen), TD_EINVAL);
  /* A prefix handler may share its name with an exact one; the same prefix twice conflicts. */
  assert_int_equal(td__sched_register_prefix("test.count", "tests", handler, &seen), 0);
  assert_int_equal(td__sched_register_prefix("test.count", "tests", handler, &seen), TD_ECONFLICT);
  td__ctx_t ctx = begin();
  char a[TD_ID_MAX], b[TD_ID_MAX];
  assert_int_equal(td__sched_after(&ctx, "test.count", 1000, NULL, NULL, a), 0);
  assert_int_equal(td__sched_after(&ctx, "test.other", 1000, NULL, NULL, b), 0);
  assert_int_equal(td__sched_cancel(&ctx, b), 0);
  json_t *items = NULL;
  int64_t next = 0;
  assert_int_equal(td__sched_list(&ctx, "pending", NULL, 10, 0, &items, &next), 0);
  assert_int_equal(json_array_size(items), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), a);
  json_decref(items);
  assert_int_equal(td__sched_list(&ctx, NULL, "test.other", 10, 0, &items, &next), 0);
  assert_int_equal(json_array_size(items), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "status")), "cancelled");
  json_decref(items);
  assert_int_equal(td__sched_list(&ctx, NULL, NULL, 1, 0, &items, &next), 0);
  assert_int_equal(json_array_size(items), 1);
  assert_true(next > 0);
  json_decref(items);
  assert_int_equal(td__sched_list(&ctx, "bogus", NULL, 10, 0, &items, &next), TD_EINVAL);
  commit(&ctx);
  start_runner();
  assert_int_equal(td__sched_register("test.late", "tests", handler, &seen), TD_EDENIED);
  assert_int_equal(td__sched_register_prefix("late.", "tests", handler, &seen), TD_EDENIED);
  stop_runner();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_due_run_executes_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retry_backoff_then_dead, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retry_then_success, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expired_lease_runs_again_after_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cron_schedules_next_occurrence, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_handler_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_and_list, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
