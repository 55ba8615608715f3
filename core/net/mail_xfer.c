/* Mail transfers (see mail_xfer.h). On the loop thread: the request check, the copy, the queue
 * to the worker and the delivery of results. On the worker thread "td-mail": the easy-handle
 * setup with every safety option, its own multi handle driven by curl_multi_poll, the capped
 * response buffer and the mapping of curl's result to ok / code / permanent and a message
 * without personal data. The two threads share only what `worker_t.lock` guards; the worker's
 * one libuv call is uv_async_send. */
#include "net/mail_xfer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "net/client_internal.h"
#include "net/pace.h"
#include "talentd/types.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

#define MAIL_THREAD_NICE 10

#define MAX_URL 2048
#define MAX_ADDRESS 320 /* 64 local part + @ + 255 domain */
#define MAX_CREDENTIAL 512
#define MAX_COMMAND 1000
#define CONNECT_TIMEOUT_MS 10000
/* The longest the worker sleeps in curl_multi_poll; new work and a stop wake it at once. */
#define POLL_MS 1000
/* The pace's bucket holds a 50th of a second's messages: enough that 16 transfers in flight
 * keep going, small enough that a burst never takes the CPU in one gulp. */
#define PACE_BURSTS_PER_SECOND 50

typedef struct mail_req {
  struct mail_req *next;                /* on a queue: to the worker, or back to the loop */
  struct mail_req *run_prev, *run_next; /* the worker's list of transfers on its multi handle */
  /* Set on the loop thread before the request is queued; read-only afterwards. */
  td__mail_done_fn cb;
  void *data;
  bool smtp;
  char scheme[8];
  char *url, *user, *password, *mail_from, *command;
  struct curl_slist *rcpt;
  char *body;
  size_t body_len;
  int require_tls;
  uint32_t timeout_ms;
  size_t max_bytes;
  /* The worker's while it runs. */
  CURL *easy;
  size_t body_sent;
  td__buf_t resp;
  bool too_big;
  /* The result, written by the worker before the request goes back (error points to msg). */
  td_mail_response_t res;
  char msg[160];
} mail_req_t;

/* A socket curl opened on the worker (CURLOPT_OPENSOCKETFUNCTION) and has not closed yet. */
typedef struct open_sock {
  curl_socket_t fd;
  struct open_sock *next;
} open_sock_t;

typedef struct worker {
  uv_loop_t *loop;
  uv_async_t notify; /* results are waiting on done_head */
  pthread_t thread;
  CURLM *multi;         /* the worker's; the loop thread only wakes it (under lock, before stopping) */
  pthread_mutex_t lock; /* guards the members below */
  mail_req_t *todo_head, *todo_tail;
  mail_req_t *done_head, *done_tail;
  open_sock_t *socks;
  bool stopping;
  /* Loop thread only. */
  void (*on_closed)(void *data);
  void *closed_data;
} worker_t;

/* Loop thread only. One worker per process: created on the first transfer, gone after
 * td__mail_xfer_close (g_worker stays set, stopping, until its async handle has closed). */
static worker_t *g_worker;
static size_t g_active;
/* SMTP messages started per second at most (0: no limit); read by the worker when it starts. */
static double g_messages_per_second = TD_MAIL_DEFAULT_PER_SECOND;

void td__mail_xfer_configure(double messages_per_second) {
  g_messages_per_second = messages_per_second > 0 ? messages_per_second : 0;
}

size_t td__mail_xfer_active(void) { return g_active; }

/* --- the check --- */

/* A string that fits on one protocol line: no control characters, at most max bytes. */
static bool one_line(const char *s, size_t max) {
  size_t n = 0;
  for (; s[n]; n++) {
    unsigned char c = (unsigned char)s[n];
    if (c < 0x20 || c == 0x7f || n >= max) return false;
  }
  return true;
}

/* The scheme of url into scheme (lowercase), after curl's own parse; refuses credentials in the
 * URL (they belong in user/password, where they stay out of logs). */
