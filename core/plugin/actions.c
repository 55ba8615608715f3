/* Plugins acting on core records (see actions.h). Arguments are checked against the same
 * OpenAPI schemas the REST API uses where one exists, then handed to the domain function with
 * the transaction's context, so permissions, filters, events and history follow exactly as
 * for an API call. A refusal is turned into (code, detail) and the context's problem is
 * restored, so the plugin decides whether its transaction goes on. */
#include "plugin/actions.h"

#include <stdio.h>
#include <string.h>

#include "domain/activities.h"
#include "domain/applications.h"
#include "domain/candidates.h"
#include "domain/tasks.h"
#include "domain/touches.h"
#include "util/json_schema.h"
#include "plugin/bridge.h"
#include "plugin/host.h"
#include "util/time.h"

/* Checks args against components/schemas/<name> of the server's document. */
static int check_schema(td_tx_t *tx, const char *name, const json_t *args, char *why, size_t why_size) {
  const json_t *doc = tx->plugin->host->openapi;
  json_t *schema = json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), name);
  if (schema == NULL) {
    snprintf(why, why_size, "the server cannot check %s", name);
    return TD_EINTERNAL;
  }
  td__schema_errors_t errors = {0};
  int rc = td__schema_validate(doc, schema, args, &errors, 1);
  if (rc > 0)
    snprintf(why, why_size, "%s %s", errors.count ? errors.items[0].pointer : "",
             errors.count ? errors.items[0].message : "is invalid");
  td__schema_errors_free(&errors);
  return rc == 0 ? 0 : rc > 0 ? TD_EINVAL : TD_EINTERNAL;
}

static const char *str(const json_t *args, const char *key) {
  return json_string_value(json_object_get(args, key));
}

static int create_application(td_tx_t *tx, const json_t *args, json_t **out, char *why, size_t why_size) {
  int rc = check_schema(tx, "ApplicationCreate", args, why, why_size);
  int64_t version = 0;
  return rc ? rc : td__application_create(tx->ctx, args, out, &version);
}

static int create_task(td_tx_t *tx, const json_t *args, json_t **out, char *why, size_t why_size) {
  int rc = check_schema(tx, "TaskCreate", args, why, why_size);
  int64_t version = 0;
  return rc ? rc : td__task_create(tx->ctx, args, out, &version);
}

static int find_candidate(td_tx_t *tx, const json_t *args, td__candidate_ref_t *ref, char *why, size_t why_size) {
  const char *id = str(args, "candidate_id");
  if (id == NULL) {
    snprintf(why, why_size, "/candidate_id is required");
    return TD_EINVAL;
  }
  return td__candidate_find(tx->ctx, id, ref);
}

static int add_activity(td_tx_t *tx, const json_t *args, json_t **out, char *why, size_t why_size) {
  static const char *const kinds[] = {"note", "email_in", "email_out", "call", "meeting", "system", NULL};
  static const char *const visibilities[] = {"private", "team", "admin", NULL};
  td__activity_t a = {.kind = str(args, "kind"), .visibility = str(args, "visibility"), .body = str(args, "body")};
  size_t k = 0;
  while (kinds[k] && (a.kind == NULL || strcmp(kinds[k], a.kind) != 0)) k++;
  size_t v = 0;
  while (a.visibility && visibilities[v] && strcmp(visibilities[v], a.visibility) != 0) v++;
  json_t *data = json_object_get(args, "data");
  if (kinds[k] == NULL || (a.visibility && visibilities[v] == NULL) || (data && !json_is_object(data)) ||
      (a.body && strlen(a.body) > 1000000)) {
    snprintf(why, why_size, "kind must be one of note, email_in, email_out, call, meeting, system; visibility "
                            "private, team or admin; data an object; body at most 1 MB");
    return TD_EINVAL;
  }
  td__candidate_ref_t ref;
  int rc = find_candidate(tx, args, &ref, why, why_size);
  if (rc) return rc;
  a.candidate_rowid = ref.rowid;
  a.data = data;
  const char *application_id = str(args, "application_id");
  int64_t candidate_rowid = 0;
  if (application_id && (rc = td__application_resolve(tx->ctx, application_id, &a.application_rowid,
                                                       &candidate_rowid)) != 0)
    return rc;
  if (application_id && candidate_rowid != ref.rowid) {
    snprintf(why, why_size, "/application_id belongs to another candidate");
    return TD_EINVAL;
  }
  char id[TD_ID_MAX];
  rc = td__activity_add(tx->ctx, &a, id);
  if (rc == 0 && out) *out = json_pack("{s:s}", "id", id);
  return rc;
}

