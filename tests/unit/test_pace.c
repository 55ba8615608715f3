/* The token bucket behind mail.max_messages_per_second (core/net/pace.c), on a made-up clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/pace.h"

#define MS 1000000ULL

static void test_burst_then_rate(void **state) {
  (void)state;
  td__pace_t p;
  td__pace_init(&p, 100, 5, 0); /* 100/s, 5 at once */
  for (int i = 0; i < 5; i++) assert_true(td__pace_take(&p, 0));
  assert_false(td__pace_take(&p, 0));
  assert_int_equal(td__pace_wait_ms(&p, 0), 11); /* 10 ms for the next token, rounded up */
  assert_false(td__pace_take(&p, 9 * MS));
  assert_true(td__pace_take(&p, 10 * MS));
  assert_false(td__pace_take(&p, 10 * MS));
  /* A long pause fills the bucket to its size, not beyond. */
  int taken = 0;
  while (td__pace_take(&p, 10000 * MS)) taken++;
  assert_int_equal(taken, 5);
}

static void test_no_limit_and_small_burst(void **state) {
  (void)state;
  td__pace_t p;
  td__pace_init(&p, 0, 0, 0);
  for (int i = 0; i < 10000; i++) assert_true(td__pace_take(&p, 0));
  assert_int_equal(td__pace_wait_ms(&p, 0), 0);
  td__pace_init(&p, 2, 0.1, 0); /* a burst below one still lets one through */
  assert_true(td__pace_take(&p, 0));
  assert_false(td__pace_take(&p, 0));
  assert_true(td__pace_wait_ms(&p, 0) >= 500);
  assert_true(td__pace_take(&p, 500 * MS));
}

static void test_clock_going_back_adds_nothing(void **state) {
  (void)state;
  td__pace_t p;
  td__pace_init(&p, 10, 1, 1000 * MS);
  assert_true(td__pace_take(&p, 1000 * MS));
  assert_false(td__pace_take(&p, 500 * MS));
  assert_false(td__pace_take(&p, 1050 * MS));
  assert_true(td__pace_take(&p, 1100 * MS));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_burst_then_rate),
      cmocka_unit_test(test_no_limit_and_small_burst),
      cmocka_unit_test(test_clock_going_back_adds_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
