/* Event subscribers on top of the hook registry (see events.h). Each subscription keeps a
 * small record that the registry entry's data points to: it holds the subscriber's own data
 * and lets the dispatcher tell subscribers apart from other hook kinds sharing the registry. */
#include "hooks/events.h"

#include <stdlib.h>
#include <string.h>

#include "talentd/types.h"

typedef struct subscription {
  char package[TD_HOOK_PACKAGE_MAX];
  char pattern[TD_HOOK_NAME_MAX];
  void *data; /* the subscriber's, borrowed */
} subscription_t;

static struct {
  subscription_t **all;
  size_t n, cap;
} subs;

/* A pattern is an event type ("noun.verbed"), "prefix.*" or "*": letters, digits, '_' and
 * '.', with '*' only as the whole last segment. Filter names ("*.before_*") are refused. */
static bool valid_pattern(const char *p) {
  size_t n = p ? strlen(p) : 0;
  if (n == 0 || n >= TD_HOOK_NAME_MAX) return false;
  if (strcmp(p, "*") == 0) return true;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              (c == '*' && i == n - 1 && i > 0 && p[i - 1] == '.');
    if (!ok) return false;
  }
  return strstr(p, ".before_") == NULL && p[0] != '.';
}

static bool valid_package(const char *package) {
  return package != NULL && package[0] != '\0' && strlen(package) < TD_HOOK_PACKAGE_MAX;
}

/* A subscription record (not yet listed: see keep_record). NULL when out of memory. */
static subscription_t *new_record(const char *package, const char *pattern, void *data) {
  if (subs.n == subs.cap) {
    size_t cap = subs.cap ? subs.cap * 2 : 8;
    subscription_t **all = realloc(subs.all, cap * sizeof *all);
    if (all == NULL) return NULL;
    subs.all = all;
    subs.cap = cap;
  }
  subscription_t *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  memcpy(s->package, package, strlen(package) + 1);
  memcpy(s->pattern, pattern, strlen(pattern) + 1);
  s->data = data;
  return s;
}

/* Lists a record (new_record made room for it). */
static void keep_record(subscription_t *s) { subs.all[subs.n++] = s; }

bool td__event_pattern_match(const char *pattern, const char *type) {
  size_t n = strlen(pattern);
  if (strcmp(pattern, "*") == 0) return true;
  if (n >= 2 && pattern[n - 1] == '*') return strncmp(pattern, type, n - 1) == 0;
  return strcmp(pattern, type) == 0;
}

int td__event_subscribe(const char *package, const char *pattern, int priority, td__event_fn fn, void *data) {
  if (fn == NULL || !valid_pattern(pattern) || !valid_package(package)) return TD_EINVAL;
  if (td__hooks_frozen()) return td__hooks_register(pattern, package, priority, 0, (td__hook_cb_t)fn, NULL);
  for (size_t i = 0; i < subs.n; i++)
    if (strcmp(subs.all[i]->package, package) == 0 && strcmp(subs.all[i]->pattern, pattern) == 0)
      return TD_ECONFLICT;
  subscription_t *s = new_record(package, pattern, data);
  if (s == NULL) return TD_ENOMEM;
  /* The registry stores a generic callback; td__event_call is the only place casting it back. */
  int rc = td__hooks_register(pattern, package, priority, 0, (td__hook_cb_t)fn, s);
  if (rc) {
    free(s);
    return rc;
  }
  keep_record(s);
  return 0;
}

int td__event_spec(const char *package, const char *pattern, int priority, td__event_fn fn, void *data,
                   td__hook_spec_t *out) {
  if (fn == NULL || !valid_pattern(pattern) || !valid_package(package)) return TD_EINVAL;
  subscription_t *s = new_record(package, pattern, data);
  if (s == NULL) return TD_ENOMEM;
  keep_record(s);
  *out = (td__hook_spec_t){s->pattern, priority, 0, (td__hook_cb_t)fn, s};
  return 0;
}

bool td__event_is_subscriber(const td__hook_entry_t *entry) {
  for (size_t i = 0; i < subs.n; i++)
    if (entry->data == subs.all[i]) return true;
  return false;
}

void td__event_call(const td__hook_entry_t *entry, const json_t *envelope, td__event_done_fn done,
                    void *token) {
  const subscription_t *s = entry->data;
  ((td__event_fn)entry->fn)(envelope, done, token, s->data);
}

void td__event_subscribers_reset(void) {
  for (size_t i = 0; i < subs.n; i++) free(subs.all[i]);
  free(subs.all);
  subs.all = NULL;
  subs.n = subs.cap = 0;
}
