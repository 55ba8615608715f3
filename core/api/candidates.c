/* /api/v1/candidates: create (with duplicate detection), read, update, erase, merge, list
 * and ranked search, export, and a candidate's notes and activity history. Handlers only
 * decode and encode; the rules live in domain/candidates.c, domain/notes.c and
 * domain/search.c.
 *
 * Cursors: a plain list is ordered by rowid (newest first) and its cursor is a rowid; a
 * search (?q=) is ordered by rank and its cursor is an offset, encoded at or above
 * SEARCH_CURSOR_BASE so that the two kinds are told apart and never mixed up. */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "domain/candidate_export.h"
#include "domain/candidates.h"
#include "domain/notes.h"
#include "domain/search.h"
#include "talentd/types.h"
#include "util/time.h"

#define SEARCH_CURSOR_BASE (INT64_C(1) << 52)

static void respond_candidate(td__call_t *call, int status, json_t *c /* taken */) {
  td__call_set_etag(call, json_integer_value(json_object_get(c, "version")));
  td__call_set_result(call, status, c);
}

/* POST /candidates[?on_duplicate=reject|merge] */
static int candidates_create(td__call_t *call) {
  const char *on_duplicate = td__call_query(call, "on_duplicate");
  if (on_duplicate && strcmp(on_duplicate, "merge") != 0 && strcmp(on_duplicate, "reject") != 0)
    return td__problem_query(call, "on_duplicate", "must be reject or merge");
  bool merge = on_duplicate && strcmp(on_duplicate, "merge") == 0;
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *out = NULL;
  bool created = false;
  int rc = td__call_from_ctx(call, &ctx, td__candidate_create(&ctx, call->body, merge, &out, &created));
  if (rc) return rc;
  const char *id = json_string_value(json_object_get(out, "id"));
  td__call_set_location(call, "/api/v1/candidates", id);
  td__call_audit(call, "candidate", id);
  respond_candidate(call, created ? 201 : 200, out);
  return 0;
}

static int candidates_get(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *out = NULL;
  int rc = td__call_from_ctx(call, &ctx, td__candidate_get(&ctx, call->params[0], &out));
  if (rc) return rc;
  respond_candidate(call, 200, out);
  return 0;
}

/* Resolves the path's candidate and applies If-Match against its current version. */
static int find_for_write(td__call_t *call, td__ctx_t *ctx, td__candidate_ref_t *ref) {
  int rc = td__candidate_find(ctx, call->params[0], ref);
  return td__call_lookup_if_match(call, ctx, rc, rc == 0 ? ref->version : 0);
}

static int candidates_update(td__call_t *call) {
  td__ctx_t ctx;
  td__candidate_ref_t ref;
  td__call_ctx(call, &ctx);
  int rc = find_for_write(call, &ctx, &ref);
  if (rc) return rc;
  json_t *out = NULL;
  rc = td__call_from_ctx(call, &ctx, td__candidate_update(&ctx, ref.id, call->body, ref.version, &out));
  if (rc) return rc;
  td__call_audit(call, "candidate", ref.id);
  respond_candidate(call, 200, out);
  return 0;
}

static int candidates_delete(td__call_t *call) {
  td__ctx_t ctx;
  td__candidate_ref_t ref;
  td__call_ctx(call, &ctx);
  int rc = find_for_write(call, &ctx, &ref);
  if (rc) return rc;
  rc = td__call_from_ctx(call, &ctx, td__candidate_delete(&ctx, ref.id, ref.version));
  if (rc) return rc;
  td__call_audit(call, "candidate", ref.id);
  call->status = 204;
  return 0;
}

static int candidates_merge(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *out = NULL;
  int rc = td__call_from_ctx(
      call, &ctx, td__candidate_merge(&ctx, call->params[0], td__body_str(call, "duplicate_id"), &out));
  if (rc) return rc;
  td__call_audit(call, "candidate", json_string_value(json_object_get(out, "id")));
  respond_candidate(call, 200, out);
  return 0;
}

/* ?q= &tag= (repeatable) &source= &updated_since= */
static int filter_from_query(td__call_t *call, td__candidate_filter_t *f) {
  *f = (td__candidate_filter_t){.q = td__call_query(call, "q"),
                                .tags = td__call_query_all(call, "tag"),
                                .source = td__call_query(call, "source")};
  const char *since = td__call_query(call, "updated_since");
  if (since && td__time_parse(since, &f->updated_since) != 0)
    return td__problem_query(call, "updated_since",
                             "must be an RFC 3339 time, for example 2024-05-01T00:00:00Z");
  if (since && f->updated_since == 0) f->updated_since = 1; /* the epoch itself still filters */
  return 0;
}

typedef struct page_state {
  td__ctx_t *ctx;
  json_t *items;
  int limit;
  int64_t last_rowid;
  bool more;
} page_state_t;

