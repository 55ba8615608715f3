/* JSON <-> Lua values for calls into scripts (jansson on the host side).
 *
 * Mapping. Objects become tables with string keys, arrays become sequences (1..n), strings,
 * integers, reals and booleans map to their Lua types, and null becomes `talent.null` (a
 * light userdata NULL). Going back, a table whose keys are exactly 1..n is an array, a
 * table with string keys an object; an empty table is an object unless it came from a JSON
 * array (decoded arrays carry a marker metatable, kept in the registry, so [] survives a
 * round trip). Functions, threads, userdata, non-finite numbers, strings that are not
 * UTF-8 and tables mixing key kinds are refused with a message naming the JSON pointer.
 *
 * Limits. Both directions stop at max_depth nesting levels (cycles end there too) and at
 * max_items converted values (lua/sandbox.h: json_max_depth, json_max_items). */
#ifndef TD_LUA_JSON_H
#define TD_LUA_JSON_H

#include <jansson.h>
#include <lua.h>
#include <stddef.h>

/* Pushes v (borrowed; NULL pushes nil) onto L as a Lua value. Raises a Lua error on a limit
 * or when memory runs out, so call it in protected mode. */
void td__lua_push_json(lua_State *L, const json_t *v, int max_depth, size_t max_items);

/* Converts the value at idx of L to JSON. Returns 0 and a new reference in *out, or -1 with
 * a sentence in err (e.g. "/tags/2: a function cannot be converted to JSON"). Raises
 * nothing and never allocates inside the Lua state. */
int td__lua_to_json(lua_State *L, int idx, int max_depth, size_t max_items, json_t **out, char *err,
                    size_t errsize);

#endif
