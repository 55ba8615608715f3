/* Scheduled runs: named, durable runs of a handler at a time, after a delay, or on a cron
 * expression, with a retry policy (ARCHITECTURE section 2). Runs live in the
 * scheduled_runs table, survive restarts, and bind to their handler by NAME, never to a
 * closure, so a plugin or script reloaded later still receives the runs it scheduled.
 *
 * Registry threading contract (like hooks/registry.h): handlers are registered at start-up
 * only, on the thread that starts the server, before td__sched_start; td__sched_start
 * freezes the registry, after which td__sched_register fails with TD_EDENIED and lookups
 * need no locks.
 *
 * The runner: a loop timer submits a writer op that finds the due runs (pending with
 * run_at <= now, or running with an expired lease held by another process) and claims each
 * with a lease (status running, leased_until, lease_token, attempts + 1), so no query ever
 * runs on the loop thread. The claimed runs' handlers are then called on the loop thread;
 * each calls td__sched_finish once, possibly later (handlers may do I/O). A writer op then
 * marks the run done, schedules the retry (exponential backoff: backoff_ms * 2^(attempt-1),
 * capped at backoff_max_ms), or marks it dead after max_attempts; a cron run also inserts
 * its next occurrence. Delivery is at least once: a handler must tolerate a repeat. */
#ifndef TD_SCHED_SCHED_H
#define TD_SCHED_SCHED_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "domain/context.h"
#include "sched/cron.h"
#include "store/writer.h"
#include "util/id.h"

#define TD_SCHED_NAME_MAX 64

typedef struct td__sched td__sched_t;

/* What a handler receives. Everything is borrowed until td__sched_finish. */
typedef struct td__sched_call {
  char id[TD_ID_MAX];              /* the run's public id */
  char handler[TD_SCHED_NAME_MAX]; /* the handler's name */
  json_t *payload;                 /* the payload given when scheduling */
  int attempt;                     /* 1 for the first attempt */
  int64_t run_at_ms;               /* when it was due */
  /* private */
  td__sched_t *sched;
  char lease_token[TD_ID_MAX];
  int max_attempts;
  int64_t backoff_ms, backoff_max_ms;
  char *cron, *time_zone;
  int rc;
  char *error;
  td__write_op_t op;
} td__sched_call_t;

/* A handler: runs on the loop thread and must call td__sched_finish(call, ...) exactly once,
 * now or later on the loop thread. It must not block. data is the registrant's. */
typedef void (*td__sched_handler_fn)(td__sched_call_t *call, void *data);

/* Reports the outcome of a run: rc 0 for success, else a failure with error (copied; no
 * personal data) that is retried or ends the run as dead. Takes call. */
void td__sched_finish(td__sched_call_t *call, int rc, const char *error);

/* Registers fn under name for package (both copied; name is [a-z0-9_.:-], 1..63 bytes).
 * Returns 0, TD_EINVAL, TD_ECONFLICT for a name taken, TD_ENOMEM, or TD_EDENIED once the
 * runner has started (registration is allowed at start-up only). data is borrowed until
 * td__sched_reset. */
int td__sched_register(const char *name, const char *package, td__sched_handler_fn fn, void *data);
/* Registers fn for every handler name that starts with prefix and has no exact registration
 * (the longest prefix wins): for families of handlers that come and go while the server
 * runs (a Lua script's talent.on_run names, "script.<package>.<name>"), which the frozen
 * registry could not take one by one. call->handler carries the full name. Same rules and
 * errors as td__sched_register. */
int td__sched_register_prefix(const char *prefix, const char *package, td__sched_handler_fn fn, void *data);

/* Forgets every handler and unfreezes: for tests and shutdown only. */
void td__sched_reset(void);

/* A retry policy. NULL everywhere means the default: 3 attempts, 1 s backoff, 1 h cap. */
typedef struct td__sched_retry {
  int max_attempts;       /* >= 1 */
  int64_t backoff_ms;     /* delay before the second attempt, doubled each time */
  int64_t backoff_max_ms; /* cap of the delay */
} td__sched_retry_t;

/* Schedule a run of handler_name with payload (borrowed; a JSON object, or NULL for {})
 * inside the caller's write transaction (ctx->db). The new run's id goes to id_out (may be
 * NULL). They refuse through ctx (td__fail_field, 422) a bad name, time, expression or
 * policy, and return TD_EINVAL then; or a TD_E* storage error. The handler need not be
 * registered yet: a run whose handler is unknown when due fails and is retried. */
int td__sched_at(td__ctx_t *ctx, const char *handler_name, int64_t run_at_ms, const json_t *payload,
                 const td__sched_retry_t *retry, char id_out[TD_ID_MAX]);
int td__sched_after(td__ctx_t *ctx, const char *handler_name, int64_t delay_ms, const json_t *payload,
                    const td__sched_retry_t *retry, char id_out[TD_ID_MAX]);
/* The first occurrence is the first time expr fires after ctx->now_ms in time_zone (see
 * cron.h for what is supported; NULL is UTC). */
int td__sched_cron(td__ctx_t *ctx, const char *handler_name, const char *expr, const char *time_zone,
                   const json_t *payload, const td__sched_retry_t *retry, char id_out[TD_ID_MAX]);

/* Cancels a pending or running run (a running handler is not interrupted; its outcome is
 * then ignored and a cron series is not continued). TD_ENOTFOUND (404 on ctx) for no such
 * run, TD_ECONFLICT (409 on ctx) when it already finished. */
int td__sched_cancel(td__ctx_t *ctx, const char *id);
/* A page of runs (rowid order) filtered by status and handler (NULL: any), as API JSON.
 * A bad status is refused (400 on ctx for the query parameter). */
int td__sched_list(td__ctx_t *ctx, const char *status, const char *handler, int limit, int64_t after,
                   json_t **items, int64_t *next);

/* Starts the runner on loop, claiming and finishing runs through writer (borrowed; stop the
 * runner before the writer). Freezes the handler registry. Returns 0 or TD_ENOMEM. */
int td__sched_start(uv_loop_t *loop, td__writer_t *writer, td__sched_t **out);
/* Timing knobs, for tests: how often due runs are looked for, and the lease length (a run
 * whose handler has not finished by then may run again after a restart). Defaults: 1000 ms
 * and 300000 ms. */
void td__sched_set_timing(td__sched_t *s, uint64_t poll_ms, int64_t lease_ms);
/* Stops looking for runs; on the loop thread. Runs in flight keep their lease (they run
 * again after it expires, at least once); outcomes reported after the stop are dropped.
 * Frees s once nothing of it is pending. */
void td__sched_stop(td__sched_t *s);

#endif
