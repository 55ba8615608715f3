/* /api/v1/tasks: to-dos for people, optionally about a candidate or an application.
 * Handlers decode and encode; the rules live in domain/tasks.c. */
#include <string.h>

#include "api/routes.h"
#include "domain/tasks.h"
#include "talentd/types.h"
#include "util/time.h"

static int respond(td__call_t *call, int status, json_t *task, int64_t version) {
  const char *id = json_string_value(json_object_get(task, "id"));
  td__call_set_etag(call, version);
  if (call->route->kind != TD_RUN_READ) td__call_audit(call, "task", id);
  if (status == 201) td__call_set_location(call, "/api/v1/tasks", id);
  td__call_set_result(call, status, task);
  return 0;
}

static int tasks_create(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *task = NULL;
  int64_t version = 0;
  int rc = td__task_create(&ctx, call->body, &task, &version);
  if (td__call_from_ctx(call, &ctx, rc)) return TD_EINVAL;
  return respond(call, 201, task, version);
}

static int tasks_get(td__call_t *call) { return td__call_get(call, td__task_get); }

static int tasks_update(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *task = NULL;
  int64_t version = 0;
  td__call_audit(call, "task", call->params[0]);
  /* If-Match: read the version the caller must have seen (visibility first, so an unseen
   * task is a 404, not a 412). Both steps run in the same write transaction. */
  if (call->req && td__http_header(call->req, "if-match")) {
    int rc = td__task_get(&ctx, call->params[0], &task, &version);
    json_decref(task);
    task = NULL;
    if (td__call_lookup_if_match(call, &ctx, rc, version)) return TD_EINVAL;
  }
  int rc = td__task_update(&ctx, call->params[0], call->body, &task, &version);
  if (td__call_from_ctx(call, &ctx, rc)) return TD_EINVAL;
  return respond(call, 200, task, version);
}

/* GET /tasks: the filter from the query (400 naming a malformed parameter), then the page.
 * arg is the call. */
static int list_tasks(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items, int64_t *next) {
  td__call_t *call = arg;
  td__task_filter_t f = {.assignee_id = td__call_query(call, "assignee_id"),
                         .done = -1,
                         .candidate_id = td__call_query(call, "candidate_id"),
                         .application_id = td__call_query(call, "application_id")};
  const char *done = td__call_query(call, "done");
  if (done && strcmp(done, "true") == 0)
    f.done = 1;
  else if (done && strcmp(done, "false") == 0)
    f.done = 0;
  else if (done)
    return td__fail_query(ctx, "done", "must be true or false");
  const char *due = td__call_query(call, "due_before");
  if (due && td__time_parse(due, &f.due_before_ms) != 0)
    return td__fail_query(ctx, "due_before", "must be an RFC 3339 date-time such as 2026-05-01T00:00:00Z");
  return td__task_list(ctx, &f, limit, after, items, next);
}

static int tasks_list(td__call_t *call) { return td__call_list(call, list_tasks, call); }

const td__route_t td__routes_tasks[] = {
    {"POST", "/api/v1/tasks", TD_RUN_WRITE, tasks_create, NULL, "TaskCreate", 0},
    {"GET", "/api/v1/tasks", TD_RUN_READ, tasks_list, NULL, NULL, 0},
    {"GET", "/api/v1/tasks/{id}", TD_RUN_READ, tasks_get, NULL, NULL, 0},
    {"PATCH", "/api/v1/tasks/{id}", TD_RUN_WRITE, tasks_update, NULL, "TaskUpdate", 0},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
