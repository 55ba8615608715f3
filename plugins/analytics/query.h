/* The query parameters the analytics tables share (job_id, department, source, recruiter_id,
 * from, to) and the scope every table applies for its caller: read once, the same way for
 * every report. */
#ifndef ANALYTICS_QUERY_H
#define ANALYTICS_QUERY_H

#include <talentd/plugin.h>

#include "access.h"
#include "load.h"

/* Reads the caller and the parameters into *acc and *q: 403 for a caller without analytics,
 * 400 naming a bad parameter (from/to: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ", from not
 * after to), 404 for a job_id the caller may not see. Across jobs, q->access limits the
 * scope to the caller's jobs. Returns 0, or a TD_E* code after answering. */
int an_query_begin(const td_host_api_t *api, td_request_t *req, td_tx_t *tx, an_access_t *acc, an_query_t *q);

/* Answers the problem for a report that failed with rc: 404 (TD_ENOTFOUND: no such job), 503
 * (AN_ELIMIT_LOAD: the history is over plugins.analytics.max_transitions), else 500. */
void an_answer_failure(const td_host_api_t *api, td_request_t *req, int rc);

#endif
