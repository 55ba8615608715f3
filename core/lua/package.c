/* Loading a Lua package and the `talent` table of its states (see package.h). */
#include "lua/package.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/api.h"
#include "lua/json.h"
#include "talentd/types.h"
#include "util/log.h"

/* What the top level registered in one state. */
typedef struct loading {
  td__lua_reg_t regs[TD_LUA_REG_MAX];
  int refs[TD_LUA_REG_MAX];
  size_t n;
  td__lua_run_t runs[TD_LUA_REG_MAX];
  size_t nruns;
} loading_t;

#define PACKAGE_KEY "talentd.package"

td__lua_package_t *td__lua_package_of(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, PACKAGE_KEY);
  td__lua_package_t *pkg = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return pkg;
}

static int check_opts(lua_State *L, int idx, td__lua_reg_t *r, int filter) {
  if (lua_isnoneornil(L, idx)) return 0;
  luaL_checktype(L, idx, LUA_TTABLE);
  int t = lua_getfield(L, idx, "priority");
  if (t != LUA_TNIL) {
    int ok;
    lua_Integer p = lua_tointegerx(L, -1, &ok);
    if (!ok || p < -1000000 || p > 1000000) return luaL_error(L, "opts.priority must be an integer");
    r->priority = (int)p;
  }
  lua_pop(L, 1);
  if (filter && lua_getfield(L, idx, "fail_closed") != LUA_TNIL) r->fail_closed = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return 0;
}

static int add_reg(lua_State *L, td__lua_reg_kind_t kind) {
  td__lua_state_t *s = td__lua_state_of(L);
  loading_t *ld = s->loading;
  const char *what = kind == TD_LUA_REG_EVENT ? "talent.on" : "talent.filter";
  if (ld == NULL)
    return luaL_error(L, "%s may only be called at the top level of the package, while it loads", what);
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (len == 0 || len >= TD_LUA_REG_NAME_MAX || strlen(name) != len)
    return luaL_error(L, "%s: the name must be 1 to %d bytes", what, TD_LUA_REG_NAME_MAX - 1);
  if (kind == TD_LUA_REG_FILTER && strstr(name, ".before_") == NULL)
    return luaL_error(L, "talent.filter: '%s' is not a filter hook (<noun>.before_<verb>)", name);
  if (kind == TD_LUA_REG_EVENT && strstr(name, ".before_") != NULL)
    return luaL_error(L, "talent.on: '%s' is a filter hook; use talent.filter", name);
  if (ld->n >= TD_LUA_REG_MAX) return luaL_error(L, "%s: more than %d registrations", what, TD_LUA_REG_MAX);
  for (size_t i = 0; i < ld->n; i++)
    if (ld->regs[i].kind == kind && strcmp(ld->regs[i].name, name) == 0)
      return luaL_error(L, "%s: '%s' is already registered by this package; handle it in one function", what,
                        name);
  td__lua_reg_t *r = &ld->regs[ld->n];
  memset(r, 0, sizeof *r);
  r->kind = kind;
  memcpy(r->name, name, len + 1);
  check_opts(L, 3, r, kind == TD_LUA_REG_FILTER);
  lua_pushvalue(L, 2);
  ld->refs[ld->n] = luaL_ref(L, LUA_REGISTRYINDEX);
  ld->n++;
  return 0;
}

static int talent_on(lua_State *L) { return add_reg(L, TD_LUA_REG_EVENT); }

/* talent.on_run(name, fn): the handler of the runs this package schedules under name. */
static int talent_on_run(lua_State *L) {
  td__lua_state_t *s = td__lua_state_of(L);
  loading_t *ld = s->loading;
  if (ld == NULL) return luaL_error(L, "talent.on_run may only be called at the top level of the package");
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (len == 0 || len > 40 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len)
    return luaL_error(L, "talent.on_run: the name must be 1 to 40 characters of a-z, 0-9, '_' and '-'");
  if (ld->nruns >= TD_LUA_REG_MAX) return luaL_error(L, "talent.on_run: too many handlers");
  for (size_t i = 0; i < ld->nruns; i++)
    if (strcmp(ld->runs[i].name, name) == 0)
      return luaL_error(L, "talent.on_run: '%s' is already registered by this package", name);
  td__lua_run_t *r = &ld->runs[ld->nruns];
  memcpy(r->name, name, len + 1);
  lua_pushvalue(L, 2);
  r->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  ld->nruns++;
  return 0;
}
static int talent_filter(lua_State *L) { return add_reg(L, TD_LUA_REG_FILTER); }

