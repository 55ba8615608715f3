/* The outbound HTTP client against a tiny HTTP/1.1 server running in the same libuv loop:
 * bodies and statuses arrive intact, requests reach the server as sent, the SSRF policy holds
 * (loopback refused unless allowed, http only for allowed hosts), redirects are returned rather
 * than followed, the timeout and the response cap fire with their messages, the per-destination
 * cap holds under load, and closing cancels everything and leaves the loop empty. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <netdb.h>
#include <unistd.h>
#include <uv.h>

#include "net/client.h"
#include "net/client_internal.h"
#include "talentd/types.h"
#include "util/buf.h"

/* ---------------- the test server ---------------- */

typedef struct server server_t;

typedef struct conn {
  uv_tcp_t tcp;
  uv_timer_t delay;
  server_t *srv;
  td__buf_t in;
  char *reply; /* sent after the delay */
  size_t reply_len;
  bool handled, counted, closing;
  int open_handles;
  struct conn *prev, *next;
} conn_t;

struct server {
  uv_tcp_t listener;
  int port;
  int requests; /* complete requests received */
  int active;   /* received and not yet answered */
  int max_active;
  conn_t *conns;
  char method[16];
  char path[128];
  td__buf_t headers; /* of the last request, lowercased */
  td__buf_t body;    /* of the last request */
};

static void on_conn_handle_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  if (--c->open_handles > 0) return;
  td__buf_free(&c->in);
  free(c->reply);
  free(c);
}

static void conn_close(conn_t *c) {
  if (c->closing) return;
  c->closing = true;
  server_t *s = c->srv;
  if (c->counted) s->active--;
  c->counted = false;
  if (c->prev)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  uv_close((uv_handle_t *)&c->delay, on_conn_handle_closed);
  uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

static void on_written(uv_write_t *w, int status) {
  (void)status;
  conn_t *c = w->data;
  free(w);
  conn_close(c); /* Connection: close */
}

static void send_reply(conn_t *c) {
  if (c->counted) c->srv->active--;
  c->counted = false;
  uv_write_t *w = calloc(1, sizeof *w);
  w->data = c;
  uv_buf_t b = uv_buf_init(c->reply, (unsigned)c->reply_len);
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
    free(w);
    conn_close(c);
  }
}

static void on_delay(uv_timer_t *t) { send_reply(t->data); }

static void set_reply(conn_t *c, const char *status, const char *extra, const char *body, size_t len,
                      bool with_length) {
  td__buf_t b = {0};
  td__buf_printf(&b, "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nConnection: close\r\n%s", status, extra);
  if (with_length) td__buf_printf(&b, "Content-Length: %zu\r\n", len);
  td__buf_puts(&b, "\r\n");
  td__buf_append(&b, body, len);
  c->reply_len = b.len;
  c->reply = td__buf_take(&b);
}

/* Answers by path: /ok, /echo, /slow (2 s), /conc (50 ms), /huge, /huge-stream, /redirect. */
static void route(conn_t *c, const char *path, const char *body, size_t body_len) {
  uint64_t delay = 0;
  if (strcmp(path, "/ok") == 0) {
    set_reply(c, "200 OK", "", "hello world", 11, true);
  } else if (strcmp(path, "/echo") == 0) {
    set_reply(c, "201 Created", "", body, body_len, true);
  } else if (strcmp(path, "/slow") == 0 || strcmp(path, "/conc") == 0) {
    set_reply(c, "200 OK", "", "late", 4, true);
    delay = strcmp(path, "/slow") == 0 ? 2000 : 50;
  } else if (strncmp(path, "/huge", 5) == 0) {
    size_t n = 200 * 1024;
    char *big = malloc(n);
    memset(big, 'x', n);
    set_reply(c, "200 OK", "", big, n, strcmp(path, "/huge") == 0);
    free(big);
  } else if (strcmp(path, "/redirect") == 0) {
    set_reply(c, "302 Found", "Location: /ok\r\n", "", 0, true);
  } else {
    set_reply(c, "404 Not Found", "", "", 0, true);
  }
  if (delay)
    uv_timer_start(&c->delay, on_delay, delay, 0);
  else
    send_reply(c);
}

