/* Sending events to endpoints. For each event: read the enabled endpoints (reader thread),
 * POST the envelope to every one whose patterns match (host client, in parallel), record each
 * endpoint's outcome (writer thread), then complete the delivery: handled when every endpoint
 * took it, failed otherwise, so the core retries the event with backoff and, in the end, lists
 * it as a dead letter. On a retry, endpoints that already took the event are skipped; an
 * endpoint failing disable_after_failures events in a row is disabled (its own circuit
 * breaker) so one dead receiver never holds back the others. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks.h"

#define MAX_REMEMBERED 10000 /* (event, endpoint) pairs already delivered, kept for retries */

/* Deliveries done for events that are being retried. */
typedef struct done_pair {
  char event_id[TD_PLUGIN_ID_MAX], endpoint_id[TD_PLUGIN_ID_MAX];
  struct done_pair *next;
} done_pair_t;
static done_pair_t *remembered;
static size_t remembered_count;

static int was_delivered(const char *event_id, const char *endpoint_id) {
  for (done_pair_t *p = remembered; p; p = p->next)
    if (strcmp(p->event_id, event_id) == 0 && strcmp(p->endpoint_id, endpoint_id) == 0) return 1;
  return 0;
}

static void remember(const char *event_id, const char *endpoint_id) {
  if (remembered_count >= MAX_REMEMBERED) return; /* at least once: a repeat is allowed */
  done_pair_t *p = calloc(1, sizeof *p);
  if (p == NULL) return;
  snprintf(p->event_id, sizeof p->event_id, "%s", event_id);
  snprintf(p->endpoint_id, sizeof p->endpoint_id, "%s", endpoint_id);
  p->next = remembered;
  remembered = p;
  remembered_count++;
}

static void forget_event(const char *event_id) {
  for (done_pair_t **pp = &remembered; *pp;) {
    if (strcmp((*pp)->event_id, event_id) == 0) {
      done_pair_t *gone = *pp;
      *pp = gone->next;
      free(gone);
      remembered_count--;
    } else
      pp = &(*pp)->next;
  }
}

static json_t *cache; /* the endpoint cache (below) */

void wh_sender_shutdown(void) {
  while (remembered) {
    done_pair_t *next = remembered->next;
    free(remembered);
    remembered = next;
  }
  remembered_count = 0;
  json_decref(cache);
  cache = NULL;
}

typedef struct send {
  struct delivery *d;
  char endpoint_id[TD_PLUGIN_ID_MAX];
  int status; /* HTTP status, 0 when no response */
  char error[160];
  bool changes_state; /* the endpoint's recorded state differs from this outcome */
  const json_t *row;  /* the endpoint (borrowed from the delivery's endpoints) */
} send_t;

typedef struct delivery {
  char event_id[TD_PLUGIN_ID_MAX], type[64];
  char *body;
  json_t *endpoints; /* rows read on the reader thread */
  send_t *sends;
  size_t send_count, outstanding, failed;
  td_event_done_fn done;
  void *token;
  struct delivery *next_waiting; /* while waiting for the endpoint cache */
} delivery_t;

/* The enabled endpoints, cached on the loop thread: read again when an endpoint changed
 * (wh_endpoints_changed) or after CACHE_TTL_MS, whichever comes first, so an event costs no
 * query. A change made while a read runs is seen at the latest one TTL later. */
#define CACHE_TTL_MS 1000 /* cache: rows with "patterns" parsed; immutable once cached */
static json_t *cache; /* rows with "patterns" parsed; immutable once cached */
static int64_t cache_at_ms;
static int cache_generation = -1;
static bool cache_reading;
static delivery_t *waiting;
atomic_int wh_generation;

void wh_endpoints_changed(void) { atomic_fetch_add(&wh_generation, 1); }

static void finish(delivery_t *d, int rc, const char *error) {
  if (rc == 0) forget_event(d->event_id);
  d->done(d->token, rc, error);
  json_decref(d->endpoints);
  free(d->sends);
  free(d->body);
  free(d);
}

