/* Budgeted calls into a sandboxed state, synchronous and on the loop (see call.h). */
#include "lua/call.h"

#include <lauxlib.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/json.h"
#include "talentd/types.h"
#include "util/time.h"

#define LOG_LINES_PER_CALL 100

typedef struct call {
  td__lua_state_t *s;
  td__lua_budget_t b;
  lua_State *co;
  int co_ref;
  int narg; /* arguments for the first resume */
  int fn_ref;
  td__lua_call_kind_t kind;
  const json_t *arg; /* borrowed until setup */
  bool want_results;
  bool done_flag;
  int rc;
  json_t *results;
  char error[512];
  uv_idle_t idle;
  uv_timer_t timer; /* the wall deadline while a host call waits (async calls) */
  int handles_open; /* closed handles before the call is freed */
  bool waiting;     /* suspended on hc, the idle handle stopped */
  int effects;      /* side effects so far (TD_LUA_EFFECTS_MAX) */
  struct td__lua_host_call *hc;
  td__lua_done_fn done;
  void *ud;
} call_t;

/* A host call (call.h). Owned by its call while attached; once the call ended before the
 * work completed (c == NULL), the completion frees it. */
struct td__lua_host_call {
  call_t *c;
  bool completed;
  json_t *result;
  char *error;
};

static void host_free(struct td__lua_host_call *hc) {
  if (hc == NULL) return;
  json_decref(hc->result);
  free(hc->error);
  free(hc);
}

/* Detaches the call's host call: freed when complete, else left to its completion. */
static void host_detach(call_t *c) {
  struct td__lua_host_call *hc = c->hc;
  c->hc = NULL;
  if (hc == NULL) return;
  if (hc->completed)
    host_free(hc);
  else
    hc->c = NULL;
}

static void budget_init(call_t *c, td__lua_call_kind_t kind, bool slices) {
  const td__lua_limits_t *l = &c->s->limits;
  int64_t cpu = kind == TD_LUA_CALL_FILTER  ? l->filter_cpu_ms
                : kind == TD_LUA_CALL_EVENT ? l->event_cpu_ms
                                            : l->load_cpu_ms;
  int64_t wall = kind == TD_LUA_CALL_FILTER ? l->filter_wall_ms : l->event_wall_ms;
  c->b.cpu_limit_ns = cpu * 1000000;
  c->b.wall_deadline = (int64_t)td__time_mono_ns() + wall * 1000000;
  c->b.wall_limit_ms = wall;
  c->b.slices = slices;
  c->b.log_left = LOG_LINES_PER_CALL;
  c->b.kill = TD_LUA_KILL_NONE;
}

static void fail(call_t *c, int rc, const char *msg) {
  c->rc = rc;
  snprintf(c->error, sizeof c->error, "script '%s': %s", c->s->package, msg);
  c->done_flag = true;
}

/* In protected mode on the main thread: the call's coroutine with the function and the
 * converted argument on its stack. */
static int setup(lua_State *L) {
  call_t *c = lua_touserdata(L, 1);
  c->co = lua_newthread(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->fn_ref);
  if (lua_type(L, -1) != LUA_TFUNCTION) return luaL_error(L, "no function to call");
  c->narg = 0;
  if (c->arg != NULL) {
    td__lua_push_json(L, c->arg, c->s->limits.json_max_depth, c->s->limits.json_max_items);
    c->narg = 1;
  }
  lua_xmove(L, c->co, c->narg + 1);
  c->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int call_init(call_t *c, td__lua_state_t *s, td__lua_call_kind_t kind, int fn_ref, const json_t *arg,
                     bool slices) {
  c->s = s;
  c->kind = kind;
  c->fn_ref = fn_ref;
  c->arg = arg;
  c->co_ref = LUA_NOREF;
  budget_init(c, kind, slices);
  lua_State *L = s->L;
  lua_pushcfunction(L, setup);
  lua_pushlightuserdata(L, c);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fail(c, TD_EINVAL, msg != NULL ? msg : "the call could not be set up");
    lua_pop(L, 1);
    c->co = NULL;
    return -1;
  }
  c->b.thread = c->co;
  c->arg = NULL;
  return 0;
}

