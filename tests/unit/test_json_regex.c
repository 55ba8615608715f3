/*
 * test_json_regex.c - unit tests for the ECMA-262 to POSIX regex
 * translation: the exact ERE for shorthands, classes, lazy quantifiers,
 * anchors and escapes; verdicts of translated patterns on subjects;
 * constructs refused with -ENOTSUP and malformed ones with -EINVAL; the
 * per-validation cache; out-of-memory at every allocation. Includes
 * json_regex.c so its allocations can be made to fail.
 */
#include <errno.h>
#include <limits.h>
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
#include "util/json_regex.c"
#undef malloc
#undef realloc

/* Asserts that pattern translates to exactly ere. */
static void expect_ere(const char *pattern, const char *ere) {
  char *got = NULL;
  int rc = td__regex_translate(pattern, strlen(pattern), &got);
  if (rc != 0) fail_msg("pattern %s: got %d, want the ERE %s", pattern, rc, ere);
  if (strcmp(got, ere)) fail_msg("pattern %s: got the ERE %s, want %s", pattern, got, ere);
  free(got);
}

/* Compiles pattern and searches subject: 0 match, 1 no match, or the error. */
static int run(const char *pattern, const char *subject) {
  regex_t re;
  int rc = td__regex_compile(pattern, strlen(pattern), &re);
  if (rc) return rc;
  rc = td__regex_search(&re, subject, strlen(subject)) ? 0 : 1;
  regfree(&re);
  return rc;
}

static void test_shorthands(void **state) {
  (void)state;
  expect_ere("\\d", "[0-9]");
  expect_ere("\\D", "[^0-9]");
  expect_ere("\\w", "[0-9A-Za-z_]");
  expect_ere("\\W", "[^0-9A-Za-z_]");
  expect_ere("\\s", "[\t\n\v\f\r ]");
  expect_ere("\\S", "[^\t\n\v\f\r ]");
  expect_ere(".", "[^\n\r]"); /* the ECMA dot stops at line terminators */
  expect_ere("^\\d{3}-\\w+$", "^[0-9]{3}-[0-9A-Za-z_]+$");
}

static void test_classes(void **state) {
  (void)state;
  expect_ere("[ab]", "[ab]");
  expect_ere("[a-cx-z]", "[a-cx-z]");
  expect_ere("[^\\d]", "[^0-9]");
  expect_ere("[\\w.-]", "[.0-9A-Z_a-z-]");
  expect_ere("[\\s]", "[\t-\r ]");
  expect_ere("[\\x41-\\x43]", "[A-C]");
  expect_ere("[\\b]", "[\b]"); /* backspace inside a class, not a boundary */
  /* POSIX has no escapes in brackets: ']' first, '^' not first, '-' last. */
  expect_ere("[\\]\\-a]", "[]a-]");
  expect_ere("[!-/]", "[!-,./-]");
  expect_ere("[-^]", "[-^]");
  expect_ere("[\\^]", "\\^");
  expect_ere("[\\\\]", "[\\]");
  expect_ere("[[:]", "[:[]");
}

static void test_groups_and_quantifiers(void **state) {
  (void)state;
  expect_ere("(?:ab)+", "(ab)+");
  expect_ere("(a|b)c", "(a|b)c");
  /* Lazy and greedy agree on whether a match exists: the '?' is dropped. */
  expect_ere("a*?", "a*");
  expect_ere("a+?", "a+");
  expect_ere("a??", "a?");
  expect_ere("a{2,3}?", "a{2,3}");
  expect_ere("a{2}?b", "a{2}b");
  expect_ere("a{2,}?", "a{2,}");
  /* A brace that starts no quantifier is a literal. */
  expect_ere("a{", "a\\{");
  expect_ere("{}", "\\{\\}");
  expect_ere("a{,2}", "a\\{,2\\}");
}

static void test_anchors_and_escapes(void **state) {
  (void)state;
  expect_ere("^abc$", "^abc$");
  expect_ere("\\bx\\B", "\\bx\\B");
  expect_ere("\\n\\t\\r\\f\\v", "\n\t\r\f\v");
  expect_ere("\\x41\\.", "A\\.");
  expect_ere("\\/", "/");
  expect_ere("\\{", "\\{");
  /* Multi-byte characters become one group, so a quantifier covers them. */
  expect_ere("\\u00e9", "(\xc3\xa9)");
  expect_ere("\\ud83d\\udc4d", "(\xf0\x9f\x91\x8d)");
  expect_ere("\xc3\xa9+", "(\xc3\xa9)+");
}

