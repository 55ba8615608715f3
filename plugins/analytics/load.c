/* The scope of one analytics table (see load.h): the pipeline (one job's stages, or the six
 * stage types with a map from every stage in scope to its type) from small queries, and the
 * applications in scope picked from the in-memory history (cache.h) by the filters. */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct loader {
  const td_host_api_t *api;
  an_data_t *d;
  /* stage rowid -> value (job mode: 0 = in the pipeline; per-type mode: the type) */
  int64_t stage_lo;
  int *stage_map;
  size_t stage_span;
  int64_t job_rowid; /* job mode */
  /* job rowid -> in scope (per-type mode with a department or team filter) */
  unsigned char *jobs_in;
  int64_t jobs_span;
} loader_t;

static int add_stage(an_data_t *d, int64_t rowid, const char *id, const char *name, const char *type) {
  size_t i = d->stage_count;
  an_stage_type_t t;
  if (an_stage_type_parse(type, &t) != 0) return AN_EINVAL;
  an_stage_t *s = realloc(d->stages, (i + 1) * sizeof *s);
  if (s) d->stages = s;
  char(*ids)[40] = s ? realloc(d->stage_ids, (i + 1) * sizeof *ids) : NULL;
  if (ids) d->stage_ids = ids;
  char(*names)[128] = ids ? realloc(d->stage_names, (i + 1) * sizeof *names) : NULL;
  if (names == NULL) return AN_ENOMEM;
  d->stage_names = names;
  d->stages[i] = (an_stage_t){rowid, t, (int)i};
  snprintf(d->stage_ids[i], sizeof d->stage_ids[i], "%s", id ? id : "");
  snprintf(d->stage_names[i], sizeof d->stage_names[i], "%s", name ? name : type);
  d->stage_count++;
  return 0;
}

/* Records stage rowid -> value, growing the dense map as needed. */
static int map_stage_rowid(loader_t *l, int64_t rowid, int value) {
  if (l->stage_map == NULL) l->stage_lo = rowid;
  if (rowid < l->stage_lo || (uint64_t)(rowid - l->stage_lo) >= l->stage_span) {
    int64_t lo = rowid < l->stage_lo ? rowid : l->stage_lo;
    int64_t top = l->stage_map ? l->stage_lo + (int64_t)l->stage_span - 1 : rowid;
    int64_t hi = top > rowid ? top : rowid;
    if (hi - lo >= 50000000) return AN_ENOMEM; /* absurdly sparse stage rowids */
    size_t span = (size_t)(hi - lo + 1);
    int *map = malloc(span * sizeof *map);
    if (map == NULL) return AN_ENOMEM;
    for (size_t i = 0; i < span; i++) map[i] = -1;
    for (size_t i = 0; i < l->stage_span; i++) map[(size_t)(l->stage_lo - lo) + i] = l->stage_map[i];
    free(l->stage_map);
    l->stage_map = map, l->stage_lo = lo, l->stage_span = span;
  }
  l->stage_map[rowid - l->stage_lo] = value;
  return 0;
}

/* Columns: rowid, id, name, type, job rowid. */
static int on_stage(const td_row_t *row, void *data) {
  loader_t *l = data;
  const td_host_api_t *api = l->api;
  l->job_rowid = api->row_int(row, 4);
  return add_stage(l->d, api->row_int(row, 0), api->row_text(row, 1), api->row_text(row, 2),
                   api->row_text(row, 3));
}

/* Per-type mode, columns: stage rowid, type, job rowid. */
static int on_type_of(const td_row_t *row, void *data) {
  loader_t *l = data;
  an_stage_type_t t;
  if (an_stage_type_parse(l->api->row_text(row, 1), &t) != 0) return AN_EINVAL;
  int64_t job = l->api->row_int(row, 2);
  if (job < 0 || job >= 100000000) return AN_ENOMEM;
  if (job >= l->jobs_span) {
    int64_t span = l->jobs_span ? l->jobs_span : 1024;
    while (span <= job) span *= 2;
    unsigned char *in = realloc(l->jobs_in, (size_t)span);
    if (in == NULL) return AN_ENOMEM;
    memset(in + l->jobs_span, 0, (size_t)(span - l->jobs_span));
    l->jobs_in = in, l->jobs_span = span;
  }
  l->jobs_in[job] = 1;
  return map_stage_rowid(l, l->api->row_int(row, 0), (int)t);
}