/* The error of a failed coroutine, without running any script code or allocating. */
static void fail_from_error(call_t *c) {
  char msg[400];
  lua_State *co = c->co;
  if (c->b.kill != TD_LUA_KILL_NONE) {
    td__lua_kill_message(c->s, &c->b, msg, sizeof msg);
    fail(c, c->b.kill == TD_LUA_KILL_MEMORY ? TD_ENOMEM : TD_ELIMIT, msg);
    return;
  }
  int t = lua_type(co, -1);
  if (t == LUA_TSTRING)
    snprintf(msg, sizeof msg, "%s", lua_tostring(co, -1));
  else if (t == LUA_TNUMBER && lua_isinteger(co, -1))
    snprintf(msg, sizeof msg, "%lld", (long long)lua_tointeger(co, -1));
  else if (t == LUA_TNUMBER)
    snprintf(msg, sizeof msg, "%g", (double)lua_tonumber(co, -1));
  else
    snprintf(msg, sizeof msg, "(error object is a %s value)", lua_typename(co, t));
  fail(c, TD_EINVAL, msg);
}

static void finish_ok(call_t *c, int nres) {
  c->done_flag = true;
  if (!c->want_results) return;
  json_t *a = json_array();
  int base = lua_gettop(c->co) - nres;
  for (int i = 1; a != NULL && i <= nres; i++) {
    json_t *v;
    char err[300];
    if (td__lua_to_json(c->co, base + i, c->s->limits.json_max_depth, c->s->limits.json_max_items, &v, err,
                        sizeof err) != 0) {
      char msg[400];
      snprintf(msg, sizeof msg, "result %d: %s", i, err);
      fail(c, TD_EINVAL, msg);
      json_decref(a);
      return;
    }
    json_array_append_new(a, v);
  }
  c->results = a;
}

/* Closes the call's coroutine (a stopped one is reset: its pending __close handlers run
 * under the stopped budget, so they end at once) and lets the state collect. */
static void call_close(call_t *c) {
  td__lua_state_t *s = c->s;
  if (c->co != NULL && lua_status(c->co) == LUA_YIELD) {
    td__lua_budget_t *prev = s->cur;
    if (c->b.kill == TD_LUA_KILL_NONE) c->b.kill = TD_LUA_KILL_NOBUDGET;
    s->cur = &c->b;
    lua_resetthread(c->co);
    s->cur = prev;
  }
  host_detach(c);
  if (c->co_ref != LUA_NOREF) luaL_unref(s->L, LUA_REGISTRYINDEX, c->co_ref);
  c->co_ref = LUA_NOREF;
  c->co = NULL;
  if (c->rc != 0) lua_gc(s->L, LUA_GCCOLLECT);
}

static void wait_host(call_t *c);

/* Runs one slice; sets done_flag when the call ended. */
static void run_slice(call_t *c) {
  td__lua_state_t *s = c->s;
  td__lua_budget_t *b = &c->b, *prev = s->cur;
  s->cur = b;
  b->cpu_start_ns = td__lua_thread_cpu_ns();
  b->slice_start = (int64_t)td__time_mono_ns();
  int nres = 0;
  int status = lua_resume(c->co, NULL, c->narg, &nres);
  c->narg = 0;
  b->cpu_used_ns += td__lua_thread_cpu_ns() - b->cpu_start_ns;
  if (status == LUA_YIELD) {
    lua_pop(c->co, nres);
    if (b->kill == TD_LUA_KILL_NONE && (int64_t)td__time_mono_ns() > b->wall_deadline)
      b->kill = TD_LUA_KILL_WALL;
    if (b->kill == TD_LUA_KILL_NONE && b->cpu_used_ns > b->cpu_limit_ns) b->kill = TD_LUA_KILL_CPU;
    if (b->kill != TD_LUA_KILL_NONE) fail_from_error(c);
    if (!c->done_flag && c->hc != NULL && !c->hc->completed) wait_host(c);
  } else if (status == LUA_OK) {
    if (b->kill != TD_LUA_KILL_NONE)
      fail_from_error(c); /* e.g. memory ran out but the script caught it */
    else
      finish_ok(c, nres);
  } else {
    fail_from_error(c);
  }
  s->cur = prev;
  if (c->done_flag) call_close(c);
}