/* Handles the request once its head and Content-Length body are in. */
static void try_handle(conn_t *c) {
  char *end = c->in.data ? strstr(c->in.data, "\r\n\r\n") : NULL;
  if (!end || c->handled) return;
  size_t head = (size_t)(end - c->in.data) + 4;
  size_t body_len = 0;
  const char *cl = strcasestr(c->in.data, "\r\ncontent-length:");
  if (cl && cl < end) body_len = strtoul(cl + 17, NULL, 10);
  if (c->in.len < head + body_len) return;
  c->handled = true;
  server_t *s = c->srv;
  char path[128] = "";
  sscanf(c->in.data, "%15s %127s", s->method, path);
  snprintf(s->path, sizeof s->path, "%s", path);
  td__buf_reset(&s->headers);
  td__buf_append(&s->headers, c->in.data, head);
  for (size_t i = 0; i < s->headers.len; i++)
    s->headers.data[i] = (char)tolower((unsigned char)s->headers.data[i]);
  td__buf_reset(&s->body);
  td__buf_append(&s->body, c->in.data + head, body_len);
  s->requests++;
  c->counted = true;
  if (++s->active > s->max_active) s->max_active = s->active;
  route(c, path, c->in.data + head, body_len);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(suggested);
  buf->len = suggested;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  conn_t *c = st->data;
  if (n > 0) {
    td__buf_append(&c->in, buf->base, (size_t)n);
    try_handle(c);
  } else if (n < 0) {
    conn_close(c); /* the client went away (cancelled, timed out, over the cap) */
  }
  free(buf->base);
}

static void on_connection(uv_stream_t *l, int status) {
  server_t *s = l->data;
  if (status < 0) return;
  conn_t *c = calloc(1, sizeof *c);
  c->srv = s;
  uv_tcp_init(l->loop, &c->tcp);
  uv_timer_init(l->loop, &c->delay);
  c->tcp.data = c->delay.data = c;
  c->open_handles = 2;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
    conn_close(c);
}

static void server_start(uv_loop_t *loop, server_t *s) {
  memset(s, 0, sizeof *s);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(uv_tcp_init(loop, &s->listener), 0);
  s->listener.data = s;
  assert_int_equal(uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 128, on_connection), 0);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
  s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void server_stop(server_t *s) {
  while (s->conns) conn_close(s->conns);
  uv_close((uv_handle_t *)&s->listener, NULL);
  td__buf_free(&s->headers);
  td__buf_free(&s->body);
}

/* ---------------- fixture ---------------- */

typedef struct result {
  int calls;
  int rc;
  long status;
  char error[200];
  td__buf_t body;
  char content_type[64];
  int64_t elapsed_ms;
} result_t;

static void on_done(const td__net_response_t *res, void *data) {
  result_t *r = data;
  r->calls++;
  r->rc = res->rc;
  r->status = res->status;
  snprintf(r->error, sizeof r->error, "%s", res->error ? res->error : "");
  td__buf_reset(&r->body);
  td__buf_append(&r->body, res->body, res->body_len);
  snprintf(r->content_type, sizeof r->content_type, "%s", res->content_type ? res->content_type : "");
  r->elapsed_ms = res->elapsed_ms;
}

typedef struct fx {
  uv_loop_t loop;
  server_t srv;
  td__net_t *net;
  uv_timer_t tick; /* keeps UV_RUN_ONCE from sleeping forever after the last event */
  bool closed;
} fx_t;

