/* /api/v1/plugins/webhooks/endpoints: admins manage the URLs that receive events. A secret is
 * shown once, when the endpoint is created or its secret rotated. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "webhooks.h"

#define COLUMNS                                                                                      \
  "id, url, description, event_types, enabled, consecutive_failures, disabled_reason, last_status, " \
  "last_error, previous_expires_at, created_at, updated_at, version"

static json_t *time_json(const json_t *ms) {
  if (!json_is_integer(ms)) return json_null();
  time_t secs = (time_t)(json_integer_value(ms) / 1000);
  struct tm tm;
  char buf[40];
  gmtime_r(&secs, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return json_string(buf);
}

/* An endpoint row as API JSON (never the secret). */
static json_t *endpoint_json(const json_t *row) {
  json_t *types = json_loads(json_string_value(json_object_get(row, "event_types")), 0, NULL);
  return json_pack("{s:O,s:O,s:O,s:o,s:b,s:O,s:O,s:O,s:O,s:o,s:o,s:o,s:O}", "id", json_object_get(row, "id"),
                   "url", json_object_get(row, "url"), "description", json_object_get(row, "description"),
                   "event_types", types ? types : json_array(), "enabled",
                   json_integer_value(json_object_get(row, "enabled")) != 0, "consecutive_failures",
                   json_object_get(row, "consecutive_failures"), "disabled_reason",
                   json_object_get(row, "disabled_reason"), "last_status",
                   json_object_get(row, "last_status"), "last_error", json_object_get(row, "last_error"),
                   "previous_secret_expires_at", time_json(json_object_get(row, "previous_expires_at")),
                   "created_at", time_json(json_object_get(row, "created_at")), "updated_at",
                   time_json(json_object_get(row, "updated_at")), "version", json_object_get(row, "version"));
}

static int load(td_tx_t *tx, const char *id, json_t **row) {
  json_t *rows = NULL, *params = json_pack("[s]", id);
  int rc = wh_api->query(tx, "SELECT " COLUMNS " FROM webhooks_endpoints WHERE id = ?1", params, &rows);
  json_decref(params);
  if (rc) return rc;
  *row = json_incref(json_array_get(rows, 0));
  json_decref(rows);
  return *row ? 0 : TD_ENOTFOUND;
}

static int not_found(td_request_t *req) {
  return wh_api->fail(req, 404, "Not found", "no such webhook endpoint");
}

/* The URL must pass the same checks as a send (scheme, and private addresses for literals). */
static int check_url(td_request_t *req, const char *url) {
  char why[200];
  if (wh_api->http_check_url(wh_self, url, why, sizeof why) != 0) return wh_api->fail_field(req, "/url", why);
  return 0;
}

static int create(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  const json_t *body = wh_api->request_body(req);
  const char *url = json_string_value(json_object_get(body, "url"));
  if (check_url(req, url)) return TD_EINVAL;
  char id[TD_PLUGIN_ID_MAX], secret[WH_SECRET_MAX];
  wh_api->new_id("whe", id);
  wh_secret_new(secret);
  char *types = json_dumps(json_object_get(body, "event_types"), JSON_COMPACT);
  const char *description = json_string_value(json_object_get(body, "description"));
  json_int_t now = wh_api->now_ms();
  json_t *params =
      json_pack("[s,s,s,s,s,I,I]", id, url, description ? description : "", types, secret, now, now);
  free(types);
  int rc =
      wh_api->exec(tx,
                   "INSERT INTO webhooks_endpoints (id, url, description, event_types, secret, created_at, "
                   "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                   params, NULL);
  json_decref(params);
  json_t *row = NULL;
  if (rc == 0) rc = load(tx, id, &row);
  if (rc) return rc;
  json_t *out = endpoint_json(row);
  json_decref(row);
  json_object_set_new(out, "secret", json_string(secret));
  wh_endpoints_changed();
  wh_api->respond(req, 201, out);
  return 0;
}

static int list(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  json_t *rows = NULL;
  int rc =
      wh_api->query(tx, "SELECT " COLUMNS " FROM webhooks_endpoints ORDER BY rowid LIMIT 1000", NULL, &rows);
  if (rc) return rc;
  json_t *items = json_array();
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) json_array_append_new(items, endpoint_json(row));
  json_decref(rows);
  wh_api->respond(req, 200, json_pack("{s:o}", "data", items));
  return 0;
}

static int get_one(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  json_t *row = NULL;
  int rc = load(tx, wh_api->request_param(req, 0), &row);
  if (rc == TD_ENOTFOUND) return not_found(req);
  if (rc) return rc;
  wh_api->respond(req, 200, endpoint_json(row));
  json_decref(row);
  return 0;
}