int td__lua_call_sync(td__lua_state_t *s, td__lua_call_kind_t kind, int fn_ref, const json_t *arg,
                      json_t **results, char **error) {
  if (results != NULL) *results = NULL;
  if (error != NULL) *error = NULL;
  if (s->cur != NULL) return TD_EBUSY;
  call_t c;
  memset(&c, 0, sizeof c);
  c.want_results = results != NULL;
  if (call_init(&c, s, kind, fn_ref, arg, false) == 0) {
    while (!c.done_flag) run_slice(&c);
  }
  if (c.rc != 0) {
    json_decref(c.results);
    if (error != NULL) *error = strdup(c.error);
    return c.rc;
  }
  if (results != NULL) *results = c.results;
  return 0;
}

static void on_closed(uv_handle_t *h) {
  call_t *c = h->data;
  if (--c->handles_open == 0) free(c);
}

/* Reports the end of an async call and releases its handles. */
static void finish_async(call_t *c) {
  uv_idle_stop(&c->idle);
  uv_timer_stop(&c->timer);
  c->s->running--;
  c->done(c->ud, c->rc, c->rc == 0 ? c->results : NULL, c->rc != 0 ? c->error : NULL);
  json_decref(c->results);
  c->results = NULL;
  uv_close((uv_handle_t *)&c->idle, on_closed);
  uv_close((uv_handle_t *)&c->timer, on_closed);
}

/* The loop's time for Lua: a token bucket shared by every async call (they all run on the
 * loop thread). It fills at loop_share_percent of wall time, up to two slices, and each
 * slice spends what it used. Short handlers cost little and run at once, one after the
 * other; runaway ones get at most the share, and the loop serves requests the rest of the
 * time (between slices it spins through its idle phase, polling I/O without waiting). */
static struct { int64_t tokens_ns, at_ns; } share;

static bool may_run_slice(const td__lua_limits_t *l, int64_t now) {
  int64_t cap = 2 * l->slice_us * 1000;
  if (share.at_ns == 0)
    share.tokens_ns = cap;
  else
    share.tokens_ns += (now - share.at_ns) * l->loop_share_percent / 100;
  share.at_ns = now;
  if (share.tokens_ns > cap) share.tokens_ns = cap;
  return share.tokens_ns > 0;
}

static void on_idle(uv_idle_t *h) {
  call_t *c = h->data;
  if (!c->done_flag && !c->waiting) {
    int64_t start = (int64_t)td__time_mono_ns();
    if (!may_run_slice(&c->s->limits, start)) return;
    run_slice(c);
    share.tokens_ns -= (int64_t)td__time_mono_ns() - start;
  }
  if (c->done_flag) finish_async(c);
}

/* The wall deadline passed while the call waited on a host call. */
static void on_deadline(uv_timer_t *t) {
  call_t *c = t->data;
  if (c->done_flag || !c->waiting) return;
  c->waiting = false;
  c->b.kill = TD_LUA_KILL_WALL;
  fail_from_error(c);
  call_close(c);
  finish_async(c);
}

/* Suspends the call on its host call: no slices (no CPU, no busy loop), only the deadline. */
static void wait_host(call_t *c) {
  if (!c->b.slices) return; /* sync calls never get here: td__lua_host_check refuses them */
  c->waiting = true;
  uv_idle_stop(&c->idle);
  int64_t left_ms = (c->b.wall_deadline - (int64_t)td__time_mono_ns()) / 1000000 + 1;
  uv_timer_start(&c->timer, on_deadline, left_ms > 0 ? (uint64_t)left_ms : 0, 0);
}

int td__lua_call_async(td__lua_state_t *s, uv_loop_t *loop, td__lua_call_kind_t kind, int fn_ref,
                       const json_t *arg, bool want_results, td__lua_done_fn done, void *ud) {
  if (done == NULL) return TD_EINVAL;
  call_t *c = calloc(1, sizeof *c);
  if (c == NULL) return TD_ENOMEM;
  c->want_results = want_results;
  c->done = done;
  c->ud = ud;
  call_init(c, s, kind, fn_ref, arg, true); /* a failed setup is reported through done */
  uv_idle_init(loop, &c->idle);
  uv_timer_init(loop, &c->timer);
  c->idle.data = c;
  c->timer.data = c;
  c->handles_open = 2;
  uv_idle_start(&c->idle, on_idle);
  s->running++;
  return 0;
}

