/* Running the talent API's reads and writes where the running call allows them: a reader
 * thread or the writer for event calls (the call yields meanwhile), the filter's
 * transaction for reads in filters, the read-only connection of a dry run (see api.h). */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "lua/api.h"
#include "lua/call.h"
#include "lua/json.h"
#include "lua/package.h"
#include "store/reader.h"
#include "store/writer.h"
#include "talentd/types.h"
#include "util/time.h"

typedef struct op {
  td__write_op_t wop;
  td__read_op_t rop;
  td__lua_host_call_t *hc;
  td__lua_op_fn fn;
  json_t *args;
  json_t *result;
  bool write;
  char error[512];
  td__principal_t principal;
  char cause[96];
  char what[48];
  int denied_status; /* 403 or 404 when the domain refused the principal (audited apart) */
  td__writer_t *writer;
  td__write_op_t audit_op;
} op_t;

void td__lua_problem_text(const json_t *problem, char *buf, size_t size) {
  const char *detail = json_string_value(json_object_get(problem, "detail"));
  if (detail == NULL) detail = json_string_value(json_object_get(problem, "title"));
  if (detail == NULL) detail = "refused";
  const json_t *e = json_array_get(json_object_get(problem, "errors"), 0);
  const char *ptr = json_string_value(json_object_get(e, "pointer"));
  const char *msg = json_string_value(json_object_get(e, "message"));
  if (ptr != NULL && msg != NULL)
    snprintf(buf, size, "%s (%s: %s)", detail, ptr, msg);
  else
    snprintf(buf, size, "%s", detail);
}

json_t *td__lua_arg_json(lua_State *L, int idx, const char *what) {
  td__lua_state_t *s = td__lua_state_of(L);
  json_t *v;
  char err[300];
  if (td__lua_to_json(L, idx, s->limits.json_max_depth, s->limits.json_max_items, &v, err, sizeof err) != 0) {
    luaL_error(L, "%s: %s", what, err);
    return NULL;
  }
  return v;
}

/* Runs op on db (writer thread, a reader thread, or the caller's for sync reads): the
 * result or the refusal's text land in op; the audit entry of a write in the same
 * transaction. Returns nonzero on refusal (the writer then rolls the op back). */
static int op_execute(td__db_t *db, op_t *op) {
  if (db == NULL) {
    snprintf(op->error, sizeof op->error, "the database is not available");
    return TD_EIO;
  }
  td__ctx_t ctx = {.db = db,
                   .principal = op->principal,
                   .actor_kind = "script",
                   .now_ms = td__time_now_ms(),
                   .cause = op->cause};
  td__lua_audit_t audit = {{0}, {0}};
  int rc = op->fn(&ctx, op->args, &op->result, &audit);
  if (rc == 0 && ctx.problem != NULL) rc = TD_EINVAL;
  if (rc == 0 && op->write && audit.object_type[0] != '\0') {
    td__audit_entry_t e = {.actor_id = op->principal.user_id,
                           .actor_kind = "script",
                           .action = op->what,
                           .object_type = audit.object_type,
                           .object_id = audit.object_id,
                           .status = 200,
                           .request_id = op->cause,
                           .at_ms = ctx.now_ms};
    rc = td__audit_write(db, &e);
    if (rc != 0) snprintf(op->error, sizeof op->error, "the audit entry could not be written");
  } else if (rc != 0) {
    json_int_t status = json_integer_value(json_object_get(ctx.problem, "status"));
    if (op->write && (status == 403 || status == 404)) op->denied_status = (int)status;
    if (ctx.problem != NULL)
      td__lua_problem_text(ctx.problem, op->error, sizeof op->error);
    else
      snprintf(op->error, sizeof op->error, "%s failed (storage error %d)", op->what, rc);
  }
  if (rc != 0) {
    json_decref(op->result);
    op->result = NULL;
  }
  td__ctx_dispose(&ctx);
  return rc;
}

static void op_free(op_t *op) {
  json_decref(op->args);
  json_decref(op->result);
  free(op);
}

static int run_write(td__db_t *db, void *arg) { return op_execute(db, arg); }
static int run_read(td__db_t *db, void *arg) { return op_execute(db, arg); }

/* A refused action's own savepoint was rolled back with its audit entry: the denial is
 * written apart, as the API does for denied requests. */
static int denied_run(td__db_t *db, void *arg) {
  const op_t *op = arg;
  const char *app = json_string_value(json_object_get(op->args, "application_id"));
  const char *cand = json_string_value(json_object_get(op->args, "candidate_id"));
  td__audit_entry_t e = {.actor_id = op->principal.user_id,
                         .actor_kind = "script",
                         .action = op->what,
                         .object_type = app    ? "application"
                                        : cand ? "candidate"
                                               : NULL,
                         .object_id = app ? app : cand,
                         .status = op->denied_status,
                         .request_id = op->cause,
                         .at_ms = td__time_now_ms()};
  return td__audit_write(db, &e);
}

static void denied_done(void *arg, int rc) {
  (void)rc; /* best effort, like the API's */
  op_free(arg);
}

/* Loop thread: hands the outcome to the waiting call. */
static void op_done(void *arg, int rc) {
  op_t *op = arg;
  if (rc != 0 && op->error[0] == '\0')
    snprintf(op->error, sizeof op->error, "%s failed (code %d)", op->what, rc);
  json_t *result = rc == 0 ? op->result : NULL;
  if (rc == 0) op->result = NULL;
  td__lua_host_complete(op->hc, result, rc == 0 ? NULL : op->error);
  if (op->denied_status != 0 && op->writer != NULL) {
    op->hc = NULL;
    op->audit_op = (td__write_op_t){.run = denied_run, .done = denied_done, .arg = op};
    td__writer_submit(op->writer, &op->audit_op);
    return;
  }
  op_free(op);
}

