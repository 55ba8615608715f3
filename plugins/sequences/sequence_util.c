/* Small helpers the sequence parts share: times as RFC 3339, the durable key/value state, the
 * candidate as a condition sees it, business days in a person's time zone, and the ETag and
 * If-Match conventions of the core (shared with templates). */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sequence_int.h"

int seq_state_get(td_tx_t *tx, const char *key, char *out, size_t out_size) {
  json_t *rows = NULL, *params = json_pack("[s]", key);
  int rc = sq_api->query(tx, "SELECT value FROM sequences_state WHERE key = ?1", params, &rows);
  json_decref(params);
  out[0] = '\0';
  const char *v = json_string_value(json_object_get(json_array_get(rows, 0), "value"));
  if (rc == 0 && v) snprintf(out, out_size, "%s", v);
  json_decref(rows);
  return rc;
}

int seq_state_set(td_tx_t *tx, const char *key, const char *value) {
  json_t *params = json_pack("[s,s?,I]", key, value, (json_int_t)sq_api->now_ms());
  int rc =
      sq_api->exec(tx,
                   "INSERT INTO sequences_state (key, value, updated_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                   params, NULL);
  json_decref(params);
  return rc;
}

json_t *seq_candidate_ctx(td_tx_t *tx, const char *candidate_id) {
  json_t *rows = NULL, *params = json_pack("[s]", candidate_id);
  int rc = sq_api->query(tx, "SELECT id, tags, source, custom_fields, owner_id FROM candidates WHERE id = ?1",
                         params, &rows);
  json_decref(params);
  json_t *row = json_array_get(rows, 0);
  if (rc || row == NULL) {
    json_decref(rows);
    return NULL;
  }
  json_t *tags = json_loads(json_string_value(json_object_get(row, "tags")), 0, NULL);
  json_t *fields = json_loads(json_string_value(json_object_get(row, "custom_fields")), 0, NULL);
  json_t *out = json_pack("{s:O,s:o,s:O,s:o,s:O}", "id", json_object_get(row, "id"), "tags",
                          json_is_array(tags) ? tags : (json_decref(tags), json_array()), "source",
                          json_object_get(row, "source"), "custom_fields",
                          json_is_object(fields) ? fields : (json_decref(fields), json_object()), "owner_id",
                          json_object_get(row, "owner_id"));
  json_decref(rows);
  return out;
}

#define DAY_MS 86400000LL

int64_t seq_add_business_days(const char *zone, int64_t from_ms, int n) {
  int32_t offset = 0;
  if (zone == NULL || sq_api->tz_offset(zone, from_ms, &offset) != 0) zone = NULL, offset = 0;
  int64_t local = from_ms + (int64_t)offset * 1000;
  int64_t day = local >= 0 ? local / DAY_MS : (local - DAY_MS + 1) / DAY_MS;
  int64_t time_of_day = local - day * DAY_MS;
  while (n > 0) {
    day++;
    int weekday = (int)(((day % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4); 0 = Sunday */
    if (weekday != 0 && weekday != 6) n--;
  }
  int64_t target_local = day * DAY_MS + time_of_day, at = target_local;
  if (zone == NULL || sq_api->tz_to_utc(zone, target_local, &at) != 0) at = target_local;
  return at;
}

int seq_require_recruiter(td_request_t *req) {
  const char *role = sq_api->request_role(req);
  if (role && (strcmp(role, "admin") == 0 || strcmp(role, "recruiter") == 0)) return 0;
  return sq_api->fail(req, 403, "Forbidden", "only admins and recruiters manage sequences and enrollments");
}

#define SQ_ETAG_MAX 32 /* "\"v" + 19 digits + "\"" */

static void etag_of(int64_t version, char out[SQ_ETAG_MAX]) {
  snprintf(out, SQ_ETAG_MAX, "\"v%lld\"", (long long)version);
}

static int etag_set(td_request_t *req, int64_t version) {
  char etag[SQ_ETAG_MAX];
  etag_of(version, etag);
  return sq_api->respond_header(req, "ETag", etag);
}

int sq_object_headers(td_request_t *req, const char *collection, const char *id, int64_t version,
                      int status) {
  int rc = etag_set(req, version);
  if (rc == 0 && status == 201) {
    char location[128];
    snprintf(location, sizeof location, "%s/%s", collection, id);
    rc = sq_api->respond_header(req, "Location", location);
  }
  return rc;
}

int sq_if_match(td_request_t *req, int64_t version) {
  const char *want = sq_api->request_header(req, "If-Match");
  if (want == NULL || strcmp(want, "*") == 0) return 0;
  char etag[SQ_ETAG_MAX];
  etag_of(version, etag);
  /* Same matching as td__call_check_if_match: a list is allowed, a W/ prefix never matches. */
  const char *p = strstr(want, etag);
  if (p && (p == want || p[-1] == ' ' || p[-1] == ',')) return 0;
  sq_api->fail(req, 412, "Precondition failed",
               "the object changed since you read it (If-Match does not match its ETag); "
               "fetch it again and retry");
  return TD_ESTALE;
}
