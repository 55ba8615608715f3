/* Checking custom field values against their definitions. */
#include "domain/custom_fields.h"

#include <stdio.h>
#include <string.h>

#include "talentd/types.h"
#include "util/time.h"

/* Checks one value against a definition; returns a static message, or NULL if it is fine. */
static const char *check_value(const char *type, const json_t *options, const json_t *v) {
  if (json_is_null(v)) return NULL; /* clearing a field is always allowed */
  if (strcmp(type, "text") == 0) {
    if (!json_is_string(v)) return "must be a string";
    if (json_string_length(v) > 10000) return "must be at most 10000 characters";
    return NULL;
  }
  if (strcmp(type, "number") == 0) return json_is_number(v) ? NULL : "must be a number";
  if (strcmp(type, "boolean") == 0) return json_is_boolean(v) ? NULL : "must be true or false";
  if (strcmp(type, "date") == 0) {
    int64_t ms;
    return json_is_string(v) && td__date_parse(json_string_value(v), &ms) == 0 ? NULL
                                                                              : "must be a date (YYYY-MM-DD)";
  }
  bool multi = strcmp(type, "multi_select") == 0;
  if (strcmp(type, "single_select") == 0 || multi) {
    const json_t *list = v;
    if (multi && !json_is_array(v)) return "must be an array of options";
    if (!multi && !json_is_string(v)) return "must be one of the field's options";
    size_t n = multi ? json_array_size(list) : 1;
    for (size_t i = 0; i < n; i++) {
      const json_t *item = multi ? json_array_get(list, i) : v;
      bool found = false;
      size_t j;
      json_t *opt;
      json_array_foreach(options, j, opt) {
        if (json_equal(opt, (json_t *)item)) found = true;
      }
      if (!found) return "must be one of the field's options";
    }
    return NULL;
  }
  return "has a type this server does not know";
}

int td__custom_fields_validate(td__ctx_t *ctx, const char *entity, const json_t *values,
                               const char *pointer_prefix, bool is_create) {
  if (values == NULL) values = json_object();
  int failures = 0;
  const char *key;
  json_t *v;
  char pointer[300];
  json_error_t jerr;
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT type, options FROM custom_fields WHERE entity = ? AND key = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  json_object_foreach((json_t *)values, key, v) {
    snprintf(pointer, sizeof pointer, "%s/%s", pointer_prefix, key);
    td__stmt_bind_text(st, 1, entity);
    td__stmt_bind_text(st, 2, key);
    int rc = td__stmt_step(st);
    if (rc < 0) return td__fail_internal(ctx, rc);
    if (rc == 0) {
      td__fail_field(ctx, pointer, "is not a defined custom field; define it with POST /api/v1/custom-fields");
      failures++;
      continue;
    }
    json_t *options = json_loads(td__stmt_text(st, 1), 0, &jerr);
    char type[32];
    snprintf(type, sizeof type, "%s", td__stmt_text(st, 0));
    td__stmt_reset(st);
    const char *msg = check_value(type, options, v);
    json_decref(options);
    if (msg) {
      td__fail_field(ctx, pointer, msg);
      failures++;
    }
  }
  if (is_create) {
    td__stmt_t *req = td__db_stmt(ctx->db, "SELECT key FROM custom_fields WHERE entity = ? AND required = 1");
    if (req == NULL) return td__fail_internal(ctx, TD_EIO);
    td__stmt_bind_text(req, 1, entity);
    int rc;
    while ((rc = td__stmt_step(req)) == 1) {
      const char *k = td__stmt_text(req, 0);
      json_t *have = json_object_get(values, k);
      if (have == NULL || json_is_null(have)) {
        snprintf(pointer, sizeof pointer, "%s/%s", pointer_prefix, k);
        td__fail_field(ctx, pointer, "is required");
        failures++;
      }
    }
    if (rc < 0) return td__fail_internal(ctx, rc);
  }
  return failures ? TD_EINVAL : 0;
}

void td__custom_fields_redact(td__db_t *db, const char *entity, json_t *values) {
  if (!json_is_object(values) || json_object_size(values) == 0) return;
  td__stmt_t *st = td__db_stmt(db, "SELECT key FROM custom_fields WHERE entity = ? AND sensitive = 1");
  if (st == NULL) return;
  td__stmt_bind_text(st, 1, entity);
  while (td__stmt_step(st) == 1) json_object_del(values, td__stmt_text(st, 0));
}
