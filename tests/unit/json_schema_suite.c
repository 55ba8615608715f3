/*
 * json_schema_suite.c - runs the official JSON-Schema-Test-Suite (draft 7)
 * against td__schema_validate() for the keywords talentd supports.
 *
 * Usage: json_schema_suite DIR, where DIR is the suite's tests/draft7
 * directory (Debian: /usr/share/json-schema-test-suite/tests/draft7).
 * Every *.json under DIR, DIR/optional and DIR/optional/format must be
 * listed below as run or skipped (with the reason), so a newer suite cannot
 * silently add or drop coverage. Each test runs three ways (all errors, at
 * most one error, verdict only) and all three must agree with the suite.
 * Prints failures, then a last line "N passed, M failed"; exits 1 if any
 * test failed.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/json_schema.h"

/* Files run in full, relative to DIR. */
static const char *const run_files[] = {
    "additionalItems.json",
    "additionalProperties.json",
    "allOf.json",
    "anyOf.json",
    "boolean_schema.json",
    "const.json",
    "default.json",
    "enum.json",
    "exclusiveMaximum.json",
    "exclusiveMinimum.json",
    "if-then-else.json",
    "items.json",
    "maxItems.json",
    "maxLength.json",
    "maxProperties.json",
    "maximum.json",
    "minItems.json",
    "minLength.json",
    "minProperties.json",
    "minimum.json",
    "multipleOf.json",
    "not.json",
    "oneOf.json",
    "pattern.json",
    "patternProperties.json",
    "properties.json",
    "propertyNames.json",
    "ref.json",
    "required.json",
    "type.json",
    "uniqueItems.json",
    "optional/format/date-time.json",
    "optional/format/date.json",
    "optional/format/email.json",
    "optional/format/uri.json",
};

/* Whole files not run, and why. */
static const struct {
  const char *file;
  const char *why;
} skipped_files[] = {
    {"contains.json", "contains is not implemented; the validator refuses it (-ENOTSUP)"},
    {"dependencies.json", "dependencies is not implemented; the validator refuses it (-ENOTSUP)"},
    {"definitions.json", "every test $refs the remote draft-07 metaschema"},
    {"refRemote.json", "remote $ref and $id base-URI changes are not supported"},
    {"optional/bignum.json", "numbers beyond int64/double; jansson cannot parse them"},
    {"optional/content.json", "contentMediaType/contentEncoding are annotations for us"},
    {"optional/ecmascript-regex.json", "format \"regex\" is not a format we check"},
    {"optional/zeroTerminatedFloats.json", "deliberate: 1.0 is not an integer for us"},
    {"optional/format/hostname.json", "format not checked (annotation)"},
    {"optional/format/idn-email.json", "format not checked (annotation)"},
    {"optional/format/idn-hostname.json", "format not checked (annotation)"},
    {"optional/format/ipv4.json", "format not checked (annotation)"},
    {"optional/format/ipv6.json", "format not checked (annotation)"},
    {"optional/format/iri-reference.json", "format not checked (annotation)"},
    {"optional/format/iri.json", "format not checked (annotation)"},
    {"optional/format/json-pointer.json", "format not checked (annotation)"},
    {"optional/format/regex.json", "format not checked (annotation)"},
    {"optional/format/relative-json-pointer.json", "format not checked (annotation)"},
    {"optional/format/time.json", "format not checked (annotation)"},
    {"optional/format/uri-reference.json", "format not checked (annotation)"},
    {"optional/format/uri-template.json", "format not checked (annotation)"},
};

/* Test groups (test == NULL) or single tests skipped inside run files. */
static struct {
  const char *file;
  const char *group;
  const char *test;
  const char *why;
  bool used;
} skipped_tests[] = {
    {"ref.json", "remote ref, containing refs itself", NULL, "remote $ref to the draft-07 metaschema", false},
    {"ref.json", "Recursive references between schemas", NULL,
     "$refs relative to $id base URIs (\"node\", \"tree\")", false},
};

static const char *const subdirs[] = {"", "optional/", "optional/format/"};

static int passed, failed, skipped;

static bool is_listed(const char *rel) {
  for (size_t i = 0; i < sizeof(run_files) / sizeof(run_files[0]); i++)
    if (!strcmp(rel, run_files[i])) return true;
  for (size_t i = 0; i < sizeof(skipped_files) / sizeof(skipped_files[0]); i++)
    if (!strcmp(rel, skipped_files[i].file)) return true;
  return false;
}

