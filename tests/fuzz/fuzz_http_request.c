/* fuzz_http_request.c - libFuzzer target for the HTTP request path: arbitrary bytes through
 * the parser the server runs (core/http/parser.c: llhttp plus our checks and limits).
 *
 * The first input byte picks how the rest is cut into reads (0: one read; n: reads of n
 * bytes). Every input is parsed twice, in one read and cut, and the two must agree: the same
 * requests, in the same order, and the same verdict (refused or not) at the end. Each request
 * handed out must respect every limit and invariant the rest of talentd relies on. Small
 * limits make the fuzzer reach them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/parser.h"
#include "util/buf.h"

#define MAX_REQUESTS 64

typedef struct run {
  td__buf_t digest; /* every request handed out, serialised */
  int requests;
  int status; /* 0: still waiting for bytes or closed cleanly; else the refusal */
  int phase;  /* 0 idle, 1 head, 2 body: the order the phase hook must see */
} run_t;

static void must(int cond, const char *what) {
  if (!cond) {
    fprintf(stderr, "fuzz_http_request: invariant broken: %s\n", what);
    abort();
  }
}

static void on_phase(td__http_request_t *req, td__http_phase_t phase, void *owner) {
  run_t *run = owner;
  must(req != NULL, "phase hook gets the request");
  if (phase == TD_HTTP_PHASE_HEAD) {
    must(run->phase == 0, "a request starts only when the previous one is complete");
    run->phase = 1;
  } else {
    must(run->phase == 1, "the body phase follows the head phase");
    run->phase = 2;
  }
}

static size_t body_limit(const td__http_request_t *req, void *ctx) {
  (void)ctx;
  /* One route with a bigger limit, as uploads have. */
  return strcmp(req->path, "/upload") == 0 ? 8192 : 0;
}

static void check_request(const td__http_request_t *r, const td__http_limits_t *l, run_t *run) {
  must(run->phase == 2, "a request is complete only after its head was checked");
  run->phase = 0;
  must(r->method && r->target && r->path && r->path[0] == '/', "method, target and a path starting with /");
  must(strlen(r->target) <= l->max_url, "target within max_url");
  must(r->http_minor == 0 || r->http_minor == 1, "HTTP/1.0 or 1.1");
  must(r->header_count <= l->max_headers, "header count within max_headers");
  for (const char *c = r->target; *c; c++)
    must(*c > 0x20 && *c < 0x7f && *c != '#', "target is visible ASCII");
  int hosts = 0;
  for (size_t i = 0; i < r->header_count; i++) {
    const char *n = r->headers[i].name, *v = r->headers[i].value;
    must(*n != '\0', "header name not empty");
    for (const char *c = n; *c; c++)
      must(td__http_is_tchar((unsigned char)*c) && !(*c >= 'A' && *c <= 'Z'),
           "header name is a lower-case token");
    size_t vlen = strlen(v);
    must(strlen(n) + vlen <= l->max_header, "one field within max_header");
    must(td__http_field_value_ok(v, vlen), "header value has no control bytes");
    must(vlen == 0 || (v[vlen - 1] != ' ' && v[vlen - 1] != '\t'), "header value trimmed");
    if (strcmp(n, "host") == 0) hosts++;
  }
  must(hosts <= 1, "at most one Host");
  must(r->http_minor == 0 || hosts == 1, "HTTP/1.1 has a Host");
  size_t limit = strcmp(r->path, "/upload") == 0 ? 8192 : l->max_body;
  must(r->body.len <= limit, "body within its limit");
  td__buf_printf(&run->digest, "%s %s %d %zu|", r->method, r->target, r->http_minor, r->header_count);
  for (size_t i = 0; i < r->header_count; i++)
    td__buf_printf(&run->digest, "%s=%s|", r->headers[i].name, r->headers[i].value);
  td__buf_printf(&run->digest, "%zu:", r->body.len);
  td__buf_append(&run->digest, r->body.data, r->body.len);
  td__buf_printf(&run->digest, "|%d\n", r->close_after);
}

/* Parses data in reads of step bytes, the way the server feeds its parser. */
static void parse(const uint8_t *data, size_t size, size_t step, const td__http_limits_t *l, run_t *run) {
  td__http_parser_t p;
  td__http_parser_init(&p, l, body_limit, NULL, on_phase, run);
  bool stop = false;
  for (size_t off = 0; off < size && !stop;) {
    size_t n = size - off < step ? size - off : step;
    const char *chunk = (const char *)data + off;
    size_t done = 0;
    while (done < n) {
      size_t used = 0;
      td__http_request_t *req = NULL;
      const char *reason = NULL;
      int rc = td__http_parser_execute(&p, chunk + done, n - done, &used, &req, &reason);
      must(used <= n - done, "used within the input");
      done += used;
      if (rc == TD_HTTP_PARSE_MORE) {
        must(done == n, "MORE consumes everything");
        break;
      }
      if (rc == TD_HTTP_PARSE_REQUEST) {
        must(req != NULL, "a request is handed out");
        check_request(req, l, run);
        run->requests++;
        bool close = req->close_after;
        td__http_request_free(req);
        if (close || run->requests >= MAX_REQUESTS) {
          stop = true; /* the server parses nothing after such a request */
          break;
        }
        continue;
      }
      must(rc == 400 || rc == 413 || rc == 414 || rc == 417 || rc == 431 || rc == 501 || rc == 505,
           "a refusal is one of the statuses the server sends");
      must(reason != NULL && *reason != '\0', "a refusal says why");
      size_t again = 0;
      td__http_request_t *none = NULL;
      must(td__http_parser_execute(&p, chunk + done, n - done, &again, &none, &reason) == rc && none == NULL,
           "a failed parser stays failed");
      td__http_request_t *partial = td__http_parser_take(&p);
      td__http_request_free(partial);
      run->status = rc;
      stop = true;
      break;
    }
    off += n;
  }
  td__http_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t step = data[0] ? data[0] : SIZE_MAX;
  data++;
  size--;
  td__http_limits_t l;
  td__http_limits_default(&l);
  l.max_url = 128;
  l.max_header = 128;
  l.max_headers = 12;
  l.max_header_bytes = 512;
  l.max_body = 1024;
  run_t whole = {0}, cut = {0};
  parse(data, size, SIZE_MAX, &l, &whole);
  parse(data, size, step, &l, &cut);
  must(whole.requests == cut.requests, "the same number of requests however the input is cut");
  must(whole.digest.len == cut.digest.len &&
           (whole.digest.len == 0 || memcmp(whole.digest.data, cut.digest.data, whole.digest.len) == 0),
       "the same requests however the input is cut");
  must((whole.status == 0) == (cut.status == 0), "the same verdict however the input is cut");
  td__buf_free(&whole.digest);
  td__buf_free(&cut.digest);
  return 0;
}
