/* Config loading and overrides. */
#include "util/config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_schema.h"
#include "util/mem.h"
#include "util/resources.h"

/* Walks "a.b.c"; with create, makes missing objects and returns the parent plus last key. */
static json_t *walk(json_t *root, const char *path, bool create, const char **last) {
  char *copy = td__xstrdup(path);
  json_t *node = root;
  char *save = NULL, *part = strtok_r(copy, ".", &save);
  static _Thread_local char last_key[128];
  while (part) {
    char *next = strtok_r(NULL, ".", &save);
    if (next == NULL && create) {
      snprintf(last_key, sizeof last_key, "%s", part);
      *last = last_key;
      free(copy);
      return node;
    }
    json_t *child = json_object_get(node, part);
    if (child == NULL && create) {
      child = json_object();
      json_object_set_new(node, part, child);
    }
    if (child == NULL || (next && !json_is_object(child))) {
      free(copy);
      return NULL;
    }
    node = child;
    part = next;
  }
  free(copy);
  return node;
}

json_t *td__config_load(const char *path, const char *const *sets, int set_count) {
  json_error_t err;
  json_t *config = path ? json_load_file(path, JSON_REJECT_DUPLICATES, &err) : json_object();
  if (config == NULL) {
    fprintf(stderr, "talentd: config %s: %s (line %d, column %d)\n", path, err.text, err.line, err.column);
    return NULL;
  }
  if (!json_is_object(config)) {
    fprintf(stderr, "talentd: config %s: the top level must be an object\n", path);
    json_decref(config);
    return NULL;
  }
  for (int i = 0; i < set_count; i++) {
    const char *eq = strchr(sets[i], '=');
    if (eq == NULL || eq == sets[i]) {
      fprintf(stderr, "talentd: --set %s: expected key.path=value\n", sets[i]);
      json_decref(config);
      return NULL;
    }
    char *key = td__xstrndup(sets[i], (size_t)(eq - sets[i]));
    json_t *value = json_loads(eq + 1, JSON_DECODE_ANY, &err);
    if (value == NULL) value = json_string(eq + 1);
    const char *last = NULL;
    json_t *parent = walk(config, key, true, &last);
    if (parent == NULL || !json_is_object(parent)) {
      fprintf(stderr, "talentd: --set %s: '%s' is not inside an object\n", sets[i], key);
      json_decref(value);
      free(key);
      json_decref(config);
      return NULL;
    }
    json_object_set_new(parent, last, value);
    free(key);
  }
  const td__resource_t *r = td__resource_find("schemas/config.json");
  json_t *schema = r ? json_loadb(r->data, r->size, 0, &err) : NULL;
  td__schema_errors_t errors = {0};
  int rc = schema ? td__schema_validate(schema, schema, config, &errors, 20) : -1;
  if (rc != 0) {
    for (size_t i = 0; i < errors.count; i++)
      fprintf(stderr, "talentd: config key %s: %s\n",
              errors.items[i].pointer[0] ? errors.items[i].pointer : "/", errors.items[i].message);
    if (rc < 0) fprintf(stderr, "talentd: the built-in config schema is unusable\n");
    td__schema_errors_free(&errors);
    json_decref(schema);
    json_decref(config);
    return NULL;
  }
  json_decref(schema);
  return config;
}

long long td__config_int(const json_t *config, const char *path, long long fallback) {
  const char *last = NULL;
  json_t *v = walk((json_t *)config, path, false, &last);
  return json_is_integer(v) ? json_integer_value(v) : fallback;
}

const char *td__config_str(const json_t *config, const char *path, const char *fallback) {
  const char *last = NULL;
  json_t *v = walk((json_t *)config, path, false, &last);
  return json_is_string(v) ? json_string_value(v) : fallback;
}
