/* /api/v1/candidates/{id}/touches: a person's contacts with us (applications, pools,
 * sequences, referrals, job-board clicks, events), listed for anyone who may see the
 * candidate and recorded by integrators. Handlers decode and encode; the rules live in
 * domain/touches.c. */
#include "api/routes.h"
#include "domain/touches.h"
#include "talentd/types.h"

static int touches_create(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *touch = NULL;
  int rc = td__touch_create(&ctx, call->params[0], call->body, &touch);
  if (td__call_from_ctx(call, &ctx, rc)) return TD_EINVAL;
  td__call_audit(call, "touch", json_string_value(json_object_get(touch, "id")));
  td__call_set_result(call, 201, touch);
  return 0;
}

/* arg is the candidate id of the path. */
static int list_touches(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items, int64_t *next) {
  return td__touch_list(ctx, arg, limit, after, items, next);
}

static int touches_list(td__call_t *call) { return td__call_list(call, list_touches, call->params[0]); }

const td__route_t td__routes_touches[] = {
    {"POST", "/api/v1/candidates/{id}/touches", TD_RUN_WRITE, touches_create, NULL, "TouchCreate", 0},
    {"GET", "/api/v1/candidates/{id}/touches", TD_RUN_READ, touches_list, NULL, NULL, 0},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
