/* The whole route table, built once from the per-resource tables. */
#include "api/routes.h"

#include <pthread.h>
#include <stdlib.h>

#include "api/app.h"
#include "util/mem.h"

static const td__route_t *const tables[] = {
    td__routes_system,
    td__routes_auth,
    td__routes_candidates,
    td__routes_jobs,
    td__routes_pipeline_templates,
    td__routes_applications,
    td__routes_tasks,
    td__routes_attachments,
    td__routes_custom_fields,
    td__routes_imports,
    td__routes_events,
    td__routes_scheduled_runs,
    td__routes_deliveries,
};

static td__route_t *all;
static size_t all_count;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void) {
  size_t n = 0;
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (const td__route_t *r = tables[t]; r->method; r++) n++;
  all = td__xcalloc(n, sizeof *all);
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (const td__route_t *r = tables[t]; r->method; r++) all[all_count++] = *r;
}

const td__route_t *td__routes(size_t *count) {
  pthread_once(&once, build);
  *count = all_count;
  return all;
}
