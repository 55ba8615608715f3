/* crm: talent pools and segments (issue 5; see README.md). The entry point, the caller check
 * and the small helpers every route shares (paging, times, problems). Routes live in
 * pools.c, members.c, convert.c and segments.c; segment SQL in segment_sql.c. */
#define _DEFAULT_SOURCE /* timegm, gmtime_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm.h"

const td_host_api_t *crm_api;
td_plugin_t *crm_self;

int crm_guard(td_request_t *req) {
  const char *role = crm_api->request_role(req);
  if (role == NULL) {
    crm_api->fail(req, 401, "Unauthorized", "sign in to use talent pools and segments");
    return TD_EDENIED;
  }
  if (strcmp(role, "admin") == 0 || strcmp(role, "recruiter") == 0) return 0;
  crm_api->fail(req, 403, "Forbidden", "talent pools and segments are for admins and recruiters");
  return TD_EDENIED;
}

static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out) {
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end != '\0' || v < min || v > max) return -1;
  *out = (int64_t)v;
  return 0;
}

/* The core's problem for a bad query parameter (400, detail "<name> <message>", and an error
 * whose pointer is /query/<name>): fail sets the 400, fail_field adds to the same problem. */
static int fail_query(td_request_t *req, const char *name, const char *message) {
  char detail[160], pointer[64];
  snprintf(detail, sizeof detail, "%s %s", name, message);
  snprintf(pointer, sizeof pointer, "/query/%s", name);
  crm_api->fail(req, 400, "Invalid query parameter", detail);
  return crm_api->fail_field(req, pointer, message);
}

int crm_page(td_request_t *req, int *limit, int64_t *after) {
  const char *l = crm_api->request_query(req, "limit"), *c = crm_api->request_query(req, "cursor");
  int64_t v = CRM_PAGE_DEFAULT;
  if (l && parse_int(l, 1, CRM_PAGE_MAX, &v) != 0)
    return fail_query(req, "limit", "must be an integer from 1 to 100");
  *limit = (int)v;
  *after = 0;
  if (c && *c && parse_int(c, 1, INT64_MAX, after) != 0)
    return fail_query(req, "cursor", "is not one this server issued; use next_cursor of the previous page");
  return 0;
}

json_t *crm_page_json(json_t *items, int has_more, int64_t last_rowid) {
  char cursor[32];
  snprintf(cursor, sizeof cursor, "%lld", (long long)last_rowid);
  return json_pack("{s:o,s:o}", "data", items, "next_cursor", has_more ? json_string(cursor) : json_null());
}

json_t *crm_page_rows(const json_t *rows, int limit, json_t *(*to_json)(const json_t *row)) {
  json_t *items = json_array();
  size_t n = json_array_size(rows);
  int64_t last = 0;
  for (size_t i = 0; i < n && i < (size_t)limit; i++) {
    const json_t *row = json_array_get(rows, i);
    json_array_append_new(items, to_json(row));
    last = json_integer_value(json_object_get(row, "rowid"));
  }
  return crm_page_json(items, n > (size_t)limit, last);
}

void crm_set_etag(td_request_t *req, int64_t version) {
  char etag[40];
  snprintf(etag, sizeof etag, "\"v%lld\"", (long long)version);
  crm_api->respond_header(req, "ETag", etag);
}

int crm_check_if_match(td_request_t *req, int64_t version) {
  const char *want = crm_api->request_header(req, "If-Match");
  if (want == NULL || strcmp(want, "*") == 0) return 0;
  char etag[40];
  snprintf(etag, sizeof etag, "\"v%lld\"", (long long)version);
  const char *p = strstr(want, etag);
  if (p && (p == want || p[-1] == ' ' || p[-1] == ',')) return 0;
  crm_api->fail(req, 412, "Precondition failed",
                "the object changed since you read it (If-Match does not match its ETag); "
                "fetch it again and retry");
  return TD_ESTALE;
}

void crm_set_location(td_request_t *req, const char *collection, const char *id) {
  char location[192];
  snprintf(location, sizeof location, "%s/%s", collection, id);
  crm_api->respond_header(req, "Location", location);
}

