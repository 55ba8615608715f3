/* Mail transfers (core/net/mail_xfer.c) without a real mail server: the request check refuses
 * what could smuggle a command or break a limit; against a refused port and a small SMTP server
 * of our own (a thread with blocking sockets, here): a refused connection is a temporary
 * failure, the loop keeps turning while the server takes its time to answer the end of DATA
 * (libcurl waits for that reply inside its own call: it must happen on the mail thread), and
 * td__mail_xfer_close finishes transfers in flight with "cancelled" at once, whatever they wait
 * for, without completing a half-sent message, and leaves the loop empty. The real SMTP and IMAP
 * exchanges are in tests/integration/test_mail_transport.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <uv.h>

#include "net/client.h"
#include "net/mail_xfer.h"
#include "talentd/types.h"

static const char *const k_rcpt[] = {"ana@example.test"};
static const char k_body[] = "Subject: x\r\n\r\nx\r\n";

static td_mail_request_t smtp_request(const char *url) {
  td_mail_request_t r = {0};
  r.url = url;
  r.mail_from = "jobs@example.test";
  r.rcpt = k_rcpt;
  r.rcpt_count = 1;
  r.body = k_body;
  r.body_len = sizeof k_body - 1;
  return r;
}

static int check(const td_mail_request_t *r, const char *expect_in_why) {
  char why[200] = "";
  int rc = td__mail_check(r, why, sizeof why);
  if (expect_in_why) assert_non_null(strstr(why, expect_in_why));
  return rc;
}

static void test_check_smtp(void **state) {
  (void)state;
  td_mail_request_t r = smtp_request("smtp://127.0.0.1:2525");
  assert_int_equal(check(&r, NULL), 0);
  r.url = "smtps://relay.example.test";
  assert_int_equal(check(&r, NULL), 0);
  r.mail_from = ""; /* the null sender of a bounce */
  assert_int_equal(check(&r, NULL), 0);

  r = smtp_request("http://127.0.0.1/");
  assert_int_equal(check(&r, "smtp, smtps, imap or imaps"), TD_EINVAL);
  r = smtp_request("smtp://mailer:secret@127.0.0.1/");
  assert_int_equal(check(&r, "credentials"), TD_EINVAL);
  r = smtp_request("smtp://127.0.0.1/");
  r.mail_from = "a@b>\r\nRCPT TO:<x@y";
  assert_int_equal(check(&r, "mail_from"), TD_EINVAL);
  const char *bad[] = {"ana@example.test", "x@y\nDATA"};
  r.mail_from = "a@b";
  r.rcpt = bad;
  r.rcpt_count = 2;
  assert_int_equal(check(&r, "rcpt[1]"), TD_EINVAL);
  r.rcpt_count = 101;
  assert_int_equal(check(&r, "1 to 100"), TD_EINVAL);
  r = smtp_request("smtp://127.0.0.1/");
  r.body_len = TD_MAIL_MAX_BODY + 1;
  assert_int_equal(check(&r, "body"), TD_EINVAL);
  r = smtp_request("smtp://127.0.0.1/");
  r.command = "NOOP";
  assert_int_equal(check(&r, "IMAP only"), TD_EINVAL);
  r = smtp_request("smtp://127.0.0.1/");
  r.password = "pw\r\nQUIT";
  assert_int_equal(check(&r, "one line"), TD_EINVAL);
  r = smtp_request("smtp://127.0.0.1/");
  r.timeout_ms = TD_MAIL_MAX_TIMEOUT_MS + 1;
  assert_int_equal(check(&r, "timeout_ms"), TD_EINVAL);
}

static void test_check_imap(void **state) {
  (void)state;
  td_mail_request_t r = {0};
  r.url = "imap://127.0.0.1:1143/INBOX";
  r.command = "UID SEARCH UID 5:*";
  assert_int_equal(check(&r, NULL), 0);
  r.url = "imaps://mail.example.test/INBOX;UID=7";
  r.command = NULL;
  assert_int_equal(check(&r, NULL), 0);
  r.command = "UID SEARCH ALL\r\nA9 DELETE INBOX";
  assert_int_equal(check(&r, "one IMAP command line"), TD_EINVAL);
  r.command = "";
  assert_int_equal(check(&r, "one IMAP command line"), TD_EINVAL);
  r.command = NULL;
  r.body = k_body;
  r.body_len = 3;
  assert_int_equal(check(&r, "SMTP only"), TD_EINVAL);
  assert_int_equal(check(NULL, "no request"), TD_EINVAL);
}

