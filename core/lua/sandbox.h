/* The Lua sandbox: one lua_State per package with a memory cap, a CPU and wall budget per
 * call, a fresh allow-listed _ENV and library tables the script cannot alter
 * (ARCHITECTURE sections 6 and 8).
 *
 * What a script sees. The globals assert error ipairs next pairs pcall xpcall select
 * tonumber tostring type rawequal rawlen rawget rawset setmetatable getmetatable unpack
 * print load collectgarbage ("count", "collect" and "step" only) and the libraries math,
 * string (without dump; find/match/gmatch/gsub replaced by the step-budgeted versions of
 * lua/pattern.h), table, utf8, coroutine and os (time, clock, date only). print goes to the
 * log with the package name. load accepts text only ("t" mode is forced), strings only, at
 * most limits.load_max_bytes, with the sandbox _ENV unless the script passes its own table.
 * No io, debug, package, require, dofile, loadfile, string.dump, os.execute/getenv/exit.
 *
 * Unalterable libraries. string, table, math, utf8, os, coroutine (and the package's
 * `talent` table, lua/package.h) are read-only proxies: an empty table whose locked
 * metatable (__metatable = false) forwards reads to the real table, refuses writes
 * (__newindex raises) and iterates with __pairs. rawset refuses the proxies; the string
 * metatable is locked too. A package has its own lua_State, so nothing a script changes is
 * ever seen by another package.
 *
 * Limits. The allocator counts every byte of the state and refuses to grow it past
 * limits.memory_bytes (Lua raises "not enough memory"; the call fails with "memory limit of
 * N MiB exceeded"). A count hook runs every limits.hook_instructions VM instructions: it
 * checks the running call's CPU time (CLOCK_THREAD_CPUTIME_ID) and wall deadline, forces a
 * yield back to the host after limits.slice_us of running (async calls), and stops a call
 * that ran out of budget. Once a call is stopped it stays stopped: every later hook tick
 * raises again (pcall cannot swallow it) and the host closes the coroutine instead of
 * resuming it. Where the script runs under a C function that cannot yield (a table.sort
 * comparator, a gsub callback, a metamethod called from C), an async call that has not been
 * able to yield for limits.unyielding_ms is stopped, so the loop is never held longer than
 * that. A finalizer (__gc) cannot be set at all: setmetatable refuses a metatable with a
 * __gc field, so no script code runs outside a call's budget.
 *
 * Threading. A state is used by one thread only, always the same one: the writer thread
 * for filter states, the loop thread for event states (lua/package.h keeps two states per
 * package for that reason). Nothing here is thread-safe and nothing needs to be. */
#ifndef TD_LUA_SANDBOX_H
#define TD_LUA_SANDBOX_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TD_LUA_PACKAGE_MAX 64

/* Every limit of a package's states and calls; 0 members take the default. */
typedef struct td__lua_limits {
  size_t memory_bytes;    /* per state (default 16 MiB) */
  int64_t filter_cpu_ms;  /* CPU per filter call (default 25) */
  int64_t filter_wall_ms; /* wall per filter call (default 250) */
  int64_t event_cpu_ms;   /* CPU per event call (default 500) */
  int64_t event_wall_ms;  /* wall per event call (default 30,000) */
  int64_t load_cpu_ms;    /* CPU for the package's top level (default 500) */
  int64_t slice_us;       /* an async call gives the loop back after this long (default 2,000) */
  int loop_share_percent; /* of the loop's time all async calls may use together when busy
                             (default 25): a runaway rule cannot starve the API */
  int64_t unyielding_ms;  /* longest an async call may run unable to yield (default 50) */
  int hook_instructions;  /* VM instructions between hook ticks (default 1,000) */
  size_t load_max_bytes;  /* package source and load() text (default 256 KiB) */
  uint64_t pattern_steps; /* matcher steps per pattern function call (default 1,000,000) */
  size_t table_max_move;  /* elements per table.move / table.sort (default 100,000) */
  int json_max_depth;     /* JSON <-> Lua nesting (default 32) */
  size_t json_max_items;  /* values converted per JSON <-> Lua conversion (default 100,000) */
} td__lua_limits_t;

