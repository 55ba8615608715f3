/* Merges the embedded OpenAPI fragments (schemas/openapi/NAME.json) into one document. */
#include "api/openapi.h"

#include <string.h>

#include "util/resources.h"

#define FRAGMENT_DIR "schemas/openapi/"

/* Copies every member of from into into, refusing duplicates (two fragments must not
 * define the same path or schema). */
static int merge_object(json_t *into, json_t *from) {
  const char *key;
  json_t *value;
  json_object_foreach(from, key, value) {
    json_t *have = json_object_get(into, key);
    if (have && json_is_object(have) && json_is_object(value)) {
      /* The same path in two fragments with different methods is fine. */
      const char *k2;
      json_t *v2;
      json_object_foreach(value, k2, v2) {
        if (json_object_get(have, k2)) return -1;
        json_object_set(have, k2, v2);
      }
      continue;
    }
    if (have) return -1;
    json_object_set(into, key, value);
  }
  return 0;
}

int td__openapi_merge(json_t *doc, const json_t *fragment, const char **error) {
  json_t *paths = json_object_get(doc, "paths");
  json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
  json_t *fp = json_object_get(fragment, "paths");
  json_t *fs = json_object_get(json_object_get(fragment, "components"), "schemas");
  if ((fp && merge_object(paths, fp)) || (fs && merge_object(schemas, fs))) {
    *error = "two OpenAPI fragments define the same path or schema";
    return -1;
  }
  return 0;
}

json_t *td__openapi_build(const char **error) {
  const td__resource_t *base = td__resource_find(FRAGMENT_DIR "base.json");
  json_error_t jerr;
  if (base == NULL) {
    *error = "schemas/openapi/base.json is not compiled in";
    return NULL;
  }
  json_t *doc = json_loadb(base->data, base->size, 0, &jerr);
  if (doc == NULL) {
    *error = "schemas/openapi/base.json is not valid JSON";
    return NULL;
  }
  size_t n = strlen(FRAGMENT_DIR);
  for (const td__resource_t *r = td__resources; r->path; r++) {
    if (strncmp(r->path, FRAGMENT_DIR, n) != 0 || strcmp(r->path, FRAGMENT_DIR "base.json") == 0) continue;
    json_t *frag = json_loadb(r->data, r->size, 0, &jerr);
    if (frag == NULL) {
      *error = "an OpenAPI fragment in schemas/openapi/ is not valid JSON";
      json_decref(doc);
      return NULL;
    }
    if (td__openapi_merge(doc, frag, error) != 0) {
      json_decref(frag);
      json_decref(doc);
      return NULL;
    }
    json_decref(frag);
  }
  return doc;
}
