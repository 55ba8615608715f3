/* /api/v1/hooks: every registered filter and event subscriber in resolved order, with its
 * circuit breaker state, for admins (the breaker also shows in /metrics and the log). */
#include "api/routes.h"
#include "hooks/registry.h"

static int hooks_list(td__call_t *call) {
  td__call_set_result(call, 200, json_pack("{s:o}", "data", td__hooks_describe()));
  return 0;
}

const td__route_t td__routes_hooks[] = {
    {"GET", "/api/v1/hooks", TD_RUN_READ, hooks_list, NULL, NULL, TD_ROUTE_ADMIN},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
