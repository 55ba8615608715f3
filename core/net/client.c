/* The outbound HTTP client: request bookkeeping, per-destination queues, resolution with the
 * SSRF check, deferred completion and shutdown (see client.h). The curl easy-handle setup and
 * the mapping of curl results to messages live in http_xfer.c. */
#include "net/client.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/client_internal.h"
#include "talentd/types.h"
#include "util/mem.h"

static const int64_t k_connect_ms = 3000;
static const int64_t k_timeout_ms = 10000;
static const size_t k_max_bytes = 64 * 1024;
static const int k_per_dest = 8;
static const int k_max_pending = 1024;

td__net_config_t td__net_config_default(void) {
  td__net_config_t c = {0};
  c.per_destination_concurrency = k_per_dest;
  c.max_pending = k_max_pending;
  c.connect_timeout_ms = k_connect_ms;
  c.timeout_ms = k_timeout_ms;
  c.max_response_bytes = k_max_bytes;
  return c;
}

int td__net_new(uv_loop_t *loop, const td__net_config_t *cfg, td__net_t **out, char *err, size_t errlen) {
  if (!loop || !out) return TD_EINVAL;
  td__net_config_t c = cfg ? *cfg : td__net_config_default();
  td__net_t *net = td__xcalloc(1, sizeof *net);
  int rc = td__ssrf_policy_new(c.allow_hosts, c.allow_hosts_len, c.allow_http, &net->policy, err, errlen);
  if (rc) goto fail;
  net->loop = loop;
  net->per_dest = c.per_destination_concurrency > 0 ? c.per_destination_concurrency : k_per_dest;
  net->max_pending = c.max_pending > 0 ? (size_t)c.max_pending : (size_t)k_max_pending;
  net->connect_ms = c.connect_timeout_ms > 0 ? c.connect_timeout_ms : k_connect_ms;
  net->timeout_ms = c.timeout_ms > 0 ? c.timeout_ms : k_timeout_ms;
  net->max_bytes = c.max_response_bytes > 0 ? c.max_response_bytes : k_max_bytes;
  net->user_agent = td__xstrdup(c.user_agent ? c.user_agent : "talentd/" TD_VERSION);
  if ((rc = td__curl_uv_new(loop, &net->glue)) != 0) goto fail;
  if (uv_timer_init(loop, &net->defer) != 0) {
    td__curl_uv_close(net->glue, NULL, NULL); /* frees itself on a later loop turn */
    rc = TD_EIO;
    goto fail;
  }
  net->defer.data = net;
  *out = net;
  return 0;
fail:
  td__ssrf_policy_free(net->policy);
  free(net->user_agent);
  free(net);
  return rc;
}

size_t td__net_pending(const td__net_t *net) { return net ? net->pending : 0; }

/* --- destinations: scheme+host+port, each with an active count and a FIFO queue --- */

static dest_t *dest_get(td__net_t *net, const td__ssrf_target_t *t) {
  char *key = td__xprintf("%s://%s:%d", t->scheme, t->host, t->port);
  for (dest_t *d = net->dests; d; d = d->next) {
    if (strcmp(d->key, key) == 0) {
      free(key);
      return d;
    }
  }
  dest_t *d = td__xcalloc(1, sizeof *d);
  d->key = key;
  d->next = net->dests;
  net->dests = d;
  return d;
}

/* Frees a destination with nothing active and nothing queued (the list stays short). */
static void dest_release_if_idle(td__net_t *net, dest_t *d) {
  if (d->active > 0 || d->qhead) return;
  for (dest_t **p = &net->dests; *p; p = &(*p)->next) {
    if (*p == d) {
      *p = d->next;
      break;
    }
  }
  free(d->key);
  free(d);
}

static void on_defer(uv_timer_t *t);

/* The one place a request ends: records the result, gives its destination slot to the next
 * waiting request, and queues the callback for a later loop turn. */
