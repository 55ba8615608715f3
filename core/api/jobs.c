/* /api/v1/jobs and /api/v1/jobs/{id}/stages: decode, call the domain (domain/jobs.h,
 * domain/pipelines.h), encode. Visibility, roles and every rule live in the domain and in
 * auth/policy; handlers only map HTTP onto them (If-Match, ETag, Location, pages). */
#include <stdio.h>
#include <string.h>

#include "api/routes.h"
#include "domain/jobs.h"
#include "domain/pipelines.h"
#include "talentd/types.h"

static void set_location(td__call_t *call, const char *job_id, const char *stage_id) {
  char location[600];
  if (stage_id)
    snprintf(location, sizeof location, "/api/v1/jobs/%s/stages/%s", job_id, stage_id);
  else
    snprintf(location, sizeof location, "/api/v1/jobs/%s", job_id);
  td__http_header_add(&call->headers, "Location", location);
}

static int jobs_create(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *job = NULL;
  int64_t version = 0;
  int rc = td__call_from_ctx(call, &ctx, td__job_create(&ctx, call->body, &job, &version));
  if (rc) return rc;
  const char *id = json_string_value(json_object_get(job, "id"));
  td__call_audit(call, "job", id);
  set_location(call, id, NULL);
  td__call_set_etag(call, version);
  td__call_set_result(call, 201, job);
  return 0;
}

static const char *const job_statuses[] = {"draft", "open", "on_hold", "closed"};

/* GET /jobs: ?status= (400 when it is not a job status) and ?department=, then the page.
 * arg is the call. */
static int list_jobs(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items, int64_t *next) {
  const char *status = td__call_query(arg, "status");
  bool known = status == NULL;
  for (size_t i = 0; status && i < sizeof job_statuses / sizeof job_statuses[0]; i++)
    if (strcmp(status, job_statuses[i]) == 0) known = true;
  if (!known) return td__fail_query(ctx, "status", "must be one of draft, open, on_hold, closed");
  return td__job_list(ctx, status, td__call_query(arg, "department"), limit, after, items, next);
}

static int jobs_list(td__call_t *call) { return td__call_list(call, list_jobs, call); }

static int jobs_get(td__call_t *call) { return td__call_get(call, td__job_get); }

/* Resolves the job of a write (404 when invisible) and checks If-Match against its ETag. */
static int resolve_for_write(td__call_t *call, td__ctx_t *ctx, int64_t *rowid) {
  int64_t version = 0;
  int rc = td__job_resolve(ctx, call->params[0], rowid, &version);
  return td__call_lookup_if_match(call, ctx, rc, version);
}

static int jobs_update(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  int64_t rowid = 0, version = 0;
  int rc = resolve_for_write(call, &ctx, &rowid);
  if (rc) return rc;
  json_t *job = NULL;
  rc = td__call_from_ctx(call, &ctx, td__job_update(&ctx, call->params[0], call->body, &job, &version));
  if (rc) return rc;
  td__call_audit(call, "job", call->params[0]);
  td__call_set_etag(call, version);
  td__call_set_result(call, 200, job);
  return 0;
}

/* ---------- stages ---------- */

static bool query_true(td__call_t *call, const char *name) {
  const char *v = td__call_query(call, name);
  return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static int stages_list(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  int64_t rowid = 0, version = 0;
  int rc = td__call_from_ctx(call, &ctx, td__job_resolve(&ctx, call->params[0], &rowid, &version));
  if (rc) return rc;
  json_t *stages = td__stages_json(call->db, rowid, query_true(call, "include_deleted"));
  if (stages == NULL) return td__problem_internal(call, TD_EIO);
  td__call_set_etag(call, version);
  td__call_set_page(call, stages, NULL);
  return 0;
}

/* After a stage edit: the job's new ETag (stages are part of the job) and the audit entry. */
static int stage_written(td__call_t *call, const char *stage_id) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  int64_t version = 0;
  int rc = td__job_resolve(&ctx, call->params[0], NULL, &version);
  td__ctx_dispose(&ctx);
  if (rc) return td__problem_internal(call, rc);
  td__call_set_etag(call, version);
  td__call_audit(call, "stage", stage_id);
  return 0;
}

static int stages_create(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  int64_t rowid = 0;
  int rc = resolve_for_write(call, &ctx, &rowid);
  if (rc) return rc;
  json_t *stage = NULL;
  rc = td__call_from_ctx(call, &ctx, td__stage_add(&ctx, rowid, call->body, &stage));
  if (rc) return rc;
  const char *id = json_string_value(json_object_get(stage, "id"));
  set_location(call, call->params[0], id);
  td__call_set_result(call, 201, stage);
  return stage_written(call, id);
}

static int stages_update(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  int64_t rowid = 0;
  int rc = resolve_for_write(call, &ctx, &rowid);
  if (rc) return rc;
  json_t *stage = NULL;
  rc = td__call_from_ctx(call, &ctx, td__stage_update(&ctx, rowid, call->params[1], call->body, &stage));
  if (rc) return rc;
  td__call_set_result(call, 200, stage);
  return stage_written(call, call->params[1]);
}

static int stages_delete(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  int64_t rowid = 0;
  int rc = resolve_for_write(call, &ctx, &rowid);
  if (rc) return rc;
  rc = td__call_from_ctx(call, &ctx, td__stage_delete(&ctx, rowid, call->params[1]));
  if (rc) return rc;
  call->status = 204;
  return stage_written(call, call->params[1]);
}

const td__route_t td__routes_jobs[] = {
    {"POST", "/api/v1/jobs", TD_RUN_WRITE, jobs_create, NULL, "JobCreate", 0},
    {"GET", "/api/v1/jobs", TD_RUN_READ, jobs_list, NULL, NULL, 0},
    {"GET", "/api/v1/jobs/{id}", TD_RUN_READ, jobs_get, NULL, NULL, 0},
    {"PATCH", "/api/v1/jobs/{id}", TD_RUN_WRITE, jobs_update, NULL, "JobUpdate", 0},
    {"GET", "/api/v1/jobs/{id}/stages", TD_RUN_READ, stages_list, NULL, NULL, 0},
    {"POST", "/api/v1/jobs/{id}/stages", TD_RUN_WRITE, stages_create, NULL, "StageCreate", 0},
    {"PATCH", "/api/v1/jobs/{id}/stages/{stage_id}", TD_RUN_WRITE, stages_update, NULL, "StageUpdate", 0},
    {"DELETE", "/api/v1/jobs/{id}/stages/{stage_id}", TD_RUN_WRITE, stages_delete, NULL, NULL, 0},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