/* Records each endpoint's outcome; disables endpoints over the failure threshold. */
static int record_outcomes(td_tx_t *tx, void *data) {
  delivery_t *d = data;
  json_int_t limit = json_integer_value(json_object_get(wh_api->config(wh_self), "disable_after_failures"));
  if (limit <= 0) limit = 20;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < d->send_count; i++) {
    const send_t *s = &d->sends[i];
    int ok = s->error[0] == '\0';
    if (!s->changes_state) continue;
    json_t *params = json_pack("[s,i,s?,i,I,I]", s->endpoint_id, s->status, ok ? NULL : s->error, ok, limit,
                               (json_int_t)wh_api->now_ms());
    rc =
        wh_api->exec(tx,
                     "UPDATE webhooks_endpoints SET last_status = ?2, last_error = ?3, "
                     "consecutive_failures = CASE WHEN ?4 THEN 0 ELSE consecutive_failures + 1 END, "
                     "enabled = CASE WHEN NOT ?4 AND consecutive_failures + 1 >= ?5 THEN 0 ELSE enabled END, "
                     "disabled_reason = CASE WHEN NOT ?4 AND consecutive_failures + 1 >= ?5 "
                     "THEN 'disabled after ' || ?5 || ' failed events in a row' ELSE disabled_reason END, "
                     "updated_at = ?6 WHERE id = ?1",
                     params, NULL);
    json_decref(params);
  }
  return rc;
}

static void outcomes_recorded(void *data, int rc) {
  delivery_t *d = data;
  (void)rc;               /* the delivery's own result does not depend on the bookkeeping */
  wh_endpoints_changed(); /* counts and last results changed */
  if (d->failed == 0) {
    finish(d, 0, NULL);
    return;
  }
  char error[240];
  const send_t *first = NULL;
  for (size_t i = 0; i < d->send_count && first == NULL; i++)
    if (d->sends[i].error[0]) first = &d->sends[i];
  snprintf(error, sizeof error, "%zu of %zu endpoints failed; first: %s", d->failed, d->send_count,
           first ? first->error : "?");
  finish(d, TD_EPARTIAL, error); /* endpoints failed, not the plugin: no core breaker */
}

/* Writes the outcomes that change an endpoint's state; a success like the last one needs no
 * write (the common case: one event, no query, no write). */
static void record(delivery_t *d) {
  bool needed = false;
  for (size_t i = 0; i < d->send_count; i++) needed = needed || d->sends[i].changes_state;
  if (!needed) {
    d->failed == 0 ? finish(d, 0, NULL) : outcomes_recorded(d, 0);
    return;
  }
  if (wh_api->submit_write(wh_self, record_outcomes, outcomes_recorded, d) != 0)
    outcomes_recorded(d, TD_EBUSY);
}

static void on_response(const td_http_response_t *res, void *data) {
  send_t *s = data;
  delivery_t *d = s->d;
  s->status = res->status;
  if (res->status >= 200 && res->status <= 299)
    remember(d->event_id, s->endpoint_id);
  else {
    snprintf(s->error, sizeof s->error, "%s", res->error && res->error[0] ? res->error : "no response");
    if (res->status) snprintf(s->error, sizeof s->error, "HTTP %d", res->status);
    d->failed++;
  }
  s->changes_state = s->error[0] != '\0' ||
                     json_integer_value(json_object_get(s->row, "consecutive_failures")) != 0 ||
                     json_integer_value(json_object_get(s->row, "last_status")) != res->status;
  if (--d->outstanding > 0) return;
  record(d);
}

static void send_one(delivery_t *d, send_t *s, const json_t *row) {
  long long ts = (long long)(wh_api->now_ms() / 1000);
  const char *previous = json_string_value(json_object_get(row, "previous_secret"));
  json_int_t expires = json_integer_value(json_object_get(row, "previous_expires_at"));
  if (previous && expires <= wh_api->now_ms()) previous = NULL;
  char signature[WH_SIGNATURE_MAX], id_h[96], ts_h[64], sig_h[WH_SIGNATURE_MAX + 32];
  if (wh_sign(json_string_value(json_object_get(row, "secret")), previous, d->event_id, ts, d->body,
              strlen(d->body), signature) != 0) {
    snprintf(s->error, sizeof s->error, "the endpoint's secret is malformed");
    s->changes_state = true;
    d->failed++;
    d->outstanding--;
    return;
  }
  snprintf(id_h, sizeof id_h, "webhook-id: %s", d->event_id);
  snprintf(ts_h, sizeof ts_h, "webhook-timestamp: %lld", ts);
  snprintf(sig_h, sizeof sig_h, "webhook-signature: %s", signature);
  const char *headers[] = {"Content-Type: application/json", id_h, ts_h, sig_h};
  json_int_t timeout = json_integer_value(json_object_get(wh_api->config(wh_self), "timeout_ms"));
  td_http_request_t req = {"POST",
                           json_string_value(json_object_get(row, "url")),
                           headers,
                           4,
                           d->body,
                           strlen(d->body),
                           (uint32_t)timeout,
                           0};
  if (wh_api->http_request(wh_self, &req, on_response, s) != 0) {
    snprintf(s->error, sizeof s->error, "too many requests pending");
    s->changes_state = true;
    d->failed++;
    d->outstanding--;
  }
}

