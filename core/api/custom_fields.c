/* /api/v1/custom-fields: the definitions of custom fields on candidates, jobs and
 * applications. Decoding and encoding only; the rules live in domain/custom_fields.c. */
#include <stdio.h>
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
    char location[128];
    snprintf(location, sizeof location, "/api/v1/custom-fields/%s", id);
    td__http_header_add(&call->headers, "Location", location);
    td__call_audit(call, "custom_field", id);
  }
  return respond(call, &ctx, rc, 201, def, version);
}

static int fields_list(td__call_t *call) {
  int limit;
  int64_t after;
  if (td__call_page(call, &limit, &after)) return TD_EINVAL;
  const char *entity = td__call_query(call, "entity");
  if (entity && strcmp(entity, "candidate") != 0 && strcmp(entity, "job") != 0 && strcmp(entity, "application") != 0) {
    td__problem(call, 400, "Invalid query parameter", "entity must be candidate, job or application");
    return td__problem_field(call, "/query/entity", "must be candidate, job or application");
  }
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *items = NULL;
  int64_t next = 0;
  int rc = td__custom_field_list(&ctx, entity, limit, after, &items, &next);
  if (td__call_from_ctx(call, &ctx, rc) != 0) return TD_EINVAL;
  td__call_set_page(call, items, next ? td__cursor_json(next) : NULL);
  return 0;
}

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
  if (rc == 0 && td__call_check_if_match(call, version) != 0) {
    td__ctx_dispose(&ctx);
    return TD_ESTALE;
  }
  if (rc == 0) rc = td__custom_field_update(&ctx, call->params[0], call->body, &def, &version);
  if (rc == 0) td__call_audit(call, "custom_field", call->params[0]);
  return respond(call, &ctx, rc, 200, def, version);
}

static int fields_delete(td__call_t *call) {
  const char *purge = td__call_query(call, "purge");
  if (purge && strcmp(purge, "true") != 0 && strcmp(purge, "false") != 0) {
    td__problem(call, 400, "Invalid query parameter", "purge must be true or false");
    return td__problem_field(call, "/query/purge", "must be true or false");
  }
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *def = NULL;
  int64_t version = 0;
  int rc = td__custom_field_get(&ctx, call->params[0], &def, &version);
  json_decref(def);
  if (rc == 0 && td__call_check_if_match(call, version) != 0) {
    td__ctx_dispose(&ctx);
    return TD_ESTALE;
  }
  if (rc == 0) rc = td__custom_field_delete(&ctx, call->params[0], purge && strcmp(purge, "true") == 0);
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
