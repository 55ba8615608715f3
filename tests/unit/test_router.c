/* Route matching over the real route table: parameters, percent-decoding, 404 vs 405. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/app.h"
#include "talentd/types.h"

static void test_params_and_literals(void **state) {
  (void)state;
  td__call_t call;
  const td__route_t *r = NULL;
  char allow[64];
  memset(&call, 0, sizeof call);
  assert_int_equal(td__route_match("GET", "/api/v1/candidates/can_abc", &r, &call, allow, sizeof allow), 0);
  assert_string_equal(r->pattern, "/api/v1/candidates/{id}");
  assert_int_equal(call.param_count, 1);
  assert_string_equal(call.params[0], "can_abc");
  /* A literal segment wins over a parameter where both could match. */
  assert_int_equal(td__route_match("GET", "/api/v1/candidates/export", &r, &call, allow, sizeof allow), 0);
  assert_string_equal(r->pattern, "/api/v1/candidates/export");
  assert_int_equal(
      td__route_match("POST", "/api/v1/applications/app_1/moves", &r, &call, allow, sizeof allow), 0);
  assert_string_equal(call.params[0], "app_1");
  assert_int_equal(td__route_match("HEAD", "/healthz", &r, &call, allow, sizeof allow), 0);
}

static void test_decoding_and_refusals(void **state) {
  (void)state;
  td__call_t call;
  const td__route_t *r = NULL;
  char allow[64];
  memset(&call, 0, sizeof call);
  assert_int_equal(td__route_match("GET", "/api/v1/candidates/a%20b", &r, &call, allow, sizeof allow), 0);
  assert_string_equal(call.params[0], "a b");
  /* An encoded slash or NUL never becomes part of a parameter. */
  assert_int_equal(td__route_match("GET", "/api/v1/candidates/a%2Fb", &r, &call, allow, sizeof allow),
                   TD_ENOTFOUND);
  assert_int_equal(td__route_match("GET", "/api/v1/candidates/a%00", &r, &call, allow, sizeof allow),
                   TD_ENOTFOUND);
  assert_int_equal(td__route_match("GET", "/api/v1/candidates/%zz", &r, &call, allow, sizeof allow),
                   TD_ENOTFOUND);
  assert_int_equal(td__route_match("GET", "/api/v1/candidates//notes", &r, &call, allow, sizeof allow),
                   TD_ENOTFOUND);
  assert_int_equal(td__route_match("GET", "/api/v1/nothing", &r, &call, allow, sizeof allow), TD_ENOTFOUND);
  assert_int_equal(td__route_match("PUT", "/api/v1/candidates", &r, &call, allow, sizeof allow), TD_EDENIED);
  assert_non_null(strstr(allow, "GET"));
  assert_non_null(strstr(allow, "POST"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_params_and_literals),
      cmocka_unit_test(test_decoding_and_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
