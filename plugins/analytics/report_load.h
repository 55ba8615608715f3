/* Loading the stage-type history the plan, forecast and velocity reports replay (history.h):
 * the transition logs of the applications of the jobs the caller may see (access.h), through
 * the SDK only. */
#ifndef ANALYTICS_REPORT_LOAD_H
#define ANALYTICS_REPORT_LOAD_H

#include <talentd/plugin.h>

#include "access.h"
#include "history.h"

typedef struct rl_scope {
  const an_access_t *access;
  const char *job_id, *department, *source, *recruiter_id; /* NULL: any */
  int64_t since_ms;            /* applications not active are loaded only with a transition at or after it */
  const char *mark_department; /* apps of jobs in this department get mark = 1 (NULL: none) */
} rl_scope_t;

/* The loaded applications: apps[i].job is the job's rowid; mark[i] as asked. */
typedef struct rl_data {
  hx_app_t *apps;
  uint8_t *mark;
  size_t app_count, app_cap;
  hx_event_t *events;
  size_t event_count, event_cap;
  size_t *first; /* per application, index of its first event */
} rl_data_t;

/* Returns 0 with *out filled (free with rl_free), or a TD_E* code (nothing to free). */
int rl_load(const td_host_api_t *api, td_tx_t *tx, const rl_scope_t *scope, rl_data_t *out);
void rl_free(rl_data_t *d);

#endif
