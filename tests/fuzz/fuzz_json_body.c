/* fuzz_json_body.c - libFuzzer target for request body decoding: arbitrary bytes through
 * td__json_parse_limited (the bounded JSON parser the dispatcher uses) and, when they parse,
 * td__schema_validate against a schema of the real OpenAPI document (td__openapi_build).
 *
 * The first input byte picks the schema (by index among components/schemas, in name order);
 * the rest is the body, not NUL-terminated, as it arrives from the wire. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/openapi.h"
#include "util/json_limits.h"
#include "util/json_schema.h"

#define MAX_DEPTH 32
#define MAX_ARRAY 10000
#define MAX_ERRORS 20

static json_t *doc;
static const json_t **schemas;
static const char **names;
static size_t schema_count;

static void must(int cond, const char *what, const char *schema) {
  if (!cond) {
    fprintf(stderr, "fuzz_json_body: invariant broken (schema %s): %s\n", schema ? schema : "-", what);
    abort();
  }
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *error = NULL;
  doc = td__openapi_build(&error);
  if (doc == NULL) {
    fprintf(stderr, "fuzz_json_body: cannot build the OpenAPI document: %s\n", error ? error : "?");
    abort();
  }
  json_t *all = json_object_get(json_object_get(doc, "components"), "schemas");
  schema_count = json_object_size(all);
  must(schema_count > 0, "the document has schemas", NULL);
  names = calloc(schema_count, sizeof *names);
  schemas = calloc(schema_count, sizeof *schemas);
  must(names && schemas, "memory", NULL);
  size_t i = 0;
  const char *key;
  json_t *value;
  json_object_foreach(all, key, value) names[i++] = key;
  qsort(names, schema_count, sizeof *names, by_name); /* stable indices across runs */
  for (i = 0; i < schema_count; i++) schemas[i] = json_object_get(all, names[i]);
  return 0;
}

/* Depth of nesting, the top-level container being level 1. */
static int depth_of(const json_t *v) {
  int deepest = 0;
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      int d = depth_of(x);
      if (d > deepest) deepest = d;
    }
    return deepest + 1;
  }
  if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      int d = depth_of(x);
      if (d > deepest) deepest = d;
    }
    return deepest + 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t pick = data[0] % schema_count;
  const char *name = names[pick];
  /* A copy of exactly the body bytes, so ASan sees any read past them. */
  char *body = malloc(size - 1 ? size - 1 : 1);
  must(body != NULL, "memory", name);
  memcpy(body, data + 1, size - 1);
  char *pointer = NULL, *message = NULL;
  json_t *v = td__json_parse_limited(body, size - 1, MAX_DEPTH, MAX_ARRAY, &pointer, &message);
  if (v == NULL) {
    must(message != NULL && pointer != NULL, "a refusal says where and why", name);
    must(pointer[0] == '\0' || pointer[0] == '/', "the pointer is a JSON pointer", name);
    free(pointer);
    free(message);
    free(body);
    return 0;
  }
  must(pointer == NULL && message == NULL, "no error on success", name);
  must(depth_of(v) <= MAX_DEPTH, "nesting within the limit", name);
  td__schema_errors_t errors = {0};
  int rc = td__schema_validate(doc, schemas[pick], v, &errors, MAX_ERRORS);
  /* A schema of our own document must always be usable, whatever the instance. */
  must(rc == 0 || rc == 1, "the schema can be applied (rc < 0 means a bad or unsupported schema)", name);
  must((rc == 0) == (errors.count == 0), "errors reported exactly when invalid", name);
  must(errors.count <= MAX_ERRORS, "at most max_errors errors", name);
  for (size_t i = 0; i < errors.count; i++) {
    must(errors.items[i].pointer != NULL && errors.items[i].message != NULL &&
             errors.items[i].message[0] != '\0',
         "each error has a pointer and a message", name);
    const char *p = errors.items[i].pointer;
    must(p[0] == '\0' || p[0] == '/', "the error pointer is a JSON pointer", name);
  }
  /* Validation is a pure function: the same verdict twice. */
  int again = td__schema_validate(doc, schemas[pick], v, NULL, 0);
  must(again == rc, "the same verdict twice", name);
  td__schema_errors_free(&errors);
  json_decref(v);
  free(body);
  return 0;
}
