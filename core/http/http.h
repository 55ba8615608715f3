/* The HTTP/1.1 server: strict parsing (llhttp, no lenient flags), every limit of
 * ARCHITECTURE section 8, keep-alive and pipelining with responses in request order.
 *
 * The server calls on_request once per complete request, on the loop thread, with the whole
 * body already received and within its limit: in memory (req->body), or, for a request whose
 * body_limit callback chose td__http_body_to_file, in a temporary file (req->body_file) that
 * was written with libuv's asynchronous file API while the body arrived (one write in flight,
 * the socket not read while it is pending, so such a body costs a small buffer, never its
 * size). Worker threads read either kind with td__http_body_map. The request is owned by the
 * server; the handler must call td__http_respond exactly once, from the loop thread, now or
 * later (after work on another thread). Freeing the request removes its body file.
 *
 * A request that is malformed, ambiguous (request smuggling), over a limit or too slow never
 * reaches on_request: it is answered with an application/problem+json 400, 408, 413, 414,
 * 417, 431, 501 or 505 and Connection: close, after the responses owed before it, and nothing
 * the client sent after it is ever parsed. The checks themselves live in parser.c. After the
 * last response of a connection the server half-closes and discards input for up to 2 s, so
 * the client reads the answer instead of a reset. */
#ifndef TD_HTTP_HTTP_H
#define TD_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util/buf.h"

typedef struct td__http_server td__http_server_t;
typedef struct td__http_conn td__http_conn_t;

typedef struct td__http_header {
  char *name; /* lower-cased */
  char *value;
} td__http_header_t;

typedef struct td__http_request {
  /* Parsed request; read-only for handlers (safe to read from a worker thread). */
  const char *method; /* "GET", "POST"... */
  char *target;       /* the raw request-target */
  char *path;         /* target up to '?', not decoded (for an absolute-form target, its path) */
  char *query;        /* after '?', or NULL */
  td__http_header_t *headers;
  size_t header_count;
  /* The body when it was kept in memory. When it went to a file (body_file.path set) this
   * is empty. */
  td__buf_t body;
  struct {
    char *path;  /* the temporary file holding the whole body, or NULL; removed on free */
    size_t size; /* its length in bytes */
  } body_file;
  int http_minor;
  char remote_ip[48];
  uint64_t start_ns;
  /* Set by the dispatcher for logs and metrics. */
  const char *route_pattern;
  /* Private to the server and the parser. */
  td__http_conn_t *conn;
  struct td__http_request *next;
  bool responded, close_after;
  bool expect_continue; /* answer "100 Continue" before the body arrives */
  char *spool_dir;      /* td__http_body_to_file: where the body goes (owned), or NULL */
  uv_loop_t *loop;      /* for removing body_file without blocking, or NULL */
  int status;
  td__buf_t response;
} td__http_request_t;

typedef struct td__http_limits {
  size_t max_url;                  /* 8 KiB for the request target: longer answers 414 */
  size_t max_header;               /* 8 KiB for one field line, name and value bytes: 431 */
  size_t max_headers;              /* 100 headers: 431 */
  size_t max_header_bytes;         /* 32 KiB for the whole head as sent (request line, fields, CRLFs): 431 */
  size_t max_body;                 /* 1 MiB: 413 (a route may allow more through body_limit) */
  unsigned header_timeout_ms;      /* 10 s from the first byte of a request to its last header */
  unsigned body_timeout_ms;        /* 30 s for the body once headers are in */
  unsigned keepalive_timeout_ms;   /* 5 s idle between requests */
  unsigned send_timeout_ms;        /* 60 s without progress while a client takes our responses */
  unsigned max_requests_per_conn;  /* 1,000: the last one is answered with Connection: close */
  unsigned max_connection_ms;      /* 1 h: the first request after that is answered with Connection: close */
  size_t max_write_queue;          /* 1 MiB: stop reading and parsing while more is queued */
  unsigned max_pipeline;           /* requests in flight per connection before parsing pauses */
  unsigned max_connections;        /* beyond this, new connections are closed at once */
  unsigned max_connections_per_ip; /* 256 open from one remote address; beyond, closed at once (0 = no cap) */
} td__http_limits_t;

typedef void (*td__http_request_cb)(td__http_request_t *req, void *ctx);
/* Called when headers are complete; returns the body limit for this request (0 = default).
 * It may also choose where the body goes (td__http_body_to_file). */
typedef size_t (*td__http_body_limit_cb)(const td__http_request_t *req, void *ctx);

/* Only from inside the body_limit callback: the body of req (if it has one) is streamed to
 * a new temporary file (0600) in dir (copied; created if missing) instead of memory. The
 * server writes it without blocking its loop and removes it when the request is freed;
 * if the file cannot be written the request is answered 500 and the connection closed. A
 * bare parser (no body sink, see parser.h) keeps the body in memory. */
void td__http_body_to_file(const td__http_request_t *req, const char *dir);

/* A request body as bytes, wherever it is kept. */
typedef struct td__http_body_view {
  const char *data; /* len bytes; not NUL-terminated when mapped */
  size_t len;
  void *map; /* private */
  size_t map_len;
} td__http_body_view_t;

/* Gives the body of req: its memory, or its file mapped read-only. Blocking file I/O: call
 * it on a worker thread, never on the loop. Returns 0 or TD_EIO (the file is gone or does
 * not have the size received); *view is then empty. Always td__http_body_unmap after. */
int td__http_body_map(const td__http_request_t *req, td__http_body_view_t *view);
void td__http_body_unmap(td__http_body_view_t *view);

void td__http_limits_default(td__http_limits_t *limits);

/* Binds host:port (port 0 picks one) and starts accepting. Returns 0 or a TD_E* code. */
int td__http_server_start(uv_loop_t *loop, const char *host, int port, const td__http_limits_t *limits,
                          td__http_request_cb on_request, td__http_body_limit_cb body_limit, void *ctx,
                          td__http_server_t **out);
/* The port actually bound. */
int td__http_server_port(td__http_server_t *srv);
/* Stops accepting; open connections finish their in-flight requests and close. on_drained
 * runs on the loop once every connection is gone. */
void td__http_server_shutdown(td__http_server_t *srv, void (*on_drained)(void *), void *arg);
/* Connections currently open. */
size_t td__http_server_connections(td__http_server_t *srv);
/* Requests received but not yet answered. */
size_t td__http_server_inflight(td__http_server_t *srv);

/* Returns the first header with that (lower-case) name, or NULL. */
const char *td__http_header(const td__http_request_t *req, const char *lower_name);

/* Appends "Name: value\r\n" to headers. Refuses (TD_EINVAL, headers untouched) names that are
 * not tokens (RFC 9110 5.6.2) and values with CR, LF, NUL or any other control byte but HTAB,
 * so user data (file names, redirect targets) can never split or smuggle a response. */
int td__http_header_add(td__buf_t *headers, const char *name, const char *value);
/* The same for a value of value_len bytes that may hold NUL (refused like CR and LF). */
int td__http_header_addn(td__buf_t *headers, const char *name, const char *value, size_t value_len);
/* True if value (value_len bytes) may be sent as a field value. */
bool td__http_field_value_ok(const char *value, size_t value_len);

/* Sends the response: status, optional content type, extra header lines built with
 * td__http_header_add (may be NULL), and the body (copied). Exactly once per request. A content
 * type that is not a valid field value is replaced by application/octet-stream. */
void td__http_respond(td__http_request_t *req, int status, const char *content_type,
                      const td__buf_t *extra_headers, const char *body, size_t body_len);

const char *td__http_reason(int status);

#endif
