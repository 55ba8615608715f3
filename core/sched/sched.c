/* Scheduled runs (sched.h): the handler registry, scheduling inside the caller's
 * transaction, the admin list/cancel, and the runner (claim with a lease on the writer
 * thread, call the handler on the loop thread, record the outcome on the writer thread). */
#include "sched/sched.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "domain/row_json.h"
#include "talentd/types.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define MAX_HANDLERS 256
#define CLAIM_BATCH 16
#define DEFAULT_RETRY \
  { 3, 1000, 3600000 }
#define MAX_ATTEMPTS_LIMIT 100
#define ERROR_MAX 512

/* ---------------------------------------------------------------- registry */

typedef struct handler_entry {
  char name[TD_SCHED_NAME_MAX];
  char package[TD_SCHED_NAME_MAX];
  td__sched_handler_fn fn;
  void *data;
  bool prefix; /* name is a prefix: the handler of every run whose handler name starts so */
} handler_entry_t;

static handler_entry_t handlers[MAX_HANDLERS];
static size_t handler_count;
static bool registry_frozen;

static bool name_ok(const char *name) {
  if (name == NULL || name[0] == '\0' || strlen(name) >= TD_SCHED_NAME_MAX) return false;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("_.:-", *p))) return false;
  return true;
}

/* The handler of name: an exact registration, else the longest prefix registration. */
static const handler_entry_t *handler_find(const char *name) {
  const handler_entry_t *best = NULL;
  for (size_t i = 0; i < handler_count; i++) {
    const handler_entry_t *h = &handlers[i];
    if (!h->prefix && strcmp(h->name, name) == 0) return h;
    if (h->prefix && strncmp(h->name, name, strlen(h->name)) == 0 &&
        (best == NULL || strlen(h->name) > strlen(best->name)))
      best = h;
  }
  return best;
}

static int add_handler(const char *name, const char *package, td__sched_handler_fn fn, void *data,
                       bool prefix) {
  if (registry_frozen) {
    td__log(TD_LOG_ERROR, "sched_register_after_start", json_pack("{s:s?}", "handler", name));
    return TD_EDENIED;
  }
  if (!name_ok(name) || fn == NULL || package == NULL || package[0] == '\0' ||
      strlen(package) >= TD_SCHED_NAME_MAX)
    return TD_EINVAL;
  for (size_t i = 0; i < handler_count; i++)
    if (handlers[i].prefix == prefix && strcmp(handlers[i].name, name) == 0) return TD_ECONFLICT;
  if (handler_count == MAX_HANDLERS) return TD_ENOMEM;
  handler_entry_t *e = &handlers[handler_count++];
  snprintf(e->name, sizeof e->name, "%s", name);
  snprintf(e->package, sizeof e->package, "%s", package);
  e->fn = fn;
  e->data = data;
  e->prefix = prefix;
  return 0;
}

int td__sched_register_prefix(const char *prefix, const char *package, td__sched_handler_fn fn, void *data) {
  return add_handler(prefix, package, fn, data, true);
}

int td__sched_register(const char *name, const char *package, td__sched_handler_fn fn, void *data) {
  return add_handler(name, package, fn, data, false);
}

void td__sched_reset(void) {
  memset(handlers, 0, sizeof handlers);
  handler_count = 0;
  registry_frozen = false;
}

/* ---------------------------------------------------------------- storing runs */

typedef struct run_row {
  const char *handler;
  const char *payload; /* JSON text */
  int64_t run_at;
  const char *cron, *time_zone;
  td__sched_retry_t retry;
  const char *by_kind, *by_id;
} run_row_t;

