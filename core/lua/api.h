/* The talent API of Lua packages beyond on/filter/log/null (lua/package.h): reads of the
 * model, actions through the domain layer, outbound HTTP, durable schedules, a
 * package-private key/value store and the package's configuration. The rule author's view
 * is docs/rules-guide.md.
 *
 * Where each kind of function may run:
 *   reads (talent.get, talent.transitions, talent.store.get): anywhere but the top level;
 *       in an event call on a reader thread (the call yields until the answer is back), in
 *       a filter synchronously on the filter's transaction, in a dry run synchronously on
 *       the dry run's read-only connection.
 *   writes (actions, talent.store.set/delete, talent.schedule.*) and talent.http.request:
 *       event calls (and on_run handlers) only; a writer op runs the same domain function
 *       as the API, as the script's principal (actor_kind "script", cause
 *       "script:<name>"), with an audit entry (action "talent.<fn>"). In a filter they
 *       raise "script 'x': talent.http.request cannot be used in a filter (filters may not
 *       do I/O)". Actions, HTTP requests and schedules count against TD_LUA_EFFECTS_MAX
 *       per call. With host.dry_run they do not run: {action, args} is appended to
 *       pkg->dry_log and the result is a placeholder {dry_run = true, action = ...}.
 * A refusal (permission, validation, not found) returns nil, "<detail> (<field>: <why>)". */
#ifndef TD_LUA_API_H
#define TD_LUA_API_H

#include <jansson.h>
#include <lua.h>
#include <stdbool.h>

#include "domain/context.h"
#include "lua/sandbox.h"
#include "util/id.h"

#define TD_LUA_STORE_KEY_MAX 200
#define TD_LUA_STORE_VALUE_MAX (64 * 1024)
#define TD_LUA_STORE_KEYS_MAX 10000

/* Adds the phase-2 functions to the talent table at the top of L's stack (in protected
 * mode, while the state is built; before the table is made read-only). */
void td__lua_api_register(td__lua_state_t *s, lua_State *L);

/* What an action names for its audit entry (set by the op on success). */
typedef struct td__lua_audit {
  char object_type[32];
  char object_id[TD_ID_MAX];
} td__lua_audit_t;

/* An operation: runs on a connection with the script's ctx, args borrowed; on success 0
 * and *out (new reference, may stay NULL for nil); on refusal the problem on ctx. */
typedef int (*td__lua_op_fn)(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit);

/* Runs a read for talent function `what` with args (stolen) where the running call
 * allows (see above) and returns its Lua results (or yields until they are known). */
int td__lua_api_read(lua_State *L, const char *what, td__lua_op_fn fn, json_t *args);
/* Runs a write likewise; effect counts it as a side effect. */
int td__lua_api_write(lua_State *L, const char *what, td__lua_op_fn fn, json_t *args, bool effect);

/* The error string of a refusal on ctx: "<detail> (<pointer>: <message>)". */
void td__lua_problem_text(const json_t *problem, char *buf, size_t size);

/* Converts the argument at idx to JSON or raises "<what>: <why>". New reference. */
json_t *td__lua_arg_json(lua_State *L, int idx, const char *what);

/* Registration of each group (api_model.c, api_actions.c, api_io.c): fields added to the
 * table at the top of L. */
void td__lua_api_model(lua_State *L);
void td__lua_api_actions(lua_State *L);
void td__lua_api_io(td__lua_state_t *s, lua_State *L);

#endif