static int check_url(const char *url, char scheme[8], char *why, size_t why_size) {
  if (!url || !*url || !one_line(url, MAX_URL)) {
    snprintf(why, why_size, "url must be an smtp://, smtps://, imap:// or imaps:// URL on one line");
    return TD_EINVAL;
  }
  CURLU *u = curl_url();
  if (!u) abort();
  char *s = NULL, *host = NULL, *user = NULL;
  int rc = TD_EINVAL;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
    snprintf(why, why_size, "url is not a valid URL with a host");
    goto out;
  }
  if (strcmp(s, "smtp") && strcmp(s, "smtps") && strcmp(s, "imap") && strcmp(s, "imaps")) {
    snprintf(why, why_size, "url must use smtp, smtps, imap or imaps");
    goto out;
  }
  if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
    snprintf(why, why_size, "url must not contain credentials: pass user and password instead");
    goto out;
  }
  snprintf(scheme, 8, "%s", s);
  rc = 0;
out:
  curl_free(s);
  curl_free(host);
  curl_free(user);
  curl_url_cleanup(u);
  return rc;
}

static int check_smtp(const td_mail_request_t *req, char *why, size_t why_size) {
  if (!req->mail_from || !one_line(req->mail_from, MAX_ADDRESS)) {
    snprintf(why, why_size, "mail_from must be an address of at most %d bytes on one line", MAX_ADDRESS);
    return TD_EINVAL;
  }
  if (req->rcpt_count == 0 || req->rcpt_count > TD_MAIL_MAX_RCPT || !req->rcpt) {
    snprintf(why, why_size, "rcpt must hold 1 to %d recipients", TD_MAIL_MAX_RCPT);
    return TD_EINVAL;
  }
  for (size_t i = 0; i < req->rcpt_count; i++) {
    if (!req->rcpt[i] || !*req->rcpt[i] || !one_line(req->rcpt[i], MAX_ADDRESS)) {
      snprintf(why, why_size, "rcpt[%zu] must be an address of at most %d bytes on one line", i, MAX_ADDRESS);
      return TD_EINVAL;
    }
  }
  if (!req->body || req->body_len == 0 || req->body_len > TD_MAIL_MAX_BODY) {
    snprintf(why, why_size, "body must hold 1 byte to %u bytes", TD_MAIL_MAX_BODY);
    return TD_EINVAL;
  }
  if (req->command) {
    snprintf(why, why_size, "command is for IMAP only");
    return TD_EINVAL;
  }
  return 0;
}

static int check_imap(const td_mail_request_t *req, char *why, size_t why_size) {
  if (req->mail_from || req->rcpt_count || req->body || req->body_len) {
    snprintf(why, why_size, "mail_from, rcpt and body are for SMTP only");
    return TD_EINVAL;
  }
  if (req->command && (!*req->command || !one_line(req->command, MAX_COMMAND))) {
    snprintf(why, why_size, "command must be one IMAP command line of at most %d bytes", MAX_COMMAND);
    return TD_EINVAL;
  }
  return 0;
}

int td__mail_check(const td_mail_request_t *req, char *why, size_t why_size) {
  char scheme[8];
  if (!req) {
    snprintf(why, why_size, "no request");
    return TD_EINVAL;
  }
  int rc = check_url(req->url, scheme, why, why_size);
  if (rc) return rc;
  if ((req->user && !one_line(req->user, MAX_CREDENTIAL)) ||
      (req->password && !one_line(req->password, MAX_CREDENTIAL))) {
    snprintf(why, why_size, "user and password must be at most %d bytes on one line", MAX_CREDENTIAL);
    return TD_EINVAL;
  }
  if (req->timeout_ms > TD_MAIL_MAX_TIMEOUT_MS || req->max_response_bytes > TD_MAIL_MAX_RESPONSE) {
    snprintf(why, why_size, "timeout_ms must be at most %u and max_response_bytes at most %u",
             TD_MAIL_MAX_TIMEOUT_MS, TD_MAIL_MAX_RESPONSE);
    return TD_EINVAL;
  }
  return strncmp(scheme, "smtp", 4) == 0 ? check_smtp(req, why, why_size) : check_imap(req, why, why_size);
}