static int insert_run(td__db_t *db, const run_row_t *r, int64_t now, char id_out[TD_ID_MAX]) {
  char id[TD_ID_MAX];
  td__id_new("srun", id);
  td__stmt_t *st = td__db_stmt(
      db,
      "INSERT INTO scheduled_runs(id, handler, payload, run_at, cron, time_zone, max_attempts, backoff_ms,"
      " backoff_max_ms, created_by_kind, created_by, created_at, updated_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id);
  td__stmt_bind_text(st, 2, r->handler);
  td__stmt_bind_text(st, 3, r->payload);
  td__stmt_bind_int(st, 4, r->run_at);
  td__stmt_bind_text(st, 5, r->cron);
  td__stmt_bind_text(st, 6, r->time_zone);
  td__stmt_bind_int(st, 7, r->retry.max_attempts);
  td__stmt_bind_int(st, 8, r->retry.backoff_ms);
  td__stmt_bind_int(st, 9, r->retry.backoff_max_ms);
  td__stmt_bind_text(st, 10, r->by_kind ? r->by_kind : "system");
  td__stmt_bind_text(st, 11, r->by_id);
  td__stmt_bind_int(st, 12, now);
  int rc = td__stmt_run(st);
  if (rc == 0 && id_out) memcpy(id_out, id, TD_ID_MAX);
  return rc;
}

/* Checks the common inputs and stores the run. */
static int schedule(td__ctx_t *ctx, const char *handler, int64_t run_at, const char *cron, const char *zone,
                    const json_t *payload, const td__sched_retry_t *retry, char id_out[TD_ID_MAX]) {
  static const td__sched_retry_t defaults = DEFAULT_RETRY;
  if (!name_ok(handler))
    return td__fail_field(ctx, "/handler",
                          "must be a handler name of 1 to 63 characters from a-z 0-9 _ . : -");
  if (run_at < 0) return td__fail_field(ctx, "/run_at", "must be a time after 1970-01-01T00:00:00Z");
  if (payload && !json_is_object(payload)) return td__fail_field(ctx, "/payload", "must be a JSON object");
  td__sched_retry_t r = retry ? *retry : defaults;
  if (r.max_attempts < 1 || r.max_attempts > MAX_ATTEMPTS_LIMIT)
    return td__fail_field(ctx, "/retry/max_attempts", "must be between 1 and 100");
  if (r.backoff_ms < 0 || r.backoff_max_ms < r.backoff_ms)
    return td__fail_field(ctx, "/retry/backoff_ms", "must be >= 0 and at most backoff_max_ms");
  char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
  run_row_t row = {handler,         text ? text : "{}",   run_at, cron, zone, r,
                   ctx->actor_kind, td__ctx_actor_id(ctx)};
  int rc = insert_run(ctx->db, &row, ctx->now_ms, id_out);
  free(text);
  return rc ? td__fail_internal(ctx, rc) : 0;
}

int td__sched_at(td__ctx_t *ctx, const char *handler_name, int64_t run_at_ms, const json_t *payload,
                 const td__sched_retry_t *retry, char id_out[TD_ID_MAX]) {
  return schedule(ctx, handler_name, run_at_ms, NULL, NULL, payload, retry, id_out);
}

int td__sched_after(td__ctx_t *ctx, const char *handler_name, int64_t delay_ms, const json_t *payload,
                    const td__sched_retry_t *retry, char id_out[TD_ID_MAX]) {
  if (delay_ms < 0) return td__fail_field(ctx, "/delay_ms", "must be zero or more milliseconds");
  return schedule(ctx, handler_name, ctx->now_ms + delay_ms, NULL, NULL, payload, retry, id_out);
}

/* The next occurrence of expr in zone after after_ms; a static message in *error if none. */
/* The next occurrence of expr in zone (UTC, a fixed offset or an IANA name) after after_ms.
 * Returns 0, TD_EINVAL with *error for a bad expression (*field "/cron") or zone
 * ("/time_zone"), or TD_ENOTFOUND when the expression never fires. */
static int cron_next(const char *expr, const char *zone, int64_t after_ms, int64_t *next, const char **error,
                     const char **field) {
  td__cron_t c;
  *field = "/cron";
  if (td__cron_parse(expr, &c, error)) return TD_EINVAL;
  int rc = td__cron_next_in(&c, zone, after_ms, next, error);
  if (rc == TD_ENOTFOUND) {
    *error = "the cron expression never fires (check the day-of-month against the month)";
    return TD_EINVAL;
  }
  if (rc) *field = "/time_zone";
  return rc ? TD_EINVAL : 0;
}

int td__sched_cron(td__ctx_t *ctx, const char *handler_name, const char *expr, const char *time_zone,
                   const json_t *payload, const td__sched_retry_t *retry, char id_out[TD_ID_MAX]) {
  int64_t next = 0;
  const char *error = NULL, *field = NULL;
  if (time_zone && strlen(time_zone) >= TD_TZ_MAX) return td__fail_field(ctx, "/time_zone", "is too long");
  if (cron_next(expr, time_zone, ctx->now_ms, &next, &error, &field))
    return td__fail_field(ctx, field, error ? error : "is invalid");
  return schedule(ctx, handler_name, next, expr, time_zone ? time_zone : "UTC", payload, retry, id_out);
}

/* ---------------------------------------------------------------- list and cancel */

#define RUN_COLUMNS                                                                                   \
  "rowid, id, handler, status, run_at, cron, time_zone, payload, attempts, max_attempts, backoff_ms," \
  " backoff_max_ms, leased_until, last_error, created_by_kind, created_by, created_at, updated_at, "  \
  "finished_at"

static json_t *run_json(td__stmt_t *st) {
  json_t *payload = json_loads(td__stmt_text(st, 7), 0, NULL);
  return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:I,s:{s:I,s:I},s:o,s:o,s:{s:s,s:o},s:o,s:o,s:o}", "id",
                   td__stmt_text(st, 1), "handler", td__stmt_text(st, 2), "status", td__stmt_text(st, 3),
                   "run_at", td__row_time(st, 4), "cron", td__row_text(st, 5), "time_zone",
                   td__row_text(st, 6), "payload", payload ? payload : json_null(), "attempts",
                   (json_int_t)td__stmt_int(st, 8), "max_attempts", (json_int_t)td__stmt_int(st, 9), "retry",
                   "backoff_ms", (json_int_t)td__stmt_int(st, 10), "backoff_max_ms",
                   (json_int_t)td__stmt_int(st, 11), "leased_until", td__row_time(st, 12), "last_error",
                   td__row_text(st, 13), "created_by", "kind", td__stmt_text(st, 14), "id",
                   td__row_text(st, 15), "created_at", td__row_time(st, 16), "updated_at",
                   td__row_time(st, 17), "finished_at", td__row_time(st, 18));
}