static void fx_start(fx_t *f, const char *const *allow, size_t n, int per_dest, int max_pending) {
  memset(f, 0, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  server_start(&f->loop, &f->srv);
  uv_timer_init(&f->loop, &f->tick);
  td__net_config_t cfg = td__net_config_default();
  cfg.allow_hosts = allow;
  cfg.allow_hosts_len = n;
  if (per_dest) cfg.per_destination_concurrency = per_dest;
  if (max_pending) cfg.max_pending = max_pending;
  char err[128];
  assert_int_equal(td__net_new(&f->loop, &cfg, &f->net, err, sizeof err), 0);
}

static void on_net_closed(void *data) { ((fx_t *)data)->closed = true; }

static void fx_stop(fx_t *f) {
  server_stop(&f->srv);
  uv_close((uv_handle_t *)&f->tick, NULL);
  td__net_close(f->net, on_net_closed, f);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_true(f->closed);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Runs the loop until *counter reaches want (or 8 s pass: the test then fails). */
static void on_tick(uv_timer_t *t) { (void)t; }

static void run_until(fx_t *f, const int *counter, int want) {
  uint64_t deadline = uv_now(&f->loop) + 8000;
  uv_timer_start(&f->tick, on_tick, 5, 5);
  while (*counter < want && uv_now(&f->loop) < deadline) uv_run(&f->loop, UV_RUN_ONCE);
  uv_timer_stop(&f->tick);
  assert_int_equal(*counter, want);
}

static char *url(fx_t *f, const char *scheme, const char *host, const char *path) {
  static char buf[256];
  snprintf(buf, sizeof buf, "%s://%s:%d%s", scheme, host, f->srv.port, path);
  return buf;
}

static void request(fx_t *f, const char *u, result_t *r) {
  td__net_request_t req = {.url = u};
  assert_int_equal(td__net_request(f->net, &req, on_done, r), 0);
  assert_int_equal(r->calls, 0); /* never called back from inside td__net_request */
  run_until(f, &r->calls, 1);
}

static const char *const k_allow_local[] = {"127.0.0.1"};

/* ---------------- tests ---------------- */

static void test_get_ok(void **state) {
  (void)state;
  fx_t f;
  fx_start(&f, k_allow_local, 1, 0, 0);
  result_t r = {0};
  request(&f, url(&f, "http", "127.0.0.1", "/ok"), &r);
  assert_int_equal(r.rc, 0);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.body.len, 11);
  assert_memory_equal(r.body.data, "hello world", 11);
  assert_string_equal(r.content_type, "text/plain");
  assert_string_equal(f.srv.method, "GET");
  assert_string_equal(f.srv.path, "/ok");
  assert_non_null(strstr(f.srv.headers.data, "user-agent: talentd/"));
  assert_null(strstr(f.srv.headers.data, "cookie"));
  assert_int_equal(f.srv.requests, 1);
  td__buf_free(&r.body);
  fx_stop(&f);
}

static void test_post_body_and_headers(void **state) {
  (void)state;
  fx_t f;
  fx_start(&f, k_allow_local, 1, 0, 0);
  const char *headers[] = {"Content-Type: application/json", "X-Td-Test: yes"};
  static const char body[] = "{\"candidate\":\"can_1\",\"n\":42}";
  td__net_request_t req = {.method = "POST",
                           .url = url(&f, "http", "127.0.0.1", "/echo"),
                           .headers = headers,
                           .headers_len = 2,
                           .body = body,
                           .body_len = sizeof body - 1};
  result_t r = {0};
  assert_int_equal(td__net_request(f.net, &req, on_done, &r), 0);
  run_until(&f, &r.calls, 1);
  assert_int_equal(r.rc, 0);
  assert_int_equal(r.status, 201);
  assert_string_equal(f.srv.method, "POST");
  assert_int_equal(f.srv.body.len, sizeof body - 1);
  assert_memory_equal(f.srv.body.data, body, sizeof body - 1);
  assert_non_null(strstr(f.srv.headers.data, "\r\nx-td-test: yes\r\n"));
  assert_non_null(strstr(f.srv.headers.data, "\r\ncontent-type: application/json\r\n"));
  assert_memory_equal(r.body.data, body, sizeof body - 1); /* echoed back */

  /* A header line with CR LF in it could smuggle a second header: refused. */
  const char *evil[] = {"X-A: 1\r\nX-B: 2"};
  td__net_request_t bad = {.url = req.url, .headers = evil, .headers_len = 1};
  result_t r2 = {0};
  assert_int_equal(td__net_request(f.net, &bad, on_done, &r2), 0);
  run_until(&f, &r2.calls, 1);
  assert_int_equal(r2.rc, TD_EINVAL);
  assert_int_equal(f.srv.requests, 1);
  td__buf_free(&r.body);
  td__buf_free(&r2.body);
  fx_stop(&f);
}

static void test_loopback_refused_unless_allowed(void **state) {
  (void)state;
  fx_t f;
  fx_start(&f, NULL, 0, 0, 0);
  result_t r = {0};
  request(&f, url(&f, "https", "127.0.0.1", "/ok"), &r);
  assert_int_equal(r.rc, TD_EDENIED);
  assert_string_equal(r.error, "address 127.0.0.1 is not allowed (loopback)");
  /* A name is checked on its resolved addresses. */
  result_t r2 = {0};
  request(&f, url(&f, "https", "localhost", "/ok"), &r2);
  assert_int_equal(r2.rc, TD_EDENIED);
  assert_non_null(strstr(r2.error, "is not allowed (loopback)"));
  /* Plain http is refused before anything else for a host that is not allowed. */
  result_t r3 = {0};
  request(&f, url(&f, "http", "127.0.0.1", "/ok"), &r3);
  assert_int_equal(r3.rc, TD_EDENIED);
  assert_string_equal(r3.error, "URL scheme http is not allowed for this host: use https");
  assert_int_equal(f.srv.requests, 0);
  td__buf_free(&r.body);
  td__buf_free(&r2.body);
  td__buf_free(&r3.body);
  fx_stop(&f);
}

static void test_http_refused_for_other_host(void **state) {
  (void)state;
  fx_t f;
  fx_start(&f, k_allow_local, 1, 0, 0); /* 127.0.0.1 allowed, "localhost" is not */
  result_t r = {0};
  request(&f, url(&f, "http", "localhost", "/ok"), &r);
  assert_int_equal(r.rc, TD_EDENIED);
  assert_non_null(strstr(r.error, "scheme http is not allowed"));
  assert_int_equal(f.srv.requests, 0);
  td__buf_free(&r.body);
  fx_stop(&f);
}

static void test_allowed_name_resolves(void **state) {
  (void)state;
  static const char *const allow[] = {"localhost"};
  fx_t f;
  fx_start(&f, allow, 1, 0, 0);
  result_t r = {0};
  request(&f, url(&f, "http", "localhost", "/ok"), &r);
  assert_int_equal(r.rc, 0);
  assert_int_equal(r.status, 200);
  assert_int_equal(f.srv.requests, 1);
  td__buf_free(&r.body);
  fx_stop(&f);
}

static void test_redirect_not_followed(void **state) {
  (void)state;
  fx_t f;
  fx_start(&f, k_allow_local, 1, 0, 0);
  result_t r = {0};
  request(&f, url(&f, "http", "127.0.0.1", "/redirect"), &r);
  assert_int_equal(r.rc, 0);
  assert_int_equal(r.status, 302);
  for (int i = 0; i < 20; i++) uv_run(&f.loop, UV_RUN_NOWAIT);
  assert_int_equal(f.srv.requests, 1);
  assert_string_equal(f.srv.path, "/redirect");
  td__buf_free(&r.body);
  fx_stop(&f);
}

static void test_total_timeout(void **state) {
  (void)state;
  fx_t f;
  fx_start(&f, k_allow_local, 1, 0, 0);
  td__net_request_t req = {.url = url(&f, "http", "127.0.0.1", "/slow"), .timeout_ms = 300};
  result_t r = {0};
  assert_int_equal(td__net_request(f.net, &req, on_done, &r), 0);
  run_until(&f, &r.calls, 1);
  assert_int_equal(r.rc, TD_ELIMIT);
  assert_string_equal(r.error, "timed out after 300 ms");
  assert_true(r.elapsed_ms >= 290 && r.elapsed_ms < 1500);
  assert_int_equal(r.body.len, 0);
  td__buf_free(&r.body);
  fx_stop(&f);
}

static void test_connection_refused(void **state) {
  (void)state;
  fx_t f;
  fx_start(&f, k_allow_local, 1, 0, 0);
  uv_tcp_t probe; /* a port nobody listens on: bind, read the port, close */
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(&f.loop, &probe);
  uv_tcp_bind(&probe, (struct sockaddr *)&addr, 0);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getsockname(&probe, (struct sockaddr *)&ss, &len);
  int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  uv_close((uv_handle_t *)&probe, NULL);
  char u[64];
  snprintf(u, sizeof u, "http://127.0.0.1:%d/", port);
  result_t r = {0};
  request(&f, u, &r);
  assert_int_equal(r.rc, TD_EIO);
  assert_string_equal(r.error, "connection refused");
  td__buf_free(&r.body);
  fx_stop(&f);
}

static void test_response_cap(void **state) {
  (void)state;
  fx_t f;
  fx_start(&f, k_allow_local, 1, 0, 0);
  result_t r1 = {0}, r2 = {0}, r3 = {0}, r4 = {0};
  request(&f, url(&f, "http", "127.0.0.1", "/huge"), &r1); /* Content-Length says 200 KiB */
  assert_int_equal(r1.rc, TD_ELIMIT);
  assert_string_equal(r1.error, "response larger than 65536 bytes");
  assert_int_equal(r1.body.len, 0);
  request(&f, url(&f, "http", "127.0.0.1", "/huge-stream"), &r2); /* no length: counted */
  assert_int_equal(r2.rc, TD_ELIMIT);
  assert_string_equal(r2.error, "response larger than 65536 bytes");
  /* The cap is inclusive: 11 bytes fit in 11 and not in 10. */
  td__net_request_t req = {.url = url(&f, "http", "127.0.0.1", "/ok"), .max_response_bytes = 11};
  assert_int_equal(td__net_request(f.net, &req, on_done, &r3), 0);
  run_until(&f, &r3.calls, 1);
  assert_int_equal(r3.rc, 0);
  assert_int_equal(r3.body.len, 11);
  req.max_response_bytes = 10;
  assert_int_equal(td__net_request(f.net, &req, on_done, &r4), 0);
  run_until(&f, &r4.calls, 1);
  assert_int_equal(r4.rc, TD_ELIMIT);
  assert_string_equal(r4.error, "response larger than 10 bytes");
  td__buf_free(&r1.body);
  td__buf_free(&r2.body);
  td__buf_free(&r3.body);
  td__buf_free(&r4.body);
  fx_stop(&f);
}

static void test_per_destination_cap(void **state) {
  (void)state;
  fx_t f;
  fx_start(&f, k_allow_local, 1, 3, 0);
  enum { N = 20 };
  result_t r[N];
  memset(r, 0, sizeof r);
  int done = 0;
  const char *u = url(&f, "http", "127.0.0.1", "/conc");
  for (int i = 0; i < N; i++) {
    td__net_request_t req = {.url = u};
    assert_int_equal(td__net_request(f.net, &req, on_done, &r[i]), 0);
  }
  assert_int_equal(td__net_pending(f.net), N);
  uint64_t deadline = uv_now(&f.loop) + 8000;
  uv_timer_start(&f.tick, on_tick, 5, 5);
  while (done < N && uv_now(&f.loop) < deadline) {
    uv_run(&f.loop, UV_RUN_ONCE);
    done = 0;
    for (int i = 0; i < N; i++) done += r[i].calls;
  }
  assert_int_equal(done, N);
  for (int i = 0; i < N; i++) {
    assert_int_equal(r[i].calls, 1);
    assert_int_equal(r[i].rc, 0);
    assert_int_equal(r[i].status, 200);
    td__buf_free(&r[i].body);
  }
  assert_int_equal(f.srv.requests, N);
  assert_int_equal(f.srv.max_active, 3); /* reached the cap, never more */
  assert_int_equal(td__net_pending(f.net), 0);
  fx_stop(&f);
}

static void test_max_pending(void **state) {
  (void)state;
  fx_t f;
  fx_start(&f, k_allow_local, 1, 0, 2);
  result_t r[3];
  memset(r, 0, sizeof r);
  td__net_request_t req = {.url = url(&f, "http", "127.0.0.1", "/ok")};
  assert_int_equal(td__net_request(f.net, &req, on_done, &r[0]), 0);
  assert_int_equal(td__net_request(f.net, &req, on_done, &r[1]), 0);
  assert_int_equal(td__net_request(f.net, &req, on_done, &r[2]), TD_ELIMIT);
  run_until(&f, &r[1].calls, 1);
  run_until(&f, &r[0].calls, 1);
  for (int i = 0; i < 10; i++) uv_run(&f.loop, UV_RUN_NOWAIT);
  assert_int_equal(r[2].calls, 0); /* refused synchronously: never called */
  assert_int_equal(r[0].status, 200);
  assert_int_equal(r[1].status, 200);
  for (int i = 0; i < 3; i++) td__buf_free(&r[i].body);
  fx_stop(&f);
}

static void test_close_cancels_in_flight(void **state) {
  (void)state;
  static const char *const allow[] = {"127.0.0.1", "localhost"};
  fx_t f;
  fx_start(&f, allow, 2, 2, 0);
  enum { N = 6 };
  result_t r[N];
  memset(r, 0, sizeof r);
  for (int i = 0; i < N - 1; i++) { /* 2 active, 3 queued */
    td__net_request_t req = {.url = url(&f, "http", "127.0.0.1", "/slow")};
    assert_int_equal(td__net_request(f.net, &req, on_done, &r[i]), 0);
  }
  run_until(&f, &f.srv.requests, 2);
  td__net_request_t named = {.url = url(&f, "http", "localhost", "/slow")}; /* resolving */
  assert_int_equal(td__net_request(f.net, &named, on_done, &r[N - 1]), 0);
  server_stop(&f.srv);
  uv_close((uv_handle_t *)&f.tick, NULL);
  td__net_close(f.net, on_net_closed, &f);
  for (int i = 0; i < N; i++) assert_int_equal(r[i].calls, 0); /* not from inside close */
  td__net_request_t late = {.url = named.url};
  assert_int_equal(td__net_request(f.net, &late, on_done, &r[0]), TD_EINVAL);
  uv_run(&f.loop, UV_RUN_DEFAULT);
  assert_true(f.closed);
  for (int i = 0; i < N; i++) {
    assert_int_equal(r[i].calls, 1);
    assert_int_equal(r[i].rc, TD_EBUSY);
    assert_string_equal(r[i].error, "cancelled");
    td__buf_free(&r[i].body);
  }
  assert_int_equal(f.srv.requests, 2);
  assert_int_equal(uv_loop_close(&f.loop), 0);
}

/* A client with nothing in flight, for the tests that call its internals. */
static td__net_t *bare_net(uv_loop_t *loop, td__net_req_t *r) {
  assert_int_equal(uv_loop_init(loop), 0);
  td__net_t *net = NULL;
  assert_int_equal(td__net_new(loop, NULL, &net, NULL, 0), 0);
  memset(r, 0, sizeof *r);
  r->net = net;
  return net;
}

static void bare_close(uv_loop_t *loop, td__net_t *net) {
  td__net_close(net, NULL, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(loop), 0);
}

/* The connect-time check (belt and braces behind the pin) refuses on its own. */
static void test_opensocket_rechecks(void **state) {
  (void)state;
  uv_loop_t loop;
  td__net_req_t r;
  td__net_t *net = bare_net(&loop, &r);
  struct curl_sockaddr a;
  memset(&a, 0, sizeof a);
  a.family = AF_INET;
  a.socktype = SOCK_STREAM;
  a.addrlen = sizeof(struct sockaddr_in);
  struct sockaddr_in *in = (struct sockaddr_in *)&a.addr;
  in->sin_family = AF_INET;
  in->sin_port = htons(443);
  uv_inet_pton(AF_INET, "169.254.169.254", &in->sin_addr);
  assert_int_equal(td__net_opensocket(&r, CURLSOCKTYPE_IPCXN, &a), CURL_SOCKET_BAD);
  assert_string_equal(r.denied, "address 169.254.169.254 is not allowed (link-local)");
  uv_inet_pton(AF_INET, "93.184.216.34", &in->sin_addr);
  curl_socket_t fd = td__net_opensocket(&r, CURLSOCKTYPE_IPCXN, &a);
  assert_true(fd >= 0);
  assert_string_equal(r.denied, "");
  close(fd);
  bare_close(&loop, net);
}

/* A hand-made resolver answer (one allocation per entry, freed by ai_free). */
static struct addrinfo *ai_new(int family, const char *text, struct addrinfo *next) {
  size_t salen = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  struct addrinfo *ai = calloc(1, sizeof *ai + salen);
  struct sockaddr *sa = (struct sockaddr *)(void *)(ai + 1);
  sa->sa_family = (sa_family_t)family;
  if (family == AF_INET)
    uv_inet_pton(AF_INET, text, &((struct sockaddr_in *)(void *)sa)->sin_addr);
  else
    uv_inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr);
  ai->ai_family = family;
  ai->ai_addr = sa;
  ai->ai_addrlen = (socklen_t)salen;
  ai->ai_next = next;
  return ai;
}

