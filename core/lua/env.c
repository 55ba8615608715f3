/* The sandbox _ENV (see sandbox.h): the allow-listed globals, read-only library proxies,
 * and the wrappers that keep scripts inside their budgets (load, setmetatable, rawset,
 * print, collectgarbage, table.sort/move/insert/remove, coroutine.resume/wrap/running). */
#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "lua/pattern.h"
#include "lua/sandbox.h"
#include "util/log.h"

#define PRINT_MAX 1024

/* --- read-only proxies --- */

static int readonly_newindex(lua_State *L) {
  return luaL_error(L, "attempt to modify a read-only table (libraries and talent cannot be changed)");
}

/* Iterator of a proxy: next() over the real table (upvalue 1), which it never hands out. */
static int proxy_next(lua_State *L) {
  lua_settop(L, 2);
  if (lua_next(L, lua_upvalueindex(1)) == 0) return 0;
  return 2;
}

static int proxy_pairs(lua_State *L) {
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__index");
  lua_pushcclosure(L, proxy_next, 1);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

void td__lua_make_readonly(td__lua_state_t *s, lua_State *L) {
  int real = lua_gettop(L);
  lua_newtable(L); /* the proxy */
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, readonly_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, proxy_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->proxies_ref);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_replace(L, real);
}

static int is_proxy(lua_State *L, int idx) {
  td__lua_state_t *s = td__lua_state_of(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->proxies_ref);
  lua_pushvalue(L, idx);
  int r = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 2);
  return r;
}

/* --- base wrappers --- */

static int sb_rawset(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  if (is_proxy(L, 1)) return luaL_error(L, "rawset: libraries and talent are read-only");
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

/* setmetatable without finalizers: a __gc would run script code outside any budget. */
static int sb_setmetatable(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int t = lua_type(L, 2);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
  if (t == LUA_TTABLE && lua_getfield(L, 2, "__gc") != LUA_TNIL)
    return luaL_error(L, "setmetatable: __gc metamethods (finalizers) are not allowed in scripts");
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
    return luaL_error(L, "cannot change a protected metatable");
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

static int sb_print(lua_State *L) {
  td__lua_state_t *s = td__lua_state_of(L);
  if (s->cur == NULL || s->cur->log_left <= 0) return 0;
  s->cur->log_left--;
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) { /* convert in place first: the buffer needs a quiet stack */
    luaL_tolstring(L, i, NULL);
    lua_replace(L, i);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n && luaL_bufflen(&b) < PRINT_MAX; i++) {
    size_t len;
    const char *str = lua_tolstring(L, i, &len);
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_addlstring(&b, str, len > PRINT_MAX ? PRINT_MAX : len);
  }
  luaL_pushresult(&b);
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  td__log(TD_LOG_INFO, "script.print",
          json_pack("{s:s, s:s%}", "package", s->package, "message", msg, len > PRINT_MAX ? PRINT_MAX : len));
  return 0;
}

/* An error raised by the count hook runs the message handler with hooks disabled (Lua
 * does not hook inside a hook), so xpcall's handler would escape every budget: the
 * sandbox's handler calls the script's one only while the call has not been stopped. */
static int xpcall_handler(lua_State *L) {
  td__lua_state_t *s = td__lua_state_of(L);
  if (s->cur == NULL || s->cur->kill != TD_LUA_KILL_NONE) return 1; /* the error as it is */
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

static int xpcall_done(lua_State *L, int status, lua_KContext extra) {
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - (int)extra;
}

static int sb_xpcall(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, xpcall_handler, 1);
  lua_replace(L, 2);
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2); /* handler, true, f, args... */
  return xpcall_done(L, lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, xpcall_done), 2);
}

