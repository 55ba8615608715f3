/* The route handlers of the plan, forecast and velocity reports (README.md has the
 * definitions): each reads its parameters, applies the access rule (access.h), loads the
 * history (report_load.h), calls the pure computation (plan.h, forecast.h, velocity.h) and
 * answers a plain JSON object. All run on a reader thread (TD_PLUGIN_ROUTE_READ). */
#ifndef ANALYTICS_REPORTS_H
#define ANALYTICS_REPORTS_H

#include <talentd/plugin.h>

#include "access.h"

/* Keeps the host table for the handlers; call from the plugin's init. */
void an_reports_init(const td_host_api_t *api);

int an_get_plan(td_request_t *req, td_tx_t *tx, void *data);
/* The plan report for quarter ("2027Q1") as the caller acc would see it, in a read
 * transaction: 0 with *out (new reference), TD_EINVAL for a bad quarter, or a load error.
 * The weekly digest uses it for each hiring manager. */
int an_plan_build(td_tx_t *tx, const an_access_t *acc, const char *quarter, const char *dept, int64_t now,
                  json_t **out);
int an_get_forecast(td_request_t *req, td_tx_t *tx, void *data);
int an_get_velocity(td_request_t *req, td_tx_t *tx, void *data);

#endif
