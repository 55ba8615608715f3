/* /api/v1/templates: email templates with merge fields. A field outside the closed list
 * (merge.c) is refused when the template is saved, with a 422 naming the part and the field;
 * preview renders a template for one candidate without sending anything. Admins and
 * recruiters write; every signed-in user reads. Like the core's objects, a template carries
 * an ETag (its version) and PATCH and DELETE honour If-Match (412 when stale). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_int.h"
#include "sequence_int.h" /* sq_object_headers, sq_if_match */

#define COLUMNS "id, name, subject, body_text, body_html, created_by, created_at, updated_at, version"
#define PAGE_MAX 100

static json_t *template_json(const json_t *row) {
  return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:o,s:o,s:O}", "id", json_object_get(row, "id"), "name",
                   json_object_get(row, "name"), "subject", json_object_get(row, "subject"), "body_text",
                   json_object_get(row, "body_text"), "body_html", json_object_get(row, "body_html"),
                   "created_by", json_object_get(row, "created_by"), "created_at",
                   sq_time_json(json_object_get(row, "created_at")), "updated_at",
                   sq_time_json(json_object_get(row, "updated_at")), "version",
                   json_object_get(row, "version"));
}

int sq_template_load(td_tx_t *tx, const char *id, json_t **row) {
  json_t *rows = NULL, *params = json_pack("[s]", id ? id : "");
  int rc = sq_api->query(tx, "SELECT " COLUMNS " FROM sequences_templates WHERE id = ?1", params, &rows);
  json_decref(params);
  if (rc) return rc;
  *row = json_incref(json_array_get(rows, 0));
  json_decref(rows);
  return *row ? 0 : TD_ENOTFOUND;
}

/* The member, or JSON null when absent (borrowed either way). */
static json_t *or_null(const json_t *body, const char *key) {
  json_t *v = json_object_get(body, key);
  return v ? v : json_null();
}

static int not_found(td_request_t *req) { return sq_api->fail(req, 404, "Not found", "no such template"); }

static bool may_write(td_request_t *req) {
  const char *role = sq_api->request_role(req);
  return role && (strcmp(role, "admin") == 0 || strcmp(role, "recruiter") == 0);
}

static int forbidden(td_request_t *req) {
  return sq_api->fail(req, 403, "Forbidden",
                      "only admins and recruiters manage email templates and send email");
}

/* Checks the merge fields of each part present in body; fails the request naming the first bad one. */
static int check_parts(td_request_t *req, const json_t *body) {
  static const char *const parts[] = {"subject", "body_text", "body_html", NULL};
  for (size_t i = 0; parts[i]; i++) {
    char why[512], pointer[32];
    if (sq_merge_check(json_string_value(json_object_get(body, parts[i])), why, sizeof why) == 0) continue;
    snprintf(pointer, sizeof pointer, "/%s", parts[i]);
    return sq_api->fail_field(req, pointer, why);
  }
  return 0;
}

/* Answers with the template as it is in tx, its ETag, and on creation its Location. */
static int respond_row(td_request_t *req, td_tx_t *tx, const char *id, int status) {
  json_t *row = NULL;
  int rc = sq_template_load(tx, id, &row);
  if (rc) return rc;
  rc = sq_object_headers(req, "/api/v1/templates", id, json_integer_value(json_object_get(row, "version")),
                         status);
  if (rc) {
    json_decref(row);
    return rc;
  }
  sq_api->respond(req, status, template_json(row));
  json_decref(row);
  return 0;
}

