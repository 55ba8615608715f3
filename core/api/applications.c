/* /api/v1/applications: create, read, list, the transition log, and the actions (moves,
 * reject, unreject, hire) that are the only way an application's stage changes. Handlers
 * decode and encode; the rules live in domain/applications.c and domain/transitions.c. */
#include <string.h>

#include "api/routes.h"
#include "domain/applications.h"
#include "talentd/types.h"

static const char *const statuses[] = {"active", "rejected", "withdrawn", "hired"};

/* Answers with the application, its ETag, and the audit entry of the write. */
static int respond(td__call_t *call, int status, json_t *app, int64_t version) {
  const char *id = json_string_value(json_object_get(app, "id"));
  td__call_set_etag(call, version);
  if (call->route->kind != TD_RUN_READ) td__call_audit(call, "application", id);
  if (status == 201) td__call_set_location(call, "/api/v1/applications", id);
  td__call_set_result(call, status, app);
  return 0;
}

static int applications_create(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *app = NULL;
  int64_t version = 0;
  int rc = td__application_create(&ctx, call->body, &app, &version);
  if (td__call_from_ctx(call, &ctx, rc)) return TD_EINVAL;
  return respond(call, 201, app, version);
}

static int applications_get(td__call_t *call) { return td__call_get(call, td__application_get); }

/* GET /applications: the filter from the query (400 naming a malformed parameter), then
 * the page. arg is the call. */
static int list_applications(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items,
                             int64_t *next) {
  td__call_t *call = arg;
  td__application_filter_t f = {.job_id = td__call_query(call, "job_id"),
                                .stage_id = td__call_query(call, "stage_id"),
                                .status = td__call_query(call, "status"),
                                .candidate_id = td__call_query(call, "candidate_id")};
  if (f.status) {
    bool known = false;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
      known |= strcmp(f.status, statuses[i]) == 0;
    if (!known) return td__fail_query(ctx, "status", "must be one of active, rejected, withdrawn, hired");
  }
  return td__application_list(ctx, &f, limit, after, items, next);
}

static int applications_list(td__call_t *call) { return td__call_list(call, list_applications, call); }

/* The transition log of the application named in the path (arg). */
static int list_transitions(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items,
                            int64_t *next) {
  return td__application_transitions(ctx, arg, limit, after, items, next);
}

static int applications_transitions(td__call_t *call) {
  return td__call_list(call, list_transitions, call->params[0]);
}

/* With If-Match: the application must be visible and movable by the caller (so 404 and 403
 * come before 412), and at the version the caller read. Without it, the action alone
 * checks. Runs inside the write transaction, so the version cannot change in between. */
static int check_if_match(td__call_t *call, td__ctx_t *ctx) {
  if (call->req == NULL || td__http_header(call->req, "if-match") == NULL) return 0;
  int64_t version = 0;
  int rc = td__application_for_action(ctx, call->params[0], &version);
  return td__call_lookup_if_match(call, ctx, rc, version);
}

/* The common shape of an action: If-Match, the domain action, the updated application. */
typedef enum action { ACT_MOVE, ACT_REJECT, ACT_UNREJECT, ACT_HIRE } action_t;

static int run_action(td__call_t *call, action_t action) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  if (check_if_match(call, &ctx)) return TD_EINVAL;
  const char *id = call->params[0];
  json_t *app = NULL;
  int64_t version = 0;
  int rc = TD_EINTERNAL;
  switch (action) {
    case ACT_MOVE:
      rc = td__application_move(&ctx, id, td__body_str(call, "to_stage_id"), td__body_str(call, "reason"),
                                &app, &version);
      break;
    case ACT_REJECT:
      rc = td__application_reject(&ctx, id, td__body_str(call, "kind"), td__body_str(call, "reason"), &app,
                                  &version);
      break;
    case ACT_UNREJECT:
      rc = td__application_unreject(&ctx, id, td__body_str(call, "reason"), &app, &version);
      break;
    case ACT_HIRE:
      rc = td__application_hire(&ctx, id, td__body_str(call, "opening_id"), &app, &version);
      break;
  }
  if (td__call_from_ctx(call, &ctx, rc)) {
    td__call_audit(call, "application", id);
    return TD_EINVAL;
  }
  return respond(call, 200, app, version);
}

static int applications_move(td__call_t *call) { return run_action(call, ACT_MOVE); }
static int applications_reject(td__call_t *call) { return run_action(call, ACT_REJECT); }
static int applications_unreject(td__call_t *call) { return run_action(call, ACT_UNREJECT); }
static int applications_hire(td__call_t *call) { return run_action(call, ACT_HIRE); }

const td__route_t td__routes_applications[] = {
    {"POST", "/api/v1/applications", TD_RUN_WRITE, applications_create, NULL, "ApplicationCreate", 0},
    {"GET", "/api/v1/applications", TD_RUN_READ, applications_list, NULL, NULL, 0},
    {"GET", "/api/v1/applications/{id}", TD_RUN_READ, applications_get, NULL, NULL, 0},
    {"GET", "/api/v1/applications/{id}/transitions", TD_RUN_READ, applications_transitions, NULL, NULL, 0},
    {"POST", "/api/v1/applications/{id}/moves", TD_RUN_WRITE, applications_move, NULL, "ApplicationMove", 0},
    {"POST", "/api/v1/applications/{id}/reject", TD_RUN_WRITE, applications_reject, NULL, "ApplicationReject",
     0},
    {"POST", "/api/v1/applications/{id}/unreject", TD_RUN_WRITE, applications_unreject, NULL,
     "ApplicationUnreject", 0},
    {"POST", "/api/v1/applications/{id}/hire", TD_RUN_WRITE, applications_hire, NULL, "ApplicationHire", 0},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
