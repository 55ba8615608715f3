/* /api/v1/pools/{id}/members: listing a pool's members, moving one to another of the pool's
 * steps, removing one. Adding is in member_add.c, converting in convert.c. */
#include <string.h>

#include "crm.h"

#define MEMBER_SELECT                                                                                     \
  "SELECT m.rowid AS rowid, c.id AS candidate_id, c.first_name AS first_name, c.last_name AS last_name, " \
  "m.step AS step, m.added_at AS added_at, m.added_by AS added_by, m.application_id AS application_id, "  \
  "m.converted_at AS converted_at FROM crm_pool_members m JOIN candidates c ON c.rowid = m.candidate_rowid "

static json_t *member_json(const json_t *row) {
  return json_pack("{s:O,s:O,s:O,s:O,s:o,s:O,s:b,s:O,s:o}", "candidate_id",
                   json_object_get(row, "candidate_id"), "first_name", json_object_get(row, "first_name"),
                   "last_name", json_object_get(row, "last_name"), "step", json_object_get(row, "step"),
                   "added_at", crm_time_json(json_object_get(row, "added_at")), "added_by",
                   json_object_get(row, "added_by"), "converted",
                   json_is_string(json_object_get(row, "application_id")), "application_id",
                   json_object_get(row, "application_id"), "converted_at",
                   crm_time_json(json_object_get(row, "converted_at")));
}

int crm_member_load(td_tx_t *tx, int64_t pool_rowid, const char *candidate_id, json_t **out) {
  json_t *row = NULL, *params = json_pack("[I,s]", (json_int_t)pool_rowid, candidate_id);
  int rc = crm_query_one(tx, MEMBER_SELECT "WHERE m.pool_rowid = ?1 AND c.id = ?2", params, &row);
  json_decref(params);
  if (rc == 0) *out = member_json(row);
  json_decref(row);
  return rc;
}

/* GET: in the order they were added; ?step= keeps the members at that step. */
static int list(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  int limit;
  int64_t after;
  json_t *pool = NULL;
  if (crm_guard(req) || crm_page(req, &limit, &after)) return TD_EINVAL;
  if (crm_pool_find(req, tx, crm_api->request_param(req, 0), &pool)) return TD_EINVAL;
  json_t *rows = NULL, *params = json_pack("[O,I,i,s?]", json_object_get(pool, "rowid"), (json_int_t)after,
                                           limit + 1, crm_api->request_query(req, "step"));
  json_decref(pool);
  int rc = crm_api->query(tx,
                          MEMBER_SELECT
                          "WHERE m.pool_rowid = ?1 AND m.rowid > ?2 AND (?4 IS NULL OR m.step = ?4)"
                          " ORDER BY m.rowid LIMIT ?3",
                          params, &rows);
  json_decref(params);
  if (rc) return rc;
  crm_api->respond(req, 200, crm_page_rows(rows, limit, member_json));
  json_decref(rows);
  return 0;
}

/* Whether step is one of the pool's steps (a JSON array as text). */
static int step_allowed(const json_t *pool, const char *step) {
  json_t *steps = json_loads(json_string_value(json_object_get(pool, "steps")), 0, NULL);
  size_t i;
  json_t *v;
  int found = 0;
  json_array_foreach(steps, i, v) found |= strcmp(json_string_value(v), step) == 0;
  json_decref(steps);
  return found;
}

/* PATCH {"step"}: the step must be one of the pool's steps. */
static int update(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  json_t *pool = NULL;
  if (crm_guard(req) || crm_pool_find(req, tx, crm_api->request_param(req, 0), &pool)) return TD_EINVAL;
  const char *candidate_id = crm_api->request_param(req, 1);
  const char *step = json_string_value(json_object_get(crm_api->request_body(req), "step"));
  int allowed = step_allowed(pool, step);
  json_t *params = json_pack("[O,s,s]", json_object_get(pool, "rowid"), candidate_id, step);
  int64_t pool_rowid = json_integer_value(json_object_get(pool, "rowid")), changes = 0;
  json_decref(pool);
  if (!allowed) {
    json_decref(params);
    return crm_api->fail_field(req, "/step",
                               "must be one of the pool's steps (GET /api/v1/pools/{id} lists them)");
  }
  int rc = crm_api->exec(tx,
                         "UPDATE crm_pool_members SET step = ?3 WHERE pool_rowid = ?1"
                         " AND candidate_rowid = (SELECT rowid FROM candidates WHERE id = ?2)",
                         params, &changes);
  json_decref(params);
  if (rc) return rc;
  if (changes == 0) return crm_not_found(req, "member of this pool");
  json_t *out = NULL;
  if ((rc = crm_member_load(tx, pool_rowid, candidate_id, &out)) != 0) return rc;
  crm_api->respond(req, 200, out);
  return 0;
}

static int delete_one(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  json_t *pool = NULL;
  if (crm_guard(req) || crm_pool_find(req, tx, crm_api->request_param(req, 0), &pool)) return TD_EINVAL;
  json_t *params = json_pack("[O,s]", json_object_get(pool, "rowid"), crm_api->request_param(req, 1));
  json_decref(pool);
  int64_t changes = 0;
  int rc = crm_api->exec(tx,
                         "DELETE FROM crm_pool_members WHERE pool_rowid = ?1"
                         " AND candidate_rowid = (SELECT rowid FROM candidates WHERE id = ?2)",
                         params, &changes);
  json_decref(params);
  if (rc) return rc;
  if (changes == 0) return crm_not_found(req, "member of this pool");
  crm_api->respond(req, 204, NULL);
  return 0;
}

int crm_members_register(void) {
  static const crm_route_t routes[] = {
      {{"POST", "/pools/{id}/members", TD_PLUGIN_ROUTE_WRITE, 0, "CrmMembersAdd"}, crm_add_members, NULL},
      {{"GET", "/pools/{id}/members", TD_PLUGIN_ROUTE_READ, 0, NULL}, list, NULL},
      {{"PATCH", "/pools/{id}/members/{candidate_id}", TD_PLUGIN_ROUTE_WRITE, 0, "CrmMemberUpdate"},
       update,
       NULL},
      {{"DELETE", "/pools/{id}/members/{candidate_id}", TD_PLUGIN_ROUTE_WRITE, 0, NULL}, delete_one, NULL},
  };
  return crm_register_routes(routes, sizeof routes / sizeof routes[0]);
}