static int create(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (!may_write(req)) return forbidden(req);
  const json_t *body = sq_api->request_body(req);
  if (check_parts(req, body)) return TD_EINVAL;
  char id[TD_PLUGIN_ID_MAX];
  sq_api->new_id("tpl", id);
  json_int_t now = sq_api->now_ms();
  json_t *params =
      json_pack("[s,O,O,O,O,s?,I]", id, json_object_get(body, "name"), json_object_get(body, "subject"),
                json_object_get(body, "body_text"),
                json_object_get(body, "body_html") ? json_object_get(body, "body_html") : json_null(),
                sq_api->request_user_id(req), now);
  int rc =
      sq_api->exec(tx,
                   "INSERT INTO sequences_templates (id, name, subject, body_text, body_html, created_by, "
                   "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                   params, NULL);
  json_decref(params);
  return rc ? rc : respond_row(req, tx, id, 201);
}

static int list(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  const char *limit_q = sq_api->request_query(req, "limit"), *cursor = sq_api->request_query(req, "cursor");
  long limit = limit_q ? strtol(limit_q, NULL, 10) : 50;
  if (limit < 1 || limit > PAGE_MAX) return sq_api->fail_field(req, "/limit", "must be between 1 and 100");
  json_int_t after = cursor ? (json_int_t)strtoll(cursor, NULL, 10) : 0;
  json_t *rows = NULL, *params = json_pack("[I,i]", after, (int)limit + 1);
  int rc = sq_api->query(
      tx, "SELECT rowid, " COLUMNS " FROM sequences_templates WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
      params, &rows);
  json_decref(params);
  if (rc) return rc;
  sq_answer_page(req, rows, limit, template_json);
  json_decref(rows);
  return 0;
}

static int get_one(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  int rc = respond_row(req, tx, sq_api->request_param(req, 0), 200);
  return rc == TD_ENOTFOUND ? not_found(req) : rc;
}

/* The stored template's existence (404) and the If-Match precondition (412), in the write
 * transaction, so nothing can change between the check and the write. Returns 0 to go on. */
static int check_current(td_request_t *req, td_tx_t *tx, const char *id) {
  json_t *row = NULL;
  int rc = sq_template_load(tx, id, &row);
  if (rc == TD_ENOTFOUND) return not_found(req);
  if (rc) return rc;
  json_int_t version = json_integer_value(json_object_get(row, "version"));
  json_decref(row);
  return sq_if_match(req, version);
}

/* PATCH: name, subject, body_text, body_html (null removes the HTML part); If-Match, when
 * given, must name the current ETag. */
static int update(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (!may_write(req)) return forbidden(req);
  const char *id = sq_api->request_param(req, 0);
  const json_t *body = sq_api->request_body(req);
  int rc = check_current(req, tx, id);
  if (rc) return rc;
  if (check_parts(req, body)) return TD_EINVAL;
  const json_t *html = json_object_get(body, "body_html");
  json_t *params = json_pack("[s,O,O,O,O,i,I]", id, or_null(body, "name"), or_null(body, "subject"),
                             or_null(body, "body_text"), html ? html : json_null(), html != NULL,
                             (json_int_t)sq_api->now_ms());
  rc = sq_api->exec(
      tx,
      "UPDATE sequences_templates SET name = coalesce(?2, name), subject = coalesce(?3, subject), "
      "body_text = coalesce(?4, body_text), body_html = CASE WHEN ?6 THEN ?5 ELSE body_html END, "
      "updated_at = ?7, version = version + 1 WHERE id = ?1",
      params, NULL);
  json_decref(params);
  return rc ? rc : respond_row(req, tx, id, 200);
}

static int delete_one(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (!may_write(req)) return forbidden(req);
  const char *id = sq_api->request_param(req, 0);
  int rc = check_current(req, tx, id);
  if (rc) return rc;
  json_t *params = json_pack("[s]", id);
  rc = sq_api->exec(tx, "DELETE FROM sequences_templates WHERE id = ?1", params, NULL);
  json_decref(params);
  if (rc) return rc;
  sq_api->respond(req, 204, NULL);
  return 0;
}

/* Renders one part; a failure fills why. */
static char *render_part(const char *text, const json_t *values, int mode) {
  sq_buf_t out = {0};
  if (sq_merge_render(text, values, mode, &out) != 0) {
    sq_buf_free(&out);
    return NULL;
  }
  return sq_buf_take(&out);
}

/* POST /templates/{id}/preview {"candidate_id","job_id"?}: the rendered parts, nothing sent.
 * It only reads (the template, the candidate, the job, the sender), so it runs on a reader
 * thread as a query POST and never waits for the writer. */
static int preview(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (!may_write(req)) return forbidden(req); /* it shows a candidate's name and address */
  const json_t *body = sq_api->request_body(req);
  json_t *row = NULL, *values = NULL;
  int rc = sq_template_load(tx, sq_api->request_param(req, 0), &row);
  if (rc == TD_ENOTFOUND) return not_found(req);
  if (rc) return rc;
  char why[256], url[512];
  const sq_mail_config_t *c = sq_mail_config();
  snprintf(url, sizeof url, "%s/api/v1/email/unsubscribe/preview",
           c->public_base_url ? c->public_base_url : "");
  rc = sq_merge_values(tx, json_string_value(json_object_get(body, "candidate_id")),
                       json_string_value(json_object_get(body, "job_id")), sq_api->request_user_id(req), url,
                       &values, why, sizeof why);
  if (rc) {
    json_decref(row);
    return sq_api->fail_field(req, strstr(why, "job") ? "/job_id" : "/candidate_id", why);
  }
  char *subject = render_part(json_string_value(json_object_get(row, "subject")), values, SQ_MERGE_TEXT);
  char *text = render_part(json_string_value(json_object_get(row, "body_text")), values, SQ_MERGE_TEXT);
  const char *html_src = json_string_value(json_object_get(row, "body_html"));
  char *html = html_src ? render_part(html_src, values, SQ_MERGE_HTML) : NULL;
  char clean[1024];
  sq_header_clean(subject ? subject : "", clean, sizeof clean);
  sq_api->respond(req, 200,
                  json_pack("{s:O,s:s,s:s,s:s?}", "to", json_object_get(values, "candidate.email"), "subject",
                            clean, "body_text", text ? text : "", "body_html", html));
  free(subject), free(text), free(html);
  json_decref(values);
  json_decref(row);
  return 0;
}

int sq_template_routes(void) {
  static const struct {
    td_route_spec_t spec;
    td_route_fn fn;
  } routes[] = {
      {{"POST", "/templates", TD_PLUGIN_ROUTE_WRITE, 0, "SequencesTemplateCreate"}, create},
      {{"GET", "/templates", TD_PLUGIN_ROUTE_READ, 0, NULL}, list},
      {{"GET", "/templates/{id}", TD_PLUGIN_ROUTE_READ, 0, NULL}, get_one},
      {{"PATCH", "/templates/{id}", TD_PLUGIN_ROUTE_WRITE, 0, "SequencesTemplatePatch"}, update},
      {{"DELETE", "/templates/{id}", TD_PLUGIN_ROUTE_WRITE, 0, NULL}, delete_one},
      {{"POST", "/templates/{id}/preview", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_QUERY,
        "SequencesTemplatePreview"},
       preview},
  };
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    int rc = sq_api->register_route(sq_self, &routes[i].spec, routes[i].fn, NULL);
    if (rc) return rc;
  }
  return 0;
}
