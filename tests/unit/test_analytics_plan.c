/* test_analytics_plan.c - the analytics plugin's hiring-plan and velocity computations
 * (plugins/analytics/history.c, plan.c, velocity.c, included here since the plugin is not part
 * of talentd_core) on small hand-computed inputs: P(hire | stage type) and the median
 * applied-to-hire time over six applications, expected hires, coverage, required weekly
 * applicants (and its floor of one week), quarters, dates, and a two-week velocity series. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/analytics/metrics.c"
#include "../../plugins/analytics/history.c"
#include "../../plugins/analytics/plan.c"
#include "../../plugins/analytics/velocity.c"

#define D(x) ((int64_t)((x) * (double)HX_DAY_MS)) /* days to ms */
#define HOUR (HX_DAY_MS / 24)
#define EV(kind, type, at) \
  { kind, type, at }
#define APP(log, status) \
  { log, sizeof log / sizeof log[0], status, 0 }

#define LEAD AN_STAGE_LEAD
#define APPLIED AN_STAGE_APPLIED
#define SCREEN AN_STAGE_SCREEN
#define INTERVIEW AN_STAGE_INTERVIEW
#define OFFER AN_STAGE_OFFER
#define HIRED AN_STAGE_HIRED

/* The six applications; now is day 200, the window 180 days: [day 20, day 200]. */
static const hx_event_t a1[] = {EV(AN_CREATED, APPLIED, D(100)), EV(AN_MOVED, SCREEN, D(101)),
                                EV(AN_MOVED, INTERVIEW, D(103)), EV(AN_HIRED, HIRED, D(110))};
static const hx_event_t a2[] = {EV(AN_CREATED, APPLIED, D(100)), EV(AN_MOVED, SCREEN, D(102)),
                                EV(AN_REJECTED, SCREEN, D(104))};
static const hx_event_t a3[] = {EV(AN_CREATED, APPLIED, D(120)), EV(AN_WITHDRAWN, APPLIED, D(121))};
/* a lead who skips screen: lead and applied entered, screen not */
static const hx_event_t a4[] = {EV(AN_CREATED, LEAD, D(90)), EV(AN_MOVED, APPLIED, D(95)),
                                EV(AN_MOVED, INTERVIEW, D(100)), EV(AN_HIRED, HIRED, D(130))};
static const hx_event_t a5[] = {EV(AN_CREATED, APPLIED, D(10)),
                                EV(AN_REJECTED, APPLIED, D(15))}; /* before the window */
static const hx_event_t a6[] = {EV(AN_CREATED, APPLIED, D(150)),
                                EV(AN_MOVED, SCREEN, D(151))}; /* still active */

static void six_rates(hx_rates_t *r) {
  const hx_app_t apps[] = {APP(a1, AN_STATUS_HIRED),     APP(a2, AN_STATUS_REJECTED),
                           APP(a3, AN_STATUS_WITHDRAWN), APP(a4, AN_STATUS_HIRED),
                           APP(a5, AN_STATUS_REJECTED),  APP(a6, AN_ACTIVE)};
  assert_int_equal(hx_hire_rates(apps, 6, D(200), D(180), r), 0);
}

static void test_hire_rates_on_six_applications(void **state) {
  (void)state;
  hx_rates_t r;
  six_rates(&r);
  /* resolved in the window: a1 a2 a3 a4 (a5 resolved on day 15, a6 active) */
  const size_t resolved[HX_TYPES] = {1, 4, 2, 2, 0, 2}, hired[HX_TYPES] = {1, 2, 1, 2, 0, 2};
  for (int t = 0; t < HX_TYPES; t++) {
    assert_int_equal(r.resolved[t], resolved[t]);
    assert_int_equal(r.hired[t], hired[t]);
  }
  assert_true(r.defined[LEAD] && r.p[LEAD] == 1.0);
  assert_true(r.defined[APPLIED] && r.p[APPLIED] == 0.5);
  assert_true(r.defined[SCREEN] && r.p[SCREEN] == 0.5);
  assert_true(r.defined[INTERVIEW] && r.p[INTERVIEW] == 1.0);
  assert_false(r.defined[OFFER]);
  /* applied-to-hire: a1 110 - 100 = 10 days, a4 130 - 95 = 35 days; nearest-rank median = 10 */
  assert_true(r.median_defined);
  assert_int_equal(r.median_to_hire_ms, D(10));
}

