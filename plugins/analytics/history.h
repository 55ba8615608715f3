/* The stage-type view of applications' transition logs that the plan, forecast and velocity
 * reports share: one application's log replayed into intervals (a stay in a stage, by stage
 * type), the trailing hire rates P(hire | stage type), the median applied-to-hire time and an
 * active application's current stay. Plain C11 over plain structs, no talentd header, so the
 * numbers can be unit-tested alone (tests/unit/test_analytics_plan.c and _forecast.c).
 *
 * Replay (the same rules as metrics.h, by stage type instead of stage): created, moved, hired
 * and unrejected enter a stage (open an interval); moved and hired close the open interval
 * with the type entered as its outcome (entering a stage of type hired is the outcome
 * "hired"); rejected and withdrawn close it with the outcome "out". An interval still open at
 * the end of the log has no outcome. */
#ifndef ANALYTICS_HISTORY_H
#define ANALYTICS_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define HX_TYPES 6   /* lead .. hired, the an_stage_type_t values */
#define HX_OUT 6     /* outcome: rejected or withdrawn */
#define HX_OPEN (-1) /* outcome: the interval is still open */
#define HX_DAY_MS 86400000LL

/* One transition reduced to what the reports need. to_type: the type of the stage entered
 * (created, moved, hired, unrejected) or stayed in (rejected, withdrawn). */
typedef struct hx_event {
  an_transition_kind_t kind;
  an_stage_type_t to_type;
  int64_t at_ms;
} hx_event_t;

/* One application: its log in time order (borrowed), its status, and a free index the
 * caller uses to find its job. */
typedef struct hx_app {
  const hx_event_t *events;
  size_t count;
  an_status_t status;
  size_t job;
} hx_app_t;

/* One stay in a stage of type `type`, from entered_ms to left_ms (left_ms = entered_ms and
 * outcome HX_OPEN when still open). outcome: the type entered next (0..4), AN_STAGE_HIRED,
 * HX_OUT, or HX_OPEN. */
typedef struct hx_interval {
  an_stage_type_t type;
  int outcome;
  int64_t entered_ms, left_ms;
} hx_interval_t;

/* Calls fn for each interval of the application in log order (the open one last); a nonzero
 * return from fn stops and is returned. A malformed log (not starting with created, or an
 * action with no stay to act on) is replayed leniently: the odd transition is skipped. */
int hx_each_interval(const hx_app_t *app, int (*fn)(const hx_interval_t *iv, void *data), void *data);

/* The trailing hire rates. The population is the resolved applications of the window: status
 * hired, rejected or withdrawn, whose last hired/rejected/withdrawn transition is at a time in
 * [now - window, now]. resolved[T] counts those that ever entered a stage of type T (created,
 * moved, hired or unrejected into it; a skipped stage is not entered), hired[T] those of them
 * with status hired, and p[T] = hired[T] / resolved[T] (defined[T] = 0 and p[T] = 0 when
 * resolved[T] = 0). median_to_hire_ms is the nearest-rank median (metrics.h) over the hires
 * of the population of (hire time - first entry into a stage of type applied or later);
 * median_defined = 0 (and the value 0) when there was no hire. */
typedef struct hx_rates {
  int64_t window_ms;
  size_t resolved[HX_TYPES], hired[HX_TYPES];
  int defined[HX_TYPES];
  double p[HX_TYPES];
  int median_defined;
  int64_t median_to_hire_ms;
} hx_rates_t;

/* Computes *out over apps for the window ending at now_ms. Returns 0 or AN_ENOMEM. */
int hx_hire_rates(const hx_app_t *apps, size_t n, int64_t now_ms, int64_t window_ms, hx_rates_t *out);

/* An active application's current stay: 0 with its type and entry time, or AN_EINVAL when
 * the log leaves no open interval (not active, or malformed). */
int hx_current(const hx_app_t *app, an_stage_type_t *type, int64_t *entered_ms);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian), and a "YYYY-MM-DD" parser
 * returning 0 and *days, or AN_EINVAL for anything else (including impossible dates). */
int64_t hx_days_from_civil(int y, unsigned m, unsigned d);
int hx_parse_date(const char *s, int64_t *days);

#endif
