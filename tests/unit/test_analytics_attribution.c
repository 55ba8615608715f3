/* test_analytics_attribution.c - source attribution of hires (plugins/analytics/attribution.c,
 * included here since the plugin is not part of talentd_core): first-touch, last-touch and
 * linear credit on hand-computed touch histories (one touch, three sources with 1/3 splits,
 * a source touched twice, touches after the hire, ties at the same ms broken by recording
 * order, hires without touches), a property test that every credit column sums to the
 * number of hires, and the channel of a source label. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/analytics/attribution.c"

#define ONE_THIRD (1.0 / 3.0)

static const at_credit_t *must_find(const at_result_t *r, const char *source) {
  const at_credit_t *c = at_find(r, source);
  if (c == NULL) fail_msg("no credit row for %s", source);
  return c;
}

static void expect_credit(const at_result_t *r, const char *source, double first, double last, double linear) {
  const at_credit_t *c = must_find(r, source);
  assert_true(c->first_touch == first);
  assert_true(c->last_touch == last);
  assert_true(c->linear == linear);
}

static void test_one_touch(void **state) {
  (void)state;
  at_touch_t t[] = {{"linkedin", 50, 1}};
  at_hire_t h = {100, "referral", t, 1};
  at_result_t r;
  assert_int_equal(at_attribute(&h, 1, &r), 0);
  assert_int_equal(r.hires, 1);
  assert_int_equal(r.untouched, 0);
  assert_int_equal(r.count, 1); /* the application's source gets nothing: it had a touch */
  expect_credit(&r, "linkedin", 1, 1, 1);
  assert_null(at_find(&r, "referral"));
  at_result_free(&r);
}

static void test_three_sources_split_in_thirds(void **state) {
  (void)state;
  /* Given out of order: the (at, seq) order is pool, referral, linkedin. */
  at_touch_t t[] = {{"referral", 20, 7}, {"linkedin", 30, 9}, {"pool:engineers", 10, 8}};
  at_hire_t h = {40, "linkedin", t, 3};
  at_result_t r;
  assert_int_equal(at_attribute(&h, 1, &r), 0);
  assert_int_equal(r.count, 3);
  expect_credit(&r, "pool:engineers", 1, 0, ONE_THIRD);
  expect_credit(&r, "referral", 0, 0, ONE_THIRD);
  expect_credit(&r, "linkedin", 0, 1, ONE_THIRD);
  /* rows are in strcmp order */
  assert_string_equal(r.rows[0].source, "linkedin");
  assert_string_equal(r.rows[1].source, "pool:engineers");
  assert_string_equal(r.rows[2].source, "referral");
  at_result_free(&r);
}

static void test_source_touched_twice(void **state) {
  (void)state;
  at_touch_t t[] = {{"event", 1, 1}, {"linkedin", 2, 2}, {"event", 3, 3}};
  at_hire_t h = {3, NULL, t, 3};
  at_result_t r;
  assert_int_equal(at_attribute(&h, 1, &r), 0);
  expect_credit(&r, "event", 1, 1, ONE_THIRD + ONE_THIRD);
  expect_credit(&r, "linkedin", 0, 0, ONE_THIRD);
  at_result_free(&r);
}

static void test_touches_after_the_hire_are_ignored(void **state) {
  (void)state;
  /* board at the hire's very ms counts; event one ms later and sequence a day later do not. */
  at_touch_t t[] = {{"pool", 10, 1}, {"board:stepstone", 40, 2}, {"event", 41, 3}, {"sequence", 86400040, 4}};
  at_hire_t h = {40, "board:stepstone", t, 4};
  at_result_t r;
  assert_int_equal(at_attribute(&h, 1, &r), 0);
  assert_int_equal(r.count, 2);
  expect_credit(&r, "pool", 1, 0, 0.5);
  expect_credit(&r, "board:stepstone", 0, 1, 0.5);
  assert_null(at_find(&r, "event"));
  assert_null(at_find(&r, "sequence"));
  at_result_free(&r);
}

static void test_ties_broken_by_recording_order(void **state) {
  (void)state;
  /* Three touches at the same ms: seq 3 (referral) was recorded first, seq 8 (event) last. */
  at_touch_t t[] = {{"linkedin", 500, 5}, {"event", 500, 8}, {"referral", 500, 3}};
  at_hire_t h = {900, "linkedin", t, 3};
  at_result_t r;
  assert_int_equal(at_attribute(&h, 1, &r), 0);
  expect_credit(&r, "referral", 1, 0, ONE_THIRD);
  expect_credit(&r, "event", 0, 1, ONE_THIRD);
  expect_credit(&r, "linkedin", 0, 0, ONE_THIRD);
  /* An earlier ms wins over a smaller seq. */
  at_touch_t u[] = {{"late", 600, 1}, {"early", 400, 2}};
  at_hire_t g = {900, NULL, u, 2};
  at_result_t s;
  assert_int_equal(at_attribute(&g, 1, &s), 0);
  expect_credit(&s, "early", 1, 0, 0.5);
  expect_credit(&s, "late", 0, 1, 0.5);
  at_result_free(&s);
  at_result_free(&r);
}

