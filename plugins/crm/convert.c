/* POST /api/v1/pools/{id}/members/{candidate_id}/convert: turns a pool member into an
 * application through the core's own rules (act "application.create", as the caller), so a
 * closed job or an active application already there is refused exactly as the REST API
 * refuses it. The member stays in the pool, marked with the application; the candidate is
 * the same record, so their history stays whole. The core records every application as a
 * touch (channel "application", source "pool:<name>" here) after the "pool" touch made when
 * the member was added: the path that led to the application, for source attribution. */
#include <stdio.h>

#include "crm.h"

/* The application for the member, or the core's refusal as a problem. */
static int create_application(td_request_t *req, td_tx_t *tx, const json_t *pool, const char *candidate_id,
                              json_t **app) {
  const json_t *body = crm_api->request_body(req);
  char source[256], why[256];
  snprintf(source, sizeof source, "pool:%s", json_string_value(json_object_get(pool, "name")));
  json_t *args = json_pack("{s:s,s:O,s:s}", "candidate_id", candidate_id, "job_id",
                           json_object_get(body, "job_id"), "source", source);
  const json_t *stage = json_object_get(body, "stage_id");
  if (stage) json_object_set(args, "stage_id", (json_t *)stage);
  int rc = crm_api->act(tx, "application.create", args, app, why, sizeof why);
  json_decref(args);
  return rc ? crm_fail_act(req, rc, why) : 0;
}

static int convert(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  json_t *pool = NULL, *member = NULL, *app = NULL;
  if (crm_guard(req) || crm_pool_find(req, tx, crm_api->request_param(req, 0), &pool)) return TD_EINVAL;
  const char *candidate_id = crm_api->request_param(req, 1);
  int64_t pool_rowid = json_integer_value(json_object_get(pool, "rowid"));
  int rc = crm_member_load(tx, pool_rowid, candidate_id, &member);
  json_decref(member);
  if (rc == TD_ENOTFOUND) rc = crm_not_found(req, "member of this pool");
  if (rc == 0) rc = create_application(req, tx, pool, candidate_id, &app);
  const char *app_id = json_string_value(json_object_get(app, "id"));
  json_decref(pool);
  if (rc == 0) {
    json_t *params =
        json_pack("[I,s,s,I]", (json_int_t)pool_rowid, candidate_id, app_id, (json_int_t)crm_api->now_ms());
    rc = crm_api->exec(
        tx,
        "UPDATE crm_pool_members SET application_id = ?3, converted_at = ?4 WHERE pool_rowid = ?1"
        " AND candidate_rowid = (SELECT rowid FROM candidates WHERE id = ?2)",
        params, NULL);
    json_decref(params);
  }
  if (rc == 0) rc = crm_member_load(tx, pool_rowid, candidate_id, &member);
  if (rc) return json_decref(app), rc;
  crm_set_location(req, "/api/v1/applications", app_id);
  crm_api->respond(req, 201, json_pack("{s:o,s:o}", "member", member, "application", app));
  return 0;
}

int crm_convert_register(void) {
  static const td_route_spec_t spec = {"POST", "/pools/{id}/members/{candidate_id}/convert",
                                       TD_PLUGIN_ROUTE_WRITE, 0, "CrmConvert"};
  return crm_api->register_route(crm_self, &spec, convert, NULL);
}
