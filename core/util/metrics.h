/* Server metrics in the Prometheus text format: requests by route and status, request
 * latency, event-loop lag and database commit latency. Thread-safe. */
#ifndef TD_UTIL_METRICS_H
#define TD_UTIL_METRICS_H

#include "util/buf.h"

/* route is a pattern such as "/api/v1/candidates/{id}" (never a raw path: no ids in labels). */
void td__metrics_observe_request(const char *method, const char *route, int status, double seconds);
void td__metrics_observe_loop_lag(double seconds);
void td__metrics_observe_commit(double seconds);
/* Adds n to a named counter (e.g. "td_login_failures_total"). */
void td__metrics_count(const char *name, double n);
void td__metrics_render(td__buf_t *out);

#endif
