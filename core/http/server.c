/* HTTP/1.1 connections on libuv: timeouts, pipelining with responses in request order,
 * back-pressure, bodies streamed to files (spool.c) for requests that ask for it, and a
 * graceful close after the last response. Parsing and every check on what a client sends
 * live in parser.c; the contract is in http.h; the limits are ARCHITECTURE section 8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http.h"
#include "http/parser.h"
#include "http/spool.h"
#include "talentd/types.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/metrics.h"
#include "util/time.h"

/* After the last response of a connection we send FIN and keep reading (and discarding) for
 * this long before closing: closing with unread input makes the kernel send RST, which can
 * destroy the response before the client reads it (the "lingering close" of Apache, nginx). */
#define LINGER_MS 2000
#define READ_BUFFER 65536
/* Buckets of the per-address connection counts: a fixed size keeps the table trivial; with
 * the global cap (10,000 by default) chains stay short enough for a lookup per accept. */
#define IP_BUCKETS 512

/* Open connections from one remote address; freed when the count drops to 0, so the table
 * holds only addresses that have a connection open. */
typedef struct ip_count {
  struct ip_count *next;
  unsigned count;
  char ip[48];
} ip_count_t;

enum conn_state {
  ST_IDLE,    /* no request in progress: header timeout before the first, keep-alive after */
  ST_HEADERS, /* a request head is arriving: header timeout from its first byte */
  ST_BODY,    /* its body is arriving: body timeout */
  ST_WAITING, /* requests are being handled; send timeout while responses are unread */
};

struct td__http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  td__http_limits_t limits;
  td__http_request_cb on_request;
  td__http_body_limit_cb body_limit;
  void *ctx;
  td__http_conn_t *conns;
  size_t conn_count;
  size_t inflight;
  size_t spool_peak;                  /* the most body bytes one streamed request held in memory at once */
  ip_count_t *ip_buckets[IP_BUCKETS]; /* open connections per remote address */
  uint64_t refused_log_ms;            /* loop time of the last per-address refusal logged */
  unsigned refused_unlogged;          /* refusals since then, not logged one by one */
  bool refused_logged;
  int port;
  bool shutting_down, listener_closed;
  void (*on_drained)(void *);
  void *drained_arg;
};

struct td__http_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shutdown;
  td__http_server_t *srv;
  td__http_conn_t *prev, *next;
  td__http_parser_t parser;
  td__http_request_t *head, *tail; /* parsed, in order, until their response is handed to libuv */
  unsigned queued;                 /* length of head..tail */
  unsigned unanswered;             /* dispatched and not yet responded */
  unsigned parsed;                 /* requests parsed on this connection */
  uint64_t born_ms;                /* loop time of the accept */
  size_t write_queued;             /* bytes handed to libuv and not yet written */
  td__buf_t pending;               /* bytes received while parsing is paused */
  td__http_spool_t *spool;         /* the body being received goes to this file */
  td__http_request_t *held;        /* complete, dispatched once its body file is closed */
  enum conn_state state;
  int handles_open;
  bool closing;      /* uv_close called */
  bool lingering;    /* FIN sent after the last response; input is discarded */
  bool stop_parsing; /* nothing more is parsed: close after what is owed */
  bool reading, eof;
  bool close_after_write; /* the last response is queued: linger once it is written */
  bool ip_counted;        /* counted in srv->ip_buckets under remote_ip until closed */
  char remote_ip[48];
};

typedef struct write_req {
  uv_write_t req;
  td__http_conn_t *conn;
  td__http_request_t *request; /* NULL for a 100 Continue */
  size_t len;
} write_req_t;

void td__http_limits_default(td__http_limits_t *l) {
  *l = (td__http_limits_t){
      .max_url = 8 * 1024,
      .max_header = 8 * 1024,
      .max_headers = 100,
      .max_header_bytes = 32 * 1024,
      .max_body = 1024 * 1024,
      .header_timeout_ms = 10000,
      .body_timeout_ms = 30000,
      .keepalive_timeout_ms = 5000,
      .send_timeout_ms = 60000,
      .max_requests_per_conn = 1000,
      .max_connection_ms = 3600 * 1000,
      .max_write_queue = 1024 * 1024,
      .max_pipeline = 16,
      .max_connections = 10000,
      .max_connections_per_ip = 256,
  };
}

