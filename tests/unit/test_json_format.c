/*
 * test_json_format.c - unit tests for td__format_check(): the date-time,
 * date, email and uri formats at their edges (calendar days, leap years and
 * leap seconds, offsets, local-part and label lengths, authorities, percent
 * escapes), the message each failure reports, and unknown formats passing
 * as annotations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/json_format.h"

typedef struct format_case {
  const char *value;
  bool ok;
} format_case_t;

/* Runs every case of one format; a rejection must carry that format's message. */
static void run_cases(const char *format, const format_case_t *cases, size_t count, const char *message) {
  for (size_t i = 0; i < count; i++) {
    const char *got = td__format_check(format, cases[i].value, strlen(cases[i].value));
    if (cases[i].ok && got) fail_msg("%s %s: rejected (%s), want accepted", format, cases[i].value, got);
    if (!cases[i].ok && !got) fail_msg("%s %s: accepted, want rejected", format, cases[i].value);
    if (got && strcmp(got, message)) fail_msg("%s %s: message %s", format, cases[i].value, got);
  }
}

#define RUN(format, cases, message) run_cases(format, cases, sizeof(cases) / sizeof(cases[0]), message)

static void test_date(void **state) {
  (void)state;
  static const format_case_t cases[] = {
      {"2024-02-29", true},  {"2000-02-29", true},   {"2024-12-31", true},
      {"0000-01-01", true},  {"2023-02-29", false},  {"1900-02-29", false},
      {"2024-13-01", false}, {"2024-00-10", false},  {"2024-01-00", false},
      {"2024-01-32", false}, {"2024-04-31", false},  {"2024-4-01", false},
      {"20240101", false},   {"2024-01-01 ", false}, {"2024-01-01T00:00:00Z", false},
      {"", false},           {"2024/01/01", false},
  };
  RUN("date", cases, "must be a date in YYYY-MM-DD form, for example 2024-05-01");
}

static void test_date_time(void **state) {
  (void)state;
  static const format_case_t cases[] = {
      {"2024-05-01T09:30:00Z", true},
      {"2024-05-01t09:30:00.123456+02:00", true},
      {"2024-05-01T09:30:00.5z", true},
      {"2024-05-01T23:59:59+23:59", true},
      {"2024-05-01T00:00:00-00:00", true},
      {"2016-12-31T23:59:60Z", true},
      {"2016-12-31T15:59:60-08:00", true},
      {"2017-01-01T00:59:60+01:00", true}, /* 23:59:60 UTC the day before */
      {"2016-12-31T22:59:60Z", false},
      {"2016-12-31T23:59:60+01:00", false},
      {"2016-12-31T23:58:60Z", false},
      {"2024-05-01 09:30:00Z", false},
      {"2024-05-01T09:30:00", false},
      {"2024-05-01T09:30Z", false},
      {"2024-05-01T24:00:00Z", false},
      {"2024-05-01T09:60:00Z", false},
      {"2024-05-01T09:30:61Z", false},
      {"2024-05-01T09:30:00.Z", false},
      {"2024-05-01T09:30:00+0200", false},
      {"2024-05-01T09:30:00+24:00", false},
      {"2024-05-01T09:30:00-00:60", false},
      {"2024-05-01T09:30:00Z ", false},
      {"2023-02-29T09:30:00Z", false},
      {"2024-05-01", false},
  };
  RUN("date-time", cases, "must be a date and time in RFC 3339 form, for example 2024-05-01T09:30:00Z");
}

