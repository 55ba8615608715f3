/* The analytics plugin's pure computations: conversion (reached per stage), time in stage
 * and drop-off for one job's pipeline, from each application's stage-transition log.
 * Plain C11 over plain structs, no talentd header, so the numbers can be tested alone; the
 * plugin fills the structs from stage_transitions and formats the results. The definitions
 * below are the published ones (issue 4, ARCHITECTURE section 9), stated exactly as computed.
 *
 * Replaying one application's transitions (in time order):
 *   created     enters to_stage (the first transition, and only the first).
 *   moved       leaves the current stage (its interval closes at `at`) and enters to_stage.
 *   hired       the same as moved, into the hired stage; the interval in the hired stage then
 *               stays open (the application is done, but it never left that stage).
 *   rejected,
 *   withdrawn   the application drops out of its current stage: that interval closes at `at`
 *               (time in stage measures how long applications sat in S, whatever ended it), and
 *               one drop-off is counted at the current stage, by kind and by reason.
 *   unrejected  re-enters the current stage: a new interval opens at `at`.
 * A stage entry is any created, moved, hired or unrejected transition; each entry opens one
 * interval, which is closed by the next moved, hired, rejected or withdrawn transition, or is
 * still open at the end of the log.
 *
 * Definitions:
 *   reached(S)     the number of applications whose furthest position ever entered (creation
 *                  included; a move backwards does not lower it) is >= position(S). A skipped
 *                  stage therefore counts as reached.
 *   conversion(S)  reached(next stage) / reached(S). It is undefined (conversion_defined = 0,
 *                  conversion = NAN; JSON null) for the last stage and when reached(S) = 0.
 *   time in S      one duration (exit - entry, in ms) per closed interval in S; `count` is the
 *                  number of closed intervals, `open` the number of intervals still open.
 *                  Percentiles use the nearest-rank method over the sorted closed durations
 *                  d[0] <= ... <= d[n-1]: pP = d[ceil(P * n / 100) - 1] (computed in integers as
 *                  (P * n + 99) / 100 - 1), so the median is p50, the lower middle value when n is
 *                  even, and every reported value is an observed duration. With n = 0 the
 *                  percentiles are undefined (stats_defined = 0, values 0).
 *   drop-off at S  the rejected and withdrawn transitions made while the application was in S
 *                  (an application rejected, unrejected and rejected again counts twice), by kind
 *                  and by reason.
 * Applications are counted only when they pass the filter (cohort by applied_at in [from, to),
 * and source). A re-application is a separate application with its own log. */
#ifndef ANALYTICS_METRICS_H
#define ANALYTICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Error codes, equal to the SDK's TD_ENOMEM and TD_EINVAL so the plugin can pass them on. */
#define AN_ENOMEM (-1)
#define AN_EINVAL (-2)
#define AN_ELIMIT_LOAD (-7) /* TD_ELIMIT: a history larger than the configured maximum (cache.h) */

typedef enum an_stage_type {
  AN_STAGE_LEAD,
  AN_STAGE_APPLIED,
  AN_STAGE_SCREEN,
  AN_STAGE_INTERVIEW,
  AN_STAGE_OFFER,
  AN_STAGE_HIRED
} an_stage_type_t;

typedef enum an_transition_kind {
  AN_CREATED,
  AN_MOVED,
  AN_REJECTED,
  AN_WITHDRAWN,
  AN_UNREJECTED,
  AN_HIRED
} an_transition_kind_t;

typedef enum an_status { AN_ACTIVE, AN_STATUS_REJECTED, AN_STATUS_WITHDRAWN, AN_STATUS_HIRED } an_status_t;

/* One stage of a pipeline. */
typedef struct an_stage {
  int64_t stage_id;
  an_stage_type_t type;
  int position; /* 0-based order in the pipeline */
} an_stage_t;

/* Maps the stage ids the transitions carry (database rowids) to pipeline indexes, densely
 * over [lo, lo + span): for tables that group many stages into one row (per stage type
 * across jobs). */
typedef struct an_stage_map {
  int64_t lo;
  size_t span;
  const int *index; /* pipeline index, or -1 for a stage outside the pipeline */
} an_stage_map_t;

