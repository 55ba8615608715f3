/* The sandboxed lua_State (see sandbox.h): the counting allocator, the count hook that
 * enforces the call budgets, and the state's life cycle. The _ENV lives in env.c. */
#include "lua/sandbox.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "talentd/types.h"
#include "util/time.h"

#define MIB ((size_t)1024 * 1024)

td__lua_limits_t td__lua_limits_default(void) {
  td__lua_limits_t l = {
      .memory_bytes = 16 * MIB,
      .filter_cpu_ms = 25,
      .filter_wall_ms = 250,
      .event_cpu_ms = 500,
      .event_wall_ms = 30000,
      .load_cpu_ms = 500,
      .slice_us = 2000,
      .loop_share_percent = 25,
      .unyielding_ms = 50,
      .hook_instructions = 1000,
      .load_max_bytes = 256 * 1024,
      .pattern_steps = 1000000,
      .table_max_move = 100000,
      .json_max_depth = 32,
      .json_max_items = 100000,
  };
  return l;
}

void td__lua_limits_fill(td__lua_limits_t *limits) {
  td__lua_limits_t d = td__lua_limits_default();
#define FILL(m) \
  if (limits->m <= 0) limits->m = d.m
  FILL(memory_bytes);
  FILL(filter_cpu_ms);
  FILL(filter_wall_ms);
  FILL(event_cpu_ms);
  FILL(event_wall_ms);
  FILL(load_cpu_ms);
  FILL(slice_us);
  FILL(loop_share_percent);
  FILL(unyielding_ms);
  FILL(hook_instructions);
  FILL(load_max_bytes);
  FILL(pattern_steps);
  FILL(table_max_move);
  FILL(json_max_depth);
  FILL(json_max_items);
#undef FILL
}

int64_t td__lua_thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The counting allocator: refuses growth past the cap (shrinking never fails, as Lua
 * requires) and marks the running call as stopped for memory, so pcall cannot retry. */
static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  td__lua_state_t *s = ud;
  size_t old = ptr == NULL ? 0 : osize;
  if (nsize == 0) {
    free(ptr);
    s->mem_used -= old;
    return NULL;
  }
  if (nsize > old && s->mem_used - old + nsize > s->limits.memory_bytes) {
    if (s->cur != NULL && s->cur->kill == TD_LUA_KILL_NONE) s->cur->kill = TD_LUA_KILL_MEMORY;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (p == NULL) return NULL;
  s->mem_used = s->mem_used - old + nsize;
  if (s->mem_used > s->mem_peak) s->mem_peak = s->mem_used;
  return p;
}

td__lua_state_t *td__lua_state_of(lua_State *L) { return *(td__lua_state_t **)lua_getextraspace(L); }

void td__lua_kill_message(const td__lua_state_t *s, const td__lua_budget_t *b, char *buf, size_t size) {
  switch (b != NULL ? b->kill : TD_LUA_KILL_NOBUDGET) {
    case TD_LUA_KILL_CPU:
      snprintf(buf, size, "CPU budget of %lld ms exceeded", (long long)(b->cpu_limit_ns / 1000000));
      break;
    case TD_LUA_KILL_WALL:
      snprintf(buf, size, "wall-clock deadline of %lld ms exceeded", (long long)b->wall_limit_ms);
      break;
    case TD_LUA_KILL_MEMORY:
      snprintf(buf, size, "memory limit of %zu MiB exceeded", s->limits.memory_bytes / MIB);
      break;
    case TD_LUA_KILL_PATTERN: snprintf(buf, size, "pattern too complex (step budget exhausted)"); break;
    case TD_LUA_KILL_UNYIELDING:
      snprintf(
          buf, size,
          "ran %lld ms without a chance to yield (inside a C function such as a table.sort comparator, a "
          "gsub callback or a metamethod)",
          (long long)s->limits.unyielding_ms);
      break;
    default: snprintf(buf, size, "script code ran outside a call budget"); break;
  }
}

