/* crm: talent pools and segments (issue 5). Declarations shared by the plugin's files: the
 * host table, the caller check every route makes, paging, times, and the route tables of
 * pools.c, members.c, convert.c and segments.c. */
#ifndef CRM_H
#define CRM_H

#include <stddef.h>
#include <stdint.h>
#include <talentd/plugin.h>

#define CRM_PAGE_DEFAULT 50
#define CRM_PAGE_MAX 100
#define CRM_BULK_MAX 1000           /* candidate ids per POST /pools/{id}/members */
#define CRM_SEGMENT_ADD_MAX 10000   /* members a segment may bring into a pool in one call */
#define CRM_POOL_NAME_MAX_BYTES 190 /* "pool:<name>" must fit an application source (200) */

extern const td_host_api_t *crm_api;
extern td_plugin_t *crm_self;

/* Lets admins and recruiters through (returns 0); answers 401 or 403 otherwise and returns
 * TD_EDENIED. Hiring managers and interviewers never see pools or segments: members lists
 * would show people outside their jobs. */
int crm_guard(td_request_t *req);

/* Reads ?limit (1..100, default 50) and ?cursor (a rowid this plugin issued; 0 when absent).
 * Answers 400 and returns TD_EINVAL on a bad one. */
int crm_page(td_request_t *req, int *limit, int64_t *after);

/* The page envelope {"data": items, "next_cursor": "<rowid>" or null} (items stolen). */
json_t *crm_page_json(json_t *items, int has_more, int64_t last_rowid);

/* A page of rows (a query's result for limit + 1 rows, borrowed): the first limit rows through
 * to_json, and a next_cursor (their last "rowid") when there was one more. New reference. */
json_t *crm_page_rows(const json_t *rows, int limit, json_t *(*to_json)(const json_t *row));

/* The ETag of an object at version: "\"v<version>\"", the core's format (api/call.c). */
void crm_set_etag(td_request_t *req, int64_t version);

/* The core's If-Match rule for a write on an object at version: no If-Match or "*" passes; so
 * does a list holding "\"v<version>\"" (a weak W/ tag never matches, RFC 9110 13.1.1). Else
 * answers 412 with the core's problem and returns TD_ESTALE. */
int crm_check_if_match(td_request_t *req, int64_t version);

/* Sets Location: <collection>/<id> for a 201 ("/api/v1/pools"). */
void crm_set_location(td_request_t *req, const char *collection, const char *id);

/* Epoch ms (a JSON integer, borrowed) -> RFC 3339 UTC string, or null. New reference. */
json_t *crm_time_json(const json_t *ms);

/* RFC 3339 ("2026-01-31T12:00:00Z", optional fraction, Z or +hh:mm) -> epoch ms. 0 or -1. */
int crm_parse_time(const char *s, int64_t *out);

/* Answers a refusal of api->act (code, why) as the same kind of problem: 422 (naming the field
 * when why starts with one, "/job_id ..."), 404, 403, 409. */
int crm_fail_act(td_request_t *req, int code, const char *why);

/* The first row of a query, or NULL (new reference). Returns 0, TD_ENOTFOUND or the error. */
int crm_query_one(td_tx_t *tx, const char *sql, const json_t *params, json_t **row);

/* A 404 problem for the named thing ("pool", "segment", "member of this pool"), worded like
 * the core's. Returns TD_EINVAL. */
int crm_not_found(td_request_t *req, const char *what);

/* The pool with this id for a route: its row {rowid, id, name, steps (JSON text)} (new
 * reference). Answers 404 and returns TD_EINVAL when there is none. */
int crm_pool_find(td_request_t *req, td_tx_t *tx, const char *id, json_t **pool);

/* One member of a pool as API JSON, read again from the database (new reference in *out).
 * Returns 0, TD_ENOTFOUND or the query's error. */
int crm_member_load(td_tx_t *tx, int64_t pool_rowid, const char *candidate_id, json_t **out);

/* POST /pools/{id}/members (member_add.c). */
int crm_add_members(td_request_t *req, td_tx_t *tx, void *data);

/* A route and its handler, for crm_register_routes. */
typedef struct crm_route {
  td_route_spec_t spec;
  td_route_fn fn;
  const void *data; /* the handler's data (static) */
} crm_route_t;

/* Registers count routes (in init). Returns 0 or the first registration's error. */
int crm_register_routes(const crm_route_t *routes, size_t count);

/* Route registration, one per file. */
int crm_pools_register(void);
int crm_members_register(void);
int crm_convert_register(void);
int crm_segments_register(void);

/* Offers "crm.segments" (talentd/segments.h) to other plugins; in init (segment_api.c). */
int crm_segments_service_init(void);

#endif
