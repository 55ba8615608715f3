/* test_analytics_forecast.c - the analytics plugin's Monte Carlo forecast (plugins/analytics/
 * forecast.c with history.c, included here since the plugin is not part of talentd_core):
 * the model learned from the window, deterministic histories where the answer is known
 * (everyone hired after exactly 7 days; two stages of fixed length; conditioning on the time
 * already spent), a stuck stage, a coin-flip history for p_filled, seeding and
 * reproducibility, the generator's seeding, bad counts, and the speed of 10,000 simulations
 * of 300 applications. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../plugins/analytics/metrics.c"
#include "../../plugins/analytics/history.c"
#include "../../plugins/analytics/forecast.c"

#define D(x) ((int64_t)((x) * (double)HX_DAY_MS))
#define NOW D(400)

#define LEAD AN_STAGE_LEAD
#define APPLIED AN_STAGE_APPLIED
#define SCREEN AN_STAGE_SCREEN
#define INTERVIEW AN_STAGE_INTERVIEW
#define OFFER AN_STAGE_OFFER
#define HIRED AN_STAGE_HIRED

/* n applications, each created in `first` on day 100 + i and leaving it after d1 days for
 * `second` (or hired when second is HIRED, out when HX_OUT), then, when second is a stage,
 * hired after d2 days. Events are stored in ev (4 per application). */
static void histories(hx_app_t *apps, hx_event_t *ev, size_t n, int first, int second, double d1, double d2) {
  for (size_t i = 0; i < n; i++) {
    hx_event_t *e = &ev[4 * i];
    int64_t t0 = D(100 + (double)i);
    size_t k = 0;
    e[k++] = (hx_event_t){AN_CREATED, (an_stage_type_t)first, t0};
    an_status_t status = AN_STATUS_HIRED;
    if (second == HIRED) {
      e[k++] = (hx_event_t){AN_HIRED, HIRED, t0 + D(d1)};
    } else if (second == HX_OUT) {
      e[k++] = (hx_event_t){AN_REJECTED, (an_stage_type_t)first, t0 + D(d1)};
      status = AN_STATUS_REJECTED;
    } else {
      e[k++] = (hx_event_t){AN_MOVED, (an_stage_type_t)second, t0 + D(d1)};
      e[k++] = (hx_event_t){AN_HIRED, HIRED, t0 + D(d1) + D(d2)};
    }
    apps[i] = (hx_app_t){e, k, status, 0};
  }
}

static void test_model_from_the_window(void **state) {
  (void)state;
  hx_app_t apps[3];
  hx_event_t ev[12];
  histories(apps, ev, 3, APPLIED, SCREEN, 2, 3); /* days 100..102 */
  fc_model_t m;
  /* window [day 101.5, day 400]: app 0's applied stay ended on day 102 (in), all screen stays in */
  assert_int_equal(fc_model_build(apps, 3, D(101.5), NOW, &m), 0);
  assert_int_equal(m.types[APPLIED].n, 3);
  assert_int_equal(m.types[SCREEN].n, 3);
  assert_int_equal(m.intervals, 6);
  assert_int_equal(m.types[APPLIED].duration[0], D(2));
  assert_int_equal(m.types[APPLIED].outcome[0], SCREEN);
  assert_int_equal(m.types[SCREEN].outcome[2], HIRED);
  fc_model_free(&m);
  /* window [day 103, 400]: applied stays ended on days 102, 103, 104 -> two kept */
  assert_int_equal(fc_model_build(apps, 3, D(103), NOW, &m), 0);
  assert_int_equal(m.types[APPLIED].n, 2);
  fc_model_free(&m);
}

/* Everyone is hired exactly 7 days after applying. Active: elapsed 2 days (5 left), 0 (7 left)
 * and 10 (no stay that long: a full draw, 7 left). */
static void test_always_hired_after_seven_days(void **state) {
  (void)state;
  hx_app_t apps[10];
  hx_event_t ev[40];
  histories(apps, ev, 10, APPLIED, HIRED, 7, 0);
  fc_model_t m;
  assert_int_equal(fc_model_build(apps, 10, NOW - D(365), NOW, &m), 0);
  const fc_active_t act[] = {{APPLIED, D(2)}, {APPLIED, 0}, {APPLIED, D(10)}};
  fc_result_t r;
  /* two openings: the 2nd hire is on day 7 in every run */
  assert_int_equal(fc_simulate(&m, act, 3, 2, 1000, 42, 1, D(8), &r), 0);
  assert_true(r.p_defined && r.p_filled == 1.0);
  for (int i = 0; i < 3; i++) {
    assert_true(r.fill_defined[i]);
    assert_int_equal(r.fill_ms[i], D(7));
  }
  /* one opening: day 5 */
  assert_int_equal(fc_simulate(&m, act, 3, 1, 1000, 42, 1, D(8), &r), 0);
  assert_int_equal(r.fill_ms[1], D(5));
  /* a deadline in 6 days misses the 2nd hire */
  assert_int_equal(fc_simulate(&m, act, 3, 2, 1000, 42, 1, D(6), &r), 0);
  assert_true(r.p_filled == 0.0);
  /* four openings, three applications: never filled */
  assert_int_equal(fc_simulate(&m, act, 3, 4, 1000, 42, 1, D(8), &r), 0);
  assert_true(r.p_filled == 0.0);
  assert_false(r.fill_defined[0] || r.fill_defined[1] || r.fill_defined[2]);
  /* no opening left: filled now */
  assert_int_equal(fc_simulate(&m, act, 3, 0, 10, 42, 0, 0, &r), 0);
  assert_false(r.p_defined);
  assert_true(r.fill_defined[0] && r.fill_ms[0] == 0);
  fc_model_free(&m);
}