static int talent_log(lua_State *L) {
  static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
  int level = luaL_checkoption(L, 1, NULL, levels);
  size_t len;
  const char *msg = luaL_checklstring(L, 2, &len);
  td__lua_state_t *s = td__lua_state_of(L);
  if (s->cur == NULL || s->cur->log_left <= 0 || !td__log_enabled(level)) return 0;
  s->cur->log_left--;
  json_t *fields =
      json_pack("{s:s, s:s%}", "package", s->package, "message", msg, len > 1024 ? (size_t)1024 : len);
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    json_t *extra;
    char err[200];
    if (td__lua_to_json(L, 3, 8, 200, &extra, err, sizeof err) != 0) {
      json_decref(fields);
      return luaL_error(L, "talent.log: fields %s", err);
    }
    json_object_set_new(fields, "fields", extra);
  }
  td__log(level, "script.log", fields);
  return 0;
}

/* In protected mode (the package as light userdata argument): sets env.talent to a
 * read-only table. */
static int add_talent(lua_State *L) {
  static const luaL_Reg fns[] = {{"on", talent_on},
                                 {"filter", talent_filter},
                                 {"log", talent_log},
                                 {"on_run", talent_on_run},
                                 {NULL, NULL}};
  td__lua_state_t *s = td__lua_state_of(L);
  lua_pushvalue(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, PACKAGE_KEY);
  td__lua_push_env(s, L);
  luaL_newlib(L, fns);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  td__lua_api_register(s, L);
  td__lua_make_readonly(s, L);
  lua_setfield(L, -2, "talent");
  return 0;
}

static int valid_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n >= TD_LUA_PACKAGE_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_.-", name[i])) return 0;
  return 1;
}

static char *message(const char *name, const char *detail) {
  char buf[600];
  snprintf(buf, sizeof buf, "script '%s': %s", name, detail);
  return strdup(buf);
}

/* Creates a state, runs the top level in it and records its registrations in *ld. */
static int load_state(td__lua_package_t *pkg, const char *source, size_t len, const td__lua_limits_t *limits,
                      td__lua_state_t **out, loading_t *ld, char **error) {
  const char *name = pkg->name;
  td__lua_state_t *s;
  int rc = td__lua_state_new(name, limits, &s);
  if (rc != 0) return *error = message(name, "could not create the Lua state"), rc;
  lua_State *L = s->L;
  lua_pushcfunction(L, add_talent);
  lua_pushlightuserdata(L, pkg);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    td__lua_state_free(s);
    return *error = message(name, "out of memory creating the Lua state"), TD_ENOMEM;
  }
  char chunkname[TD_LUA_PACKAGE_MAX + 1];
  snprintf(chunkname, sizeof chunkname, "=%s", name);
  if (luaL_loadbufferx(L, source, len, chunkname, "t") != LUA_OK) {
    *error = message(name, lua_tostring(L, -1) != NULL ? lua_tostring(L, -1) : "does not compile");
    td__lua_state_free(s);
    return TD_EINVAL;
  }
  td__lua_push_env(s, L);
  lua_setupvalue(L, -2, 1);
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  ld->n = 0;
  ld->nruns = 0;
  s->loading = ld;
  rc = td__lua_call_sync(s, TD_LUA_CALL_LOAD, ref, NULL, NULL, error);
  s->loading = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  if (rc != 0) {
    td__lua_state_free(s);
    return rc;
  }
  lua_gc(L, LUA_GCCOLLECT);
  *out = s;
  return 0;
}

static int same_regs(const td__lua_package_t *pkg, const loading_t *ld) {
  if (ld->n != pkg->nregs) return 0;
  for (size_t i = 0; i < ld->n; i++)
    if (ld->regs[i].kind != pkg->regs[i].kind || strcmp(ld->regs[i].name, pkg->regs[i].name) != 0) return 0;
  return 1;
}

