/* The ceiling for benchmarks: a bare libuv + llhttp server that answers every request with
 * a fixed 100-byte JSON body, keep-alive, nothing else. talentd's figures are reported as
 * ratios of this server's, measured in the same run on the same machine. */
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static const char response[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
    "Connection: keep-alive\r\n\r\n"
    "{\"id\":\"can_aaaaaaaaaaaaaaaaaaaaaaaaaa\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"ok\":"
    "true,\"n\":1234}";

typedef struct conn {
  uv_tcp_t tcp;
  llhttp_t parser;
} conn_t;

static llhttp_settings_t settings;

static void on_close(uv_handle_t *h) { free(h->data); }

static void on_write(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

static int on_message_complete(llhttp_t *p) {
  conn_t *c = p->data;
  uv_write_t *w = malloc(sizeof *w);
  uv_buf_t b = uv_buf_init((char *)response, sizeof response - 1);
  if (w == NULL || uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) free(w);
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  (void)h;
  (void)size;
  static char slab[65536];
  *buf = uv_buf_init(slab, sizeof slab);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn_t *c = s->data;
  if (n < 0 || (n > 0 && llhttp_execute(&c->parser, buf->base, (size_t)n) != HPE_OK)) {
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, on_close);
  }
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0) return;
  conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) return;
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_close);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  llhttp_init(&c->parser, HTTP_REQUEST, &settings);
  c->parser.data = c;
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv) {
  int port = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 18000;
  llhttp_settings_init(&settings);
  settings.on_message_complete = on_message_complete;
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  uv_tcp_init(loop, &server);
  if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) ||
      uv_listen((uv_stream_t *)&server, 1024, on_connection)) {
    fprintf(stderr, "bare_server: cannot listen on %d\n", port);
    return 1;
  }
  printf("bare_server listening on http://127.0.0.1:%d\n", port);
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