static bool status_ok(const char *s) {
  static const char *const all[] = {"pending", "running", "done", "dead", "cancelled"};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (strcmp(s, all[i]) == 0) return true;
  return false;
}

int td__sched_list(td__ctx_t *ctx, const char *status, const char *handler, int limit, int64_t after,
                   json_t **items, int64_t *next) {
  *items = NULL;
  *next = 0;
  if (status && !status_ok(status))
    return td__fail_query(ctx, "status", "must be one of pending, running, done, dead, cancelled");
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT " RUN_COLUMNS
                                        " FROM scheduled_runs WHERE rowid > ?1"
                                        " AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR handler = ?3)"
                                        " ORDER BY rowid LIMIT ?4");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, after);
  td__stmt_bind_text(st, 2, status);
  td__stmt_bind_text(st, 3, handler);
  td__stmt_bind_int(st, 4, limit + 1);
  return td__row_page(ctx, st, 0, limit, run_json, items, next);
}

int td__sched_cancel(td__ctx_t *ctx, const char *id) {
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT status FROM scheduled_runs WHERE id = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, id);
  int rc = td__stmt_step(st);
  if (rc < 0) return td__fail_internal(ctx, rc);
  if (rc == 0) {
    td__fail_not_found(ctx, "scheduled run");
    return TD_ENOTFOUND;
  }
  bool live = strcmp(td__stmt_text(st, 0), "pending") == 0 || strcmp(td__stmt_text(st, 0), "running") == 0;
  td__stmt_reset(st);
  if (!live) {
    td__fail(ctx, 409, "Scheduled run already finished",
             "this run is done, dead or cancelled already; only pending or running runs can be cancelled");
    return TD_ECONFLICT;
  }
  st = td__db_stmt(ctx->db,
                   "UPDATE scheduled_runs SET status = 'cancelled', leased_until = NULL,"
                   " finished_at = ?2, updated_at = ?2, version = version + 1 WHERE id = ?1");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, id);
  td__stmt_bind_int(st, 2, ctx->now_ms);
  rc = td__stmt_run(st);
  return rc ? td__fail_internal(ctx, rc) : 0;
}

/* ---------------------------------------------------------------- the runner */

typedef struct claim_op {
  td__write_op_t op;
  td__sched_t *sched;
  td__sched_call_t *calls[CLAIM_BATCH];
  int n;
} claim_op_t;

struct td__sched {
  uv_loop_t *loop;
  td__writer_t *writer;
  uv_timer_t timer;
  uint64_t poll_ms;
  int64_t lease_ms;
  char token[TD_ID_MAX]; /* this process's lease holder token */
  int pending;           /* writer ops and handler calls not yet over */
  bool claiming, stopping, timer_closed;
  claim_op_t claim;
};

static void call_free(td__sched_call_t *c) {
  json_decref(c->payload);
  free(c->cron);
  free(c->time_zone);
  free(c->error);
  free(c);
}

static void maybe_free(td__sched_t *s) {
  if (s->stopping && s->timer_closed && s->pending == 0) free(s);
}