/* The Date header value, formatted once per second. */
static const char *http_date(void) {
  static char cached[64];
  static time_t cached_at = -1;
  time_t now = time(NULL);
  if (now != cached_at) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_at = now;
  }
  return cached;
}

/* ---------- connections per remote address ---------- */

static ip_count_t **ip_slot(td__http_server_t *srv, const char *ip) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)ip; *p; p++) h = (h ^ *p) * 16777619u;
  ip_count_t **slot = &srv->ip_buckets[h % IP_BUCKETS];
  while (*slot && strcmp((*slot)->ip, ip) != 0) slot = &(*slot)->next;
  return slot; /* the entry for ip, or the NULL link where it would go */
}

/* Counts one more connection from ip, unless that would exceed the per-address cap: then
 * returns false and counts nothing. */
static bool ip_acquire(td__http_server_t *srv, const char *ip) {
  unsigned cap = srv->limits.max_connections_per_ip;
  if (cap == 0) return true; /* no cap: nothing is counted */
  ip_count_t **slot = ip_slot(srv, ip);
  if (*slot) {
    if ((*slot)->count >= cap) return false;
    (*slot)->count++;
    return true;
  }
  ip_count_t *e = td__xcalloc(1, sizeof *e);
  snprintf(e->ip, sizeof e->ip, "%s", ip);
  e->count = 1;
  *slot = e;
  return true;
}

static void ip_release(td__http_server_t *srv, const char *ip) {
  ip_count_t **slot = ip_slot(srv, ip);
  ip_count_t *e = *slot;
  if (e == NULL) return;
  if (--e->count == 0) {
    *slot = e->next;
    free(e);
  }
}

/* Counted in /metrics every time; logged at most once per second (a client hammering the
 * cap must not flood the log), and without the address: no personal data in logs. */
static void note_per_ip_refusal(td__http_server_t *srv) {
  td__metrics_count("td_http_connections_refused_total", 1);
  uint64_t now = uv_now(srv->loop);
  if (srv->refused_logged && now - srv->refused_log_ms < 1000) {
    srv->refused_unlogged++;
    return;
  }
  td__log(TD_LOG_INFO, "http_refused",
          json_pack("{s:s,s:I}", "reason", "per_ip_cap", "suppressed", (json_int_t)srv->refused_unlogged));
  srv->refused_logged = true;
  srv->refused_log_ms = now;
  srv->refused_unlogged = 0;
}

/* ---------- connection lifetime ---------- */

static void conn_feed(td__http_conn_t *c, const char *data, size_t len);
static void conn_flush(td__http_conn_t *c);
static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void server_check_drained(td__http_server_t *srv) {
  if (srv->shutting_down && srv->conn_count == 0 && srv->listener_closed && srv->on_drained) {
    void (*cb)(void *) = srv->on_drained;
    srv->on_drained = NULL;
    cb(srv->drained_arg);
  }
}

/* Frees the connection once libuv is done with its handles and no handler still holds one
 * of its requests. */
static void conn_maybe_free(td__http_conn_t *c) {
  if (c->handles_open > 0 || c->unanswered > 0) return;
  td__http_server_t *srv = c->srv;
  while (c->head) {
    td__http_request_t *r = c->head;
    c->head = r->next;
    td__http_request_free(r);
  }
  td__http_parser_free(&c->parser);
  td__buf_free(&c->pending);
  free(c);
  srv->conn_count--;
  server_check_drained(srv);
}

static void on_handle_closed(uv_handle_t *h) {
  td__http_conn_t *c = h->data;
  c->handles_open--;
  conn_maybe_free(c);
}

