/*
 * test_json_schema.c - unit tests for the JSON Schema validator: error
 * pointers and messages, $ref resolution against a root document and loop
 * stopping, how pattern and format reach json_regex.c and json_format.c
 * (tested on their own in test_json_regex.c and test_json_format.c),
 * numbers, and out-of-memory at every allocation. Includes json_schema.c and
 * json_regex.c (which allocates the pattern translation) to make their
 * allocations fail on demand. The official suite runs in json_schema_suite.c.
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
#include "util/json_schema.c"
#include "util/json_regex.c"
#undef malloc
#undef realloc

static json_t *load(const char *text) {
  json_error_t err;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
  if (!v) fail_msg("bad test JSON: %s: %s", text, err.text);
  return v;
}

/* Validates instance text against a standalone schema text. */
static int check(const char *schema_text, const char *inst_text, td__schema_errors_t *errs,
                 size_t max_errors) {
  json_t *schema = load(schema_text), *inst = load(inst_text);
  int rc = td__schema_validate(schema, schema, inst, errs, max_errors);
  json_decref(schema);
  json_decref(inst);
  return rc;
}

/* Asserts exactly one error, with this pointer and message. */
static void expect_one(const char *schema, const char *inst, const char *pointer, const char *message) {
  td__schema_errors_t errs = {0};
  assert_int_equal(check(schema, inst, &errs, 0), 1);
  assert_int_equal(errs.count, 1);
  assert_string_equal(errs.items[0].pointer, pointer);
  assert_string_equal(errs.items[0].message, message);
  td__schema_errors_free(&errs);
}

static void expect_verdict(const char *schema, const char *inst, int verdict) {
  int rc = check(schema, inst, NULL, 0);
  if (rc != verdict) fail_msg("schema %s, instance %s: got %d, want %d", schema, inst, rc, verdict);
}

static void test_required_and_unknown_field(void **state) {
  (void)state;
  const char *schema =
      "{\"type\": \"object\", \"required\": [\"first_name\", \"email\"],"
      " \"properties\": {\"first_name\": {\"type\": \"string\"},"
      " \"email\": {\"type\": \"string\"}}, \"additionalProperties\": false}";
  td__schema_errors_t errs = {0};
  assert_int_equal(check(schema, "{\"email\": \"a@b.co\", \"nickname\": \"x\"}", &errs, 0), 1);
  assert_int_equal(errs.count, 2);
  assert_string_equal(errs.items[0].pointer, "/first_name");
  assert_string_equal(errs.items[0].message, "is required");
  assert_string_equal(errs.items[1].pointer, "/nickname");
  assert_string_equal(errs.items[1].message, "unknown field");
  td__schema_errors_free(&errs);
  assert_null(errs.items);
  expect_verdict(schema, "{\"first_name\": \"Ada\", \"email\": \"a@b.co\"}", 0);
}

static void test_messages(void **state) {
  (void)state;
  expect_one("{\"enum\": [\"draft\", \"open\", \"on_hold\", \"closed\"]}", "\"paused\"", "",
             "must be one of: draft, open, on_hold, closed");
  expect_one("{\"enum\": [\"two words\", null, 3]}", "4", "", "must be one of: \"two words\", null, 3");
  expect_one("{\"const\": 2}", "3", "", "must be exactly 2");
  expect_one("{\"type\": [\"string\", \"null\"]}", "5", "", "must be a string or null");
  expect_one("{\"type\": [\"string\", \"integer\", \"null\"]}", "{}", "",
             "must be a string, an integer or null");
  expect_one("{\"type\": \"integer\"}", "1.0", "", "must be an integer");
  expect_one("{\"minimum\": 1}", "0", "", "must be at least 1");
  expect_one("{\"exclusiveMaximum\": 2.5}", "2.5", "", "must be less than 2.5");
  expect_one("{\"multipleOf\": 0.01}", "19.999", "", "must be a multiple of 0.01");
  expect_one("{\"maxLength\": 5}", "\"h\\u00e9llo\\ud83d\\udc4d\"", "", "must be at most 5 characters long");
  expect_one("{\"minLength\": 1}", "\"\"", "", "must be at least 1 character long");
  expect_one("{\"minItems\": 2}", "[1]", "", "must have at least 2 items");
  expect_one("{\"maxProperties\": 1}", "{\"a\": 1, \"b\": 2}", "", "must have at most 1 field");
  expect_one("{\"pattern\": \"^[a-z]+$\"}", "\"A\"", "", "must match the pattern ^[a-z]+$");
  expect_one("{\"not\": {\"type\": \"null\"}}", "null", "", "must not match the excluded schema");
  expect_one("false", "1", "", "is not allowed");
  expect_one("{\"items\": [{}, {}], \"additionalItems\": false}", "[1, 2, 3, 4]", "/2",
             "is not allowed: at most 2 items are expected");
  expect_one("{\"uniqueItems\": true}", "[1, 2, {\"a\": 1}, {\"a\": 1.0}, 2]", "/3",
             "repeats item 2: items must be unique");
  expect_one("{\"propertyNames\": {\"maxLength\": 3}}", "{\"abc\": 1, \"abcd\": 2}", "/abcd",
             "field name must be at most 3 characters long");
  expect_one("{\"format\": \"date\"}", "\"2023-02-29\"", "",
             "must be a date in YYYY-MM-DD form, for example 2024-05-01");
}

