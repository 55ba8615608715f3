/*
 * test_json_limits.c - unit tests for td__json_parse_limited(): syntax
 * errors, duplicate keys, the depth and array limits with the pointers they
 * report, and out-of-memory at every allocation. Includes the .c files under
 * test so their allocations can be made to fail.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

/* Failure injection: the allocation after `fail_after` more succeed fails. */
static long fail_after = -1;

static void *fi_malloc(size_t n) {
  if (fail_after >= 0 && fail_after-- == 0) return NULL;
  return malloc(n);
}

static void *fi_realloc(void *p, size_t n) {
  if (fail_after >= 0 && fail_after-- == 0) return NULL;
  return realloc(p, n);
}

#define malloc fi_malloc
#define realloc fi_realloc
#include "util/json_limits.c"
#include "util/json_schema.c"
#undef malloc
#undef realloc

/* Parses text with the given limits; err outputs go to *ptr and *msg. */
static json_t *parse(const char *text, int depth, size_t array, char **ptr, char **msg) {
  return td__json_parse_limited(text, strlen(text), depth, array, ptr, msg);
}

/* Builds n nested arrays: "[[[...]]]". Caller frees. */
static char *nested_arrays(size_t n) {
  char *s = malloc(2 * n + 1);
  assert_non_null(s);
  memset(s, '[', n);
  memset(s + n, ']', n);
  s[2 * n] = '\0';
  return s;
}

static void test_valid_body(void **state) {
  (void)state;
  char *ptr = (char *)1, *msg = (char *)1;
  json_t *v = parse("{\"name\": \"Ada\", \"tags\": [1, 2]}", 0, 0, &ptr, &msg);
  assert_non_null(v);
  assert_null(ptr);
  assert_null(msg);
  assert_string_equal(json_string_value(json_object_get(v, "name")), "Ada");
  json_decref(v);
}

static void test_syntax_error(void **state) {
  (void)state;
  char *ptr, *msg;
  assert_null(parse("{\"a\": }", 0, 0, &ptr, &msg));
  assert_string_equal(ptr, "");
  assert_true(strncmp(msg, "invalid JSON at line 1, column 7: ", 34) == 0);
  free(ptr);
  free(msg);
}

static void test_duplicate_keys_and_garbage(void **state) {
  (void)state;
  static const char *const bad[] = {
      "{\"a\": 1, \"a\": 2}", "{} x", "", "[\"\\u0000\"]", "{\"a\": 1,}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *ptr, *msg;
    assert_null(parse(bad[i], 0, 0, &ptr, &msg));
    assert_string_equal(ptr, "");
    assert_non_null(strstr(msg, "invalid JSON at line"));
    if (i == 0) assert_non_null(strstr(msg, "duplicate"));
    free(ptr);
    free(msg);
  }
}

static void test_length_not_nul_terminated(void **state) {
  (void)state;
  const char buf[] = "[1, 2]GARBAGE";
  char *ptr, *msg;
  json_t *v = td__json_parse_limited(buf, 6, 0, 0, &ptr, &msg);
  assert_non_null(v);
  assert_int_equal(json_array_size(v), 2);
  json_decref(v);
}

static void test_top_level_scalar(void **state) {
  (void)state;
  char *ptr, *msg;
  json_t *v = parse("\"just a string\"", 0, 0, &ptr, &msg);
  assert_true(json_is_string(v));
  json_decref(v);
}

static void test_depth_limit(void **state) {
  (void)state;
  char *ptr, *msg;
  char *ok = nested_arrays(32), *deep = nested_arrays(33);
  json_t *v = parse(ok, 0, 0, &ptr, &msg);
  assert_non_null(v);
  json_decref(v);
  assert_null(parse(deep, 0, 0, &ptr, &msg));
  assert_string_equal(msg, "nesting deeper than 32 levels");
  /* The 33rd array sits at /0 repeated 32 times. */
  assert_int_equal(strlen(ptr), 64);
  assert_true(strncmp(ptr, "/0/0/0/0", 8) == 0);
  free(ptr);
  free(msg);
  free(ok);
  free(deep);
}

static void test_depth_pointer_escapes_keys(void **state) {
  (void)state;
  char *ptr, *msg;
  assert_null(parse("{\"x\": 1, \"a/b\": {\"c~d\": [ {} ]}}", 3, 0, &ptr, &msg));
  assert_string_equal(ptr, "/a~1b/c~0d/0");
  assert_string_equal(msg, "nesting deeper than 3 levels");
  free(ptr);
  free(msg);
}

static void test_depth_beyond_parser_limit(void **state) {
  (void)state;
  char *ptr, *msg;
  char *deep = nested_arrays(5000);
  assert_null(parse(deep, 0, 0, &ptr, &msg));
  assert_string_equal(msg, "nesting deeper than 32 levels");
  assert_string_equal(ptr, "");
  free(ptr);
  free(msg);
  free(deep);
}

static void test_array_limit(void **state) {
  (void)state;
  char *ptr, *msg;
  td__json_pointer_t text = {0};
  assert_int_equal(sbuf_adds(&text, "{\"candidate\": {\"tags\": [0"), 0);
  for (int i = 1; i < 10000; i++) assert_int_equal(sbuf_adds(&text, ",0"), 0);
  assert_int_equal(sbuf_adds(&text, "]}}"), 0);
  json_t *v = parse(text.buf, 0, 0, &ptr, &msg);
  assert_non_null(v); /* exactly 10,000 is allowed */
  json_decref(v);
  text.len -= 3;
  assert_int_equal(sbuf_adds(&text, ",0]}}"), 0);
  assert_null(parse(text.buf, 0, 0, &ptr, &msg));
  assert_string_equal(ptr, "/candidate/tags");
  assert_string_equal(msg, "array longer than 10000 elements");
  free(ptr);
  free(msg);
  assert_null(parse("[[1,2],[1,2,3]]", 0, 2, &ptr, &msg));
  assert_string_equal(ptr, "/1");
  free(ptr);
  free(msg);
  td__json_pointer_free(&text);
}

/*
 * Every allocation failing in turn gives NULL and either both outputs NULL
 * or, when jansson's parser hit the failure, a syntax error; never a leak
 * (run under ASan) or a half-filled pair.
 */
static void test_out_of_memory(void **state) {
  (void)state;
  const char *body = "{\"a\": {\"b\": [[1]]}}";
  for (long n = 0;; n++) {
    char *ptr = (char *)1, *msg = (char *)1;
    fail_after = n;
    json_t *v = parse(body, 2, 0, &ptr, &msg);
    bool exhausted = fail_after >= 0;
    fail_after = -1;
    assert_null(v);
    if (exhausted) {
      assert_string_equal(ptr, "/a/b");
      free(ptr);
      free(msg);
      break;
    }
    /* jansson may misreport its own allocation failure as a syntax error. */
    assert_true((ptr == NULL) == (msg == NULL));
    assert_true(!ptr || strncmp(msg, "invalid JSON", 12) == 0);
    free(ptr);
    free(msg);
  }
}

int main(void) {
  json_set_alloc_funcs(fi_malloc, free);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_body),
      cmocka_unit_test(test_syntax_error),
      cmocka_unit_test(test_duplicate_keys_and_garbage),
      cmocka_unit_test(test_length_not_nul_terminated),
      cmocka_unit_test(test_top_level_scalar),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_depth_pointer_escapes_keys),
      cmocka_unit_test(test_depth_beyond_parser_limit),
      cmocka_unit_test(test_array_limit),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