/* applied -> screen after 2 days, screen -> hired after 3 days. Active: applied since 1 day
 * (1 + 3 = 4 days), screen since 5 days (longer than any: a full 3 days). */
static void test_two_fixed_stages(void **state) {
  (void)state;
  hx_app_t apps[5];
  hx_event_t ev[20];
  histories(apps, ev, 5, APPLIED, SCREEN, 2, 3);
  fc_model_t m;
  assert_int_equal(fc_model_build(apps, 5, NOW - D(365), NOW, &m), 0);
  const fc_active_t act[] = {{APPLIED, D(1)}, {SCREEN, D(5)}};
  fc_result_t r;
  assert_int_equal(fc_simulate(&m, act, 2, 1, 100, 7, 1, D(3), &r), 0);
  assert_int_equal(r.fill_ms[0], D(3));
  assert_int_equal(r.fill_ms[2], D(3));
  assert_true(r.p_filled == 1.0);
  assert_int_equal(fc_simulate(&m, act, 2, 2, 100, 7, 1, D(3), &r), 0);
  assert_int_equal(r.fill_ms[1], D(4));
  assert_true(r.p_filled == 0.0); /* the 2nd hire is on day 4 */
  /* an application in a stage the history never saw is stuck: never hired */
  const fc_active_t stuck[] = {{OFFER, 0}};
  assert_int_equal(fc_simulate(&m, stuck, 1, 1, 100, 7, 1, D(30), &r), 0);
  assert_true(r.p_filled == 0.0);
  assert_false(r.fill_defined[0]);
  fc_model_free(&m);
}

/* Half the history is hired after 7 days, half rejected after 1 day. */
static void coin_model(fc_model_t *m) {
  hx_app_t apps[20];
  hx_event_t ev[80];
  histories(apps, ev, 10, APPLIED, HIRED, 7, 0);
  histories(apps + 10, ev + 40, 10, APPLIED, HX_OUT, 1, 0);
  assert_int_equal(fc_model_build(apps, 20, NOW - D(365), NOW, m), 0);
}

static void test_seeded_and_reproducible(void **state) {
  (void)state;
  fc_model_t m;
  coin_model(&m);
  const fc_active_t one[] = {{APPLIED, 0}};
  fc_result_t a, b, c;
  assert_int_equal(fc_simulate(&m, one, 1, 1, 10000, 1, 1, D(8), &a), 0);
  assert_true(fabs(a.p_filled - 0.5) < 0.03);             /* a coin flip */
  assert_true(a.fill_defined[0] && a.fill_ms[0] == D(7)); /* the earliest runs are the hires */
  assert_false(a.fill_defined[2]);                        /* p90: a run never filled */
  assert_int_equal(fc_simulate(&m, one, 1, 1, 10000, 1, 1, D(8), &b), 0);
  assert_memory_equal(&a, &b, sizeof a);
  assert_int_equal(fc_simulate(&m, one, 1, 1, 10000, 2, 1, D(8), &c), 0);
  assert_true(c.p_filled != a.p_filled); /* another seed, another sample */
  assert_int_equal(fc_simulate(&m, one, 1, 1, 0, 1, 1, D(8), &c), AN_EINVAL);
  assert_int_equal(fc_simulate(&m, one, 1, 1, FC_MAX_SIMULATIONS + 1, 1, 1, D(8), &c), AN_EINVAL);
  fc_model_free(&m);
}

static void test_generator_seeding(void **state) {
  (void)state;
  fc_rng_t r;
  fc_rng_seed(&r, 0); /* splitmix64's published first outputs from 0 */
  assert_true(r.s[0] == 0xe220a8397b1dcdafULL);
  assert_true(r.s[1] == 0x6e789e6aa1b965f4ULL);
  assert_true(r.s[2] == 0x06c45d188009454fULL);
  assert_true(r.s[3] == 0xf88bb8a8724c81ecULL);
  fc_rng_t a, b;
  fc_rng_seed(&a, 99), fc_rng_seed(&b, 99);
  for (int i = 0; i < 100; i++) assert_true(fc_rng_next(&a) == fc_rng_next(&b));
}

/* 10,000 simulations of 300 active applications over a four-stage history. */
static void test_speed(void **state) {
  (void)state;
  enum { N = 400 };
  hx_app_t *apps = calloc(N, sizeof *apps);
  hx_event_t *ev = calloc(4 * N, sizeof *ev);
  histories(apps, ev, N / 2, APPLIED, SCREEN, 2, 9);
  histories(apps + N / 2, ev + 2 * N, N / 4, SCREEN, INTERVIEW, 4, 6);
  histories(apps + 3 * N / 4, ev + 3 * N, N / 4, INTERVIEW, HX_OUT, 3, 0);
  fc_model_t m;
  assert_int_equal(fc_model_build(apps, N, NOW - D(365), NOW, &m), 0);
  fc_active_t act[300];
  for (int i = 0; i < 300; i++) act[i] = (fc_active_t){(an_stage_type_t)(APPLIED + i % 3), D(i % 5)};
  struct timespec t0, t1;
  fc_result_t r;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_int_equal(fc_simulate(&m, act, 300, 5, 10000, 3, 1, D(30), &r), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  printf("forecast: 10000 simulations x 300 applications in %.1f ms\n", ms);
  assert_true(ms < 2000.0); /* the 500 ms budget is for optimized builds; Debug and sanitizers get slack */
  assert_true(r.fill_defined[1]);
  fc_model_free(&m);
  free(apps), free(ev);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_model_from_the_window), cmocka_unit_test(test_always_hired_after_seven_days),
      cmocka_unit_test(test_two_fixed_stages),      cmocka_unit_test(test_seeded_and_reproducible),
      cmocka_unit_test(test_generator_seeding),     cmocka_unit_test(test_speed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
