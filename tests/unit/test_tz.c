/* Time zones from TZif files (sched/tz.h): name validation, offsets across DST changes,
 * and local-to-UTC conversion in gaps and overlaps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sched/tz.h"
#include "talentd/types.h"
#include "util/time.h"

static int64_t at_s(const char *rfc3339) {
  int64_t ms = 0;
  assert_int_equal(td__time_parse(rfc3339, &ms), 0);
  return ms / 1000;
}

static const td__tz_t *zone(const char *name) {
  const td__tz_t *tz = NULL;
  const char *error = NULL;
  assert_int_equal(td__tz_get(name, &tz, &error), 0);
  assert_non_null(tz);
  return tz;
}

static int32_t offset_at(const td__tz_t *tz, const char *when) {
  int32_t off = -1;
  assert_int_equal(td__tz_offset(tz, at_s(when), &off), 0);
  return off;
}

static void test_names(void **state) {
  (void)state;
  assert_true(td__tz_name_valid("Europe/Berlin"));
  assert_true(td__tz_name_valid("America/Argentina/Buenos_Aires"));
  assert_true(td__tz_name_valid("Etc/GMT+5"));
  const char *bad[] = {"",
                       "/etc/passwd",
                       "../etc/passwd",
                       "Europe/../../etc/passwd",
                       "Europe/",
                       "Europe//Berlin",
                       "Europe/Berlin ",
                       "Europe\\Berlin",
                       "Europe/Berlin.tz",
                       "A234567890123456789012345678901234567890123456789012345678901234"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_false(td__tz_name_valid(bad[i]));
  assert_false(td__tz_name_valid(NULL));
  const td__tz_t *tz = NULL;
  const char *error = NULL;
  assert_int_equal(td__tz_get("../../etc/passwd", &tz, &error), TD_EINVAL);
  assert_non_null(error);
  assert_null(tz);
  assert_int_equal(td__tz_get("Mars/Olympus_Mons", &tz, &error), TD_EINVAL);
  assert_non_null(strstr(error, "IANA"));
  assert_int_equal(td__tz_get("Europe", &tz, &error), TD_EINVAL); /* a directory */
  /* The cache hands out the same zone twice. */
  assert_ptr_equal(zone("Europe/Berlin"), zone("Europe/Berlin"));
}

static void test_offsets(void **state) {
  (void)state;
  const td__tz_t *berlin = zone("Europe/Berlin");
  assert_int_equal(offset_at(berlin, "2027-01-15T12:00:00Z"), 3600);
  assert_int_equal(offset_at(berlin, "2027-07-15T12:00:00Z"), 7200);
  /* The change on 2027-03-28 is at 01:00 UTC exactly. */
  assert_int_equal(offset_at(berlin, "2027-03-28T00:59:59Z"), 3600);
  assert_int_equal(offset_at(berlin, "2027-03-28T01:00:00Z"), 7200);
  assert_int_equal(offset_at(berlin, "2027-10-31T00:59:59Z"), 7200);
  assert_int_equal(offset_at(berlin, "2027-10-31T01:00:00Z"), 3600);
  const td__tz_t *ny = zone("America/New_York");
  assert_int_equal(offset_at(ny, "2027-01-15T12:00:00Z"), -5 * 3600);
  assert_int_equal(offset_at(ny, "2027-07-15T12:00:00Z"), -4 * 3600);
  const td__tz_t *kolkata = zone("Asia/Kolkata");
  assert_int_equal(offset_at(kolkata, "2027-07-15T12:00:00Z"), 5 * 3600 + 1800);
  /* A fixed footer holds for ever; a DST rule past the data (2037) is refused. */
  assert_int_equal(offset_at(kolkata, "2090-01-01T00:00:00Z"), 5 * 3600 + 1800);
  assert_int_equal(offset_at(zone("UTC"), "2090-01-01T00:00:00Z"), 0);
  int32_t off = 0;
  assert_int_equal(td__tz_offset(berlin, at_s("2045-01-01T00:00:00Z"), &off), TD_ENOTFOUND);
}

static void test_to_utc(void **state) {
  (void)state;
  const td__tz_t *berlin = zone("Europe/Berlin");
  int64_t utc = 0;
  /* Ordinary winter and summer times. */
  assert_int_equal(td__tz_to_utc(berlin, at_s("2027-01-15T09:00:00Z"), &utc), 0);
  assert_true(utc == at_s("2027-01-15T08:00:00Z"));
  assert_int_equal(td__tz_to_utc(berlin, at_s("2027-07-15T09:00:00Z"), &utc), 0);
  assert_true(utc == at_s("2027-07-15T07:00:00Z"));
  /* 02:30 on 2027-03-28 does not exist: the first instant after the gap, 03:00 CEST. */
  assert_int_equal(td__tz_to_utc(berlin, at_s("2027-03-28T02:30:00Z"), &utc), 0);
  assert_true(utc == at_s("2027-03-28T01:00:00Z"));
  assert_int_equal(td__tz_to_utc(berlin, at_s("2027-03-28T03:00:00Z"), &utc), 0);
  assert_true(utc == at_s("2027-03-28T01:00:00Z"));
  assert_int_equal(td__tz_to_utc(berlin, at_s("2027-03-28T01:59:00Z"), &utc), 0);
  assert_true(utc == at_s("2027-03-28T00:59:00Z"));
  /* 02:30 on 2027-10-31 happens twice: the first occurrence (CEST, 00:30 UTC). */
  assert_int_equal(td__tz_to_utc(berlin, at_s("2027-10-31T02:30:00Z"), &utc), 0);
  assert_true(utc == at_s("2027-10-31T00:30:00Z"));
  assert_int_equal(td__tz_to_utc(berlin, at_s("2027-10-31T03:00:00Z"), &utc), 0);
  assert_true(utc == at_s("2027-10-31T02:00:00Z"));
  /* New York: 02:30 on 2027-03-14 is skipped, 01:30 on 2027-11-07 repeats. */
  const td__tz_t *ny = zone("America/New_York");
  assert_int_equal(td__tz_to_utc(ny, at_s("2027-03-14T02:30:00Z"), &utc), 0);
  assert_true(utc == at_s("2027-03-14T07:00:00Z"));
  assert_int_equal(td__tz_to_utc(ny, at_s("2027-11-07T01:30:00Z"), &utc), 0);
  assert_true(utc == at_s("2027-11-07T05:30:00Z"));
  assert_int_equal(td__tz_to_utc(berlin, at_s("2045-01-01T00:00:00Z"), &utc), TD_ENOTFOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_offsets),
      cmocka_unit_test(test_to_utc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
