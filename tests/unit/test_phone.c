/* Unit tests of phone normalization (domain/phone.c): E.164 from international and
 * national forms, the default calling code, trunk zeros, and the inputs that must be kept
 * as typed or refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/phone.h"
#include "talentd/types.h"

/* Normalizes in with default code cc and checks the result code and text. */
static void check(const char *in, const char *cc, int want_rc, const char *want) {
  char out[TD_PHONE_MAX + 1];
  int rc = td__phone_normalize(in, cc, out, sizeof out);
  if (rc != want_rc || strcmp(out, want) != 0)
    fail_msg("normalize(\"%s\", %s) = %d \"%s\"; want %d \"%s\"", in, cc ? cc : "default", rc, out, want_rc,
             want);
}

static void test_international_forms(void **state) {
  (void)state;
  check("+1 (415) 555-0100", "1", 1, "+14155550100");
  check("+44 20 7946 0958", "1", 1, "+442079460958");
  check("+44 (0)20 7946 0958", "1", 1, "+442079460958");
  check("0044 20 7946 0958", "1", 1, "+442079460958");
  check("011 44 20 7946 0958", "1", 1, "+442079460958");
  check("+49-30-901820", "44", 1, "+4930901820");
  check("+33.1.23.45.67.89", "1", 1, "+33123456789");
  check("  +81 3/1234/5678 ", "1", 1, "+81312345678");
}

static void test_north_american_national(void **state) {
  (void)state;
  check("(415) 555-0100", "1", 1, "+14155550100");
  check("415.555.0100", "1", 1, "+14155550100");
  check("1 415 555 0100", "1", 1, "+14155550100");
  check("4155550100", NULL, 1, "+14155550100"); /* the default default is 1 */
  /* An area code cannot start with 0 or 1; seven digits have no area code. */
  check("015 555 0100", "1", 0, "015 555 0100");
  check("555-0100", "1", 0, "555-0100");
  check("+1 015 555 0100", "1", 0, "+1 015 555 0100");
}

static void test_other_default_codes(void **state) {
  (void)state;
  check("020 7946 0958", "44", 1, "+442079460958");
  check("030 901820", "49", 1, "+4930901820");
  check("06 12 34 56 78", "33", 1, "+33612345678");
  /* In Italy the leading 0 is part of the number. */
  check("06 1234 5678", "39", 1, "+390612345678");
  /* An invalid default code falls back to the process default. */
  check("(415) 555-0100", "0x", 1, "+14155550100");
}

static void test_kept_as_typed(void **state) {
  (void)state;
  check("415-555-0100 ext. 12", "1", 0, "415-555-0100 ext. 12");
  check("+1 415 555 0100 x12", "1", 0, "+1 415 555 0100 x12");
  check("call me maybe", "1", 0, "call me maybe");
  check("12+34", "1", 0, "12+34");
  check("+12", "1", 0, "+12");
  check("+1234567890123456", "1", 0, "+1234567890123456"); /* 16 digits: longer than E.164 */
  check("+0 123 456 789", "1", 0, "+0 123 456 789");
  check("  *123#  ", "1", 0, "*123#");
}

static void test_refused(void **state) {
  (void)state;
  char out[TD_PHONE_MAX + 1];
  char long_input[TD_PHONE_MAX + 2];
  memset(long_input, '1', sizeof long_input - 1);
  long_input[sizeof long_input - 1] = '\0';
  assert_int_equal(td__phone_normalize("", "1", out, sizeof out), TD_EINVAL);
  assert_int_equal(td__phone_normalize("   \t ", "1", out, sizeof out), TD_EINVAL);
  assert_int_equal(td__phone_normalize(NULL, "1", out, sizeof out), TD_EINVAL);
  assert_int_equal(td__phone_normalize(long_input, "1", out, sizeof out), TD_EINVAL);
  assert_string_equal(out, "");
  char small[8];
  assert_int_equal(td__phone_normalize("+14155550100", "1", small, sizeof small), TD_EINVAL);
}

static void test_default_calling_code(void **state) {
  (void)state;
  assert_string_equal(td__phone_default_calling_code(), "1");
  assert_int_equal(td__phone_set_default_calling_code("0"), TD_EINVAL);
  assert_int_equal(td__phone_set_default_calling_code("1234"), TD_EINVAL);
  assert_int_equal(td__phone_set_default_calling_code("4a"), TD_EINVAL);
  assert_int_equal(td__phone_set_default_calling_code(""), TD_EINVAL);
  assert_string_equal(td__phone_default_calling_code(), "1");
  assert_int_equal(td__phone_set_default_calling_code("44"), 0);
  check("020 7946 0958", NULL, 1, "+442079460958");
  assert_int_equal(td__phone_set_default_calling_code("1"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_international_forms),
      cmocka_unit_test(test_north_american_national),
      cmocka_unit_test(test_other_default_codes),
      cmocka_unit_test(test_kept_as_typed),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_default_calling_code),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
