/* Source attribution of hires (see attribution.h for the definitions): two passes, one to
 * collect the credited sources, one to add each hire's credit to their rows. */
#include "attribution.h"

#include <stdlib.h>
#include <string.h>

static const char UNKNOWN[] = "unknown";

static int counts(const at_touch_t *t, int64_t hired_at) { return t->at_ms <= hired_at; }

/* (at, seq) order. */
static int before(const at_touch_t *a, const at_touch_t *b) {
  return a->at_ms < b->at_ms || (a->at_ms == b->at_ms && a->seq < b->seq);
}

/* The first and last touches that count, and how many count; n = 0 when none. */
static void span(const at_hire_t *h, const at_touch_t **first, const at_touch_t **last, size_t *n) {
  *first = *last = NULL;
  *n = 0;
  for (size_t i = 0; i < h->count; i++) {
    const at_touch_t *t = &h->touches[i];
    if (!counts(t, h->hired_at_ms)) continue;
    (*n)++;
    if (*first == NULL || before(t, *first)) *first = t;
    if (*last == NULL || before(*last, t)) *last = t;
  }
}

static const char *fallback(const at_hire_t *h) { return h->app_source ? h->app_source : UNKNOWN; }

static int cmp_str(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

static int cmp_row(const void *key, const void *row) {
  return strcmp((const char *)key, ((const at_credit_t *)row)->source);
}

const at_credit_t *at_find(const at_result_t *r, const char *source) {
  if (r->count == 0 || source == NULL) return NULL;
  return bsearch(source, r->rows, r->count, sizeof *r->rows, cmp_row);
}

/* Pass 1: every credited source once, sorted, as zeroed rows. */
static int make_rows(const at_hire_t *hires, size_t n, at_result_t *out) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += hires[i].count + 1;
  const char **labels = malloc((total ? total : 1) * sizeof *labels);
  if (labels == NULL) return AN_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    size_t before_k = k;
    for (size_t j = 0; j < hires[i].count; j++)
      if (counts(&hires[i].touches[j], hires[i].hired_at_ms)) labels[k++] = hires[i].touches[j].source;
    if (k == before_k) labels[k++] = fallback(&hires[i]);
  }
  if (k > 1) qsort(labels, k, sizeof *labels, cmp_str);
  out->rows = calloc(k ? k : 1, sizeof *out->rows);
  if (out->rows == NULL) {
    free(labels);
    return AN_ENOMEM;
  }
  for (size_t i = 0; i < k; i++)
    if (out->count == 0 || strcmp(out->rows[out->count - 1].source, labels[i]) != 0)
      out->rows[out->count++].source = labels[i];
  free(labels);
  return 0;
}

static at_credit_t *row_of(at_result_t *r, const char *source) { return (at_credit_t *)at_find(r, source); }

int at_attribute(const at_hire_t *hires, size_t n, at_result_t *out) {
  memset(out, 0, sizeof *out);
  int rc = make_rows(hires, n, out);
  if (rc) return rc;
  out->hires = n;
  for (size_t i = 0; i < n; i++) {
    const at_hire_t *h = &hires[i];
    const at_touch_t *first, *last;
    size_t k;
    span(h, &first, &last, &k);
    if (k == 0) {
      at_credit_t *c = row_of(out, fallback(h));
      c->first_touch += 1.0, c->last_touch += 1.0, c->linear += 1.0;
      out->untouched++;
      continue;
    }
    row_of(out, first->source)->first_touch += 1.0;
    row_of(out, last->source)->last_touch += 1.0;
    for (size_t j = 0; j < h->count; j++)
      if (counts(&h->touches[j], h->hired_at_ms)) row_of(out, h->touches[j].source)->linear += 1.0 / (double)k;
  }
  return 0;
}

void at_result_free(at_result_t *r) {
  free(r->rows);
  memset(r, 0, sizeof *r);
}

static int cmp_channel_count(const void *x, const void *y) {
  const at_channel_count_t *a = x, *b = y;
  int c = strcmp(a->source, b->source);
  if (c) return c;
  if (a->count != b->count) return (a->count < b->count) - (a->count > b->count);
  return strcmp(a->channel, b->channel);
}

void at_channels_sort(at_channel_count_t *v, size_t n) {
  if (n > 1) qsort(v, n, sizeof *v, cmp_channel_count);
}

const char *at_channel_of(const at_channel_count_t *v, size_t n, const char *source) {
  size_t lo = 0, hi = n; /* the first entry of source: its winner */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(v[mid].source, source) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && strcmp(v[lo].source, source) == 0 ? v[lo].channel : NULL;
}
