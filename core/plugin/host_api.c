/* The host API table handed to every plugin's init (talentd/plugin.h documents each member). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/call.h"
#include "plugin/bridge.h"
#include "domain/events.h"
#include "domain/search.h"
#include "hooks/filter.h"
#include "hooks/registry.h"
#include "plugin/actions.h"
#include "plugin/lua_eval.h"
#include "plugin/mail.h"
#include "plugin/outbound.h"
#include "plugin/roots.h"
#include "sched/tz.h"
#include "store/guard.h"
#include "store/reader.h"
#include "util/id.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define MAX_QUERY_ROWS 10000

/* ---- registration ---------------------------------------------------------------------- */

static int refuse(td_plugin_t *self, const char *what, const char *name, const char *reason) {
  td__log(TD_LOG_WARN, "plugin_registration_refused",
          json_pack("{s:s,s:s,s:s,s:s}", "plugin", self->name, "what", what, "name", name ? name : "",
                    "reason", reason));
  return TD_EDENIED;
}

/* The manifest's entry for a hook or pattern, or NULL when it does not declare it. */
static const json_t *declared(const td_plugin_t *p, const char *name) {
  size_t i;
  json_t *h;
  json_array_foreach(json_object_get(p->manifest, "hooks"), i, h) {
    if (strcmp(json_string_value(json_object_get(h, "name")), name) == 0) return h;
  }
  return NULL;
}

static td__plugin_reg_t *add_reg(td_plugin_t *p, td__reg_kind_t kind, const char *name, void *fn,
                                 void *data) {
  if (p->reg_count == p->reg_cap) {
    p->reg_cap = p->reg_cap ? p->reg_cap * 2 : 8;
    p->regs = td__xrealloc(p->regs, p->reg_cap * sizeof *p->regs);
  }
  td__plugin_reg_t *r = &p->regs[p->reg_count++];
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->plugin = p;
  snprintf(r->name, sizeof r->name, "%s", name);
  r->fn = fn;
  r->data = data;
  return r;
}

static bool taken(const td_plugin_t *p, td__reg_kind_t kind, const char *name, const char *method) {
  for (size_t i = 0; i < p->reg_count; i++)
    if (p->regs[i].kind == kind && strcmp(p->regs[i].name, name) == 0 &&
        (method == NULL || strcmp(p->regs[i].method, method) == 0))
      return true;
  return false;
}

/* Common checks of a hook registration; the manifest's priority wins over the code's. */
static int check_hook(td_plugin_t *self, const char *what, const char *name, bool filter, int *priority) {
  if (!self->in_init) return refuse(self, what, name, "registrations are accepted only during init");
  if (name == NULL || strlen(name) >= sizeof self->regs[0].name) return refuse(self, what, "", "bad name");
  if ((strstr(name, ".before_") != NULL) != filter)
    return refuse(self, what, name,
                  filter ? "a filter hook is named <noun>.before_<verb>" : "events are past tense");
  const json_t *d = declared(self, name);
  if (d == NULL) return refuse(self, what, name, "not declared in plugin.json hooks");
  json_t *prio = json_object_get(d, "priority");
  if (prio) *priority = (int)json_integer_value(prio);
  return 0;
}

static int register_filter(td_plugin_t *self, const char *hook, int priority, unsigned flags, td_filter_fn fn,
                           void *data) {
  int rc = check_hook(self, "filter", hook, true, &priority);
  if (rc) return rc;
  if (fn == NULL || taken(self, TD_REG_FILTER, hook, NULL))
    return refuse(self, "filter", hook, "duplicate or NULL");
  td__plugin_reg_t *r = add_reg(self, TD_REG_FILTER, hook, *(void **)&fn, data);
  r->priority = priority;
  r->flags = (flags & TD_FILTER_FAIL_CLOSED) ? TD_HOOK_FAIL_CLOSED : 0;
  return 0;
}

