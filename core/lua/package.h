/* A Lua package: a script loaded into sandboxed states (lua/sandbox.h), with what it
 * registered through the global `talent` table while its top level ran.
 *
 * The script API of this phase (the `talent` table is read-only to the script):
 *   talent.on(event_pattern, fn [, {priority = int}])   subscribe to events: an exact type
 *       ("candidate.created"), a prefix ("candidate.*") or "*"; one fn per pattern.
 *   talent.filter(hook, fn [, {priority = int, fail_closed = bool}])   a filter hook
 *       ("<noun>.before_<verb>"); the calling convention is in lua/bridge.h.
 *   talent.log(level, message [, fields])   level "debug" | "info" | "warn" | "error";
 *       fields a table converted to JSON. At most 100 lines (with print) per call.
 *   talent.null   the JSON null (lua/json.h).
 * talent.on and talent.filter work only while the top level runs (at load).
 * Phase 2 adds reads, actions, HTTP, schedules, a key/value store and the configuration:
 * see lua/api.h and docs/rules-guide.md. talent.on_run(name, fn) (load only) names a
 * handler for runs scheduled with talent.schedule.*.
 *
 * Two states per package. Filters run synchronously on the WRITER thread, events
 * asynchronously on the LOOP thread, and a lua_State must only ever be used by one thread:
 * so the package is loaded twice, into `events` (used by the loop thread only) and, when
 * it registers filters, into `filters` (used by the writer thread only). Both runs must
 * register the same things in the same order (a top level that registers differently
 * between runs is refused). The two states share nothing: a global a filter sets is not
 * seen by an event handler (use talent.store for shared data, a later phase).
 *
 * Ownership: td__lua_package_load copies name and source. The package owns its states;
 * free it only when no call of it is running (td__lua_calls_running == 0 on `events`) and
 * after the hook registry that points at it was reset. */
#ifndef TD_LUA_PACKAGE_H
#define TD_LUA_PACKAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "auth/principal.h"
#include "store/db.h"
#include "lua/call.h"
#include "lua/sandbox.h"

struct td__ctx;
struct td__net;
struct td__writer;

/* What a package's talent API acts with, set before its top level runs (bound by the
 * script manager, lua/manager.h; tests may pass NULL to td__lua_package_load). */
typedef struct td__lua_host {
  uv_loop_t *loop;           /* where event calls and their host calls run */
  struct td__writer *writer; /* actions commit through it */
  struct td__net *net;       /* talent.http (NULL: refused) */
  td__principal_t principal; /* the script's own user: its role bounds what it may do */
  const json_t *config;      /* scripts.<name> of the server configuration (borrowed) */
  bool dry_run;              /* record the actions a call would take instead of taking them */
} td__lua_host_t;

#define TD_LUA_REG_NAME_MAX 64
#define TD_LUA_REG_MAX 256

typedef enum td__lua_reg_kind { TD_LUA_REG_EVENT, TD_LUA_REG_FILTER } td__lua_reg_kind_t;

/* One registration. */
typedef struct td__lua_reg {
  td__lua_reg_kind_t kind;
  char name[TD_LUA_REG_NAME_MAX]; /* event pattern or filter hook */
  int priority;                   /* higher runs first (default 0) */
  bool fail_closed;               /* filters: a failure refuses the action */
  int event_ref;                  /* the fn in the events state (LUA_NOREF for filters) */
  int filter_ref;                 /* the fn in the filters state (LUA_NOREF for events) */
  struct td__lua_package *pkg;    /* back pointer, for the bridge */
} td__lua_reg_t;

/* A talent.on_run registration: the handler of scheduled runs "script.<package>.<name>". */
typedef struct td__lua_run {
  char name[TD_LUA_REG_NAME_MAX];
  int ref; /* the fn in the events state */
} td__lua_run_t;

typedef struct td__lua_package {
  char name[TD_LUA_PACKAGE_MAX];
  td__lua_state_t *events;  /* loop thread only */
  td__lua_state_t *filters; /* writer thread only; NULL without filters */
  td__lua_reg_t *regs;
  size_t nregs;
  uv_loop_t *loop;     /* set by td__lua_bridge_register: where event calls run */
  td__lua_host_t host; /* copied at load */
  json_t *dry_log;     /* with host.dry_run: the actions calls would have taken (owned) */
  td__lua_run_t *runs; /* talent.on_run registrations (events state) */
  size_t nruns;
  struct td__ctx *filter_ctx; /* the running filter call's transaction (writer thread) */
  td__db_t *read_db;          /* when set (dry run), reads run synchronously on it */
} td__lua_package_t;

/* Loads source (len bytes, text only, copied) as package name ([a-z0-9_.-], 1..63 bytes)
 * with limits (copied; NULL = defaults): runs its top level under the load budget in each
 * state. Returns 0 and the package in *out, or a negative TD_E* code and in *error a
 * malloc'd message naming the package (the caller frees it). Call it on the thread that
 * starts the server, before the loop and the writer thread use the package. */
int td__lua_package_load(const char *name, const char *source, size_t len, const td__lua_limits_t *limits,
                         const td__lua_host_t *host, td__lua_package_t **out, char **error);

/* Frees the package and its states. NULL is a no-op. */
void td__lua_package_free(td__lua_package_t *pkg);

/* Calls filter registration reg synchronously in the filters state (writer thread) with
 * proposed (borrowed), inside the action's transaction ctx (read-only lookups for the
 * script; may be NULL in tests): *results (new) is the JSON array of fn's results; see
 * call.h for rc and *error. */
int td__lua_package_filter_call(td__lua_package_t *pkg, const td__lua_reg_t *reg, struct td__ctx *ctx,
                                const json_t *proposed, json_t **results, char **error);

/* Calls event registration reg asynchronously in the events state on loop (loop thread)
 * with envelope (borrowed, converted before return); done as in call.h. */
int td__lua_package_event_call(td__lua_package_t *pkg, const td__lua_reg_t *reg, uv_loop_t *loop,
                               const json_t *envelope, td__lua_done_fn done, void *ud);

/* Calls the talent.on_run handler `name` of pkg (loop thread) with payload (borrowed),
 * asynchronously on the package's loop (host.loop, else the bridge's) under the event
 * budget; done as in call.h. For the scheduled-run handler "script.<package>.<name>" that
 * the script manager registers (td__sched_register) and which calls this, then
 * td__sched_finish from done. Returns 0, TD_ENOTFOUND (no such on_run), TD_EINVAL (no
 * loop) or TD_ENOMEM. */
int td__lua_package_run_call(td__lua_package_t *pkg, const char *name, const json_t *payload,
                             td__lua_done_fn done, void *ud);

/* The package whose state L belongs to (NULL for a bare sandbox state). */
td__lua_package_t *td__lua_package_of(lua_State *L);

#endif