static void test_expected_hires_coverage_and_required_weekly(void **state) {
  (void)state;
  hx_rates_t r;
  six_rates(&r);
  const size_t active[HX_TYPES] = {0, 3, 2, 1, 1, 0};
  /* 3 * 0.5 + 2 * 0.5 + 1 * 1.0 + 1 * (offer undefined: 0) = 3.5 */
  double expected = plan_expected_hires(active, &r);
  assert_true(expected == 3.5);
  assert_true(expected / 5.0 == 0.7); /* coverage of 5 openings */
  /* target day 270: deadline day 271 00:00; weeks = (271 - 10 (median) - 200 (now)) / 7 = 61/7;
   * required = (5 - 3.5) / 0.5 / (61/7) = 21/61 */
  double req = -1;
  assert_int_equal(plan_required_weekly(5, expected, &r, 1, plan_deadline_ms(270), D(200), &req), 1);
  assert_true(fabs(req - 21.0 / 61.0) < 1e-12);
  /* a deadline already too close: weeks available floor at 1 -> 1.5 / 0.5 / 1 = 3 */
  assert_int_equal(plan_required_weekly(5, expected, &r, 1, plan_deadline_ms(205), D(200), &req), 1);
  assert_true(req == 3.0);
  /* nothing left to fill: 0 */
  assert_int_equal(plan_required_weekly(3, expected, &r, 1, plan_deadline_ms(270), D(200), &req), 1);
  assert_true(req == 0.0);
  /* no P(hire | applied): undefined */
  hx_rates_t none;
  assert_int_equal(hx_hire_rates(NULL, 0, D(200), D(180), &none), 0);
  assert_false(none.defined[APPLIED]);
  assert_true(plan_expected_hires(active, &none) == 0.0);
  assert_int_equal(plan_required_weekly(5, 0.0, &none, 1, plan_deadline_ms(270), D(200), &req), 0);
  /* a job without a target date still needing hires: undefined */
  assert_int_equal(plan_required_weekly(5, expected, &r, 0, 0, D(200), &req), 0);
}

static void test_current_stay(void **state) {
  (void)state;
  const hx_event_t back[] = {EV(AN_CREATED, APPLIED, D(1)), EV(AN_REJECTED, APPLIED, D(2)),
                             EV(AN_UNREJECTED, APPLIED, D(3)), EV(AN_MOVED, INTERVIEW, D(4))};
  const hx_app_t app = APP(back, AN_ACTIVE), done = APP(a2, AN_STATUS_REJECTED);
  an_stage_type_t t;
  int64_t at;
  assert_int_equal(hx_current(&app, &t, &at), 0);
  assert_int_equal(t, INTERVIEW);
  assert_int_equal(at, D(4));
  assert_int_equal(hx_current(&done, &t, &at), AN_EINVAL);
}

