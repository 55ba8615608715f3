/* talentd's outbound HTTP client: requests to user-chosen destinations (webhooks, job boards)
 * run on one libuv loop through libcurl's multi interface (core/net/curl_uv.h), behind the SSRF
 * guard (core/net/ssrf.h) and the outbound budgets of ARCHITECTURE.md §8.
 *
 * What every request gets, whatever the caller asks:
 *  - the URL is parsed by curl (never by hand) and must be https, or http to an allowed host
 *    (or when the config allows http); no user info;
 *  - the host is resolved off the loop thread (uv_getaddrinfo); EVERY address must pass the
 *    policy, then the transfer is pinned to those addresses (CURLOPT_RESOLVE) so a DNS answer
 *    that changes between check and connect (rebinding) is never used; the address curl
 *    actually connects to is checked once more (CURLOPT_OPENSOCKETFUNCTION);
 *  - no redirects followed (a 3xx is returned as is), protocols http/https only, no proxy from
 *    the environment, no cookies, no content decoding (no decompression bombs), TLS >= 1.2
 *    with peer and host verification;
 *  - connect timeout (default 3 s), total timeout (default 10 s, counted from the moment the
 *    request gets its destination slot, resolution included), and a
 *    response cap (default 64 KiB) enforced while receiving: a bigger response fails and never
 *    more than the cap is buffered;
 *    (uv_getaddrinfo cannot be interrupted: a hung resolver is timed out when it answers);
 *  - at most per_destination_concurrency transfers at once per scheme+host+port, the rest wait
 *    in FIFO order; at most max_pending requests accepted and not yet completed in total.
 *
 * Errors given to callbacks never contain the URL, headers or body (they may carry tokens or
 * personal data): they say what happened ("timed out after 10000 ms", "response larger than
 * 65536 bytes", "address 10.0.0.1 is not allowed (private)", "connection refused", "cancelled").
 *
 * Threading: a client belongs to one loop; every function must be called on that loop's thread
 * and every callback runs there. Callbacks are never called from inside td__net_request or
 * td__net_close: they always come from a later loop turn, so callers need no re-entrancy care,
 * and a callback may itself call td__net_request or td__net_close. */
#ifndef TD_NET_CLIENT_H
#define TD_NET_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct td__net td__net_t;

typedef struct td__net_config {
  const char *const *allow_hosts; /* copied: hosts allowed even when private (ssrf.h syntax) */
  size_t allow_hosts_len;
  bool allow_http;                 /* plain http to any host (development only; default off) */
  int per_destination_concurrency; /* transfers at once per scheme+host+port (default 8) */
  int max_pending;                 /* requests accepted and not completed (default 1,024) */
  int64_t connect_timeout_ms;      /* default for requests (3,000) */
  int64_t timeout_ms;              /* default total time for requests (10,000) */
  size_t max_response_bytes;       /* default response body cap (65,536) */
  const char *user_agent;          /* copied; default "talentd/<version>" */
} td__net_config_t;

/* The defaults above (everything zero or NULL takes its default in td__net_new too). */
td__net_config_t td__net_config_default(void);

typedef struct td__net_request {
  const char *method;         /* GET (default when NULL), HEAD, POST, PUT, PATCH or DELETE */
  const char *url;            /* absolute URL */
  const char *const *headers; /* "Name: value" lines; no CR or LF allowed */
  size_t headers_len;
  const void *body; /* request body (may be NULL with body_len 0) */
  size_t body_len;
  int64_t connect_timeout_ms; /* 0: the client's default */
  int64_t timeout_ms;         /* 0: the client's default; resolution + transfer, not the wait for a slot */
  size_t max_response_bytes;  /* 0: the client's default */
} td__net_request_t;

typedef struct td__net_response {
  int rc;            /* 0 when an HTTP response arrived (whatever its status); else TD_EINVAL
                        (bad request or URL), TD_EDENIED (refused by the SSRF policy),
                        TD_ELIMIT (timed out, response over the cap), TD_EIO (network, TLS),
                        TD_EBUSY (cancelled by td__net_close) */
  long status;       /* the HTTP status when rc == 0, else 0 */
  const char *error; /* NULL when rc == 0; else a message without personal data */
  const char *body;  /* the response body, NUL-terminated for convenience; never NULL */
  size_t body_len;
  const char *content_type; /* the Content-Type header or NULL */
  int64_t elapsed_ms;       /* from td__net_request to completion */
} td__net_response_t;

/* res and everything it points to are borrowed until the callback returns. */
typedef void (*td__net_done_fn)(const td__net_response_t *res, void *data);

/* Creates a client on loop (borrowed; must outlive the client) with cfg (copied; NULL for the
 * defaults). Returns 0 and the client in *out, or TD_EINVAL (a bad allow_hosts entry: err, when
 * not NULL, says which) or TD_ENOMEM/TD_EIO. */
int td__net_new(uv_loop_t *loop, const td__net_config_t *cfg, td__net_t **out, char *err, size_t errlen);

/* Starts a request; req and everything it points to are copied. cb is called exactly once,
 * from a later loop turn, with data (borrowed; must stay valid until then) — unless this
 * returns an error, in which case cb is never called: TD_EINVAL (NULL argument, no URL, or the
 * client is closing) or TD_ELIMIT (max_pending requests are already pending). Everything else
 * (a refused URL or address, a timeout, ...) is reported through cb. */
int td__net_request(td__net_t *net, const td__net_request_t *req, td__net_done_fn cb, void *data);

/* Number of requests accepted and not yet completed (for metrics and tests). */
size_t td__net_pending(const td__net_t *net);

/* Cancels every request not yet completed (their callbacks get rc TD_EBUSY and "cancelled",
 * from a later loop turn), closes the curl multi handle and every libuv handle, frees the
 * client, then calls on_closed(data) (optional). After this returns no new request is
 * accepted; run the loop until on_closed has been called, then uv_loop_close succeeds. */
void td__net_close(td__net_t *net, void (*on_closed)(void *data), void *data);

#endif