static void test_hires_without_touches_credit_their_source(void **state) {
  (void)state;
  at_touch_t late[] = {{"event", 50, 1}};
  at_hire_t h[] = {
      {10, "indeed", NULL, 0},  /* no touch at all */
      {10, "indeed", late, 1},  /* only a touch after the hire */
      {10, NULL, NULL, 0},      /* no touch, no source: "unknown" */
      {60, "indeed", late, 1},  /* the event counts here */
  };
  at_result_t r;
  assert_int_equal(at_attribute(h, 4, &r), 0);
  assert_int_equal(r.hires, 4);
  assert_int_equal(r.untouched, 3);
  assert_int_equal(r.count, 3);
  expect_credit(&r, "indeed", 2, 2, 2);
  expect_credit(&r, "unknown", 1, 1, 1);
  expect_credit(&r, "event", 1, 1, 1);
  at_result_free(&r);
  /* No hires: no rows. */
  assert_int_equal(at_attribute(NULL, 0, &r), 0);
  assert_int_equal(r.count, 0);
  assert_null(at_find(&r, "indeed"));
  at_result_free(&r);
}

/* Every column sums to the number of hires, and each hire's linear credit to 1, over random
 * histories (touches before, at and after the hire, ties, repeated sources). */
static void test_property_columns_sum_to_hires(void **state) {
  (void)state;
  static const char *const labels[] = {"linkedin", "referral", "pool", "event", "board:x", "sequence"};
  srand(7);
  enum { HIRES = 300, MAX_TOUCHES = 9 };
  at_touch_t *touches = calloc(HIRES * MAX_TOUCHES, sizeof *touches);
  at_hire_t *hires = calloc(HIRES, sizeof *hires);
  assert_non_null(touches);
  assert_non_null(hires);
  size_t untouched = 0;
  for (int i = 0; i < HIRES; i++) {
    at_touch_t *t = touches + i * MAX_TOUCHES;
    size_t n = (size_t)(rand() % MAX_TOUCHES), counted = 0;
    int64_t hired_at = 1000 + rand() % 50;
    for (size_t j = 0; j < n; j++) {
      t[j] = (at_touch_t){labels[rand() % 6], 1000 + rand() % 60, rand() % 5};
      counted += t[j].at_ms <= hired_at;
    }
    untouched += counted == 0;
    hires[i] = (at_hire_t){hired_at, rand() % 4 ? labels[rand() % 6] : NULL, t, n};
  }
  at_result_t r;
  assert_int_equal(at_attribute(hires, HIRES, &r), 0);
  double first = 0, last = 0, linear = 0;
  for (size_t i = 0; i < r.count; i++) {
    if (i > 0) assert_true(strcmp(r.rows[i - 1].source, r.rows[i].source) < 0);
    first += r.rows[i].first_touch, last += r.rows[i].last_touch, linear += r.rows[i].linear;
  }
  assert_true(first == HIRES);
  assert_true(last == HIRES);
  assert_true(linear > HIRES - 1e-9 && linear < HIRES + 1e-9);
  assert_int_equal(r.untouched, untouched);
  at_result_free(&r);
  free(touches);
  free(hires);
}

static void test_channel_of_a_source(void **state) {
  (void)state;
  at_channel_count_t v[] = {
      {"linkedin", "board", 4}, {"referral", "referral", 2}, {"linkedin", "event", 1},
      {"mixed", "pool", 3},     {"mixed", "event", 3},       {"linkedin", "application", 2},
  };
  size_t n = sizeof v / sizeof v[0];
  at_channels_sort(v, n);
  assert_string_equal(at_channel_of(v, n, "linkedin"), "board");   /* most frequent */
  assert_string_equal(at_channel_of(v, n, "mixed"), "event");      /* a tie: first in strcmp order */
  assert_string_equal(at_channel_of(v, n, "referral"), "referral");
  assert_null(at_channel_of(v, n, "glassdoor"));
  assert_null(at_channel_of(v, 0, "linkedin"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_touch),
      cmocka_unit_test(test_three_sources_split_in_thirds),
      cmocka_unit_test(test_source_touched_twice),
      cmocka_unit_test(test_touches_after_the_hire_are_ignored),
      cmocka_unit_test(test_ties_broken_by_recording_order),
      cmocka_unit_test(test_hires_without_touches_credit_their_source),
      cmocka_unit_test(test_property_columns_sum_to_hires),
      cmocka_unit_test(test_channel_of_a_source),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