static void conn_close(td__http_conn_t *c) {
  if (c->closing) return;
  c->closing = true;
  c->stop_parsing = true;
  /* The socket closes now (uv_close), so it no longer counts against its address's cap. */
  if (c->ip_counted) ip_release(c->srv, c->remote_ip);
  c->ip_counted = false;
  /* A body on its way to a file is dropped: the spool removes the file. */
  if (c->spool) td__http_spool_abort(c->spool);
  c->spool = NULL;
  td__http_request_free(c->held);
  c->held = NULL;
  if (c->prev)
    c->prev->next = c->next;
  else
    c->srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = malloc(READ_BUFFER);
  buf->len = buf->base ? READ_BUFFER : 0;
}

static void read_start(td__http_conn_t *c) {
  if (c->reading || c->closing || c->eof || (c->stop_parsing && !c->lingering)) return;
  if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0) c->reading = true;
}

static void read_stop(td__http_conn_t *c) {
  if (!c->reading) return;
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = false;
}

static void on_linger_end(uv_timer_t *t) { conn_close(t->data); }

static void on_shutdown(uv_shutdown_t *req, int status) {
  td__http_conn_t *c = req->data;
  if (status < 0 && !c->closing) conn_close(c);
}

/* Ends a connection whose last response has been written: FIN, then drain input briefly. */
static void conn_linger(td__http_conn_t *c) {
  if (c->closing || c->lingering) return;
  if (c->eof || c->srv->shutting_down) {
    conn_close(c); /* nothing more can arrive, or we are in a hurry */
    return;
  }
  c->lingering = true;
  c->stop_parsing = true;
  td__buf_free(&c->pending);
  c->shutdown.data = c;
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    conn_close(c);
    return;
  }
  uv_timer_start(&c->timer, on_linger_end, LINGER_MS, 0);
  read_start(c);
}

/* ---------- timers ---------- */

static void respond_error(td__http_conn_t *c, td__http_request_t *r, int status, const char *reason);

static void on_timeout(uv_timer_t *t) {
  td__http_conn_t *c = t->data;
  /* A request partly received gets a 408 after the responses owed before it; an idle
   * connection or a client that does not take its responses is just closed. */
  if ((c->state == ST_HEADERS || c->state == ST_BODY) && !c->stop_parsing &&
      td__http_parser_busy(&c->parser)) {
    respond_error(c, td__http_parser_take(&c->parser), 408, "the request did not arrive in time");
    return;
  }
  conn_close(c);
}

static void set_state(td__http_conn_t *c, enum conn_state st) {
  const td__http_limits_t *l = &c->srv->limits;
  c->state = st;
  if (c->closing || c->lingering) return;
  switch (st) {
    case ST_IDLE:
      uv_timer_start(&c->timer, on_timeout, c->parsed == 0 ? l->header_timeout_ms : l->keepalive_timeout_ms,
                     0);
      break;
    case ST_HEADERS: uv_timer_start(&c->timer, on_timeout, l->header_timeout_ms, 0); break;
    case ST_BODY: uv_timer_start(&c->timer, on_timeout, l->body_timeout_ms, 0); break;
    case ST_WAITING:
      if (c->write_queued > 0)
        uv_timer_start(&c->timer, on_timeout, l->send_timeout_ms, 0);
      else
        uv_timer_stop(&c->timer);
      break;
  }
}

/* ---------- writing ---------- */

static void conn_resume_parsing(td__http_conn_t *c);

/* After some output was written: linger after the last response, parse what was held back,
 * or go idle. */
static void conn_after_write(td__http_conn_t *c) {
  if (c->close_after_write) {
    if (c->write_queued == 0) conn_linger(c);
    return;
  }
  conn_resume_parsing(c);
  if (c->closing || c->lingering || c->close_after_write) return;
  /* A held request is owed an answer: not drained. */
  bool drained = c->queued == 0 && c->write_queued == 0 && c->held == NULL;
  if (drained && c->eof && (c->pending.len == 0 || c->stop_parsing)) {
    conn_close(c); /* the client sent everything it will and has all its answers */
    return;
  }
  if (drained && !td__http_parser_busy(&c->parser)) set_state(c, ST_IDLE);
}

