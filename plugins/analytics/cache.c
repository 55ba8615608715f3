/* The in-memory recruiting history (see cache.h): a full load in three sequential scans, and
 * the incremental refresh that keeps it current. */
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_TRANSITIONS ((size_t)10000000)

static an_cache_t g_cache = {.max_transitions = DEFAULT_MAX_TRANSITIONS};
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct scan {
  const td_host_api_t *api;
  an_cache_t *c;
  int failed; /* out of memory while interning */
  uint32_t *fill;
} scan_t;

static void clear(an_cache_t *c) {
  size_t max = c->max_transitions;
  free(c->work_apps);
  free(c->work_rowids);
  free(c->work_scratch);
  an_intern_free(&c->strings);
  free(c->apps);
  free(c->app_map);
  free(c->base);
  free(c->extra);
  free(c->extra_next);
  memset(c, 0, sizeof *c);
  c->max_transitions = max;
}

static an_status_t status_of(const char *s) {
  if (s && strcmp(s, "rejected") == 0) return AN_STATUS_REJECTED;
  if (s && strcmp(s, "withdrawn") == 0) return AN_STATUS_WITHDRAWN;
  if (s && strcmp(s, "hired") == 0) return AN_STATUS_HIRED;
  return AN_ACTIVE;
}

/* An application's status after a transition of this kind: the log is the only way a status
 * changes (core/domain/transitions.c; applications have no PATCH). */
static an_status_t status_after(an_transition_kind_t kind) {
  switch (kind) {
    case AN_REJECTED: return AN_STATUS_REJECTED;
    case AN_WITHDRAWN: return AN_STATUS_WITHDRAWN;
    case AN_HIRED: return AN_STATUS_HIRED;
    default: return AN_ACTIVE;
  }
}

static int32_t app_index(const an_cache_t *c, int64_t rowid) {
  if (rowid < c->app_lo || (uint64_t)(rowid - c->app_lo) >= c->app_span) return -1;
  return c->app_map[rowid - c->app_lo];
}

/* Grows the rowid map to cover rowid (new applications have higher rowids). */
static int map_cover(an_cache_t *c, int64_t rowid) {
  if (c->app_span == 0) c->app_lo = rowid;
  if (rowid < c->app_lo) return AN_EINVAL; /* applications arrive in rowid order */
  size_t need = (size_t)(rowid - c->app_lo) + 1;
  if (need <= c->app_span) return 0;
  size_t span = c->app_span ? c->app_span : 1024;
  while (span < need) span *= 2;
  int32_t *map = realloc(c->app_map, span * sizeof *map);
  if (map == NULL) return AN_ENOMEM;
  for (size_t i = c->app_span; i < span; i++) map[i] = -1;
  c->app_map = map, c->app_span = span;
  return 0;
}

/* Columns: rowid, job_rowid, status, source, credited_to, applied_at. */
static int on_new_app(const td_row_t *row, void *data) {
  scan_t *s = data;
  an_cache_t *c = s->c;
  const td_host_api_t *api = s->api;
  if (c->app_count == c->app_cap) {
    size_t cap = c->app_cap ? c->app_cap * 2 : 4096;
    an_cache_app_t *apps = realloc(c->apps, cap * sizeof *apps);
    if (apps == NULL) return AN_ENOMEM;
    c->apps = apps, c->app_cap = cap;
  }
  int64_t rowid = api->row_int(row, 0);
  int rc = map_cover(c, rowid);
  if (rc) return rc;
  an_cache_app_t *a = &c->apps[c->app_count];
  *a = (an_cache_app_t){.rowid = rowid,
                        .job_rowid = api->row_int(row, 1),
                        .status = status_of(api->row_text(row, 2)),
                        .source = an_intern(&c->strings, api->row_text(row, 3), &s->failed),
                        .credited_to = an_intern(&c->strings, api->row_text(row, 4), &s->failed),
                        .applied_at_ms = api->row_int(row, 5),
                        .extra_head = -1,
                        .extra_tail = -1};
  if (s->failed) return AN_ENOMEM;
  c->app_map[rowid - c->app_lo] = (int32_t)c->app_count++;
  c->last_app_rowid = rowid;
  return 0;
}

static int on_count(const td_row_t *row, void *data) {
  scan_t *s = data;
  int32_t i = app_index(s->c, s->api->row_int(row, 0));
  if (i >= 0) s->c->apps[i].count++;
  return 0;
}

