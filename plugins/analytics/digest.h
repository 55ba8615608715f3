/* The weekly hiring-plan digest: each hiring manager gets the current quarter's plan over
 * their jobs by email, on plugins.analytics.digest_cron (default Mondays 07:00, in
 * digest_time_zone), through the mail service of talentd/mail.h (the sequences plugin's SMTP
 * outbox). Without that service or its SMTP settings the digest is skipped cleanly, and says
 * so. Admins can send it now with POST /api/v1/analytics/digest. */
#ifndef ANALYTICS_DIGEST_H
#define ANALYTICS_DIGEST_H

#include <talentd/plugin.h>

/* Registers the route, the run handler and the server.started subscription that keeps one
 * weekly schedule pending (and then warms the history cache, cache.h, off the loop). */
int an_digest_init(td_plugin_t *self, const td_host_api_t *api);

/* Queues every manager's digest in tx: 0 with *result {"sent","without_jobs_due","refused",
 * "skipped"} ("skipped": why nothing was sent, or null). */
int an_digest_send(td_tx_t *tx, json_t **result);

#endif