/* --- the request: copied on the loop thread, freed there after its callback --- */

static char *dup_or_null(const char *s) { return s ? td__xstrdup(s) : NULL; }

static void req_free(mail_req_t *r) {
  if (r->easy) curl_easy_cleanup(r->easy);
  if (r->password) {
    /* The secret does not outlive the transfer in freed memory. */
    volatile char *p = r->password;
    while (*p) *p++ = 0;
  }
  free(r->url);
  free(r->user);
  free(r->password);
  free(r->mail_from);
  free(r->command);
  free(r->body);
  curl_slist_free_all(r->rcpt);
  td__buf_free(&r->resp);
  free(r);
}

static mail_req_t *req_copy(const td_mail_request_t *req, const char *scheme) {
  mail_req_t *r = td__xcalloc(1, sizeof *r);
  snprintf(r->scheme, sizeof r->scheme, "%s", scheme);
  r->smtp = strncmp(scheme, "smtp", 4) == 0;
  r->url = td__xstrdup(req->url);
  r->user = dup_or_null(req->user);
  r->password = dup_or_null(req->password);
  r->mail_from = dup_or_null(req->mail_from);
  r->command = dup_or_null(req->command);
  r->require_tls = req->require_tls;
  r->timeout_ms = req->timeout_ms ? req->timeout_ms : TD_MAIL_DEFAULT_TIMEOUT_MS;
  r->max_bytes = req->max_response_bytes ? req->max_response_bytes : TD_MAIL_DEFAULT_RESPONSE;
  if (r->smtp) {
    r->body = td__xmalloc(req->body_len);
    memcpy(r->body, req->body, req->body_len);
    r->body_len = req->body_len;
    for (size_t i = 0; i < req->rcpt_count; i++) {
      struct curl_slist *l = curl_slist_append(r->rcpt, req->rcpt[i]);
      if (!l) abort();
      r->rcpt = l;
    }
  }
  return r;
}

/* --- the transfer: worker thread --- */

/* CURLOPT_READFUNCTION: the message, as given (curl does the SMTP dot-stuffing). */
static size_t on_read(char *buf, size_t size, size_t n, void *userdata) {
  mail_req_t *r = userdata;
  size_t left = r->body_len - r->body_sent, room = size * n;
  size_t len = left < room ? left : room;
  memcpy(buf, r->body + r->body_sent, len);
  r->body_sent += len;
  return len;
}

/* CURLOPT_WRITEFUNCTION: IMAP's fetched message or the untagged lines of a command, up to the
 * cap; one byte more fails the transfer (CURLE_WRITE_ERROR). */
static size_t on_write(char *p, size_t size, size_t n, void *userdata) {
  mail_req_t *r = userdata;
  size_t len = size * n;
  if (len > r->max_bytes - r->resp.len) {
    r->too_big = true;
    return 0;
  }
  td__buf_append(&r->resp, p, len);
  return len;
}

/* CURLOPT_OPENSOCKETFUNCTION: curl's own socket(), remembered so that a stop can shut down
 * every connection, idle or busy, from the loop thread (see td__mail_xfer_close). */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
  worker_t *w = clientp;
  (void)purpose;
  int type = a->socktype;
#ifdef SOCK_CLOEXEC
  type |= SOCK_CLOEXEC;
#endif
  curl_socket_t fd = socket(a->family, type, a->protocol);
  if (fd == CURL_SOCKET_BAD) return fd;
  open_sock_t *s = td__xcalloc(1, sizeof *s);
  s->fd = fd;
  pthread_mutex_lock(&w->lock);
  s->next = w->socks;
  w->socks = s;
  if (w->stopping) shutdown(fd, SHUT_RDWR); /* opened after the stop's sweep */
  pthread_mutex_unlock(&w->lock);
  return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: forgets the socket before closing it, under the lock, so the
 * loop thread never shuts down a number the system has already given to someone else. */
static int on_close_socket(void *clientp, curl_socket_t fd) {
  worker_t *w = clientp;
  pthread_mutex_lock(&w->lock);
  for (open_sock_t **p = &w->socks; *p; p = &(*p)->next) {
    if ((*p)->fd == fd) {
      open_sock_t *s = *p;
      *p = s->next;
      free(s);
      break;
    }
  }
  int rc = close(fd);
  pthread_mutex_unlock(&w->lock);
  return rc;
}

