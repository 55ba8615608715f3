/* Loading what the analytics computations need from the database, through the SDK only: one
 * job's pipeline (or the six stage types across jobs) and the filtered applications with
 * their transition logs. */
#ifndef ANALYTICS_LOAD_H
#define ANALYTICS_LOAD_H

#include <talentd/plugin.h>

#include "metrics.h"

typedef struct an_query {
  const char *job_id;       /* NULL: every job, stages grouped by type */
  const char *department;   /* NULL: any */
  const char *source;       /* NULL: any */
  const char *recruiter_id; /* credited_to; NULL: any */
  int has_from, has_to;
  int64_t from_ms, to_ms; /* cohort: applied_at in [from, to) */
} an_query_t;

/* What was loaded: the pipeline, the stages' names and public ids, the applications. */
typedef struct an_data {
  an_stage_t *stages;
  char (*stage_ids)[40]; /* public ids; "" in the per-type mode */
  char (*stage_names)[128];
  size_t stage_count;
  an_application_t *apps;
  size_t app_count, app_cap;
  an_transition_t *transitions;
  size_t transition_count, transition_cap;
  size_t *first;  /* per application, index of its first transition */
  char **strings; /* reasons and sources (owned) */
  size_t string_count, string_cap;
  int job_missing;
} an_data_t;

int an_load(const td_host_api_t *api, td_tx_t *tx, const an_query_t *q, an_data_t *out);
void an_data_free(an_data_t *d);

#endif
