/* Custom fields: checking values against their definitions, and the definitions
 * themselves (create, read, list, update, delete). */
#include "domain/custom_fields.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/events.h"
#include "domain/row_json.h"
#include "talentd/types.h"
#include "util/mem.h"
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
    return json_is_string(v) && td__date_parse(json_string_value(v), &ms) == 0
               ? NULL
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
  int failures = 0;
  const char *key;
  json_t *v;
  char pointer[300];
  json_error_t jerr;
  td__stmt_t *st =
      td__db_stmt(ctx->db, "SELECT type, options FROM custom_fields WHERE entity = ? AND key = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  json_object_foreach((json_t *)values, key, v) { /* a NULL values has no members */
    snprintf(pointer, sizeof pointer, "%s/%s", pointer_prefix, key);
    td__stmt_bind_text(st, 1, entity);
    td__stmt_bind_text(st, 2, key);
    int rc = td__stmt_step(st);
    if (rc < 0) return td__fail_internal(ctx, rc);
    if (rc == 0) {
      td__fail_field(ctx, pointer,
                     "is not a defined custom field; define it with POST /api/v1/custom-fields");
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

/* ---------- definitions ---------- */

#define DEF_COLUMNS "rowid, id, entity, key, label, type, options, required, sensitive, created_at"

/* The ETag version of a definition row (columns as DEF_COLUMNS): a hash of what PATCH can
 * change, since the table has no version column. Positive and never 0. */
static int64_t def_version(td__stmt_t *st) {
  crypto_generichash_state h;
  unsigned char out[8];
  crypto_generichash_init(&h, NULL, 0, sizeof out);
  for (int col = 4; col <= 8; col++) {
    const char *text = td__stmt_text(st, col);
    if (text) crypto_generichash_update(&h, (const unsigned char *)text, strlen(text));
    crypto_generichash_update(&h, (const unsigned char *)(text ? "\x01" : "\x00"), 1);
  }
  crypto_generichash_final(&h, out, sizeof out);
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof out; i++) v = (v << 8) | out[i];
  v &= INT64_MAX;
  return v ? (int64_t)v : 1;
}

static json_t *def_json(td__stmt_t *st, int64_t *version) {
  json_error_t jerr;
  json_t *options = json_loads(td__stmt_text(st, 6), 0, &jerr);
  char created[32];
  td__time_format(td__stmt_int(st, 9), created, sizeof created);
  if (version) *version = def_version(st);
  return json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:b,s:b,s:s}", "id", td__stmt_text(st, 1), "entity",
                   td__stmt_text(st, 2), "key", td__stmt_text(st, 3), "label", td__row_text(st, 4), "type",
                   td__stmt_text(st, 5), "options", options ? options : json_array(), "required",
                   (int)td__stmt_int(st, 7), "sensitive", (int)td__stmt_int(st, 8), "created_at", created);
}

static json_t *def_row_json(td__stmt_t *st) { return def_json(st, NULL); }

/* Loads a definition by public id: its JSON, version and rowid (any may be NULL). */
static int load_def(td__ctx_t *ctx, const char *id, json_t **out, int64_t *version, int64_t *rowid) {
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT " DEF_COLUMNS " FROM custom_fields WHERE id = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, id);
  int rc = td__stmt_step(st);
  if (rc < 0) return td__fail_internal(ctx, rc);
  if (rc == 0) {
    td__fail_not_found(ctx, "custom field");
    return TD_ENOTFOUND;
  }
  if (rowid) *rowid = td__stmt_int(st, 0);
  json_t *def = def_json(st, version);
  td__stmt_reset(st);
  if (out)
    *out = def;
  else
    json_decref(def);
  return 0;
}

static bool is_select(const char *type) {
  return strcmp(type, "single_select") == 0 || strcmp(type, "multi_select") == 0;
}

/* Field errors for options that do not fit type: selects need a non-empty list of unique
 * strings, other types take none. */
static void check_options(td__ctx_t *ctx, const char *type, const json_t *options) {
  size_t n = json_array_size(options);
  if (!is_select(type)) {
    if (n) td__fail_field(ctx, "/options", "only single_select and multi_select fields take options");
    return;
  }
  if (n == 0) {
    td__fail_field(ctx, "/options", "is required for select fields: a non-empty list of unique strings");
    return;
  }
  for (size_t i = 1; i < n; i++) {
    for (size_t j = 0; j < i; j++) {
      if (json_equal(json_array_get(options, i), json_array_get(options, j))) {
        char pointer[32];
        snprintf(pointer, sizeof pointer, "/options/%zu", i);
        td__fail_field(ctx, pointer, "repeats an earlier option; options must be unique");
        break;
      }
    }
  }
}

