/* The hook registry (see registry.h): start-up registration, deterministic ordering with
 * admin overrides, a freeze after which lookups need no locks, and a listing. */
#include "hooks/registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "talentd/types.h"
#include "util/log.h"

/* One hook's resolved entries. */
typedef struct hook_list {
  const char *name; /* borrowed from its first entry */
  td__hook_entry_t **entries;
  size_t n;
} hook_list_t;

/* The registry as readers see it: every entry grouped by hook, each hook in resolved
 * order. Immutable once published; a change publishes a new snapshot (copy on write). */
typedef struct snapshot {
  td__hook_entry_t **all; /* grouped by hook name; the hooks' entries point into it */
  size_t n;
  hook_list_t *hooks; /* sorted by name */
  size_t nhooks;
} snapshot_t;

struct td__hooks_retired {
  snapshot_t *snapshot;
  td__hook_entry_t **removed; /* entries no longer in any newer snapshot */
  size_t nremoved;
};

static struct {
  td__hook_entry_t **all; /* entries registered before the freeze, in registration order */
  size_t n, cap;
  uint64_t next_seq;
  json_t *overrides; /* the admin's order, kept to resolve later snapshots */
  atomic_bool frozen;
} reg;

static _Atomic(snapshot_t *) current;
/* Held by td__hooks_describe (any thread) and by whoever swaps or frees snapshots (the loop),
 * so a description never reads a freed snapshot. The hot paths (td__hooks_entries on the
 * writer thread) never take it: they rely on the quiescent-point retirement instead. */
static pthread_mutex_t swap_lock = PTHREAD_MUTEX_INITIALIZER;

static bool valid_name(const char *s, size_t max) { return s && s[0] && strlen(s) < max; }

int td__hooks_register(const char *hook, const char *package, int priority, unsigned flags, td__hook_cb_t fn,
                       void *data) {
  if (atomic_load(&reg.frozen)) {
    td__log(TD_LOG_ERROR, "hook_register_after_start",
            json_pack("{s:s?,s:s?}", "hook", hook, "package", package));
    return TD_EDENIED;
  }
  if (!valid_name(hook, TD_HOOK_NAME_MAX) || !valid_name(package, TD_HOOK_PACKAGE_MAX) || fn == NULL)
    return TD_EINVAL;
  if (reg.n == reg.cap) {
    size_t cap = reg.cap ? reg.cap * 2 : 16;
    td__hook_entry_t **all = realloc(reg.all, cap * sizeof *all);
    if (all == NULL) return TD_ENOMEM;
    reg.all = all;
    reg.cap = cap;
  }
  td__hook_entry_t *e = calloc(1, sizeof *e);
  if (e == NULL) return TD_ENOMEM;
  memcpy(e->hook, hook, strlen(hook) + 1);
  memcpy(e->package, package, strlen(package) + 1);
  e->priority = priority;
  e->flags = flags;
  e->fn = fn;
  e->data = data;
  e->seq = reg.next_seq++;
  atomic_init(&e->failures, 0);
  atomic_init(&e->disabled, false);
  reg.all[reg.n++] = e;
  return 0;
}