static int subscribe(td_plugin_t *self, const char *pattern, int priority, td_event_fn fn, void *data) {
  int rc = check_hook(self, "event", pattern, false, &priority);
  if (rc) return rc;
  if (fn == NULL || taken(self, TD_REG_EVENT, pattern, NULL))
    return refuse(self, "event", pattern, "one subscription per pattern");
  add_reg(self, TD_REG_EVENT, pattern, *(void **)&fn, data)->priority = priority;
  return 0;
}

static bool valid_route_path(const char *path) {
  if (path == NULL || path[0] != '/' || strlen(path) > 120) return false;
  for (const char *c = path; *c; c++)
    if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || strchr("/-_{}", *c))) return false;
  return strstr(path, "//") == NULL;
}

static int register_route(td_plugin_t *self, const td_route_spec_t *spec, td_route_fn fn, void *data) {
  const char *path = spec ? spec->path : NULL;
  if (!self->in_init) return refuse(self, "route", path, "registrations are accepted only during init");
  if (!td__plugin_has_permission(self, "routes"))
    return refuse(self, "route", path, "needs the routes permission");
  if (spec == NULL || fn == NULL || !valid_route_path(path)) return refuse(self, "route", path, "bad path");
  if (!td__plugin_route_in_roots(self, path))
    return refuse(self, "route", path, "lies outside the plugin's api_root list");
  const char *m = spec->method ? spec->method : "";
  if (strcmp(m, "GET") && strcmp(m, "POST") && strcmp(m, "PUT") && strcmp(m, "PATCH") && strcmp(m, "DELETE"))
    return refuse(self, "route", path, "bad method");
  if (spec->kind == TD_PLUGIN_ROUTE_LOOP && !(spec->flags & TD_PLUGIN_ROUTE_PUBLIC))
    return refuse(self, "route", path, "a loop route must be public (authentication needs the database)");
  bool read_post = spec->kind == TD_PLUGIN_ROUTE_READ && strcmp(m, "POST") == 0 && (spec->flags & TD_PLUGIN_ROUTE_QUERY);
  if (spec->kind > TD_PLUGIN_ROUTE_WRITE ||
      (spec->kind != TD_PLUGIN_ROUTE_WRITE && strcmp(m, "GET") != 0 && !read_post))
    return refuse(self, "route", path,
                  "writes (any method but GET) must use TD_PLUGIN_ROUTE_WRITE (a reading POST: TD_PLUGIN_ROUTE_QUERY)");
  if (taken(self, TD_REG_ROUTE, path, m)) return refuse(self, "route", path, "registered twice");
  td__plugin_reg_t *r = add_reg(self, TD_REG_ROUTE, path, *(void **)&fn, data);
  snprintf(r->method, sizeof r->method, "%s", m);
  snprintf(r->pattern, sizeof r->pattern, "%s%s", self->route_base, path);
  r->route_kind = spec->kind;
  r->flags = spec->flags;
  r->body_schema = spec->body_schema ? td__xstrdup(spec->body_schema) : NULL;
  return 0;
}

static int register_run_handler(td_plugin_t *self, const char *name, td_run_fn fn, void *data) {
  if (!self->in_init) return refuse(self, "run_handler", name, "registrations are accepted only during init");
  if (!td__plugin_has_permission(self, "schedule"))
    return refuse(self, "run_handler", name, "needs the schedule permission");
  if (name == NULL || fn == NULL || strlen(name) + strlen(self->name) + 2 > TD_SCHED_NAME_MAX ||
      taken(self, TD_REG_RUN, name, NULL))
    return refuse(self, "run_handler", name, "bad or duplicate name");
  add_reg(self, TD_REG_RUN, name, *(void **)&fn, data);
  return 0;
}

/* ---- small services ------------------------------------------------------------------- */

