/* /api/v1/segments: saved searches over candidates ({"name","q"?,"filters"?}, filters in
 * segment_sql.c), their members computed on a reader thread, and /segments/preview for an
 * unsaved definition (a reading POST, also on a reader thread). PATCH and DELETE honour
 * If-Match like pools (412 when stale). */
#include <stdlib.h>

#include "resource.h"
#include "segment_sql.h"

#define SEGMENT_COLUMNS                                                                                    \
  "t.rowid AS rowid, t.id AS id, t.name AS name, t.definition AS definition, t.created_by AS created_by, " \
  "t.created_at AS created_at, t.updated_at AS updated_at, t.version AS version"

static json_t *segment_json(const json_t *row) {
  json_t *def = json_loads(json_string_value(json_object_get(row, "definition")), 0, NULL);
  json_t *q = json_object_get(def, "q"), *filters = json_object_get(def, "filters");
  json_t *out = json_pack(
      "{s:O,s:O,s:o,s:o,s:O,s:o,s:o,s:O}", "id", json_object_get(row, "id"), "name",
      json_object_get(row, "name"), "q", q ? json_incref(q) : json_null(), "filters",
      filters ? json_incref(filters) : json_object(), "created_by", json_object_get(row, "created_by"),
      "created_at", crm_time_json(json_object_get(row, "created_at")), "updated_at",
      crm_time_json(json_object_get(row, "updated_at")), "version", json_object_get(row, "version"));
  json_decref(def);
  return out;
}

static const crm_resource_t segments = {"segment", "crm_segments", "/api/v1/segments",
                                        "SELECT " SEGMENT_COLUMNS " FROM crm_segments t", segment_json};

/* Checks what the schema cannot: times, q, and (with check_pool) that in_pool names a pool.
 * 422 naming it. A PATCH that leaves the filters alone does not check the pool again: a saved
 * segment whose pool was deleted since stays renamable (it matches no one, as documented). */
static int check_definition(td_request_t *req, td_tx_t *tx, const json_t *def, int check_pool) {
  char *sql = NULL;
  json_t *params = NULL;
  crm_segment_error_t err;
  int rc = crm_segment_sql(def, 0, 1, &sql, &params, &err);
  free(sql);
  json_decref(params);
  if (rc == TD_EINVAL) return crm_api->fail_field(req, err.pointer, err.message);
  if (rc) return rc;
  const char *pool = json_string_value(json_object_get(json_object_get(def, "filters"), "in_pool"));
  if (pool == NULL || !check_pool) return 0;
  json_t *row = NULL;
  params = json_pack("[s]", pool);
  rc = crm_query_one(tx, "SELECT id FROM crm_pools WHERE id = ?1", params, &row);
  json_decref(params);
  json_decref(row);
  if (rc == TD_ENOTFOUND) return crm_api->fail_field(req, "/filters/in_pool", "no pool with that id exists");
  return rc;
}

/* {"q"?, "filters"?} of a body, as stored (new reference). */
static json_t *definition_of(const json_t *body) {
  json_t *def = json_object();
  const json_t *q = json_object_get(body, "q"), *filters = json_object_get(body, "filters");
  if (json_is_string(q)) json_object_set(def, "q", (json_t *)q);
  if (filters) json_object_set(def, "filters", (json_t *)filters);
  return def;
}