int td__lua_package_load(const char *name, const char *source, size_t len, const td__lua_limits_t *limits,
                         const td__lua_host_t *host, td__lua_package_t **out, char **error) {
  *out = NULL;
  *error = NULL;
  td__lua_limits_t l = limits != NULL ? *limits : td__lua_limits_default();
  td__lua_limits_fill(&l);
  if (name == NULL || !valid_name(name))
    return *error = strdup("a script name is 1 to 63 characters of a-z, 0-9, '_', '.' and '-'"), TD_EINVAL;
  if (len > l.load_max_bytes)
    return *error = message(name, "source is larger than the load limit"), TD_ELIMIT;
  td__lua_package_t *pkg = calloc(1, sizeof *pkg);
  loading_t *ld = calloc(1, sizeof *ld);
  if (pkg == NULL || ld == NULL) {
    free(pkg);
    free(ld);
    return TD_ENOMEM;
  }
  snprintf(pkg->name, sizeof pkg->name, "%s", name);
  if (host != NULL) pkg->host = *host;
  int rc = load_state(pkg, source, len, &l, &pkg->events, ld, error);
  if (rc == 0 && ld->nruns > 0) {
    pkg->runs = calloc(ld->nruns, sizeof *pkg->runs);
    if (pkg->runs == NULL) rc = TD_ENOMEM;
    for (size_t i = 0; pkg->runs != NULL && i < ld->nruns; i++) pkg->runs[i] = ld->runs[i];
    pkg->nruns = pkg->runs != NULL ? ld->nruns : 0;
  }
  if (rc == 0) {
    pkg->nregs = ld->n;
    pkg->regs = calloc(ld->n ? ld->n : 1, sizeof *pkg->regs);
    int filters = 0;
    for (size_t i = 0; i < ld->n; i++) {
      pkg->regs[i] = ld->regs[i];
      pkg->regs[i].pkg = pkg;
      pkg->regs[i].filter_ref = LUA_NOREF;
      pkg->regs[i].event_ref = ld->refs[i]; /* filter fns stay referenced but unused here */
      filters |= ld->regs[i].kind == TD_LUA_REG_FILTER;
    }
    if (filters) rc = load_state(pkg, source, len, &l, &pkg->filters, ld, error);
    if (filters && rc == 0 && !same_regs(pkg, ld)) {
      *error = message(name, "the top level registered differently on a second run; make it deterministic");
      rc = TD_EINVAL;
    }
    for (size_t i = 0; filters && rc == 0 && i < ld->n; i++) pkg->regs[i].filter_ref = ld->refs[i];
  }
  free(ld);
  if (rc != 0) {
    td__lua_package_free(pkg);
    return rc;
  }
  *out = pkg;
  return 0;
}

void td__lua_package_free(td__lua_package_t *pkg) {
  if (pkg == NULL) return;
  td__lua_state_free(pkg->events);
  td__lua_state_free(pkg->filters);
  free(pkg->regs);
  free(pkg->runs);
  json_decref(pkg->dry_log);
  free(pkg);
}

int td__lua_package_filter_call(td__lua_package_t *pkg, const td__lua_reg_t *reg, struct td__ctx *ctx,
                                const json_t *proposed, json_t **results, char **error) {
  if (pkg->filters == NULL || reg->kind != TD_LUA_REG_FILTER) return TD_EINVAL;
  struct td__ctx *prev = pkg->filter_ctx;
  pkg->filter_ctx = ctx; /* read-only lookups of the talent API run on it */
  int rc = td__lua_call_sync(pkg->filters, TD_LUA_CALL_FILTER, reg->filter_ref, proposed, results, error);
  pkg->filter_ctx = prev;
  return rc;
}

int td__lua_package_run_call(td__lua_package_t *pkg, const char *name, const json_t *payload,
                             td__lua_done_fn done, void *ud) {
  uv_loop_t *loop = pkg->host.loop != NULL ? pkg->host.loop : pkg->loop;
  if (loop == NULL) return TD_EINVAL;
  for (size_t i = 0; i < pkg->nruns; i++)
    if (strcmp(pkg->runs[i].name, name) == 0)
      return td__lua_call_async(pkg->events, loop, TD_LUA_CALL_EVENT, pkg->runs[i].ref, payload, false, done,
                                ud);
  return TD_ENOTFOUND;
}

int td__lua_package_event_call(td__lua_package_t *pkg, const td__lua_reg_t *reg, uv_loop_t *loop,
                               const json_t *envelope, td__lua_done_fn done, void *ud) {
  if (reg->kind != TD_LUA_REG_EVENT) return TD_EINVAL;
  return td__lua_call_async(pkg->events, loop, TD_LUA_CALL_EVENT, reg->event_ref, envelope, false, done, ud);
}
