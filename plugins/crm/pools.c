/* /api/v1/pools: talent pools, named lists with optional steps of their own (contacted ->
 * engaged -> ready). Optimistic concurrency as in the core: every change increments the
 * version column, answers carry ETag "v<version>", and a PATCH or DELETE whose If-Match names
 * another version is answered 412. */
#include <stdlib.h>
#include <string.h>

#include "resource.h"

#define POOL_COLUMNS                                                                               \
  "t.rowid AS rowid, t.id AS id, t.name AS name, t.description AS description, t.steps AS steps, " \
  "t.created_by AS created_by, t.created_at AS created_at, t.updated_at AS updated_at, "           \
  "t.version AS version, (SELECT count(*) FROM crm_pool_members m WHERE m.pool_rowid = t.rowid) AS members"

/* A pool row as API JSON. */
static json_t *pool_json(const json_t *row) {
  json_t *steps = json_loads(json_string_value(json_object_get(row, "steps")), 0, NULL);
  return json_pack("{s:O,s:O,s:O,s:o,s:O,s:O,s:o,s:o,s:O}", "id", json_object_get(row, "id"), "name",
                   json_object_get(row, "name"), "description", json_object_get(row, "description"), "steps",
                   steps ? steps : json_array(), "member_count", json_object_get(row, "members"),
                   "created_by", json_object_get(row, "created_by"), "created_at",
                   crm_time_json(json_object_get(row, "created_at")), "updated_at",
                   crm_time_json(json_object_get(row, "updated_at")), "version",
                   json_object_get(row, "version"));
}

static const crm_resource_t pools = {"pool", "crm_pools", "/api/v1/pools",
                                     "SELECT " POOL_COLUMNS " FROM crm_pools t", pool_json};

int crm_pool_find(td_request_t *req, td_tx_t *tx, const char *id, json_t **pool) {
  json_t *params = json_pack("[s]", id);
  int rc = crm_query_one(tx, "SELECT rowid, id, name, steps FROM crm_pools WHERE id = ?1", params, pool);
  json_decref(params);
  if (rc == TD_ENOTFOUND) return crm_not_found(req, "pool");
  return rc;
}

/* The name is the source of touches ("<name>", at most 200 bytes) and of applications
 * ("pool:<name>", at most 200), so it is kept to 190 bytes: 422 otherwise. 409 when another
 * pool (not except_id) already has it. */
static int check_name(td_request_t *req, td_tx_t *tx, const char *name, const char *except_id) {
  if (strlen(name) > CRM_POOL_NAME_MAX_BYTES)
    return crm_api->fail_field(req, "/name", "must be at most 190 bytes of UTF-8 (about 100 characters)");
  json_t *row = NULL, *params = json_pack("[s,s]", name, except_id ? except_id : "");
  int rc = crm_query_one(tx, "SELECT id FROM crm_pools WHERE name = ?1 AND id <> ?2", params, &row);
  json_decref(params);
  json_decref(row);
  if (rc == TD_ENOTFOUND) return 0;
  if (rc) return rc;
  crm_api->fail(req, 409, "Conflict", "a pool with this name already exists; pick another name");
  return TD_ECONFLICT;
}

static int create(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (crm_guard(req)) return TD_EDENIED;
  const json_t *body = crm_api->request_body(req);
  const char *name = json_string_value(json_object_get(body, "name"));
  const char *description = json_string_value(json_object_get(body, "description"));
  int rc = check_name(req, tx, name, NULL);
  if (rc) return rc;
  char id[TD_PLUGIN_ID_MAX];
  crm_api->new_id("pool", id);
  const json_t *steps_in = json_object_get(body, "steps");
  char *steps = steps_in ? json_dumps(steps_in, JSON_COMPACT) : NULL;
  json_int_t now = crm_api->now_ms();
  json_t *params = json_pack("[s,s,s,s,s?,I]", id, name, description ? description : "", steps ? steps : "[]",
                             crm_api->request_user_id(req), now);
  free(steps);
  rc =
      crm_api->exec(tx,
                    "INSERT INTO crm_pools (id, name, description, steps, created_by, created_at, updated_at)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                    params, NULL);
  json_decref(params);
  return rc ? rc : crm_res_answer(req, tx, &pools, id, 201);
}

/* 422 when a step that members are at is not in the new steps. */
static int check_dropped_steps(td_request_t *req, td_tx_t *tx, json_int_t pool_rowid, const json_t *steps) {
  char *text = json_dumps(steps, JSON_COMPACT);
  json_t *row = NULL, *params = json_pack("[I,s]", pool_rowid, text);
  free(text);
  int rc = crm_query_one(tx,
                         "SELECT step FROM crm_pool_members WHERE pool_rowid = ?1 AND step IS NOT NULL"
                         " AND step NOT IN (SELECT value FROM json_each(?2)) LIMIT 1",
                         params, &row);
  json_decref(params);
  json_decref(row);
  if (rc == TD_ENOTFOUND) return 0;
  if (rc) return rc;
  crm_api->fail_field(req, "/steps",
                      "drops a step that members are at; move those members to another step first");
  return TD_EINVAL;
}

static int update(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (crm_guard(req)) return TD_EDENIED;
  const char *id = crm_api->request_param(req, 0);
  const json_t *body = crm_api->request_body(req);
  json_t *row = NULL;
  int rc = crm_res_load_for_write(req, tx, &pools, id, &row);
  if (rc) return rc;
  json_int_t pool_rowid = json_integer_value(json_object_get(row, "rowid"));
  json_decref(row);
  const char *name = json_string_value(json_object_get(body, "name"));
  const json_t *steps = json_object_get(body, "steps");
  if (name && (rc = check_name(req, tx, name, id)) != 0) return rc;
  if (steps && (rc = check_dropped_steps(req, tx, pool_rowid, steps)) != 0) return rc;
  char *steps_text = steps ? json_dumps(steps, JSON_COMPACT) : NULL;
  json_t *params =
      json_pack("[s,s?,s?,s?,I]", id, name, json_string_value(json_object_get(body, "description")),
                steps_text, (json_int_t)crm_api->now_ms());
  free(steps_text);
  rc =
      crm_api->exec(tx,
                    "UPDATE crm_pools SET name = coalesce(?2, name), description = coalesce(?3, description),"
                    " steps = coalesce(?4, steps), updated_at = ?5, version = version + 1 WHERE id = ?1",
                    params, NULL);
  json_decref(params);
  return rc ? rc : crm_res_answer(req, tx, &pools, id, 200);
}

int crm_pools_register(void) {
  static const crm_route_t routes[] = {
      {{"POST", "/pools", TD_PLUGIN_ROUTE_WRITE, 0, "CrmPoolCreate"}, create, NULL},
      {{"GET", "/pools", TD_PLUGIN_ROUTE_READ, 0, NULL}, crm_res_list_route, &pools},
      {{"GET", "/pools/{id}", TD_PLUGIN_ROUTE_READ, 0, NULL}, crm_res_get_route, &pools},
      {{"PATCH", "/pools/{id}", TD_PLUGIN_ROUTE_WRITE, 0, "CrmPoolUpdate"}, update, NULL},
      {{"DELETE", "/pools/{id}", TD_PLUGIN_ROUTE_WRITE, 0, NULL}, crm_res_delete_route, &pools},
  };
  return crm_register_routes(routes, sizeof routes / sizeof routes[0]);
}