/* Translated patterns on subjects, as the validator runs them. */
static void test_verdicts(void **state) {
  (void)state;
  static const struct {
    const char *pattern;
    const char *subject;
    int rc;
  } cases[] = {
      {"^\\d{3}-\\d{4}$", "555-1234", 0},
      {"^\\d+$", "12a", 1},
      {"^\\D+$", "abc", 0},
      {"^\\w+$", "ab_1", 0},
      {"^\\W$", "a", 1},
      {"^\\s*$", " \t", 0},
      {"^\\S+$", "a b", 1},
      {"^(?:ab)+$", "abab", 0},
      {"^a+?b$", "aaab", 0},
      {"^a{2,3}?$", "aaa", 0},
      {"^x{2}$", "xxx", 1},
      {"a{", "a{", 0},
      {"^{}$", "{}", 0},
      {"^[\\]\\-a]+$", "]-a", 0},
      {"^[\\]\\-a]+$", "b", 1},
      {"^[^\\d]+$", "abc", 0},
      {"^[^\\d]+$", "a1", 1},
      {"^[\\w.-]+@", "a.b-c@x", 0},
      {"^[-^]$", "^", 0},
      {"^[\\^]$", "^", 0},
      {"^[\\^]$", "a", 1},
      {"[\\\\]", "a\\b", 0},
      {"^[!-/]+$", "!-/", 0},
      {"^[[:]+$", ":[", 0},
      {"a.c", "a\nc", 1},
      {"^abc$", "abc\n", 1},
      {"a.c", "abc", 0},
      {"^\\u00e9$", "\xc3\xa9", 0},
      {"^\xc3\xa9+$", "\xc3\xa9\xc3\xa9", 0},
      {"^\\x41\\.$", "A.", 0},
      {"^\\x41\\.$", "Ab", 1},
      {"\\bfoo\\b", "a foo b", 0},
      {"\\bfoo\\b", "afoob", 1},
      {"^\\/api$", "/api", 0},
      {"b", "abc", 0}, /* unanchored, as ECMA test() */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int rc = run(cases[i].pattern, cases[i].subject);
    if (rc != cases[i].rc)
      fail_msg("pattern %s on %s: got %d, want %d", cases[i].pattern, cases[i].subject, rc, cases[i].rc);
  }
}

/* Valid ECMA we cannot express is refused, never approximated. */
static void test_unsupported(void **state) {
  (void)state;
  static const char *const patterns[] = {
      "(?=a)",   "(?!a)",   "(?<=a)b", "(?<!a)b", "(?<n>a)",    "(a)\\1",    "\\k<n>",     "\\p{L}",
      "\\P{L}",  "\\cA",    "\\0",     "[\\0]",   "[\\D]",      "[\\cA]",    "[]",         "[^]",
      "[a-\\d]", "\\ud800", "\\udc00", "\\u0000", "[\xc3\xa9]", "[\\u00e9]", "\\\xc3\xa9",
  };
  for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
    static char untouched[] = "untouched";
    char *ere = untouched;
    int rc = td__regex_translate(patterns[i], strlen(patterns[i]), &ere);
    if (rc != -ENOTSUP) fail_msg("pattern %s: got %d, want -ENOTSUP", patterns[i], rc);
    assert_null(ere);
  }
  /* A NUL byte in the pattern (a JSON string may hold one). */
  char *ere;
  assert_int_equal(td__regex_translate("a\0b", 3, &ere), -ENOTSUP);
  assert_int_equal(td__regex_translate("[a\0]", 4, &ere), -ENOTSUP);
  assert_int_equal(td__regex_translate("\\\0", 2, &ere), -ENOTSUP);
  assert_int_equal(run("(?=a)", "a"), -ENOTSUP);
}

