/* Lua patterns with a step budget: our own implementation of string.find, string.match,
 * string.gmatch and string.gsub (the full Lua 5.4 pattern syntax: classes and their
 * complements, sets, the quantifiers * + - ?, anchors, captures and position captures,
 * %b, %f and back-references), because a count hook cannot interrupt a C function and
 * the stock matcher backtracks exponentially on patterns such as ".-.-.-.-.-.-b".
 *
 * Every matcher step (an attempt at a pattern item, a backtrack) counts against a budget
 * per function call (per iterator call for gmatch, per whole call for gsub). When it runs
 * out the call raises "pattern too complex (step budget exhausted)"; in a sandbox state
 * the running call is also stopped (lua/sandbox.h: TD_LUA_KILL_PATTERN), so pcall cannot
 * retry forever. Plain finds (a 4th argument true, or a pattern without specials) use a
 * linear search and no steps. Results are those of the stock library (the unit test
 * test_lua_pattern compares them). */
#ifndef TD_LUA_PATTERN_H
#define TD_LUA_PATTERN_H

#include <lua.h>
#include <stdint.h>

#include "lua/sandbox.h"

/* Sets find, match, gmatch and gsub in the table at index idx of L to the budgeted
 * versions, each allowed max_steps steps per call. sandbox (may be NULL for a plain state,
 * as in the tests) is the state whose running call is stopped on exhaustion. Must run in
 * protected mode (it allocates). */
void td__lua_pattern_register(lua_State *L, int idx, uint64_t max_steps, td__lua_state_t *sandbox);

#endif