/* How many records of entity hold a non-null value for key (with option set: hold that
 * option, as the value or inside a multi_select list). Applications have no custom field
 * column, so they never hold values. */
static int count_values(td__db_t *db, const char *entity, const char *key, const char *option,
                        int64_t *count) {
  static const char *const any_sql[] = {
      "SELECT count(*) FROM candidates WHERE coalesce(json_type(custom_fields, ?1), 'null') <> 'null'",
      "SELECT count(*) FROM jobs WHERE coalesce(json_type(custom_fields, ?1), 'null') <> 'null'"};
  static const char *const option_sql[] = {
      "SELECT count(*) FROM candidates c WHERE EXISTS"
      " (SELECT 1 FROM json_each(c.custom_fields, ?1) e WHERE e.value = ?2)",
      "SELECT count(*) FROM jobs j WHERE EXISTS (SELECT 1 FROM json_each(j.custom_fields, ?1) e WHERE "
      "e.value = ?2)"};
  *count = 0;
  int which = strcmp(entity, "candidate") == 0 ? 0 : strcmp(entity, "job") == 0 ? 1 : -1;
  if (which < 0) return 0;
  char path[80];
  snprintf(path, sizeof path, "$.%s", key); /* keys are [a-z][a-z0-9_]*: a valid path as is */
  td__stmt_t *st = td__db_stmt(db, option ? option_sql[which] : any_sql[which]);
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, path);
  if (option) td__stmt_bind_text(st, 2, option);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_EIO;
  *count = td__stmt_int(st, 0);
  td__stmt_reset(st);
  return 0;
}

static int emit_def_event(td__ctx_t *ctx, const char *type, const char *id, json_t *data) {
  int rc = td__event_emit(ctx, type, "custom_field", id, data);
  return rc ? td__fail_internal(ctx, rc) : 0;
}

int td__custom_field_create(td__ctx_t *ctx, const json_t *body, json_t **out, int64_t *version) {
  *out = NULL;
  if (!td__policy_can(&ctx->principal, TD_RES_CUSTOM_FIELD, TD_ACT_CREATE)) return td__fail_forbidden(ctx);
  const char *entity = json_string_value(json_object_get(body, "entity"));
  const char *key = json_string_value(json_object_get(body, "key"));
  const char *type = json_string_value(json_object_get(body, "type"));
  const json_t *options = json_object_get(body, "options");
  check_options(ctx, type, options);
  if (ctx->problem) return TD_EINVAL;
  char id[TD_ID_MAX];
  td__id_new("cfd", id);
  char *options_text = options ? json_dumps(options, JSON_COMPACT) : td__xstrdup("[]");
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO custom_fields(id, entity, key, label, type, options, required,"
                               " sensitive, created_at) VALUES (?,?,?,?,?,?,?,?,?)");
  int rc = TD_EIO;
  if (st) {
    td__stmt_bind_text(st, 1, id);
    td__stmt_bind_text(st, 2, entity);
    td__stmt_bind_text(st, 3, key);
    td__stmt_bind_text(st, 4, json_string_value(json_object_get(body, "label")));
    td__stmt_bind_text(st, 5, type);
    td__stmt_bind_text(st, 6, options_text);
    td__stmt_bind_int(st, 7, json_is_true(json_object_get(body, "required")));
    td__stmt_bind_int(st, 8, json_is_true(json_object_get(body, "sensitive")));
    td__stmt_bind_int(st, 9, ctx->now_ms);
    rc = td__stmt_run(st);
  }
  free(options_text);
  if (rc == TD_ECONFLICT) {
    td__fail(ctx, 409, "Conflict", "a custom field with this key already exists for this entity");
    return td__fail_field(ctx, "/key",
                          "is already defined for this entity; choose another key or PATCH the field");
  }
  if (rc) return td__fail_internal(ctx, rc);
  rc = emit_def_event(ctx, "custom_field.created", id,
                      json_pack("{s:s,s:s,s:s}", "entity", entity, "key", key, "type", type));
  if (rc) return rc;
  return load_def(ctx, id, out, version, NULL);
}

int td__custom_field_get(td__ctx_t *ctx, const char *id, json_t **out, int64_t *version) {
  *out = NULL;
  if (!td__policy_can(&ctx->principal, TD_RES_CUSTOM_FIELD, TD_ACT_READ)) return td__fail_forbidden(ctx);
  return load_def(ctx, id, out, version, NULL);
}