static int page_row(td__stmt_t *st, void *arg) {
  page_state_t *p = arg;
  if ((int)json_array_size(p->items) == p->limit) {
    p->more = true;
    return 1;
  }
  p->last_rowid = td__stmt_int(st, 0);
  json_array_append_new(p->items, td__candidate_row_json(p->ctx, st));
  return 0;
}

static int candidates_list(td__call_t *call) {
  int limit;
  int64_t after;
  td__candidate_filter_t f;
  if (td__call_page(call, &limit, &after) || filter_from_query(call, &f)) return TD_EINVAL;
  bool ranked = td__candidate_filter_ranked(&f);
  /* A cursor of the other kind (list vs search) is refused rather than misread. */
  if (after && ranked != (after >= SEARCH_CURSOR_BASE))
    return td__problem_query(call, "cursor", "belongs to a different query; start again without it");
  int64_t position = ranked && after ? after - SEARCH_CURSOR_BASE : after;
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  page_state_t p = {.ctx = &ctx, .items = json_array(), .limit = limit};
  int rc = td__candidate_query(&ctx, &f, position, limit + 1, page_row, &p, NULL);
  if (rc == 1) rc = 0;
  if ((rc = td__call_from_ctx(call, &ctx, rc))) {
    json_decref(p.items);
    return rc;
  }
  json_t *next = NULL;
  /* Ranked results end at the search depth limit rather than offer a cursor that fails. */
  if (p.more && ranked && position + limit <= TD_SEARCH_MAX_OFFSET)
    next = td__cursor_json(SEARCH_CURSOR_BASE + position + limit);
  else if (p.more && !ranked)
    next = td__cursor_json(p.last_rowid);
  td__call_set_page(call, p.items, next);
  return 0;
}

static int candidates_export(td__call_t *call) {
  td__candidate_filter_t f;
  if (filter_from_query(call, &f)) return TD_EINVAL;
  const char *format = td__call_query(call, "format");
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  td__buf_t out = {0};
  bool truncated = false;
  int rc = td__call_from_ctx(call, &ctx, td__candidate_export(&ctx, &f, format, &out, &truncated));
  if (rc) {
    td__buf_free(&out);
    return rc;
  }
  bool json = format && strcmp(format, "json") == 0;
  call->raw_len = out.len;
  call->raw_body = td__buf_take(&out);
  call->raw_type = json ? "application/json" : "text/csv; charset=utf-8";
  td__http_header_add(
      &call->headers, "Content-Disposition",
      json ? "attachment; filename=\"candidates.json\"" : "attachment; filename=\"candidates.csv\"");
  td__http_header_add(&call->headers, "X-Export-Truncated", truncated ? "true" : "false");
  call->status = 200;
  return 0;
}

static int notes_create(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *out = NULL;
  int rc = td__call_from_ctx(call, &ctx, td__note_create(&ctx, call->params[0], call->body, &out));
  if (rc) return rc;
  td__call_audit(call, "note", json_string_value(json_object_get(out, "id")));
  td__call_set_result(call, 201, out);
  return 0;
}

/* The candidate's history, newest first (after is a rowid to continue below), optionally
 * of one ?kind=. arg is the call; the candidate is its path parameter. */
static int list_activities(td__ctx_t *ctx, void *arg, int limit, int64_t before, json_t **items,
                           int64_t *next) {
  td__call_t *call = arg;
  return td__activity_list(ctx, call->params[0], td__call_query(call, "kind"), limit, before, items, next);
}

static int activities_list(td__call_t *call) { return td__call_list(call, list_activities, call); }

/* Literal paths come before {id} ones: the router takes the first match. */
const td__route_t td__routes_candidates[] = {
    {"POST", "/api/v1/candidates", TD_RUN_WRITE, candidates_create, NULL, "CandidateCreate", 0},
    {"GET", "/api/v1/candidates", TD_RUN_READ, candidates_list, NULL, NULL, 0},
    {"GET", "/api/v1/candidates/export", TD_RUN_READ, candidates_export, NULL, NULL, TD_ROUTE_AUDIT_READ},
    {"GET", "/api/v1/candidates/{id}", TD_RUN_READ, candidates_get, NULL, NULL, 0},
    {"PATCH", "/api/v1/candidates/{id}", TD_RUN_WRITE, candidates_update, NULL, "CandidatePatch", 0},
    {"DELETE", "/api/v1/candidates/{id}", TD_RUN_WRITE, candidates_delete, NULL, NULL, 0},
    {"POST", "/api/v1/candidates/{id}/merge", TD_RUN_WRITE, candidates_merge, NULL, "CandidateMerge", 0},
    {"POST", "/api/v1/candidates/{id}/notes", TD_RUN_WRITE, notes_create, NULL, "NoteCreate", 0},
    {"GET", "/api/v1/candidates/{id}/activities", TD_RUN_READ, activities_list, NULL, NULL, 0},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