/* The defaults above. */
td__lua_limits_t td__lua_limits_default(void);
/* Fills the zero members of *limits with the defaults. */
void td__lua_limits_fill(td__lua_limits_t *limits);

/* Why a call was stopped. */
typedef enum td__lua_kill {
  TD_LUA_KILL_NONE = 0,
  TD_LUA_KILL_CPU,        /* CPU budget exceeded */
  TD_LUA_KILL_WALL,       /* wall deadline passed */
  TD_LUA_KILL_MEMORY,     /* memory cap hit */
  TD_LUA_KILL_PATTERN,    /* a pattern function ran out of steps */
  TD_LUA_KILL_UNYIELDING, /* ran too long where it could not yield */
  TD_LUA_KILL_NOBUDGET    /* script code ran outside any call (must never happen) */
} td__lua_kill_t;

/* The budget of one call: set by lua/call.c while the call's coroutine is resumed. */
typedef struct td__lua_budget {
  lua_State *thread;     /* the host's coroutine for this call */
  int64_t cpu_limit_ns;  /* CPU allowed for the whole call */
  int64_t cpu_used_ns;   /* CPU used by the slices before the current one */
  int64_t cpu_start_ns;  /* thread CPU clock when the current slice started */
  int64_t wall_deadline; /* monotonic ns */
  int64_t wall_limit_ms; /* for the message */
  int64_t slice_start;   /* monotonic ns when the current slice started */
  bool slices;           /* force yields every slice (async calls) */
  int log_left;          /* print / talent.log lines this call may still write */
  td__lua_kill_t kill;   /* sticky once set */
} td__lua_budget_t;

typedef struct td__lua_state {
  lua_State *L;
  char package[TD_LUA_PACKAGE_MAX];
  td__lua_limits_t limits;
  size_t mem_used;         /* bytes allocated now */
  size_t mem_peak;         /* highest mem_used seen */
  td__lua_budget_t *cur;   /* the running call's budget, NULL between calls */
  lua_State *hook_yielded; /* nested coroutine that the hook made yield (lua/env.c) */
  int env_ref;             /* registry ref of the sandbox _ENV */
  int proxies_ref;         /* registry ref of the weak set of read-only proxies */
  int running;             /* async calls in flight (lua/call.c) */
  void *loading;           /* registrations being recorded while the top level runs (package.c) */
} td__lua_state_t;

/* Creates the sandboxed state of package (copied; 1..63 bytes) with limits (copied; NULL
 * for the defaults). Returns 0 and the state in *out, TD_EINVAL or TD_ENOMEM. */
int td__lua_state_new(const char *package, const td__lua_limits_t *limits, td__lua_state_t **out);

/* Closes the state. Must not be called while one of its calls is running. NULL is a no-op. */
void td__lua_state_free(td__lua_state_t *s);

/* The sandbox state owning L (any of its threads). */
td__lua_state_t *td__lua_state_of(lua_State *L);

/* Pushes the sandbox _ENV table onto L's stack. */
void td__lua_push_env(td__lua_state_t *s, lua_State *L);

/* Wraps the table at the top of L's stack in a read-only proxy (the top is replaced by the
 * proxy). Must run in protected mode (it allocates). */
void td__lua_make_readonly(td__lua_state_t *s, lua_State *L);

/* Stops the running call for reason and raises a Lua error with its message. Never
 * returns. */
int td__lua_kill(lua_State *L, td__lua_kill_t reason);

/* The message of a stop reason, e.g. "CPU budget of 500 ms exceeded", written into buf. */
void td__lua_kill_message(const td__lua_state_t *s, const td__lua_budget_t *b, char *buf, size_t size);

/* Makes the count hook run at the next VM instruction of L (then at the normal interval
 * again): called by C functions after heavy work (a long pattern match, a large string),
 * because a loop of such calls would otherwise run many of them between two ticks. */
void td__lua_hook_soon(lua_State *L);

/* The CPU time of the calling thread in ns. */
int64_t td__lua_thread_cpu_ns(void);

/* Builds the sandbox _ENV of s (lua/env.c); called once by td__lua_state_new, in protected
 * mode. */
int td__lua_env_build(lua_State *L);

#endif
