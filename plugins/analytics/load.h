/* The scope of one analytics table: one job's pipeline (or the six stage types across jobs,
 * with a map from every stage in scope to its type), loaded with small queries, and the
 * filtered applications with their transition logs, taken from the in-memory history
 * (cache.h) so a report over a million applications reads only what changed since the last
 * one. A history over max_transitions is refused with AN_ELIMIT_LOAD. */
#ifndef ANALYTICS_LOAD_H
#define ANALYTICS_LOAD_H

#include <talentd/plugin.h>

#include "access.h"
#include "cache.h"
#include "metrics.h"


typedef struct an_query {
  const char *job_id;       /* NULL: every job, stages grouped by type */
  const char *department;   /* NULL: any */
  const char *source;       /* NULL: any */
  const char *recruiter_id; /* credited_to; NULL: any */
  const an_access_t *access; /* across jobs: only the jobs this caller may see (access.h);
                                NULL: every job. With job_id the caller checks the job. */
  int has_from, has_to;
  int64_t from_ms, to_ms; /* cohort: applied_at in [from, to) */
} an_query_t;

/* What was loaded: the pipeline, the stages' names and public ids, the applications. While
 * an an_data_t is alive it holds the history cache (cache.h): free it promptly. */
typedef struct an_data {
  an_stage_t *stages;
  char (*stage_ids)[40]; /* public ids; "" in the per-type mode */
  char (*stage_names)[128];
  size_t stage_count;
  an_application_t *apps; /* logs point into the cache or scratch */
  int64_t *app_rowids;    /* per application, its rowid */
  size_t app_count, transition_count;
  an_stage_map_t map; /* per-type mode: stage rowid -> type */
  int has_map;
  an_transition_t *scratch; /* merged logs of applications changed since the last full load */
  struct an_cache *cache;   /* held until an_data_free */
  int job_missing;
} an_data_t;

/* Loads q's scope. Returns 0, a TD_E* code from the SDK, AN_EINVAL (a bad stage type or
 * transition kind in the database), AN_ENOMEM or AN_ELIMIT_LOAD. */
int an_load(const td_host_api_t *api, td_tx_t *tx, const an_query_t *q, an_data_t *out);
/* The pipeline to compute d's tables on (with the per-type map when there is one). */
an_pipeline_t an_data_pipeline(const an_data_t *d);
void an_data_free(an_data_t *d);

#endif
