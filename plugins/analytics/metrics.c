/* The analytics plugin's pure computations (see metrics.h for the definitions): one replay of
 * each application's transition log feeds reached, time-in-stage intervals and drop-offs. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A growable array of durations (ms). */
typedef struct durations {
  int64_t *v;
  size_t n, cap;
} durations_t;

/* One drop-off, kept until all are grouped by stage and reason. */
typedef struct drop {
  size_t stage;
  an_transition_kind_t kind;
  const char *reason;
} drop_t;

typedef struct acc {
  const an_pipeline_t *pipeline;
  durations_t *closed; /* per stage */
  size_t *open;        /* per stage */
  size_t *furthest;    /* per stage: applications whose furthest stage index is this one */
  drop_t *drops;
  size_t drop_count, drop_cap;
} acc_t;

/* The replay state of one application. */
typedef struct replay {
  size_t stage; /* index in the pipeline */
  size_t furthest;
  int64_t entered_at, last_at;
  int in_interval, hired;
} replay_t;

static int grow(void **v, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t cap2 = *cap ? *cap * 2 : 16;
  while (cap2 < need) cap2 *= 2;
  void *p = realloc(*v, cap2 * size);
  if (p == NULL) return AN_ENOMEM;
  *v = p, *cap = cap2;
  return 0;
}

static int durations_push(durations_t *d, int64_t ms) {
  if (grow((void **)&d->v, &d->cap, d->n + 1, sizeof *d->v)) return AN_ENOMEM;
  d->v[d->n++] = ms;
  return 0;
}

static int drop_push(acc_t *a, size_t stage, an_transition_kind_t kind, const char *reason) {
  if (grow((void **)&a->drops, &a->drop_cap, a->drop_count + 1, sizeof *a->drops)) return AN_ENOMEM;
  a->drops[a->drop_count++] = (drop_t){stage, kind, reason};
  return 0;
}

/* The pipeline index of a stage id, or -1 when it is not one of the pipeline's stages. */
static long stage_index(const an_pipeline_t *p, int64_t stage_id) {
  if (p->map) {
    const an_stage_map_t *m = p->map;
    if (stage_id < m->lo || (uint64_t)(stage_id - m->lo) >= m->span) return -1;
    int i = m->index[stage_id - m->lo];
    return i >= 0 && (size_t)i < p->count ? i : -1;
  }
  for (size_t i = 0; i < p->count; i++)
    if (p->stages[i].stage_id == stage_id) return (long)i;
  return -1;
}

static int pipeline_valid(const an_pipeline_t *p) {
  if (p == NULL || (p->count > 0 && p->stages == NULL)) return 0;
  for (size_t i = 0; i < p->count; i++) {
    if (i > 0 && p->stages[i].position <= p->stages[i - 1].position) return 0;
    if (p->map == NULL && stage_index(p, p->stages[i].stage_id) != (long)i) return 0; /* duplicate id */
  }
  return 1;
}

static int passes(const an_filter_t *f, const an_application_t *app) {
  if (f == NULL) return 1;
  if (f->has_from && app->applied_at_ms < f->from_ms) return 0;
  if (f->has_to && app->applied_at_ms >= f->to_ms) return 0;
  if (f->source != NULL && (app->source == NULL || strcmp(f->source, app->source) != 0)) return 0;
  return 1;
}

/* Closes the current interval at `at`. */
static int leave(acc_t *a, replay_t *r, int64_t at) {
  r->in_interval = 0;
  return durations_push(&a->closed[r->stage], at - r->entered_at);
}

static void enter(replay_t *r, size_t stage, int64_t at) {
  r->stage = stage, r->entered_at = at, r->in_interval = 1;
  if (stage > r->furthest) r->furthest = stage; /* positions increase with the index */
}

/* Applies one transition (not the first) to the replay state. */
static int step(acc_t *a, replay_t *r, const an_transition_t *t) {
  long to = stage_index(a->pipeline, t->to_stage);
  if (to < 0 || t->kind == AN_CREATED || r->hired || t->at_ms < r->last_at) return AN_EINVAL;
  if (stage_index(a->pipeline, t->from_stage) != (long)r->stage) return AN_EINVAL;
  r->last_at = t->at_ms;
  int rc = 0;
  switch (t->kind) {
    case AN_MOVED:
    case AN_HIRED:
      if (!r->in_interval) return AN_EINVAL;
      rc = leave(a, r, t->at_ms);
      enter(r, (size_t)to, t->at_ms);
      r->hired = t->kind == AN_HIRED;
      return rc;
    case AN_REJECTED:
    case AN_WITHDRAWN:
      if (!r->in_interval || (size_t)to != r->stage) return AN_EINVAL;
      rc = leave(a, r, t->at_ms);
      return rc ? rc : drop_push(a, r->stage, t->kind, t->reason);
    case AN_UNREJECTED:
      if (r->in_interval || (size_t)to != r->stage) return AN_EINVAL;
      enter(r, (size_t)to, t->at_ms);
      return 0;
    default: return AN_EINVAL;
  }
}