static void plugin_log(td_plugin_t *self, td_log_level_t level, const char *event, json_t *fields) {
  if (!json_is_object(fields)) {
    json_decref(fields);
    fields = json_object();
  }
  json_object_set_new(fields, "plugin", json_string(self->name));
  int l = level == TD_LEVEL_DEBUG   ? TD_LOG_DEBUG
          : level == TD_LEVEL_WARN  ? TD_LOG_WARN
          : level == TD_LEVEL_ERROR ? TD_LOG_ERROR
                                    : TD_LOG_INFO;
  td__log(l, event ? event : "plugin_log", fields);
}

static const json_t *plugin_config(td_plugin_t *self) { return self->config; }

static int new_id(const char *prefix, char out[TD_PLUGIN_ID_MAX]) {
  size_t n = prefix ? strlen(prefix) : 0;
  if (n < 2 || n > 8) return TD_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!islower((unsigned char)prefix[i])) return TD_EINVAL;
  td__id_new(prefix, out);
  return 0;
}

/* ---- database ------------------------------------------------------------------------- */

static int bind_params(td__stmt_t *st, const json_t *params) {
  if (params && !json_is_array(params)) return TD_EINVAL;
  if ((int)json_array_size(params) != td__stmt_param_count(st)) return TD_EINVAL;
  size_t i;
  json_t *v;
  json_array_foreach(params, i, v) {
    int idx = (int)i + 1;
    switch (json_typeof(v)) {
      case JSON_STRING: td__stmt_bind_text(st, idx, json_string_value(v)); break;
      case JSON_INTEGER: td__stmt_bind_int(st, idx, json_integer_value(v)); break;
      case JSON_REAL: td__stmt_bind_double(st, idx, json_real_value(v)); break;
      case JSON_TRUE: td__stmt_bind_int(st, idx, 1); break;
      case JSON_FALSE: td__stmt_bind_int(st, idx, 0); break;
      case JSON_NULL: td__stmt_bind_null(st, idx); break;
      default: return TD_EINVAL; /* objects and arrays: encode them to text first */
    }
  }
  return 0;
}

static json_t *row_json(td__stmt_t *st) {
  json_t *row = json_object();
  int n = td__stmt_column_count(st);
  for (int c = 0; c < n; c++) {
    json_t *v;
    switch (td__stmt_column_kind(st, c)) {
      case TD_COL_INT: v = json_integer(td__stmt_int(st, c)); break;
      case TD_COL_REAL: v = json_real(td__stmt_double(st, c)); break;
      case TD_COL_TEXT:
      case TD_COL_BLOB: v = json_string(td__stmt_text(st, c)); break;
      default: v = json_null();
    }
    json_object_set_new(row, td__stmt_column_name(st, c), v ? v : json_null());
  }
  return row;
}

/* Prepares one statement of a plugin under its guard; refusals are logged with the plugin. */
static int prepare(td_tx_t *tx, const char *sql, const json_t *params, td__stmt_t **st) {
  if (tx == NULL || tx->ctx == NULL || sql == NULL) return TD_EINVAL;
  char prefix[40], why[300];
  snprintf(prefix, sizeof prefix, "%s_", tx->plugin->name);
  td__db_guard_t guard = {.table_prefix = prefix,
                          .read_only = tx->read_only,
                          .read_all = td__plugin_has_permission(tx->plugin, "store.read")};
  const char *tail = NULL;
  int rc = td__db_stmt_guarded(tx->ctx->db, sql, &guard, st, &tail, why, sizeof why);
  if (rc == 0 && *st == NULL) rc = TD_EINVAL;
  if (rc == 0 && tail && strspn(tail, " \t\r\n;") != strlen(tail)) {
    snprintf(why, sizeof why, "one statement per call");
    rc = TD_EINVAL;
  }
  if (rc == 0 && bind_params(*st, params) != 0) {
    snprintf(why, sizeof why, "params must be an array of scalars, one per parameter");
    rc = TD_EINVAL;
  }
  if (rc) {
    td__stmt_finalize(*st);
    *st = NULL;
    td__log(TD_LOG_WARN, "plugin_sql_refused",
            json_pack("{s:s,s:s}", "plugin", tx->plugin->name, "reason", why));
  }
  return rc;
}