static void test_email(void **state) {
  (void)state;
  char long_local[80], long_label[100], long_total[300];
  /* 64 characters is the most a local part may have, 63 a label, 254 a mailbox. */
  snprintf(long_local, sizeof(long_local), "%.*s@example.com", 64,
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  snprintf(long_label, sizeof(long_label), "ada@%.*s.com", 63,
           "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  const format_case_t at_limit[] = {{long_local, true}, {long_label, true}};
  RUN("email", at_limit, "");
  snprintf(long_local, sizeof(long_local), "%.*s@example.com", 65,
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  snprintf(long_label, sizeof(long_label), "ada@%.*s.com", 64,
           "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  size_t len = (size_t)snprintf(long_total, sizeof(long_total), "a@");
  while (len < 255) /* labels of 9 letters and a dot: 255 characters in all */
    len += (size_t)snprintf(long_total + len, sizeof(long_total) - len, "%s",
                            len + 10 <= 255 ? "cccccccc." : "c");
  long_total[255] = '\0';
  static const format_case_t fixed[] = {
      {"ada@example.com", true},
      {"ada.lovelace+jobs@mail.example.co.uk", true},
      {"ada@localhost", true},
      {"ada@my-host.example", true},
      {"o'brien@example.ie", true},
      {"a!#$%&'*+/=?^_`{|}~-b@example.com", true},
      {"ADA@EXAMPLE.COM", true},
      {"ada@@example.com", false},
      {"a@b@example.com", false},
      {".ada@example.com", false},
      {"ada.@example.com", false},
      {"a..b@example.com", false},
      {"ada@-example.com", false},
      {"ada@example-.com", false},
      {"ada@example..com", false},
      {"ada@example.com.", false},
      {"ada@exa_mple.com", false},
      {"ada example@example.com", false},
      {"\"ada lovelace\"@example.com", false},
      {"ada@[127.0.0.1]", false},
      {"jos\xc3\xa9@example.com", false},
      {"@example.com", false},
      {"ada@", false},
      {"ada", false},
  };
  const format_case_t too_long[] = {{long_local, false}, {long_label, false}, {long_total, false}};
  const char *message = "must be an email address, for example ada@example.com";
  RUN("email", fixed, message);
  RUN("email", too_long, message);
}

static void test_uri(void **state) {
  (void)state;
  static const format_case_t cases[] = {
      {"https://example.com/jobs?x=1#y", true},
      {"HTTPS://EXAMPLE.COM", true},
      {"http://[::1]:8080/", true},
      {"http://host:/", true}, /* an empty port is allowed by RFC 3986 */
      {"urn:isbn:0451450523", true},
      {"mailto:ada@example.com", true},
      {"smtp://user:pw@127.0.0.1:2525", true},
      {"https://example.com/a%20b%2F", true},
      {"a+b-c.d:x", true},
      {"example.com", false},
      {"/relative/path", false},
      {"//example.com/", false},
      {"-a:x", false},
      {"1http://x", false},
      {"https://exa mple.com", false},
      {"https://us er@example.com", false},
      {"http://host:80a/", false},
      {"http://[::1/", false},
      {"http://[::1]x/", false},
      {"https://example.com/%zz", false},
      {"https://example.com/%4", false},
      {"https://example.com/a#b#c", false},
      {"https://example.com/?q=a|b", false},
      {"https://example.com/caf\xc3\xa9", false},
      {"", false},
  };
  RUN("uri", cases, "must be an absolute URI, for example https://example.com/jobs");
}

/* Length, not a NUL, ends the value: a NUL inside is a character like any other. */
static void test_embedded_nul(void **state) {
  (void)state;
  assert_null(td__format_check("date", "2024-05-01\0", 10));
  assert_non_null(td__format_check("date", "2024-05-01\0", 11));
  assert_non_null(td__format_check("uri", "https://x/\0", 11));
  assert_non_null(td__format_check("email", "a@b\0.com", 8));
}

/* Draft 7: formats we do not check are annotations, whatever the value. */
static void test_unknown_formats(void **state) {
  (void)state;
  static const char *const names[] = {"uuid", "int64", "hostname", "", "Date", "email "};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    assert_null(td__format_check(names[i], "not checked", 11));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_date),         cmocka_unit_test(test_date_time),
      cmocka_unit_test(test_email),        cmocka_unit_test(test_uri),
      cmocka_unit_test(test_embedded_nul), cmocka_unit_test(test_unknown_formats),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
