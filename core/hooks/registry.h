/* The hook registry: named hooks and the callbacks registered on them, in a deterministic
 * order. It knows no subscriber kind (ARCHITECTURE wall 7): C plugins and Lua packages
 * register their dispatchers here through the typed wrappers (hooks/filter.h for filters);
 * this file only stores, orders and lists entries.
 *
 * Threading contract. Registration happens at start-up, on the thread that starts the
 * server, before the loop and the writer thread run. td__hooks_freeze resolves the order of
 * every hook and publishes an immutable snapshot: after it, td__hooks_register fails with
 * TD_EDENIED, and any thread (the writer thread in particular) may call td__hooks_entries
 * without locks. The one way to change entries later is td__hooks_replace_package (script
 * reloads), which publishes a new snapshot atomically (copy on write) and hands back the old
 * one to free once no reader can hold it. Each entry's failure counter and disabled flag
 * (atomics) are the only state changed in place, by the dispatchers (hooks/filter.c).
 *
 * Order: priority descending (higher first), then package name ascending (byte order),
 * then registration order. An admin override (config hooks.order.<hook>: an array of
 * package names) puts the listed packages first, in the listed order; each package's own
 * entries keep their relative order; unlisted packages follow in the normal order. */
#ifndef TD_HOOKS_REGISTRY_H
#define TD_HOOKS_REGISTRY_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TD_HOOK_NAME_MAX 64
#define TD_HOOK_PACKAGE_MAX 64

/* Entry flags. */
enum {
  TD_HOOK_FAIL_CLOSED = 1 << 0 /* a failure of this callback refuses the action (filters) */
};

/* A callback of any hook kind; the dispatcher of that kind casts it back to its own type. */
typedef void (*td__hook_cb_t)(void);

typedef struct td__hook_entry {
  char hook[TD_HOOK_NAME_MAX];       /* copied */
  char package[TD_HOOK_PACKAGE_MAX]; /* copied: the owning plugin or Lua package */
  int priority;                      /* higher runs first */
  unsigned flags;                    /* TD_HOOK_* */
  td__hook_cb_t fn;
  void *data;           /* borrowed: the registrant keeps it alive until td__hooks_reset */
  uint64_t seq;         /* registration order */
  atomic_int failures;  /* consecutive failures (reset by a success) */
  atomic_bool disabled; /* opened circuit breaker */
} td__hook_entry_t;

/* Registers fn on hook for package. hook and package are copied (non-empty, shorter than
 * the *_MAX above). Returns 0, TD_EINVAL for a bad name, TD_ENOMEM, or TD_EDENIED after
 * td__hooks_freeze (logged: registration is allowed at start-up only). */
int td__hooks_register(const char *hook, const char *package, int priority, unsigned flags, td__hook_cb_t fn,
                       void *data);

/* Orders entries[0..n) of one hook in place: the default order, then the override (an
 * array of package names, borrowed, may be NULL) on top. Names in the override without an
 * entry are ignored. Pure: usable by `talentd hooks` and by tests. */
void td__hooks_order(td__hook_entry_t **entries, size_t n, const json_t *override);

/* Resolves the order of every hook with the admin overrides (borrowed; an object
 * {"<hook>": ["package", ...]}, may be NULL) and makes the registry read-only. Returns 0,
 * TD_EDENIED when already frozen, or TD_ENOMEM. */
int td__hooks_freeze(const json_t *overrides);
bool td__hooks_frozen(void);

/* The resolved entries of hook (a borrowed array valid until td__hooks_reset) and their
 * count in *n. Before the freeze, or for a hook without entries, *n is 0 and NULL is
 * returned: cheap enough for every write (no allocation, a scan of the few hook names). */
td__hook_entry_t *const *td__hooks_entries(const char *hook, size_t *n);

/* Calls fn once per entry of every hook, in resolved order (hooks by name ascending), with
 * the entry's position (0-based) in its hook: for `talentd hooks`. Requires the freeze. */
typedef void (*td__hooks_list_fn)(const td__hook_entry_t *entry, size_t position, void *arg);
void td__hooks_list(td__hooks_list_fn fn, void *arg);

/* One registration for td__hooks_replace_package (fn and data as in td__hooks_register). */
typedef struct td__hook_spec {
  const char *hook;
  int priority;
  unsigned flags;
  td__hook_cb_t fn;
  void *data;
} td__hook_spec_t;

typedef struct td__hooks_retired td__hooks_retired_t;

/* Live changes after the freeze (script reloads), on the loop thread only: replaces every
 * entry of package with specs (none: the package is removed) and publishes a new snapshot
 * of the registry at once; readers on any thread see either the old or the new one, never
 * a mix. The old snapshot and the removed entries go to *retired: free them with
 * td__hooks_retired_free only once no thread can still be reading them, i.e. after the
 * writer thread has finished the op it may be running (submit an op and free from its
 * completion) and the loop has returned from the current dispatch. Returns 0, TD_EDENIED
 * before the freeze, TD_EINVAL, or TD_ENOMEM (nothing changed). */
int td__hooks_replace_package(const char *package, const td__hook_spec_t *specs, size_t n,
                              td__hooks_retired_t **retired);
void td__hooks_retired_free(td__hooks_retired_t *retired);

/* Every entry of the current snapshot as JSON, for the admin API: [{hook, kind ("filter" |
 * "event"), package, priority, position (1-based in its hook), consecutive_failures,
 * breaker ("open" when the circuit breaker disabled it, else "closed")}]. Any thread. */
json_t *td__hooks_describe(void);

/* Forgets every entry and unfreezes: for tests and for shutdown only (never while a
 * dispatcher may run). */
void td__hooks_reset(void);

#endif
