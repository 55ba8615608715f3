/* In-memory metrics. One mutex: every update is a few additions. */
#include "util/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define NBUCKETS 14
static const double bucket_bounds[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};

typedef struct histogram {
  unsigned long long buckets[NBUCKETS + 1]; /* last: +Inf */
  unsigned long long count;
  double sum;
} histogram_t;

typedef struct request_counter {
  char *method, *route;
  int status;
  unsigned long long count;
} request_counter_t;

typedef struct named_counter {
  char *name;
  double value;
} named_counter_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static histogram_t request_latency, loop_lag, commit_latency;
static request_counter_t *requests;
static size_t request_count, request_cap;
static named_counter_t *counters;
static size_t counter_count, counter_cap;

static void observe(histogram_t *h, double v) {
  int i = 0;
  while (i < NBUCKETS && v > bucket_bounds[i]) i++;
  h->buckets[i]++;
  h->count++;
  h->sum += v;
}

void td__metrics_observe_request(const char *method, const char *route, int status, double seconds) {
  pthread_mutex_lock(&lock);
  observe(&request_latency, seconds);
  size_t i = 0;
  for (; i < request_count; i++)
    if (requests[i].status == status && strcmp(requests[i].route, route) == 0 &&
        strcmp(requests[i].method, method) == 0)
      break;
  if (i == request_count && request_count < 4096) {
    if (request_count == request_cap) {
      request_cap = request_cap ? request_cap * 2 : 64;
      requests = td__xrealloc(requests, request_cap * sizeof *requests);
    }
    requests[i] = (request_counter_t){td__xstrdup(method), td__xstrdup(route), status, 0};
    request_count++;
  }
  if (i < request_count) requests[i].count++;
  pthread_mutex_unlock(&lock);
}

void td__metrics_observe_loop_lag(double seconds) {
  pthread_mutex_lock(&lock);
  observe(&loop_lag, seconds);
  pthread_mutex_unlock(&lock);
}

void td__metrics_observe_commit(double seconds) {
  pthread_mutex_lock(&lock);
  observe(&commit_latency, seconds);
  pthread_mutex_unlock(&lock);
}

void td__metrics_count(const char *name, double n) {
  pthread_mutex_lock(&lock);
  size_t i = 0;
  for (; i < counter_count; i++)
    if (strcmp(counters[i].name, name) == 0) break;
  if (i == counter_count) {
    if (counter_count == counter_cap) {
      counter_cap = counter_cap ? counter_cap * 2 : 16;
      counters = td__xrealloc(counters, counter_cap * sizeof *counters);
    }
    counters[i] = (named_counter_t){td__xstrdup(name), 0};
    counter_count++;
  }
  counters[i].value += n;
  pthread_mutex_unlock(&lock);
}

static void render_histogram(td__buf_t *out, const char *name, const char *help, const histogram_t *h) {
  td__buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  unsigned long long cumulative = 0;
  for (int i = 0; i < NBUCKETS; i++) {
    cumulative += h->buckets[i];
    td__buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bucket_bounds[i], cumulative);
  }
  cumulative += h->buckets[NBUCKETS];
  td__buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, cumulative, name,
                 h->sum, name, h->count);
}

void td__metrics_render(td__buf_t *out) {
  pthread_mutex_lock(&lock);
  td__buf_puts(out,
               "# HELP td_http_requests_total HTTP requests by route and status.\n"
               "# TYPE td_http_requests_total counter\n");
  for (size_t i = 0; i < request_count; i++)
    td__buf_printf(out, "td_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                   requests[i].method, requests[i].route, requests[i].status, requests[i].count);
  render_histogram(out, "td_http_request_duration_seconds", "Time from request parsed to response queued.",
                   &request_latency);
  render_histogram(out, "td_event_loop_lag_seconds", "Lateness of a 50 ms loop timer.", &loop_lag);
  render_histogram(out, "td_db_commit_duration_seconds", "Group-commit batch duration, fsync included.",
                   &commit_latency);
  for (size_t i = 0; i < counter_count; i++)
    td__buf_printf(out, "# TYPE %s counter\n%s %.17g\n", counters[i].name, counters[i].name,
                   counters[i].value);
  pthread_mutex_unlock(&lock);
}