static int create(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (crm_guard(req)) return TD_EDENIED;
  const json_t *body = crm_api->request_body(req);
  json_t *def = definition_of(body);
  int rc = check_definition(req, tx, def, 1);
  if (rc) return json_decref(def), rc;
  char id[TD_PLUGIN_ID_MAX];
  crm_api->new_id("seg", id);
  char *text = json_dumps(def, JSON_COMPACT);
  json_decref(def);
  json_int_t now = crm_api->now_ms();
  json_t *params =
      json_pack("[s,O,s,s?,I]", id, json_object_get(body, "name"), text, crm_api->request_user_id(req), now);
  free(text);
  rc = crm_api->exec(tx,
                     "INSERT INTO crm_segments (id, name, definition, created_by, created_at, updated_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                     params, NULL);
  json_decref(params);
  return rc ? rc : crm_res_answer(req, tx, &segments, id, 201);
}

/* PATCH: name, q (null removes it) and filters (replaces them all). */
static int update(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (crm_guard(req)) return TD_EDENIED;
  const char *id = crm_api->request_param(req, 0);
  const json_t *body = crm_api->request_body(req);
  json_t *row = NULL;
  int rc = crm_res_load_for_write(req, tx, &segments, id, &row);
  if (rc) return rc;
  json_t *def = json_loads(json_string_value(json_object_get(row, "definition")), 0, NULL);
  json_decref(row);
  if (def == NULL) def = json_object();
  if (json_object_get(body, "q")) json_object_del(def, "q");
  if (json_is_string(json_object_get(body, "q"))) json_object_set(def, "q", json_object_get(body, "q"));
  if (json_object_get(body, "filters")) json_object_set(def, "filters", json_object_get(body, "filters"));
  rc = check_definition(req, tx, def, json_object_get(body, "filters") != NULL);
  char *text = json_dumps(def, JSON_COMPACT);
  json_decref(def);
  json_t *params = json_pack("[s,s?,s,I]", id, json_string_value(json_object_get(body, "name")), text,
                             (json_int_t)crm_api->now_ms());
  free(text);
  if (rc == 0)
    rc = crm_api->exec(tx,
                       "UPDATE crm_segments SET name = coalesce(?2, name), definition = ?3, updated_at = ?4,"
                       " version = version + 1 WHERE id = ?1",
                       params, NULL);
  json_decref(params);
  return rc ? rc : crm_res_answer(req, tx, &segments, id, 200);
}

/* A candidate row of a segment's query as API JSON. */
static json_t *candidate_json(const json_t *row) {
  json_t *tags = json_loads(json_string_value(json_object_get(row, "tags")), 0, NULL);
  return json_pack("{s:O,s:O,s:O,s:O,s:O,s:o}", "id", json_object_get(row, "id"), "first_name",
                   json_object_get(row, "first_name"), "last_name", json_object_get(row, "last_name"),
                   "location", json_object_get(row, "location"), "source", json_object_get(row, "source"),
                   "tags", tags ? tags : json_array());
}

/* One page of def's members, answered. */
static int answer_members(td_request_t *req, td_tx_t *tx, const json_t *def) {
  int limit;
  int64_t after;
  if (crm_page(req, &limit, &after)) return TD_EINVAL;
  char *sql = NULL;
  json_t *params = NULL, *rows = NULL;
  crm_segment_error_t err;
  int rc = crm_segment_sql(def, after, limit + 1, &sql, &params, &err);
  if (rc == TD_EINVAL) return crm_api->fail_field(req, err.pointer, err.message);
  if (rc) return rc;
  rc = crm_api->query(tx, sql, params, &rows);
  free(sql);
  json_decref(params);
  if (rc) return rc;
  crm_api->respond(req, 200, crm_page_rows(rows, limit, candidate_json));
  json_decref(rows);
  return 0;
}

static int members(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (crm_guard(req)) return TD_EDENIED;
  json_t *row = NULL;
  int rc = crm_res_load(tx, &segments, crm_api->request_param(req, 0), &row);
  if (rc == TD_ENOTFOUND) return crm_not_found(req, "segment");
  if (rc) return rc;
  json_t *def = json_loads(json_string_value(json_object_get(row, "definition")), 0, NULL);
  json_decref(row);
  rc = def ? answer_members(req, tx, def) : TD_EINTERNAL;
  json_decref(def);
  return rc;
}

static int preview(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (crm_guard(req)) return TD_EDENIED;
  json_t *def = definition_of(crm_api->request_body(req));
  int rc = check_definition(req, tx, def, 1);
  if (rc == 0) rc = answer_members(req, tx, def);
  json_decref(def);
  return rc;
}

int crm_segments_register(void) {
  static const crm_route_t routes[] = {
      {{"POST", "/segments", TD_PLUGIN_ROUTE_WRITE, 0, "CrmSegmentCreate"}, create, NULL},
      {{"GET", "/segments", TD_PLUGIN_ROUTE_READ, 0, NULL}, crm_res_list_route, &segments},
      /* Writes nothing: a reading POST (a definition too big for a query string) on a reader. */
      {{"POST", "/segments/preview", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_QUERY, "CrmSegmentPreview"},
       preview,
       NULL},
      {{"GET", "/segments/{id}", TD_PLUGIN_ROUTE_READ, 0, NULL}, crm_res_get_route, &segments},
      {{"PATCH", "/segments/{id}", TD_PLUGIN_ROUTE_WRITE, 0, "CrmSegmentUpdate"}, update, NULL},
      {{"DELETE", "/segments/{id}", TD_PLUGIN_ROUTE_WRITE, 0, NULL}, crm_res_delete_route, &segments},
      {{"GET", "/segments/{id}/members", TD_PLUGIN_ROUTE_READ, 0, NULL}, members, NULL},
  };
  return crm_register_routes(routes, sizeof routes / sizeof routes[0]);
}