/* Shuts down every socket curl holds; caller holds w->lock. */
static void shutdown_all_locked(worker_t *w) {
  for (open_sock_t *s = w->socks; s; s = s->next) shutdown(s->fd, SHUT_RDWR);
}

static void set_options(worker_t *w, mail_req_t *r, CURL *e) {
  curl_easy_setopt(e, CURLOPT_URL, r->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r);
  /* Only the URL's own scheme, and nothing to be redirected to. */
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, r->scheme);
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, r->scheme);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  /* smtp/imap: STARTTLS, required or when offered. With CURLUSESSL_TRY against a server that
   * offers none, the login goes in clear text: the admin chose a plain URL and no require_tls. */
  curl_easy_setopt(e, CURLOPT_USE_SSL, (long)(r->require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (r->user) curl_easy_setopt(e, CURLOPT_USERNAME, r->user);
  if (r->password) curl_easy_setopt(e, CURLOPT_PASSWORD, r->password);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   (long)(r->timeout_ms < CONNECT_TIMEOUT_MS ? r->timeout_ms : CONNECT_TIMEOUT_MS));
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, w);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, w);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  if (r->smtp) {
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, r->mail_from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, r->rcpt);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, r);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
  } else {
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_bytes);
    if (r->command) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->command);
  }
}

/* Whether retrying cannot help: SMTP 5xx, a refused login, a refused IMAP command or mailbox,
 * a response over the cap (it will be as large next time). */
static int is_permanent(const mail_req_t *r, CURLcode result, long code) {
  if (r->too_big || result == CURLE_FILESIZE_EXCEEDED || result == CURLE_LOGIN_DENIED) return 1;
  if (r->smtp) return code >= 500 && code < 600;
  return result == CURLE_QUOTE_ERROR || result == CURLE_REMOTE_FILE_NOT_FOUND ||
         result == CURLE_REMOTE_ACCESS_DENIED;
}

/* A message naming what happened, never the URL, the credentials or the server's text. */
static void describe(const mail_req_t *r, CURLcode result, long code, char *msg, size_t len) {
  long os = 0;
  if (r->too_big || result == CURLE_FILESIZE_EXCEEDED) {
    snprintf(msg, len, "response larger than %zu bytes", r->max_bytes);
  } else if (result == CURLE_ABORTED_BY_CALLBACK) {
    snprintf(msg, len, "cancelled");
  } else if (result == CURLE_OPERATION_TIMEDOUT) {
    snprintf(msg, len, "timed out after %u ms", r->timeout_ms);
  } else if (result == CURLE_COULDNT_CONNECT) {
    curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os);
    snprintf(msg, len, "%s", os == ECONNREFUSED ? "connection refused" : "could not connect");
  } else if (result == CURLE_COULDNT_RESOLVE_HOST) {
    snprintf(msg, len, "host not found");
  } else if (result == CURLE_LOGIN_DENIED) {
    snprintf(msg, len, "login refused by the server (code %ld)", code);
  } else if (result == CURLE_USE_SSL_FAILED) {
    snprintf(msg, len, "the server does not offer STARTTLS and require_tls is set");
  } else if (result == CURLE_PEER_FAILED_VERIFICATION || result == CURLE_SSL_CONNECT_ERROR ||
             result == CURLE_SSL_CACERT_BADFILE) {
    snprintf(msg, len, "TLS failed: %s", curl_easy_strerror(result));
  } else if (r->smtp && code >= 400) {
    snprintf(msg, len, "the server refused with code %ld (%s)", code,
             code >= 500 ? "permanent" : "temporary");
  } else if (result == CURLE_QUOTE_ERROR) {
    snprintf(msg, len, "the server refused the command");
  } else if (result == CURLE_FAILED_INIT) {
    snprintf(msg, len, "could not start the transfer");
  } else {
    snprintf(msg, len, "transfer failed: %s", curl_easy_strerror(result));
  }
}

