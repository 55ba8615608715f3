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

#endif
