/* libcurl multi driven by libuv: the socket and timer callbacks (see curl_uv.h). */
#include "net/curl_uv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "talentd/types.h"
#include "util/mem.h"

/* One socket curl asked us to watch. Linked into the glue so close can find stragglers. */
typedef struct sock {
  uv_poll_t poll;
  curl_socket_t fd;
  td__curl_uv_t *g;
  struct sock *prev, *next;
} sock_t;

struct td__curl_uv {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  sock_t *socks;
  td__curl_xfer_t *xfers; /* added and not yet finished or removed */
  bool closing;
  int pending_closes; /* handles whose close callback has not run yet */
  void (*on_closed)(void *data);
  void *closed_data;
};

static void maybe_finish_close(td__curl_uv_t *g) {
  if (!g->closing || g->pending_closes > 0) return;
  void (*cb)(void *) = g->on_closed;
  void *data = g->closed_data;
  free(g);
  if (cb) cb(data);
}

static void on_sock_closed(uv_handle_t *h) {
  sock_t *s = h->data;
  td__curl_uv_t *g = s->g;
  free(s);
  g->pending_closes--;
  maybe_finish_close(g);
}

static void sock_close(td__curl_uv_t *g, sock_t *s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    g->socks = s->next;
  if (s->next) s->next->prev = s->prev;
  g->pending_closes++;
  uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void xfer_unlink(td__curl_uv_t *g, td__curl_xfer_t *x) {
  if (x->prev)
    x->prev->next = x->next;
  else if (g->xfers == x)
    g->xfers = x->next;
  else
    return; /* not linked */
  if (x->next) x->next->prev = x->prev;
  x->prev = x->next = NULL;
}

/* Reports every finished transfer. One message at a time: a done callback may remove other
 * handles, and curl drops their queued messages when it does. */
static void check_done(td__curl_uv_t *g) {
  CURLMsg *msg;
  int left;
  while (!g->closing && (msg = curl_multi_info_read(g->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL *easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    td__curl_xfer_t *xfer = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&xfer);
    curl_multi_remove_handle(g->multi, easy);
    if (xfer) xfer_unlink(g, xfer);
    if (xfer && xfer->done) xfer->done(xfer, result);
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  sock_t *s = h->data;
  td__curl_uv_t *g = s->g;
  int flags = 0;
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
  int running = 0;
  curl_multi_socket_action(g->multi, s->fd, flags, &running);
  check_done(g);
}

static void on_timer(uv_timer_t *t) {
  td__curl_uv_t *g = t->data;
  int running = 0;
  curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(g);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching one socket. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  td__curl_uv_t *g = userp;
  sock_t *s = socketp;
  td__curl_xfer_t *xfer = NULL;
  if (easy) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&xfer);
  if (xfer) {
    if (what != CURL_POLL_REMOVE)
      xfer->socket = fd;
    else if (xfer->socket == fd)
      xfer->socket = CURL_SOCKET_BAD;
  }
  if (what == CURL_POLL_REMOVE) {
    if (s) {
      uv_poll_stop(&s->poll);
      sock_close(g, s);
      curl_multi_assign(g->multi, fd, NULL);
    }
    return 0;
  }
  if (g->closing) return 0;
  if (!s) {
    s = td__xcalloc(1, sizeof *s);
    if (uv_poll_init_socket(g->loop, &s->poll, fd) != 0) {
      free(s);
      return -1; /* curl fails the transfer */
    }
    s->fd = fd;
    s->g = g;
    s->poll.data = s;
    s->next = g->socks;
    if (g->socks) g->socks->prev = s;
    g->socks = s;
    curl_multi_assign(g->multi, fd, s);
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  return uv_poll_start(&s->poll, events, on_poll) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: curl wants socket_action(TIMEOUT) after timeout_ms (-1: never).
 * Never call curl from here (curl forbids it): a 0 ms timer fires on the next loop turn. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  (void)multi;
  td__curl_uv_t *g = userp;
  if (timeout_ms < 0)
    uv_timer_stop(&g->timer);
  else
    uv_timer_start(&g->timer, on_timer, (uint64_t)timeout_ms, 0);
  return 0;
}

int td__curl_uv_new(uv_loop_t *loop, td__curl_uv_t **out) {
  if (!loop || !out) return TD_EINVAL;
  td__curl_uv_t *g = td__xcalloc(1, sizeof *g);
  g->loop = loop;
  g->multi = curl_multi_init();
  if (!g->multi) {
    free(g);
    return TD_ENOMEM;
  }
  if (uv_timer_init(loop, &g->timer) != 0) {
    curl_multi_cleanup(g->multi);
    free(g);
    return TD_EIO;
  }
  g->timer.data = g;
  curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g);
  curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g);
  *out = g;
  return 0;
}

CURLM *td__curl_uv_multi(td__curl_uv_t *g) { return g->multi; }

int td__curl_uv_add(td__curl_uv_t *g, td__curl_xfer_t *xfer) {
  if (!g || g->closing || !xfer || !xfer->easy) return TD_EINVAL;
  curl_easy_setopt(xfer->easy, CURLOPT_PRIVATE, (void *)xfer);
  xfer->socket = CURL_SOCKET_BAD;
  if (curl_multi_add_handle(g->multi, xfer->easy) != CURLM_OK) return TD_EIO;
  xfer->prev = NULL;
  xfer->next = g->xfers;
  if (g->xfers) g->xfers->prev = xfer;
  g->xfers = xfer;
  return 0;
}

void td__curl_uv_remove(td__curl_uv_t *g, td__curl_xfer_t *xfer) {
  if (!g || !xfer || !xfer->easy || !g->multi) return;
  curl_multi_remove_handle(g->multi, xfer->easy);
  xfer_unlink(g, xfer);
}

static void on_timer_closed(uv_handle_t *h) {
  td__curl_uv_t *g = h->data;
  g->pending_closes--;
  maybe_finish_close(g);
}

void td__curl_uv_close(td__curl_uv_t *g, void (*on_closed)(void *data), void *data) {
  if (!g || g->closing) return;
  g->closing = true;
  g->on_closed = on_closed;
  g->closed_data = data;
  /* Transfers their owners did not remove: finished as aborted, before the multi handle goes.
   * Their connection is shut down first: libcurl 7.88 runs a removed SMTP upload's "done" step
   * as if it had succeeded, sending the end-of-data mark (a half-sent message would go out
   * truncated) and blocking for the reply up to the transfer's timeout. On a dead socket that
   * step fails at once. */
  while (g->xfers) {
    td__curl_xfer_t *x = g->xfers;
    if (x->socket != CURL_SOCKET_BAD) shutdown(x->socket, SHUT_RDWR);
    xfer_unlink(g, x);
    curl_multi_remove_handle(g->multi, x->easy);
    if (x->done) x->done(x, CURLE_ABORTED_BY_CALLBACK);
  }
  /* Close our poll handles before curl closes the cached connections' sockets, and forget
   * them so the REMOVE calls made during cleanup find nothing to close twice. */
  while (g->socks) {
    sock_t *s = g->socks;
    curl_multi_assign(g->multi, s->fd, NULL);
    uv_poll_stop(&s->poll);
    sock_close(g, s);
  }
  curl_multi_cleanup(g->multi);
  g->multi = NULL;
  uv_timer_stop(&g->timer);
  g->pending_closes++;
  uv_close((uv_handle_t *)&g->timer, on_timer_closed);
}
