/* /api/v1/scripts: the Lua scripts of the server (admins only; lua/manager.h).
 *
 * PUT takes the Lua source itself as the body (text/x-lua or text/plain, at most the
 * sandbox's load_max_bytes). READ_THEN_WRITE: the read part (pool thread) loads the new
 * package beside the running one, which runs its top level under the load budget off the
 * loop and the writer; a script that does not load is refused with 422 and nothing changes.
 * The write part stores it (version + 1) and ensures its principal user; after the commit,
 * on the loop, the manager swaps it in, so the table and what runs agree. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/routes.h"
#include "lua/manager.h"
#include "talentd/types.h"
#include "util/log.h"
#include "util/mem.h"

typedef struct put_state {
  td__lua_package_t *pkg; /* loaded in the read part; handed to the manager after commit */
  char *source;
  size_t len;
  td__script_manifest_t manifest;
} put_state_t;

static void put_state_free(void *p) {
  put_state_t *s = p;
  td__lua_package_free(s->pkg);
  free(s->source);
  free(s);
}

static bool is_lua_type(const char *ctype) {
  if (ctype == NULL) return false;
  size_t n = strcspn(ctype, "; ");
  return (n == 10 && strncasecmp(ctype, "text/x-lua", 10) == 0) ||
         (n == 10 && strncasecmp(ctype, "text/plain", 10) == 0);
}

static int check_name(td__call_t *call) {
  if (td__script_name_valid(call->params[0])) return 0;
  td__problem(call, 422, "Invalid request", "a script name is 1 to 63 of a-z, 0-9, '_', '.', '-'");
  return td__problem_field(call, "/name", "must be 1 to 63 of a-z, 0-9, '_', '.', '-'");
}

/* Copies the body into s->source (NUL-terminated) within the load limit. */
static int read_source(td__call_t *call, put_state_t *s) {
  td__http_body_view_t body;
  if (td__http_body_map(call->req, &body) != 0) return td__problem_internal(call, TD_EIO);
  size_t max = td__lua_limits_default().load_max_bytes;
  int rc = 0;
  if (body.len == 0) {
    rc = td__problem_field(call, "/source", "is empty; send the Lua source as the body");
  } else if (body.len > max) {
    char detail[128];
    snprintf(detail, sizeof detail, "a script is at most %zu bytes", max);
    rc = td__problem(call, 413, "Script too large", detail);
  } else if (memchr(body.data, '\0', body.len) != NULL) {
    rc = td__problem_field(call, "/source", "must be text (it holds a NUL byte)");
  } else {
    s->source = td__xstrndup(body.data, body.len);
    s->len = body.len;
  }
  td__http_body_unmap(&body);
  return rc;
}

static int load_failed(td__call_t *call, char *error) {
  td__problem(call, 422, "Script does not load", error ? error : "the script does not load");
  td__problem_field(call, "/source", error ? error : "the script does not load");
  free(error);
  return TD_EINVAL;
}

/* Read part: the source, its manifest, and the new package built beside the running one. */
static int scripts_check(td__call_t *call) {
  if (check_name(call)) return TD_EINVAL;
  if (!is_lua_type(td__http_header(call->req, "content-type")))
    return td__problem(call, 415, "Unsupported media type",
                       "send the Lua source itself as the body with Content-Type: text/x-lua");
  put_state_t *s = td__xcalloc(1, sizeof *s);
  call->state = s;
  call->state_free = put_state_free;
  if (read_source(call, s)) return TD_EINVAL;
  char *error = NULL;
  if (td__script_manifest_parse(s->source, s->len, &s->manifest, &error) != 0)
    return load_failed(call, error);
  td__principal_t principal = {.role = s->manifest.role};
  int rc = td__script_user_find(call->db, call->params[0], principal.user_id);
  if (rc != 0 && rc != TD_ENOTFOUND) return td__problem_internal(call, rc);
  td__lua_host_t host;
  td__lua_manager_host(call->params[0], &principal, &host);
  rc = td__lua_package_load(call->params[0], s->source, s->len, NULL, &host, &s->pkg, &error);
  if (rc == TD_ENOMEM) {
    free(error);
    return td__problem_internal(call, rc);
  }
  if (rc != 0) return load_failed(call, error);
  return 0;
}

