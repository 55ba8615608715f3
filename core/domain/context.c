/* Refusals raised by domain actions. */
#include "domain/context.h"

#include <stdio.h>

#include "talentd/types.h"
#include "util/log.h"

int td__fail(td__ctx_t *ctx, int status, const char *title, const char *detail) {
  json_decref(ctx->problem);
  ctx->problem = json_pack("{s:s,s:s,s:i}", "type", "about:blank", "title", title, "status", status);
  if (detail) json_object_set_new(ctx->problem, "detail", json_string(detail));
  return TD_EINVAL;
}

int td__fail_field(td__ctx_t *ctx, const char *pointer, const char *message) {
  if (ctx->problem == NULL)
    td__fail(ctx, 422, "Invalid request", "one or more fields are invalid; see errors");
  json_t *errors = json_object_get(ctx->problem, "errors");
  if (errors == NULL) {
    errors = json_array();
    json_object_set_new(ctx->problem, "errors", errors);
  }
  json_array_append_new(errors, json_pack("{s:s,s:s}", "pointer", pointer, "message", message));
  return TD_EINVAL;
}

int td__fail_query(td__ctx_t *ctx, const char *name, const char *message) {
  char pointer[96], detail[256];
  snprintf(pointer, sizeof pointer, "/query/%s", name);
  snprintf(detail, sizeof detail, "%s %s", name, message);
  td__fail(ctx, 400, "Invalid query parameter", detail);
  return td__fail_field(ctx, pointer, message);
}

int td__fail_not_found(td__ctx_t *ctx, const char *what) {
  char detail[128];
  snprintf(detail, sizeof detail, "no %s with that id exists, or you may not see it", what);
  return td__fail(ctx, 404, "Not found", detail);
}

int td__fail_forbidden(td__ctx_t *ctx) {
  return td__fail(ctx, 403, "Forbidden", "your role does not allow this action");
}

int td__fail_internal(td__ctx_t *ctx, int code) {
  td__log(TD_LOG_ERROR, "domain_failed",
          json_pack("{s:i,s:s}", "code", code, "cause", ctx->cause ? ctx->cause : ""));
  if (code == TD_EBUSY) return td__fail(ctx, 503, "Busy", "the server is busy; retry in a moment");
  return td__fail(ctx, 500, "Internal error", "something failed on our side; the request changed nothing");
}

void td__ctx_dispose(td__ctx_t *ctx) {
  json_decref(ctx->problem);
  ctx->problem = NULL;
}

const char *td__ctx_actor_id(const td__ctx_t *ctx) {
  return ctx->principal.user_id[0] ? ctx->principal.user_id : NULL;
}