/* Replays one application's whole log into the accumulators. */
static int replay_application(acc_t *a, const an_application_t *app) {
  if (app->count == 0 || app->transitions == NULL) return AN_EINVAL;
  const an_transition_t *first = &app->transitions[0];
  long at = stage_index(a->pipeline, first->to_stage);
  if (first->kind != AN_CREATED || first->from_stage != -1 || at < 0) return AN_EINVAL;
  replay_t r = {.furthest = (size_t)at, .last_at = first->at_ms};
  enter(&r, (size_t)at, first->at_ms);
  for (size_t i = 1; i < app->count; i++) {
    int rc = step(a, &r, &app->transitions[i]);
    if (rc) return rc;
  }
  if (r.in_interval) a->open[r.stage]++;
  a->furthest[r.furthest]++;
  return 0;
}

/* NULL sorts before every reason. */
static int cmp_reason(const char *a, const char *b) {
  if (a == NULL || b == NULL) return (a != NULL) - (b != NULL);
  return strcmp(a, b);
}

static int cmp_drop(const void *x, const void *y) {
  const drop_t *a = x, *b = y;
  if (a->stage != b->stage) return (a->stage > b->stage) - (a->stage < b->stage);
  return cmp_reason(a->reason, b->reason);
}

static int cmp_reason_count(const void *x, const void *y) {
  const an_reason_count_t *a = x, *b = y;
  if (a->total != b->total) return (a->total < b->total) - (a->total > b->total);
  return cmp_reason(a->reason, b->reason);
}