/* load: strings only, text only, bounded size, the sandbox _ENV unless a table is given. */
static int sb_load(lua_State *L) {
  td__lua_state_t *s = td__lua_state_of(L);
  size_t len;
  if (lua_type(L, 1) != LUA_TSTRING) return luaL_error(L, "load: only strings can be loaded in scripts");
  const char *chunk = lua_tolstring(L, 1, &len);
  if (len > s->limits.load_max_bytes)
    return luaL_error(L, "load: chunk of %I bytes exceeds the limit of %I bytes", (lua_Integer)len,
                      (lua_Integer)s->limits.load_max_bytes);
  int has_env = !lua_isnone(L, 4);
  if (luaL_loadbufferx(L, chunk, len, "=load", "t") != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env)
    lua_pushvalue(L, 4);
  else
    td__lua_push_env(s, L);
  lua_setupvalue(L, -2, 1);
  return 1;
}

static int sb_collectgarbage(lua_State *L) {
  const char *opt = luaL_optstring(L, 1, "collect");
  if (strcmp(opt, "count") == 0) {
    int kb = lua_gc(L, LUA_GCCOUNT), b = lua_gc(L, LUA_GCCOUNTB);
    lua_pushnumber(L, (lua_Number)kb + (lua_Number)b / 1024);
    return 1;
  }
  if (strcmp(opt, "collect") == 0 || strcmp(opt, "step") == 0) {
    lua_gc(L, LUA_GCCOLLECT);
    lua_pushinteger(L, 0);
    return 1;
  }
  return luaL_error(L, "collectgarbage: option '%s' is not allowed in scripts", opt);
}

/* --- table wrappers: bound the C loops a count hook cannot interrupt --- */

static int call_original(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* A library function that may build a large string: afterwards the count hook runs at
 * once when the result is large, so a loop of such calls is checked and sliced in time. */
static int sb_heavy(lua_State *L) {
  int n = call_original(L);
  if (n > 0 && lua_type(L, 1) == LUA_TSTRING && lua_rawlen(L, 1) > 64 * 1024) td__lua_hook_soon(L);
  return n;
}

static int sb_table_sort(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  if (n > (lua_Integer)td__lua_state_of(L)->limits.table_max_move)
    return luaL_error(L, "table.sort: %I elements exceed the limit of %I", n,
                      (lua_Integer)td__lua_state_of(L)->limits.table_max_move);
  return call_original(L);
}

/* table.concat builds its result in one C call the count hook cannot interrupt: refuse,
 * before building anything, a result larger than a quarter of the state's memory (copying
 * megabytes while the buffer doubles held the loop for over 100 ms under ASan). Sizes are
 * taken from the raw values: the original call still applies __index and its own errors. */
static int sb_table_concat(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t seplen = 0;
  luaL_optlstring(L, 2, "", &seplen);
  lua_Integer i = luaL_optinteger(L, 3, 1);
  lua_Integer j = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
  const td__lua_state_t *s = td__lua_state_of(L);
  if (j >= i && (lua_Unsigned)j - (lua_Unsigned)i >= s->limits.table_max_move)
    return luaL_error(L, "table.concat: more than %I elements", (lua_Integer)s->limits.table_max_move);
  size_t total = 0, cap = s->limits.memory_bytes / 4;
  for (lua_Integer k = i; k <= j && total <= cap; k++) {
    int type = lua_rawgeti(L, 1, k);
    total += (type == LUA_TSTRING ? lua_rawlen(L, -1) : 24) + seplen;
    lua_pop(L, 1);
  }
  if (total > cap) return luaL_error(L, "table.concat: the result would exceed %I bytes", (lua_Integer)cap);
  return sb_heavy(L);
}

static int sb_table_move(lua_State *L) {
  lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
  lua_Integer max = (lua_Integer)td__lua_state_of(L)->limits.table_max_move;
  if (e >= f && (f < 0 ? e > f + max : e - f >= max))
    return luaL_error(L, "table.move: more than %I elements", max);
  return call_original(L);
}

/* table.insert/remove shift every element up to #t: refuse a __len far beyond the real
 * array, which would make that loop endless. */
static int sb_table_shift(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  if (n < 0 || (lua_Unsigned)n > (lua_Unsigned)lua_rawlen(L, 1) + 1)
    return luaL_error(L, "table length %I (from __len) is out of range", n);
  return call_original(L);
}

/* --- coroutines: a forced yield inside a nested coroutine is passed up to the host --- */

static int co_step(lua_State *L, lua_State *co, int narg, int wrap);

static int co_cont(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  lua_settop(L, 1);
  return co_step(L, lua_tothread(L, 1), 0, (int)ctx);
}

static int co_finish(lua_State *L, lua_State *co, int status, int nres, int wrap) {
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      return luaL_error(L, "too many results to resume");
    }
    if (!wrap) lua_pushboolean(L, 1);
    lua_xmove(co, L, nres);
    return nres + (wrap ? 0 : 1);
  }
  lua_xmove(co, L, 1);
  if (wrap) return lua_error(L);
  lua_pushboolean(L, 0);
  lua_insert(L, -2);
  return 2;
}