static int query(td_tx_t *tx, const char *sql, const json_t *params, json_t **rows) {
  *rows = NULL;
  td__stmt_t *st;
  int rc = prepare(tx, sql, params, &st);
  if (rc) return rc;
  json_t *out = json_array();
  while ((rc = td__stmt_step(st)) == 1) {
    if (json_array_size(out) == MAX_QUERY_ROWS) {
      rc = TD_ELIMIT;
      break;
    }
    json_array_append_new(out, row_json(st));
  }
  td__stmt_finalize(st);
  if (rc < 0) {
    json_decref(out);
    return rc;
  }
  *rows = out;
  return 0;
}

/* A row of query_rows: the statement positioned on it. */
struct td_row {
  td__stmt_t *st;
  int columns;
};

/* Runs sql and calls row for each row in order; a nonzero return from row stops and is
 * returned. query_rows hands the row over as is, query_each as a JSON object. */
static int query_rows(td_tx_t *tx, const char *sql, const json_t *params, int (*row)(const td_row_t *, void *),
                      void *data) {
  td__stmt_t *st;
  if (row == NULL) return TD_EINVAL;
  int rc = prepare(tx, sql, params, &st);
  if (rc) return rc;
  struct td_row r = {st, td__stmt_column_count(st)};
  while ((rc = td__stmt_step(st)) == 1) {
    int stop = row(&r, data);
    if (stop) {
      td__stmt_reset(st);
      rc = stop;
      break;
    }
  }
  td__stmt_finalize(st);
  return rc;
}

typedef struct each_json {
  int (*row)(const json_t *, void *);
  void *data;
} each_json_t;

static int row_as_json(const td_row_t *row, void *data) {
  each_json_t *e = data;
  json_t *r = row_json(row->st);
  int stop = e->row(r, e->data);
  json_decref(r);
  return stop;
}

static int query_each(td_tx_t *tx, const char *sql, const json_t *params, int (*row)(const json_t *, void *),
                      void *data) {
  if (row == NULL) return TD_EINVAL;
  each_json_t e = {row, data};
  return query_rows(tx, sql, params, row_as_json, &e);
}

static bool row_column_ok(const td_row_t *row, int column) {
  return row && column >= 0 && column < row->columns;
}
static int64_t row_int(const td_row_t *row, int column) {
  return row_column_ok(row, column) ? td__stmt_int(row->st, column) : 0;
}
static double row_real(const td_row_t *row, int column) {
  return row_column_ok(row, column) ? td__stmt_double(row->st, column) : 0.0;
}
static const char *row_text(const td_row_t *row, int column) {
  return row_column_ok(row, column) ? td__stmt_text(row->st, column) : NULL;
}
static int row_is_null(const td_row_t *row, int column) {
  return row_column_ok(row, column) ? td__stmt_is_null(row->st, column) : 1;
}

static int exec_sql(td_tx_t *tx, const char *sql, const json_t *params, int64_t *changes) {
  td__stmt_t *st;
  int rc = prepare(tx, sql, params, &st);
  if (rc) return rc;
  while ((rc = td__stmt_step(st)) == 1) {
  }
  td__stmt_finalize(st);
  if (rc == 0 && changes) *changes = td__db_changes(tx->ctx->db);
  return rc;
}

/* Work a plugin queues on the writer or a reader thread. */
typedef struct tx_work {
  td_plugin_t *plugin;
  td_tx_fn fn;
  td_tx_done_fn done;
  void *data;
  bool write;
  td__write_op_t wop;
  td__read_op_t rop;
} tx_work_t;

