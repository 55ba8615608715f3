/* One HTTP transfer of the outbound client: the address pin, the curl easy-handle setup with
 * every safety option, the connect-time address re-check, the capped body buffer, and the
 * mapping of curl's result to a message without personal data. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/client_internal.h"
#include "talentd/types.h"
#include "util/mem.h"

int td__net_pin(td__net_req_t *r, const struct addrinfo *res, char *err, size_t errlen) {
  td__buf_t list = {0};
  int rc = 0, count = 0;
  for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    struct sockaddr_storage ss = {0};
    char text[INET6_ADDRSTRLEN];
    if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in)) {
      memcpy(&ss, ai->ai_addr, sizeof(struct sockaddr_in));
      ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)r->target.port);
      inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof text);
    } else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6)) {
      memcpy(&ss, ai->ai_addr, sizeof(struct sockaddr_in6));
      ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)r->target.port);
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text, sizeof text);
    } else {
      continue;
    }
    /* Every address must pass: a name that resolves to one public and one private address
     * is refused as a whole, since curl could pick either. */
    if ((rc = td__ssrf_check_addr(r->net->policy, r->target.allowed, (struct sockaddr *)&ss, err, errlen)))
      goto out;
    td__buf_printf(&list, ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s", count ? "," : "", text);
    count++;
  }
  if (!count) {
    rc = TD_EIO;
    snprintf(err, errlen, "host not found");
    goto out;
  }
  /* Pin the name exactly as curl will look it up, and without a trailing dot too. */
  const char *host = r->target.host;
  size_t hl = strlen(host);
  for (int pass = 0; pass < (hl > 1 && host[hl - 1] == '.' ? 2 : 1); pass++) {
    char *entry = td__xprintf("%.*s:%d:%s", (int)(pass ? hl - 1 : hl), host, r->target.port, list.data);
    struct curl_slist *l = curl_slist_append(r->resolve, entry);
    free(entry);
    if (!l) abort();
    r->resolve = l;
  }
out:
  td__buf_free(&list);
  return rc;
}

/* CURLOPT_OPENSOCKETFUNCTION: the last look at the address before connect(2). With the pin in
 * place this never refuses; it is here so that a pin curl did not use cannot open a hole. */
curl_socket_t td__net_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
  td__net_req_t *r = clientp;
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  if (td__ssrf_check_addr(r->net->policy, r->target.allowed, &a->addr, r->denied, sizeof r->denied) != 0)
    return CURL_SOCKET_BAD;
  r->denied[0] = '\0';
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Buffers the body up to the cap; one byte more fails the transfer (CURLE_WRITE_ERROR). */
static size_t on_write(char *p, size_t size, size_t n, void *userdata) {
  td__net_req_t *r = userdata;
  size_t len = size * n;
  if (len > r->max_bytes - r->resp.len) {
    r->too_big = true;
    return 0;
  }
  td__buf_append(&r->resp, p, len);
  return len;
}

static void set_method(td__net_req_t *r, CURL *e) {
  bool has_body = strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
                  strcmp(r->method, "PATCH") == 0 || r->body_len > 0;
  if (strcmp(r->method, "HEAD") == 0) curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (has_body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
  }
  if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0 && strcmp(r->method, "POST") != 0)
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
}

static void on_xfer_done(td__curl_xfer_t *xfer, CURLcode result);

/* The safety options are set unconditionally here, whatever the request says (client.h). */
static void set_options(td__net_req_t *r, CURL *e, int64_t remaining_ms) {
  curl_easy_setopt(e, CURLOPT_CURLU, r->target.url);
  /* Only the URL's own scheme (already checked against the policy): "https" or "http". */
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, r->target.scheme);
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, r->net->user_agent);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
  if (r->resolve) curl_easy_setopt(e, CURLOPT_RESOLVE, r->resolve);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, td__net_opensocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_bytes);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)remaining_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   (long)(r->connect_ms < remaining_ms ? r->connect_ms : remaining_ms));
  set_method(r, e);
}

void td__net_begin_transfer(td__net_req_t *r) {
  int64_t remaining = r->timeout_ms - (int64_t)(uv_now(r->net->loop) - r->started_ms);
  char msg[64];
  if (remaining <= 0) {
    snprintf(msg, sizeof msg, "timed out after %lld ms", (long long)r->timeout_ms);
    td__net_complete(r, TD_ELIMIT, msg);
    return;
  }
  /* "Expect:" turns off curl's 100-continue wait for bodies over 1 KiB (a 1 s stall). */
  struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
  if (!l) abort();
  r->headers = l;
  r->xfer.easy = curl_easy_init();
  if (!r->xfer.easy) abort(); /* out of memory */
  r->xfer.done = on_xfer_done;
  set_options(r, r->xfer.easy, remaining);
  if (td__curl_uv_add(r->net->glue, &r->xfer) != 0) {
    td__net_complete(r, TD_EIO, "could not start the transfer");
    return;
  }
  r->state = REQ_ACTIVE;
}

/* A message for a failed transfer that names what happened, never the URL or data. */
static int failure(td__net_req_t *r, CURLcode result, char *msg, size_t len) {
  CURL *e = r->xfer.easy;
  if (r->denied[0]) {
    snprintf(msg, len, "%s", r->denied);
    return TD_EDENIED;
  }
  if (r->too_big || result == CURLE_FILESIZE_EXCEEDED) {
    snprintf(msg, len, "response larger than %zu bytes", r->max_bytes);
    return TD_ELIMIT;
  }
  if (result == CURLE_OPERATION_TIMEDOUT) {
    curl_off_t connected = 0;
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connected);
    int64_t took = (int64_t)(uv_now(r->net->loop) - r->started_ms);
    if (connected == 0 && took < r->timeout_ms)
      snprintf(msg, len, "connect timed out after %lld ms", (long long)r->connect_ms);
    else
      snprintf(msg, len, "timed out after %lld ms", (long long)r->timeout_ms);
    return TD_ELIMIT;
  }
  if (result == CURLE_COULDNT_CONNECT) {
    long os = 0;
    curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os);
    snprintf(msg, len, "%s", os == ECONNREFUSED ? "connection refused" : "could not connect");
    return TD_EIO;
  }
  if (result == CURLE_PEER_FAILED_VERIFICATION || result == CURLE_SSL_CONNECT_ERROR ||
      result == CURLE_SSL_CERTPROBLEM || result == CURLE_SSL_CACERT_BADFILE) {
    snprintf(msg, len, "TLS failed: %s", curl_easy_strerror(result));
    return TD_EIO;
  }
  snprintf(msg, len, "transfer failed: %s", curl_easy_strerror(result));
  return TD_EIO;
}

static void on_xfer_done(td__curl_xfer_t *xfer, CURLcode result) {
  td__net_req_t *r = (td__net_req_t *)(void *)xfer; /* xfer is the first member */
  if (result == CURLE_OK) {
    char *ct = NULL;
    curl_easy_getinfo(r->xfer.easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(r->xfer.easy, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) r->content_type = td__xstrdup(ct);
    td__net_complete(r, 0, NULL);
    return;
  }
  char msg[160];
  int rc = failure(r, result, msg, sizeof msg);
  td__net_complete(r, rc, msg);
}

void td__net_xfer_free(td__net_req_t *r) {
  if (r->xfer.easy) curl_easy_cleanup(r->xfer.easy);
  r->xfer.easy = NULL;
  curl_slist_free_all(r->headers);
  curl_slist_free_all(r->resolve);
  r->headers = r->resolve = NULL;
}