int td__custom_field_list(td__ctx_t *ctx, const char *entity, int limit, int64_t after, json_t **items,
                          int64_t *next_rowid) {
  *items = NULL;
  *next_rowid = 0;
  if (!td__policy_can(&ctx->principal, TD_RES_CUSTOM_FIELD, TD_ACT_READ)) return td__fail_forbidden(ctx);
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT " DEF_COLUMNS
                                        " FROM custom_fields WHERE rowid > ?1"
                                        " AND (?2 IS NULL OR entity = ?2) ORDER BY rowid LIMIT ?3");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, after);
  td__stmt_bind_text(st, 2, entity);
  td__stmt_bind_int(st, 3, limit + 1);
  return td__row_page(ctx, st, 0, limit, def_row_json, items, next_rowid);
}

/* Refuses (409 on pointer) when records hold values that a change would invalidate. */
static int refuse_in_use(td__ctx_t *ctx, const char *pointer, int64_t count, const char *what) {
  char message[200];
  snprintf(message, sizeof message, "%s: %lld record(s) hold values for this field; clear them first", what,
           (long long)count);
  td__fail(ctx, 409, "Conflict", "the change would invalidate values already stored");
  return td__fail_field(ctx, pointer, message);
}

/* Options of the current definition that the new list drops and records still use. */
static int check_dropped_options(td__ctx_t *ctx, const json_t *cur, const json_t *options) {
  size_t i;
  json_t *old;
  json_array_foreach(json_object_get(cur, "options"), i, old) {
    bool kept = false;
    size_t j;
    json_t *opt;
    json_array_foreach(options, j, opt) kept = kept || json_equal(old, opt);
    if (kept) continue;
    int64_t n = 0;
    int rc = count_values(ctx->db, json_string_value(json_object_get(cur, "entity")),
                          json_string_value(json_object_get(cur, "key")), json_string_value(old), &n);
    if (rc) return td__fail_internal(ctx, rc);
    if (n) return refuse_in_use(ctx, "/options", n, "cannot remove an option that is in use");
  }
  return 0;
}

/* Checks a PATCH against the current definition; fills the new type and options. */
static int check_update(td__ctx_t *ctx, const json_t *cur, const json_t *body, const char **type,
                        const json_t **options) {
  const char *old_type = json_string_value(json_object_get(cur, "type"));
  *type = json_object_get(body, "type") ? json_string_value(json_object_get(body, "type")) : old_type;
  bool type_changed = strcmp(*type, old_type) != 0;
  *options = json_object_get(body, "options");
  if (*options == NULL) *options = is_select(*type) && !type_changed ? json_object_get(cur, "options") : NULL;
  if (type_changed) {
    int64_t n = 0;
    int rc = count_values(ctx->db, json_string_value(json_object_get(cur, "entity")),
                          json_string_value(json_object_get(cur, "key")), NULL, &n);
    if (rc) return td__fail_internal(ctx, rc);
    if (n) return refuse_in_use(ctx, "/type", n, "cannot change the type");
  }
  check_options(ctx, *type, *options);
  if (ctx->problem) return TD_EINVAL;
  if (!type_changed && is_select(*type)) return check_dropped_options(ctx, cur, *options);
  return 0;
}

int td__custom_field_update(td__ctx_t *ctx, const char *id, const json_t *body, json_t **out,
                            int64_t *version) {
  *out = NULL;
  if (!td__policy_can(&ctx->principal, TD_RES_CUSTOM_FIELD, TD_ACT_UPDATE)) return td__fail_forbidden(ctx);
  json_t *cur = NULL;
  int64_t rowid = 0;
  int rc = load_def(ctx, id, &cur, NULL, &rowid);
  if (rc) return rc;
  const char *type;
  const json_t *options;
  rc = check_update(ctx, cur, body, &type, &options);
  char *options_text = rc ? NULL : options ? json_dumps(options, JSON_COMPACT) : td__xstrdup("[]");
  const json_t *label = json_object_get(body, "label");
  const json_t *required = json_object_get(body, "required");
  const json_t *sensitive = json_object_get(body, "sensitive");
  td__stmt_t *st = rc ? NULL
                      : td__db_stmt(ctx->db,
                                    "UPDATE custom_fields SET label = CASE WHEN ?1 THEN ?2 ELSE label END,"
                                    " type = ?3, options = ?4, required = coalesce(?5, required),"
                                    " sensitive = coalesce(?6, sensitive) WHERE rowid = ?7");
  if (rc == 0 && st == NULL) rc = td__fail_internal(ctx, TD_EIO);
  if (rc == 0) {
    td__stmt_bind_int(st, 1, label != NULL);
    td__stmt_bind_text(st, 2, json_string_value(label)); /* null clears the label */
    td__stmt_bind_text(st, 3, type);
    td__stmt_bind_text(st, 4, options_text);
    if (required) td__stmt_bind_int(st, 5, json_is_true(required));
    if (sensitive) td__stmt_bind_int(st, 6, json_is_true(sensitive));
    td__stmt_bind_int(st, 7, rowid);
    if ((rc = td__stmt_run(st)) != 0) rc = td__fail_internal(ctx, rc);
  }
  free(options_text);
  if (rc == 0) {
    json_t *changed = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v) json_array_append_new(changed, json_string(k));
    rc = emit_def_event(ctx, "custom_field.updated", id,
                        json_pack("{s:O,s:O,s:o}", "entity", json_object_get(cur, "entity"), "key",
                                  json_object_get(cur, "key"), "changed", changed));
  }
  json_decref(cur);
  if (rc) return rc;
  return load_def(ctx, id, out, version, NULL);
}