static int tx_run(td__db_t *db, void *arg) {
  tx_work_t *w = arg;
  if (db == NULL) return TD_EIO;
  td__ctx_t ctx = {.db = db, .actor_kind = "plugin", .now_ms = td__time_now_ms(), .cause = w->plugin->name};
  ctx.principal.role = TD_ROLE_ADMIN;
  ctx.principal.via = TD_VIA_SYSTEM;
  ctx.principal.can_write = w->write;
  struct td_tx tx = {&ctx, w->plugin, !w->write};
  uint64_t t0 = td__time_mono_ns();
  int rc = w->fn(&tx, w->data);
  td__plugin_note_duration(w->plugin, w->write ? "write" : "read", "submitted work", t0, w->write ? 50 : 250);
  td__ctx_dispose(&ctx);
  return rc;
}

static void tx_done(void *arg, int rc) {
  tx_work_t *w = arg;
  if (w->done) w->done(w->data, rc);
  free(w);
}

static int submit(td_plugin_t *self, td_tx_fn fn, td_tx_done_fn done, void *data, bool write) {
  td__plugins_t *ps = self->host;
  if (fn == NULL || ps->loop == NULL) return TD_EBUSY;
  tx_work_t *w = td__xcalloc(1, sizeof *w);
  *w = (tx_work_t){.plugin = self, .fn = fn, .done = done, .data = data, .write = write};
  if (write) {
    w->wop = (td__write_op_t){.run = tx_run, .done = tx_done, .arg = w};
    td__writer_submit(ps->writer, &w->wop);
    return 0;
  }
  w->rop = (td__read_op_t){.run = tx_run, .done = tx_done, .arg = w};
  int rc = td__reader_submit(ps->loop, &w->rop);
  if (rc) free(w);
  return rc;
}

static int submit_write(td_plugin_t *self, td_tx_fn fn, td_tx_done_fn done, void *data) {
  return submit(self, fn, done, data, true);
}
static int submit_read(td_plugin_t *self, td_tx_fn fn, td_tx_done_fn done, void *data) {
  return submit(self, fn, done, data, false);
}

static int schedule(td_tx_t *tx, const char *handler, int64_t run_at_ms, const char *cron,
                    const char *time_zone, const json_t *payload, char id_out[TD_PLUGIN_ID_MAX]) {
  if (tx == NULL || tx->read_only || handler == NULL) return TD_EINVAL;
  if (!td__plugin_has_permission(tx->plugin, "schedule")) return TD_EDENIED;
  char full[TD_SCHED_NAME_MAX];
  snprintf(full, sizeof full, "%.31s.%.31s", tx->plugin->name, handler);
  char id[TD_ID_MAX];
  int rc = cron ? td__sched_cron(tx->ctx, full, cron, time_zone, payload, NULL, id)
                : td__sched_at(tx->ctx, full, run_at_ms, payload, NULL, id);
  if (rc == 0 && id_out) snprintf(id_out, TD_PLUGIN_ID_MAX, "%s", id);
  return rc;
}

/* Filters a plugin fires: never the core's own nouns (the core fires those, with their own
 * payloads); the result goes back to the plugin instead of a problem on the request. */
static int run_filter(td_tx_t *tx, const char *hook, json_t *proposed, char *reason, size_t reason_size) {
  static const char *const core_nouns[] = {"candidate.", "application.", "job.", NULL};
  if (reason && reason_size) reason[0] = '\0';
  if (tx == NULL || tx->read_only || hook == NULL || proposed == NULL || strstr(hook, ".before_") == NULL)
    return TD_EINVAL;
  for (size_t i = 0; core_nouns[i]; i++)
    if (strncmp(hook, core_nouns[i], strlen(core_nouns[i])) == 0) return TD_EINVAL;
  json_t *saved = tx->ctx->problem;
  tx->ctx->problem = NULL;
  int rc = td__filter_run(tx->ctx, hook, proposed);
  if (rc != 0) {
    json_t *problem = tx->ctx->problem;
    bool veto = json_integer_value(json_object_get(problem, "status")) == 422;
    const char *detail = json_string_value(json_object_get(problem, "detail"));
    if (reason && reason_size) snprintf(reason, reason_size, "%s", detail ? detail : "refused");
    json_decref(problem);
    rc = veto ? TD_EDENIED : TD_EINVAL;
  }
  tx->ctx->problem = saved;
  return rc;
}

