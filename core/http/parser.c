/* HTTP/1.1 request parsing: llhttp (strict: no lenient flag is ever set) and the checks it
 * leaves to us. llhttp 8.1 as built here (default, non-"strict mode" build) accepts, and we
 * refuse: a bare LF ending the request line or the head, obs-fold, whitespace before the
 * colon, control bytes in field values and in the target, any two bytes (not only CRLF) after
 * chunk data, a bare LF ending the trailer section, Transfer-Encoding on HTTP/1.0; it merges
 * trailers like headers (we drop them) and bounds no size or count (we bound them all).
 *
 * llhttp is paused at the end of each head, chunk and message, so the head is checked as a
 * whole (with its exact size) before anything of the body is read, the raw line structure of
 * the head and trailers is checked byte by byte, and the caller gets one request at a time:
 * nothing after a request is parsed until the caller asks. */
#include "http/parser.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/mem.h"
#include "util/time.h"

/* Why llhttp paused. */
enum { PAUSE_NONE, PAUSE_HEAD, PAUSE_CHUNK_DATA, PAUSE_LAST_CHUNK, PAUSE_MESSAGE };

static td__http_parser_t *parser_of(llhttp_t *l) { return l->data; }

/* Records why the request is refused; the first reason wins. */
static int refuse(td__http_parser_t *p, int status, const char *reason) {
  if (p->status == 0) {
    p->status = status;
    p->reason = reason;
  }
  return HPE_USER;
}

/* ---------- request line ---------- */

static int on_message_begin(llhttp_t *l) {
  td__http_parser_t *p = parser_of(l);
  p->cur = td__xcalloc(1, sizeof *p->cur);
  p->cur->start_ns = td__time_mono_ns();
  p->version_len = 0;
  if (p->on_phase) p->on_phase(p->cur, TD_HTTP_PHASE_HEAD, p->owner);
  return 0;
}

static int on_url(llhttp_t *l, const char *at, size_t len) {
  td__http_parser_t *p = parser_of(l);
  td__http_request_t *r = p->cur;
  if (r->method == NULL) r->method = llhttp_method_name((llhttp_method_t)l->method);
  size_t have = r->target ? strlen(r->target) : 0;
  if (have + len > p->limits->max_url) return refuse(p, 414, "the request target is too long");
  /* Visible ASCII only: llhttp's default build lets HTAB, DEL and non-ASCII through. A
   * fragment is never sent by a client, so '#' is refused too. */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)at[i];
    if (c <= 0x20 || c >= 0x7f || c == '#') return refuse(p, 400, "invalid character in the request target");
  }
  r->target = td__xrealloc(r->target, have + len + 1);
  memcpy(r->target + have, at, len);
  r->target[have + len] = '\0';
  return 0;
}

static int on_version(llhttp_t *l, const char *at, size_t len) {
  td__http_parser_t *p = parser_of(l);
  size_t room = sizeof p->version - 1 - p->version_len;
  size_t n = len < room ? len : room;
  memcpy(p->version + p->version_len, at, n);
  p->version_len += n;
  p->version[p->version_len] = '\0';
  return 0;
}

/* ---------- header fields (and trailer fields, which are checked then dropped) ---------- */

static int add_field_bytes(td__http_parser_t *p, size_t len) {
  if (p->field.len + p->value.len + len > p->limits->max_header)
    return refuse(p, 431, "a header field is too large");
  if (p->in_body) {
    p->trailer_bytes += len;
    if (p->trailer_bytes > p->limits->max_header_bytes)
      return refuse(p, 431, "the trailer section is too large");
  }
  return 0;
}

static int on_header_field(llhttp_t *l, const char *at, size_t len) {
  td__http_parser_t *p = parser_of(l);
  int rc = add_field_bytes(p, len);
  if (rc) return rc;
  td__buf_append(&p->field, at, len);
  return 0;
}

static int on_header_value(llhttp_t *l, const char *at, size_t len) {
  td__http_parser_t *p = parser_of(l);
  int rc = add_field_bytes(p, len);
  if (rc) return rc;
  td__buf_append(&p->value, at, len);
  return 0;
}

