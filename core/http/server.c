/* HTTP/1.1 connections on libuv with llhttp: strict framing, limits, timeouts, pipelining,
 * back-pressure. The contract is in http.h; the limits are ARCHITECTURE section 8. */
#include <ctype.h>
#include <llhttp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http.h"
#include "talentd/types.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

enum conn_state { ST_IDLE, ST_HEADERS, ST_BODY, ST_WAITING };

struct td__http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  td__http_limits_t limits;
  td__http_request_cb on_request;
  td__http_body_limit_cb body_limit;
  void *ctx;
  llhttp_settings_t settings;
  td__http_conn_t *conns;
  size_t conn_count;
  size_t inflight;
  int port;
  bool shutting_down, listener_closed;
  void (*on_drained)(void *);
  void *drained_arg;
};

struct td__http_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  td__http_server_t *srv;
  td__http_conn_t *prev, *next;
  llhttp_t parser;
  td__http_request_t *cur;        /* being parsed */
  td__http_request_t *head, *tail; /* parsed, in order, until their response is written */
  unsigned queued;                /* length of head..tail */
  unsigned unanswered;            /* dispatched and not yet responded */
  unsigned parsed;                /* requests parsed on this connection */
  size_t write_queued;
  size_t body_limit;
  td__buf_t pending;              /* bytes received while parsing is paused */
  td__buf_t field, value;         /* the header being parsed */
  enum conn_state state;
  int err_status;                 /* status chosen by our callbacks for a framing error */
  int handles_open;
  bool closing, stop_parsing, reading, eof, close_after_write;
  char remote_ip[48];
};

typedef struct write_req {
  uv_write_t req;
  td__http_request_t *request;
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
      .max_write_queue = 1024 * 1024,
      .max_pipeline = 16,
      .max_connections = 10000,
  };
}

/* ---------- requests ---------- */

static void request_free(td__http_request_t *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->header_count; i++) {
    free(r->headers[i].name);
    free(r->headers[i].value);
  }
  free(r->headers);
  free(r->target);
  free(r->path);
  free(r->query);
  td__buf_free(&r->body);
  td__buf_free(&r->response);
  free(r);
}

const char *td__http_header(const td__http_request_t *req, const char *lower_name) {
  for (size_t i = 0; i < req->header_count; i++)
    if (strcmp(req->headers[i].name, lower_name) == 0) return req->headers[i].value;
  return NULL;
}

static bool is_token_char(unsigned char c) {
  return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int td__http_header_add(td__buf_t *headers, const char *name, const char *value) {
  if (name == NULL || *name == '\0' || value == NULL) return TD_EINVAL;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    if (!is_token_char(*p)) return TD_EINVAL;
  for (const unsigned char *p = (const unsigned char *)value; *p; p++)
    if (*p == '\r' || *p == '\n' || (*p < 0x20 && *p != '\t') || *p == 0x7f) return TD_EINVAL;
  td__buf_printf(headers, "%s: %s\r\n", name, value);
  return 0;
}

const char *td__http_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
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

/* ---------- connection lifetime ---------- */

static void conn_close(td__http_conn_t *c);
static void conn_feed(td__http_conn_t *c, const char *data, size_t len);
static void conn_flush(td__http_conn_t *c);

static void server_check_drained(td__http_server_t *srv) {
  if (srv->shutting_down && srv->conn_count == 0 && srv->listener_closed && srv->on_drained) {
    void (*cb)(void *) = srv->on_drained;
    srv->on_drained = NULL;
    cb(srv->drained_arg);
  }
}

static void conn_maybe_free(td__http_conn_t *c) {
  if (c->handles_open > 0 || c->unanswered > 0) return;
  td__http_server_t *srv = c->srv;
  while (c->head) {
    td__http_request_t *r = c->head;
    c->head = r->next;
    request_free(r);
  }
  request_free(c->cur);
  td__buf_free(&c->pending);
  td__buf_free(&c->field);
  td__buf_free(&c->value);
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
  if (c->prev) c->prev->next = c->next;
  else c->srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_timeout(uv_timer_t *t) {
  td__http_conn_t *c = t->data;
  /* A request partly received gets a 408 if nothing is ahead of it; otherwise just close. */
  if ((c->state == ST_HEADERS || c->state == ST_BODY) && c->queued == 0 && c->cur) {
    c->stop_parsing = true;
    td__http_request_t *r = c->cur;
    c->cur = NULL;
    r->conn = c;
    r->close_after = true;
    c->head = c->tail = r;
    c->queued = 1;
    c->unanswered++;
    c->srv->inflight++;
    static const char body[] = "{\"type\":\"about:blank\",\"title\":\"Request Timeout\",\"status\":408,"
                               "\"detail\":\"the request did not arrive in time\"}";
    td__http_respond(r, 408, "application/problem+json", NULL, body, sizeof body - 1);
    return;
  }
  conn_close(c);
}

static void arm_timer(td__http_conn_t *c, unsigned ms) {
  if (c->closing) return;
  uv_timer_start(&c->timer, on_timeout, ms, 0);
}

static void set_state(td__http_conn_t *c, enum conn_state st) {
  const td__http_limits_t *l = &c->srv->limits;
  c->state = st;
  switch (st) {
    case ST_IDLE: arm_timer(c, c->parsed == 0 ? l->header_timeout_ms : l->keepalive_timeout_ms); break;
    case ST_HEADERS: arm_timer(c, l->header_timeout_ms); break;
    case ST_BODY: arm_timer(c, l->body_timeout_ms); break;
    case ST_WAITING:
      if (c->write_queued > 0) arm_timer(c, l->send_timeout_ms);
      else uv_timer_stop(&c->timer);
      break;
  }
}

/* ---------- reading ---------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = malloc(64 * 1024);
  buf->len = buf->base ? 64 * 1024 : 0;
}

static void read_start(td__http_conn_t *c);

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  td__http_conn_t *c = s->data;
  if (nread > 0) {
    conn_feed(c, buf->base, (size_t)nread);
  } else if (nread < 0) {
    uv_read_stop(s);
    c->reading = false;
    if (nread == UV_EOF && c->queued > 0) {
      c->eof = true; /* finish the responses already owed, then close */
      c->stop_parsing = true;
    } else {
      conn_close(c);
    }
  }
  free(buf->base);
}