/* Builds the call for the due row st is on (columns of the claim query). */
static td__sched_call_t *call_from_row(td__sched_t *s, td__stmt_t *st) {
  td__sched_call_t *c = td__xcalloc(1, sizeof *c);
  c->sched = s;
  snprintf(c->id, sizeof c->id, "%s", td__stmt_text(st, 0));
  snprintf(c->handler, sizeof c->handler, "%s", td__stmt_text(st, 1));
  c->payload = json_loads(td__stmt_text(st, 2), 0, NULL);
  if (c->payload == NULL) c->payload = json_object();
  c->attempt = (int)td__stmt_int(st, 3) + 1;
  c->run_at_ms = td__stmt_int(st, 4);
  c->max_attempts = (int)td__stmt_int(st, 5);
  c->backoff_ms = td__stmt_int(st, 6);
  c->backoff_max_ms = td__stmt_int(st, 7);
  if (!td__stmt_is_null(st, 8)) c->cron = td__xstrdup(td__stmt_text(st, 8));
  if (!td__stmt_is_null(st, 9)) c->time_zone = td__xstrdup(td__stmt_text(st, 9));
  snprintf(c->lease_token, sizeof c->lease_token, "%s", s->token);
  return c;
}

/* Writer thread: finds due runs (pending and due, or running under an expired lease of
 * another holder: a process that died) and leases them to this process. */
static int claim_run(td__db_t *db, void *arg) {
  claim_op_t *op = arg;
  td__sched_t *s = op->sched;
  int64_t now = td__time_now_ms();
  op->n = 0;
  td__stmt_t *st = td__db_stmt(
      db,
      "SELECT id, handler, payload, attempts, run_at, max_attempts, backoff_ms, backoff_max_ms, cron, "
      "time_zone"
      " FROM scheduled_runs WHERE (status = 'pending' AND run_at <= ?1)"
      " OR (status = 'running' AND leased_until <= ?1 AND lease_token IS NOT ?2) ORDER BY run_at LIMIT ?3");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, now);
  td__stmt_bind_text(st, 2, s->token);
  td__stmt_bind_int(st, 3, CLAIM_BATCH);
  int rc;
  while ((rc = td__stmt_step(st)) == 1) op->calls[op->n++] = call_from_row(s, st);
  if (rc < 0) return rc;
  for (int i = 0; i < op->n; i++) {
    st = td__db_stmt(
        db,
        "UPDATE scheduled_runs SET status = 'running', attempts = attempts + 1,"
        " leased_until = ?2, lease_token = ?3, updated_at = ?4, version = version + 1 WHERE id = ?1");
    if (st == NULL) return TD_EIO;
    td__stmt_bind_text(st, 1, op->calls[i]->id);
    td__stmt_bind_int(st, 2, now + s->lease_ms);
    td__stmt_bind_text(st, 3, s->token);
    td__stmt_bind_int(st, 4, now);
    if ((rc = td__stmt_run(st)) != 0) return rc;
  }
  return 0;
}

static void claim(td__sched_t *s);

/* Loop thread: the claim committed; call each run's handler. */
static void claim_done(void *arg, int rc) {
  claim_op_t *op = arg;
  td__sched_t *s = op->sched;
  s->claiming = false;
  s->pending--;
  int n = op->n;
  op->n = 0;
  for (int i = 0; i < n; i++) {
    td__sched_call_t *c = op->calls[i];
    if (rc != 0 || s->stopping) { /* not leased, or leased and left to expire: runs again later */
      call_free(c);
      continue;
    }
    s->pending++;
    const handler_entry_t *h = handler_find(c->handler);
    if (h == NULL)
      td__sched_finish(c, TD_ENOTFOUND, "no handler is registered under this name");
    else
      h->fn(c, h->data);
  }
  if (rc != 0) td__log(TD_LOG_ERROR, "sched_claim_failed", json_pack("{s:i}", "code", rc));
  if (s->stopping)
    maybe_free(s);
  else if (rc == 0 && n == CLAIM_BATCH)
    claim(s); /* more may be due */
}

static void claim(td__sched_t *s) {
  if (s->claiming || s->stopping) return;
  s->claiming = true;
  s->pending++;
  s->claim.op = (td__write_op_t){claim_run, claim_done, &s->claim, 0, NULL};
  s->claim.sched = s;
  td__writer_submit(s->writer, &s->claim.op);
}

static void on_timer(uv_timer_t *t) { claim(t->data); }

/* The delay before attempt `attempt + 1`: backoff * 2^(attempt-1), capped. */
static int64_t backoff_delay(const td__sched_call_t *c) {
  int64_t d = c->backoff_ms;
  for (int i = 1; i < c->attempt && d < c->backoff_max_ms; i++) d *= 2;
  return d < c->backoff_max_ms ? d : c->backoff_max_ms;
}