static void test_pointers_escape_and_nest(void **state) {
  (void)state;
  expect_one("{\"properties\": {\"emails\": {\"items\": {\"format\": \"email\"}}}}",
             "{\"emails\": [\"a@b.co\", \"c@d.co\", \"nope\"]}", "/emails/2",
             "must be an email address, for example ada@example.com");
  expect_one("{\"properties\": {\"a/b\": {\"properties\": {\"c~d\": {\"type\": \"integer\"}}}}}",
             "{\"a/b\": {\"c~d\": \"x\"}}", "/a~1b/c~0d", "must be an integer");
  expect_one("{\"patternProperties\": {\"^x_\": {\"type\": \"string\"}}}", "{\"x_1\": 1}", "/x_1",
             "must be a string");
}

/* anyOf/oneOf give one error at the instance, not one per branch. */
static void test_alternatives_report_once(void **state) {
  (void)state;
  const char *branches =
      "[{\"type\": \"object\", \"required\": [\"email\"]},"
      " {\"type\": \"object\", \"required\": [\"phone\"]},"
      " {\"type\": \"string\", \"minLength\": 3}]";
  char schema[512];
  snprintf(schema, sizeof(schema), "{\"properties\": {\"contact\": {\"anyOf\": %s}}}", branches);
  expect_one(schema, "{\"contact\": {}}", "/contact",
             "must match at least one of the 3 allowed alternatives");
  snprintf(schema, sizeof(schema), "{\"properties\": {\"contact\": {\"oneOf\": %s}}}", branches);
  expect_one(schema, "{\"contact\": 1}", "/contact",
             "must match exactly one of the 3 allowed alternatives, but matches none");
  expect_one(schema, "{\"contact\": {\"email\": 1, \"phone\": 2}}", "/contact",
             "must match exactly one of the 3 allowed alternatives, but matches more than one");
  expect_verdict(schema, "{\"contact\": {\"email\": 1}}", 0);
}

static void test_if_then_else(void **state) {
  (void)state;
  const char *schema =
      "{\"if\": {\"properties\": {\"status\": {\"const\": \"closed\"}}},"
      " \"then\": {\"required\": [\"closed_reason\"]},"
      " \"else\": {\"properties\": {\"closed_reason\": false}}}";
  expect_one(schema, "{\"status\": \"closed\"}", "/closed_reason", "is required");
  expect_one(schema, "{\"status\": \"open\", \"closed_reason\": \"x\"}", "/closed_reason", "is not allowed");
  expect_verdict(schema, "{\"status\": \"closed\", \"closed_reason\": \"filled\"}", 0);
}