static int record_touch(td_tx_t *tx, const json_t *args, json_t **out, char *why, size_t why_size) {
  td__touch_t t = {.channel = str(args, "channel"),
                   .source = str(args, "source"),
                   .ref_type = str(args, "ref_type"),
                   .ref_id = str(args, "ref_id")};
  const char *at = str(args, "at");
  if (!td__touch_channel_valid(t.channel) || (at && td__time_parse(at, &t.at_ms) != 0) ||
      (t.source && strlen(t.source) > 200)) {
    snprintf(why, why_size, "channel must be one of application, pool, sequence, referral, board, event; "
                            "source at most 200 bytes; at an RFC 3339 time");
    return TD_EINVAL;
  }
  td__candidate_ref_t ref;
  int rc = find_candidate(tx, args, &ref, why, why_size);
  if (rc) return rc;
  t.candidate_rowid = ref.rowid;
  char id[TD_ID_MAX];
  rc = td__touch_record(tx->ctx, &t, id);
  if (rc == 0 && out) *out = json_pack("{s:s}", "id", id);
  return rc;
}

typedef int (*action_fn)(td_tx_t *, const json_t *, json_t **, char *, size_t);

static action_fn lookup(const char *action) {
  static const struct {
    const char *name;
    action_fn fn;
  } actions[] = {{"application.create", create_application},
                 {"activity.add", add_activity},
                 {"task.create", create_task},
                 {"touch.record", record_touch}};
  for (size_t i = 0; action && i < sizeof actions / sizeof actions[0]; i++)
    if (strcmp(actions[i].name, action) == 0) return actions[i].fn;
  return NULL;
}

/* Moves a refusal left on the context into (code, why) and restores the caller's problem. */
static int take_refusal(td__ctx_t *ctx, json_t *saved, int rc, char *why, size_t why_size) {
  json_t *problem = ctx->problem;
  if (problem) {
    json_t *errors = json_object_get(problem, "errors");
    const char *detail = json_string_value(json_object_get(problem, "detail"));
    const char *pointer = json_string_value(json_object_get(json_array_get(errors, 0), "pointer"));
    const char *message = json_string_value(json_object_get(json_array_get(errors, 0), "message"));
    if (why[0] == '\0' && message)
      snprintf(why, why_size, "%s %s", pointer ? pointer : "", message);
    else if (why[0] == '\0')
      snprintf(why, why_size, "%s", detail ? detail : "refused");
    json_int_t status = json_integer_value(json_object_get(problem, "status"));
    if (rc == 0) rc = TD_EINVAL;
    if (status == 404) rc = TD_ENOTFOUND;
    if (status == 403) rc = TD_EDENIED;
    if (status == 409) rc = TD_ECONFLICT;
    json_decref(problem);
  }
  ctx->problem = saved;
  return rc;
}

int td__plugin_act(td_tx_t *tx, const char *action, const json_t *args, json_t **result, char *why,
                   size_t why_size) {
  char scratch[256];
  if (why == NULL || why_size == 0) why = scratch, why_size = sizeof scratch;
  why[0] = '\0';
  if (result) *result = NULL;
  if (tx == NULL || tx->read_only || !json_is_object(args)) {
    snprintf(why, why_size, "act needs a write transaction and an object of arguments");
    return TD_EINVAL;
  }
  if (!td__plugin_has_permission(tx->plugin, "domain.write")) {
    snprintf(why, why_size, "the plugin lacks the domain.write permission");
    return TD_EDENIED;
  }
  action_fn fn = lookup(action);
  if (fn == NULL) {
    snprintf(why, why_size, "unknown action");
    return TD_EINVAL;
  }
  json_t *saved = tx->ctx->problem, *out = NULL;
  tx->ctx->problem = NULL;
  /* Its own savepoint: a refused action leaves nothing half-written behind. */
  if (td__db_savepoint(tx->ctx->db, "plugin_act") != 0) {
    snprintf(why, why_size, "storage failed");
    tx->ctx->problem = saved;
    return TD_EIO;
  }
  int rc = fn(tx, args, &out, why, why_size);
  rc = take_refusal(tx->ctx, saved, rc, why, why_size);
  if (rc == 0) rc = td__db_release(tx->ctx->db, "plugin_act");
  if (rc != 0) td__db_rollback_to(tx->ctx->db, "plugin_act");
  if (rc == 0 && result)
    *result = out;
  else
    json_decref(out);
  return rc;
}