json_t *crm_time_json(const json_t *ms) {
  if (!json_is_integer(ms)) return json_null();
  char buf[32];
  crm_api->time_format(json_integer_value(ms), buf);
  return json_string(buf);
}


/* Whether s starts with the fixed shape "dddd-dd-ddTdd:dd:dd" (sscanf alone would also take
 * signs, spaces and short fields). */
static int time_shape(const char *s) {
  static const char shape[] = "dddd-dd-ddTdd:dd:dd";
  for (size_t i = 0; i < sizeof shape - 1; i++) {
    char c = s[i];
    if (shape[i] == 'd'   ? (c < '0' || c > '9')
        : shape[i] == 'T' ? (c != 'T' && c != 't' && c != ' ')
                          : c != shape[i])
      return 0;
  }
  return 1;
}

int crm_parse_time(const char *s, int64_t *out) {
  /* The exact shape first (the core's parser is lenient about dates alone), then the core's
   * own RFC 3339 reading, so a segment's times mean what the REST API's do. */
  if (strlen(s) > 40 || !time_shape(s)) return -1;
  return crm_api->time_parse(s, out) == 0 ? 0 : -1;
}

int crm_fail_act(td_request_t *req, int code, const char *why) {
  const char *detail = why && why[0] ? why : "the server refused the action";
  const char *space = strchr(detail, ' ');
  if (code == TD_EINVAL && detail[0] == '/' && space && space - detail < 64) {
    /* "/job_id no job with that id exists": the core named the field; name it too. */
    char pointer[64];
    snprintf(pointer, sizeof pointer, "%.*s", (int)(space - detail), detail);
    return crm_api->fail_field(req, pointer, space + 1);
  }
  switch (code) {
    case TD_ENOTFOUND: return crm_api->fail(req, 404, "Not found", detail);
    case TD_EDENIED: return crm_api->fail(req, 403, "Forbidden", detail);
    case TD_ECONFLICT: return crm_api->fail(req, 409, "Conflict", detail);
    case TD_EINVAL: return crm_api->fail(req, 422, "Invalid request", detail);
    default: return crm_api->fail(req, 500, "Internal error", "the action failed; see the server log");
  }
}

int crm_query_one(td_tx_t *tx, const char *sql, const json_t *params, json_t **row) {
  json_t *rows = NULL;
  *row = NULL;
  int rc = crm_api->query(tx, sql, params, &rows);
  if (rc) return rc;
  *row = json_incref(json_array_get(rows, 0));
  json_decref(rows);
  return *row ? 0 : TD_ENOTFOUND;
}

int crm_not_found(td_request_t *req, const char *what) {
  char detail[128];
  snprintf(detail, sizeof detail, "no %s with that id exists", what);
  return crm_api->fail(req, 404, "Not found", detail);
}

int crm_register_routes(const crm_route_t *routes, size_t count) {
  for (size_t i = 0; i < count; i++) {
    int rc = crm_api->register_route(crm_self, &routes[i].spec, routes[i].fn, (void *)routes[i].data);
    if (rc) return rc;
  }
  return 0;
}

static int init(td_plugin_t *self, const td_host_api_t *host) {
  crm_self = self;
  crm_api = host;
  /* Needs act (host 0.3), request and response headers (ETag, If-Match, Location) and the
   * core's search sanitizer. */
  if (!TD_HOST_HAS(host, act) || !TD_HOST_HAS(host, respond_header) || !TD_HOST_HAS(host, tx_as))
    return TD_EINVAL;
  int rc = crm_pools_register();
  if (rc == 0) rc = crm_members_register();
  if (rc == 0) rc = crm_convert_register();
  if (rc == 0) rc = crm_segments_register();
  if (rc == 0) rc = crm_segments_service_init();
  return rc;
}

static const td_plugin_descriptor_t descriptor = {
    .abi_major = TD_PLUGIN_ABI_MAJOR,
    .struct_size = sizeof(td_plugin_descriptor_t),
    .name = "crm",
    .version = "0.1.0",
    .init = init,
    .shutdown = NULL,
};

TD_PLUGIN_EXPORT const td_plugin_descriptor_t *talentd_plugin_entry(void);
const td_plugin_descriptor_t *talentd_plugin_entry(void) { return &descriptor; }