/* Checks the completed field line; returns 0 or an HPE code. name/value stay in p. */
static int check_field(td__http_parser_t *p) {
  td__http_request_t *r = p->cur;
  if (r->header_count + p->trailer_fields >= p->limits->max_headers)
    return refuse(p, 431, "too many header fields");
  /* llhttp 8.1 keeps "Name : v" (space before the colon, RFC 9112 5.1: MUST reject) with
   * the space in the name. */
  if (p->field.len == 0) return refuse(p, 400, "empty header field name");
  for (size_t i = 0; i < p->field.len; i++)
    if (!td__http_is_tchar((unsigned char)p->field.data[i]))
      return refuse(p, 400, "invalid header field name");
  /* llhttp's default build lets control bytes other than NUL, CR and LF through. */
  if (!td__http_field_value_ok(p->value.data, p->value.len))
    return refuse(p, 400, "control character in a header field value");
  return 0;
}

static int on_header_value_complete(llhttp_t *l) {
  td__http_parser_t *p = parser_of(l);
  td__http_request_t *r = p->cur;
  int rc = check_field(p);
  if (rc) return rc;
  if (p->in_body) {
    /* RFC 9110 6.5.1: trailers must not be merged into the header section; a trailer
     * named Authorization must never authenticate a request. */
    p->trailer_fields++;
  } else {
    char *name = td__xstrndup(p->field.data, p->field.len);
    for (char *q = name; *q; q++)
      if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
    size_t vlen = p->value.len;
    while (vlen > 0 && (p->value.data[vlen - 1] == ' ' || p->value.data[vlen - 1] == '\t')) vlen--;
    if (strcmp(name, "host") == 0) {
      if (p->seen_host) {
        free(name);
        return refuse(p, 400, "more than one Host header");
      }
      p->seen_host = true;
    }
    r->headers = td__xrealloc(r->headers, (r->header_count + 1) * sizeof *r->headers);
    r->headers[r->header_count].name = name;
    r->headers[r->header_count].value = td__xstrndup(p->value.data ? p->value.data : "", vlen);
    r->header_count++;
  }
  td__buf_reset(&p->field);
  td__buf_reset(&p->value);
  return 0;
}

/* The head is in: stop here so execute can check it with its exact size first. */
static int on_headers_complete(llhttp_t *l) {
  td__http_parser_t *p = parser_of(l);
  p->in_body = true;
  p->paused = PAUSE_HEAD;
  return HPE_PAUSED;
}

/* ---------- body ---------- */

static int on_chunk_extension(llhttp_t *l, const char *at, size_t len) {
  (void)at;
  td__http_parser_t *p = parser_of(l);
  p->extension_bytes += len;
  if (p->extension_bytes > p->limits->max_header) return refuse(p, 400, "chunk extensions are too long");
  return 0;
}

/* A chunk that would cross the body limit is refused when it is announced, not once read.
 * The last chunk pauses: what follows it up to the end of the message is the trailer section,
 * whose lines execute checks like the head's. */
static int on_chunk_header(llhttp_t *l) {
  td__http_parser_t *p = parser_of(l);
  if (l->content_length > p->request_body_limit - p->body_bytes)
    return refuse(p, 413, "the request body is too large");
  if (l->content_length > 0) return 0;
  p->paused = PAUSE_LAST_CHUNK;
  return HPE_PAUSED;
}

/* After chunk data llhttp 8.1 skips two bytes without looking at them: pause so execute can
 * check they were CRLF. */
static int on_chunk_complete(llhttp_t *l) {
  td__http_parser_t *p = parser_of(l);
  if (p->in_trailers) return 0;
  p->paused = PAUSE_CHUNK_DATA;
  return HPE_PAUSED;
}