/* ---- requests ------------------------------------------------------------------------- */

static const char *request_param(td_request_t *req, int index) {
  return index >= 0 && index < req->call->param_count ? req->call->params[index] : NULL;
}
static const char *request_query(td_request_t *req, const char *name) {
  return td__call_query(req->call, name);
}
static const json_t *request_body(td_request_t *req) { return req->call->body; }
static const char *request_user_id(td_request_t *req) {
  return req->call->principal.user_id[0] ? req->call->principal.user_id : NULL;
}
static const char *request_role(td_request_t *req) {
  return req->call->principal.role == TD_ROLE_NONE ? NULL : td__role_name(req->call->principal.role);
}
static void respond(td_request_t *req, int status, json_t *body) {
  if (status < 200 || status > 299) status = 500;
  td__call_set_result(req->call, status, body);
  req->answered = true;
}
static int fail(td_request_t *req, int status, const char *title, const char *detail) {
  req->answered = true;
  return td__problem(req->call, status >= 400 && status <= 599 ? status : 500, title ? title : "Refused",
                     detail ? detail : "");
}
static int fail_field(td_request_t *req, const char *pointer, const char *message) {
  req->answered = true;
  return td__problem_field(req->call, pointer ? pointer : "", message ? message : "is invalid");
}

#define RAW_BODY_MAX ((size_t)64 * 1024 * 1024)

/* The content types a plugin may answer with, as static strings (the call keeps a pointer). */
static const char *raw_type(const char *content_type) {
  static const char *const types[][2] = {
      {"text/csv", "text/csv; charset=utf-8"},
      {"image/svg+xml", "image/svg+xml; charset=utf-8"},
      {"text/plain", "text/plain; charset=utf-8"},
      {"text/html", "text/html; charset=utf-8"},
      {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"application/pdf", "application/pdf"},
      {"application/octet-stream", "application/octet-stream"}};
  /* Parameters the plugin gives ("; charset=utf-8") are dropped: the host sets its own. */
  size_t n = content_type ? strcspn(content_type, ";") : 0;
  while (n > 0 && content_type[n - 1] == ' ') n--;
  for (size_t i = 0; content_type && i < sizeof types / sizeof types[0]; i++)
    if (strlen(types[i][0]) == n && strncmp(types[i][0], content_type, n) == 0) return types[i][1];
  return NULL;
}

/* A filename safe inside a quoted Content-Disposition value: [A-Za-z0-9._-], 1..100 bytes. */
static bool safe_filename(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 100 || name[0] == '.') return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-') return false;
  return true;
}

static int respond_bytes(td_request_t *req, int status, const char *content_type, const void *body, size_t len,
                         const char *filename) {
  const char *type = raw_type(content_type);
  if (req == NULL || type == NULL || (body == NULL && len) || len > RAW_BODY_MAX ||
      (filename && !safe_filename(filename)))
    return TD_EINVAL;
  td__call_t *call = req->call;
  if (filename) {
    char value[160];
    snprintf(value, sizeof value, "attachment; filename=\"%s\"", filename);
    td__http_header_add(&call->headers, "Content-Disposition", value);
  }
  free(call->raw_body);
  call->raw_body = td__xmalloc(len ? len : 1);
  if (len) memcpy(call->raw_body, body, len);
  call->raw_len = len;
  call->raw_type = type;
  call->status = status >= 200 && status <= 299 ? status : 500;
  req->answered = true;
  return 0;
}

/* ---- time zones ------------------------------------------------------------------------ */