static void read_start(td__http_conn_t *c) {
  if (c->reading || c->closing || c->eof || c->stop_parsing) return;
  if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0) c->reading = true;
}

static void read_stop(td__http_conn_t *c) {
  if (!c->reading) return;
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = false;
}

/* ---------- parser callbacks ---------- */

static td__http_conn_t *conn_of(llhttp_t *p) { return p->data; }

static int fail(llhttp_t *p, int status) {
  conn_of(p)->err_status = status;
  return HPE_USER;
}

static int on_message_begin(llhttp_t *p) {
  td__http_conn_t *c = conn_of(p);
  c->cur = td__xcalloc(1, sizeof *c->cur);
  c->cur->conn = c;
  c->cur->start_ns = td__time_mono_ns();
  memcpy(c->cur->remote_ip, c->remote_ip, sizeof c->remote_ip);
  td__buf_reset(&c->field);
  td__buf_reset(&c->value);
  set_state(c, ST_HEADERS);
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  td__http_conn_t *c = conn_of(p);
  size_t have = c->cur->target ? strlen(c->cur->target) : 0;
  if (have + len > c->srv->limits.max_url) return fail(p, 414);
  c->cur->target = td__xrealloc(c->cur->target, have + len + 1);
  memcpy(c->cur->target + have, at, len);
  c->cur->target[have + len] = '\0';
  return 0;
}

static int add_header_bytes(llhttp_t *p, size_t len) {
  td__http_conn_t *c = conn_of(p);
  c->cur->header_bytes += len;
  if (c->cur->header_bytes > c->srv->limits.max_header_bytes) return fail(p, 431);
  if (c->field.len + c->value.len + len > c->srv->limits.max_header) return fail(p, 431);
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  int rc = add_header_bytes(p, len);
  if (rc) return rc;
  td__buf_append(&conn_of(p)->field, at, len);
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  int rc = add_header_bytes(p, len);
  if (rc) return rc;
  td__buf_append(&conn_of(p)->value, at, len);
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  td__http_conn_t *c = conn_of(p);
  td__http_request_t *r = c->cur;
  if (r->header_count >= c->srv->limits.max_headers) return fail(p, 431);
  const char *name = c->field.data ? c->field.data : "";
  size_t name_len = c->field.len;
  /* llhttp 8.1 accepts "Name : v" (RFC 9112 5.1: MUST reject) and obs-fold: refuse both. */
  if (name_len == 0 || !is_token_char((unsigned char)name[name_len - 1])) return fail(p, 400);
  for (size_t i = 0; i < c->value.len; i++) {
    unsigned char ch = (unsigned char)c->value.data[i];
    if (ch == '\r' || ch == '\n' || ch == 0) return fail(p, 400);
  }
  char *lname = td__xstrndup(name, name_len);
  for (char *q = lname; *q; q++) *q = (char)tolower((unsigned char)*q);
  /* Strip trailing whitespace of the value (llhttp leaves it in). */
  size_t vlen = c->value.len;
  while (vlen > 0 && (c->value.data[vlen - 1] == ' ' || c->value.data[vlen - 1] == '\t')) vlen--;
  char *value = td__xstrndup(c->value.data ? c->value.data : "", vlen);
  if (strcmp(lname, "host") == 0) {
    if (r->seen_host) {
      free(lname);
      free(value);
      return fail(p, 400);
    }
    r->seen_host = true;
  }
  if (strcmp(lname, "transfer-encoding") == 0 && p->http_major == 1 && p->http_minor == 0) {
    free(lname);
    free(value);
    return fail(p, 400); /* RFC 9112 6.1: faulty framing on HTTP/1.0 */
  }
  r->headers = td__xrealloc(r->headers, (r->header_count + 1) * sizeof *r->headers);
  r->headers[r->header_count].name = lname;
  r->headers[r->header_count].value = value;
  r->header_count++;
  td__buf_reset(&c->field);
  td__buf_reset(&c->value);
  return 0;
}

