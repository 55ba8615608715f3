/* Failure counting for sign-in: per key, per window, with a Retry-After hint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "auth/ratelimit.h"

static void test_limit_and_window(void **state) {
  (void)state;
  td__ratelimit_t *rl = td__ratelimit_new(3600 * 1000);
  int64_t t0 = 1000000, retry = 0;
  for (int i = 0; i < 3; i++) {
    assert_false(td__ratelimit_exceeded(rl, "acct:a", 3, t0 + i, &retry));
    td__ratelimit_add(rl, "acct:a", t0 + i);
  }
  assert_true(td__ratelimit_exceeded(rl, "acct:a", 3, t0 + 10, &retry));
  assert_true(retry > 3500 && retry <= 3600);
  assert_false(td__ratelimit_exceeded(rl, "acct:b", 3, t0 + 10, &retry));          /* other keys unaffected */
  assert_false(td__ratelimit_exceeded(rl, "acct:a", 3, t0 + 3600 * 1000, &retry)); /* window over */
  td__ratelimit_free(rl);
}

static void test_many_keys_do_not_evict_live_counters(void **state) {
  (void)state;
  td__ratelimit_t *rl = td__ratelimit_new(3600 * 1000);
  for (int i = 0; i < 5; i++) td__ratelimit_add(rl, "acct:victim", 1000 + i);
  char key[32];
  for (int i = 0; i < 20000; i++) {
    snprintf(key, sizeof key, "ip:%d", i);
    td__ratelimit_add(rl, key, 2000);
  }
  assert_true(td__ratelimit_exceeded(rl, "acct:victim", 5, 3000, NULL));
  td__ratelimit_free(rl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limit_and_window),
      cmocka_unit_test(test_many_keys_do_not_evict_live_counters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