static void write_cb(uv_write_t *w, int status) {
  write_req_t *wr = (write_req_t *)w;
  td__http_conn_t *c = wr->conn;
  c->write_queued -= wr->len;
  td__http_request_free(wr->request);
  free(wr);
  if (c->closing) return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  /* The send timeout counts from the last progress, not from the first byte. */
  if (c->state == ST_WAITING) set_state(c, ST_WAITING);
  conn_after_write(c);
}

/* Hands bytes to libuv; wr->request (may be NULL) is freed once they are written. */
static int conn_write(td__http_conn_t *c, td__http_request_t *r, const char *data, size_t len) {
  write_req_t *wr = td__xcalloc(1, sizeof *wr);
  wr->conn = c;
  wr->request = r;
  wr->len = len;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  c->write_queued += len;
  if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
    c->write_queued -= len;
    td__http_request_free(r);
    free(wr);
    conn_close(c);
    return TD_EIO;
  }
  return 0;
}

/* Writes the answered requests at the head of the queue, in order. */
static void conn_flush(td__http_conn_t *c) {
  while (c->head && c->head->responded && !c->closing) {
    td__http_request_t *r = c->head;
    c->head = r->next;
    if (c->head == NULL) c->tail = NULL;
    c->queued--;
    r->next = NULL;
    bool close_after = r->close_after;
    if (conn_write(c, r, r->response.data, r->response.len) != 0) return;
    if (close_after) {
      /* Anything after this response is never parsed nor answered. */
      c->close_after_write = true;
      c->stop_parsing = true;
      read_stop(c);
      break;
    }
  }
  if (c->write_queued > c->srv->limits.max_write_queue) read_stop(c);
  if (c->state == ST_WAITING) set_state(c, ST_WAITING);
}

void td__http_respond(td__http_request_t *req, int status, const char *content_type,
                      const td__buf_t *extra_headers, const char *body, size_t body_len) {
  td__http_conn_t *c = req->conn;
  if (req->responded) return;
  req->responded = true;
  req->status = status;
  c->unanswered--;
  c->srv->inflight--;
  if (c->closing) {
    /* The client went away; the request stays queued and is freed with the connection. */
    conn_maybe_free(c);
    return;
  }
  if (c->srv->shutting_down) req->close_after = true;
  td__buf_t *out = &req->response;
  td__buf_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, td__http_reason(status), http_date());
  if (content_type && !td__http_field_value_ok(content_type, strlen(content_type)))
    content_type = "application/octet-stream"; /* never let a stored type split the response */
  if (content_type) td__buf_printf(out, "Content-Type: %s\r\n", content_type);
  td__buf_printf(out, "Content-Length: %zu\r\n", body_len);
  td__buf_puts(out, req->close_after ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
  td__buf_puts(out, "X-Content-Type-Options: nosniff\r\n");
  if (extra_headers && extra_headers->len) td__buf_append(out, extra_headers->data, extra_headers->len);
  td__buf_puts(out, "\r\n");
  bool head = req->method && strcmp(req->method, "HEAD") == 0;
  if (body_len && !head) td__buf_append(out, body, body_len);
  conn_flush(c);
}

/* ---------- requests in, errors out ---------- */

static void conn_enqueue(td__http_conn_t *c, td__http_request_t *r) {
  r->conn = c;
  r->next = NULL;
  memcpy(r->remote_ip, c->remote_ip, sizeof r->remote_ip);
  if (c->tail)
    c->tail->next = r;
  else
    c->head = r;
  c->tail = r;
  c->queued++;
  c->unanswered++;
  c->srv->inflight++;
}

/* Answers a request that cannot be served (framing error, limit, timeout) after the
 * responses owed before it, then closes: nothing after it is parsed. r may be NULL. */
