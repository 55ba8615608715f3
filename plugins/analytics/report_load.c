/* Loading the stage-type history for the plan, forecast and velocity reports (see
 * report_load.h): the jobs in scope and every stage's type from two small queries, the
 * applications and their logs from the in-memory history (cache.h). */
#include "report_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

#define MAX_ROWID 100000000 /* jobs and stages: dense maps up to this rowid */

typedef struct loader {
  const td_host_api_t *api;
  const rl_scope_t *scope;
  unsigned char *job_flags; /* per job rowid: 1 in scope, 2 marked department */
  size_t job_span;
  signed char *stage_type; /* per stage rowid: its type, -1 unknown */
  size_t stage_span;
} loader_t;

/* Grows a byte map to cover index, filling new entries with fill. */
static int cover(void **map, size_t *span, int64_t index, int fill) {
  if (index < 0 || index >= MAX_ROWID) return TD_ELIMIT;
  if ((size_t)index < *span) return 0;
  size_t n = *span ? *span : 1024;
  while (n <= (size_t)index) n *= 2;
  unsigned char *m = realloc(*map, n);
  if (m == NULL) return TD_ENOMEM;
  memset(m + *span, fill, n - *span);
  *map = m, *span = n;
  return 0;
}

/* Columns: job rowid, department. */
static int on_job(const td_row_t *row, void *data) {
  loader_t *l = data;
  int64_t job = l->api->row_int(row, 0);
  int rc = cover((void **)&l->job_flags, &l->job_span, job, 0);
  if (rc) return rc;
  const char *dept = l->api->row_text(row, 1), *mark = l->scope->mark_department;
  l->job_flags[job] = (unsigned char)(1 | (mark && dept && strcmp(dept, mark) == 0 ? 2 : 0));
  return 0;
}

/* Columns: stage rowid, type. */
static int on_stage(const td_row_t *row, void *data) {
  loader_t *l = data;
  int64_t stage = l->api->row_int(row, 0);
  an_stage_type_t t;
  if (an_stage_type_parse(l->api->row_text(row, 1), &t) != 0) return TD_EINVAL;
  int rc = cover((void **)&l->stage_type, &l->stage_span, stage, 0xff);
  if (rc) return rc;
  l->stage_type[stage] = (signed char)t;
  return 0;
}

static int load_maps(loader_t *l, td_tx_t *tx) {
  const rl_scope_t *s = l->scope;
  char pred[512], sql[900];
  int rc = an_access_sql(s->access, 3, pred, sizeof pred);
  if (rc) return rc;
  snprintf(sql, sizeof sql,
           "SELECT j.rowid, j.department FROM jobs j WHERE (?1 IS NULL OR j.id = ?1)"
           " AND (?2 IS NULL OR j.department = ?2) AND %s",
           pred);
  json_t *p = json_pack("[s?,s?,s]", s->job_id, s->department, an_access_user(s->access));
  rc = l->api->query_rows(tx, sql, p, on_job, l);
  json_decref(p);
  return rc ? rc : l->api->query_rows(tx, "SELECT rowid, type FROM stages", NULL, on_stage, l);
}

static int same(const char *want, const char *have) {
  return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

/* Whether a cached application is in scope: a job in scope, the filters, and active or with
 * a transition at or after since_ms. */
static int wanted(const loader_t *l, const an_cache_t *c, size_t i, const an_transition_t *log, size_t n) {
  const an_cache_app_t *a = &c->apps[i];
  const rl_scope_t *s = l->scope;
  if (a->job_rowid < 0 || (size_t)a->job_rowid >= l->job_span || !l->job_flags[a->job_rowid]) return 0;
  if (!same(s->source, a->source) || !same(s->recruiter_id, a->credited_to)) return 0;
  if (a->status == AN_ACTIVE) return 1;
  for (size_t k = n; k-- > 0;)
    if (log[k].at_ms >= s->since_ms) return 1;
  return 0;
}

static int append(loader_t *l, rl_data_t *d, const an_cache_app_t *a, const an_transition_t *log, size_t n) {
  size_t first = d->event_count;
  for (size_t k = 0; k < n; k++) {
    int64_t st = log[k].to_stage;
    if (st < 0 || (size_t)st >= l->stage_span || l->stage_type[st] < 0) return TD_EINVAL;
    d->events[d->event_count++] = (hx_event_t){log[k].kind, (an_stage_type_t)l->stage_type[st], log[k].at_ms};
  }
  d->first[d->app_count] = first;
  d->mark[d->app_count] = (l->job_flags[a->job_rowid] & 2) != 0;
  d->apps[d->app_count++] = (hx_app_t){NULL, n, a->status, (size_t)a->job_rowid};
  return 0;
}

/* Two passes over the cache: size, then fill (no reallocation of millions of events). */
static int pick(loader_t *l, const an_cache_t *c, rl_data_t *d) {
  size_t apps = 0, events = 0, longest = 0;
  for (size_t i = 0; i < c->app_count; i++) {
    size_t n = c->apps[i].count + c->apps[i].extra_count;
    if (n > longest) longest = n;
  }
  an_transition_t *scratch = malloc((longest ? longest : 1) * sizeof *scratch);
  if (scratch == NULL) return TD_ENOMEM;
  for (size_t i = 0; i < c->app_count; i++) {
    size_t n = c->apps[i].count + c->apps[i].extra_count;
    if (wanted(l, c, i, an_cache_log(c, i, scratch), n)) apps++, events += n;
  }
  d->apps = malloc((apps ? apps : 1) * sizeof *d->apps);
  d->first = malloc((apps ? apps : 1) * sizeof *d->first);
  d->mark = malloc(apps ? apps : 1);
  d->events = malloc((events ? events : 1) * sizeof *d->events);
  int rc = d->apps && d->first && d->mark && d->events ? 0 : TD_ENOMEM;
  d->app_cap = apps, d->event_cap = events;
  for (size_t i = 0; rc == 0 && i < c->app_count; i++) {
    size_t n = c->apps[i].count + c->apps[i].extra_count;
    const an_transition_t *log = an_cache_log(c, i, scratch);
    if (wanted(l, c, i, log, n)) rc = append(l, d, &c->apps[i], log, n);
  }
  free(scratch);
  return rc;
}

int rl_load(const td_host_api_t *api, td_tx_t *tx, const rl_scope_t *s, rl_data_t *out) {
  memset(out, 0, sizeof *out);
  loader_t l = {.api = api, .scope = s};
  int rc = load_maps(&l, tx);
  an_cache_t *cache = NULL;
  if (rc == 0) rc = an_cache_acquire(api, tx, &cache);
  if (rc == 0) {
    rc = pick(&l, cache, out);
    an_cache_release(cache);
  }
  free(l.job_flags);
  free(l.stage_type);
  if (rc) {
    rl_free(out);
    return rc;
  }
  for (size_t i = 0; i < out->app_count; i++) out->apps[i].events = out->events + out->first[i];
  return 0;
}

void rl_free(rl_data_t *d) {
  free(d->apps), free(d->mark), free(d->events), free(d->first);
  memset(d, 0, sizeof *d);
}