/* A job's pipeline: stages in position order (positions strictly increasing, ids distinct).
 * With map (may be NULL), a transition's stage id is looked up in map instead of being
 * matched against the stages' ids. */
typedef struct an_pipeline {
  const an_stage_t *stages; /* borrowed */
  size_t count;
  const an_stage_map_t *map; /* borrowed; NULL: stage ids are the stages' own */
} an_pipeline_t;

/* One row of stage_transitions, as the log stores it: from_stage is -1 for created; for
 * rejected, withdrawn and unrejected to_stage is the stage the application stays in. */
typedef struct an_transition {
  an_transition_kind_t kind;
  int64_t from_stage;
  int64_t to_stage;
  int64_t at_ms;
  const char *reason; /* borrowed; may be NULL */
} an_transition_t;

/* One application and its log in time order. status and source are carried for the filter
 * and the later tables (sources, plan); the replay relies on the log alone. */
typedef struct an_application {
  const an_transition_t *transitions; /* borrowed */
  size_t count;
  an_status_t status;
  const char *source; /* borrowed; may be NULL */
  int64_t applied_at_ms;
} an_application_t;

/* Which applications count. A zeroed filter lets every application through. */
typedef struct an_filter {
  int has_from, has_to;
  int64_t from_ms, to_ms; /* applied_at_ms in [from_ms, to_ms) when the bound is set */
  const char *source;     /* borrowed; NULL: any source */
} an_filter_t;

/* Drop-offs at one stage with one reason (reason NULL groups the transitions without one). */
typedef struct an_reason_count {
  const char *reason; /* borrowed from the input transitions */
  size_t rejected, withdrawn, total;
} an_reason_count_t;

/* The three tables' numbers for one stage (same index as the pipeline's stages). */
typedef struct an_stage_metrics {
  /* conversion */
  size_t reached;
  int conversion_defined;
  double conversion; /* NAN when !conversion_defined */
  /* time in stage */
  size_t count, open; /* closed intervals; intervals still open */
  int stats_defined;  /* count > 0 */
  int64_t median_ms, p75_ms, p90_ms;
  /* drop-off */
  size_t rejected, withdrawn;
  an_reason_count_t *reasons; /* owned by the report; by total desc, then reason asc (NULL first) */
  size_t reason_count;
} an_stage_metrics_t;

typedef struct an_report {
  an_stage_metrics_t *stages; /* owned; pipeline->count entries */
  size_t stage_count;
  size_t applications;    /* applications that passed the filter */
  size_t bad_application; /* on AN_EINVAL: index of the application whose log is invalid, or
                             SIZE_MAX when the pipeline itself is invalid */
} an_report_t;

/* Computes the report over the applications passing filter (NULL: all). Every application's
 * log is checked while replayed: it starts with created and only there, times never go back,
 * stages are the pipeline's, from_stage matches the current stage, and each kind is legal in
 * the state (moved/hired/rejected/withdrawn need an open interval, unrejected a closed one, and
 * nothing follows hired). Logs of filtered-out applications are not checked. Returns 0 with
 * *out filled (free it with an_report_free), AN_EINVAL (out->bad_application says where;
 * nothing to free) or AN_ENOMEM. The result's reason strings are borrowed from the input. */
int an_compute(const an_pipeline_t *pipeline, const an_application_t *apps, size_t app_count,
               const an_filter_t *filter, an_report_t *out);

/* Frees what an_compute allocated; safe on a zeroed report and twice. */
void an_report_free(an_report_t *report);

/* The nearest-rank percentile (see above) of n sorted durations, 0 < p <= 100, n > 0. */
int64_t an_percentile(const int64_t *sorted, size_t n, unsigned p);

/* Names as stored ("lead", ..., "hired"; "created", ..., "hired") and back. The parsers return
 * 0 and set *out, or AN_EINVAL for an unknown name. */
const char *an_stage_type_name(an_stage_type_t type);
int an_stage_type_parse(const char *name, an_stage_type_t *out);
const char *an_transition_kind_name(an_transition_kind_t kind);
int an_transition_kind_parse(const char *name, an_transition_kind_t *out);

#endif