/* PATCH: url, event_types, description, enabled. Enabling again clears the failure count. */
static int update(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  const char *id = wh_api->request_param(req, 0);
  const json_t *body = wh_api->request_body(req);
  json_t *row = NULL;
  int rc = load(tx, id, &row);
  if (rc == TD_ENOTFOUND) return not_found(req);
  if (rc) return rc;
  json_decref(row);
  const char *url = json_string_value(json_object_get(body, "url"));
  if (url && check_url(req, url)) return TD_EINVAL;
  json_t *types = json_object_get(body, "event_types");
  char *types_text = types ? json_dumps(types, JSON_COMPACT) : NULL;
  json_t *enabled = json_object_get(body, "enabled");
  json_t *params = json_pack(
      "[s,s?,s?,s?,o,I]", id, url, types_text, json_string_value(json_object_get(body, "description")),
      enabled ? json_integer(json_is_true(enabled)) : json_null(), (json_int_t)wh_api->now_ms());
  free(types_text);
  rc = wh_api->exec(
      tx,
      "UPDATE webhooks_endpoints SET url = coalesce(?2, url), event_types = coalesce(?3, event_types), "
      "description = coalesce(?4, description), enabled = coalesce(?5, enabled), "
      "consecutive_failures = CASE WHEN ?5 = 1 THEN 0 ELSE consecutive_failures END, "
      "disabled_reason = CASE WHEN ?5 = 1 THEN NULL ELSE disabled_reason END, "
      "updated_at = ?6, version = version + 1 WHERE id = ?1",
      params, NULL);
  json_decref(params);
  if (rc == 0) rc = load(tx, id, &row);
  if (rc) return rc;
  wh_endpoints_changed();
  wh_api->respond(req, 200, endpoint_json(row));
  json_decref(row);
  return 0;
}

static int delete_one(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  json_t *params = json_pack("[s]", wh_api->request_param(req, 0));
  int64_t changes = 0;
  int rc = wh_api->exec(tx, "DELETE FROM webhooks_endpoints WHERE id = ?1", params, &changes);
  json_decref(params);
  if (rc) return rc;
  if (changes == 0) return not_found(req);
  wh_endpoints_changed();
  wh_api->respond(req, 204, NULL);
  return 0;
}

/* A new secret signs from now on; the old one keeps signing (a second signature) for the
 * grace period, so receivers can switch without dropping a message. */
static int rotate(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  const char *id = wh_api->request_param(req, 0);
  const json_t *grace = json_object_get(wh_api->request_body(req), "grace_seconds");
  json_int_t grace_ms = (grace ? json_integer_value(grace) : 86400) * 1000;
  char secret[WH_SECRET_MAX];
  wh_secret_new(secret);
  json_int_t now = wh_api->now_ms();
  json_t *params = json_pack("[s,s,I,I]", id, secret, now + grace_ms, now);
  int64_t changes = 0;
  int rc = wh_api->exec(tx,
                        "UPDATE webhooks_endpoints SET previous_secret = CASE WHEN ?3 > ?4 THEN secret END, "
                        "previous_expires_at = CASE WHEN ?3 > ?4 THEN ?3 END, secret = ?2, updated_at = ?4, "
                        "version = version + 1 WHERE id = ?1",
                        params, &changes);
  json_decref(params);
  if (rc) return rc;
  if (changes == 0) return not_found(req);
  json_t *row = NULL;
  if ((rc = load(tx, id, &row)) != 0) return rc;
  json_t *out = endpoint_json(row);
  json_decref(row);
  json_object_set_new(out, "secret", json_string(secret));
  wh_endpoints_changed();
  wh_api->respond(req, 200, out);
  return 0;
}

int wh_register_routes(void) {
  static const struct {
    td_route_spec_t spec;
    td_route_fn fn;
  } routes[] = {
      {{"POST", "/endpoints", TD_PLUGIN_ROUTE_WRITE, TD_PLUGIN_ROUTE_ADMIN, "WebhookEndpointCreate"}, create},
      {{"GET", "/endpoints", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_ADMIN, NULL}, list},
      {{"GET", "/endpoints/{id}", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_ADMIN, NULL}, get_one},
      {{"PATCH", "/endpoints/{id}", TD_PLUGIN_ROUTE_WRITE, TD_PLUGIN_ROUTE_ADMIN, "WebhookEndpointUpdate"},
       update},
      {{"DELETE", "/endpoints/{id}", TD_PLUGIN_ROUTE_WRITE, TD_PLUGIN_ROUTE_ADMIN, NULL}, delete_one},
      {{"POST", "/endpoints/{id}/rotate-secret", TD_PLUGIN_ROUTE_WRITE, TD_PLUGIN_ROUTE_ADMIN,
        "WebhookRotate"},
       rotate},
  };
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    int rc = wh_api->register_route(wh_self, &routes[i].spec, routes[i].fn, NULL);
    if (rc) return rc;
  }
  return 0;
}