/* Removes key from every record of entity that has it, bumping their versions. */
static int purge_values(td__ctx_t *ctx, const char *entity, const char *key, int64_t *purged) {
  static const char *const sql[] = {
      "UPDATE candidates SET custom_fields = json_remove(custom_fields, ?1), version = version + 1,"
      " updated_at = ?2 WHERE json_type(custom_fields, ?1) IS NOT NULL",
      "UPDATE jobs SET custom_fields = json_remove(custom_fields, ?1), version = version + 1,"
      " updated_at = ?2 WHERE json_type(custom_fields, ?1) IS NOT NULL"};
  *purged = 0;
  int which = strcmp(entity, "candidate") == 0 ? 0 : strcmp(entity, "job") == 0 ? 1 : -1;
  if (which < 0) return 0;
  char path[80];
  snprintf(path, sizeof path, "$.%s", key);
  td__stmt_t *st = td__db_stmt(ctx->db, sql[which]);
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, path);
  td__stmt_bind_int(st, 2, ctx->now_ms);
  int rc = td__stmt_run(st);
  if (rc == 0) *purged = td__db_changes(ctx->db);
  return rc;
}

int td__custom_field_delete(td__ctx_t *ctx, const char *id, bool purge) {
  if (!td__policy_can(&ctx->principal, TD_RES_CUSTOM_FIELD, TD_ACT_DELETE)) return td__fail_forbidden(ctx);
  json_t *cur = NULL;
  int64_t rowid = 0;
  int rc = load_def(ctx, id, &cur, NULL, &rowid);
  if (rc) return rc;
  const char *entity = json_string_value(json_object_get(cur, "entity"));
  const char *key = json_string_value(json_object_get(cur, "key"));
  int64_t n = 0, purged = 0;
  rc = count_values(ctx->db, entity, key, NULL, &n);
  if (rc)
    rc = td__fail_internal(ctx, rc);
  else if (n && !purge) {
    td__fail(ctx, 409, "Conflict",
             "records hold values for this field; clear them first, or delete with ?purge=true to remove "
             "them too");
    rc = TD_ECONFLICT;
  }
  if (rc == 0 && (rc = purge_values(ctx, entity, key, &purged)) != 0) rc = td__fail_internal(ctx, rc);
  td__stmt_t *st = rc ? NULL : td__db_stmt(ctx->db, "DELETE FROM custom_fields WHERE rowid = ?");
  if (rc == 0 && st == NULL) rc = td__fail_internal(ctx, TD_EIO);
  if (rc == 0) {
    td__stmt_bind_int(st, 1, rowid);
    if ((rc = td__stmt_run(st)) != 0) rc = td__fail_internal(ctx, rc);
  }
  if (rc == 0)
    rc = emit_def_event(
        ctx, "custom_field.deleted", id,
        json_pack("{s:s,s:s,s:I}", "entity", entity, "key", key, "purged", (json_int_t)purged));
  json_decref(cur);
  return rc;
}

int td__custom_field_type(td__db_t *db, const char *entity, const char *key, char *type_out,
                          json_t **options_out) {
  td__stmt_t *st = td__db_stmt(db, "SELECT type, options FROM custom_fields WHERE entity = ? AND key = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, entity);
  td__stmt_bind_text(st, 2, key);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  snprintf(type_out, 16, "%s", td__stmt_text(st, 0));
  if (options_out) {
    json_error_t jerr;
    *options_out = json_loads(td__stmt_text(st, 1), 0, &jerr);
    if (*options_out == NULL) *options_out = json_array();
  }
  td__stmt_reset(st);
  return 0;
}
