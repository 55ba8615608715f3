/* The velocity series (GET /api/v1/analytics/velocity): per ISO week (Monday 00:00 UTC to the
 * next Monday) and stage type, the entries (created, moved and hired transitions into a stage
 * of that type; an unreject re-opens a stay but is not an entry) and the nearest-rank median
 * (metrics.h) of the closed intervals (history.h) in a stage of that type that ENDED that week.
 * Pure C11 (no talentd header), unit-tested in tests/unit/test_analytics_plan.c. */
#ifndef ANALYTICS_VELOCITY_H
#define ANALYTICS_VELOCITY_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"

#define VELOCITY_MAX_WEEKS 104u

typedef struct velocity_week {
  int64_t start_ms; /* Monday 00:00 UTC */
  size_t entries[HX_TYPES];
  size_t closed[HX_TYPES];
  int median_defined[HX_TYPES];
  int64_t median_ms[HX_TYPES];
} velocity_week_t;

/* Monday 00:00 UTC of the ISO week holding ms (ms >= 0). */
int64_t velocity_week_start(int64_t ms);

/* Fills out[0..weeks) with the `weeks` ISO weeks ending with the one holding now_ms, oldest
 * first. weeks: 1..VELOCITY_MAX_WEEKS. Returns 0, AN_EINVAL or AN_ENOMEM. */
int velocity_compute(const hx_app_t *apps, size_t n, int64_t now_ms, unsigned weeks, velocity_week_t *out);

#endif