static int on_headers_complete(llhttp_t *p) {
  td__http_conn_t *c = conn_of(p);
  td__http_request_t *r = c->cur;
  if (p->http_major != 1 || p->http_minor > 1) return fail(p, 505);
  if (p->http_minor == 1 && !r->seen_host) return fail(p, 400);
  if (r->target == NULL || r->target[0] != '/') return fail(p, 400);
  r->method = llhttp_method_name((llhttp_method_t)p->method);
  r->http_minor = p->http_minor;
  char *q = strchr(r->target, '?');
  r->path = q ? td__xstrndup(r->target, (size_t)(q - r->target)) : td__xstrdup(r->target);
  r->query = q ? td__xstrdup(q + 1) : NULL;
  size_t limit = c->srv->body_limit ? c->srv->body_limit(r, c->srv->ctx) : 0;
  c->body_limit = limit ? limit : c->srv->limits.max_body;
  bool has_length = (p->flags & F_CONTENT_LENGTH) != 0;
  if (has_length && p->content_length > c->body_limit) return fail(p, 413);
  const char *expect = td__http_header(r, "expect");
  if (expect) {
    if (strcasecmp(expect, "100-continue") != 0) return fail(p, 417);
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)cont, sizeof cont - 1);
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  }
  set_state(c, ST_BODY);
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  td__http_conn_t *c = conn_of(p);
  if (c->cur->body.len + len > c->body_limit) return fail(p, 413);
  td__buf_append(&c->cur->body, at, len);
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  td__http_conn_t *c = conn_of(p);
  td__http_request_t *r = c->cur;
  c->cur = NULL;
  c->parsed++;
  if (!llhttp_should_keep_alive(p) || c->parsed >= c->srv->limits.max_requests_per_conn ||
      c->srv->shutting_down) {
    r->close_after = true;
    c->stop_parsing = true;
  }
  if (c->tail) c->tail->next = r;
  else c->head = r;
  c->tail = r;
  c->queued++;
  c->unanswered++;
  c->srv->inflight++;
  set_state(c, ST_WAITING);
  c->srv->on_request(r, c->srv->ctx);
  /* Pause so the feed loop decides, between messages, whether to go on. */
  return HPE_PAUSED;
}

/* ---------- feeding and errors ---------- */

static void framing_error(td__http_conn_t *c, int status, const char *reason) {
  c->stop_parsing = true;
  read_stop(c);
  td__http_request_t *r = c->cur ? c->cur : td__xcalloc(1, sizeof *r);
  c->cur = NULL;
  r->conn = c;
  r->close_after = true;
  r->next = NULL;
  if (c->tail) c->tail->next = r;
  else c->head = r;
  c->tail = r;
  c->queued++;
  c->unanswered++;
  c->srv->inflight++;
  td__buf_t body = {0};
  td__buf_printf(&body, "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"",
                 td__http_reason(status), status);
  td__buf_json_escape(&body, reason);
  td__buf_puts(&body, "\"}");
  td__http_respond(r, status, "application/problem+json", NULL, body.data, body.len);
  td__buf_free(&body);
}

static void conn_feed(td__http_conn_t *c, const char *data, size_t len) {
  while (len > 0 && !c->closing) {
    if (c->stop_parsing) return; /* bytes after a close or a framing error are never parsed */
    if (c->queued >= c->srv->limits.max_pipeline) {
      td__buf_append(&c->pending, data, len);
      read_stop(c);
      return;
    }
    llhttp_errno_t err = llhttp_execute(&c->parser, data, len);
    if (err == HPE_OK) return;
    if (err == HPE_PAUSED) {
      size_t used = (size_t)(llhttp_get_error_pos(&c->parser) - data);
      data += used;
      len -= used;
      llhttp_resume(&c->parser);
      continue;
    }
    int status = c->err_status ? c->err_status : 400;
    framing_error(c, status, err == HPE_USER ? td__http_reason(status) : llhttp_get_error_reason(&c->parser));
    return;
  }
}