static int co_step(lua_State *L, lua_State *co, int narg, int wrap) {
  td__lua_state_t *s = td__lua_state_of(L);
  for (;;) {
    int nres = 0;
    s->hook_yielded = NULL;
    int status = lua_resume(co, L, narg, &nres);
    if (status != LUA_YIELD || s->hook_yielded != co) return co_finish(L, co, status, nres, wrap);
    s->hook_yielded = NULL;
    lua_pop(co, nres);
    if (lua_isyieldable(L) && s->cur != NULL) {
      if (L != s->cur->thread) s->hook_yielded = L;
      return lua_yieldk(L, 0, (lua_KContext)wrap, co_cont);
    }
    narg = 0; /* cannot yield here: go on (the unyielding limit applies) */
  }
}

static int co_start(lua_State *L, lua_State *co, int wrap) {
  int narg = lua_gettop(L) - 1;
  if (lua_status(co) == LUA_OK && lua_gettop(co) == 0) {
    if (wrap) return luaL_error(L, "cannot resume dead coroutine");
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "cannot resume dead coroutine");
    return 2;
  }
  if (!lua_checkstack(co, narg)) return luaL_error(L, "too many arguments to resume");
  lua_xmove(L, co, narg);
  return co_step(L, co, narg, wrap);
}

static int sb_resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co != NULL, 1, "coroutine");
  return co_start(L, co, 0);
}

static int wrap_call(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  return co_start(L, lua_tothread(L, 1), 1);
}

static int sb_wrap(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State *co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, wrap_call, 1);
  return 1;
}

/* The host's call thread is never handed to a script (it could resume or close it). */
static int sb_running(lua_State *L) {
  td__lua_state_t *s = td__lua_state_of(L);
  if (s->cur != NULL && L == s->cur->thread) {
    lua_pushnil(L);
    lua_pushboolean(L, 1);
    return 2;
  }
  lua_pushthread(L);
  lua_pushboolean(L, 0);
  return 2;
}

/* --- building the environment --- */

/* Copies the names (NULL-terminated) of the table at src into the table at the top. */
static void copy_fields(lua_State *L, int src, const char *const *names) {
  for (; *names != NULL; names++) {
    lua_getfield(L, src, *names);
    lua_setfield(L, -2, *names);
  }
}

/* Copies every field of the table at src except the names listed into a new table. */
static void copy_except(lua_State *L, int src, const char *const *except) {
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, src) != 0) {
    int skip = 0;
    if (lua_type(L, -2) == LUA_TSTRING)
      for (const char *const *e = except; *e != NULL; e++) skip |= strcmp(lua_tostring(L, -2), *e) == 0;
    if (skip) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

/* Replaces field name of the table at the top with fn, keeping the original as upvalue 1. */
static void wrap_field(lua_State *L, const char *name, lua_CFunction fn) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, -2, name);
}

/* Opens library name with open, leaves a private copy (without except) at the top. */
static int open_copy(lua_State *L, const char *name, lua_CFunction open, const char *const *except) {
  luaL_requiref(L, name, open, 0);
  int src = lua_gettop(L);
  copy_except(L, src, except);
  lua_remove(L, src);
  return lua_gettop(L);
}