typedef struct outcome {
  int calls, ok, permanent;
  long code;
  char error[160];
} outcome_t;

static void on_done(const td_mail_response_t *res, void *data) {
  outcome_t *o = data;
  o->calls++;
  o->ok = res->ok;
  o->permanent = res->permanent;
  o->code = res->code;
  snprintf(o->error, sizeof o->error, "%s", res->error ? res->error : "");
}

static void on_closed(void *data) { (*(int *)data)++; }

/* A port nobody listens on (bound, then closed). */
static int closed_port(uv_loop_t *loop) {
  uv_tcp_t t;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(loop, &t);
  uv_tcp_bind(&t, (const struct sockaddr *)&a, 0);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getsockname(&t, (struct sockaddr *)&ss, &len);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void test_connection_refused_is_temporary(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  td__net_t *net = NULL;
  assert_int_equal(td__net_new(&loop, NULL, &net, NULL, 0), 0);
  char url[64], why[200];
  snprintf(url, sizeof url, "smtp://127.0.0.1:%d", closed_port(&loop));
  td_mail_request_t r = smtp_request(url);
  outcome_t o = {0};
  assert_int_equal(td__mail_xfer_start(net, &r, on_done, &o, why, sizeof why), 0);
  assert_int_equal(o.calls, 0); /* never from inside start */
  assert_int_equal(td__mail_xfer_active(), 1);
  while (o.calls == 0) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.ok, 0);
  assert_int_equal(o.permanent, 0);
  assert_string_equal(o.error, "connection refused");
  assert_int_equal(td__mail_xfer_active(), 0);
  int closed = 0;
  td__mail_xfer_close(on_closed, &closed);
  assert_int_equal(closed, 0); /* once the worker's handle has closed */
  td__net_close(net, on_closed, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 2);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* A server that accepts and never says a word: the transfer waits for its greeting. */
static void on_silent_conn(uv_stream_t *server, int status) {
  assert_int_equal(status, 0);
  uv_tcp_t *c = malloc(sizeof *c);
  uv_tcp_init(server->loop, c);
  assert_int_equal(uv_accept(server, (uv_stream_t *)c), 0);
  server->data = c;
}

static void free_handle(uv_handle_t *h) { free(h); }

static void test_close_cancels_in_flight(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_tcp_t listener;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(&loop, &listener);
  listener.data = NULL;
  uv_tcp_bind(&listener, (const struct sockaddr *)&a, 0);
  assert_int_equal(uv_listen((uv_stream_t *)&listener, 8, on_silent_conn), 0);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getsockname(&listener, (struct sockaddr *)&ss, &len);
  char url[64], why[200];
  snprintf(url, sizeof url, "smtp://127.0.0.1:%d", ntohs(((struct sockaddr_in *)&ss)->sin_port));

  td__net_t *net = NULL;
  assert_int_equal(td__net_new(&loop, NULL, &net, NULL, 0), 0);
  td_mail_request_t r = smtp_request(url);
  outcome_t o = {0};
  assert_int_equal(td__mail_xfer_start(net, &r, on_done, &o, why, sizeof why), 0);
  while (listener.data == NULL) uv_run(&loop, UV_RUN_ONCE); /* connected, waiting for 220 */
  int closed = 0;
  uint64_t t0 = uv_hrtime();
  td__mail_xfer_close(on_closed, &closed);
  /* libcurl would otherwise send the end-of-data mark and wait for a reply (up to 30 s). */
  assert_true(uv_hrtime() - t0 < 2000000000ull);
  assert_int_equal(o.calls, 1);
  assert_string_equal(o.error, "cancelled");
  assert_int_equal(o.permanent, 0);
  assert_int_equal(td__mail_xfer_start(net, &r, on_done, &o, why, sizeof why), TD_EBUSY);
  td__net_close(net, on_closed, &closed);
  uv_close((uv_handle_t *)listener.data, free_handle);
  uv_close((uv_handle_t *)&listener, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 2);
  assert_int_equal(o.calls, 1);
  assert_int_equal(td__mail_xfer_active(), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- a small SMTP server on its own threads (blocking sockets: it must not need the loop) --- */

enum { EOD_REPLY, EOD_SILENT, DATA_STALL };

typedef struct smtp_srv {
  int mode;     /* what to do at the end of DATA (or at DATA_STALL, right after 354) */
  int reply_ms; /* EOD_REPLY: wait this long before "250" */
  int listen_fd;
  int port;
  pthread_t acceptor;
  pthread_t conns[64];
  atomic_int nconns;
  atomic_int messages;  /* complete messages received (end of DATA seen) */
  atomic_int stopping;  /* the acceptor stops */
  atomic_int release;   /* DATA_STALL: start reading again */
  atomic_int stalled;   /* DATA_STALL: 354 sent, not reading */
  atomic_long tail_len; /* DATA_STALL: bytes read after 354 until EOF */
  atomic_int tail_eod;  /* DATA_STALL: whether they held an end-of-data mark */
  char last[256];       /* the last message (its first bytes), for a byte-exact check */
} smtp_srv_t;

typedef struct conn_arg {
  smtp_srv_t *srv;
  int fd;
} conn_arg_t;

static void say(int fd, const char *line) { (void)!send(fd, line, strlen(line), MSG_NOSIGNAL); }

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* DATA_STALL: stops reading after 354 until released, then reads to EOF and records the tail. */
static void stall_data(smtp_srv_t *srv, int fd) {
  atomic_store(&srv->stalled, 1);
  while (!atomic_load(&srv->release)) sleep_ms(5);
  char buf[65536];
  long total = 0;
  ssize_t n;
  char end[5] = {0};
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    total += n;
    for (ssize_t i = 0; i < n; i++) {
      memmove(end, end + 1, 4);
      end[4] = buf[i];
      if (memcmp(end, "\r\n.\r\n", 5) == 0) atomic_store(&srv->tail_eod, 1);
    }
  }
  atomic_store(&srv->tail_len, total);
}

/* One connection: the commands curl sends, one line each; DATA until "\r\n.\r\n". */
static void *serve_conn(void *arg) {
  conn_arg_t *c = arg;
  smtp_srv_t *srv = c->srv;
  int fd = c->fd;
  free(c);
  char buf[1 << 16];
  size_t len = 0;
  int in_data = 0;
  say(fd, "220 fake ESMTP\r\n");
  for (;;) {
    if (len == sizeof buf) len = 0; /* a long message: only its end matters */
    ssize_t n = read(fd, buf + len, sizeof buf - len);
    if (n <= 0) break;
    len += (size_t)n;
    for (;;) {
      if (in_data) {
        char *eod = memmem(buf, len, "\r\n.\r\n", 5);
        if (!eod) break;
        snprintf(srv->last, sizeof srv->last, "%.*s", (int)(eod + 2 - buf), buf);
        size_t used = (size_t)(eod + 5 - buf);
        memmove(buf, buf + used, len - used);
        len -= used;
        in_data = 0;
        atomic_fetch_add(&srv->messages, 1);
        if (srv->mode == EOD_SILENT) continue; /* never answers */
        sleep_ms(srv->reply_ms);
        say(fd, "250 queued\r\n");
        continue;
      }
      char *nl = memmem(buf, len, "\r\n", 2);
      if (!nl) break;
      size_t used = (size_t)(nl + 2 - buf);
      if (strncmp(buf, "EHLO", 4) == 0)
        say(fd, "250 fake\r\n");
      else if (strncmp(buf, "DATA", 4) == 0) {
        say(fd, "354 go ahead\r\n");
        in_data = 1;
        if (srv->mode == DATA_STALL) {
          stall_data(srv, fd);
          close(fd);
          return NULL;
        }
      } else if (strncmp(buf, "QUIT", 4) == 0)
        say(fd, "221 bye\r\n");
      else
        say(fd, "250 ok\r\n");
      memmove(buf, buf + used, len - used);
      len -= used;
    }
  }
  close(fd);
  return NULL;
}

static void *accept_loop(void *arg) {
  smtp_srv_t *srv = arg;
  while (!atomic_load(&srv->stopping)) {
    struct pollfd p = {srv->listen_fd, POLLIN, 0};
    if (poll(&p, 1, 20) != 1) continue;
    int fd = accept(srv->listen_fd, NULL, NULL);
    if (fd < 0) continue;
    conn_arg_t *c = malloc(sizeof *c);
    *c = (conn_arg_t){srv, fd};
    int i = atomic_fetch_add(&srv->nconns, 1);
    /* Not cmocka's asserts: they cannot leave from another thread. */
    if (i >= 64 || pthread_create(&srv->conns[i], NULL, serve_conn, c) != 0) abort();
  }
  return NULL;
}

static void srv_start(smtp_srv_t *srv, int mode, int reply_ms) {
  memset(srv, 0, sizeof *srv);
  srv->mode = mode;
  srv->reply_ms = reply_ms;
  srv->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(srv->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(srv->listen_fd, 32), 0);
  socklen_t len = sizeof a;
  getsockname(srv->listen_fd, (struct sockaddr *)&a, &len);
  srv->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&srv->acceptor, NULL, accept_loop, srv), 0);
}