/* The default order: priority desc, package asc, registration order. */
static int default_cmp(const void *pa, const void *pb) {
  const td__hook_entry_t *a = *(td__hook_entry_t *const *)pa, *b = *(td__hook_entry_t *const *)pb;
  if (a->priority != b->priority) return a->priority > b->priority ? -1 : 1;
  int c = strcmp(a->package, b->package);
  if (c) return c;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The position of package in the override, or SIZE_MAX when it is not listed. */
static size_t override_rank(const json_t *override, const char *package) {
  size_t i;
  json_t *v;
  json_array_foreach(override, i, v) {
    const char *name = json_string_value(v);
    if (name && strcmp(name, package) == 0) return i;
  }
  return SIZE_MAX;
}

void td__hooks_order(td__hook_entry_t **entries, size_t n, const json_t *override) {
  if (n > 1) qsort(entries, n, sizeof *entries, default_cmp);
  if (!json_is_array(override) || json_array_size(override) == 0 || n < 2) return;
  /* A stable insertion sort on the override rank keeps the default order within a rank. */
  for (size_t i = 1; i < n; i++) {
    td__hook_entry_t *e = entries[i];
    size_t rank = override_rank(override, e->package), j = i;
    while (j > 0 && override_rank(override, entries[j - 1]->package) > rank) {
      entries[j] = entries[j - 1];
      j--;
    }
    entries[j] = e;
  }
}

static int name_cmp(const void *pa, const void *pb) {
  const td__hook_entry_t *a = *(td__hook_entry_t *const *)pa, *b = *(td__hook_entry_t *const *)pb;
  int c = strcmp(a->hook, b->hook);
  if (c) return c;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Builds a snapshot of entries (taken): grouped by hook, each hook ordered. */
static snapshot_t *build_snapshot(td__hook_entry_t **entries, size_t n) {
  snapshot_t *snap = calloc(1, sizeof *snap);
  hook_list_t *hooks = n ? calloc(n, sizeof *hooks) : NULL;
  if (snap == NULL || (n && hooks == NULL)) {
    free(snap);
    free(hooks);
    return NULL;
  }
  if (n) qsort(entries, n, sizeof *entries, name_cmp); /* groups each hook's entries */
  size_t nhooks = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && strcmp(entries[j]->hook, entries[i]->hook) == 0) j++;
    hook_list_t *h = &hooks[nhooks++];
    h->name = entries[i]->hook;
    h->entries = entries + i;
    h->n = j - i;
    td__hooks_order(h->entries, h->n, json_object_get(reg.overrides, h->name));
    i = j;
  }
  *snap = (snapshot_t){entries, n, hooks, nhooks};
  return snap;
}

static void snapshot_free(snapshot_t *snap) {
  if (snap == NULL) return;
  free(snap->all);
  free(snap->hooks);
  free(snap);
}

int td__hooks_freeze(const json_t *overrides) {
  if (atomic_load(&reg.frozen)) return TD_EDENIED;
  json_decref(reg.overrides);
  reg.overrides = overrides ? json_deep_copy(overrides) : NULL;
  snapshot_t *snap = build_snapshot(reg.all, reg.n);
  if (snap == NULL) return TD_ENOMEM;
  reg.all = NULL; /* the snapshot owns the array now */
  reg.n = reg.cap = 0;
  atomic_store_explicit(&current, snap, memory_order_release);
  atomic_store(&reg.frozen, true);
  return 0;
}

static td__hook_entry_t *new_entry(const td__hook_spec_t *spec, const char *package) {
  td__hook_entry_t *e = calloc(1, sizeof *e);
  if (e == NULL) return NULL;
  memcpy(e->hook, spec->hook, strlen(spec->hook) + 1);
  memcpy(e->package, package, strlen(package) + 1);
  e->priority = spec->priority;
  e->flags = spec->flags;
  e->fn = spec->fn;
  e->data = spec->data;
  e->seq = reg.next_seq++;
  atomic_init(&e->failures, 0);
  atomic_init(&e->disabled, false);
  return e;
}