/* Fills r->res from the outcome and frees the easy handle (which has left the multi handle).
 * CURLE_ABORTED_BY_CALLBACK stands for "cancelled by a stop". */
static void finish(mail_req_t *r, CURLcode result) {
  long code = 0;
  if (r->easy) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
  r->res.code = code;
  if (result == CURLE_OK && !r->too_big) {
    r->res.ok = 1;
    if (!r->smtp) {
      td__buf_append(&r->resp, "", 1); /* NUL-terminated for convenience, not counted */
      r->res.body = r->resp.data;
      r->res.body_len = r->resp.len - 1;
    }
  } else {
    r->res.permanent = result == CURLE_ABORTED_BY_CALLBACK ? 0 : is_permanent(r, result, code);
    describe(r, result, code, r->msg, sizeof r->msg);
    r->res.error = r->msg;
  }
  if (r->easy) curl_easy_cleanup(r->easy);
  r->easy = NULL;
}

/* Hands finished requests (a list linked by next) back to the loop thread. */
static void hand_back(worker_t *w, mail_req_t *head, mail_req_t *tail) {
  if (!head) return;
  pthread_mutex_lock(&w->lock);
  if (w->done_tail)
    w->done_tail->next = head;
  else
    w->done_head = head;
  w->done_tail = tail;
  pthread_mutex_unlock(&w->lock);
  uv_async_send(&w->notify);
}

typedef struct batch {
  mail_req_t *head, *tail;
} batch_t;

static void batch_add(batch_t *b, mail_req_t *r) {
  r->next = NULL;
  if (b->tail)
    b->tail->next = r;
  else
    b->head = r;
  b->tail = r;
}

static void run_link(mail_req_t **running, mail_req_t *r) {
  r->run_prev = NULL;
  r->run_next = *running;
  if (*running) (*running)->run_prev = r;
  *running = r;
}

static void run_unlink(mail_req_t **running, mail_req_t *r) {
  if (r->run_prev)
    r->run_prev->run_next = r->run_next;
  else
    *running = r->run_next;
  if (r->run_next) r->run_next->run_prev = r->run_prev;
  r->run_prev = r->run_next = NULL;
}

/* Puts a queued request on the multi handle, or finishes it at once when curl refuses it. */
static void begin(worker_t *w, mail_req_t *r, mail_req_t **running, batch_t *done) {
  r->easy = curl_easy_init();
  if (!r->easy) abort(); /* out of memory */
  set_options(w, r, r->easy);
  if (curl_multi_add_handle(w->multi, r->easy) != CURLM_OK) {
    finish(r, CURLE_FAILED_INIT);
    batch_add(done, r);
    return;
  }
  run_link(running, r);
}

/* Takes one transfer off the multi handle, finished with result. */
static void retire(worker_t *w, mail_req_t *r, CURLcode result, mail_req_t **running, batch_t *done) {
  /* After a failure curl may keep the connection for reuse although a reply is still due on it
   * (libcurl 7.88 does when the reply to the end of DATA times out): the next message would read
   * that late "250" as the answer to its own MAIL FROM. A socket shut down makes curl find the
   * connection dead and close it instead. ACTIVESOCKET is lost once the handle leaves. */
  if (result != CURLE_OK) {
    curl_socket_t kept = CURL_SOCKET_BAD;
    curl_easy_getinfo(r->easy, CURLINFO_ACTIVESOCKET, &kept);
    if (kept != CURL_SOCKET_BAD) shutdown(kept, SHUT_RDWR);
  }
  curl_multi_remove_handle(w->multi, r->easy);
  run_unlink(running, r);
  finish(r, result);
  batch_add(done, r);
}

/* Retires every transfer curl reports finished. During a stop a failure is a cancellation:
 * the stop shut its connection down. */
static void collect(worker_t *w, mail_req_t **running, batch_t *done) {
  pthread_mutex_lock(&w->lock);
  bool stopping = w->stopping;
  pthread_mutex_unlock(&w->lock);
  CURLMsg *msg;
  int left;
  /* One message at a time: removing a handle drops its queued messages. */
  while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    mail_req_t *r = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    CURLcode result = msg->data.result;
    if (stopping && result != CURLE_OK) result = CURLE_ABORTED_BY_CALLBACK;
    retire(w, r, result, running, done);
  }
}

