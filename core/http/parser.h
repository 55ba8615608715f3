/* The request parser: llhttp in its strict default mode plus every check llhttp 8.1 leaves to
 * us (ARCHITECTURE section 8, reliability-and-security section 2). It knows nothing of
 * sockets, so the server and the fuzzer (tests/fuzz/fuzz_http_request.c) run the same code.
 *
 * Usage: td__http_parser_init, then td__http_parser_execute on each run of bytes received,
 * in order, until it reports an error; td__http_parser_free at the end. */
#ifndef TD_HTTP_PARSER_H
#define TD_HTTP_PARSER_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

/* Where the request being parsed stands, reported to the phase hook (timers live there). */
typedef enum td__http_phase {
  TD_HTTP_PHASE_HEAD, /* the first byte of a request arrived */
  TD_HTTP_PHASE_BODY, /* its head is complete and valid; the body (if any) follows */
} td__http_phase_t;

typedef void (*td__http_phase_cb)(td__http_request_t *req, td__http_phase_t phase, void *owner);
/* Takes len body bytes of req (copying them: at is only valid during the call). */
typedef void (*td__http_body_data_cb)(td__http_request_t *req, const char *at, size_t len, void *owner);

/* What td__http_parser_execute reports besides an error status (400..505). */
enum {
  TD_HTTP_PARSE_MORE = 0,    /* every byte consumed; no complete request yet */
  TD_HTTP_PARSE_REQUEST = 1, /* one request complete; bytes after it were not consumed */
};

typedef struct td__http_parser {
  llhttp_t llhttp;
  const td__http_limits_t *limits; /* borrowed; outlives the parser */
  td__http_body_limit_cb body_limit;
  void *body_limit_ctx;
  td__http_phase_cb on_phase;
  void *owner;
  /* The body sink, set after td__http_parser_init (may stay NULL): the body bytes of a
   * request that chose td__http_body_to_file go there instead of req->body. */
  td__http_body_data_cb on_body_data;
  /* Private. */
  td__http_request_t *cur;  /* being parsed */
  td__http_request_t *done; /* complete, handed out by execute */
  td__buf_t field, value;   /* the header line being parsed */
  size_t head_bytes;        /* raw bytes of the current head, including blank lines before it */
  size_t trailer_bytes;     /* trailer field bytes (discarded, but bounded) */
  size_t trailer_fields;
  size_t extension_bytes; /* chunk-extension bytes of the current request */
  size_t request_body_limit;
  size_t body_bytes; /* body bytes of the current request so far, wherever they went */
  char version[8];   /* the version digits as sent, to tell 505 from 400 */
  size_t version_len;
  int status;         /* an error status chosen by a callback */
  const char *reason; /* static text saying why */
  bool in_body;       /* the head is complete: header callbacks now carry trailers */
  char tail[2];       /* the last two bytes consumed, to check the CRLF after chunk data */
  char lex_prev;      /* the byte before the next one the line check sees */
  int paused;         /* which callback paused llhttp (PAUSE_* in parser.c) */
  bool in_trailers;   /* between the last chunk and the end of the message */
  bool seen_host;
  bool failed;
} td__http_parser_t;

/* Prepares p. limits is borrowed and must outlive p. body_limit (may be NULL) picks the body
 * limit of a request once its head is in (0 = limits->max_body). on_phase (may be NULL) hears
 * when a request starts and when its head is complete; it must not call back into p. */
void td__http_parser_init(td__http_parser_t *p, const td__http_limits_t *limits,
                          td__http_body_limit_cb body_limit, void *body_limit_ctx, td__http_phase_cb on_phase,
                          void *owner);

/* Frees what p holds (a request half-parsed included). p can be initialised again. */
void td__http_parser_free(td__http_parser_t *p);

/* Parses up to len bytes. Sets *used to the bytes consumed. Returns:
 *  - TD_HTTP_PARSE_MORE: all len bytes consumed, waiting for more;
 *  - TD_HTTP_PARSE_REQUEST: a request is complete; *out takes it (the caller frees it with
 *    td__http_request_free); *used stops right after it, so the caller decides whether to go on
 *    (pipelining) or not (req->close_after);
 *  - an HTTP status (400, 413, 414, 417, 431, 501, 505) for a request that must be refused
 *    and the connection closed after the answer; *reason is a static sentence for the
 *    problem detail. After an error the parser stays failed: it never parses again. */
int td__http_parser_execute(td__http_parser_t *p, const char *data, size_t len, size_t *used,
                            td__http_request_t **out, const char **reason);

/* True between the first byte of a request and its completion. */
bool td__http_parser_busy(const td__http_parser_t *p);

/* Takes the half-parsed request (to answer it with an error), or NULL if none. */
td__http_request_t *td__http_parser_take(td__http_parser_t *p);

/* Helpers shared with the server (message.c). */
bool td__http_is_tchar(unsigned char c);
void td__http_request_free(td__http_request_t *r);

#endif