static void test_quarters_and_dates(void **state) {
  (void)state;
  int64_t first, last, day;
  assert_int_equal(hx_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(hx_days_from_civil(2000, 3, 1), 11017);
  assert_int_equal(plan_parse_quarter("2027Q1", &first, &last), 0);
  assert_int_equal(first, 20819); /* 2027-01-01 */
  assert_int_equal(last, 20908);  /* 2027-03-31 */
  assert_int_equal(plan_parse_quarter("2026Q4", &first, &last), 0);
  assert_int_equal(first, 20727); /* 2026-10-01 */
  assert_int_equal(last, 20818);  /* 2026-12-31 */
  const char *bad[] = {"2027Q5", "2027Q0", "2027", "27Q1", "2027Q1x", "1969Q4", "2027-Q1", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(plan_parse_quarter(bad[i], &first, &last), AN_EINVAL);
  assert_int_equal(plan_parse_quarter(NULL, &first, &last), AN_EINVAL);
  assert_int_equal(hx_parse_date("2024-02-29", &day), 0);
  assert_int_equal(day, 19782);
  assert_int_equal(hx_parse_date("2023-02-29", &day), AN_EINVAL);
  assert_int_equal(hx_parse_date("2024-13-01", &day), AN_EINVAL);
  assert_int_equal(hx_parse_date("2024-1-01", &day), AN_EINVAL);
  assert_int_equal(plan_deadline_ms(1), 2 * HX_DAY_MS);
}

/* Now: Wednesday 2026-11-25 12:00 UTC (day 20782); weeks from Monday 2026-11-16 (day 20773)
 * and Monday 2026-11-23 (day 20780). */
#define W0 D(20773)
static void test_velocity_two_weeks(void **state) {
  (void)state;
  const hx_event_t v1[] = {EV(AN_CREATED, APPLIED, W0 + 10 * HOUR), EV(AN_MOVED, SCREEN, W0 + 34 * HOUR),
                           EV(AN_MOVED, INTERVIEW, W0 + D(8) + 10 * HOUR)};
  const hx_event_t v2[] = {EV(AN_CREATED, APPLIED, W0 + D(2)), EV(AN_REJECTED, APPLIED, W0 + D(2) + 6 * HOUR),
                           EV(AN_UNREJECTED, APPLIED, W0 + D(7)),
                           EV(AN_MOVED, SCREEN, W0 + D(7) + 12 * HOUR)};
  const hx_event_t v3[] = {EV(AN_CREATED, APPLIED, W0 - D(6)), EV(AN_MOVED, SCREEN, W0),
                           EV(AN_HIRED, HIRED, W0 + D(9))};
  const hx_app_t apps[] = {APP(v1, AN_ACTIVE), APP(v2, AN_ACTIVE), APP(v3, AN_STATUS_HIRED)};
  velocity_week_t w[2];
  assert_int_equal(velocity_compute(apps, 3, D(20782) + 12 * HOUR, 2, w), 0);
  assert_int_equal(w[0].start_ms, W0);
  assert_int_equal(w[1].start_ms, W0 + D(7));
  /* week 0: entries applied v1 v2, screen v1 v3; applied stays that ended:
   * v1 24 h, v2 6 h, v3 144 h -> median 24 h; no screen stay ended */
  assert_int_equal(w[0].entries[APPLIED], 2);
  assert_int_equal(w[0].entries[SCREEN], 2);
  assert_int_equal(w[0].entries[INTERVIEW], 0);
  assert_int_equal(w[0].closed[APPLIED], 3);
  assert_true(w[0].median_defined[APPLIED]);
  assert_int_equal(w[0].median_ms[APPLIED], 24 * HOUR);
  assert_false(w[0].median_defined[SCREEN]);
  /* week 1: entries screen v2, interview v1, hired v3 (v2's unreject is no entry); applied: v2's reopened
   * stay 12 h; screen: v1 7 days, v3 9 days -> median 7 days */
  assert_int_equal(w[1].entries[APPLIED], 0);
  assert_int_equal(w[1].entries[SCREEN], 1);
  assert_int_equal(w[1].entries[INTERVIEW], 1);
  assert_int_equal(w[1].entries[HIRED], 1);
  assert_int_equal(w[1].median_ms[APPLIED], 12 * HOUR);
  assert_int_equal(w[1].closed[SCREEN], 2);
  assert_int_equal(w[1].median_ms[SCREEN], D(7));
  assert_false(w[1].median_defined[INTERVIEW]);
  /* weeks start on Monday 00:00 UTC */
  assert_int_equal(velocity_week_start(W0 + D(7) - 1), W0);
  assert_int_equal(velocity_week_start(W0 + D(7)), W0 + D(7));
  assert_int_equal(velocity_compute(apps, 3, D(20782), 0, w), AN_EINVAL);
  assert_int_equal(velocity_compute(apps, 3, D(20782), VELOCITY_MAX_WEEKS + 1, w), AN_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hire_rates_on_six_applications),
      cmocka_unit_test(test_expected_hires_coverage_and_required_weekly),
      cmocka_unit_test(test_current_stay),
      cmocka_unit_test(test_quarters_and_dates),
      cmocka_unit_test(test_velocity_two_weeks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
