/* RFC 3339 parsing and formatting: the API's only time format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "talentd/types.h"
#include "util/time.h"

static void test_parse_forms(void **state) {
  (void)state;
  int64_t ms = 0;
  assert_int_equal(td__time_parse("1970-01-01T00:00:00Z", &ms), 0);
  assert_int_equal(ms, 0);
  assert_int_equal(td__time_parse("2026-11-23T05:22:09.123Z", &ms), 0);
  assert_int_equal(ms, 1795411329123LL);
  assert_int_equal(td__time_parse("2026-11-23T06:22:09.123+01:00", &ms), 0);
  assert_int_equal(ms, 1795411329123LL);
  assert_int_equal(td__time_parse("2026-11-23T05:22:09.1234567z", &ms), 0);
  assert_int_equal(ms, 1795411329123LL);
  assert_int_equal(td__time_parse("2024-02-29", &ms), 0);
  assert_int_equal(td__date_parse("2024-02-29", &ms), 0);
}

static void test_parse_rejects(void **state) {
  (void)state;
  int64_t ms;
  const char *bad[] = {"",
                       "2026",
                       "2026-13-01",
                       "2023-02-29",
                       "2026-11-23T25:00:00Z",
                       "2026-11-23T05:22:09",
                       "2026-11-23 05:22:09Z",
                       "2026-11-23T05:22:09.Z",
                       "2026-11-23T05:22:09+0100",
                       "2026-11-23T05:22:09Zjunk",
                       "２０２６-11-23"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(td__time_parse(bad[i], &ms), TD_EINVAL);
  assert_int_equal(td__date_parse("2026-11-23T00:00:00Z", &ms), TD_EINVAL);
}

static void test_format_round_trip(void **state) {
  (void)state;
  char text[32];
  int64_t values[] = {0, 1795411329123LL, 951782400000LL, -1};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    td__time_format(values[i], text, sizeof text);
    int64_t back = 0;
    assert_int_equal(td__time_parse(text, &back), 0);
    assert_int_equal(back, values[i]);
  }
  td__time_format(1795411329123LL, text, sizeof text);
  assert_string_equal(text, "2026-11-23T05:22:09.123Z");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_forms),
      cmocka_unit_test(test_parse_rejects),
      cmocka_unit_test(test_format_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
