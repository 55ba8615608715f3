/* Stale applications (domain/stale.h, sched/stale_runner.h) and server.started
 * (domain/server_started.h) on a temporary database: a stale stage visit gets exactly one
 * application.stale event with the right data, fresh ones none, a second scan adds
 * nothing, a stage's sla_days overrides the type default, closed applications and
 * hired-type stages never go stale, a new visit (a move, or a move back) is reported again;
 * the configuration; the batch limit; the cron series is created once and kept unique; the
 * registered handler does the scan through the writer when the scheduler runs it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "domain/server_started.h"
#include "domain/stale.h"
#include "sched/sched.h"
#include "sched/stale_runner.h"
#include "store/reader.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/writer.h"
#include "util/mem.h"
#include "util/time.h"

#define DAY (24LL * 3600 * 1000)
#define NOW (1000 * DAY) /* a fixed "now" for the scans: 1972-09-27 */

typedef struct fixture {
  char path[64];
  td__db_t *db;
} fixture_t;

static void exec_fmt(td__db_t *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void exec_fmt(td__db_t *db, const char *fmt, ...) {
  char sql[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  assert_int_equal(td__db_exec(db, sql), 0);
}

static int64_t count_where(td__db_t *db, const char *sql, const char *arg) {
  td__stmt_t *st = td__db_prepare(db, sql);
  assert_non_null(st);
  if (arg) td__stmt_bind_text(st, 1, arg);
  assert_int_equal(td__stmt_step(st), 1);
  int64_t n = td__stmt_int(st, 0);
  td__stmt_finalize(st);
  return n;
}

static int64_t stale_events(td__db_t *db, const char *app_id) {
  return count_where(db, "SELECT count(*) FROM events WHERE type = 'application.stale' AND subject_id = ?",
                     app_id);
}

/* One job with a stage of each type (screen has sla_days 2, hired has 1) and seven
 * applications of as many candidates, described next to each row. */
static int setup(void **state) {
  fixture_t *f = td__xcalloc(1, sizeof *f);
  snprintf(f->path, sizeof f->path, "/tmp/td-stale-XXXXXX");
  int fd = mkstemp(f->path);
  if (fd < 0) return -1;
  close(fd);
  const char *message = NULL;
  if (td__db_open(f->path, TD_DB_READWRITE, &f->db) || td__migrate(f->db, &message)) return -1;
  *state = f;
  exec_fmt(
      f->db,
      "INSERT INTO jobs(rowid, id, title, status, created_at, updated_at) VALUES (1, 'job_1', 'J', 'open', "
      "0, 0);"
      "INSERT INTO stages(rowid, id, job_rowid, name, type, position, sla_days) VALUES"
      " (1, 'stg_lead', 1, 'Sourced', 'lead', 0, NULL), (2, 'stg_applied', 1, 'Applied', 'applied', 1, NULL),"
      " (3, 'stg_screen', 1, 'Phone', 'screen', 2, 2), (4, 'stg_interview', 1, 'Onsite', 'interview', 3, "
      "NULL),"
      " (5, 'stg_offer', 1, 'Offer', 'offer', 4, NULL), (6, 'stg_hired', 1, 'Hired', 'hired', 5, 1);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 7)"
      " INSERT INTO candidates(rowid, id, first_name, last_name, created_at, updated_at)"
      " SELECT i, 'can_' || i, 'F', 'L', 0, 0 FROM n;");
  struct {
    int n, stage;
    const char *status;
    long long days_ago;
  } apps[] = {
      {1, 2, "active", 8},    /* applied, 8 days > 7: stale */
      {2, 2, "active", 6},    /* applied, 6 days: fresh */
      {3, 3, "active", 3},    /* screen: sla_days 2 beats the default 5: stale */
      {4, 6, "active", 30},   /* hired-type stage (even with sla_days): never */
      {5, 2, "rejected", 30}, /* closed: never */
      {6, 1, "active", 100},  /* lead: no default SLA: never */
      {7, 5, "hired", 10},    /* closed: never */
  };
  for (size_t i = 0; i < sizeof apps / sizeof apps[0]; i++)
    exec_fmt(
        f->db,
        "INSERT INTO applications(rowid, id, candidate_rowid, job_rowid, stage_rowid, status, applied_at,"
        " stage_entered_at, updated_at) VALUES (%d, 'app_%d', %d, 1, %d, '%s', 0, %lld, 0)",
        apps[i].n, apps[i].n, apps[i].n, apps[i].stage, apps[i].status, NOW - apps[i].days_ago * DAY);
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  char path[96];
  td__db_close(f->db);
  unlink(f->path);
  snprintf(path, sizeof path, "%s-wal", f->path);
  unlink(path);
  snprintf(path, sizeof path, "%s-shm", f->path);
  unlink(path);
  free(f);
  td__sched_reset();
  return 0;
}

/* One scan as the runner does it: a system context, inside a transaction. */
static int scan(td__db_t *db, int64_t now, const td__stale_sla_t *sla, int limit) {
  td__stale_sla_t defaults;
  td__stale_sla_from_config(NULL, &defaults);
  td__ctx_t ctx = {.db = db, .actor_kind = "system", .now_ms = now, .cause = "test"};
  int reported = -1;
  assert_int_equal(td__db_exec(db, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(td__stale_scan(&ctx, sla ? sla : &defaults, limit, &reported), 0);
  assert_int_equal(td__db_exec(db, "COMMIT"), 0);
  td__ctx_dispose(&ctx);
  return reported;
}

/* Moves application n to stage at time `at` the way a stage transition does. */
static void move(td__db_t *db, int n, int stage, int64_t at) {
  exec_fmt(db, "UPDATE applications SET stage_rowid = %d, stage_entered_at = %lld WHERE rowid = %d", stage,
           (long long)at, n);
}

static void test_stale_visits_get_one_event_with_their_data(void **state) {
  fixture_t *f = *state;
  assert_int_equal(scan(f->db, NOW, NULL, 500), 2);
  assert_int_equal(count_where(f->db, "SELECT count(*) FROM events WHERE type = 'application.stale'", NULL),
                   2);
  assert_int_equal(stale_events(f->db, "app_1"), 1);
  assert_int_equal(stale_events(f->db, "app_3"), 1);
  for (int n = 2; n <= 7; n++) {
    char id[16];
    snprintf(id, sizeof id, "app_%d", n);
    if (n != 3) assert_int_equal(stale_events(f->db, id), 0);
  }
  td__stmt_t *st =
      td__db_prepare(f->db,
                     "SELECT data, actor_kind, actor_id IS NULL, subject_type, occurred_at FROM events"
                     " WHERE type = 'application.stale' AND subject_id = 'app_1'");
  assert_non_null(st);
  assert_int_equal(td__stmt_step(st), 1);
  json_t *data = json_loads(td__stmt_text(st, 0), 0, NULL);
  assert_non_null(data);
  assert_string_equal(td__stmt_text(st, 1), "system");
  assert_int_equal(td__stmt_int(st, 2), 1);
  assert_string_equal(td__stmt_text(st, 3), "application");
  assert_int_equal(td__stmt_int(st, 4), NOW);
  td__stmt_finalize(st);
  char entered[32];
  td__time_format(NOW - 8 * DAY, entered, sizeof entered);
  json_t *want = json_pack("{s:s,s:s,s:s,s:{s:s,s:s},s:s,s:i,s:i}", "application_id", "app_1", "candidate_id",
                           "can_1", "job_id", "job_1", "stage", "id", "stg_applied", "type", "applied",
                           "entered_stage_at", entered, "sla_days", 7, "days_in_stage", 8);
  assert_true(json_equal(data, want));
  json_decref(want);
  json_decref(data);
  /* The stage's own SLA is the one reported. */
  assert_int_equal(
      count_where(f->db,
                  "SELECT json_extract(data, '$.sla_days') * 100 + json_extract(data, '$.days_in_stage')"
                  " FROM events WHERE type = 'application.stale' AND subject_id = 'app_3'",
                  NULL),
      203);
  /* A second scan, even much later, adds nothing for the same visits. */
  assert_int_equal(scan(f->db, NOW, NULL, 500), 0);
  assert_int_equal(scan(f->db, NOW + 1, NULL, 500), 0);
  assert_int_equal(stale_events(f->db, "app_1"), 1);
  /* app_2 crosses its SLA (7 days) one day later: exactly at the limit counts. */
  assert_int_equal(scan(f->db, NOW + DAY - 1, NULL, 500), 0);
  assert_int_equal(scan(f->db, NOW + DAY, NULL, 500), 1);
  assert_int_equal(stale_events(f->db, "app_2"), 1);
  assert_int_equal(count_where(f->db, "SELECT count(*) FROM application_stale_visits", NULL), 3);
  assert_int_equal(
      count_where(f->db,
                  "SELECT count(*) FROM application_stale_visits v JOIN events e ON e.id = v.event_id"
                  " WHERE e.type = 'application.stale'",
                  NULL),
      3);
}

static void test_a_new_visit_is_reported_again(void **state) {
  fixture_t *f = *state;
  assert_int_equal(scan(f->db, NOW, NULL, 500), 2);
  /* app_1 moves on to interview (default 7 days): fresh there for a week, then stale. */
  move(f->db, 1, 4, NOW);
  assert_int_equal(scan(f->db, NOW + 6 * DAY, NULL, 500), 1); /* app_2 only */
  assert_int_equal(stale_events(f->db, "app_1"), 1);
  assert_int_equal(scan(f->db, NOW + 7 * DAY, NULL, 500), 1);
  assert_int_equal(stale_events(f->db, "app_1"), 2);
  assert_int_equal(
      count_where(f->db,
                  "SELECT count(*) FROM events WHERE type = 'application.stale' AND subject_id = 'app_1'"
                  " AND json_extract(data, '$.stage.id') = 'stg_interview'",
                  NULL),
      1);
  /* Back to applied later: a new visit of the same stage, reported again once stale. */
  move(f->db, 1, 2, NOW + 8 * DAY);
  assert_int_equal(scan(f->db, NOW + 14 * DAY, NULL, 500), 0);
  assert_int_equal(scan(f->db, NOW + 15 * DAY, NULL, 500), 1);
  assert_int_equal(scan(f->db, NOW + 30 * DAY, NULL, 500), 0);
  assert_int_equal(stale_events(f->db, "app_1"), 3);
  assert_int_equal(
      count_where(f->db,
                  "SELECT count(*) FROM events WHERE type = 'application.stale' AND subject_id = 'app_1'"
                  " AND json_extract(data, '$.stage.id') = 'stg_applied'",
                  NULL),
      2);
  /* Hired or rejected meanwhile: never again. */
  exec_fmt(f->db, "UPDATE applications SET status = 'rejected', stage_entered_at = %lld WHERE rowid = 3",
           (long long)(NOW + 15 * DAY));
  assert_int_equal(scan(f->db, NOW + 60 * DAY, NULL, 500), 0);
}

/* The runner finds on a reader and reports on the writer later: a visit that ended in
 * between (moved on, rejected) or was reported meanwhile is not reported. */
static void test_report_rechecks_what_the_read_found(void **state) {
  fixture_t *f = *state;
  td__stale_sla_t sla;
  td__stale_sla_from_config(NULL, &sla);
  td__stale_visit_t visits[16];
  int found = 0, reported = -1;
  assert_int_equal(td__stale_find(f->db, NOW, &sla, 16, visits, &found), 0);
  assert_int_equal(found, 2);
  move(f->db, 1, 4, NOW); /* app_1 moved on after the read */
  td__ctx_t ctx = {.db = f->db, .actor_kind = "system", .now_ms = NOW, .cause = "test"};
  assert_int_equal(td__db_exec(f->db, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(td__stale_report(&ctx, visits, found, &reported), 0);
  assert_int_equal(reported, 1);
  assert_int_equal(td__stale_report(&ctx, visits, found, &reported), 0); /* a repeat: nothing new */
  assert_int_equal(reported, 0);
  assert_int_equal(td__db_exec(f->db, "COMMIT"), 0);
  td__ctx_dispose(&ctx);
  assert_int_equal(stale_events(f->db, "app_1"), 0);
}

static void test_configuration_and_sla_override(void **state) {
  fixture_t *f = *state;
  td__stale_sla_t sla;
  td__stale_sla_from_config(NULL, &sla);
  assert_int_equal(sla.days[TD_STALE_LEAD], 0);
  assert_int_equal(sla.days[TD_STALE_APPLIED], 7);
  assert_int_equal(sla.days[TD_STALE_SCREEN], 5);
  assert_int_equal(sla.days[TD_STALE_INTERVIEW], 7);
  assert_int_equal(sla.days[TD_STALE_OFFER], 3);
  json_t *config = json_pack("{s:{s:{s:n,s:i,s:i}}}", "applications", "stale_after_days", "applied", "lead",
                             50, "screen", 30);
  td__stale_sla_from_config(config, &sla);
  json_decref(config);
  assert_int_equal(sla.days[TD_STALE_LEAD], 50);
  assert_int_equal(sla.days[TD_STALE_APPLIED], 0);
  assert_int_equal(sla.days[TD_STALE_SCREEN], 30);
  assert_int_equal(sla.days[TD_STALE_OFFER], 3);
  /* applied off, lead 50 days: app_6 (lead, 100 days) is stale; app_3 keeps its stage's 2
   * days despite screen's 30; app_1 and app_2 (applied) never; the hired stage never. */
  assert_int_equal(scan(f->db, NOW + 100 * DAY, &sla, 500), 2);
  assert_int_equal(stale_events(f->db, "app_6"), 1);
  assert_int_equal(stale_events(f->db, "app_3"), 1);
  assert_int_equal(stale_events(f->db, "app_1"), 0);
  assert_int_equal(stale_events(f->db, "app_4"), 0);
}

static void test_batch_limit(void **state) {
  fixture_t *f = *state;
  assert_int_equal(scan(f->db, NOW, NULL, 1), 1);
  assert_int_equal(stale_events(f->db, "app_3"), 0); /* oldest visit first: app_1 (8 days) */
  assert_int_equal(stale_events(f->db, "app_1"), 1);
  assert_int_equal(scan(f->db, NOW, NULL, 1), 1);
  assert_int_equal(scan(f->db, NOW, NULL, 1), 0);
  assert_int_equal(stale_events(f->db, "app_3"), 1);
}

static int64_t live_series(td__db_t *db) {
  return count_where(db,
                     "SELECT count(*) FROM scheduled_runs WHERE handler = ? AND cron IS NOT NULL"
                     " AND status IN ('pending', 'running')",
                     TD_STALE_HANDLER);
}

static void test_series_is_created_once(void **state) {
  fixture_t *f = *state;
  int64_t now = td__time_now_ms();
  assert_int_equal(td__stale_ensure_series(f->db, now), 0);
  assert_int_equal(td__stale_ensure_series(f->db, now), 0);
  assert_int_equal(live_series(f->db), 1);
  assert_int_equal(
      count_where(f->db, "SELECT count(*) FROM scheduled_runs WHERE cron = ? AND run_at > 0", TD_STALE_CRON),
      1);
  /* A duplicate (two processes raced, or an older expression) is cancelled. */
  exec_fmt(f->db,
           "INSERT INTO scheduled_runs(id, handler, run_at, cron, created_at, updated_at)"
           " VALUES ('srun_dup', '%s', 0, '0 * * * *', 0, 0)",
           TD_STALE_HANDLER);
  assert_int_equal(live_series(f->db), 2);
  assert_int_equal(td__stale_ensure_series(f->db, now), 0);
  assert_int_equal(live_series(f->db), 1);
  assert_int_equal(
      count_where(f->db, "SELECT count(*) FROM scheduled_runs WHERE id = ? AND status = 'cancelled'",
                  "srun_dup"),
      1);
  /* An admin cancelled the series: the next start brings it back. */
  exec_fmt(f->db, "UPDATE scheduled_runs SET status = 'cancelled' WHERE handler = '%s'", TD_STALE_HANDLER);
  assert_int_equal(live_series(f->db), 0);
  assert_int_equal(td__stale_ensure_series(f->db, now), 0);
  assert_int_equal(live_series(f->db), 1);
}

static void test_server_started(void **state) {
  fixture_t *f = *state;
  json_t *names = json_pack("[s,i,s]", "webhooks", 3, "scorecards");
  assert_int_equal(td__server_started_emit(f->db, names, NOW), 0);
  assert_int_equal(td__server_started_emit(f->db, NULL, NOW + 1), 0);
  json_decref(names);
  td__stmt_t *st =
      td__db_prepare(f->db,
                     "SELECT data, subject_type, subject_id, actor_kind, actor_id IS NULL, occurred_at"
                     " FROM events WHERE type = 'server.started' ORDER BY rowid");
  assert_non_null(st);
  assert_int_equal(td__stmt_step(st), 1);
  json_t *data = json_loads(td__stmt_text(st, 0), 0, NULL);
  json_t *want = json_pack("{s:s,s:i,s:[s,s]}", "version", TD_VERSION, "schema", td__migrate_latest(),
                           "plugins", "webhooks", "scorecards");
  assert_true(json_equal(data, want));
  json_decref(want);
  json_decref(data);
  assert_true(td__migrate_latest() >= 7);
  assert_string_equal(td__stmt_text(st, 1), "server");
  char first_id[64];
  snprintf(first_id, sizeof first_id, "%s", td__stmt_text(st, 2));
  assert_int_equal(strncmp(first_id, "srv_", 4), 0);
  assert_string_equal(td__stmt_text(st, 3), "system");
  assert_int_equal(td__stmt_int(st, 4), 1);
  assert_int_equal(td__stmt_int(st, 5), NOW);
  /* Each start has its own id. */
  assert_int_equal(td__stmt_step(st), 1);
  assert_string_not_equal(td__stmt_text(st, 2), first_id);
  char empty[128];
  snprintf(empty, sizeof empty, "{\"version\":\"%s\",\"schema\":%d,\"plugins\":[]}", TD_VERSION,
           td__migrate_latest());
  assert_string_equal(td__stmt_text(st, 0), empty);
  assert_int_equal(td__stmt_step(st), 0);
  td__stmt_finalize(st);
}

/* The handler end to end: registered, run by the scheduler through a writer. The fixture's
 * times are near 1972, so against the real clock apps 1, 2, 3 and 6... are all past their
 * SLA except where none applies. */
static void test_handler_runs_the_scan_through_the_writer(void **state) {
  fixture_t *f = *state;
  int64_t now = td__time_now_ms();
  assert_int_equal(td__stale_ensure_series(f->db, now), 0);
  td__sched_reset();
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  td__db_t *wdb = NULL;
  assert_int_equal(td__db_open(f->path, TD_DB_READWRITE, &wdb), 0);
  td__writer_t *writer = NULL;
  assert_int_equal(td__writer_start(&loop, wdb, &writer), 0);
  td__reader_configure(f->path); /* the scan reads on the reader pool */
  assert_int_equal(td__stale_register(NULL, &loop, writer), 0);
  /* Make the series due now rather than in up to ten minutes. */
  exec_fmt(f->db, "UPDATE scheduled_runs SET run_at = 0 WHERE handler = '%s'", TD_STALE_HANDLER);
  td__sched_t *sched = NULL;
  assert_int_equal(td__sched_start(&loop, writer, &sched), 0);
  td__sched_set_timing(sched, 5, 60000);
  int64_t deadline = td__time_now_ms() + 5000;
  while (td__time_now_ms() < deadline &&
         count_where(f->db, "SELECT count(*) FROM scheduled_runs WHERE handler = ? AND status = 'done'",
                     TD_STALE_HANDLER) == 0) {
    uv_run(&loop, UV_RUN_NOWAIT);
    usleep(2000);
  }
  td__sched_stop(sched);
  td__writer_stop(writer);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  td__reader_close_all();
  assert_int_equal(
      count_where(f->db, "SELECT count(*) FROM scheduled_runs WHERE handler = ? AND status = 'done'",
                  TD_STALE_HANDLER),
      1);
  /* Stale against today's clock: app_1, app_2 (applied), app_3 (screen); not lead, hired
   * stage or closed ones. The series continues with its next occurrence. */
  assert_int_equal(count_where(f->db, "SELECT count(*) FROM events WHERE type = 'application.stale'", NULL),
                   3);
  assert_int_equal(stale_events(f->db, "app_6"), 0);
  assert_int_equal(live_series(f->db), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_stale_visits_get_one_event_with_their_data, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_new_visit_is_reported_again, setup, teardown),
      cmocka_unit_test_setup_teardown(test_report_rechecks_what_the_read_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_configuration_and_sla_override, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_series_is_created_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_server_started, setup, teardown),
      cmocka_unit_test_setup_teardown(test_handler_runs_the_scan_through_the_writer, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
