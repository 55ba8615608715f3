/* The hiring plan's numbers (GET /api/v1/analytics/plan): the quarter, and per job the
 * expected hires from the active pipeline, coverage and the required weekly applicants.
 * Pure C11 (no talentd header) so the definitions can be unit-tested alone; README.md states
 * them in the same words. */
#ifndef ANALYTICS_PLAN_H
#define ANALYTICS_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"

#define PLAN_WEEK_MS (7 * HX_DAY_MS)

/* "YYYYQn" (year 1970..9999, n 1..4) -> the quarter's first and last day, as days since
 * 1970-01-01 (both inclusive). Returns 0, or AN_EINVAL for anything else. */
int plan_parse_quarter(const char *s, int64_t *first_day, int64_t *last_day);

/* Σ over the active applications of P(hire | current stage type): active[T] applications
 * currently in a stage of type T, each counted with rates->p[T] (0 when undefined: no
 * evidence that such an application is ever hired). */
double plan_expected_hires(const size_t active[HX_TYPES], const hx_rates_t *rates);

/* The deadline of a target date: the end of that day, 00:00 UTC of the next day, in ms. */
int64_t plan_deadline_ms(int64_t target_day);

/* Weeks available to find applicants for a deadline: (deadline - median applied-to-hire time
 * - now) in weeks (a fraction), at least 1; with no median (no hire in the window) the median
 * counts as 0. */
double plan_weeks_available(int64_t deadline_ms, const hx_rates_t *rates, int64_t now_ms);

/* Required weekly applicants = max(0, openings_left - expected) / P(hire | applied) / weeks
 * available. Returns 1 and *out, or 0 (undefined: P(hire | applied) undefined or 0, or no
 * deadline when has_deadline = 0 and something is left to fill). With nothing left to fill
 * (openings_left <= expected) it is 0 whenever P(hire | applied) is defined and positive. */
int plan_required_weekly(size_t openings_left, double expected, const hx_rates_t *rates, int has_deadline,
                         int64_t deadline_ms, int64_t now_ms, double *out);

#endif