/* Re-feeds bytes held while the pipeline was full. */
static void conn_resume_parsing(td__http_conn_t *c) {
  if (c->closing || c->stop_parsing || c->queued >= c->srv->limits.max_pipeline) return;
  if (c->pending.len > 0) {
    td__buf_t held = c->pending;
    c->pending = (td__buf_t){0};
    conn_feed(c, held.data, held.len);
    td__buf_free(&held);
  }
  if (c->queued < c->srv->limits.max_pipeline && c->write_queued <= c->srv->limits.max_write_queue)
    read_start(c);
}

/* ---------- writing ---------- */

static void write_cb(uv_write_t *w, int status) {
  write_req_t *wr = (write_req_t *)w;
  td__http_request_t *r = wr->request;
  td__http_conn_t *c = r->conn;
  c->write_queued -= r->response.len;
  request_free(r);
  free(wr);
  if (c->closing) return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (c->close_after_write && c->write_queued == 0) {
    conn_close(c);
    return;
  }
  if (c->eof && c->queued == 0 && c->write_queued == 0) {
    conn_close(c);
    return;
  }
  conn_resume_parsing(c);
  if (c->queued == 0 && c->write_queued == 0 && c->cur == NULL && !c->closing) set_state(c, ST_IDLE);
}

static void conn_flush(td__http_conn_t *c) {
  while (c->head && c->head->responded && !c->closing) {
    td__http_request_t *r = c->head;
    c->head = r->next;
    if (c->head == NULL) c->tail = NULL;
    c->queued--;
    r->next = NULL;
    write_req_t *wr = td__xcalloc(1, sizeof *wr);
    wr->request = r;
    uv_buf_t b = uv_buf_init(r->response.data, (unsigned)r->response.len);
    c->write_queued += r->response.len;
    bool close_after = r->close_after;
    if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
      c->write_queued -= r->response.len;
      request_free(r);
      free(wr);
      conn_close(c);
      return;
    }
    if (close_after) {
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
  td__buf_t *out = &req->response;
  td__buf_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, td__http_reason(status), http_date());
  if (content_type) td__buf_printf(out, "Content-Type: %s\r\n", content_type);
  td__buf_printf(out, "Content-Length: %zu\r\n", body_len);
  td__buf_puts(out, req->close_after || c->srv->shutting_down ? "Connection: close\r\n"
                                                             : "Connection: keep-alive\r\n");
  td__buf_puts(out, "X-Content-Type-Options: nosniff\r\n");
  if (extra_headers && extra_headers->len) td__buf_append(out, extra_headers->data, extra_headers->len);
  td__buf_puts(out, "\r\n");
  bool head = req->method && strcmp(req->method, "HEAD") == 0;
  if (body_len && !head) td__buf_append(out, body, body_len);
  if (c->srv->shutting_down) req->close_after = true;
  conn_flush(c);
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
  uv_timer_init(srv->loop, &c->timer);
  c->timer.data = c;
  c->handles_open = 2;
  uv_tcp_nodelay(&c->tcp, 1);
  struct sockaddr_storage addr;
  int alen = sizeof addr;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&addr, &alen) == 0) {
    if (addr.ss_family == AF_INET6)
      uv_ip6_name((struct sockaddr_in6 *)&addr, c->remote_ip, sizeof c->remote_ip);
    else
      uv_ip4_name((struct sockaddr_in *)&addr, c->remote_ip, sizeof c->remote_ip);
  }
  llhttp_init(&c->parser, HTTP_REQUEST, &srv->settings);
  c->parser.data = c;
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
  llhttp_settings_init(&srv->settings);
  srv->settings.on_message_begin = on_message_begin;
  srv->settings.on_url = on_url;
  srv->settings.on_header_field = on_header_field;
  srv->settings.on_header_value = on_header_value;
  srv->settings.on_header_value_complete = on_header_value_complete;
  srv->settings.on_headers_complete = on_headers_complete;
  srv->settings.on_body = on_body;
  srv->settings.on_message_complete = on_message_complete;

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
    td__log(TD_LOG_ERROR, "listen_failed", json_pack("{s:s,s:i,s:s}", "host", host, "port", port,
                                                     "error", uv_strerror(rc)));
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
  /* Idle connections close now; busy ones close after their last response. */
  td__http_conn_t *c = srv->conns;
  while (c) {
    td__http_conn_t *next = c->next;
    c->stop_parsing = true;
    if (c->queued == 0 && c->write_queued == 0) conn_close(c);
    else c->close_after_write = c->queued == 0;
    c = next;
  }
}
