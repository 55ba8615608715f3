/* The "core.stale_scan" scheduled handler and its cron series (stale_runner.h). */
#include "sched/stale_runner.h"

#include <stdlib.h>

#include "domain/context.h"
#include "domain/stale.h"
#include "sched/sched.h"
#include "store/reader.h"
#include "talentd/types.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define FOLLOW_UP_MS 1000

/* Set once at start-up, read on the loop and writer threads afterwards (the scheduler's
 * start freezes registration, so no lock is needed). */
static struct {
  td__stale_sla_t sla;
  td__writer_t *writer;
  uv_loop_t *loop;
} runner;

/* One run in flight: the scheduler's call, the read that finds stale visits and the write
 * that reports them. */
typedef struct scan_op {
  td__read_op_t read;
  td__write_op_t write;
  td__sched_call_t *call;
  int64_t now_ms;
  td__stale_visit_t visits[TD_STALE_BATCH];
  int found, reported;
} scan_op_t;

static td__ctx_t system_ctx(td__db_t *db, int64_t now_ms) {
  td__ctx_t ctx = {.db = db,
                   .principal = {.role = TD_ROLE_ADMIN, .via = TD_VIA_SYSTEM, .can_write = true},
                   .actor_kind = "system",
                   .now_ms = now_ms,
                   .cause = TD_STALE_HANDLER};
  return ctx;
}

/* Reader thread: the scan of active applications, off the writer. */
static int find_run(td__db_t *db, void *arg) {
  scan_op_t *s = arg;
  if (db == NULL) return TD_EIO;
  return td__stale_find(db, s->now_ms, &runner.sla, TD_STALE_BATCH, s->visits, &s->found);
}

/* Writer thread: report what still holds; a full batch leaves work for a follow-up run. */
static int report_run(td__db_t *db, void *arg) {
  scan_op_t *s = arg;
  td__ctx_t ctx = system_ctx(db, s->now_ms);
  int rc = td__stale_report(&ctx, s->visits, s->found, &s->reported);
  if (rc == 0 && s->found == TD_STALE_BATCH)
    rc = td__sched_after(&ctx, TD_STALE_HANDLER, FOLLOW_UP_MS, NULL, NULL, NULL);
  td__ctx_dispose(&ctx);
  return rc;
}

/* Loop thread: the batch committed (or not); the run is over either way. */
static void scan_done(void *arg, int rc) {
  scan_op_t *s = arg;
  if (s->reported > 0 && rc == 0)
    td__log(TD_LOG_INFO, "stale_applications_reported", json_pack("{s:i}", "count", s->reported));
  td__sched_finish(s->call, rc, rc ? "the stale-application scan failed to store its events" : NULL);
  free(s);
}

/* Loop thread: the read is done; nothing found ends the run without a write. */
static void found(void *arg, int rc) {
  scan_op_t *s = arg;
  if (rc != 0 || s->found == 0) {
    td__sched_finish(s->call, rc, rc ? "the stale-application scan could not read" : NULL);
    free(s);
    return;
  }
  s->write = (td__write_op_t){.run = report_run, .done = scan_done, .arg = s};
  td__writer_submit(runner.writer, &s->write);
}

static void on_stale_scan(td__sched_call_t *call, void *data) {
  (void)data;
  if (runner.writer == NULL || runner.loop == NULL) {
    td__sched_finish(call, TD_EINVAL, "the stale-application scan has no writer");
    return;
  }
  scan_op_t *s = td__xcalloc(1, sizeof *s);
  s->call = call;
  s->now_ms = td__time_now_ms();
  s->read = (td__read_op_t){.run = find_run, .done = found, .arg = s};
  if (td__reader_submit(runner.loop, &s->read) != 0) {
    td__sched_finish(call, TD_EBUSY, "the readers are busy");
    free(s);
  }
}

int td__stale_register(const json_t *config, uv_loop_t *loop, td__writer_t *writer) {
  td__stale_sla_from_config(config, &runner.sla);
  runner.writer = writer;
  runner.loop = loop;
  return td__sched_register(TD_STALE_HANDLER, "core", on_stale_scan, NULL);
}

/* Cancels every live series of the handler but the one at keep_rowid (0: all of them). */
static int cancel_others(td__db_t *db, int64_t keep_rowid, int64_t now_ms) {
  td__stmt_t *st = td__db_stmt(db,
                               "UPDATE scheduled_runs SET status = 'cancelled', leased_until = NULL,"
                               " finished_at = ?3, updated_at = ?3, version = version + 1"
                               " WHERE handler = ?1 AND cron IS NOT NULL AND status IN ('pending', 'running')"
                               " AND rowid <> ?2");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, TD_STALE_HANDLER);
  td__stmt_bind_int(st, 2, keep_rowid);
  td__stmt_bind_int(st, 3, now_ms);
  return td__stmt_run(st);
}

/* The oldest live series on the current expression, or 0. */
static int find_series(td__db_t *db, int64_t *rowid) {
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT rowid FROM scheduled_runs WHERE handler = ?1 AND cron = ?2"
                               " AND status IN ('pending', 'running') ORDER BY rowid LIMIT 1");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, TD_STALE_HANDLER);
  td__stmt_bind_text(st, 2, TD_STALE_CRON);
  int rc = td__stmt_step(st);
  *rowid = rc == 1 ? td__stmt_int(st, 0) : 0;
  if (rc == 1) td__stmt_reset(st);
  return rc < 0 ? rc : 0;
}

int td__stale_ensure_series(td__db_t *db, int64_t now_ms) {
  int rc = td__db_savepoint(db, "stale_series");
  if (rc) return rc;
  int64_t keep = 0;
  rc = find_series(db, &keep);
  if (rc == 0) rc = cancel_others(db, keep, now_ms);
  if (rc == 0 && keep == 0) {
    td__ctx_t ctx = system_ctx(db, now_ms);
    rc = td__sched_cron(&ctx, TD_STALE_HANDLER, TD_STALE_CRON, NULL, NULL, NULL, NULL);
    td__ctx_dispose(&ctx);
  }
  if (rc) {
    td__db_rollback_to(db, "stale_series");
    td__log(TD_LOG_ERROR, "stale_series_failed", json_pack("{s:i}", "code", rc));
    return rc;
  }
  return td__db_release(db, "stale_series");
}
