/* /api/v1/deliveries: the event deliveries to subscribers (hooks/delivery.h), for admins:
 * list them by status (dead letters: ?status=dead) and subscriber package, and replay one
 * (back to pending, due now, attempts reset). Delivery rows carry no personal data, but the
 * events they point to name objects of every job, so admins only. */
#include <string.h>

#include "api/routes.h"
#include "hooks/delivery.h"
#include "talentd/types.h"

typedef struct delivery_query {
  const char *status;
  const char *package;
} delivery_query_t;

static int list_deliveries(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items,
                           int64_t *next) {
  const delivery_query_t *q = arg;
  return td__delivery_list(ctx->db, q->status, q->package, limit, after, items, next);
}

static const char *nonempty(const char *s) { return s && *s ? s : NULL; }

static int deliveries_list(td__call_t *call) {
  delivery_query_t q = {nonempty(td__call_query(call, "status")),
                        nonempty(td__call_query(call, "subscriber"))};
  static const char *const STATUSES[] = {"pending", "failed", "ok", "dead", NULL};
  if (q.status) {
    size_t i = 0;
    while (STATUSES[i] && strcmp(STATUSES[i], q.status) != 0) i++;
    if (STATUSES[i] == NULL)
      return td__problem_query(call, "status", "must be one of pending, failed, ok, dead");
  }
  return td__call_list(call, list_deliveries, &q);
}

static int deliveries_replay(td__call_t *call) {
  json_t *delivery = NULL;
  int rc = td__delivery_replay(call->db, call->params[0], call->now_ms, &delivery);
  if (rc) return td__problem_from_code(call, rc, "delivery");
  td__call_audit(call, "delivery", call->params[0]);
  td__call_set_result(call, 200, delivery);
  return 0;
}

const td__route_t td__routes_deliveries[] = {
    {"GET", "/api/v1/deliveries", TD_RUN_READ, deliveries_list, NULL, NULL, TD_ROUTE_ADMIN},
    {"POST", "/api/v1/deliveries/{id}/replay", TD_RUN_WRITE, deliveries_replay, NULL, "DeliveryReplay",
     TD_ROUTE_ADMIN},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
