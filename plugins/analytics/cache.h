/* The analytics plugin's in-memory copy of the recruiting history: every application's
 * attributes and its whole transition log, kept up to date incrementally so a report over a
 * million applications does not re-read five million rows.
 *
 * Why it can be incremental: stage_transitions is append-only and numbered in order, so new
 * rows are exactly those past the last rowid seen; an application's status changes only with
 * a transition (its new status follows from the transition's kind) and its job, source,
 * credit and date never change (applications have no PATCH: revisit this if they get one);
 * applications disappear only with their candidate (erasure), which the cache notices as a
 * count that no longer adds up and answers with a full reload. Rows appended since the last full load sit in per-application overflow
 * chains; when they grow past a quarter of the base the next refresh reloads everything.
 *
 * One process-wide cache, behind a mutex held from an_cache_acquire to an_cache_release:
 * reports use it one at a time (each is CPU-bound on a 2-core machine anyway) and never see
 * it change under them. Memory: about 48 bytes per transition and 64 per application; a
 * history over the configured maximum is refused (AN_ELIMIT_LOAD). */
#ifndef ANALYTICS_CACHE_H
#define ANALYTICS_CACHE_H

#include <stdint.h>
#include <talentd/plugin.h>

#include "intern.h"
#include "metrics.h"

typedef struct an_cache_app {
  int64_t rowid, job_rowid, applied_at_ms;
  const char *source, *credited_to; /* interned; may be NULL */
  an_status_t status;
  uint32_t first, count;  /* the slice of the base log */
  int32_t extra_head;     /* first overflow transition, -1: none */
  int32_t extra_tail;     /* last overflow transition */
  uint32_t extra_count;
} an_cache_app_t;

typedef struct an_cache {
  an_intern_t strings;
  an_cache_app_t *apps; /* in rowid order */
  size_t app_count, app_cap;
  int32_t *app_map; /* rowid - app_lo -> index, -1: none */
  int64_t app_lo;
  size_t app_span;
  an_transition_t *base; /* stage ids are stage rowids */
  size_t base_count;
  an_transition_t *extra;
  int32_t *extra_next;
  size_t extra_count, extra_cap;
  int64_t last_transition_rowid, last_app_rowid;
  int built;
  size_t max_transitions;
  /* Working arrays of the report holding the cache (load.c), kept between reports: a report
   * over a million applications would otherwise map and unmap tens of megabytes each time,
   * and page faults stall every thread of the process, the loop included. */
  an_application_t *work_apps;
  int64_t *work_rowids;
  size_t work_cap;
  an_transition_t *work_scratch;
  size_t work_scratch_cap;
} an_cache_t;

/* Locks the cache and brings it up to date inside tx (a read transaction). Returns 0 with
 * the cache in *out (valid until an_cache_release), or an error with the cache unlocked:
 * a TD_E* code from the SDK, AN_ENOMEM, AN_EINVAL (an unknown kind in the log) or
 * AN_ELIMIT_LOAD (more transitions than an_cache_configure allows). */
int an_cache_acquire(const td_host_api_t *api, td_tx_t *tx, an_cache_t **out);
void an_cache_release(an_cache_t *cache);

/* Application i's whole log in order: the base slice when it has no overflow (no copy, *log
 * points into the cache), else a merged copy written to scratch (which must hold count +
 * extra_count entries). */
const an_transition_t *an_cache_log(const an_cache_t *cache, size_t i, an_transition_t *scratch);

/* Sets the most transitions the cache may hold (plugins.analytics.max_transitions; 0: the
 * default 10,000,000). Called at init. */
void an_cache_configure(size_t max_transitions);

/* Makes the working arrays hold n applications and scratch transitions. 0 or AN_ENOMEM. */
int an_cache_reserve(an_cache_t *cache, size_t n, size_t scratch);

/* Frees everything (plugin shutdown). */
void an_cache_reset(void);

#endif
