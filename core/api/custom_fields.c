/* /api/v1/custom-fields: the definitions of custom fields on candidates, jobs and
 * applications. Decoding and encoding only; the rules live in domain/custom_fields.c. */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "domain/custom_fields.h"
#include "talentd/types.h"

static int respond(td__call_t *call, td__ctx_t *ctx, int rc, int status, json_t *def, int64_t version) {
  if (td__call_from_ctx(call, ctx, rc) != 0) {
    json_decref(def);
    return TD_EINVAL;
  }
  if (def) {
    td__call_set_etag(call, version);
    td__call_set_result(call, status, def);
  }
  return 0;
}

static int fields_create(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *def = NULL;
  int64_t version = 0;
  int rc = td__custom_field_create(&ctx, call->body, &def, &version);
  if (rc == 0) {
    const char *id = json_string_value(json_object_get(def, "id"));
    td__call_set_location(call, "/api/v1/custom-fields", id);
    td__call_audit(call, "custom_field", id);
  }
  return respond(call, &ctx, rc, 201, def, version);
}

/* GET /custom-fields, optionally of one ?entity= (400 when it is none of the three). arg is
 * the call. */
static int list_fields(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items, int64_t *next) {
  const char *entity = td__call_query(arg, "entity");
  if (entity && strcmp(entity, "candidate") != 0 && strcmp(entity, "job") != 0 &&
      strcmp(entity, "application") != 0)
    return td__fail_query(ctx, "entity", "must be candidate, job or application");
  return td__custom_field_list(ctx, entity, limit, after, items, next);
}

static int fields_list(td__call_t *call) { return td__call_list(call, list_fields, call); }

static int fields_get(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *def = NULL;
  int64_t version = 0;
  int rc = td__custom_field_get(&ctx, call->params[0], &def, &version);
  return respond(call, &ctx, rc, 200, def, version);
}

static int fields_update(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *def = NULL;
  int64_t version = 0;
  int rc = td__custom_field_get(&ctx, call->params[0], &def, &version);
  json_decref(def);
  def = NULL;
  if ((rc = td__call_lookup_if_match(call, &ctx, rc, version)) != 0) return rc;
  rc = td__custom_field_update(&ctx, call->params[0], call->body, &def, &version);
  if (rc == 0) td__call_audit(call, "custom_field", call->params[0]);
  return respond(call, &ctx, rc, 200, def, version);
}

static int fields_delete(td__call_t *call) {
  const char *purge = td__call_query(call, "purge");
  if (purge && strcmp(purge, "true") != 0 && strcmp(purge, "false") != 0)
    return td__problem_query(call, "purge", "must be true or false");
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *def = NULL;
  int64_t version = 0;
  int rc = td__custom_field_get(&ctx, call->params[0], &def, &version);
  json_decref(def);
  if ((rc = td__call_lookup_if_match(call, &ctx, rc, version)) != 0) return rc;
  rc = td__custom_field_delete(&ctx, call->params[0], purge && strcmp(purge, "true") == 0);
  if (td__call_from_ctx(call, &ctx, rc) != 0) return TD_EINVAL;
  td__call_audit(call, "custom_field", call->params[0]);
  call->status = 204;
  return 0;
}

const td__route_t td__routes_custom_fields[] = {
    {"POST", "/api/v1/custom-fields", TD_RUN_WRITE, fields_create, NULL, "CustomFieldCreate", 0},
    {"GET", "/api/v1/custom-fields", TD_RUN_READ, fields_list, NULL, NULL, 0},
    {"GET", "/api/v1/custom-fields/{id}", TD_RUN_READ, fields_get, NULL, NULL, 0},
    {"PATCH", "/api/v1/custom-fields/{id}", TD_RUN_WRITE, fields_update, NULL, "CustomFieldUpdate", 0},
    {"DELETE", "/api/v1/custom-fields/{id}", TD_RUN_WRITE, fields_delete, NULL, NULL, 0},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