static int tz_offset(const char *zone, int64_t at_ms, int32_t *offset_seconds) {
  const td__tz_t *tz;
  const char *error;
  if (zone == NULL || offset_seconds == NULL || td__tz_get(zone, &tz, &error) != 0) return TD_EINVAL;
  int64_t s = at_ms >= 0 ? at_ms / 1000 : -((-at_ms + 999) / 1000);
  return td__tz_offset(tz, s, offset_seconds) == 0 ? 0 : TD_EINVAL;
}

static int tz_to_utc(const char *zone, int64_t local_ms, int64_t *at_ms) {
  const td__tz_t *tz;
  const char *error;
  if (zone == NULL || at_ms == NULL || td__tz_get(zone, &tz, &error) != 0) return TD_EINVAL;
  int64_t local_s = local_ms >= 0 ? local_ms / 1000 : -((-local_ms + 999) / 1000), utc_s;
  if (td__tz_to_utc(tz, local_s, &utc_s) != 0) return TD_EINVAL;
  *at_ms = utc_s * 1000 + (local_ms - local_s * 1000);
  return 0;
}

/* ---- events ----------------------------------------------------------------------------- */

/* Whether the manifest lists type under "emits" and type is not one of the core's nouns. */
static bool may_emit(const td_plugin_t *p, const char *type) {
  static const char *const core_nouns[] = {"application.", "attachment.", "candidate.", "custom_field.", "import.",
                                           "job.",         "note.",       "server.",    "task.",         NULL};
  for (size_t i = 0; core_nouns[i]; i++)
    if (strncmp(type, core_nouns[i], strlen(core_nouns[i])) == 0) return false;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(p->manifest, "emits"), i, v) {
    if (strcmp(json_string_value(v), type) == 0) return true;
  }
  return false;
}

static int emit(td_tx_t *tx, const char *type, const char *subject_type, const char *subject_id, const json_t *data) {
  if (tx == NULL || tx->read_only || type == NULL || subject_type == NULL || subject_id == NULL ||
      (data && !json_is_object(data)) || strlen(subject_type) > 32 || strlen(subject_id) > 64)
    return TD_EINVAL;
  if (!may_emit(tx->plugin, type)) return TD_EDENIED;
  return td__event_emit(tx->ctx, type, subject_type, subject_id, data ? json_deep_copy(data) : NULL);
}

static const char *request_header(td_request_t *req, const char *name) {
  char lower[64];
  size_t n = name ? strlen(name) : 0;
  if (req == NULL || n == 0 || n >= sizeof lower) return NULL;
  for (size_t i = 0; i <= n; i++) lower[i] = (char)tolower((unsigned char)name[i]);
  return td__http_header(req->call->req, lower);
}

static int respond_header(td_request_t *req, const char *name, const char *value) {
  static const char *const allowed[] = {"ETag", "Location", "Cache-Control", "Retry-After", NULL};
  if (req == NULL || name == NULL || value == NULL || strlen(value) > 512 || strpbrk(value, "\r\n")) return TD_EINVAL;
  for (size_t i = 0; allowed[i]; i++)
    if (strcasecmp(allowed[i], name) == 0)
      return td__http_header_add(&req->call->headers, allowed[i], value) == 0 ? 0 : TD_ENOMEM;
  return TD_EINVAL;
}

static int tx_as(td_tx_t *tx, td_plugin_t *self, td_tx_fn fn, void *data) {
  if (tx == NULL || self == NULL || fn == NULL) return TD_EINVAL;
  struct td_tx view = {tx->ctx, self, tx->read_only};
  return fn(&view, data);
}

static void time_format(int64_t ms, char out[32]) { td__time_format(ms, out, 32); }

/* ---- scheduled runs ------------------------------------------------------------------- */

