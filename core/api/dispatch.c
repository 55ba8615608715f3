/* From a parsed HTTP request to a response: route, then on the right thread authenticate,
 * decode and validate the body, run the handler (with idempotency and audit for writes),
 * encode; back on the loop, write the response, log and count it. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/idempotency.h"
#include "auth/authn.h"
#include "domain/audit.h"
#include "talentd/types.h"
#include "util/json_limits.h"
#include "util/json_schema.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/metrics.h"
#include "util/time.h"

#define MAX_SCHEMA_ERRORS 20

static void call_free(td__call_t *call) {
  json_decref(call->body);
  json_decref(call->query);
  json_decref(call->result);
  json_decref(call->problem);
  free(call->raw_body);
  free(call->encoded);
  td__buf_free(&call->headers);
  if (call->state && call->state_free) call->state_free(call->state);
  free(call);
}

static bool is_write_method(const char *m) { return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0; }

/* An upload's body is in a file: when the request carries an Idempotency-Key, its digest is
 * taken here, on a worker thread, so the key can tell a retry from another file without the
 * writer thread ever reading the file. */
static int upload_fingerprint(td__call_t *call) {
  const td__http_request_t *req = call->req;
  if (req->body_file.path == NULL || td__http_header(req, "idempotency-key") == NULL) return 0;
  td__http_body_view_t view;
  if (td__http_body_map(req, &view) != 0) return td__problem_internal(call, TD_EIO);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, (const unsigned char *)view.data, view.len);
  td__http_body_unmap(&view);
  sodium_bin2hex(call->body_digest, sizeof call->body_digest, digest, sizeof digest);
  return 0;
}

#define FORM_BODY_MAX 4096

static int validate_body(td__call_t *call);