int64_t an_percentile(const int64_t *sorted, size_t n, unsigned p) {
  size_t rank = ((size_t)p * n + 99) / 100;
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

/* Fills reached and conversion from the per-stage furthest counts. */
static void fill_conversion(const acc_t *a, an_report_t *out) {
  size_t n = out->stage_count, sum = 0;
  for (size_t i = n; i-- > 0;) {
    sum += a->furthest[i];
    out->stages[i].reached = sum;
  }
  for (size_t i = 0; i < n; i++) {
    an_stage_metrics_t *s = &out->stages[i];
    s->conversion_defined = i + 1 < n && s->reached > 0;
    s->conversion = s->conversion_defined ? (double)out->stages[i + 1].reached / (double)s->reached : NAN;
  }
}

/* Moves the k-th smallest of v[0..n) to v[k], smaller ones before it and larger ones after
 * (Hoare's selection with a median-of-three pivot): the percentiles of millions of
 * durations in linear time instead of a full sort. */
static void select_kth(int64_t *v, size_t n, size_t k) {
  size_t lo = 0, hi = n - 1;
  while (hi > lo) {
    size_t mid = lo + (hi - lo) / 2;
    int64_t a = v[lo], b = v[mid], c = v[hi];
    int64_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
    size_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        int64_t t = v[i];
        v[i] = v[j], v[j] = t;
        i++;
        if (j == 0) break;
        j--;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      return;
  }
}

/* The value an_percentile would give on the sorted array, by selection; v[rank..n) are then
 * all >= it, so later calls for higher percentiles may search that part only. */
static int64_t percentile_by_selection(int64_t *v, size_t n, size_t from, unsigned p) {
  size_t rank = ((size_t)p * n + 99) / 100;
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  select_kth(v + from, n - from, rank - 1 - from);
  return v[rank - 1];
}

static size_t rank_of(size_t n, unsigned p) {
  size_t rank = ((size_t)p * n + 99) / 100;
  return rank < 1 ? 1 : rank > n ? n : rank;
}

static void fill_time_in_stage(acc_t *a, an_report_t *out) {
  for (size_t i = 0; i < out->stage_count; i++) {
    an_stage_metrics_t *s = &out->stages[i];
    durations_t *d = &a->closed[i];
    s->count = d->n, s->open = a->open[i], s->stats_defined = d->n > 0;
    if (d->n == 0) continue;
    s->median_ms = percentile_by_selection(d->v, d->n, 0, 50);
    s->p75_ms = percentile_by_selection(d->v, d->n, rank_of(d->n, 50) - 1, 75);
    s->p90_ms = percentile_by_selection(d->v, d->n, rank_of(d->n, 75) - 1, 90);
  }
}

/* Groups the drop-offs by stage and reason into each stage's reason table. */
static int fill_drop_off(acc_t *a, an_report_t *out) {
  if (a->drop_count > 1) qsort(a->drops, a->drop_count, sizeof *a->drops, cmp_drop);
  for (size_t i = 0; i < a->drop_count;) {
    an_stage_metrics_t *s = &out->stages[a->drops[i].stage];
    size_t cap = s->reason_count; /* exact-size growth: a stage has few reasons */
    if (grow((void **)&s->reasons, &cap, s->reason_count + 1, sizeof *s->reasons)) return AN_ENOMEM;
    an_reason_count_t *rc = &s->reasons[s->reason_count++];
    *rc = (an_reason_count_t){.reason = a->drops[i].reason};
    size_t j = i;
    for (; j < a->drop_count && cmp_drop(&a->drops[i], &a->drops[j]) == 0; j++) {
      if (a->drops[j].kind == AN_REJECTED)
        rc->rejected++, s->rejected++;
      else
        rc->withdrawn++, s->withdrawn++;
    }
    rc->total = rc->rejected + rc->withdrawn;
    i = j;
  }
  for (size_t i = 0; i < out->stage_count; i++)
    if (out->stages[i].reason_count > 1)
      qsort(out->stages[i].reasons, out->stages[i].reason_count, sizeof(an_reason_count_t), cmp_reason_count);
  return 0;
}

static void acc_free(acc_t *a, size_t n) {
  if (a->closed)
    for (size_t i = 0; i < n; i++) free(a->closed[i].v);
  free(a->closed), free(a->open), free(a->furthest), free(a->drops);
}

int an_compute(const an_pipeline_t *pipeline, const an_application_t *apps, size_t app_count,
               const an_filter_t *filter, an_report_t *out) {
  memset(out, 0, sizeof *out);
  out->bad_application = SIZE_MAX;
  if (!pipeline_valid(pipeline) || (app_count > 0 && apps == NULL)) return AN_EINVAL;
  size_t n = pipeline->count;
  acc_t a = {.pipeline = pipeline};
  int rc = AN_ENOMEM;
  a.closed = calloc(n + 1, sizeof *a.closed);
  a.open = calloc(n + 1, sizeof *a.open);
  a.furthest = calloc(n + 1, sizeof *a.furthest);
  out->stages = calloc(n + 1, sizeof *out->stages);
  if (a.closed == NULL || a.open == NULL || a.furthest == NULL || out->stages == NULL) goto out;
  out->stage_count = n;
  for (size_t i = 0; i < app_count; i++) {
    if (!passes(filter, &apps[i])) continue;
    rc = replay_application(&a, &apps[i]);
    if (rc) {
      if (rc == AN_EINVAL) out->bad_application = i;
      goto out;
    }
    out->applications++;
  }
  fill_conversion(&a, out);
  fill_time_in_stage(&a, out);
  rc = fill_drop_off(&a, out);
out:
  acc_free(&a, n);
  if (rc) {
    size_t bad = out->bad_application;
    an_report_free(out);
    out->bad_application = bad;
  }
  return rc;
}

void an_report_free(an_report_t *report) {
  if (report->stages)
    for (size_t i = 0; i < report->stage_count; i++) free(report->stages[i].reasons);
  free(report->stages);
  memset(report, 0, sizeof *report);
}

static const char *const stage_types[] = {"lead", "applied", "screen", "interview", "offer", "hired"};
static const char *const kinds[] = {"created", "moved", "rejected", "withdrawn", "unrejected", "hired"};

static int parse_name(const char *const *names, size_t n, const char *name, int *out) {
  for (size_t i = 0; name != NULL && i < n; i++)
    if (strcmp(names[i], name) == 0) return *out = (int)i, 0;
  return AN_EINVAL;
}

const char *an_stage_type_name(an_stage_type_t type) { return (unsigned)type < 6 ? stage_types[type] : NULL; }

int an_stage_type_parse(const char *name, an_stage_type_t *out) {
  int v, rc = parse_name(stage_types, 6, name, &v);
  if (rc == 0) *out = (an_stage_type_t)v;
  return rc;
}

const char *an_transition_kind_name(an_transition_kind_t kind) {
  return (unsigned)kind < 6 ? kinds[kind] : NULL;
}

int an_transition_kind_parse(const char *name, an_transition_kind_t *out) {
  int v, rc = parse_name(kinds, 6, name, &v);
  if (rc == 0) *out = (an_transition_kind_t)v;
  return rc;
}