static void test_max_errors_and_null_list(void **state) {
  (void)state;
  const char *schema = "{\"additionalProperties\": false}";
  const char *inst = "{\"a\": 1, \"b\": 2, \"c\": 3}";
  td__schema_errors_t errs = {0};
  assert_int_equal(check(schema, inst, &errs, 0), 1);
  assert_int_equal(errs.count, 3);
  /* A second call appends, and max_errors counts only its own errors. */
  assert_int_equal(check(schema, inst, &errs, 2), 1);
  assert_int_equal(errs.count, 5);
  td__schema_errors_free(&errs);
  assert_int_equal(check(schema, inst, NULL, 0), 1);
  assert_int_equal(check(schema, "{}", NULL, 0), 0);
  td__schema_errors_free(NULL);
}

/* $ref resolves against the root document, as for an OpenAPI component. */
static void test_refs_against_root(void **state) {
  (void)state;
  json_t *root = load(
      "{\"components\": {\"schemas\": {"
      "\"Candidate\": {\"type\": \"object\", \"required\": [\"email\"],"
      "  \"properties\": {\"email\": {\"$ref\": \"#/components/schemas/Email\"},"
      "                  \"tags\": {\"$ref\": \"#/components/schemas/Tag%20List\"}}},"
      "\"Email\": {\"type\": \"string\", \"format\": \"email\"},"
      "\"Tag List\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/tag\"}}}},"
      " \"$defs\": {\"tag\": {\"type\": \"string\", \"maxLength\": 3}}}");
  json_t *schema =
      json_object_get(json_object_get(json_object_get(root, "components"), "schemas"), "Candidate");
  json_t *inst = load("{\"email\": \"nope\", \"tags\": [\"ok\", \"toolong\"]}");
  td__schema_errors_t errs = {0};
  assert_int_equal(td__schema_validate(root, schema, inst, &errs, 0), 1);
  assert_int_equal(errs.count, 2);
  assert_string_equal(errs.items[0].pointer, "/email");
  assert_string_equal(errs.items[1].pointer, "/tags/1");
  assert_string_equal(errs.items[1].message, "must be at most 3 characters long");
  td__schema_errors_free(&errs);
  json_decref(inst);
  json_decref(root);
}

static void test_bad_refs_and_schemas(void **state) {
  (void)state;
  static const struct {
    const char *schema;
    int rc;
  } cases[] = {
      {"{\"$ref\": \"#/definitions/missing\"}", -EINVAL},
      {"{\"$ref\": \"#/definitions/~2\", \"definitions\": {}}", -EINVAL},
      {"{\"$ref\": \"#/items/01\", \"items\": [{}, {}]}", -EINVAL},
      {"{\"$ref\": \"#/items/1\", \"items\": [{}, {\"type\": \"integer\"}]}", 1},
      {"{\"$ref\": \"#/a%2\", \"a\": {}}", -EINVAL},
      {"{\"$ref\": 5}", -EINVAL},
      {"{\"$ref\": \"other.json#/a\"}", -ENOTSUP},
      {"{\"$ref\": \"#anchor\"}", -ENOTSUP},
      {"{\"type\": \"strin\"}", -EINVAL},
      {"{\"type\": []}", -EINVAL},
      {"{\"minLength\": -1}", -EINVAL},
      {"{\"maxItems\": 1.5}", -EINVAL},
      {"{\"required\": \"x\"}", -EINVAL},
      {"{\"required\": [1]}", -EINVAL},
      {"{\"multipleOf\": 0}", -EINVAL},
      {"{\"minimum\": \"1\"}", -EINVAL},
      {"{\"enum\": 1}", -EINVAL},
      {"{\"anyOf\": []}", -EINVAL},
      {"{\"properties\": []}", -EINVAL},
      {"{\"uniqueItems\": 1}", -EINVAL},
      {"{\"format\": 1}", -EINVAL},
      {"5", -EINVAL},
      {"{\"contains\": {}}", -ENOTSUP},
      {"{\"dependencies\": {}}", -ENOTSUP},
      {"{\"prefixItems\": []}", -ENOTSUP},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int rc = check(cases[i].schema, "\"x\"", NULL, 0);
    if (rc != cases[i].rc) fail_msg("%s: got %d, want %d", cases[i].schema, rc, cases[i].rc);
  }
}