/* Pushes the results of a finished op: the value, or nil, error. */
static int push_outcome(lua_State *L, op_t *op, int rc) {
  td__lua_state_t *s = td__lua_state_of(L);
  json_t *result = op->result;
  char error[512];
  snprintf(error, sizeof error, "%s", op->error);
  op->result = NULL;
  op_free(op);
  if (rc != 0) {
    lua_pushnil(L);
    lua_pushstring(L, error);
    return 2;
  }
  td__lua_push_json(L, result, s->limits.json_max_depth, s->limits.json_max_items);
  json_decref(result);
  return 1;
}

static op_t *op_new(lua_State *L, td__lua_package_t *pkg, const char *what, td__lua_op_fn fn, json_t *args,
                    bool write) {
  op_t *op = calloc(1, sizeof *op);
  if (op == NULL) {
    json_decref(args);
    luaL_error(L, "%s: not enough memory", what);
    return NULL;
  }
  op->fn = fn;
  op->args = args;
  op->write = write;
  op->principal = pkg->host.principal;
  snprintf(op->cause, sizeof op->cause, "script:%s", pkg->name);
  snprintf(op->what, sizeof op->what, "%s", what);
  return op;
}

static td__lua_package_t *package_or_raise(lua_State *L, const char *what, json_t *args) {
  td__lua_package_t *pkg = td__lua_package_of(L);
  if (pkg == NULL) {
    json_decref(args);
    luaL_error(L, "%s is not available in this state", what);
  }
  if (args == NULL) luaL_error(L, "%s: the arguments must be UTF-8 text", what);
  return pkg;
}

int td__lua_api_read(lua_State *L, const char *what, td__lua_op_fn fn, json_t *args) {
  td__lua_package_t *pkg = package_or_raise(L, what, args);
  td__db_t *sync_db = NULL;
  if (!td__lua_call_is_async(L) && pkg->filter_ctx != NULL)
    sync_db = pkg->filter_ctx->db; /* a filter: read inside its transaction */
  else if (pkg->read_db != NULL && td__lua_call_is_async(L))
    sync_db = pkg->read_db; /* a dry run */
  if (sync_db != NULL) {
    op_t *op = op_new(L, pkg, what, fn, args, false);
    return push_outcome(L, op, op_execute(sync_db, op));
  }
  char err[300];
  if (td__lua_host_allowed(L, what, "filters may only read", err, sizeof err) != 0) {
    json_decref(args);
    lua_pushstring(L, err);
    return lua_error(L);
  }
  uv_loop_t *loop = pkg->host.loop != NULL ? pkg->host.loop : pkg->loop;
  if (loop == NULL) {
    json_decref(args);
    return luaL_error(L, "%s: the script has no server to read from", what);
  }
  op_t *op = op_new(L, pkg, what, fn, args, false);
  op->hc = td__lua_host_new(L);
  op->rop.run = run_read;
  op->rop.done = op_done;
  op->rop.arg = op;
  if (td__reader_submit(loop, &op->rop) != 0) {
    snprintf(op->error, sizeof op->error, "%s: the server is busy or stopping", what);
    op_done(op, TD_EBUSY);
  }
  return td__lua_host_yield(L, op->hc);
}

/* Dry run: records {action, args} and returns a placeholder. */
static int dry_record(lua_State *L, td__lua_package_t *pkg, const char *what, json_t *args) {
  if (pkg->dry_log == NULL) pkg->dry_log = json_array();
  json_t *entry = json_pack("{s:s, s:o}", "action", what, "args", args);
  if (entry != NULL) json_array_append_new(pkg->dry_log, entry);
  lua_createtable(L, 0, 2);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "dry_run");
  lua_pushstring(L, what);
  lua_setfield(L, -2, "action");
  return 1;
}

int td__lua_api_write(lua_State *L, const char *what, td__lua_op_fn fn, json_t *args, bool effect) {
  td__lua_package_t *pkg = package_or_raise(L, what, args);
  char err[300];
  if (td__lua_host_allowed(L, what, "filters may only read", err, sizeof err) != 0) {
    json_decref(args);
    lua_pushstring(L, err); /* no position: the message names the function */
    return lua_error(L);
  }
  if (effect && td__lua_count_effect(L, what, err, sizeof err) != 0) {
    json_decref(args);
    return luaL_error(L, "%s", err);
  }
  if (pkg->host.dry_run) return dry_record(L, pkg, what, args);
  if (pkg->host.writer == NULL) {
    json_decref(args);
    return luaL_error(L, "%s: the script has no server to write to", what);
  }
  op_t *op = op_new(L, pkg, what, fn, args, true);
  op->hc = td__lua_host_new(L);
  op->writer = pkg->host.writer;
  op->wop.run = run_write;
  op->wop.done = op_done;
  op->wop.arg = op;
  td__writer_submit(pkg->host.writer, &op->wop);
  return td__lua_host_yield(L, op->hc);
}

void td__lua_api_register(td__lua_state_t *s, lua_State *L) {
  td__lua_api_model(L);
  td__lua_api_actions(L);
  td__lua_api_io(s, L);
}
