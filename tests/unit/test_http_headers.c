/* test_http_headers.c - header fields both ways: the response-header setter refuses anything
 * that could split a response (HTTP-11), and the request parser reads header fields the same
 * way whether a request arrives in one piece or one byte at a time (llhttp hands spans over in
 * pieces at every read boundary; our checks must not depend on where those fall). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"
#include "http/parser.h"
#include "talentd/types.h"

/* ---------- td__http_header_add / td__http_header_addn ---------- */

static void test_normal_headers_accepted(void **state) {
  (void)state;
  td__buf_t b = {0};
  assert_int_equal(td__http_header_add(&b, "X-Request-Id", "req_abc123"), 0);
  assert_int_equal(td__http_header_add(&b, "Content-Disposition", "attachment; filename=\"cv\tv2.pdf\""), 0);
  assert_int_equal(td__http_header_add(&b, "X-Empty", ""), 0);
  /* obs-text: a UTF-8 file name is not a control byte. */
  assert_int_equal(td__http_header_add(&b, "X-Name",
                                       "Ren\xc3\xa9"
                                       "e"),
                   0);
  /* Every tchar is allowed in a name. */
  assert_int_equal(td__http_header_add(&b, "!#$%&'*+-.^_`|~09azAZ", "v"), 0);
  assert_string_equal(b.data,
                      "X-Request-Id: req_abc123\r\n"
                      "Content-Disposition: attachment; filename=\"cv\tv2.pdf\"\r\n"
                      "X-Empty: \r\n"
                      "X-Name: Ren\xc3\xa9"
                      "e\r\n"
                      "!#$%&'*+-.^_`|~09azAZ: v\r\n");
  td__buf_free(&b);
}

static void test_values_with_line_breaks_refused(void **state) {
  (void)state;
  const char *bad[] = {
      "a\rb", "a\nb",       "a\r\nb",    "\r\n", "x\r\nSet-Cookie: sid=evil", "x\r\n\r\n<html>",
      "\n",   "trailing\r", "trailing\n"};
  td__buf_t b = {0};
  td__buf_puts(&b, "Kept: 1\r\n");
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(td__http_header_add(&b, "Location", bad[i]), TD_EINVAL);
    assert_false(td__http_field_value_ok(bad[i], strlen(bad[i])));
  }
  assert_string_equal(b.data, "Kept: 1\r\n"); /* a refusal leaves the buffer as it was */
  td__buf_free(&b);
}

static void test_every_control_byte_refused(void **state) {
  (void)state;
  td__buf_t b = {0};
  for (int c = 1; c < 0x20; c++) {
    char value[4] = {'a', (char)c, 'b', '\0'};
    int want = c == '\t' ? 0 : TD_EINVAL;
    assert_int_equal(td__http_header_add(&b, "X-V", value), want);
  }
  char del[] = {'a', 0x7f, 'b', '\0'};
  assert_int_equal(td__http_header_add(&b, "X-V", del), TD_EINVAL);
  assert_string_equal(b.data, "X-V: a\tb\r\n");
  td__buf_free(&b);
}

static void test_nul_in_counted_value_refused(void **state) {
  (void)state;
  td__buf_t b = {0};
  static const char with_nul[] = {'f', 'i', 'l', 'e', '\0', '.', 'e', 'x', 'e'};
  assert_int_equal(td__http_header_addn(&b, "X-File", with_nul, sizeof with_nul), TD_EINVAL);
  assert_int_equal(td__http_header_addn(&b, "X-File", with_nul, 4), 0);
  assert_string_equal(b.data, "X-File: file\r\n");
  td__buf_free(&b);
}

static void test_non_token_names_refused(void **state) {
  (void)state;
  const char *bad[] = {"",    "X Y",  "X:Y",  "X-A:",  "X\r\n",       "X\n", "X\r",  "X\t",
                       "(a)", "a@b",  "a,b",  "\"a\"", "a/b",         "a;b", "a<b>", "a=b",
                       "a?b", "a[b]", "a\\b", "a{b}",  "Ren\xc3\xa9", "\x7f"};
  td__buf_t b = {0};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(td__http_header_add(&b, bad[i], "v"), TD_EINVAL);
  for (int c = 1; c < 0x20; c++) {
    char name[4] = {'X', (char)c, 'Y', '\0'};
    assert_int_equal(td__http_header_add(&b, name, "v"), TD_EINVAL);
  }
  assert_int_equal(td__http_header_add(&b, NULL, "v"), TD_EINVAL);
  assert_int_equal(td__http_header_add(&b, "X", NULL), TD_EINVAL);
  assert_int_equal(td__http_header_add(NULL, "X", "v"), TD_EINVAL);
  assert_null(b.data);
  td__buf_free(&b);
}

/* ---------- parsing request header fields ---------- */

typedef struct outcome {
  int status; /* 0: request parsed */
  td__http_request_t *req;
} outcome_t;