/* After the commit, on the loop: the stored version goes live. */
static void scripts_swap(td__call_t *call) {
  put_state_t *s = call->state;
  td__lua_package_t *pkg = s->pkg;
  s->pkg = NULL;
  if (td__lua_manager_install(pkg) != 0)
    td__lua_manager_note_error(call->params[0], "out of memory swapping");
}

/* Write part: the principal user and the row. */
static int scripts_store(td__call_t *call) {
  put_state_t *s = call->state;
  const char *name = call->params[0];
  char user_id[TD_ID_MAX];
  int rc = td__script_user_ensure(call->db, name, s->manifest.role, call->now_ms, user_id);
  int64_t version = 0;
  bool created = false;
  if (rc == 0)
    rc = td__script_store(call->db, name, s->source, s->len, &s->manifest, call->principal.user_id,
                          call->now_ms, &version, &created);
  if (rc) return td__problem_internal(call, rc);
  /* The package is not used by any thread before the swap: its principal can still change. */
  snprintf(s->pkg->host.principal.user_id, sizeof s->pkg->host.principal.user_id, "%s", user_id);
  s->pkg->host.principal.role = s->manifest.role;
  json_t *out = td__script_json(call->db, name, true);
  if (out == NULL) return td__problem_internal(call, TD_EIO);
  /* What goes live after the commit. */
  json_t *regs = json_array();
  for (size_t i = 0; i < s->pkg->nregs; i++) {
    const td__lua_reg_t *r = &s->pkg->regs[i];
    const char *kind = r->kind == TD_LUA_REG_EVENT ? "event" : "filter";
    json_array_append_new(
        regs, json_pack("{s:s, s:s, s:i}", "kind", kind, "name", r->name, "priority", r->priority));
  }
  for (size_t i = 0; i < s->pkg->nruns; i++)
    json_array_append_new(
        regs, json_pack("{s:s, s:s, s:i}", "kind", "run", "name", s->pkg->runs[i].name, "priority", 0));
  json_object_set_new(out, "registrations", regs);
  json_object_set_new(out, "loaded", json_true());
  call->after_commit = scripts_swap;
  td__call_audit(call, "script", name);
  td__call_set_etag(call, version);
  if (created) td__call_set_location(call, "/api/v1/scripts", name);
  td__call_set_result(call, created ? 201 : 200, out);
  return 0;
}

static void scripts_removed(td__call_t *call) { td__lua_manager_remove(call->params[0]); }

static int scripts_delete(td__call_t *call) {
  if (check_name(call)) return TD_EINVAL;
  int rc = td__script_delete(call->db, call->params[0]);
  if (rc == TD_ENOTFOUND) return td__problem_not_found(call, "script");
  if (rc) return td__problem_internal(call, rc);
  call->after_commit = scripts_removed;
  td__call_audit(call, "script", call->params[0]);
  call->status = 204;
  return 0;
}

static int scripts_get(td__call_t *call) {
  json_t *out = td__script_json(call->db, call->params[0], true);
  if (out == NULL) return td__problem_not_found(call, "script");
  td__call_set_result(call, 200, out);
  return 0;
}

static int list_scripts(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items, int64_t *next) {
  (void)arg;
  int rc = td__script_list(ctx->db, limit, after, items, next);
  return rc ? td__fail_internal(ctx, rc) : 0;
}

static int scripts_list(td__call_t *call) { return td__call_list(call, list_scripts, NULL); }

const td__route_t td__routes_scripts[] = {
    {"GET", "/api/v1/scripts", TD_RUN_READ, scripts_list, NULL, NULL, TD_ROUTE_ADMIN},
    {"GET", "/api/v1/scripts/{name}", TD_RUN_READ, scripts_get, NULL, NULL, TD_ROUTE_ADMIN},
    {"PUT", "/api/v1/scripts/{name}", TD_RUN_READ_THEN_WRITE, scripts_check, scripts_store, NULL,
     TD_ROUTE_ADMIN | TD_ROUTE_UPLOAD, NULL, TD_SCRIPT_SOURCE_MAX},
    {"DELETE", "/api/v1/scripts/{name}", TD_RUN_WRITE, scripts_delete, NULL, NULL, TD_ROUTE_ADMIN},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