static int load_pipeline(loader_t *l, td_tx_t *tx, const an_query_t *q) {
  const td_host_api_t *api = l->api;
  an_data_t *d = l->d;
  int rc = 0;
  if (q->job_id) {
    json_t *p = json_pack("[s]", q->job_id);
    rc = api->query_rows(tx,
                         "SELECT s.rowid, s.id, s.name, s.type, j.rowid FROM stages s"
                         " JOIN jobs j ON j.rowid = s.job_rowid WHERE j.id = ?1"
                         " ORDER BY s.position, s.rowid", /* deleted stages too: the log names them */
                         p, on_stage, l);
    json_decref(p);
    if (rc == 0 && d->stage_count == 0) d->job_missing = 1;
    return rc;
  }
  static const char *const types[] = {"lead", "applied", "screen", "interview", "offer", "hired"};
  for (int i = 0; rc == 0 && i < 6; i++) rc = add_stage(d, i, NULL, types[i], types[i]);
  char visible[320] = "1";
  if (q->access && an_access_sql(q->access, 2, visible, sizeof visible) != 0) return AN_ENOMEM;
  char sql[640];
  snprintf(sql, sizeof sql,
           "SELECT s.rowid, s.type, j.rowid FROM stages s JOIN jobs j ON j.rowid = s.job_rowid"
           " WHERE (?1 IS NULL OR j.department = ?1) AND (?2 IS NULL OR %s)",
           visible);
  json_t *p = json_pack("[s?,s?]", q->department, q->access ? an_access_user(q->access) : NULL);
  if (rc == 0) rc = api->query_rows(tx, sql, p, on_type_of, l);
  json_decref(p);
  return rc;
}

static int same(const char *want, const char *have) {
  return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

/* Whether cached application a is in q's scope (the job or jobs, and the filters). */
static int in_scope(const loader_t *l, const an_query_t *q, const an_cache_app_t *a) {
  if (q->job_id ? a->job_rowid != l->job_rowid
                : (a->job_rowid < 0 || a->job_rowid >= l->jobs_span || !l->jobs_in[a->job_rowid]))
    return 0;
  if (q->has_from && a->applied_at_ms < q->from_ms) return 0;
  if (q->has_to && a->applied_at_ms >= q->to_ms) return 0;
  return same(q->source, a->source) && same(q->recruiter_id, a->credited_to);
}

/* Picks the applications in scope; their logs point into the cache or, for those with
 * rows appended since the last full load, into one merged scratch array. */
static int pick(loader_t *l, const an_query_t *q, an_cache_t *c) {
  an_data_t *d = l->d;
  size_t n = 0, scratch = 0;
  for (size_t i = 0; i < c->app_count; i++)
    if (in_scope(l, q, &c->apps[i])) {
      n++;
      if (c->apps[i].extra_count) scratch += c->apps[i].count + c->apps[i].extra_count;
    }
  if (an_cache_reserve(c, n, scratch) != 0) return AN_ENOMEM;
  d->apps = c->work_apps, d->app_rowids = c->work_rowids, d->scratch = c->work_scratch;
  size_t used = 0;
  for (size_t i = 0; i < c->app_count; i++) {
    const an_cache_app_t *a = &c->apps[i];
    if (!in_scope(l, q, a)) continue;
    const an_transition_t *log = an_cache_log(c, i, d->scratch + used);
    if (a->extra_count) used += a->count + a->extra_count;
    d->app_rowids[d->app_count] = a->rowid;
    d->apps[d->app_count++] =
        (an_application_t){log, a->count + a->extra_count, a->status, a->source, a->applied_at_ms};
    d->transition_count += a->count + a->extra_count;
  }
  return 0;
}

int an_load(const td_host_api_t *api, td_tx_t *tx, const an_query_t *q, an_data_t *out) {
  memset(out, 0, sizeof *out);
  loader_t l = {.api = api, .d = out};
  int rc = load_pipeline(&l, tx, q);
  an_cache_t *cache = NULL;
  if (rc == 0 && !out->job_missing) rc = an_cache_acquire(api, tx, &cache);
  if (rc == 0 && cache) {
    rc = pick(&l, q, cache);
    out->cache = cache;
  }
  if (rc == 0 && !q->job_id && l.stage_map) {
    out->map.lo = l.stage_lo, out->map.span = l.stage_span, out->map.index = l.stage_map;
    l.stage_map = NULL; /* kept by out */
  }
  if (!q->job_id) out->has_map = 1;
  free(l.stage_map);
  free(l.jobs_in);
  return rc;
}

an_pipeline_t an_data_pipeline(const an_data_t *d) {
  an_pipeline_t p = {d->stages, d->stage_count, d->has_map ? &d->map : NULL};
  return p;
}

void an_data_free(an_data_t *d) {
  an_cache_release(d->cache);
  free(d->stages);
  free(d->stage_ids);
  free(d->stage_names);
  /* apps, app_rowids and scratch are the cache's working arrays (kept for the next report) */
  free((void *)d->map.index);
  memset(d, 0, sizeof *d);
}