static void respond_error(td__http_conn_t *c, td__http_request_t *r, int status, const char *reason) {
  c->stop_parsing = true;
  read_stop(c);
  td__buf_free(&c->pending);
  if (c->spool) td__http_spool_abort(c->spool); /* the file of a refused body goes at once */
  c->spool = NULL;
  if (c->held != r) td__http_request_free(c->held);
  c->held = NULL;
  if (r == NULL) r = td__xcalloc(1, sizeof *r);
  if (r->start_ns == 0) r->start_ns = td__time_mono_ns();
  r->close_after = true;
  conn_enqueue(c, r);
  /* From now on only the send timeout applies: responses owed before this one may still be
   * waiting for a client that does not read. */
  c->state = ST_WAITING;
  td__log(TD_LOG_INFO, "http_refused", json_pack("{s:i,s:s}", "status", status, "reason", reason));
  td__metrics_observe_request(r->method ? r->method : "UNKNOWN", "unparsed", status,
                              (double)(td__time_mono_ns() - r->start_ns) / 1e9);
  td__buf_t body = {0};
  td__buf_printf(&body, "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"",
                 td__http_reason(status), status);
  td__buf_json_escape(&body, reason);
  td__buf_puts(&body, "\"}");
  td__http_respond(r, status, "application/problem+json", NULL, body.data, body.len);
  td__buf_free(&body);
}

static void conn_dispatch(td__http_conn_t *c, td__http_request_t *r) {
  const td__http_limits_t *l = &c->srv->limits;
  c->parsed++;
  /* A connection ends after max_requests_per_conn requests or max_connection_ms (nginx's
   * keepalive_requests and keepalive_time): a slow client cannot hold it forever one
   * request at a time. */
  bool old = uv_now(c->srv->loop) - c->born_ms >= l->max_connection_ms;
  if (r->close_after || c->parsed >= l->max_requests_per_conn || old || c->srv->shutting_down) {
    r->close_after = true;
    c->stop_parsing = true;
    read_stop(c);
  }
  conn_enqueue(c, r);
  set_state(c, ST_WAITING);
  c->srv->on_request(r, c->srv->ctx);
}

/* "100 Continue" goes out only when nothing is ahead of it on the wire; otherwise the
 * client sends its body after its own short wait (RFC 9110 10.1.1 allows both). */
static void send_continue(td__http_conn_t *c) {
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
  if (c->queued > 0 || c->write_queued > 0 || c->closing) return;
  conn_write(c, NULL, cont, sizeof cont - 1);
}

/* ---------- bodies streamed to files ---------- */

static void on_spool_event(td__http_spool_t *s, td__http_spool_event_t event, void *owner);

/* Counts the most body bytes a streamed request has held in memory (its spool's buffers
 * and the socket bytes held back while the disk catches up): the proof that an upload
 * costs a small buffer, not its size. Exposed as a counter that only ever grows. */
static void note_spool_memory(td__http_conn_t *c) {
  td__http_server_t *srv = c->srv;
  size_t held = (c->spool ? td__http_spool_held(c->spool) : 0) + c->pending.len;
  if (held <= srv->spool_peak) return;
  td__metrics_count("td_http_upload_memory_peak_bytes", (double)(held - srv->spool_peak));
  srv->spool_peak = held;
}

static void on_body_data(td__http_request_t *r, const char *at, size_t len, void *owner) {
  td__http_conn_t *c = owner;
  if (c->spool == NULL) {
    td__buf_append(&r->body, at, len); /* not reached: the spool opens with the body phase */
    return;
  }
  td__http_spool_append(c->spool, at, len);
  note_spool_memory(c);
}

/* The body could not be stored: the request it belongs to gets a 500 and the connection
 * closes (the rest of the body is never read). */
static void conn_spool_failed(td__http_conn_t *c) {
  td__http_request_t *r = c->held ? c->held : td__http_parser_take(&c->parser);
  respond_error(c, r, 500, "the request body could not be stored; try again later");
}

/* A complete request whose body is in a file: dispatched once the file is closed. */
static void conn_hold(td__http_conn_t *c, td__http_request_t *r) {
  c->held = r;
  set_state(c, ST_WAITING);
  td__http_spool_finish(c->spool);
}