/* After the client side is closed: every connection has seen EOF. */
static void srv_stop(smtp_srv_t *srv) {
  atomic_store(&srv->stopping, 1);
  atomic_store(&srv->release, 1);
  pthread_join(srv->acceptor, NULL);
  for (int i = 0; i < atomic_load(&srv->nconns); i++) pthread_join(srv->conns[i], NULL);
  close(srv->listen_fd);
}

/* A repeating timer that records the longest time the loop went without running it. */
typedef struct ticker {
  uv_timer_t timer;
  uint64_t last_ns, worst_ns;
} ticker_t;

static void on_tick(uv_timer_t *t) {
  ticker_t *k = (ticker_t *)t;
  uint64_t now = uv_hrtime();
  if (k->last_ns && now - k->last_ns > k->worst_ns) k->worst_ns = now - k->last_ns;
  k->last_ns = now;
}

static void ticker_start(uv_loop_t *loop, ticker_t *k) {
  memset(k, 0, sizeof *k);
  uv_timer_init(loop, &k->timer);
  uv_timer_start(&k->timer, on_tick, 5, 5);
}

static void test_loop_turns_while_the_server_answers_data(void **state) {
  (void)state;
  smtp_srv_t srv;
  srv_start(&srv, EOD_REPLY, 800);
  uv_loop_t loop;
  uv_loop_init(&loop);
  td__net_t *net = NULL;
  assert_int_equal(td__net_new(&loop, NULL, &net, NULL, 0), 0);
  ticker_t k;
  ticker_start(&loop, &k);
  char url[64], why[200];
  snprintf(url, sizeof url, "smtp://127.0.0.1:%d", srv.port);
  td_mail_request_t r = smtp_request(url);
  outcome_t o = {0};
  uint64_t t0 = uv_hrtime();
  assert_int_equal(td__mail_xfer_start(net, &r, on_done, &o, why, sizeof why), 0);
  while (o.calls == 0) uv_run(&loop, UV_RUN_ONCE);
  uint64_t took = uv_hrtime() - t0;
  assert_int_equal(o.ok, 1);
  assert_int_equal(o.code, 250);
  assert_true(took >= 800000000ull); /* it did wait for the reply */
  /* On the loop thread libcurl's wait for the reply stalled it ~800 ms. */
  assert_true(k.worst_ns < 200000000ull);
  assert_int_equal(atomic_load(&srv.messages), 1);
  assert_string_equal(srv.last, k_body);
  int closed = 0;
  td__mail_xfer_close(on_closed, &closed);
  td__net_close(net, on_closed, &closed);
  uv_close((uv_handle_t *)&k.timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 2);
  assert_int_equal(uv_loop_close(&loop), 0);
  srv_stop(&srv);
}

