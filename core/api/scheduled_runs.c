/* /api/v1/scheduled-runs: the durable scheduled runs (sched/sched.h), for admins: list them
 * (filtered by status and handler) and cancel one. Runs are created by plugins and scripts
 * through td__sched_at/after/cron, not through this API. */
#include <string.h>

#include "api/routes.h"
#include "sched/sched.h"
#include "talentd/types.h"

typedef struct runs_query {
  const char *status;
  const char *handler;
} runs_query_t;

static int list_runs(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items, int64_t *next) {
  const runs_query_t *q = arg;
  return td__sched_list(ctx, q->status, q->handler, limit, after, items, next);
}

static int runs_list(td__call_t *call) {
  runs_query_t q = {td__call_query(call, "status"), td__call_query(call, "handler")};
  if (q.status && *q.status == '\0') q.status = NULL;
  if (q.handler && *q.handler == '\0') q.handler = NULL;
  return td__call_list(call, list_runs, &q);
}

static int runs_cancel(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  int rc = td__sched_cancel(&ctx, call->params[0]);
  if (td__call_from_ctx(call, &ctx, rc) != 0) return TD_EINVAL;
  td__call_audit(call, "scheduled_run", call->params[0]);
  call->status = 204;
  return 0;
}

const td__route_t td__routes_scheduled_runs[] = {
    {"GET", "/api/v1/scheduled-runs", TD_RUN_READ, runs_list, NULL, NULL, TD_ROUTE_ADMIN},
    {"DELETE", "/api/v1/scheduled-runs/{id}", TD_RUN_WRITE, runs_cancel, NULL, NULL, TD_ROUTE_ADMIN},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