static int read_endpoints(td_tx_t *tx, void *data) {
  return wh_api->query(tx,
                       "SELECT id, url, event_types, secret, previous_secret, previous_expires_at, "
                       "consecutive_failures, last_status FROM webhooks_endpoints WHERE enabled = 1 "
                       "ORDER BY rowid",
                       NULL, (json_t **)data);
}

/* Sends d to every cached endpoint that wants it and has not taken it yet. */
static void start_sends(delivery_t *d) {
  d->endpoints = json_incref(cache);
  d->sends = calloc(json_array_size(d->endpoints) + 1, sizeof *d->sends);
  if (d->sends == NULL) {
    finish(d, TD_ENOMEM, "out of memory");
    return;
  }
  size_t i;
  json_t *row;
  json_array_foreach(d->endpoints, i, row) {
    const char *id = json_string_value(json_object_get(row, "id"));
    if (!wh_patterns_match(json_object_get(row, "patterns"), d->type) || was_delivered(d->event_id, id))
      continue;
    send_t *s = &d->sends[d->send_count++];
    s->d = d;
    s->row = row;
    snprintf(s->endpoint_id, sizeof s->endpoint_id, "%s", id);
  }
  if (d->send_count == 0) {
    finish(d, 0, NULL);
    return;
  }
  /* outstanding covers every send before any can complete (responses come on later turns). */
  d->outstanding = d->send_count;
  for (size_t k = 0, n = d->send_count; k < n; k++) send_one(d, &d->sends[k], d->sends[k].row);
  if (d->outstanding == 0) record(d);
}

typedef struct cache_fill {
  json_t *rows;
  int generation;
} cache_fill_t;

static void endpoints_read(void *data, int rc) {
  cache_fill_t *f = data;
  cache_reading = false;
  if (rc == 0) {
    size_t i;
    json_t *row;
    json_array_foreach(f->rows, i, row) {
      json_t *patterns = json_loads(json_string_value(json_object_get(row, "event_types")), 0, NULL);
      json_object_set_new(row, "patterns", patterns ? patterns : json_array());
    }
    json_decref(cache);
    cache = f->rows;
    cache_at_ms = wh_api->now_ms();
    cache_generation = f->generation;
  } else
    json_decref(f->rows);
  free(f);
  delivery_t *list = waiting;
  waiting = NULL;
  while (list) {
    delivery_t *d = list;
    list = d->next_waiting;
    if (rc == 0)
      start_sends(d);
    else
      finish(d, rc, "could not read the endpoints");
  }
}

static void with_endpoints(delivery_t *d) {
  if (cache && cache_generation == atomic_load(&wh_generation) &&
      wh_api->now_ms() - cache_at_ms < CACHE_TTL_MS) {
    start_sends(d);
    return;
  }
  d->next_waiting = waiting;
  waiting = d;
  if (cache_reading) return;
  cache_fill_t *f = calloc(1, sizeof *f);
  if (f != NULL) f->generation = atomic_load(&wh_generation);
  cache_reading = f != NULL && wh_api->submit_read(wh_self, read_endpoints, endpoints_read, f) == 0;
  if (!cache_reading) {
    free(f);
    waiting = d->next_waiting;
    finish(d, TD_EBUSY, "busy");
  }
}

void wh_on_event(const json_t *envelope, td_event_done_fn done, void *token, void *data) {
  (void)data;
  delivery_t *d = calloc(1, sizeof *d);
  if (d == NULL) {
    done(token, TD_ENOMEM, "out of memory");
    return;
  }
  snprintf(d->event_id, sizeof d->event_id, "%s", json_string_value(json_object_get(envelope, "id")));
  snprintf(d->type, sizeof d->type, "%s", json_string_value(json_object_get(envelope, "type")));
  d->body = json_dumps(envelope, JSON_COMPACT);
  d->done = done;
  d->token = token;
  if (d->body == NULL) {
    finish(d, TD_ENOMEM, "out of memory");
    return;
  }
  with_endpoints(d);
}