/* Runs the loop (kept awake by the ticker) until *flag is set. */
static void run_until(uv_loop_t *loop, atomic_int *flag) {
  uint64_t t0 = uv_hrtime();
  while (!atomic_load(flag)) {
    uv_run(loop, UV_RUN_ONCE);
    assert_true(uv_hrtime() - t0 < 10000000000ull);
  }
}

static void test_close_while_waiting_for_the_reply_to_data(void **state) {
  (void)state;
  smtp_srv_t srv;
  srv_start(&srv, EOD_SILENT, 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  td__net_t *net = NULL;
  assert_int_equal(td__net_new(&loop, NULL, &net, NULL, 0), 0);
  ticker_t k;
  ticker_start(&loop, &k);
  char url[64], why[200];
  snprintf(url, sizeof url, "smtp://127.0.0.1:%d", srv.port);
  td_mail_request_t r = smtp_request(url);
  outcome_t o = {0};
  assert_int_equal(td__mail_xfer_start(net, &r, on_done, &o, why, sizeof why), 0);
  run_until(&loop, &srv.messages); /* the worker is now inside curl, waiting for the reply */
  sleep_ms(50);
  int closed = 0;
  uint64_t t0 = uv_hrtime();
  td__mail_xfer_close(on_closed, &closed);
  assert_true(uv_hrtime() - t0 < 1000000000ull); /* not the 30 s timeout */
  assert_int_equal(o.calls, 1);
  assert_string_equal(o.error, "cancelled");
  assert_int_equal(o.permanent, 0);
  assert_int_equal(td__mail_xfer_active(), 0);
  td__net_close(net, on_closed, &closed);
  uv_close((uv_handle_t *)&k.timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 2);
  assert_int_equal(uv_loop_close(&loop), 0);
  srv_stop(&srv);
}

static void test_close_mid_message_sends_no_end_of_data(void **state) {
  (void)state;
  smtp_srv_t srv;
  srv_start(&srv, DATA_STALL, 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  td__net_t *net = NULL;
  assert_int_equal(td__net_new(&loop, NULL, &net, NULL, 0), 0);
  ticker_t k;
  ticker_start(&loop, &k);
  /* 8 MiB of "xxx...\r\n" lines: far more than the socket buffers hold while nobody reads. */
  size_t body_len = 8u * 1024u * 1024u;
  char *body = malloc(body_len);
  for (size_t i = 0; i < body_len; i++) body[i] = (i % 64 == 62) ? '\r' : (i % 64 == 63) ? '\n' : 'x';
  char url[64], why[200];
  snprintf(url, sizeof url, "smtp://127.0.0.1:%d", srv.port);
  td_mail_request_t r = smtp_request(url);
  r.body = body;
  r.body_len = body_len;
  outcome_t o = {0};
  assert_int_equal(td__mail_xfer_start(net, &r, on_done, &o, why, sizeof why), 0);
  free(body); /* copied */
  run_until(&loop, &srv.stalled);
  sleep_ms(200); /* the worker fills the buffers and waits to write more */
  int closed = 0;
  td__mail_xfer_close(on_closed, &closed);
  assert_int_equal(o.calls, 1);
  assert_string_equal(o.error, "cancelled");
  td__net_close(net, on_closed, &closed);
  uv_close((uv_handle_t *)&k.timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 2);
  assert_int_equal(uv_loop_close(&loop), 0);
  srv_stop(&srv);
  /* The server got part of the message and no end-of-data mark: it discards what it got. */
  assert_true(atomic_load(&srv.tail_len) < (long)body_len);
  assert_int_equal(atomic_load(&srv.tail_eod), 0);
}

/* A loop, an outbound client and an SMTP request for a test server that answers every DATA. */
typedef struct rig {
  smtp_srv_t srv;
  uv_loop_t loop;
  td__net_t *net;
  char url[64];
  td_mail_request_t r;
} rig_t;

static void rig_start(rig_t *g) {
  srv_start(&g->srv, EOD_REPLY, 0);
  uv_loop_init(&g->loop);
  g->net = NULL;
  assert_int_equal(td__net_new(&g->loop, NULL, &g->net, NULL, 0), 0);
  snprintf(g->url, sizeof g->url, "smtp://127.0.0.1:%d", g->srv.port);
  g->r = smtp_request(g->url);
}

/* Stops the mail thread and the client (both must report closed), then the server. */
static void rig_stop(rig_t *g) {
  int closed = 0;
  td__mail_xfer_close(on_closed, &closed);
  td__net_close(g->net, on_closed, &closed);
  uv_run(&g->loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 2);
  assert_int_equal(uv_loop_close(&g->loop), 0);
  srv_stop(&g->srv);
}

static void test_many_transfers_each_answered_once(void **state) {
  (void)state;
  rig_t g;
  rig_start(&g);
  char why[200];
  enum { N = 40 };
  outcome_t o[N];
  memset(o, 0, sizeof o);
  for (int i = 0; i < N; i++)
    assert_int_equal(td__mail_xfer_start(g.net, &g.r, on_done, &o[i], why, sizeof why), 0);
  assert_int_equal(td__mail_xfer_active(), N);
  while (td__mail_xfer_active() > 0) uv_run(&g.loop, UV_RUN_ONCE);
  for (int i = 0; i < N; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].ok, 1);
    assert_int_equal(o[i].code, 250);
  }
  assert_int_equal(atomic_load(&g.srv.messages), N);
  rig_stop(&g);
  for (int i = 0; i < N; i++) assert_int_equal(o[i].calls, 1);
}

