/* Shared handling of pools and segments as stored resources (see resource.h). */
#include "resource.h"

#include <stdio.h>

#define SQL_MAX 1024

int crm_res_load(td_tx_t *tx, const crm_resource_t *r, const char *id, json_t **row) {
  char sql[SQL_MAX];
  snprintf(sql, sizeof sql, "%s WHERE t.id = ?1", r->select);
  json_t *params = json_pack("[s]", id);
  int rc = crm_query_one(tx, sql, params, row);
  json_decref(params);
  return rc;
}

int crm_res_answer(td_request_t *req, td_tx_t *tx, const crm_resource_t *r, const char *id, int status) {
  json_t *row = NULL;
  int rc = crm_res_load(tx, r, id, &row);
  if (rc == TD_ENOTFOUND) return crm_not_found(req, r->what);
  if (rc) return rc;
  crm_set_etag(req, json_integer_value(json_object_get(row, "version")));
  if (status == 201) crm_set_location(req, r->collection, id);
  crm_api->respond(req, status, r->to_json(row));
  json_decref(row);
  return 0;
}

int crm_res_load_for_write(td_request_t *req, td_tx_t *tx, const crm_resource_t *r, const char *id,
                           json_t **row) {
  int rc = crm_res_load(tx, r, id, row);
  if (rc == TD_ENOTFOUND) return crm_not_found(req, r->what);
  if (rc) return rc;
  if (crm_check_if_match(req, json_integer_value(json_object_get(*row, "version"))) == 0) return 0;
  json_decref(*row);
  *row = NULL;
  return TD_ESTALE;
}

int crm_res_list_route(td_request_t *req, td_tx_t *tx, void *data) {
  const crm_resource_t *r = data;
  int limit;
  int64_t after;
  if (crm_guard(req) || crm_page(req, &limit, &after)) return TD_EINVAL;
  char sql[SQL_MAX];
  snprintf(sql, sizeof sql, "%s WHERE t.rowid > ?1 ORDER BY t.rowid LIMIT ?2", r->select);
  json_t *rows = NULL, *params = json_pack("[I,i]", (json_int_t)after, limit + 1);
  int rc = crm_api->query(tx, sql, params, &rows);
  json_decref(params);
  if (rc) return rc;
  crm_api->respond(req, 200, crm_page_rows(rows, limit, r->to_json));
  json_decref(rows);
  return 0;
}

int crm_res_get_route(td_request_t *req, td_tx_t *tx, void *data) {
  if (crm_guard(req)) return TD_EDENIED;
  return crm_res_answer(req, tx, data, crm_api->request_param(req, 0), 200);
}

int crm_res_delete_route(td_request_t *req, td_tx_t *tx, void *data) {
  const crm_resource_t *r = data;
  if (crm_guard(req)) return TD_EDENIED;
  const char *id = crm_api->request_param(req, 0);
  json_t *row = NULL;
  int rc = crm_res_load_for_write(req, tx, r, id, &row);
  if (rc) return rc;
  json_decref(row);
  char sql[SQL_MAX];
  snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?1", r->table);
  json_t *params = json_pack("[s]", id);
  rc = crm_api->exec(tx, sql, params, NULL);
  json_decref(params);
  if (rc) return rc;
  crm_api->respond(req, 204, NULL);
  return 0;
}
