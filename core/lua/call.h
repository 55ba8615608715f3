/* Calling into a sandboxed state (lua/sandbox.h) under a budget.
 *
 * Every call runs in its own coroutine (a new thread of the state, held by a registry
 * reference until the call ends), with a JSON argument converted to a Lua value
 * (lua/json.h). The count hook yields back to the host at every slice and when the call is
 * out of budget; the host then resumes the coroutine (budget left) or closes it (stopped).
 *
 * - Synchronous (filters, a package's top level): td__lua_call_sync resumes again at once
 *   until the function returns or the budget is spent. Runs on the thread that owns the
 *   state (the writer thread for filter states).
 * - Asynchronous (events): td__lua_call_async resumes one slice per loop iteration from a
 *   uv_idle handle, so the loop serves other work (HTTP requests, timers) between slices.
 *   Loop thread only. Several calls on one state may interleave; each has its own budget.
 *
 * Errors name the package: "script 'tagger': CPU budget of 500 ms exceeded", "script
 * 'tagger': memory limit of 16 MiB exceeded", "script 'tagger': pattern too complex (step
 * budget exhausted)", or the Lua error with its line ("script 'tagger': tagger:3: boom").
 * After a failure the state is collected and stays usable for the next call. */
#ifndef TD_LUA_CALL_H
#define TD_LUA_CALL_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "lua/sandbox.h"

/* Which budget a call gets (limits of the state). */
typedef enum td__lua_call_kind {
  TD_LUA_CALL_FILTER, /* filter_cpu_ms / filter_wall_ms, no slices */
  TD_LUA_CALL_EVENT,  /* event_cpu_ms / event_wall_ms, slices when async */
  TD_LUA_CALL_LOAD    /* load_cpu_ms / event_wall_ms, no slices */
} td__lua_call_kind_t;

/* Completion of an async call, on the loop thread, exactly once. rc is 0 or a negative
 * TD_E* code (TD_ELIMIT for a budget, TD_EINVAL for a script error or a result that does
 * not convert, TD_ENOMEM). results (borrowed until return; NULL on failure or when not
 * wanted) is a JSON array of the function's results (nil -> null). error (borrowed until
 * return) is the message naming the package, NULL on success. */
typedef void (*td__lua_done_fn)(void *ud, int rc, const json_t *results, const char *error);

/* Calls the function held at registry reference fn_ref of s with arg (borrowed; NULL for
 * no argument). With results non-NULL, *results gets a new JSON array of the results; on
 * failure *error (non-NULL) gets a malloc'd message the caller frees. Returns 0, TD_ELIMIT,
 * TD_EINVAL or TD_ENOMEM. */
int td__lua_call_sync(td__lua_state_t *s, td__lua_call_kind_t kind, int fn_ref, const json_t *arg,
                      json_t **results, char **error);

/* Starts the function at fn_ref of s with arg (borrowed; copied into the state before
 * return) on loop; done(ud, ...) is called later from the loop, never from inside this
 * function. want_results converts the results for done. Returns 0, or TD_ENOMEM (done will
 * not be called). The state must outlive the call: free it only once every call is done. */
int td__lua_call_async(td__lua_state_t *s, uv_loop_t *loop, td__lua_call_kind_t kind, int fn_ref,
                       const json_t *arg, bool want_results, td__lua_done_fn done, void *ud);

/* The number of async calls of s still running. */
int td__lua_calls_running(const td__lua_state_t *s);

/* --- Host calls: talent API functions that wait for I/O (event calls only) ---
 *
 * A C function of the talent API that starts asynchronous work (a writer op, a read on
 * the pool, an HTTP request) does, in the call's own coroutine:
 *     td__lua_host_check(L, "talent.http.request", "filters may not do I/O");  (raises)
 *     td__lua_host_call_t *hc = td__lua_host_new(L);                          (raises)
 *     ...start the work, which later calls td__lua_host_complete(hc, ...) on the loop...
 *     return td__lua_host_yield(L, hc);
 * The coroutine is suspended (no idle handle runs, no CPU is counted) until the work
 * completes; then the call resumes in a later slice and the C function returns the result
 * (a Lua value converted from JSON, nil, or nil plus an error string). The wall deadline
 * still applies while waiting: past it the call is stopped ("wall time ... exceeded")
 * and the work's late completion is dropped. The work may complete before the yield. */
typedef struct td__lua_host_call td__lua_host_call_t;

#define TD_LUA_EFFECTS_MAX 10

/* Whether the call running on L's state is an asynchronous event call (not a filter, not
 * the top level). 0 when no call runs. */
int td__lua_call_is_async(lua_State *L);

/* Raises unless L is the coroutine of a running async event call and may yield there:
 * "<what> cannot be used in a filter (<filter_reason>)", "<what> cannot be used while the
 * package loads", "<what> cannot be used inside a coroutine or a callback from C". */
void td__lua_host_check(lua_State *L, const char *what, const char *filter_reason);
/* td__lua_host_check without raising: 0 when allowed, else -1 and the message in err. */
int td__lua_host_allowed(lua_State *L, const char *what, const char *filter_reason, char *err, size_t size);

/* A new host call for the running async call of L (after td__lua_host_check). Raises when
 * memory runs out. */
td__lua_host_call_t *td__lua_host_new(lua_State *L);

/* Suspends L until hc completes: `return td__lua_host_yield(L, hc);` */
int td__lua_host_yield(lua_State *L, td__lua_host_call_t *hc);

/* On the loop thread, exactly once per host call: result (stolen; NULL for nil) becomes the
 * function's result, or with error non-NULL (copied) the results are nil, error. When the
 * call was stopped meanwhile this only frees. */
void td__lua_host_complete(td__lua_host_call_t *hc, json_t *result, const char *error);

/* Counts one outbound side effect (action, HTTP request, schedule) of the running call:
 * 0, or -1 past TD_LUA_EFFECTS_MAX with "<what>: more than 10 side effects in one call ..."
 * in err (the caller raises it). */
int td__lua_count_effect(lua_State *L, const char *what, char *err, size_t size);

#endif