static void on_spool_event(td__http_spool_t *s, td__http_spool_event_t event, void *owner) {
  td__http_conn_t *c = owner;
  if (event == TD_SPOOL_ERROR) {
    conn_spool_failed(c);
  } else if (event == TD_SPOOL_DONE) {
    td__http_request_t *r = c->held;
    c->held = NULL;
    c->spool = NULL;
    td__http_spool_release(s, &r->body_file.path, &r->body_file.size);
    r->loop = c->srv->loop; /* so freeing the request removes the file without blocking */
    conn_dispatch(c, r);
    conn_resume_parsing(c);
  } else if (c->held == NULL) {
    conn_resume_parsing(c); /* a write is done: room for more of the body */
  }
}

/* ---------- feeding the parser ---------- */

static void on_phase(td__http_request_t *r, td__http_phase_t phase, void *owner) {
  td__http_conn_t *c = owner;
  r->conn = c;
  if (phase == TD_HTTP_PHASE_HEAD) {
    set_state(c, ST_HEADERS);
  } else {
    set_state(c, ST_BODY);
    if (r->spool_dir) {
      if (c->spool) td__http_spool_abort(c->spool); /* not reached: one body at a time */
      c->spool = td__http_spool_open(c->srv->loop, r->spool_dir, on_spool_event, c);
    }
    if (r->expect_continue) send_continue(c);
  }
}

/* True while nothing more may be parsed: too many requests in flight, too much output
 * queued, a body file still being written (the disk sets the pace of the upload), or a
 * complete request waiting for its file. */
static bool conn_blocked(const td__http_conn_t *c) {
  const td__http_limits_t *l = &c->srv->limits;
  return c->queued >= l->max_pipeline || c->write_queued > l->max_write_queue || c->held != NULL ||
         (c->spool != NULL && td__http_spool_full(c->spool));
}

static void conn_feed(td__http_conn_t *c, const char *data, size_t len) {
  while (len > 0 && !c->closing && !c->stop_parsing) {
    if (conn_blocked(c)) {
      /* Back-pressure: hold the rest, stop reading until responses or writes drain. */
      td__buf_append(&c->pending, data, len);
      read_stop(c);
      if (c->spool) note_spool_memory(c);
      return;
    }
    /* A streamed body goes in steps the spool can take. */
    size_t n = c->spool && len > TD_SPOOL_HIGH_WATER ? TD_SPOOL_HIGH_WATER : len;
    size_t used = 0;
    td__http_request_t *req = NULL;
    const char *reason = NULL;
    int rc = td__http_parser_execute(&c->parser, data, n, &used, &req, &reason);
    data += used;
    len -= used;
    if (rc == TD_HTTP_PARSE_REQUEST && req->spool_dir && c->spool) {
      conn_hold(c, req);
    } else if (rc == TD_HTTP_PARSE_REQUEST) {
      conn_dispatch(c, req);
    } else if (rc != TD_HTTP_PARSE_MORE) {
      respond_error(c, td__http_parser_take(&c->parser), rc, reason);
      return;
    }
    if (c->spool && td__http_spool_failed(c->spool)) {
      conn_spool_failed(c);
      return;
    }
  }
}

