/* The Monte Carlo hiring forecast (see forecast.h for the model and the simulation). The
 * inner loop allocates nothing: every buffer is sized before the first run. */
#include "forecast.h"

#include <stdlib.h>
#include <string.h>

/* splitmix64 (Steele, Lea, Flood), used only to spread the seed over the state. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void fc_rng_seed(fc_rng_t *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** 1.0 (Blackman and Vigna). */
uint64_t fc_rng_next(fc_rng_t *r) {
  uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3];
  s[2] ^= t, s[3] = rotl(s[3], 45);
  return result;
}

/* A uniform index in [0, n), n < 2^32 (Lemire's multiply-shift, without the rejection step:
 * the bias is below n / 2^32). */
static size_t pick(fc_rng_t *r, size_t n) { return (size_t)(((fc_rng_next(r) >> 32) * (uint64_t)n) >> 32); }

typedef struct pair {
  int64_t duration;
  uint8_t outcome;
} pair_t;

typedef struct builder {
  pair_t *v[HX_TYPES];
  size_t n[HX_TYPES], cap[HX_TYPES];
  int64_t since, until;
} builder_t;

static int collect(const hx_interval_t *iv, void *data) {
  builder_t *b = data;
  if (iv->outcome == HX_OPEN || iv->left_ms < b->since || iv->left_ms > b->until) return 0;
  size_t t = (size_t)iv->type;
  if (b->n[t] == b->cap[t]) {
    size_t cap = b->cap[t] ? b->cap[t] * 2 : 64;
    pair_t *p = realloc(b->v[t], cap * sizeof *p);
    if (p == NULL) return AN_ENOMEM;
    b->v[t] = p, b->cap[t] = cap;
  }
  b->v[t][b->n[t]++] = (pair_t){iv->left_ms - iv->entered_ms, (uint8_t)iv->outcome};
  return 0;
}

static int cmp_pair(const void *x, const void *y) {
  const pair_t *a = x, *b = y;
  if (a->duration != b->duration) return (a->duration > b->duration) - (a->duration < b->duration);
  return (a->outcome > b->outcome) - (a->outcome < b->outcome);
}

int fc_model_build(const hx_app_t *apps, size_t n, int64_t since_ms, int64_t until_ms, fc_model_t *m) {
  memset(m, 0, sizeof *m);
  builder_t b = {.since = since_ms, .until = until_ms};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) rc = hx_each_interval(&apps[i], collect, &b);
  for (int t = 0; t < HX_TYPES; t++) {
    size_t k = b.n[t];
    fc_type_model_t *tm = &m->types[t];
    if (rc == 0 && k > 0) {
      qsort(b.v[t], k, sizeof *b.v[t], cmp_pair); /* sorted: same input, same model */
      tm->duration = malloc(k * sizeof *tm->duration);
      tm->outcome = malloc(k);
      if (tm->duration == NULL || tm->outcome == NULL) rc = AN_ENOMEM;
      for (size_t j = 0; rc == 0 && j < k; j++)
        tm->duration[j] = b.v[t][j].duration, tm->outcome[j] = b.v[t][j].outcome;
      tm->n = k;
      m->intervals += k;
    }
    free(b.v[t]);
  }
  if (rc) fc_model_free(m);
  return rc;
}

void fc_model_free(fc_model_t *m) {
  for (int t = 0; t < HX_TYPES; t++) free(m->types[t].duration), free(m->types[t].outcome);
  memset(m, 0, sizeof *m);
}