/* Columns: rowid, application_rowid, kind, from_stage_rowid, to_stage_rowid, at, reason. */
static int read_transition(scan_t *s, const td_row_t *row, int32_t *app, an_transition_t *t) {
  const td_host_api_t *api = s->api;
  *app = app_index(s->c, api->row_int(row, 1));
  if (*app < 0) return 0; /* an application committed after our snapshot of applications */
  an_transition_kind_t kind;
  if (an_transition_kind_parse(api->row_text(row, 2), &kind) != 0) return AN_EINVAL;
  *t = (an_transition_t){kind, api->row_is_null(row, 3) ? -1 : api->row_int(row, 3), api->row_int(row, 4),
                         api->row_int(row, 5), an_intern(&s->c->strings, api->row_text(row, 6), &s->failed)};
  if (s->failed) return AN_ENOMEM;
  int64_t rowid = api->row_int(row, 0);
  if (rowid > s->c->last_transition_rowid) s->c->last_transition_rowid = rowid;
  return 0;
}

static int on_base_transition(const td_row_t *row, void *data) {
  scan_t *s = data;
  int32_t i;
  an_transition_t t;
  int rc = read_transition(s, row, &i, &t);
  if (rc || i < 0) return rc;
  an_cache_app_t *a = &s->c->apps[i];
  if (s->fill[i] >= a->first + a->count) return AN_EINVAL; /* cannot happen in one snapshot */
  s->c->base[s->fill[i]++] = t;
  return 0;
}

static int on_extra_transition(const td_row_t *row, void *data) {
  scan_t *s = data;
  an_cache_t *c = s->c;
  int32_t i;
  an_transition_t t;
  int rc = read_transition(s, row, &i, &t);
  if (rc || i < 0) return rc;
  if (c->base_count + c->extra_count >= c->max_transitions) return AN_ELIMIT_LOAD;
  if (c->extra_count == c->extra_cap) {
    size_t cap = c->extra_cap ? c->extra_cap * 2 : 1024;
    an_transition_t *extra = realloc(c->extra, cap * sizeof *extra);
    if (extra) c->extra = extra;
    int32_t *next = extra ? realloc(c->extra_next, cap * sizeof *next) : NULL;
    if (next == NULL) return AN_ENOMEM;
    c->extra_next = next, c->extra_cap = cap;
  }
  int32_t k = (int32_t)c->extra_count++;
  c->extra[k] = t, c->extra_next[k] = -1;
  an_cache_app_t *a = &c->apps[i];
  a->status = status_after(t.kind);
  if (a->extra_tail >= 0)
    c->extra_next[a->extra_tail] = k;
  else
    a->extra_head = k;
  a->extra_tail = k;
  a->extra_count++;
  return 0;
}

static const char *const APPS_SQL =
    "SELECT rowid, job_rowid, status, source, credited_to, applied_at FROM applications";
static const char *const TRANSITIONS_SQL =
    "SELECT rowid, application_rowid, kind, from_stage_rowid, to_stage_rowid, at, reason FROM stage_transitions";

/* Gives every application its slice of the base log. */
static int place_base(scan_t *s) {
  an_cache_t *c = s->c;
  size_t total = 0;
  for (size_t i = 0; i < c->app_count; i++) total += c->apps[i].count;
  if (total > c->max_transitions || total > UINT32_MAX) return AN_ELIMIT_LOAD;
  c->base = malloc((total ? total : 1) * sizeof *c->base);
  s->fill = malloc((c->app_count ? c->app_count : 1) * sizeof *s->fill);
  if (c->base == NULL || s->fill == NULL) return AN_ENOMEM;
  uint32_t at = 0;
  for (size_t i = 0; i < c->app_count; i++) {
    c->apps[i].first = s->fill[i] = at;
    at += c->apps[i].count;
  }
  c->base_count = total;
  return 0;
}

static int full_load(const td_host_api_t *api, td_tx_t *tx, an_cache_t *c) {
  clear(c);
  scan_t s = {api, c, 0, NULL};
  char sql[256];
  snprintf(sql, sizeof sql, "%s ORDER BY rowid", APPS_SQL);
  int rc = api->query_rows(tx, sql, NULL, on_new_app, &s);
  if (rc == 0)
    rc = api->query_rows(
        tx, "SELECT application_rowid FROM stage_transitions INDEXED BY stage_transitions_application", NULL,
        on_count, &s);
  if (rc == 0) rc = place_base(&s);
  snprintf(sql, sizeof sql, "%s ORDER BY rowid", TRANSITIONS_SQL);
  if (rc == 0) rc = api->query_rows(tx, sql, NULL, on_base_transition, &s);
  free(s.fill);
  if (rc) {
    clear(c);
    return rc;
  }
  c->built = 1;
  return 0;
}