int td__lua_calls_running(const td__lua_state_t *s) { return s->running; }

/* --- host calls --- */

/* The call running on L's state (its budget is embedded in the call). */
static call_t *running_call(lua_State *L) {
  td__lua_state_t *s = td__lua_state_of(L);
  if (s == NULL || s->cur == NULL) return NULL;
  return (call_t *)(void *)((char *)s->cur - offsetof(call_t, b));
}

int td__lua_call_is_async(lua_State *L) {
  call_t *c = running_call(L);
  return c != NULL && c->b.slices;
}

int td__lua_host_allowed(lua_State *L, const char *what, const char *filter_reason, char *err, size_t size) {
  call_t *c = running_call(L);
  if (c == NULL || c->kind == TD_LUA_CALL_LOAD)
    snprintf(err, size, "%s cannot be used while the package loads (use it in a handler)", what);
  else if (!c->b.slices)
    snprintf(err, size, "%s cannot be used in a filter (%s)", what, filter_reason);
  else if (L != c->b.thread || !lua_isyieldable(L))
    snprintf(
        err, size,
        "%s cannot be used inside a coroutine or a callback called from C (call it from the handler itself)",
        what);
  else
    return 0;
  return -1;
}

void td__lua_host_check(lua_State *L, const char *what, const char *filter_reason) {
  char err[300];
  if (td__lua_host_allowed(L, what, filter_reason, err, sizeof err) != 0) {
    lua_pushstring(L, err); /* no position: the message names the function */
    lua_error(L);
  }
}

td__lua_host_call_t *td__lua_host_new(lua_State *L) {
  call_t *c = running_call(L);
  if (c == NULL) {
    luaL_error(L, "no call is running");
    return NULL;
  }
  host_detach(c); /* the previous one completed: its results were returned */
  struct td__lua_host_call *hc = calloc(1, sizeof *hc);
  if (hc == NULL) {
    luaL_error(L, "not enough memory");
    return NULL;
  }
  hc->c = c;
  c->hc = hc;
  return hc;
}

/* Continuation: the work completed and the call was resumed. */
static int host_cont(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  struct td__lua_host_call *hc = (struct td__lua_host_call *)ctx;
  td__lua_state_t *s = td__lua_state_of(L);
  if (hc->error != NULL) {
    lua_pushnil(L);
    lua_pushstring(L, hc->error);
    return 2;
  }
  if (hc->result == NULL) {
    lua_pushnil(L);
    return 1;
  }
  td__lua_push_json(L, hc->result, s->limits.json_max_depth, s->limits.json_max_items);
  return 1;
}

int td__lua_host_yield(lua_State *L, td__lua_host_call_t *hc) {
  return lua_yieldk(L, 0, (lua_KContext)hc, host_cont);
}

void td__lua_host_complete(td__lua_host_call_t *hc, json_t *result, const char *error) {
  hc->completed = true;
  hc->result = result;
  hc->error = error != NULL ? strdup(error) : NULL;
  if (error != NULL && hc->error == NULL) hc->error = strdup("out of memory");
  call_t *c = hc->c;
  if (c == NULL) {
    host_free(hc);
    return;
  }
  if (c->waiting) {
    c->waiting = false;
    uv_timer_stop(&c->timer);
    uv_idle_start(&c->idle, on_idle);
  }
}

int td__lua_count_effect(lua_State *L, const char *what, char *err, size_t size) {
  call_t *c = running_call(L);
  if (c == NULL || ++c->effects <= TD_LUA_EFFECTS_MAX) return 0;
  snprintf(err, size,
           "%s: more than %d side effects in one call (actions, HTTP requests and schedules count; the "
           "limit is %d per call)",
           what, TD_LUA_EFFECTS_MAX, TD_LUA_EFFECTS_MAX);
  return -1;
}
