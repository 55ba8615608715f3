/* Wires a loaded Lua package (lua/package.h) into the hook registry: each talent.on
 * becomes an event subscriber (hooks/events.h) and each talent.filter a filter
 * (hooks/filter.h), owned by the package's name. Keeps wall 7: hooks/ never includes lua/.
 *
 * Filter convention (what fn(proposed) returns):
 *   nothing, nil or true          allow, unchanged
 *   a table                       modified: its members replace those of proposed (the hook
 *                                 keeps only the members it lets filters change)
 *   false [, reason]              veto; reason (a string) reaches the API caller, default
 *   nil, reason                   "Refused by script '<name>'"
 *   an error, a budget overrun,   a failure (logged with the package): skipped (fail-open)
 *   anything else                 unless registered with {fail_closed = true}
 * Event handlers: returning normally = handled; an error = failed (retried with backoff by
 * the dispatcher); the result is ignored.
 *
 * Threading: call td__lua_bridge_register at start-up, before td__hooks_freeze. Filters then
 * run on the writer thread in the package's `filters` state; events on loop in its `events`
 * state. The package must outlive the registry entries (free it after td__hooks_reset). */
#ifndef TD_LUA_BRIDGE_H
#define TD_LUA_BRIDGE_H

#include <uv.h>

#include "hooks/registry.h"
#include "lua/package.h"

/* Registers every registration of pkg (borrowed; must outlive the registry entries);
 * event calls will run on loop. Returns 0 or the first failing registry code (TD_EINVAL for
 * a bad pattern, TD_ECONFLICT, TD_EDENIED after the freeze), logged with the package. */
int td__lua_bridge_register(td__lua_package_t *pkg, uv_loop_t *loop);

/* The same registrations as specs for td__hooks_replace_package (live changes, loop thread):
 * fills specs[0..*n) (at most max; the pointers in them borrow pkg, which must outlive the
 * registry entries) and sets pkg's loop. Returns 0, TD_EINVAL (a bad name) or TD_ENOMEM (more than max). */
int td__lua_bridge_specs(td__lua_package_t *pkg, uv_loop_t *loop, td__hook_spec_t *specs, size_t max,
                         size_t *n);

#endif
