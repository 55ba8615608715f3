/* The whole route table, built once from the per-resource tables. */
#include "api/routes.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "talentd/types.h"
#include "util/mem.h"

static const td__route_t *const tables[] = {
    td__routes_system,
    td__routes_auth,
    td__routes_candidates,
    td__routes_jobs,
    td__routes_pipeline_templates,
    td__routes_applications,
    td__routes_tasks,
    td__routes_touches,
    td__routes_touches,
    td__routes_attachments,
    td__routes_custom_fields,
    td__routes_imports,
    td__routes_events,
    td__routes_scheduled_runs,
    td__routes_deliveries,
    td__routes_plugins,
    td__routes_hooks,
    td__routes_scripts,
};

static td__route_t *all;
static size_t all_count;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool built;

/* Routes added at start-up (plugins), appended after the core's. */
static td__route_t *added;
static size_t added_count;

bool td__routes_core_has_prefix(const char *prefix) {
  size_t n = strlen(prefix);
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (const td__route_t *r = tables[t]; r->method; r++)
      if (strncmp(r->pattern, prefix, n) == 0 && (r->pattern[n] == '\0' || r->pattern[n] == '/')) return true;
  return false;
}

int td__routes_add(const td__route_t *route) {
  if (built) return TD_EDENIED;
  added = td__xrealloc(added, (added_count + 1) * sizeof *added);
  added[added_count++] = *route;
  return 0;
}

static void build(void) {
  built = true;
  size_t n = added_count;
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (const td__route_t *r = tables[t]; r->method; r++) n++;
  all = td__xcalloc(n, sizeof *all);
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (const td__route_t *r = tables[t]; r->method; r++) all[all_count++] = *r;
  for (size_t i = 0; i < added_count; i++) all[all_count++] = added[i];
}

const td__route_t *td__routes(size_t *count) {
  pthread_once(&once, build);
  *count = all_count;
  return all;
}