/* The stop: every transfer still running or queued ends "cancelled". Their connections are
 * shut down first: libcurl 7.88 runs a removed SMTP upload's "done" step as if it had
 * succeeded, sending the end-of-data mark (a half-sent message would go out truncated) and
 * blocking for the reply; on a dead socket that step fails at once. */
static void cancel_all(worker_t *w, mail_req_t *todo, mail_req_t **running, batch_t *done) {
  pthread_mutex_lock(&w->lock);
  shutdown_all_locked(w);
  pthread_mutex_unlock(&w->lock);
  while (*running) retire(w, *running, CURLE_ABORTED_BY_CALLBACK, running, done);
  while (todo) {
    mail_req_t *next = todo->next;
    finish(todo, CURLE_ABORTED_BY_CALLBACK);
    batch_add(done, todo);
    todo = next;
  }
}

/* Appends the list todo to the FIFO from head to tail. */
static void fifo_append(mail_req_t **head, mail_req_t **tail, mail_req_t *todo) {
  if (!todo) return;
  if (*tail)
    (*tail)->next = todo;
  else
    *head = todo;
  for (*tail = todo; (*tail)->next;) *tail = (*tail)->next;
}

/* Begins the waiting requests the pace allows, in order: an SMTP message takes a token, an
 * IMAP command (small, and a reply may stop a sequence) never waits. Returns how long until
 * the next message may start (POLL_MS when none waits). */
static int begin_paced(worker_t *w, td__pace_t *pace, mail_req_t **head, mail_req_t **tail,
                       mail_req_t **running, batch_t *done) {
  mail_req_t **pp = head, *prev = NULL;
  uint64_t now = td__time_mono_ns();
  bool held = false;
  while (*pp) {
    mail_req_t *r = *pp;
    if (r->smtp && (held || !td__pace_take(pace, now))) {
      held = true; /* later messages keep their place behind this one */
      prev = r;
      pp = &r->next;
      continue;
    }
    *pp = r->next;
    if (*tail == r) *tail = prev;
    r->next = NULL;
    begin(w, r, running, done);
  }
  return held ? td__pace_wait_ms(pace, now) : POLL_MS;
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  pthread_setname_np(pthread_self(), "td-mail");
  /* Sending mail is background work: under CPU contention requests are answered first (a
   * burst of ten thousand messages must not double the API's latency). */
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), MAIL_THREAD_NICE);
  mail_req_t *running = NULL;
  mail_req_t *waiting = NULL, *waiting_tail = NULL; /* taken from todo, not begun: paced */
  td__pace_t pace;
  td__pace_init(&pace, g_messages_per_second, g_messages_per_second / PACE_BURSTS_PER_SECOND,
                td__time_mono_ns());
  for (;;) {
    batch_t done = {0};
    pthread_mutex_lock(&w->lock);
    fifo_append(&waiting, &waiting_tail, w->todo_head);
    w->todo_head = w->todo_tail = NULL;
    bool stopping = w->stopping;
    pthread_mutex_unlock(&w->lock);
    if (stopping) {
      cancel_all(w, waiting, &running, &done);
      hand_back(w, done.head, done.tail);
      break;
    }
    int wait_ms = begin_paced(w, &pace, &waiting, &waiting_tail, &running, &done);
    int still = 0;
    curl_multi_perform(w->multi, &still);
    collect(w, &running, &done);
    hand_back(w, done.head, done.tail);
    curl_multi_poll(w->multi, NULL, 0, wait_ms, NULL);
  }
  /* Cached connections close now; their sockets are shut down, so no QUIT waits for a reply. */
  curl_multi_cleanup(w->multi);
  while (w->socks) { /* none, unless curl skipped a close callback */
    open_sock_t *s = w->socks;
    w->socks = s->next;
    free(s);
  }
  return NULL;
}

/* --- the loop thread's side --- */