/* $ref loops and runaway recursion stop at TD__SCHEMA_MAX_DEPTH. */
static void test_depth_limit(void **state) {
  (void)state;
  expect_verdict("{\"$ref\": \"#\"}", "1", -ELOOP);
  expect_verdict(
      "{\"definitions\": {\"a\": {\"$ref\": \"#/definitions/b\"},"
      " \"b\": {\"$ref\": \"#/definitions/a\"}}, \"$ref\": \"#/definitions/a\"}",
      "1", -ELOOP);
  expect_verdict("{\"anyOf\": [{\"$ref\": \"#\"}]}", "1", -ELOOP);
  const char *tree = "{\"type\": \"object\", \"properties\": {\"child\": {\"$ref\": \"#\"}}}";
  char inst[4096];
  for (int levels = 10; levels <= 100; levels += 90) {
    size_t len = 0;
    for (int i = 0; i < levels; i++) len += (size_t)snprintf(inst + len, sizeof(inst) - len, "{\"child\": ");
    len += (size_t)snprintf(inst + len, sizeof(inst) - len, "{}");
    for (int i = 0; i < levels; i++) len += (size_t)snprintf(inst + len, sizeof(inst) - len, "}");
    expect_verdict(tree, inst, levels == 10 ? 0 : -ELOOP);
  }
}

static void test_numbers(void **state) {
  (void)state;
  expect_verdict("{\"enum\": [1, 2]}", "1.0", 0);
  expect_verdict("{\"const\": {\"a\": [1]}}", "{\"a\": [1.0]}", 0);
  expect_verdict("{\"maximum\": 9007199254740993}", "9007199254740992", 0);
  expect_verdict("{\"maximum\": 9007199254740993}", "9007199254740994", 1);
  expect_verdict("{\"minimum\": 0.5}", "1", 0);
  expect_verdict("{\"multipleOf\": 0.01}", "19.99", 0);
  expect_verdict("{\"multipleOf\": 3}", "-9", 0);
  expect_verdict("{\"multipleOf\": 1e-300}", "1e300", 1);
  expect_verdict("{\"uniqueItems\": true}", "[1, true, 0, false, null, \"1\"]", 0);
  expect_verdict("{\"uniqueItems\": true}", "[{\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1}]", 1);
  expect_verdict("{\"uniqueItems\": true}", "[0.0, -0.0]", 1);
}

static void test_unique_items_large(void **state) {
  (void)state;
  json_t *schema = load("{\"uniqueItems\": true}");
  json_t *inst = json_array();
  for (json_int_t i = 0; i < 10000; i++) json_array_append_new(inst, json_integer(i));
  assert_int_equal(td__schema_validate(schema, schema, inst, NULL, 0), 0);
  json_array_append_new(inst, json_integer(5000));
  td__schema_errors_t errs = {0};
  assert_int_equal(td__schema_validate(schema, schema, inst, &errs, 0), 1);
  assert_string_equal(errs.items[0].pointer, "/10000");
  assert_string_equal(errs.items[0].message, "repeats item 5000: items must be unique");
  td__schema_errors_free(&errs);
  json_decref(inst);
  json_decref(schema);
}

/*
 * pattern and patternProperties go through json_regex.c (its own tests cover
 * the translation): a verdict per string, non-strings ignored, and a pattern
 * the translation refuses makes the schema unusable.
 */
