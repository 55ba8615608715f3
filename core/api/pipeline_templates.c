/* /api/v1/pipeline-templates: the stage lists new jobs copy (domain/pipelines.h). Exactly
 * one template is the default; editing a template never changes existing jobs. */
#include "api/routes.h"
#include "domain/pipelines.h"
#include "talentd/types.h"

static int templates_create(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *tpl = NULL;
  int64_t version = 0;
  int rc = td__call_from_ctx(call, &ctx, td__template_create(&ctx, call->body, &tpl, &version));
  if (rc) return rc;
  const char *id = json_string_value(json_object_get(tpl, "id"));
  td__call_set_location(call, "/api/v1/pipeline-templates", id);
  td__call_audit(call, "pipeline_template", id);
  td__call_set_etag(call, version);
  td__call_set_result(call, 201, tpl);
  return 0;
}

static int list_templates(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items,
                          int64_t *next) {
  (void)arg;
  return td__template_list(ctx, limit, after, items, next);
}

static int templates_list(td__call_t *call) { return td__call_list(call, list_templates, NULL); }

static int templates_get(td__call_t *call) { return td__call_get(call, td__template_get); }

/* Resolves the template of a write (404) and checks If-Match against its ETag (412). */
static int resolve_for_write(td__call_t *call, td__ctx_t *ctx, int64_t *rowid) {
  int64_t version = 0;
  int rc = td__template_resolve(ctx, call->params[0], rowid, &version);
  return td__call_lookup_if_match(call, ctx, rc, version);
}

static int templates_update(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  int64_t rowid = 0, version = 0;
  int rc = resolve_for_write(call, &ctx, &rowid);
  if (rc) return rc;
  json_t *tpl = NULL;
  rc = td__call_from_ctx(call, &ctx, td__template_update(&ctx, rowid, call->body, &tpl, &version));
  if (rc) return rc;
  td__call_audit(call, "pipeline_template", call->params[0]);
  td__call_set_etag(call, version);
  td__call_set_result(call, 200, tpl);
  return 0;
}

static int templates_delete(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  int64_t rowid = 0;
  int rc = resolve_for_write(call, &ctx, &rowid);
  if (rc) return rc;
  rc = td__call_from_ctx(call, &ctx, td__template_delete(&ctx, rowid));
  if (rc) return rc;
  td__call_audit(call, "pipeline_template", call->params[0]);
  call->status = 204;
  return 0;
}

const td__route_t td__routes_pipeline_templates[] = {
    {"POST", "/api/v1/pipeline-templates", TD_RUN_WRITE, templates_create, NULL, "PipelineTemplateCreate", 0},
    {"GET", "/api/v1/pipeline-templates", TD_RUN_READ, templates_list, NULL, NULL, 0},
    {"GET", "/api/v1/pipeline-templates/{id}", TD_RUN_READ, templates_get, NULL, NULL, 0},
    {"PATCH", "/api/v1/pipeline-templates/{id}", TD_RUN_WRITE, templates_update, NULL,
     "PipelineTemplateUpdate", 0},
    {"DELETE", "/api/v1/pipeline-templates/{id}", TD_RUN_WRITE, templates_delete, NULL, NULL, 0},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
