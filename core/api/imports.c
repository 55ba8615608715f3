/* /api/v1/imports: CSV import of candidates. The body is the CSV file itself (text/csv, up
 * to the upload limit, streamed to a temporary file by the HTTP layer and mapped here); an
 * explicit column mapping comes as repeated ?map=HEADER:FIELD
 * query parameters. READ_THEN_WRITE: the read part (pool thread) parses and maps the file
 * and checks every row against the candidate schema; the write part creates or merges the
 * rows and stores the summary in one transaction, so an import is all there or not at all
 * (rows refused on their own merits are reported, not fatal). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/routes.h"
#include "domain/csv_import.h"
#include "talentd/types.h"
#include "util/mem.h"

/* Rows one API import may hold: the whole import is one write transaction, and the
 * writer serves everyone else's writes too (10,000 new candidates hold it for about 2.5 s).
 * Bigger files: the CLI (which commits in batches), or several requests. */
#define API_MAX_ROWS 10000

static void plan_state_free(void *p) {
  td__import_plan_free(p);
  free(p);
}

/* The mapping from ?map=HEADER:FIELD (split at the last ':'), or NULL with a problem. */
static json_t *query_mapping(td__call_t *call) {
  json_t *mapping = json_object();
  size_t i;
  json_t *v;
  json_array_foreach(td__call_query_all(call, "map"), i, v) {
    if (td__import_mapping_add(mapping, json_string_value(v)) != 0) {
      json_decref(mapping);
      td__problem(call, 400, "Invalid query parameter",
                  "map must be HEADER:FIELD, e.g. map=E-Mail%20privat:emails");
      td__problem_field(call, "/query/map", "must be HEADER:FIELD (FIELD may be empty to ignore the column)");
      return NULL;
    }
  }
  return mapping;
}

static bool is_csv_type(const char *ctype) {
  if (ctype == NULL) return false;
  size_t n = strcspn(ctype, "; ");
  if (!((n == 8 && strncasecmp(ctype, "text/csv", 8) == 0) ||
        (n == 15 && strncasecmp(ctype, "application/csv", 15) == 0)))
    return false;
  const char *charset = strcasestr(ctype, "charset=");
  if (charset == NULL) return true;
  charset += 8;
  if (*charset == '"') charset++;
  return strncasecmp(charset, "utf-8", 5) == 0 || strncasecmp(charset, "utf8", 4) == 0;
}

/* Read part: the file into a plan. */
static int imports_plan(td__call_t *call) {
  if (!is_csv_type(td__http_header(call->req, "content-type")))
    return td__problem(call, 415, "Unsupported media type",
                       "send the file itself as the body with Content-Type: text/csv (UTF-8)");
  json_t *mapping = query_mapping(call);
  if (mapping == NULL) return TD_EINVAL;
  td__import_plan_t *plan = td__xcalloc(1, sizeof *plan);
  call->state = plan;
  call->state_free = plan_state_free;
  td__http_body_view_t body;
  if (td__http_body_map(call->req, &body) != 0) {
    json_decref(mapping);
    return td__problem_internal(call, TD_EIO);
  }
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  int rc = td__import_plan(&ctx, body.data, body.len, mapping, call->app->openapi, API_MAX_ROWS, plan);
  td__http_body_unmap(&body);
  json_decref(mapping);
  return td__call_from_ctx(call, &ctx, rc);
}

/* Write part: every row, then the summary. */
static int imports_apply(td__call_t *call) {
  td__import_plan_t *plan = call->state;
  td__import_summary_t summary = {0};
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *out = NULL;
  int rc = td__import_apply(&ctx, plan, 0, plan->count, &summary);
  if (rc == 0) rc = td__import_record(&ctx, plan, &summary, &out);
  td__import_summary_free(&summary);
  if (td__call_from_ctx(call, &ctx, rc) != 0) return TD_EINVAL;
  const char *id = json_string_value(json_object_get(out, "id"));
  td__call_set_location(call, "/api/v1/imports", id);
  td__call_audit(call, "import", id);
  td__call_set_result(call, 201, out);
  return 0;
}

static int imports_get(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *out = NULL;
  int rc = td__import_get(&ctx, call->params[0], &out);
  if (td__call_from_ctx(call, &ctx, rc) != 0) return TD_EINVAL;
  td__call_set_result(call, 200, out);
  return 0;
}

static int list_imports(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items, int64_t *next) {
  (void)arg;
  return td__import_list(ctx, limit, after, items, next);
}

static int imports_list(td__call_t *call) { return td__call_list(call, list_imports, NULL); }

const td__route_t td__routes_imports[] = {
    {"POST", "/api/v1/imports", TD_RUN_READ_THEN_WRITE, imports_plan, imports_apply, NULL, TD_ROUTE_UPLOAD},
    {"GET", "/api/v1/imports", TD_RUN_READ, imports_list, NULL, NULL, 0},
    {"GET", "/api/v1/imports/{id}", TD_RUN_READ, imports_get, NULL, NULL, 0},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