static void test_patterns(void **state) {
  (void)state;
  static const struct {
    const char *schema;
    const char *inst;
    int rc;
  } cases[] = {
      {"{\"pattern\": \"^\\\\d{3}-\\\\d{4}$\"}", "\"555-1234\"", 0},
      {"{\"pattern\": \"^\\\\d+$\"}", "\"12a\"", 1},
      {"{\"pattern\": \"b\"}", "\"abc\"", 0},   /* unanchored */
      {"{\"pattern\": \"^\\\\d+$\"}", "12", 0}, /* strings only */
      {"{\"pattern\": \"(?=a)\"}", "\"a\"", -ENOTSUP},
      {"{\"pattern\": \"(\"}", "\"a\"", -EINVAL},
      {"{\"pattern\": \"[z-a]\"}", "\"a\"", -EINVAL},
      {"{\"pattern\": 5}", "\"a\"", -EINVAL},
      {"{\"patternProperties\": {\"^x_\\\\d$\": false}}", "{\"x_1\": 1, \"y\": 2}", 1},
      {"{\"patternProperties\": {\"^x_\\\\d$\": false}}", "{\"x_a\": 1}", 0},
      {"{\"patternProperties\": {\"\\\\p{L}\": {}}}", "{\"a\": 1}", -ENOTSUP},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    expect_verdict(cases[i].schema, cases[i].inst, cases[i].rc);
  /* The pattern, compiled once and cached, checks each item in turn. */
  expect_verdict("{\"items\": {\"pattern\": \"^[a-z]+$\"}}", "[\"ab\", \"cd\", \"e\"]", 0);
  expect_one("{\"items\": {\"pattern\": \"^[a-z]+$\"}}", "[\"ab\", \"C\"]", "/1",
             "must match the pattern ^[a-z]+$");
}

/*
 * format goes through json_format.c (its own tests cover the edge cases):
 * each checked format reports its sentence; others, and non-strings, pass.
 */
static void test_formats(void **state) {
  (void)state;
  expect_one("{\"format\": \"date-time\"}", "\"2024-05-01T09:30:00\"", "",
             "must be a date and time in RFC 3339 form, for example 2024-05-01T09:30:00Z");
  expect_one("{\"format\": \"email\"}", "\"ada@@example.com\"", "",
             "must be an email address, for example ada@example.com");
  expect_one("{\"format\": \"uri\"}", "\"example.com\"", "",
             "must be an absolute URI, for example https://example.com/jobs");
  expect_verdict("{\"format\": \"date\"}", "\"2024-02-29\"", 0);
  expect_verdict("{\"format\": \"date\"}", "\"2023-02-29\"", 1);
  expect_verdict("{\"format\": \"uri\"}", "\"https://example.com/jobs?x=1#y\"", 0);
  expect_verdict("{\"format\": \"uuid\"}", "\"not checked\"", 0);
  expect_verdict("{\"format\": \"email\"}", "42", 0); /* formats apply to strings only */
}

/* Every allocation failing in turn yields -ENOMEM and leaks nothing (ASan). */
static void test_out_of_memory(void **state) {
  (void)state;
  json_t *schema = load(
      "{\"type\": \"object\", \"required\": [\"name\"], \"additionalProperties\": false,"
      " \"properties\": {\"tags\": {\"uniqueItems\": true, \"items\": {\"enum\": [\"a\", \"b\"]}},"
      "  \"code\": {\"pattern\": \"^\\\\d+$\"}, \"when\": {\"format\": \"date\"}},"
      " \"propertyNames\": {\"maxLength\": 4}}");
  json_t *inst = load(
      "{\"tags\": [\"a\", \"c\", \"a\"], \"code\": \"12x\", \"when\": \"x\","
      " \"extra\": 1}");
  size_t full = 0;
  for (long n = 0;; n++) {
    td__schema_errors_t errs = {0};
    fail_after = n;
    int rc = td__schema_validate(schema, schema, inst, &errs, 0);
    bool exhausted = fail_after >= 0;
    fail_after = -1;
    if (exhausted) {
      assert_int_equal(rc, 1);
      full = errs.count;
      td__schema_errors_free(&errs);
      break;
    }
    if (rc != -ENOMEM) fail_msg("allocation %ld failed but rc = %d", n, rc);
    td__schema_errors_free(&errs);
  }
  assert_int_equal(full, 7); /* name, extra twice, tags/1, tags/2, code, when */
  json_decref(inst);
  json_decref(schema);
}

int main(void) {
  json_set_alloc_funcs(fi_malloc, free);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_required_and_unknown_field),
      cmocka_unit_test(test_messages),
      cmocka_unit_test(test_pointers_escape_and_nest),
      cmocka_unit_test(test_alternatives_report_once),
      cmocka_unit_test(test_if_then_else),
      cmocka_unit_test(test_max_errors_and_null_list),
      cmocka_unit_test(test_refs_against_root),
      cmocka_unit_test(test_bad_refs_and_schemas),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_unique_items_large),
      cmocka_unit_test(test_patterns),
      cmocka_unit_test(test_formats),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