void td__net_complete(td__net_req_t *r, int rc, const char *error) {
  td__net_t *net = r->net;
  if (r->state == REQ_DONE) return;
  bool held_slot = r->state == REQ_RESOLVING || r->state == REQ_ACTIVE;
  r->state = REQ_DONE;
  r->rc = rc;
  if (rc != 0) r->status = 0;
  free(r->error);
  r->error = error ? td__xstrdup(error) : NULL;
  if (net->done_tail)
    net->done_tail->next = r;
  else
    net->done_head = r;
  net->done_tail = r;
  r->next = NULL;
  uv_timer_start(&net->defer, on_defer, 0, 0);
  dest_t *d = r->dest;
  r->dest = NULL;
  if (!d) return;
  if (held_slot) d->active--;
  while (!net->closing && d->active < net->per_dest && d->qhead) {
    td__net_req_t *next = d->qhead;
    d->qhead = next->next;
    if (!d->qhead) d->qtail = NULL;
    next->next = NULL;
    td__net_start(next);
  }
  dest_release_if_idle(net, d);
}

static void free_req(td__net_req_t *r) {
  td__net_t *net = r->net;
  if (r->all_prev)
    r->all_prev->all_next = r->all_next;
  else
    net->all = r->all_next;
  if (r->all_next) r->all_next->all_prev = r->all_prev;
  td__net_xfer_free(r);
  td__ssrf_target_clear(&r->target);
  free(r->method);
  free(r->body);
  free(r->error);
  free(r->content_type);
  td__buf_free(&r->resp);
  free(r);
}

static void maybe_finish_close(td__net_t *net);

static void deliver(td__net_req_t *r) {
  td__net_response_t res = {0};
  res.rc = r->rc;
  res.status = r->rc == 0 ? r->status : 0;
  res.error = r->rc == 0 ? NULL : (r->error ? r->error : "request failed");
  res.body = r->resp.data && r->rc == 0 ? r->resp.data : "";
  res.body_len = r->rc == 0 ? r->resp.len : 0;
  res.content_type = r->content_type;
  res.elapsed_ms = (int64_t)(uv_now(r->net->loop) - r->created_ms);
  r->net->pending--;
  r->delivered = true;
  r->cb(&res, r->data);
}

/* Calls the callbacks of every request completed so far. Requests completed by these
 * callbacks (a new request refused at once, say) wait for the next turn. */
static void on_defer(uv_timer_t *t) {
  td__net_t *net = t->data;
  td__net_req_t *r = net->done_head;
  net->done_head = net->done_tail = NULL;
  while (r) {
    td__net_req_t *next = r->next;
    deliver(r);
    if (!r->gai_pending) free_req(r); /* else on_resolved frees it */
    r = next;
  }
  maybe_finish_close(net);
}

/* Copies headers into a curl list, refusing lines that could smuggle another header. */
static int copy_headers(td__net_req_t *r, const td__net_request_t *req) {
  for (size_t i = 0; i < req->headers_len; i++) {
    const char *h = req->headers[i];
    const char *colon = h ? strchr(h, ':') : NULL;
    if (!colon || colon == h || strpbrk(h, "\r\n")) return TD_EINVAL;
    struct curl_slist *l = curl_slist_append(r->headers, h);
    if (!l) abort();
    r->headers = l;
  }
  return 0;
}

static const char *const k_methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};

static td__net_req_t *req_new(td__net_t *net, const td__net_request_t *req, td__net_done_fn cb, void *data) {
  td__net_req_t *r = td__xcalloc(1, sizeof *r);
  r->net = net;
  r->cb = cb;
  r->data = data;
  r->created_ms = uv_now(net->loop);
  r->connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : net->connect_ms;
  r->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : net->timeout_ms;
  r->max_bytes = req->max_response_bytes > 0 ? req->max_response_bytes : net->max_bytes;
  if (req->body_len) {
    r->body = td__xmalloc(req->body_len);
    memcpy(r->body, req->body, req->body_len);
    r->body_len = req->body_len;
  }
  r->all_next = net->all;
  if (net->all) net->all->all_prev = r;
  net->all = r;
  net->pending++;
  return r;
}

/* Checks method, headers and URL; on failure completes r and returns nonzero. */
static int req_check(td__net_req_t *r, const td__net_request_t *req) {
  const char *m = req->method ? req->method : "GET";
  for (size_t i = 0; i < sizeof k_methods / sizeof k_methods[0]; i++)
    if (strcmp(m, k_methods[i]) == 0) r->method = td__xstrdup(m);
  if (!r->method) {
    td__net_complete(r, TD_EINVAL, "method is not supported: use GET, HEAD, POST, PUT, PATCH or DELETE");
    return -1;
  }
  if (req->body_len && !req->body) {
    td__net_complete(r, TD_EINVAL, "body is NULL but body_len is not 0");
    return -1;
  }
  if (copy_headers(r, req) != 0) {
    td__net_complete(r, TD_EINVAL, "a header is not a single \"Name: value\" line");
    return -1;
  }
  char err[160];
  int rc = td__ssrf_check_url(r->net->policy, req->url, &r->target, err, sizeof err);
  if (rc) {
    td__net_complete(r, rc, err);
    return -1;
  }
  return 0;
}