static void ai_free(struct addrinfo *ai) {
  while (ai) {
    struct addrinfo *next = ai->ai_next;
    free(ai);
    ai = next;
  }
}

/* Every resolved address is checked (one private address spoils the lot), and the pin lists
 * exactly the checked addresses for the name curl will look up. */
static void test_pin_checks_every_address(void **state) {
  (void)state;
  uv_loop_t loop;
  td__net_req_t r;
  td__net_t *net = bare_net(&loop, &r);
  char err[160];
  assert_int_equal(
      td__ssrf_check_url(net->policy, "https://hooks.example.com./x", &r.target, err, sizeof err), 0);
  struct addrinfo *mixed = ai_new(AF_INET, "93.184.216.34", ai_new(AF_INET, "10.0.0.7", NULL));
  assert_int_equal(td__net_pin(&r, mixed, err, sizeof err), TD_EDENIED);
  assert_string_equal(err, "address 10.0.0.7 is not allowed (private)");
  assert_null(r.resolve);
  struct addrinfo *good = ai_new(AF_INET, "93.184.216.34", ai_new(AF_INET6, "2606:2800:220:1::1", NULL));
  assert_int_equal(td__net_pin(&r, good, err, sizeof err), 0);
  assert_non_null(r.resolve);
  assert_string_equal(r.resolve->data, "hooks.example.com.:443:93.184.216.34,[2606:2800:220:1::1]");
  assert_non_null(r.resolve->next);
  assert_string_equal(r.resolve->next->data, "hooks.example.com:443:93.184.216.34,[2606:2800:220:1::1]");
  struct addrinfo *mapped = ai_new(AF_INET6, "::ffff:127.0.0.1", NULL);
  assert_int_equal(td__net_pin(&r, mapped, err, sizeof err), TD_EDENIED);
  assert_string_equal(err, "address 127.0.0.1 is not allowed (loopback)");
  ai_free(mixed);
  ai_free(good);
  ai_free(mapped);
  curl_slist_free_all(r.resolve);
  td__ssrf_target_clear(&r.target);
  bare_close(&loop, net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_ok),
      cmocka_unit_test(test_post_body_and_headers),
      cmocka_unit_test(test_loopback_refused_unless_allowed),
      cmocka_unit_test(test_http_refused_for_other_host),
      cmocka_unit_test(test_allowed_name_resolves),
      cmocka_unit_test(test_redirect_not_followed),
      cmocka_unit_test(test_total_timeout),
      cmocka_unit_test(test_connection_refused),
      cmocka_unit_test(test_response_cap),
      cmocka_unit_test(test_per_destination_cap),
      cmocka_unit_test(test_max_pending),
      cmocka_unit_test(test_close_cancels_in_flight),
      cmocka_unit_test(test_opensocket_rechecks),
      cmocka_unit_test(test_pin_checks_every_address),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
