/* Shared between client.c (bookkeeping) and http_xfer.c (the curl transfer): the request and
 * client structs. Not for use outside core/net/. Loop thread only. */
#ifndef TD_NET_CLIENT_INTERNAL_H
#define TD_NET_CLIENT_INTERNAL_H

#include <curl/curl.h>
#include <netdb.h>
#include <stdbool.h>
#include <uv.h>

#include "net/client.h"
#include "net/curl_uv.h"
#include "net/ssrf.h"
#include "util/buf.h"

typedef enum req_state { REQ_NEW, REQ_QUEUED, REQ_RESOLVING, REQ_ACTIVE, REQ_DONE } req_state_t;

typedef struct td__net_req td__net_req_t;

/* One destination (scheme://host:port): how many of its requests hold a slot, and who waits. */
typedef struct dest {
  char *key;
  int active;
  td__net_req_t *qhead, *qtail;
  struct dest *next;
} dest_t;

struct td__net_req {
  td__curl_xfer_t xfer; /* first member: the glue hands it back in done */
  td__net_t *net;
  dest_t *dest; /* while queued or holding a slot */
  req_state_t state;
  td__net_done_fn cb;
  void *data;
  /* the copied request */
  char *method;
  struct curl_slist *headers;
  char *body;
  size_t body_len;
  int64_t connect_ms, timeout_ms;
  size_t max_bytes;
  td__ssrf_target_t target;
  /* progress */
  uint64_t created_ms, started_ms;
  uv_getaddrinfo_t gai;
  bool gai_pending; /* the resolver still owns gai: the request cannot be freed yet */
  struct curl_slist *resolve;
  td__buf_t resp;
  bool too_big;
  char denied[128]; /* why the connect-time check refused an address */
  /* the result */
  int rc;
  long status;
  char *error;
  char *content_type;
  bool delivered;
  td__net_req_t *next;                /* destination queue or done list */
  td__net_req_t *all_prev, *all_next; /* every request not yet freed */
};

struct td__net {
  uv_loop_t *loop;
  td__curl_uv_t *glue;
  td__ssrf_policy_t *policy;
  int per_dest;
  size_t max_pending;
  int64_t connect_ms, timeout_ms;
  size_t max_bytes;
  char *user_agent;
  dest_t *dests;
  td__net_req_t *all;
  td__net_req_t *done_head, *done_tail;
  uv_timer_t defer;
  size_t pending;
  bool closing, defer_closing;
  void (*on_closed)(void *data);
  void *closed_data;
};

/* client.c */
void td__net_complete(td__net_req_t *r, int rc, const char *error);
void td__net_start(td__net_req_t *r);

/* http_xfer.c */
/* Checks every resolved address of r's host and builds the CURLOPT_RESOLVE pin. Returns 0, or
 * TD_EDENIED/TD_EIO with the reason in err. */
int td__net_pin(td__net_req_t *r, const struct addrinfo *res, char *err, size_t errlen);
/* Configures r's easy handle and adds it to the glue; completes r on failure. */
void td__net_begin_transfer(td__net_req_t *r);
/* CURLOPT_OPENSOCKETFUNCTION (clientp is the request): re-checks the address curl is about to
 * connect to; refuses with CURL_SOCKET_BAD and the reason in r->denied. Exposed for tests. */
curl_socket_t td__net_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a);
/* Frees r's easy handle and curl lists (after it left the multi handle). */
void td__net_xfer_free(td__net_req_t *r);

#endif
