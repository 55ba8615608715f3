/* The Monte Carlo hiring forecast (GET /api/v1/analytics/forecast): a model of what happens
 * in each stage type, learned from the history, and a seeded simulation of a job's active
 * applications under it. Pure C11 (no talentd header) so it can be unit-tested alone.
 *
 * Model: per stage type T, every interval in a stage of type T that ended (was closed by a
 * move, a hire, a rejection or a withdrawal) within [since, until], as a (duration, outcome)
 * pair; outcome is the stage type entered next, hired, or out (history.h). Duration and
 * outcome are drawn together, so their relation is kept.
 *
 * Simulation of one active application, currently in type T since `elapsed` ms:
 *   first stay: uniformly among T's intervals longer than elapsed, its remaining time is
 *     duration - elapsed; when no interval is longer, any of T's intervals, its remaining time
 *     is its full duration (the stay lasts elapsed + a draw);
 *   later stays: uniformly among the intervals of the type entered;
 *   it ends when hired (at that time), out, in a type with no interval in the model (stuck:
 *   never hired), or past the horizon (not hired).
 * One simulation runs every application once; the job is filled at the openings_left-th
 * earliest hire (never when fewer hire). Over `simulations` runs: p_filled = share of runs
 * filled at or before the deadline; fill time percentiles p10/p50/p90 by nearest rank over
 * the runs' fill times (metrics.h), undefined when that rank's run was never filled.
 * Random numbers: xoshiro256** seeded through splitmix64 from the seed, consumed in a fixed
 * order (applications in the given order, within each simulation), so the same seed, model
 * and applications give the same result. */
#ifndef ANALYTICS_FORECAST_H
#define ANALYTICS_FORECAST_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"

#define FC_MAX_SIMULATIONS 100000u
#define FC_HORIZON_MS (730 * HX_DAY_MS)

typedef struct fc_type_model {
  int64_t *duration; /* sorted ascending */
  uint8_t *outcome;  /* same index: 0..4 a type, AN_STAGE_HIRED, HX_OUT */
  size_t n;
} fc_type_model_t;

typedef struct fc_model {
  fc_type_model_t types[HX_TYPES];
  size_t intervals; /* in all types */
} fc_model_t;

/* Builds *m from apps' closed intervals that ended in [since_ms, until_ms]. Returns 0 (free
 * with fc_model_free) or AN_ENOMEM (nothing to free). */
int fc_model_build(const hx_app_t *apps, size_t n, int64_t since_ms, int64_t until_ms, fc_model_t *m);
void fc_model_free(fc_model_t *m);

/* One active application to simulate: its current stage type and the time already spent. */
typedef struct fc_active {
  an_stage_type_t type;
  int64_t elapsed_ms;
} fc_active_t;

typedef struct fc_result {
  int p_defined; /* 0 when there is no deadline */
  double p_filled;
  int fill_defined[3]; /* p10, p50, p90 */
  int64_t fill_ms[3];  /* ms after now */
} fc_result_t;

/* Runs `simulations` (1..FC_MAX_SIMULATIONS) simulations of apps under m with the seed.
 * deadline_after_ms: the deadline relative to now (has_deadline 0: none). With
 * openings_left = 0 the job is filled now in every run (p_filled 1, fill times 0). Returns 0,
 * AN_EINVAL for a bad count or AN_ENOMEM. */
int fc_simulate(const fc_model_t *m, const fc_active_t *apps, size_t n, size_t openings_left,
                unsigned simulations, uint64_t seed, int has_deadline, int64_t deadline_after_ms,
                fc_result_t *out);

/* The generator, exposed for tests: seeding and the next 64 random bits. */
typedef struct fc_rng {
  uint64_t s[4];
} fc_rng_t;
void fc_rng_seed(fc_rng_t *r, uint64_t seed);
uint64_t fc_rng_next(fc_rng_t *r);

#endif