/* Inserts the next occurrence of the cron run c after now. */
static int cron_continue(td__db_t *db, const td__sched_call_t *c, int64_t now) {
  int64_t next = 0;
  const char *error = NULL;
  int64_t after = c->run_at_ms > now ? c->run_at_ms : now;
  const char *field = NULL;
  if (cron_next(c->cron, c->time_zone, after, &next, &error, &field)) return 0; /* no further occurrence */
  char *payload = json_dumps(c->payload, JSON_COMPACT);
  run_row_t row = {c->handler,   payload ? payload : "{}",
                   next,         c->cron,
                   c->time_zone, {c->max_attempts, c->backoff_ms, c->backoff_max_ms},
                   "system",     NULL};
  int rc = insert_run(db, &row, now, NULL);
  free(payload);
  return rc;
}

/* Writer thread: records the outcome, if this process still holds the run's lease (a
 * cancelled run, or one taken over after the lease expired, is left alone). */
static int finish_run(td__db_t *db, void *arg) {
  td__sched_call_t *c = arg;
  int64_t now = td__time_now_ms();
  bool failed = c->rc != 0, dead = failed && c->attempt >= c->max_attempts;
  const char *status = !failed ? "done" : dead ? "dead" : "pending";
  td__stmt_t *st = td__db_stmt(
      db,
      "UPDATE scheduled_runs SET status = ?3, run_at = CASE WHEN ?3 = 'pending' THEN ?4 ELSE run_at END,"
      " last_error = ?5, leased_until = NULL, finished_at = CASE WHEN ?3 = 'pending' THEN NULL ELSE ?6 END,"
      " updated_at = ?6, version = version + 1 WHERE id = ?1 AND lease_token = ?2 AND status = 'running'");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, c->id);
  td__stmt_bind_text(st, 2, c->lease_token);
  td__stmt_bind_text(st, 3, status);
  td__stmt_bind_int(st, 4, now + backoff_delay(c));
  td__stmt_bind_text(st, 5, c->error);
  td__stmt_bind_int(st, 6, now);
  int rc = td__stmt_run(st);
  if (rc) return rc;
  if (td__db_changes(db) == 1 && c->cron && strcmp(status, "pending") != 0) rc = cron_continue(db, c, now);
  return rc;
}

static void finish_done(void *arg, int rc) {
  td__sched_call_t *c = arg;
  td__sched_t *s = c->sched;
  if (rc != 0) td__log(TD_LOG_ERROR, "sched_finish_failed", json_pack("{s:s,s:i}", "run", c->id, "code", rc));
  call_free(c);
  s->pending--;
  maybe_free(s);
}

void td__sched_finish(td__sched_call_t *call, int rc, const char *error) {
  td__sched_t *s = call->sched;
  if (s->stopping) { /* the writer may be gone: the lease expires and the run runs again */
    call_free(call);
    s->pending--;
    maybe_free(s);
    return;
  }
  call->rc = rc;
  if (rc != 0) {
    char text[ERROR_MAX];
    snprintf(text, sizeof text, "%s", error && *error ? error : td_strerror(rc));
    call->error = td__xstrdup(text);
    td__log(TD_LOG_WARN, "sched_run_failed",
            json_pack("{s:s,s:s,s:i}", "run", call->id, "handler", call->handler, "attempt", call->attempt));
  }
  call->op = (td__write_op_t){finish_run, finish_done, call, 0, NULL};
  td__writer_submit(s->writer, &call->op);
}

int td__sched_start(uv_loop_t *loop, td__writer_t *writer, td__sched_t **out) {
  td__sched_t *s = td__xcalloc(1, sizeof *s);
  s->loop = loop;
  s->writer = writer;
  s->poll_ms = 1000;
  s->lease_ms = 300000;
  td__id_new("lease", s->token);
  registry_frozen = true;
  uv_timer_init(loop, &s->timer);
  s->timer.data = s;
  uv_timer_start(&s->timer, on_timer, 0, s->poll_ms);
  *out = s;
  return 0;
}

void td__sched_set_timing(td__sched_t *s, uint64_t poll_ms, int64_t lease_ms) {
  s->poll_ms = poll_ms ? poll_ms : 1;
  s->lease_ms = lease_ms;
  uv_timer_start(&s->timer, on_timer, 0, s->poll_ms);
}

static void on_timer_closed(uv_handle_t *h) {
  td__sched_t *s = h->data;
  s->timer_closed = true;
  maybe_free(s);
}

void td__sched_stop(td__sched_t *s) {
  if (s == NULL) return;
  s->stopping = true;
  uv_timer_stop(&s->timer);
  uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}
