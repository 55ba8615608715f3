/* The weekly velocity series (see velocity.h for the definitions). */
#include "velocity.h"

#include <stdlib.h>
#include <string.h>

#define WEEK_MS (7 * HX_DAY_MS)

int64_t velocity_week_start(int64_t ms) {
  int64_t day = ms / HX_DAY_MS;
  return (day - (day + 3) % 7) * HX_DAY_MS; /* 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays */
}

/* One closed interval's duration, kept by week and type until the medians. */
typedef struct sample {
  uint32_t slot; /* week * HX_TYPES + type */
  int64_t ms;
} sample_t;

typedef struct vel_acc {
  velocity_week_t *out;
  unsigned weeks;
  int64_t first_ms, end_ms;
  sample_t *v;
  size_t n, cap;
} vel_acc_t;

static long week_of(const vel_acc_t *a, int64_t ms) {
  if (ms < a->first_ms || ms >= a->end_ms) return -1;
  return (long)((ms - a->first_ms) / WEEK_MS);
}

static int on_interval(const hx_interval_t *iv, void *data) {
  vel_acc_t *a = data;
  long w = iv->outcome == HX_OPEN ? -1 : week_of(a, iv->left_ms);
  if (w < 0) return 0;
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 256;
    sample_t *p = realloc(a->v, cap * sizeof *p);
    if (p == NULL) return AN_ENOMEM;
    a->v = p, a->cap = cap;
  }
  a->v[a->n++] =
      (sample_t){(uint32_t)((size_t)w * HX_TYPES + (size_t)iv->type), iv->left_ms - iv->entered_ms};
  a->out[w].closed[iv->type]++;
  return 0;
}

static int cmp_sample(const void *x, const void *y) {
  const sample_t *a = x, *b = y;
  if (a->slot != b->slot) return (a->slot > b->slot) - (a->slot < b->slot);
  return (a->ms > b->ms) - (a->ms < b->ms);
}

static void count_entries(vel_acc_t *a, const hx_app_t *app) {
  for (size_t i = 0; i < app->count; i++) {
    const hx_event_t *e = &app->events[i];
    if (e->kind != AN_CREATED && e->kind != AN_MOVED && e->kind != AN_HIRED) continue;
    long w = week_of(a, e->at_ms);
    if (w >= 0) a->out[w].entries[e->to_type]++;
  }
}

/* The medians from the sorted samples: each slot's run is contiguous. */
static void medians(vel_acc_t *a) {
  for (size_t i = 0; i < a->n;) {
    size_t j = i;
    while (j < a->n && a->v[j].slot == a->v[i].slot) j++;
    size_t k = j - i, rank = (50 * k + 99) / 100; /* an_percentile's nearest rank, in place */
    velocity_week_t *w = &a->out[a->v[i].slot / HX_TYPES];
    int t = (int)(a->v[i].slot % HX_TYPES);
    w->median_defined[t] = 1;
    w->median_ms[t] = a->v[i + (rank < 1 ? 1 : rank) - 1].ms;
    i = j;
  }
}

int velocity_compute(const hx_app_t *apps, size_t n, int64_t now_ms, unsigned weeks, velocity_week_t *out) {
  if (weeks < 1 || weeks > VELOCITY_MAX_WEEKS || now_ms < 0) return AN_EINVAL;
  memset(out, 0, weeks * sizeof *out);
  vel_acc_t a = {.out = out, .weeks = weeks};
  a.end_ms = velocity_week_start(now_ms) + WEEK_MS;
  a.first_ms = a.end_ms - (int64_t)weeks * WEEK_MS;
  for (unsigned w = 0; w < weeks; w++) out[w].start_ms = a.first_ms + (int64_t)w * WEEK_MS;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    count_entries(&a, &apps[i]);
    rc = hx_each_interval(&apps[i], on_interval, &a);
  }
  if (rc == 0) {
    if (a.n > 1) qsort(a.v, a.n, sizeof *a.v, cmp_sample);
    medians(&a);
  }
  free(a.v);
  return rc;
}