/* Runs the callback of every request the worker handed back. A callback may start transfers
 * (they queue) or even close (which delivers the rest itself). */
static void deliver(worker_t *w) {
  pthread_mutex_lock(&w->lock);
  mail_req_t *r = w->done_head;
  w->done_head = w->done_tail = NULL;
  pthread_mutex_unlock(&w->lock);
  while (r) {
    mail_req_t *next = r->next;
    g_active--;
    r->cb(&r->res, r->data);
    req_free(r);
    r = next;
  }
}

static void on_notify(uv_async_t *h) { deliver(h->data); }

static void free_data(uv_handle_t *h) { free(h->data); }

/* Creates the worker on loop: its multi handle, its async handle and its thread. */
static int worker_new(uv_loop_t *loop, worker_t **out) {
  worker_t *w = td__xcalloc(1, sizeof *w);
  w->loop = loop;
  w->multi = curl_multi_init();
  if (!w->multi) {
    free(w);
    return TD_ENOMEM;
  }
  pthread_mutex_init(&w->lock, NULL);
  if (uv_async_init(loop, &w->notify, on_notify) != 0) goto fail;
  w->notify.data = w;
  if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
    curl_multi_cleanup(w->multi);
    pthread_mutex_destroy(&w->lock);
    uv_close((uv_handle_t *)&w->notify, free_data); /* frees w */
    return TD_EIO;
  }
  *out = w;
  return 0;
fail:
  curl_multi_cleanup(w->multi);
  pthread_mutex_destroy(&w->lock);
  free(w);
  return TD_EIO;
}

int td__mail_xfer_start(td__net_t *net, const td_mail_request_t *req, td__mail_done_fn cb, void *data,
                        char *why, size_t why_size) {
  if (!net || !cb) {
    snprintf(why, why_size, "no client or no callback");
    return TD_EINVAL;
  }
  if (net->closing || (g_worker && g_worker->stopping)) {
    snprintf(why, why_size, "the server is stopping");
    return TD_EBUSY;
  }
  if (g_worker && g_worker->loop != net->loop) {
    snprintf(why, why_size, "mail transfers run on another loop");
    return TD_EBUSY;
  }
  int rc = td__mail_check(req, why, why_size);
  if (rc) return rc;
  if (!g_worker && worker_new(net->loop, &g_worker) != 0) {
    g_worker = NULL;
    snprintf(why, why_size, "could not start the mail thread");
    return TD_EIO;
  }
  char scheme[8];
  (void)check_url(req->url, scheme, why, why_size);
  mail_req_t *r = req_copy(req, scheme);
  r->cb = cb;
  r->data = data;
  worker_t *w = g_worker;
  pthread_mutex_lock(&w->lock);
  if (w->todo_tail)
    w->todo_tail->next = r;
  else
    w->todo_head = r;
  w->todo_tail = r;
  curl_multi_wakeup(w->multi);
  pthread_mutex_unlock(&w->lock);
  g_active++;
  return 0;
}

static void on_notify_closed(uv_handle_t *h) {
  worker_t *w = h->data;
  void (*cb)(void *) = w->on_closed;
  void *data = w->closed_data;
  pthread_mutex_destroy(&w->lock);
  free(w);
  g_worker = NULL;
  if (cb) cb(data);
}

void td__mail_xfer_close(void (*on_closed)(void *data), void *data) {
  worker_t *w = g_worker;
  if (!w) {
    if (on_closed) on_closed(data);
    return;
  }
  if (w->stopping) return; /* already closing */
  pthread_mutex_lock(&w->lock);
  w->stopping = true;
  /* Wakes the worker wherever it waits: in curl_multi_poll (the wakeup), or inside a curl call
   * that blocks on a server's reply (the shutdown makes that read fail at once). The wakeup is
   * the last one: the worker cleans the multi handle up only after it saw stopping. */
  shutdown_all_locked(w);
  curl_multi_wakeup(w->multi);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  deliver(w);
  w->on_closed = on_closed;
  w->closed_data = data;
  uv_close((uv_handle_t *)&w->notify, on_notify_closed);
}