/* Parses one request from text, fed step bytes at a time. */
static outcome_t parse(const char *text, size_t step) {
  td__http_limits_t limits;
  td__http_limits_default(&limits);
  td__http_parser_t p;
  td__http_parser_init(&p, &limits, NULL, NULL, NULL, NULL);
  outcome_t o = {0};
  size_t len = strlen(text), off = 0;
  while (off < len) {
    size_t n = len - off < step ? len - off : step;
    size_t used = 0;
    const char *reason = NULL;
    int rc = td__http_parser_execute(&p, text + off, n, &used, &o.req, &reason);
    if (rc == TD_HTTP_PARSE_REQUEST) break;
    if (rc != TD_HTTP_PARSE_MORE) {
      assert_non_null(reason);
      o.status = rc;
      break;
    }
    assert_int_equal(used, n);
    off += n;
  }
  td__http_parser_free(&p);
  if (o.status == 0 && o.req == NULL) o.status = -1; /* incomplete */
  return o;
}

/* The same verdict (and the same fields) whole and one byte at a time. */
static outcome_t parse_both(const char *text) {
  outcome_t whole = parse(text, SIZE_MAX);
  outcome_t bytes = parse(text, 1);
  assert_int_equal(whole.status, bytes.status);
  if (whole.req) {
    assert_int_equal(whole.req->header_count, bytes.req->header_count);
    for (size_t i = 0; i < whole.req->header_count; i++) {
      assert_string_equal(whole.req->headers[i].name, bytes.req->headers[i].name);
      assert_string_equal(whole.req->headers[i].value, bytes.req->headers[i].value);
    }
    assert_int_equal(whole.req->body.len, bytes.req->body.len);
  }
  td__http_request_free(bytes.req);
  return whole;
}

static void test_fields_lowercased_and_trimmed(void **state) {
  (void)state;
  outcome_t o = parse_both("GET /a?b=c HTTP/1.1\r\nHost: t\r\nX-Mixed-Case:  v  w \t\r\nEMPTY:\r\n\r\n");
  assert_int_equal(o.status, 0);
  assert_string_equal(o.req->method, "GET");
  assert_string_equal(o.req->path, "/a");
  assert_string_equal(o.req->query, "b=c");
  assert_string_equal(td__http_header(o.req, "x-mixed-case"), "v  w");
  assert_string_equal(td__http_header(o.req, "empty"), "");
  assert_null(td__http_header(o.req, "X-Mixed-Case")); /* lookups take lower-case names */
  td__http_request_free(o.req);
}

static void test_bad_fields_refused_at_any_split(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int status;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400}, /* obs-fold */
      {"GET / HTTP/1.1\r\nHost: t\r\nX:\r\n\tb\r\n\r\n", 400},  /* obs-fold after an empty value */
      {"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400},              /* space before the colon */
      {"GET / HTTP/1.1\r\nHost: t\r\nX: a\x01"
       "b\r\n\r\n",
       400},                                                         /* control byte in a value */
      {"GET / HTTP/1.1\nHost: t\r\n\r\n", 400},                      /* bare LF ends the request line */
      {"GET / HTTP/1.1\r\nHost: t\r\n\n", 400},                      /* bare LF ends the head */
      {"GET / HTTP/1.1\r\nHost: t\r\nhost: u\r\n\r\n", 400},         /* two Hosts */
      {"GET / HTTP/1.1\r\nX: y\r\n\r\n", 400},                       /* no Host */
      {"GET / HTTP/1.1\r\nHost: t\r\nExpect: nothing\r\n\r\n", 417}, /* unknown expectation */
      {"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    outcome_t o = parse_both(cases[i].text);
    if (o.status != cases[i].status) fail_msg("case %zu: got %d, want %d", i, o.status, cases[i].status);
  }
}

static void test_trailers_are_dropped(void **state) {
  (void)state;
  outcome_t o = parse_both(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\nAuthorization: Bearer x\r\nHost: u\r\n\r\n");
  assert_int_equal(o.status, 0);
  assert_int_equal(o.req->body.len, 3);
  assert_null(td__http_header(o.req, "authorization"));
  assert_string_equal(td__http_header(o.req, "host"), "t");
  td__http_request_free(o.req);
}

static void test_field_limits_exact(void **state) {
  (void)state;
  td__http_limits_t limits;
  td__http_limits_default(&limits);
  /* One field of exactly max_header name+value bytes passes; one more byte is 431. */
  for (int extra = 0; extra <= 1; extra++) {
    size_t vlen = limits.max_header - 1 + (size_t)extra; /* name "X" is one byte */
    char *text = malloc(vlen + 64);
    assert_non_null(text);
    int n = snprintf(text, 64, "GET / HTTP/1.1\r\nHost: t\r\nX: ");
    memset(text + n, 'v', vlen);
    memcpy(text + (size_t)n + vlen, "\r\n\r\n", 5);
    outcome_t o = parse(text, 1000);
    assert_int_equal(o.status, extra ? 431 : 0);
    td__http_request_free(o.req);
    free(text);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normal_headers_accepted),
      cmocka_unit_test(test_values_with_line_breaks_refused),
      cmocka_unit_test(test_every_control_byte_refused),
      cmocka_unit_test(test_nul_in_counted_value_refused),
      cmocka_unit_test(test_non_token_names_refused),
      cmocka_unit_test(test_fields_lowercased_and_trimmed),
      cmocka_unit_test(test_bad_fields_refused_at_any_split),
      cmocka_unit_test(test_trailers_are_dropped),
      cmocka_unit_test(test_field_limits_exact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