static const json_t *run_payload(td_run_t *run) { return run->call->payload; }
static int run_attempt(td_run_t *run) { return run->call->attempt; }
static void run_finish(td_run_t *run, int rc, const char *error) {
  td__sched_finish(run->call, rc, error);
  free(run);
}

/* ---- the table ------------------------------------------------------------------------ */

static const void *get_api(const char *name, int version);
static int provide_api(td_plugin_t *self, const char *name, int version, const void *table);

static const td_host_api_t host_api = {
    .struct_size = sizeof(td_host_api_t),
    .abi_major = TD_PLUGIN_ABI_MAJOR,
    .host_version = TD_VERSION,
    .get_api = get_api,
    .log = plugin_log,
    .config = plugin_config,
    .now_ms = td__time_now_ms,
    .new_id = new_id,
    .register_filter = register_filter,
    .subscribe = subscribe,
    .register_route = register_route,
    .register_run_handler = register_run_handler,
    .query = query,
    .exec = exec_sql,
    .submit_write = submit_write,
    .submit_read = submit_read,
    .schedule = schedule,
    .request_param = request_param,
    .request_query = request_query,
    .request_body = request_body,
    .request_user_id = request_user_id,
    .request_role = request_role,
    .respond = respond,
    .fail = fail,
    .fail_field = fail_field,
    .run_payload = run_payload,
    .run_attempt = run_attempt,
    .run_finish = run_finish,
    .http_request = td__plugin_http_request,
    .http_check_url = td__plugin_http_check_url,
    .run_filter = run_filter,
    .query_each = query_each,
    .respond_bytes = respond_bytes,
    .act = td__plugin_act,
    .lua_eval = td__plugin_lua_eval,
    .mail_transfer = td__plugin_mail_transfer,
    .tz_offset = tz_offset,
    .tz_to_utc = tz_to_utc,
    .emit = emit,
    .query_rows = query_rows,
    .row_int = row_int,
    .row_real = row_real,
    .row_text = row_text,
    .row_is_null = row_is_null,
    .request_header = request_header,
    .respond_header = respond_header,
    .provide_api = provide_api,
    .search_match = td__search_fts_query,
    .tx_as = tx_as,
    .time_format = time_format,
    .time_parse = td__time_parse,
};

/* "talentd.host" version 1 is this table; other extensions are added by name. */
/* APIs plugins offer each other (provide_api); at most a few per plugin. Written only during
 * the plugins' init, on the loop thread before the server serves; read by any thread after. */
#define PROVIDED_MAX 64
static struct provided {
  const td_plugin_t *plugin;
  char name[64];
  int version;
  const void *table;
} provided[PROVIDED_MAX];
static size_t provided_count;

static int provide_api(td_plugin_t *self, const char *name, int version, const void *table) {
  size_t n = strlen(self->name);
  if (!self->in_init || name == NULL || table == NULL || strlen(name) >= sizeof provided[0].name ||
      strncmp(name, self->name, n) != 0 || name[n] != '.')
    return refuse(self, "api", name, "offered outside init, or not named <plugin>.<what>");
  for (size_t i = 0; i < provided_count; i++)
    if (strcmp(provided[i].name, name) == 0 && provided[i].version == version &&
        (provided[i].plugin == self || provided[i].plugin->loaded))
      return TD_ECONFLICT;
  if (provided_count == PROVIDED_MAX) return TD_ELIMIT;
  struct provided *p = &provided[provided_count++];
  p->plugin = self, p->version = version, p->table = table;
  snprintf(p->name, sizeof p->name, "%s", name);
  return 0;
}

static const void *get_api(const char *name, int version) {
  if (name && strcmp(name, "talentd.host") == 0 && version == 1) return &host_api;
  for (size_t i = 0; name && i < provided_count; i++)
    if (provided[i].plugin->loaded && provided[i].version == version && strcmp(provided[i].name, name) == 0)
      return provided[i].table;
  return NULL;
}

const td_host_api_t *td__plugin_host_api(void) { return &host_api; }
