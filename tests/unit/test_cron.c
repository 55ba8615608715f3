/* Cron expressions (sched/cron.h): parsing, the day-of-month/day-of-week OR rule, month
 * ends, leap years, fixed-offset zones, and named zones across daylight-saving changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sched/cron.h"
#include "talentd/types.h"
#include "util/time.h"

static int64_t at(const char *rfc3339) {
  int64_t ms = 0;
  assert_int_equal(td__time_parse(rfc3339, &ms), 0);
  return ms;
}

/* The next firing of expr in zone after `after`, as RFC 3339 text in out. */
static void next_text(const char *expr, const char *zone, const char *after, char out[32]) {
  td__cron_t c;
  const char *error = NULL;
  int32_t offset = 0;
  assert_int_equal(td__cron_parse(expr, &c, &error), 0);
  assert_int_equal(td__cron_zone(zone, &offset, &error), 0);
  int64_t next = 0;
  assert_int_equal(td__cron_next(&c, offset, at(after), &next), 0);
  td__time_format(next, out, 32);
}

#define assert_next(expr, zone, after, expected) \
  do {                                           \
    char got_[32];                               \
    next_text(expr, zone, after, got_);          \
    assert_string_equal(got_, expected);         \
  } while (0)

static void test_parse_fields(void **state) {
  (void)state;
  td__cron_t c;
  const char *error = NULL;
  assert_int_equal(td__cron_parse("*/15 9-17 1,15 * mon-fri", &c, &error), 0);
  assert_true(c.minutes == ((1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45)));
  assert_int_equal(c.hours, 0x3fe00u); /* 9..17 */
  assert_int_equal(c.days, (1u << 1) | (1u << 15));
  assert_int_equal(c.months, 0x1ffeu);
  assert_int_equal(c.weekdays, 0x3eu); /* Monday..Friday */
  assert_true(c.days_restricted);
  assert_true(c.weekdays_restricted);

  assert_int_equal(td__cron_parse("5/20 0 * JAN,Dec 7", &c, &error), 0);
  assert_true(c.minutes == ((1ULL << 5) | (1ULL << 25) | (1ULL << 45)));
  assert_int_equal(c.months, (1u << 1) | (1u << 12));
  assert_int_equal(c.weekdays, 1u); /* 7 is Sunday */
  assert_false(c.days_restricted);

  assert_int_equal(td__cron_parse("0-10/5 */6 */10 2-3 0-7", &c, &error), 0);
  assert_true(c.minutes == ((1ULL << 0) | (1ULL << 5) | (1ULL << 10)));
  assert_int_equal(c.hours, (1u << 0) | (1u << 6) | (1u << 12) | (1u << 18));
  assert_int_equal(c.days, (1u << 1) | (1u << 11) | (1u << 21) | (1u << 31));
  assert_int_equal(c.weekdays, 0x7fu);
}

static void test_parse_errors(void **state) {
  (void)state;
  td__cron_t c;
  const char *error = NULL;
  const char *bad[] = {
      "",           "* * * *",    "* * * * * *", "60 * * * *",  "* 24 * * *",   "* * 0 * *",
      "* * 32 * *", "* * * 13 *", "* * * * 8",   "5-1 * * * *", "*/0 * * * *",  "1,,2 * * * *",
      "1, * * * *", "a * * * *",  "* * * foo *", "*/x * * * *", "1-2-3 * * * *"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    error = NULL;
    assert_int_equal(td__cron_parse(bad[i], &c, &error), TD_EINVAL);
    assert_non_null(error);
  }
  assert_int_equal(td__cron_parse("61 * * * *", &c, &error), TD_EINVAL);
  assert_non_null(strstr(error, "minute"));
  assert_int_equal(td__cron_parse("* * * * 9", &c, &error), TD_EINVAL);
  assert_non_null(strstr(error, "day-of-week"));
}