typedef struct live {
  const td_host_api_t *api;
  int64_t count;
} live_t;

static int on_count_row(const td_row_t *row, void *data) {
  live_t *l = data;
  l->count = l->api->row_int(row, 0);
  return 0;
}

/* Brings a built cache up to date; asks for a full load (returns 1) when applications were
 * deleted or the overflow grew past a quarter of the base. */
static int refresh(const td_host_api_t *api, td_tx_t *tx, an_cache_t *c) {
  scan_t s = {api, c, 0, NULL};
  char sql[320];
  json_t *p = json_pack("[I]", (json_int_t)c->last_app_rowid);
  snprintf(sql, sizeof sql, "%s WHERE rowid > ?1 ORDER BY rowid", APPS_SQL);
  int rc = api->query_rows(tx, sql, p, on_new_app, &s);
  json_decref(p);
  live_t live = {api, -1};
  if (rc == 0) rc = api->query_rows(tx, "SELECT count(*) FROM applications", NULL, on_count_row, &live);
  if (rc == 0 && (size_t)live.count != c->app_count) return 1; /* deletions */
  p = json_pack("[I]", (json_int_t)c->last_transition_rowid);
  snprintf(sql, sizeof sql, "%s WHERE rowid > ?1 ORDER BY rowid", TRANSITIONS_SQL);
  if (rc == 0) rc = api->query_rows(tx, sql, p, on_extra_transition, &s);
  json_decref(p);
  if (rc) return rc;
  return c->extra_count > c->base_count / 4 + 10000 ? 1 : 0;
}

int an_cache_acquire(const td_host_api_t *api, td_tx_t *tx, an_cache_t **out) {
  pthread_mutex_lock(&g_lock);
  an_cache_t *c = &g_cache;
  int rc = c->built ? refresh(api, tx, c) : 1;
  if (rc == 1) rc = full_load(api, tx, c);
  if (rc != 0) {
    if (rc < 0) clear(c); /* a failed refresh leaves no half-updated copy behind */
    pthread_mutex_unlock(&g_lock);
    return rc;
  }
  *out = c;
  return 0;
}

void an_cache_release(an_cache_t *cache) {
  if (cache) pthread_mutex_unlock(&g_lock);
}

const an_transition_t *an_cache_log(const an_cache_t *c, size_t i, an_transition_t *scratch) {
  const an_cache_app_t *a = &c->apps[i];
  if (a->extra_count == 0) return c->base + a->first;
  memcpy(scratch, c->base + a->first, a->count * sizeof *scratch);
  size_t n = a->count;
  for (int32_t k = a->extra_head; k >= 0; k = c->extra_next[k]) scratch[n++] = c->extra[k];
  return scratch;
}

int an_cache_reserve(an_cache_t *c, size_t n, size_t scratch) {
  if (n > c->work_cap || c->work_apps == NULL) {
    size_t cap = n ? n : 1;
    an_application_t *apps = realloc(c->work_apps, cap * sizeof *apps);
    if (apps) c->work_apps = apps;
    int64_t *rowids = apps ? realloc(c->work_rowids, cap * sizeof *rowids) : NULL;
    if (rowids == NULL) return AN_ENOMEM;
    c->work_rowids = rowids, c->work_cap = cap;
  }
  if (scratch > c->work_scratch_cap || c->work_scratch == NULL) {
    size_t cap = scratch ? scratch : 1;
    an_transition_t *t = realloc(c->work_scratch, cap * sizeof *t);
    if (t == NULL) return AN_ENOMEM;
    c->work_scratch = t, c->work_scratch_cap = cap;
  }
  return 0;
}

void an_cache_configure(size_t max_transitions) {
  pthread_mutex_lock(&g_lock);
  g_cache.max_transitions = max_transitions ? max_transitions : DEFAULT_MAX_TRANSITIONS;
  g_cache.built = 0;
  pthread_mutex_unlock(&g_lock);
}

void an_cache_reset(void) {
  pthread_mutex_lock(&g_lock);
  clear(&g_cache);
  pthread_mutex_unlock(&g_lock);
}