int td__hooks_replace_package(const char *package, const td__hook_spec_t *specs, size_t n,
                              td__hooks_retired_t **retired) {
  *retired = NULL;
  if (!atomic_load(&reg.frozen)) return TD_EDENIED;
  if (!valid_name(package, TD_HOOK_PACKAGE_MAX)) return TD_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!valid_name(specs[i].hook, TD_HOOK_NAME_MAX) || specs[i].fn == NULL) return TD_EINVAL;
  snapshot_t *old = atomic_load_explicit(&current, memory_order_acquire);
  td__hook_entry_t **entries = calloc(old->n + n + 1, sizeof *entries);
  td__hooks_retired_t *r = calloc(1, sizeof *r);
  td__hook_entry_t **removed = calloc(old->n + 1, sizeof *removed);
  if (entries == NULL || r == NULL || removed == NULL) goto nomem;
  size_t kept = 0, nremoved = 0;
  for (size_t i = 0; i < old->n; i++) {
    if (strcmp(old->all[i]->package, package) == 0)
      removed[nremoved++] = old->all[i];
    else
      entries[kept++] = old->all[i];
  }
  for (size_t i = 0; i < n; i++) {
    td__hook_entry_t *e = new_entry(&specs[i], package);
    if (e == NULL) {
      for (size_t k = old->n - nremoved; k < kept; k++) free(entries[k]);
      goto nomem;
    }
    entries[kept++] = e;
  }
  snapshot_t *snap = build_snapshot(entries, kept);
  if (snap == NULL) {
    for (size_t k = old->n - nremoved; k < kept; k++) free(entries[k]);
    goto nomem;
  }
  pthread_mutex_lock(&swap_lock);
  atomic_store_explicit(&current, snap, memory_order_release);
  pthread_mutex_unlock(&swap_lock);
  *r = (td__hooks_retired_t){old, removed, nremoved};
  *retired = r;
  return 0;
nomem:
  free(entries);
  free(removed);
  free(r);
  return TD_ENOMEM;
}

void td__hooks_retired_free(td__hooks_retired_t *r) {
  if (r == NULL) return;
  pthread_mutex_lock(&swap_lock);
  for (size_t i = 0; i < r->nremoved; i++) free(r->removed[i]);
  free(r->removed);
  snapshot_free(r->snapshot);
  pthread_mutex_unlock(&swap_lock);
  free(r);
}

json_t *td__hooks_describe(void) {
  json_t *out = json_array();
  pthread_mutex_lock(&swap_lock);
  const snapshot_t *snap = atomic_load_explicit(&current, memory_order_acquire);
  for (size_t i = 0; snap && i < snap->nhooks; i++)
    for (size_t j = 0; j < snap->hooks[i].n; j++) {
      const td__hook_entry_t *e = snap->hooks[i].entries[j];
      bool filter = strstr(e->hook, ".before_") != NULL;
      json_array_append_new(
          out, json_pack("{s:s,s:s,s:s,s:i,s:I,s:i,s:s}", "hook", e->hook, "kind",
                         filter ? "filter" : "event", "package", e->package, "priority", e->priority,
                         "position", (json_int_t)j + 1, "consecutive_failures", atomic_load(&e->failures),
                         "breaker", atomic_load(&e->disabled) ? "open" : "closed"));
    }
  pthread_mutex_unlock(&swap_lock);
  return out;
}

bool td__hooks_frozen(void) { return atomic_load(&reg.frozen); }

td__hook_entry_t *const *td__hooks_entries(const char *hook, size_t *n) {
  *n = 0;
  const snapshot_t *snap = atomic_load_explicit(&current, memory_order_acquire);
  if (snap == NULL) return NULL;
  for (size_t i = 0; i < snap->nhooks; i++) {
    if (strcmp(snap->hooks[i].name, hook) == 0) {
      *n = snap->hooks[i].n;
      return snap->hooks[i].entries;
    }
  }
  return NULL;
}

void td__hooks_list(td__hooks_list_fn fn, void *arg) {
  const snapshot_t *snap = atomic_load_explicit(&current, memory_order_acquire);
  if (snap == NULL) return;
  for (size_t i = 0; i < snap->nhooks; i++)
    for (size_t j = 0; j < snap->hooks[i].n; j++) fn(snap->hooks[i].entries[j], j, arg);
}

void td__hooks_reset(void) {
  for (size_t i = 0; i < reg.n; i++) free(reg.all[i]);
  free(reg.all);
  snapshot_t *snap = atomic_exchange(&current, NULL);
  if (snap)
    for (size_t i = 0; i < snap->n; i++) free(snap->all[i]);
  snapshot_free(snap);
  json_decref(reg.overrides);
  reg.overrides = NULL;
  reg.all = NULL;
  reg.n = reg.cap = 0;
  reg.next_seq = 0;
  atomic_store(&reg.frozen, false);
}
