/* The hook registry (see registry.h): start-up registration, deterministic ordering with
 * admin overrides, a freeze after which lookups need no locks, and a listing. */
#include "hooks/registry.h"

#include <stdlib.h>
#include <string.h>

#include "talentd/types.h"
#include "util/log.h"

/* One hook's resolved entries (built by the freeze). */
typedef struct hook_list {
  const char *name; /* borrowed from its first entry */
  td__hook_entry_t **entries;
  size_t n;
} hook_list_t;

static struct {
  td__hook_entry_t **all; /* every registered entry, in registration order */
  size_t n, cap;
  uint64_t next_seq;
  hook_list_t *hooks; /* sorted by name; valid while frozen */
  size_t nhooks;
  atomic_bool frozen;
} reg;

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

int td__hooks_freeze(const json_t *overrides) {
  if (atomic_load(&reg.frozen)) return TD_EDENIED;
  if (reg.n) qsort(reg.all, reg.n, sizeof *reg.all, name_cmp); /* groups each hook's entries */
  hook_list_t *hooks = reg.n ? calloc(reg.n, sizeof *hooks) : NULL;
  if (reg.n && hooks == NULL) return TD_ENOMEM;
  size_t nhooks = 0;
  for (size_t i = 0; i < reg.n;) {
    size_t j = i;
    while (j < reg.n && strcmp(reg.all[j]->hook, reg.all[i]->hook) == 0) j++;
    hook_list_t *h = &hooks[nhooks++];
    h->name = reg.all[i]->hook;
    h->entries = reg.all + i;
    h->n = j - i;
    td__hooks_order(h->entries, h->n, json_object_get(overrides, h->name));
    i = j;
  }
  reg.hooks = hooks;
  reg.nhooks = nhooks;
  atomic_store(&reg.frozen, true);
  return 0;
}

bool td__hooks_frozen(void) { return atomic_load(&reg.frozen); }

td__hook_entry_t *const *td__hooks_entries(const char *hook, size_t *n) {
  *n = 0;
  if (!atomic_load(&reg.frozen) || reg.nhooks == 0) return NULL;
  for (size_t i = 0; i < reg.nhooks; i++) {
    if (strcmp(reg.hooks[i].name, hook) == 0) {
      *n = reg.hooks[i].n;
      return reg.hooks[i].entries;
    }
  }
  return NULL;
}

void td__hooks_list(td__hooks_list_fn fn, void *arg) {
  if (!atomic_load(&reg.frozen)) return;
  for (size_t i = 0; i < reg.nhooks; i++)
    for (size_t j = 0; j < reg.hooks[i].n; j++) fn(reg.hooks[i].entries[j], j, arg);
}

void td__hooks_reset(void) {
  for (size_t i = 0; i < reg.n; i++) free(reg.all[i]);
  free(reg.all);
  free(reg.hooks);
  reg.all = NULL;
  reg.hooks = NULL;
  reg.n = reg.cap = reg.nhooks = 0;
  reg.next_seq = 0;
  atomic_store(&reg.frozen, false);
}