/* mail.max_messages_per_second: 30 messages at 50/s (a bucket of one) cannot all be answered
 * before 29/50 s have passed; a stop cancels messages still waiting for their turn. */
static void test_messages_are_paced(void **state) {
  (void)state;
  rig_t g;
  rig_start(&g);
  char why[200];
  td__mail_xfer_configure(50); /* read by the worker this test starts */
  enum { N = 30, LATE = 200 };
  outcome_t o[N], late[LATE];
  memset(o, 0, sizeof o);
  memset(late, 0, sizeof late);
  uint64_t t0 = uv_hrtime();
  for (int i = 0; i < N; i++)
    assert_int_equal(td__mail_xfer_start(g.net, &g.r, on_done, &o[i], why, sizeof why), 0);
  while (td__mail_xfer_active() > 0) uv_run(&g.loop, UV_RUN_ONCE);
  double seconds = (double)(uv_hrtime() - t0) / 1e9;
  assert_true(seconds >= (N - 1) / 50.0 * 0.95);
  for (int i = 0; i < N; i++) assert_int_equal(o[i].ok, 1);
  assert_int_equal(atomic_load(&g.srv.messages), N);
  /* 200 more at 50/s: the stop comes long before most of them may start. */
  for (int i = 0; i < LATE; i++)
    assert_int_equal(td__mail_xfer_start(g.net, &g.r, on_done, &late[i], why, sizeof why), 0);
  rig_stop(&g);
  int cancelled = 0;
  for (int i = 0; i < LATE; i++) {
    assert_int_equal(late[i].calls, 1);
    if (!late[i].ok) cancelled++;
  }
  assert_true(cancelled > LATE / 2);
  assert_true(atomic_load(&g.srv.messages) < N + LATE / 2);
  td__mail_xfer_configure(TD_MAIL_DEFAULT_PER_SECOND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_smtp),
      cmocka_unit_test(test_check_imap),
      cmocka_unit_test(test_connection_refused_is_temporary),
      cmocka_unit_test(test_close_cancels_in_flight),
      cmocka_unit_test(test_loop_turns_while_the_server_answers_data),
      cmocka_unit_test(test_close_while_waiting_for_the_reply_to_data),
      cmocka_unit_test(test_close_mid_message_sends_no_end_of_data),
      cmocka_unit_test(test_many_transfers_each_answered_once),
      cmocka_unit_test(test_messages_are_paced),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