static void test_next_basic(void **state) {
  (void)state;
  assert_next("*/5 * * * *", "UTC", "2026-03-10T10:02:30Z", "2026-03-10T10:05:00.000Z");
  assert_next("*/5 * * * *", "UTC", "2026-03-10T10:05:00Z", "2026-03-10T10:10:00.000Z"); /* strictly after */
  assert_next("0 0 * * *", "UTC", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00.000Z");
  assert_next("30 9 * * mon", "UTC", "2026-11-23T09:30:00Z", "2026-11-30T09:30:00.000Z"); /* a Monday */
  assert_next("15,45 8-9 * * *", "UTC", "2026-05-01T09:46:00Z", "2026-05-02T08:15:00.000Z");
}

static void test_day_or_rule(void **state) {
  (void)state;
  /* Both restricted: the 15th OR a Monday. From Fri 2026-05-01, Monday the 4th comes first. */
  assert_next("0 12 15 * 1", "UTC", "2026-05-01T00:00:00Z", "2026-05-04T12:00:00.000Z");
  /* From Tue 2026-05-12, the 15th (a Friday) comes before Monday the 18th. */
  assert_next("0 12 15 * 1", "UTC", "2026-05-12T00:00:00Z", "2026-05-15T12:00:00.000Z");
  /* Day-of-week is '*': only the 15th. */
  assert_next("0 12 15 * *", "UTC", "2026-05-01T00:00:00Z", "2026-05-15T12:00:00.000Z");
  /* Day-of-month is '*': only Mondays (AND with every day). */
  assert_next("0 12 * * 1", "UTC", "2026-05-05T00:00:00Z", "2026-05-11T12:00:00.000Z");
}

static void test_month_ends_and_leap_years(void **state) {
  (void)state;
  /* The 31st skips the months that have none. */
  assert_next("0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00.000Z");
  assert_next("0 0 31 * *", "UTC", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00.000Z");
  /* February 29th: the next leap year. */
  assert_next("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00.000Z");
  assert_next("0 0 29 2 *", "UTC", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00.000Z");
  /* 2100 is not a leap year: from 2096's, the next is 2104. */
  assert_next("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00.000Z");
  /* Last day of February in a non-leap year, then March. */
  assert_next("0 6 28-31 2 *", "UTC", "2027-02-28T06:00:00Z", "2028-02-28T06:00:00.000Z");
  /* Never fires: February 31st. */
  td__cron_t c;
  const char *error = NULL;
  int64_t next = 0;
  assert_int_equal(td__cron_parse("0 0 31 2 *", &c, &error), 0);
  assert_int_equal(td__cron_next(&c, 0, at("2026-01-01T00:00:00Z"), &next), TD_ENOTFOUND);
}

static void test_zones(void **state) {
  (void)state;
  /* 09:00 at +02:00 is 07:00 UTC; at -05:30 it is 14:30 UTC. */
  assert_next("0 9 * * *", "+02:00", "2026-06-01T08:00:00Z", "2026-06-02T07:00:00.000Z");
  assert_next("0 9 * * *", "-05:30", "2026-06-01T00:00:00Z", "2026-06-01T14:30:00.000Z");
  /* The local day decides the weekday: Monday 00:30 at +02:00 is Sunday 22:30 UTC. */
  assert_next("30 0 * * mon", "+02:00", "2026-11-20T00:00:00Z", "2026-11-22T22:30:00.000Z");
  assert_next("0 0 * * *", "Etc/UTC", "2026-06-01T00:00:00Z", "2026-06-02T00:00:00.000Z");
  int32_t offset = 0;
  const char *error = NULL;
  assert_int_equal(td__cron_zone("Europe/Berlin", &offset, &error), TD_EINVAL);
  assert_non_null(strstr(error, "fixed offset"));
  assert_int_equal(td__cron_zone("+15:00", &offset, &error), TD_EINVAL);
  assert_int_equal(td__cron_zone("+2:00", &offset, &error), TD_EINVAL);
  assert_int_equal(td__cron_zone("-03:00", &offset, &error), 0);
  assert_int_equal(offset, -3 * 3600);
}

/* The next firing of expr in a named zone after `after`, via td__cron_next_in. */
static void next_in_text(const char *expr, const char *zone, const char *after, char out[32]) {
  td__cron_t c;
  const char *error = NULL;
  assert_int_equal(td__cron_parse(expr, &c, &error), 0);
  int64_t next = 0;
  assert_int_equal(td__cron_next_in(&c, zone, at(after), &next, &error), 0);
  td__time_format(next, out, 32);
}

#define assert_next_in(expr, zone, after, expected) \
  do {                                              \
    char got_[32];                                  \
    next_in_text(expr, zone, after, got_);          \
    assert_string_equal(got_, expected);            \
  } while (0)

static void test_named_zones(void **state) {
  (void)state;
  /* Spring forward: 02:30 on 2027-03-28 does not exist in Berlin; it fires at 03:00 CEST
   * (01:00 UTC), the first instant after the gap, then at 02:30 CEST the next day. */
  assert_next_in("30 2 * * *", "Europe/Berlin", "2027-03-27T12:00:00Z", "2027-03-28T01:00:00.000Z");
  assert_next_in("30 2 * * *", "Europe/Berlin", "2027-03-28T01:00:00Z", "2027-03-29T00:30:00.000Z");
  /* Every minute across the gap: 01:59 CET, then 03:00 CEST once, then 03:01. */
  assert_next_in("* * * * *", "Europe/Berlin", "2027-03-28T00:58:00Z", "2027-03-28T00:59:00.000Z");
  assert_next_in("* * * * *", "Europe/Berlin", "2027-03-28T00:59:00Z", "2027-03-28T01:00:00.000Z");
  assert_next_in("* * * * *", "Europe/Berlin", "2027-03-28T01:00:00Z", "2027-03-28T01:01:00.000Z");
  /* Fall back: 02:30 on 2027-10-31 happens twice; it fires once, at the first (CEST). */
  assert_next_in("30 2 * * *", "Europe/Berlin", "2027-10-30T12:00:00Z", "2027-10-31T00:30:00.000Z");
  assert_next_in("30 2 * * *", "Europe/Berlin", "2027-10-31T00:30:00Z", "2027-11-01T01:30:00.000Z");
  /* From inside the second pass of the overlap (02:15 CET), the repeated 02:30 is skipped. */
  assert_next_in("30 2 * * *", "Europe/Berlin", "2027-10-31T01:15:00Z", "2027-11-01T01:30:00.000Z");
  /* Weekdays at 09:00 in Berlin stay 09:00 local across the March change. */
  assert_next_in("0 9 * * 1-5", "Europe/Berlin", "2027-03-26T07:00:00Z", "2027-03-26T08:00:00.000Z");
  assert_next_in("0 9 * * 1-5", "Europe/Berlin", "2027-03-26T08:00:00Z", "2027-03-29T07:00:00.000Z");
  assert_next_in("0 9 * * 1-5", "Europe/Berlin", "2027-10-29T07:00:00Z", "2027-11-01T08:00:00.000Z");
  /* New York: 02:30 skipped on 2027-03-14 (fires 03:00 EDT), 01:30 once on 2027-11-07. */
  assert_next_in("30 2 * * *", "America/New_York", "2027-03-13T12:00:00Z", "2027-03-14T07:00:00.000Z");
  assert_next_in("30 1 * * *", "America/New_York", "2027-11-06T12:00:00Z", "2027-11-07T05:30:00.000Z");
  assert_next_in("30 1 * * *", "America/New_York", "2027-11-07T05:30:00Z", "2027-11-08T06:30:00.000Z");
  assert_next_in("0 9 * * *", "America/New_York", "2027-07-01T00:00:00Z", "2027-07-01T13:00:00.000Z");
  /* Kolkata is +05:30 all year. */
  assert_next_in("0 9 * * *", "Asia/Kolkata", "2027-01-01T00:00:00Z", "2027-01-01T03:30:00.000Z");
  assert_next_in("0 9 * * *", "Asia/Kolkata", "2027-07-01T04:00:00Z", "2027-07-02T03:30:00.000Z");
  /* Fixed offsets and NULL still work through the same call. */
  assert_next_in("0 9 * * *", "+02:00", "2026-06-01T08:00:00Z", "2026-06-02T07:00:00.000Z");
  td__cron_t c;
  const char *error = NULL;
  int64_t next = 0;
  assert_int_equal(td__cron_parse("0 0 * * *", &c, &error), 0);
  assert_int_equal(td__cron_next_in(&c, NULL, at("2026-06-01T00:00:00Z"), &next, &error), 0);
  assert_true(next == at("2026-06-02T00:00:00Z"));
  /* Unknown, malformed, past the zone's data, never firing. */
  assert_int_equal(td__cron_next_in(&c, "Europe/Atlantis", 0, &next, &error), TD_EINVAL);
  assert_non_null(error);
  assert_int_equal(td__cron_next_in(&c, "../etc/passwd", 0, &next, &error), TD_EINVAL);
  assert_int_equal(td__cron_next_in(&c, "Europe/Berlin", at("2040-01-01T00:00:00Z"), &next, &error),
                   TD_EINVAL);
  assert_non_null(strstr(error, "2037"));
  assert_int_equal(td__cron_parse("0 0 31 2 *", &c, &error), 0);
  assert_int_equal(td__cron_next_in(&c, "Europe/Berlin", at("2026-01-01T00:00:00Z"), &next, &error),
                   TD_ENOTFOUND);
  assert_non_null(error);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_fields),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_next_basic),
      cmocka_unit_test(test_day_or_rule),
      cmocka_unit_test(test_month_ends_and_leap_years),
      cmocka_unit_test(test_zones),
      cmocka_unit_test(test_named_zones),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