/* Fails the run for every suite file that is neither run nor skipped. */
static void check_unlisted(const char *dir) {
  for (size_t s = 0; s < sizeof(subdirs) / sizeof(subdirs[0]); s++) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, subdirs[s]);
    DIR *d = opendir(path);
    if (!d) continue;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      size_t n = strlen(e->d_name);
      char rel[1024];
      if (n < 5 || strcmp(e->d_name + n - 5, ".json")) continue;
      snprintf(rel, sizeof(rel), "%s%s", subdirs[s], e->d_name);
      if (!is_listed(rel)) {
        printf("FAIL %s: suite file neither run nor skipped; list it\n", rel);
        failed++;
      }
    }
    closedir(d);
  }
}

static const char *skip_reason(const char *file, const char *group, const char *test) {
  for (size_t i = 0; i < sizeof(skipped_tests) / sizeof(skipped_tests[0]); i++) {
    if (strcmp(file, skipped_tests[i].file) || strcmp(group, skipped_tests[i].group)) continue;
    if (skipped_tests[i].test && strcmp(test, skipped_tests[i].test)) continue;
    skipped_tests[i].used = true;
    return skipped_tests[i].why;
  }
  return NULL;
}

/* Runs one test three ways; returns NULL if all agree with the suite. */
static const char *run_test(const json_t *schema, const json_t *data, bool valid, td__schema_errors_t *all) {
  td__schema_errors_t one = {0};
  const char *problem = NULL;
  int rc_all = td__schema_validate(schema, schema, data, all, 0);
  int rc_one = td__schema_validate(schema, schema, data, &one, 1);
  int rc_none = td__schema_validate(schema, schema, data, NULL, 0);
  if (rc_all < 0 || rc_one < 0 || rc_none < 0)
    problem = "schema refused (negative return)";
  else if (rc_all != rc_one || rc_all != rc_none)
    problem = "verdict depends on the error budget";
  else if (rc_all != (valid ? 0 : 1))
    problem = valid ? "expected valid, got invalid" : "expected invalid, got valid";
  else if (valid ? all->count != 0 : (all->count == 0 || one.count != 1))
    problem = "error list does not match the verdict";
  td__schema_errors_free(&one);
  return problem;
}

/* Runs every test of one suite file. */
static void run_file(const char *dir, const char *rel) {
  char path[4096];
  json_error_t jerr;
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  json_t *groups = json_load_file(path, 0, &jerr);
  if (!json_is_array(groups)) {
    printf("FAIL %s: cannot load: %s\n", rel, jerr.text);
    failed++;
    goto out;
  }
  size_t gi, ti;
  json_t *group, *test;
  json_array_foreach(groups, gi, group) {
    const char *gdesc = json_string_value(json_object_get(group, "description"));
    const json_t *schema = json_object_get(group, "schema");
    json_array_foreach(json_object_get(group, "tests"), ti, test) {
      const char *tdesc = json_string_value(json_object_get(test, "description"));
      if (skip_reason(rel, gdesc ? gdesc : "", tdesc ? tdesc : "")) {
        skipped++;
        continue;
      }
      td__schema_errors_t errs = {0};
      const char *problem = run_test(schema, json_object_get(test, "data"),
                                     json_is_true(json_object_get(test, "valid")), &errs);
      if (problem) {
        printf("FAIL %s: %s / %s: %s", rel, gdesc, tdesc, problem);
        if (errs.count) printf(" (first error at \"%s\": %s)", errs.items[0].pointer, errs.items[0].message);
        printf("\n");
        failed++;
      } else {
        passed++;
      }
      td__schema_errors_free(&errs);
    }
  }
out:
  json_decref(groups);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s JSON-Schema-Test-Suite/tests/draft7\n", argv[0]);
    return 2;
  }
  check_unlisted(argv[1]);
  for (size_t i = 0; i < sizeof(run_files) / sizeof(run_files[0]); i++) run_file(argv[1], run_files[i]);
  for (size_t i = 0; i < sizeof(skipped_tests) / sizeof(skipped_tests[0]); i++)
    if (!skipped_tests[i].used)
      printf("warning: skip entry %s / %s matched nothing\n", skipped_tests[i].file, skipped_tests[i].group);
  printf("%zu files skipped, %d tests skipped\n", sizeof(skipped_files) / sizeof(skipped_files[0]), skipped);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
