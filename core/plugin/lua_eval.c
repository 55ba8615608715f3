/* lua_eval (see lua_eval.h). Every evaluation gets its own sandboxed state (lua/sandbox.h):
 * nothing one chunk does can be seen by the next, a state is only ever touched by the thread
 * that made it, and creating one costs tens of microseconds, which is cheap next to the
 * database work around a sequence step. The budgets are the filter budgets, smaller memory. */
#include "plugin/lua_eval.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/call.h"
#include "lua/sandbox.h"
#include "plugin/host.h"

#define CHUNK_MAX (64 * 1024)
#define MEMORY_BYTES (4u * 1024 * 1024)
#define CPU_MS 25
#define WALL_MS 250

int td__plugin_lua_eval(td_plugin_t *self, const char *chunk, const json_t *vars, json_t **result, char *why,
                        size_t why_size) {
  char scratch[256];
  if (why == NULL || why_size == 0) why = scratch, why_size = sizeof scratch;
  why[0] = '\0';
  if (result) *result = NULL;
  size_t len = chunk ? strlen(chunk) : 0;
  if (self == NULL || chunk == NULL || len > CHUNK_MAX || (vars && !json_is_object(vars))) {
    snprintf(why, why_size, "the chunk must be text of at most 64 KiB and vars an object");
    return TD_EINVAL;
  }
  td__lua_limits_t limits = {
      .memory_bytes = MEMORY_BYTES, .filter_cpu_ms = CPU_MS, .filter_wall_ms = WALL_MS, .load_cpu_ms = CPU_MS};
  char package[TD_LUA_PACKAGE_MAX];
  snprintf(package, sizeof package, "%s", self->name);
  td__lua_state_t *s = NULL;
  int rc = td__lua_state_new(package, &limits, &s);
  if (rc) {
    snprintf(why, why_size, "cannot create a Lua state");
    return rc;
  }
  lua_State *L = s->L;
  if (luaL_loadbufferx(L, chunk, len, "=condition", "t") != LUA_OK) {
    const char *m = lua_tostring(L, -1);
    snprintf(why, why_size, "%s", m ? m : "does not compile");
    td__lua_state_free(s);
    return TD_EINVAL;
  }
  td__lua_push_env(s, L);
  lua_setupvalue(L, -2, 1);
  if (result == NULL) {
    td__lua_state_free(s);
    return 0;
  }
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  json_t *results = NULL;
  char *error = NULL;
  rc = td__lua_call_sync(s, TD_LUA_CALL_FILTER, ref, vars, &results, &error);
  if (rc == 0) {
    json_t *first = json_array_get(results, 0);
    *result = first ? json_incref(first) : json_null();
  } else {
    snprintf(why, why_size, "%s", error ? error : "the chunk failed");
  }
  free(error);
  json_decref(results);
  td__lua_state_free(s);
  return rc;
}