/* Re-feeds bytes held while the pipeline, the write queue or a body file was busy. */
static void conn_resume_parsing(td__http_conn_t *c) {
  if (c->closing || c->stop_parsing || conn_blocked(c)) return;
  if (c->pending.len > 0) {
    td__buf_t held = c->pending;
    c->pending = (td__buf_t){0};
    conn_feed(c, held.data, held.len);
    td__buf_free(&held);
  }
  if (!c->closing && !c->stop_parsing && !conn_blocked(c)) read_start(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  td__http_conn_t *c = s->data;
  if (nread > 0 && !c->lingering) {
    conn_feed(c, buf->base, (size_t)nread);
  } else if (nread < 0) {
    read_stop(c);
    if (nread == UV_EOF && !c->lingering && !c->closing) {
      c->eof = true;
      conn_after_write(c); /* closes now unless responses are still owed */
    } else {
      conn_close(c);
    }
  }
  free(buf->base);
}

/* ---------- accepting ---------- */

static void on_connection(uv_stream_t *listener, int status) {
  td__http_server_t *srv = listener->data;
  if (status < 0) return;
  td__http_conn_t *c = td__xcalloc(1, sizeof *c);
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  c->tcp.data = c;
  c->handles_open = 1;
  srv->conn_count++;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 || srv->shutting_down ||
      srv->conn_count > srv->limits.max_connections) {
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    return;
  }
  struct sockaddr_storage addr;
  int alen = sizeof addr;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&addr, &alen) == 0) {
    if (addr.ss_family == AF_INET6)
      uv_ip6_name((struct sockaddr_in6 *)&addr, c->remote_ip, sizeof c->remote_ip);
    else
      uv_ip4_name((struct sockaddr_in *)&addr, c->remote_ip, sizeof c->remote_ip);
  }
  /* Over its address's cap: closed before anything is read, so one client cannot hold every
   * connection the server allows. */
  if (!ip_acquire(srv, c->remote_ip)) {
    note_per_ip_refusal(srv);
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    return;
  }
  c->ip_counted = srv->limits.max_connections_per_ip > 0;
  uv_timer_init(srv->loop, &c->timer);
  c->timer.data = c;
  c->handles_open = 2;
  uv_tcp_nodelay(&c->tcp, 1);
  td__http_parser_init(&c->parser, &srv->limits, srv->body_limit, srv->ctx, on_phase, c);
  c->parser.on_body_data = on_body_data;
  c->born_ms = uv_now(srv->loop);
  c->next = srv->conns;
  if (srv->conns) srv->conns->prev = c;
  srv->conns = c;
  set_state(c, ST_IDLE);
  read_start(c);
}

int td__http_server_start(uv_loop_t *loop, const char *host, int port, const td__http_limits_t *limits,
                          td__http_request_cb on_request, td__http_body_limit_cb body_limit, void *ctx,
                          td__http_server_t **out) {
  td__http_server_t *srv = td__xcalloc(1, sizeof *srv);
  srv->loop = loop;
  srv->limits = *limits;
  srv->on_request = on_request;
  srv->body_limit = body_limit;
  srv->ctx = ctx;

  struct sockaddr_storage addr;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
    free(srv);
    return TD_EINVAL;
  }
  uv_tcp_init(loop, &srv->listener);
  srv->listener.data = srv;
  int rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->listener, 1024, on_connection);
  if (rc != 0) {
    td__log(TD_LOG_ERROR, "listen_failed",
            json_pack("{s:s,s:i,s:s}", "host", host, "port", port, "error", uv_strerror(rc)));
    uv_close((uv_handle_t *)&srv->listener, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    free(srv);
    return TD_EIO;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &blen);
  srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
  *out = srv;
  return 0;
}

int td__http_server_port(td__http_server_t *srv) { return srv->port; }
size_t td__http_server_connections(td__http_server_t *srv) { return srv->conn_count; }
size_t td__http_server_inflight(td__http_server_t *srv) { return srv->inflight; }

static void on_listener_closed(uv_handle_t *h) {
  td__http_server_t *srv = h->data;
  srv->listener_closed = true;
  server_check_drained(srv);
}

void td__http_server_shutdown(td__http_server_t *srv, void (*on_drained)(void *), void *arg) {
  if (srv->shutting_down) return;
  srv->shutting_down = true;
  srv->on_drained = on_drained;
  srv->drained_arg = arg;
  uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
  /* Idle and lingering connections close now; busy ones after their last response. */
  td__http_conn_t *c = srv->conns;
  while (c) {
    td__http_conn_t *next = c->next;
    c->stop_parsing = true;
    read_stop(c);
    /* A request held for its body file is in flight: it is answered (with Connection:
     * close) once the file is closed. A body still arriving is dropped. */
    if (c->lingering || (c->queued == 0 && c->write_queued == 0 && c->held == NULL))
      conn_close(c);
    else if (c->queued == 0 && c->held == NULL)
      c->close_after_write = true;
    c = next;
  }
}
