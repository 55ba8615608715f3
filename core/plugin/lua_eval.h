/* The host API's lua_eval: an admin-written Lua chunk (a sequence step's condition, say)
 * evaluated by a plugin in a fresh sandbox with small budgets. */
#ifndef TD_PLUGIN_LUA_EVAL_H
#define TD_PLUGIN_LUA_EVAL_H

#include <stddef.h>

#include "talentd/plugin.h"

int td__plugin_lua_eval(td_plugin_t *self, const char *chunk, const json_t *vars, json_t **result, char *why,
                        size_t why_size);

#endif