static void test_malformed(void **state) {
  (void)state;
  static const char *const patterns[] = {
      "a\\", "[a", "[a\\", "[z-a]", "\\x4", "\\xg1", "\\u12", "[\\u12]", "\xc3", "a\xe2\x82",
  };
  for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
    char *ere;
    int rc = td__regex_translate(patterns[i], strlen(patterns[i]), &ere);
    if (rc != -EINVAL) fail_msg("pattern %s: got %d, want -EINVAL", patterns[i], rc);
  }
  /* Unbalanced groups translate; regcomp is the one to refuse them. */
  char *ere;
  assert_int_equal(td__regex_translate("(", 1, &ere), 0);
  assert_string_equal(ere, "(");
  free(ere);
  assert_int_equal(run("(", "a"), -EINVAL);
  assert_int_equal(run("a{2,1}", "a"), -EINVAL);
}

/* The subject is bounded by its length, not a NUL, in both directions. */
static void test_search_bounds(void **state) {
  (void)state;
  regex_t re;
  assert_int_equal(td__regex_compile("c$", 2, &re), 0);
  assert_true(td__regex_search(&re, "abc", 3));
  assert_false(td__regex_search(&re, "abc", 2));
  assert_true(td__regex_search(&re, "a\0bc", 4));
  regfree(&re);
}

static void test_cache(void **state) {
  (void)state;
  td__regex_cache_t cache = {0};
  char patterns[20][8];
  const regex_t *first, *again;
  /* Keyed by address: equal text at another address is another entry. */
  for (int i = 0; i < 20; i++) snprintf(patterns[i], sizeof(patterns[i]), "^x%d$", i % 2);
  assert_int_equal(td__regex_cache_get(&cache, patterns[0], strlen(patterns[0]), &first), 0);
  assert_int_equal(td__regex_cache_get(&cache, patterns[0], strlen(patterns[0]), &again), 0);
  assert_ptr_equal(first, again);
  assert_int_equal(cache.count, 1);
  for (int i = 1; i < 20; i++) {
    const regex_t *re;
    assert_int_equal(td__regex_cache_get(&cache, patterns[i], strlen(patterns[i]), &re), 0);
    assert_true(td__regex_search(re, i % 2 ? "x1" : "x0", 2));
    assert_false(td__regex_search(re, i % 2 ? "x0" : "x1", 2));
  }
  assert_int_equal(cache.count, 20);
  /* Failures are reported each time and not cached. */
  const char *bad = "(?=a)";
  const regex_t *re = NULL;
  assert_int_equal(td__regex_cache_get(&cache, bad, strlen(bad), &re), -ENOTSUP);
  assert_int_equal(td__regex_cache_get(&cache, bad, strlen(bad), &re), -ENOTSUP);
  assert_int_equal(cache.count, 20);
  td__regex_cache_free(&cache);
  assert_null(cache.entries);
  assert_int_equal(cache.count, 0);
  td__regex_cache_free(&cache); /* freeing an empty cache is harmless */
}

/* Every allocation failing in turn yields -ENOMEM and leaks nothing (ASan). */
static void test_out_of_memory(void **state) {
  (void)state;
  const char *pattern = "^[\\w.-]+@\\d{2,}?(?:x|\\u00e9)$";
  long n;
  for (n = 0;; n++) {
    td__regex_cache_t cache = {0};
    const regex_t *re;
    fail_after = n;
    int rc = td__regex_cache_get(&cache, pattern, strlen(pattern), &re);
    bool exhausted = fail_after >= 0;
    fail_after = -1;
    if (exhausted) {
      assert_int_equal(rc, 0);
      assert_true(td__regex_search(re, "a.b@12\xc3\xa9", 8));
      td__regex_cache_free(&cache);
      break;
    }
    if (rc != -ENOMEM) fail_msg("allocation %ld failed but rc = %d", n, rc);
    td__regex_cache_free(&cache);
  }
  assert_int_equal(n, 2); /* the cache's array, then the translation */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shorthands),
      cmocka_unit_test(test_classes),
      cmocka_unit_test(test_groups_and_quantifiers),
      cmocka_unit_test(test_anchors_and_escapes),
      cmocka_unit_test(test_verdicts),
      cmocka_unit_test(test_unsupported),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_search_bounds),
      cmocka_unit_test(test_cache),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