/* Sets env[name] to a read-only proxy of the table at the top (popped). */
static void publish(td__lua_state_t *s, lua_State *L, int env, const char *name) {
  td__lua_make_readonly(s, L);
  lua_setfield(L, env, name);
}

static void build_string(td__lua_state_t *s, lua_State *L, int env) {
  static const char *const except[] = {"dump", NULL};
  open_copy(L, LUA_STRLIBNAME, luaopen_string, except);
  td__lua_pattern_register(L, -1, s->limits.pattern_steps, s);
  static const char *const heavy[] = {"rep", "format", "upper", "lower", "reverse", NULL};
  for (const char *const *h = heavy; *h != NULL; h++) wrap_field(L, *h, sb_heavy);
  /* The string metatable indexes the private copy and is locked: a script can neither
   * read nor replace it. */
  lua_pushliteral(L, "");
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_pop(L, 1);
  publish(s, L, env, "string");
}

static void build_libraries(td__lua_state_t *s, lua_State *L, int env) {
  static const char *const none[] = {NULL};
  static const char *const co_except[] = {"resume", "wrap", "running", NULL};
  build_string(s, L, env);
  open_copy(L, LUA_TABLIBNAME, luaopen_table, none);
  lua_getfield(L, -1, "unpack");
  lua_setfield(L, env, "unpack");
  wrap_field(L, "sort", sb_table_sort);
  wrap_field(L, "concat", sb_table_concat);
  wrap_field(L, "move", sb_table_move);
  wrap_field(L, "insert", sb_table_shift);
  wrap_field(L, "remove", sb_table_shift);
  publish(s, L, env, "table");
  open_copy(L, LUA_MATHLIBNAME, luaopen_math, none);
  publish(s, L, env, "math");
  open_copy(L, LUA_UTF8LIBNAME, luaopen_utf8, none);
  publish(s, L, env, "utf8");
  open_copy(L, LUA_COLIBNAME, luaopen_coroutine, co_except);
  lua_pushcfunction(L, sb_resume);
  lua_setfield(L, -2, "resume");
  lua_pushcfunction(L, sb_wrap);
  lua_setfield(L, -2, "wrap");
  lua_pushcfunction(L, sb_running);
  lua_setfield(L, -2, "running");
  publish(s, L, env, "coroutine");
  static const char *const os_names[] = {"time", "clock", "date", NULL};
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
  lua_newtable(L);
  copy_fields(L, lua_gettop(L) - 1, os_names);
  lua_remove(L, -2);
  publish(s, L, env, "os");
}

int td__lua_env_build(lua_State *L) {
  static const char *const base[] = {"assert", "error",        "ipairs",   "next", "pairs",    "pcall",
                                     "select", "tonumber",     "tostring", "type", "rawequal", "rawlen",
                                     "rawget", "getmetatable", "_VERSION", NULL};
  td__lua_state_t *s = td__lua_state_of(L);
  lua_newtable(L); /* weak-keyed set of the read-only proxies */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  s->proxies_ref = luaL_ref(L, LUA_REGISTRYINDEX);

  luaL_requiref(L, LUA_GNAME, luaopen_base, 0);
  int g = lua_gettop(L);
  lua_newtable(L);
  int env = lua_gettop(L);
  copy_fields(L, g, base);
  static const luaL_Reg own[] = {
      {"rawset", sb_rawset}, {"setmetatable", sb_setmetatable},     {"print", sb_print},
      {"load", sb_load},     {"collectgarbage", sb_collectgarbage}, {"xpcall", sb_xpcall},
      {NULL, NULL}};
  luaL_setfuncs(L, own, 0);
  lua_pushvalue(L, env);
  lua_setfield(L, env, "_G");
  build_libraries(s, L, env);
  lua_pushvalue(L, env);
  s->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  return 0;
}