static int on_body(llhttp_t *l, const char *at, size_t len) {
  td__http_parser_t *p = parser_of(l);
  if (len > p->request_body_limit - p->body_bytes) return refuse(p, 413, "the request body is too large");
  p->body_bytes += len;
  if (p->cur->spool_dir && p->on_body_data)
    p->on_body_data(p->cur, at, len, p->owner);
  else
    td__buf_append(&p->cur->body, at, len);
  return 0;
}

static int on_message_complete(llhttp_t *l) {
  td__http_parser_t *p = parser_of(l);
  td__http_request_t *r = p->cur;
  /* An upgrade is not offered: the request is answered as a plain one, then the connection
   * closes (llhttp would treat what follows as another protocol). */
  if (!llhttp_should_keep_alive(l) || l->upgrade) r->close_after = true;
  p->done = r;
  p->cur = NULL;
  p->paused = PAUSE_MESSAGE;
  p->in_body = false;
  p->seen_host = false;
  p->head_bytes = p->trailer_bytes = p->trailer_fields = p->extension_bytes = p->body_bytes = 0;
  return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_version = on_version,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_chunk_extension_name = on_chunk_extension,
    .on_chunk_extension_value = on_chunk_extension,
    .on_chunk_header = on_chunk_header,
    .on_chunk_complete = on_chunk_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---------- the head as a whole ---------- */

/* Sets path and query from the target: origin-form "/p?q", or absolute-form
 * "http://authority/p?q", which RFC 9112 3.2.2 says a server MUST accept. */
static int split_target(td__http_parser_t *p, td__http_request_t *r) {
  const char *t = r->target;
  if (t == NULL) return refuse(p, 400, "missing request target");
  if (t[0] != '/') {
    size_t scheme = strncasecmp(t, "http://", 7) == 0 ? 7 : strncasecmp(t, "https://", 8) == 0 ? 8 : 0;
    if (scheme == 0) return refuse(p, 400, "the request target must be a path such as /api/v1/...");
    t += scheme;
    size_t authority = strcspn(t, "/?");
    if (authority == 0) return refuse(p, 400, "the request target has no authority");
    t += authority;
  }
  size_t path_len = strcspn(t, "?");
  r->path = path_len ? td__xstrndup(t, path_len) : td__xstrdup("/");
  r->query = t[path_len] == '?' ? td__xstrdup(t + path_len + 1) : NULL;
  return 0;
}

/* RFC 9112 6.3: a request whose Transfer-Encoding does not end in chunked has no reliable
 * length (400); a coding before chunked that we do not implement is 501 (6.1). llhttp has
 * already refused chunked twice and Transfer-Encoding together with Content-Length. */
static int check_transfer_coding(td__http_parser_t *p, const td__http_request_t *r) {
  uint64_t flags = p->llhttp.flags;
  if (!(flags & F_TRANSFER_ENCODING)) return 0;
  if (!(flags & F_CHUNKED)) return refuse(p, 400, "Transfer-Encoding must end with chunked");
  for (size_t i = 0; i < r->header_count; i++) {
    if (strcmp(r->headers[i].name, "transfer-encoding") != 0) continue;
    const char *v = r->headers[i].value;
    while (*v) {
      v += strspn(v, " \t,");
      size_t n = strcspn(v, ",");
      size_t end = n;
      while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t')) end--;
      if (end > 0 && !(end == 7 && strncasecmp(v, "chunked", 7) == 0))
        return refuse(p, 501, "only the chunked transfer coding is supported");
      v += n;
    }
  }
  return 0;
}

/* Expect: only 100-continue exists (RFC 9110 10.1.1: 417 otherwise); HTTP/1.0 ignores it. */
static int check_expect(td__http_parser_t *p, td__http_request_t *r) {
  if (p->llhttp.http_minor == 0) return 0;
  for (size_t i = 0; i < r->header_count; i++) {
    if (strcmp(r->headers[i].name, "expect") != 0) continue;
    if (strcasecmp(r->headers[i].value, "100-continue") != 0)
      return refuse(p, 417, "the only expectation supported is 100-continue");
    bool body = (p->llhttp.flags & F_CHUNKED) || p->llhttp.content_length > 0;
    if (body) r->expect_continue = true;
  }
  return 0;
}

/* Everything about a complete head; returns 0 or an HPE code with p->status set. */
static int check_head(td__http_parser_t *p) {
  llhttp_t *l = &p->llhttp;
  td__http_request_t *r = p->cur;
  if (l->http_major != 1 || l->http_minor > 1)
    return refuse(p, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
  if (l->http_minor == 1 && !p->seen_host) return refuse(p, 400, "an HTTP/1.1 request needs a Host header");
  /* RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing. */
  if (l->http_minor == 0 && (l->flags & F_TRANSFER_ENCODING))
    return refuse(p, 400, "Transfer-Encoding is not allowed in an HTTP/1.0 request");
  r->method = llhttp_method_name((llhttp_method_t)l->method);
  r->http_minor = l->http_minor;
  if (split_target(p, r) || check_transfer_coding(p, r)) return HPE_USER;
  size_t limit = p->body_limit ? p->body_limit(r, p->body_limit_ctx) : 0;
  p->request_body_limit = limit ? limit : p->limits->max_body;
  p->body_bytes = 0;
  if ((l->flags & F_CONTENT_LENGTH) && l->content_length > p->request_body_limit)
    return refuse(p, 413, "the request body is too large");
  /* No body, or nowhere to stream it: nothing to spool. */
  bool has_body = (l->flags & F_CHUNKED) || l->content_length > 0;
  if (!has_body || p->on_body_data == NULL) {
    free(r->spool_dir);
    r->spool_dir = NULL;
  }
  if (check_expect(p, r)) return HPE_USER;
  return 0;
}

/* ---------- public ---------- */

void td__http_parser_init(td__http_parser_t *p, const td__http_limits_t *limits,
                          td__http_body_limit_cb body_limit, void *body_limit_ctx, td__http_phase_cb on_phase,
                          void *owner) {
  *p = (td__http_parser_t){.limits = limits,
                           .body_limit = body_limit,
                           .body_limit_ctx = body_limit_ctx,
                           .on_phase = on_phase,
                           .owner = owner,
                           .lex_prev = '\n'};
  llhttp_init(&p->llhttp, HTTP_REQUEST, &settings);
  p->llhttp.data = p;
}

void td__http_parser_free(td__http_parser_t *p) {
  td__http_request_free(p->cur);
  td__http_request_free(p->done);
  td__buf_free(&p->field);
  td__buf_free(&p->value);
  p->cur = p->done = NULL;
}

bool td__http_parser_busy(const td__http_parser_t *p) { return p->cur != NULL; }

td__http_request_t *td__http_parser_take(td__http_parser_t *p) {
  td__http_request_t *r = p->cur;
  p->cur = NULL;
  return r;
}

/* The status for an error llhttp found (or a callback chose). */
static int error_status(td__http_parser_t *p, llhttp_errno_t err, const char *pos, const char *end) {
  if (p->status) return p->status; /* a callback's refusal, whatever code llhttp wraps it in */
  const char *epos = llhttp_get_error_pos(&p->llhttp);
  const char *v = p->version;
  switch (err) {
    case HPE_INVALID_METHOD:
      /* A well-formed token llhttp does not know is an unimplemented method; anything
       * else is garbage. */
      return epos >= pos && epos < end && td__http_is_tchar((unsigned char)*epos) ? 501 : 400;
    case HPE_INVALID_VERSION:
      /* "1.2" or "3.0" is a version we do not speak; "1.x", or "1.1" followed by junk, is
       * not a version at all. */
      return p->version_len == 3 && v[0] >= '0' && v[0] <= '9' && v[1] == '.' && v[2] >= '0' && v[2] <= '9' &&
                     !(v[0] == '1' && (v[2] == '0' || v[2] == '1'))
                 ? 505
                 : 400;
    case HPE_PAUSED_H2_UPGRADE: return 505; /* the HTTP/2 preface */
    default: return 400;
  }
}

/* The line structure of a head or a trailer section, which llhttp 8.1 checks only in part:
 * every CR is followed by LF, every LF follows a CR, and no line starts with whitespace
 * (obs-fold, RFC 9112 5.2; a folded Transfer-Encoding is a classic smuggling vector). */
static int check_lines(td__http_parser_t *p, const char *data, size_t len) {
  char prev = p->lex_prev;
  for (size_t i = 0; i < len; i++) {
    char c = data[i];
    if (prev == '\r' && c != '\n') return refuse(p, 400, "a bare CR in the request head");
    if (c == '\n' && prev != '\r')
      return refuse(p, 400, "a bare LF in the request head; lines end with CRLF");
    if (prev == '\n' && (c == ' ' || c == '\t'))
      return refuse(p, 400, "obsolete line folding is not accepted");
    prev = c;
  }
  p->lex_prev = prev;
  return 0;
}

/* Checks what llhttp just consumed (len bytes at data) and acts on why it paused. Returns 0
 * or HPE_USER with the refusal recorded. */
static int after_run(td__http_parser_t *p, const char *data, size_t len, bool in_head, bool in_trailers) {
  if (in_head) {
    p->head_bytes += len;
    if (p->head_bytes > p->limits->max_header_bytes) return refuse(p, 431, "the request head is too large");
  }
  if ((in_head || in_trailers) && check_lines(p, data, len)) return HPE_USER;
  if (len >= 2) {
    p->tail[0] = data[len - 2];
    p->tail[1] = data[len - 1];
  } else if (len == 1) {
    p->tail[0] = p->tail[1];
    p->tail[1] = data[0];
  }
  int paused = p->paused;
  p->paused = PAUSE_NONE;
  switch (paused) {
    case PAUSE_HEAD:
      if (check_head(p)) return HPE_USER;
      if (p->on_phase) p->on_phase(p->cur, TD_HTTP_PHASE_BODY, p->owner);
      break;
    case PAUSE_CHUNK_DATA:
      if (p->tail[0] != '\r' || p->tail[1] != '\n')
        return refuse(p, 400, "chunk data must be followed by CRLF");
      break;
    case PAUSE_LAST_CHUNK:
      p->in_trailers = true;
      p->lex_prev = '\n';
      break;
    case PAUSE_MESSAGE:
      p->in_trailers = false;
      p->lex_prev = '\n';
      break;
    default: break;
  }
  return 0;
}

int td__http_parser_execute(td__http_parser_t *p, const char *data, size_t len, size_t *used,
                            td__http_request_t **out, const char **reason) {
  *used = 0;
  *out = NULL;
  *reason = NULL;
  const char *pos = data, *end = data + len;
  /* After a pause llhttp must run once more, even on no bytes: a request without a body
   * completes only then. */
  bool resume = false;
  while (!p->failed) {
    size_t left = (size_t)(end - pos);
    if (left == 0 && !resume) {
      *used = len;
      return TD_HTTP_PARSE_MORE;
    }
    bool in_head = !p->in_body, in_trailers = p->in_trailers;
    llhttp_errno_t err = llhttp_execute(&p->llhttp, pos, left);
    if (err != HPE_OK && err != HPE_PAUSED) {
      p->status = error_status(p, err, pos, end);
      if (p->reason == NULL) p->reason = llhttp_get_error_reason(&p->llhttp);
      p->failed = true;
      break;
    }
    size_t consumed = err == HPE_OK ? left : (size_t)(llhttp_get_error_pos(&p->llhttp) - pos);
    resume = err == HPE_PAUSED;
    if (resume) llhttp_resume(&p->llhttp);
    if (after_run(p, pos, consumed, in_head, in_trailers) != 0) {
      p->failed = true;
      pos += consumed;
      break;
    }
    pos += consumed;
    if (p->done) {
      *out = p->done;
      p->done = NULL;
      *used = (size_t)(pos - data);
      return TD_HTTP_PARSE_REQUEST;
    }
  }
  *used = (size_t)(pos - data);
  *reason = p->reason ? p->reason : "malformed request";
  return p->status ? p->status : 400;
}