int td__lua_kill(lua_State *L, td__lua_kill_t reason) {
  td__lua_state_t *s = td__lua_state_of(L);
  if (s->cur != NULL && s->cur->kill == TD_LUA_KILL_NONE) s->cur->kill = reason;
  char msg[256];
  td__lua_kill_message(s, s->cur, msg, sizeof msg);
  return luaL_error(L, "%s", msg);
}

/* Whether the running call is out of CPU or wall time (sets its kill reason). */
static void check_budget(td__lua_budget_t *b, int64_t now) {
  if (now > b->wall_deadline) {
    b->kill = TD_LUA_KILL_WALL;
    return;
  }
  if (b->cpu_used_ns + (td__lua_thread_cpu_ns() - b->cpu_start_ns) > b->cpu_limit_ns)
    b->kill = TD_LUA_KILL_CPU;
}

/* The count hook. Only the host's call thread yields to the host; a nested coroutine
 * resumed by the sandbox's coroutine.resume may yield too (env.c passes that yield up),
 * elsewhere a stopped call raises. */
static void count_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  td__lua_state_t *s = td__lua_state_of(L);
  td__lua_budget_t *b = s->cur;
  if (lua_gethookcount(L) != s->limits.hook_instructions) /* after td__lua_hook_soon */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, s->limits.hook_instructions);
  if (b == NULL) {
    luaL_error(L, "script code ran outside a call budget");
    return;
  }
  int64_t now = (int64_t)td__time_mono_ns();
  if (b->kill == TD_LUA_KILL_NONE) check_budget(b, now);
  if (b->kill != TD_LUA_KILL_NONE) {
    if (L == b->thread && lua_isyieldable(L)) {
      lua_yield(L, 0);
      return;
    }
    td__lua_kill(L, b->kill);
    return;
  }
  if (!b->slices || now - b->slice_start < s->limits.slice_us * 1000) return;
  if (lua_isyieldable(L)) {
    if (L != b->thread) s->hook_yielded = L;
    lua_yield(L, 0);
    return;
  }
  if (now - b->slice_start > s->limits.unyielding_ms * 1000000) td__lua_kill(L, TD_LUA_KILL_UNYIELDING);
}

void td__lua_hook_soon(lua_State *L) {
  if (td__lua_state_of(L)->cur != NULL) lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
}

/* Runs in protected mode: builds the environment. */
static int open_state(lua_State *L) { return td__lua_env_build(L); }

int td__lua_state_new(const char *package, const td__lua_limits_t *limits, td__lua_state_t **out) {
  *out = NULL;
  if (package == NULL || package[0] == '\0' || strlen(package) >= TD_LUA_PACKAGE_MAX) return TD_EINVAL;
  td__lua_state_t *s = calloc(1, sizeof *s);
  if (s == NULL) return TD_ENOMEM;
  snprintf(s->package, sizeof s->package, "%s", package);
  if (limits != NULL) s->limits = *limits;
  td__lua_limits_fill(&s->limits);
  s->env_ref = LUA_NOREF;
  s->proxies_ref = LUA_NOREF;
  s->L = lua_newstate(counting_alloc, s);
  if (s->L == NULL) {
    free(s);
    return TD_ENOMEM;
  }
  *(td__lua_state_t **)lua_getextraspace(s->L) = s;
  lua_setwarnf(s->L, NULL, NULL);
  lua_pushcfunction(s->L, open_state);
  if (lua_pcall(s->L, 0, 0, 0) != LUA_OK) {
    td__lua_state_free(s);
    return TD_ENOMEM;
  }
  /* Installed last so every thread created from now on inherits it. */
  lua_sethook(s->L, count_hook, LUA_MASKCOUNT, s->limits.hook_instructions);
  lua_gc(s->L, LUA_GCCOLLECT);
  *out = s;
  return 0;
}

void td__lua_state_free(td__lua_state_t *s) {
  if (s == NULL) return;
  if (s->L != NULL) lua_close(s->L);
  free(s);
}

void td__lua_push_env(td__lua_state_t *s, lua_State *L) { lua_rawgeti(L, LUA_REGISTRYINDEX, s->env_ref); }
