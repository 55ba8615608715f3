/* Source attribution of hires (issue 4; ARCHITECTURE section 9): which touch sources get the
 * credit for each hire. Plain C11 over plain structs, no talentd header, so the numbers can
 * be tested alone (tests/unit/test_analytics_attribution.c); sources.c loads the touches.
 *
 * Definitions, exactly as computed. For each hire (one hired application), the touches that
 * count are the candidate's touches with at <= the hire's time (the 'hired' transition's at;
 * a touch at the very ms of the hire counts, a later one does not). They are ordered by
 * (at, seq), seq being the order of recording (the touches table's rowid), so two touches at
 * the same ms are ordered by which was recorded first. Then:
 *   first_touch  credits 1 to the source of the first touch in that order;
 *   last_touch   credits 1 to the source of the last one;
 *   linear       credits 1/n to the source of each of the n touches (a source touched twice
 *                gets 2/n).
 * A hire with no touch that counts credits 1 in every column to its application's source
 * ("unknown" when it has none), and is counted in `untouched`. So each column sums to the
 * number of hires (linear up to rounding). Sources are compared byte for byte. */
#ifndef ANALYTICS_ATTRIBUTION_H
#define ANALYTICS_ATTRIBUTION_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h" /* AN_ENOMEM */

typedef struct at_touch {
  const char *source; /* borrowed; never NULL */
  int64_t at_ms;
  int64_t seq; /* order of recording: breaks ties at the same at_ms */
} at_touch_t;

typedef struct at_hire {
  int64_t hired_at_ms;
  const char *app_source;    /* borrowed; NULL: "unknown" */
  const at_touch_t *touches; /* the candidate's touches, in any order (borrowed) */
  size_t count;
} at_hire_t;

typedef struct at_credit {
  const char *source; /* borrowed from the input (or the static "unknown") */
  double first_touch, last_touch, linear;
} at_credit_t;

typedef struct at_result {
  at_credit_t *rows; /* owned; one per credited source, by source (strcmp order) */
  size_t count;
  size_t hires;     /* the hires given */
  size_t untouched; /* hires without a touch that counts */
} at_result_t;

/* Credits the n hires. Returns 0 with *out filled (free with at_result_free) or AN_ENOMEM
 * (nothing to free). */
int at_attribute(const at_hire_t *hires, size_t n, at_result_t *out);

/* The row of source, or NULL when it got no credit. */
const at_credit_t *at_find(const at_result_t *r, const char *source);

void at_result_free(at_result_t *r);

/* How often a source label was recorded with a channel. */
typedef struct at_channel_count {
  const char *source, *channel; /* borrowed */
  int64_t count;
} at_channel_count_t;

/* Sorts v for at_channel_of: by source, then count (descending), then channel. */
void at_channels_sort(at_channel_count_t *v, size_t n);

/* The channel of a source label: its most frequent channel in v (sorted by
 * at_channels_sort); on a tie the channel first in strcmp order; NULL when v has none. */
const char *at_channel_of(const at_channel_count_t *v, size_t n, const char *source);

#endif