/* The index of the first duration longer than elapsed (n when none). */
static size_t first_longer(const fc_type_model_t *tm, int64_t elapsed) {
  size_t lo = 0, hi = tm->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (tm->duration[mid] > elapsed)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* One application's run: its hire time after now, or -1 when it is not hired. */
static int64_t run_one(const fc_model_t *m, const fc_active_t *a, size_t longer, fc_rng_t *r) {
  const fc_type_model_t *tm = &m->types[a->type];
  if (tm->n == 0) return -1;
  size_t j;
  int64_t t;
  if (longer < tm->n) {
    j = longer + pick(r, tm->n - longer);
    t = tm->duration[j] - a->elapsed_ms;
  } else {
    j = pick(r, tm->n);
    t = tm->duration[j];
  }
  int outcome = tm->outcome[j];
  while (outcome < AN_STAGE_HIRED && t <= FC_HORIZON_MS) {
    tm = &m->types[outcome];
    if (tm->n == 0) return -1;
    j = pick(r, tm->n);
    t += tm->duration[j];
    outcome = tm->outcome[j];
  }
  return outcome == AN_STAGE_HIRED && t <= FC_HORIZON_MS ? t : -1;
}

/* The k-th smallest (1-based) of v[0..n), n >= k >= 1: quickselect with a three-way
 * partition, so runs of equal times (common in small histories) stay linear. Reorders v. */
static int64_t kth_smallest(int64_t *v, size_t n, size_t k) {
  size_t lo = 0, hi = n, want = k - 1;
  while (hi - lo > 1) {
    int64_t pivot = v[lo + (hi - lo) / 2], x;
    size_t lt = lo, i = lo, gt = hi;
    while (i < gt) {
      if (v[i] < pivot)
        x = v[lt], v[lt++] = v[i], v[i++] = x;
      else if (v[i] > pivot)
        x = v[--gt], v[gt] = v[i], v[i] = x;
      else
        i++;
    }
    if (want < lt)
      hi = lt;
    else if (want >= gt)
      lo = gt;
    else
      return pivot;
  }
  return v[lo];
}

static int cmp_fill(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

/* Fills the result from the runs' fill times (INT64_MAX: never filled). */
static void summarize(int64_t *fills, unsigned sims, int has_deadline, int64_t deadline, fc_result_t *out) {
  size_t filled = 0;
  for (unsigned s = 0; s < sims; s++) filled += fills[s] <= deadline;
  out->p_defined = has_deadline;
  out->p_filled = has_deadline ? (double)filled / (double)sims : 0.0;
  qsort(fills, sims, sizeof *fills, cmp_fill);
  static const unsigned pct[3] = {10, 50, 90};
  for (int i = 0; i < 3; i++) {
    int64_t v = an_percentile(fills, sims, pct[i]);
    out->fill_defined[i] = v != INT64_MAX;
    out->fill_ms[i] = v != INT64_MAX ? v : 0;
  }
}

int fc_simulate(const fc_model_t *m, const fc_active_t *apps, size_t n, size_t openings_left,
                unsigned simulations, uint64_t seed, int has_deadline, int64_t deadline_after_ms,
                fc_result_t *out) {
  memset(out, 0, sizeof *out);
  if (simulations < 1 || simulations > FC_MAX_SIMULATIONS || (n > 0 && apps == NULL)) return AN_EINVAL;
  int64_t *fills = malloc(simulations * sizeof *fills);
  int64_t *hires = malloc((n ? n : 1) * sizeof *hires);
  size_t *longer = malloc((n ? n : 1) * sizeof *longer);
  if (fills == NULL || hires == NULL || longer == NULL) {
    free(fills), free(hires), free(longer);
    return AN_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) longer[i] = first_longer(&m->types[apps[i].type], apps[i].elapsed_ms);
  fc_rng_t r;
  fc_rng_seed(&r, seed);
  for (unsigned s = 0; s < simulations; s++) {
    if (openings_left == 0) {
      fills[s] = 0;
      continue;
    }
    size_t h = 0;
    for (size_t i = 0; i < n; i++) {
      int64_t t = run_one(m, &apps[i], longer[i], &r);
      if (t >= 0) hires[h++] = t;
    }
    fills[s] = h >= openings_left ? kth_smallest(hires, h, openings_left) : INT64_MAX;
  }
  summarize(fills, simulations, has_deadline, deadline_after_ms, out);
  free(fills), free(hires), free(longer);
  return 0;
}
