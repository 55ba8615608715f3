/* GET /api/v1/analytics/sources: per source label, the applications of the cohort, how far
 * they got by stage type, the hires, and the credit each source gets for the hires under
 * first-touch, last-touch and linear attribution (attribution.h). README.md states the
 * definitions. Runs on a reader thread (TD_PLUGIN_ROUTE_READ). */
#ifndef ANALYTICS_SOURCES_H
#define ANALYTICS_SOURCES_H

#include <talentd/plugin.h>

/* Keeps the host table for the handler; call from the plugin's init. */
void an_sources_init(const td_host_api_t *api);

int an_get_sources(td_request_t *req, td_tx_t *tx, void *data);

#endif