int td__net_request(td__net_t *net, const td__net_request_t *req, td__net_done_fn cb, void *data) {
  if (!net || !req || !req->url || !cb || net->closing) return TD_EINVAL;
  if (net->pending >= net->max_pending) return TD_ELIMIT;
  td__net_req_t *r = req_new(net, req, cb, data);
  if (req_check(r, req) != 0) return 0; /* completed with the reason; cb comes later */
  dest_t *d = dest_get(net, &r->target);
  r->dest = d;
  if (d->active < net->per_dest) {
    td__net_start(r);
  } else {
    r->state = REQ_QUEUED;
    if (d->qtail)
      d->qtail->next = r;
    else
      d->qhead = r;
    d->qtail = r;
  }
  return 0;
}

/* --- shutdown --- */

static void on_defer_closed(uv_handle_t *h) {
  td__net_t *net = h->data;
  void (*cb)(void *) = net->on_closed;
  void *data = net->closed_data;
  while (net->dests) {
    dest_t *d = net->dests;
    net->dests = d->next;
    free(d->key);
    free(d);
  }
  td__ssrf_policy_free(net->policy);
  free(net->user_agent);
  free(net);
  if (cb) cb(data);
}

static void on_glue_closed(void *data) {
  td__net_t *net = data;
  net->glue = NULL;
  maybe_finish_close(net);
}

/* The last step of td__net_close, once every callback ran, every resolution came back and the
 * curl glue is closed. */
static void maybe_finish_close(td__net_t *net) {
  if (!net->closing || net->glue || net->all || net->done_head || net->defer_closing) return;
  net->defer_closing = true;
  uv_timer_stop(&net->defer);
  uv_close((uv_handle_t *)&net->defer, on_defer_closed);
}

void td__net_close(td__net_t *net, void (*on_closed)(void *data), void *data) {
  if (!net || net->closing) return;
  net->closing = true;
  net->on_closed = on_closed;
  net->closed_data = data;
  for (td__net_req_t *r = net->all; r; r = r->all_next) {
    if (r->state == REQ_DONE) continue;
    if (r->state == REQ_ACTIVE) td__curl_uv_remove(net->glue, &r->xfer);
    if (r->state == REQ_RESOLVING && r->gai_pending) uv_cancel((uv_req_t *)&r->gai);
    td__net_complete(r, TD_EBUSY, "cancelled");
  }
  for (dest_t *d = net->dests; d; d = d->next) d->qhead = d->qtail = NULL;
  td__curl_uv_close(net->glue, on_glue_closed, net);
}

/* --- resolution --- */

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res) {
  td__net_req_t *r = g->data;
  td__net_t *net = r->net;
  r->gai_pending = false;
  if (r->state == REQ_DONE) { /* cancelled meanwhile */
    if (res) uv_freeaddrinfo(res);
    if (r->delivered) free_req(r);
    maybe_finish_close(net);
    return;
  }
  char err[160];
  int rc = 0;
  if (status < 0) {
    rc = TD_EIO;
    snprintf(err, sizeof err, "%s", status == UV_EAI_NONAME ? "host not found" : "could not resolve host");
  } else {
    rc = td__net_pin(r, res, err, sizeof err);
  }
  if (res) uv_freeaddrinfo(res);
  if (rc) {
    td__net_complete(r, rc, err);
    return;
  }
  td__net_begin_transfer(r);
}

/* Takes a destination slot and resolves the host (IP literals were checked with the URL). */
void td__net_start(td__net_req_t *r) {
  r->dest->active++;
  r->state = REQ_RESOLVING;
  r->started_ms = uv_now(r->net->loop);
  if (r->target.literal_family) {
    td__net_begin_transfer(r);
    return;
  }
  struct addrinfo hints = {0};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  r->gai.data = r;
  if (uv_getaddrinfo(r->net->loop, &r->gai, on_resolved, r->target.host, NULL, &hints) != 0) {
    td__net_complete(r, TD_EIO, "could not resolve host");
    return;
  }
  r->gai_pending = true;
}