static bool is_form(const char *ctype) {
  static const char form[] = "application/x-www-form-urlencoded";
  size_t n = sizeof form - 1;
  return ctype && strncasecmp(ctype, form, n) == 0 && (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* A form body (TD_ROUTE_FORM): an object of each name's first value, then the schema. */
static int decode_form(td__call_t *call) {
  const td__http_request_t *req = call->req;
  if (req->body.len > FORM_BODY_MAX)
    return td__problem(call, 413, "Body too large", "a form body on this endpoint may hold at most 4 KiB");
  json_t *lists = json_object();
  td__form_decode(req->body.data, req->body.len, lists);
  call->body = json_object();
  const char *name;
  json_t *values;
  json_object_foreach(lists, name, values) json_object_set(call->body, name, json_array_get(values, 0));
  json_decref(lists);
  return call->route->body_schema ? validate_body(call) : 0;
}

/* Parses and validates the JSON body against the route's schema. */
static int decode_body(td__call_t *call) {
  const td__route_t *r = call->route;
  const td__http_request_t *req = call->req;
  if (r->flags & TD_ROUTE_UPLOAD) return upload_fingerprint(call);
  if ((r->flags & TD_ROUTE_FORM) && is_form(td__http_header(req, "content-type"))) return decode_form(call);
  if (r->body_schema == NULL) {
    if (req->body.len == 0) return 0;
    return td__problem(call, 400, "Unexpected body", "this endpoint takes no request body");
  }
  const char *ctype = td__http_header(req, "content-type");
  if (req->body.len == 0 && ctype == NULL) {
    /* A bodiless POST (e.g. /unreject) means "no fields": validate {} against the schema. */
    ctype = "application/json";
  }
  if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0 ||
      (ctype[16] != '\0' && ctype[16] != ';' && ctype[16] != ' ')) {
    return td__problem(call, 415, "Unsupported media type",
                       "send the body as Content-Type: application/json");
  }
  char *pointer = NULL, *message = NULL;
  const char *text = req->body.len ? req->body.data : "{}";
  size_t text_len = req->body.len ? req->body.len : 2;
  call->body = td__json_parse_limited(text, text_len, 32, 10000, &pointer, &message);
  if (call->body == NULL) {
    td__problem(call, 400, "Invalid JSON", message ? message : "the body is not valid JSON");
    td__problem_field(call, pointer ? pointer : "", message ? message : "invalid JSON");
    free(pointer);
    free(message);
    return TD_EINVAL;
  }
  return validate_body(call);
}

/* Checks call->body against the route's body schema: a 422 naming every field at fault. */
static int validate_body(td__call_t *call) {
  const td__route_t *r = call->route;
  json_t *schemas = json_object_get(json_object_get(call->app->openapi, "components"), "schemas");
  json_t *schema = json_object_get(schemas, r->body_schema);
  if (schema == NULL) return td__problem_internal(call, TD_EINTERNAL);
  td__schema_errors_t errors = {0};
  int rc = td__schema_validate(call->app->openapi, schema, call->body, &errors, MAX_SCHEMA_ERRORS);
  if (rc < 0) {
    td__schema_errors_free(&errors);
    return td__problem_internal(call, TD_EINTERNAL);
  }
  if (rc > 0) {
    td__problem(call, 422, "Invalid request", "one or more fields are invalid; see errors");
    for (size_t i = 0; i < errors.count; i++)
      td__problem_field(call, errors.items[i].pointer, errors.items[i].message);
    td__schema_errors_free(&errors);
    return TD_EINVAL;
  }
  td__schema_errors_free(&errors);
  return 0;
}

/* Authentication, authorization at route level, and body decoding: the common prologue. */
static int prepare(td__call_t *call) {
  const td__route_t *r = call->route;
  if (!(r->flags & TD_ROUTE_PUBLIC)) {
    const char *why = NULL;
    int rc = td__authenticate(call->db, call->req, call->now_ms, &call->principal, &why);
    if (rc == TD_EDENIED) {
      call->denied = true;
      td__problem(call, 401, "Unauthorized", why);
      td__http_header_add(&call->headers, "WWW-Authenticate", "Bearer realm=\"talentd\"");
      return TD_EDENIED;
    }
    if (rc) return td__problem_internal(call, rc);
    if (is_write_method(call->req->method) && !call->principal.can_write) {
      call->denied = true;
      return td__problem(call, 403, "Forbidden", "this token is read-only");
    }
    if ((r->flags & TD_ROUTE_ADMIN) && call->principal.role != TD_ROLE_ADMIN)
      return td__problem_forbidden(call);
  }
  return decode_body(call);
}

static void encode(td__call_t *call) {
  json_t *doc = call->problem ? call->problem : call->result;
  if (call->problem) call->status = (int)json_integer_value(json_object_get(call->problem, "status"));
  if (doc) {
    call->encoded = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    call->encoded_len = call->encoded ? strlen(call->encoded) : 0;
  }
}

/* ---------- thread bodies ---------- */

static int run_read(td__db_t *db, void *arg) {
  td__call_t *call = arg;
  call->db = db;
  int rc = prepare(call);
  if (rc == 0) rc = call->route->handler(call);
  call->db = NULL;
  encode(call);
  return rc;
}

/* What an audit entry needs of a call, copied so it can outlive the request. */
typedef struct audit_facts {
  td__principal_t principal;
  const char *method;  /* static (llhttp's method names) */
  const char *pattern; /* static (the route table) */
  char object_type[32];
  char object_id[TD_ID_MAX];
  char request_id[TD_ID_MAX];
  char remote_ip[48];
  int status;
  int64_t at_ms;
} audit_facts_t;

static void audit_facts_of(const td__call_t *call, audit_facts_t *f) {
  f->principal = call->principal;
  f->method = call->req->method;
  f->pattern = call->route ? call->route->pattern : "?";
  memcpy(f->object_type, call->audit_type, sizeof f->object_type);
  memcpy(f->object_id, call->audit_id, sizeof f->object_id);
  memcpy(f->request_id, call->request_id, sizeof f->request_id);
  memcpy(f->remote_ip, call->req->remote_ip, sizeof f->remote_ip);
  f->status = call->status;
  f->at_ms = call->now_ms;
}

static int audit_write(td__db_t *db, const audit_facts_t *f) {
  char action[160];
  snprintf(action, sizeof action, "%s %s", f->method, f->pattern);
  td__audit_entry_t e = {
      .actor_id = f->principal.user_id,
      .actor_kind = f->principal.via == TD_VIA_NONE ? "anonymous" : "user",
      .action = action,
      .object_type = f->object_type,
      .object_id = f->object_id,
      .status = f->status,
      .request_id = f->request_id,
      .remote_ip = f->remote_ip,
      .at_ms = f->at_ms,
  };
  return td__audit_write(db, &e);
}

static void audit(td__call_t *call, td__db_t *db) {
  audit_facts_t f;
  if (call->status == 0) call->status = 200;
  audit_facts_of(call, &f);
  audit_write(db, &f);
}

static int run_write(td__db_t *db, void *arg) {
  td__call_t *call = arg;
  call->db = db;
  td__handler_fn fn =
      call->route->kind == TD_RUN_READ_THEN_WRITE ? call->route->write_handler : call->route->handler;
  int rc = 0;
  /* A READ_THEN_WRITE call was authenticated and decoded in its read part. */
  if (call->route->kind != TD_RUN_READ_THEN_WRITE) rc = prepare(call);
  const char *key = td__http_header(call->req, "idempotency-key");
  bool use_key =
      rc == 0 && key && strcmp(call->req->method, "POST") == 0 && call->principal.user_id[0] != '\0';
  if (rc == 0 && use_key && td__idempotency_begin(call, key)) {
    call->db = NULL;
    encode(call);
    return call->problem ? TD_EINVAL : 0;
  }
  if (rc == 0) rc = fn(call);
  if (rc == 0 && call->problem) rc = TD_EINVAL;
  if (rc == 0 && use_key && td__idempotency_record(call, key) != 0) rc = td__problem_internal(call, TD_EIO);
  if (rc == 0 && !(call->route->flags & TD_ROUTE_NO_AUDIT)) audit(call, db);
  call->db = NULL;
  encode(call);
  return rc;
}

/* After the response: a denied request's audit entry (its own savepoint was rolled back)
 * and a session's last-activity refresh, in one small write of their own. */
typedef struct side_write {
  td__write_op_t op;
  audit_facts_t facts;
  bool audit, touch_session;
} side_write_t;

static int run_side_write(td__db_t *db, void *arg) {
  side_write_t *w = arg;
  int rc = 0;
  if (w->audit) rc = audit_write(db, &w->facts);
  if (rc == 0 && w->touch_session) rc = td__session_touch(db, w->facts.principal.session_id, w->facts.at_ms);
  return rc;
}

static void after_side_write(void *arg, int rc) {
  (void)rc;
  free(arg);
}

/* ---------- back on the loop ---------- */

static void finish(td__call_t *call) {
  td__http_request_t *req = call->req;
  if (call->encoded == NULL && call->raw_body == NULL && (call->result || call->problem)) encode(call);
  if (call->status == 0) call->status = call->problem ? 500 : 204;
  const char *ctype = call->problem    ? "application/problem+json"
                      : call->raw_body ? call->raw_type
                      : call->encoded  ? "application/json"
                                       : NULL;
  if (strncmp(req->path, "/api/", 5) == 0) td__http_header_add(&call->headers, "Cache-Control", "no-store");
  td__http_header_add(&call->headers, "X-Request-Id", call->request_id);
  const char *body = call->raw_body ? call->raw_body : call->encoded;
  size_t len = call->raw_body ? call->raw_len : call->encoded_len;
  if (call->status == 204 || call->status == 304) len = 0;
  double seconds = (double)(td__time_mono_ns() - req->start_ns) / 1e9;
  const char *route = call->route ? call->route->pattern : "unmatched";
  td__metrics_observe_request(req->method, route, call->status, seconds);
  /* The access log carries the route pattern, never the raw path or query: those can hold
   * names and emails. */
  if (td__log_enabled(TD_LOG_INFO))
    td__log(TD_LOG_INFO, "request",
            json_pack("{s:s,s:s,s:i,s:f,s:s}", "method", req->method, "route", route, "status", call->status,
                      "ms", seconds * 1000.0, "request_id", call->request_id));
  td__app_t *app = call->app;
  bool touch =
      call->principal.via == TD_VIA_SESSION && call->principal.session_needs_touch && call->status < 400;
  /* Denied requests (their own savepoint was rolled back) and audited reads get their audit
   * entry in a small write of their own. */
  bool audit_read = call->route && (call->route->flags & TD_ROUTE_AUDIT_READ) && call->status < 400;
  /* An object the caller may not see answers 404, which is a denial too: probing for ids
   * leaves a trace like any other refused request. */
  if (call->status == 404 && call->route && call->param_count > 0) call->denied = true;
  if ((call->denied || audit_read || touch) && !app->stopping) {
    side_write_t *w = td__xcalloc(1, sizeof *w);
    audit_facts_of(call, &w->facts);
    w->audit = call->denied || audit_read;
    w->touch_session = touch;
    w->op = (td__write_op_t){.run = run_side_write, .done = after_side_write, .arg = w};
    td__writer_submit(app->writer, &w->op);
  }
  td__http_respond(req, call->status, ctype, &call->headers, body, len);
  call_free(call);
}

static void done_write(void *arg, int rc) {
  td__call_t *call = arg;
  /* After the commit, not inside it: a lookup racing the transaction cannot re-cache what
   * it just revoked. */
  if (rc == 0 && (call->route->flags & TD_ROUTE_AUTH_CHANGE)) td__auth_invalidate();
  if (rc == 0 && call->problem == NULL && call->after_commit) call->after_commit(call);
  if (rc == TD_EIO || rc == TD_EBUSY) {
    /* The batch failed to commit (or we are stopping): nothing of the call is stored. */
    json_decref(call->result);
    call->result = NULL;
    free(call->encoded);
    call->encoded = NULL;
    if (call->problem == NULL) {
      if (rc == TD_EBUSY)
        td__problem(call, 503, "Shutting down", "the server is stopping; retry shortly");
      else
        td__problem_internal(call, rc);
    }
    encode(call);
  }
  finish(call);
}

static void done_read(void *arg, int rc) {
  td__call_t *call = arg;
  if (rc == 0 && call->route->kind == TD_RUN_READ_THEN_WRITE && call->problem == NULL) {
    free(call->encoded);
    call->encoded = NULL;
    call->write_op = (td__write_op_t){.run = run_write, .done = done_write, .arg = call};
    td__writer_submit(call->app->writer, &call->write_op);
    return;
  }
  if (rc == TD_EBUSY && call->problem == NULL) {
    td__problem(call, 503, "Busy", "the server is busy; retry shortly");
    encode(call);
  }
  finish(call);
}

static void respond_problem_now(td__http_request_t *req, int status, const char *title, const char *detail,
                                const char *allow) {
  td__buf_t body = {0}, headers = {0};
  td__buf_printf(&body, "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"", title,
                 status);
  td__buf_json_escape(&body, detail);
  td__buf_puts(&body, "\"}");
  if (allow && *allow) td__http_header_add(&headers, "Allow", allow);
  td__http_header_add(&headers, "Cache-Control", "no-store");
  double seconds = (double)(td__time_mono_ns() - req->start_ns) / 1e9;
  td__metrics_observe_request(req->method, "unmatched", status, seconds);
  td__http_respond(req, status, "application/problem+json", &headers, body.data, body.len);
  td__buf_free(&body);
  td__buf_free(&headers);
}

void td__dispatch(td__http_request_t *req, void *ctx) {
  td__app_t *app = ctx;
  td__call_t *call = td__xcalloc(1, sizeof *call);
  char allow[64];
  const td__route_t *route = NULL;
  int rc = td__route_match(req->method, req->path, &route, call, allow, sizeof allow);
  if (rc == TD_ENOTFOUND) {
    free(call);
    respond_problem_now(req, 404, "Not found", "no such endpoint; see /api/v1/openapi.json", NULL);
    return;
  }
  if (rc == TD_EDENIED) {
    free(call);
    respond_problem_now(req, 405, "Method not allowed", "this endpoint does not take that method", allow);
    return;
  }
  call->app = app;
  call->req = req;
  call->route = route;
  call->now_ms = td__time_now_ms();
  td__id_new("req", call->request_id);
  req->route_pattern = route->pattern;
  switch (route->kind) {
    case TD_RUN_LOOP:
      route->handler(call);
      finish(call);
      return;
    case TD_RUN_READ:
    case TD_RUN_READ_THEN_WRITE:
      call->read_op = (td__read_op_t){.run = run_read, .done = done_read, .arg = call};
      if (((route->flags & TD_ROUTE_BACKGROUND) && route->kind == TD_RUN_READ
               ? td__reader_submit_background(app->loop, &call->read_op)
               : td__reader_submit(app->loop, &call->read_op)) != 0) {
        td__problem(call, 503, "Busy", "the server is busy; retry shortly");
        finish(call);
      }
      return;
    case TD_RUN_WRITE:
      call->write_op = (td__write_op_t){.run = run_write, .done = done_write, .arg = call};
      td__writer_submit(app->writer, &call->write_op);
      return;
  }
}

size_t td__dispatch_body_limit(const td__http_request_t *req, void *ctx) {
  td__app_t *app = ctx;
  const td__route_t *route = NULL;
  char allow[8];
  if (td__route_match(req->method, req->path, &route, NULL, allow, 0) == 0 &&
      (route->flags & TD_ROUTE_UPLOAD)) {
    /* Uploads stream to DATA/tmp as they arrive; the handler reads the file. */
    char dir[4096];
    int n = snprintf(dir, sizeof dir, "%s/tmp", app->data_dir);
    if (n > 0 && (size_t)n < sizeof dir) td__http_body_to_file(req, dir);
    /* A route's own smaller limit refuses an oversized body before it is all read. */
    return route->max_body && route->max_body < app->upload_limit ? route->max_body : app->upload_limit;
  }
  return 0;
}
