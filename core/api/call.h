/* One API call as a handler sees it: decoded inputs, the principal, the connection of the
 * thread it runs on, and the response it builds. Handlers run on a reader thread (GET) or
 * inside the writer's batch transaction (writes); they never touch libuv or the network. */
#ifndef TD_API_CALL_H
#define TD_API_CALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/principal.h"
#include "http/http.h"
#include "store/db.h"
#include "store/reader.h"
#include "store/writer.h"
#include "util/buf.h"
#include "util/id.h"

#define TD_MAX_PARAMS 4
#define TD_PAGE_DEFAULT 50
#define TD_PAGE_MAX 100

typedef struct td__call td__call_t;
typedef struct td__app td__app_t;

/* A handler returns 0 after setting result/status, or sets a problem and returns nonzero
 * (the writer then rolls the call's savepoint back). */
typedef int (*td__handler_fn)(td__call_t *call);

typedef enum td__run_kind {
  TD_RUN_LOOP,           /* cheap, no database: runs on the loop thread */
  TD_RUN_READ,           /* on a reader thread with a read-only connection */
  TD_RUN_WRITE,          /* inside the writer's group-commit transaction */
  TD_RUN_READ_THEN_WRITE /* read (with slow work such as password hashing) then write */
} td__run_kind_t;

enum {
  TD_ROUTE_PUBLIC = 1 << 0,     /* no authentication */
  TD_ROUTE_UPLOAD = 1 << 1,     /* body up to the upload limit, not parsed as JSON */
  TD_ROUTE_ADMIN = 1 << 2,      /* admins only */
  TD_ROUTE_NO_AUDIT = 1 << 3,   /* a write that is not a change to audit (e.g. logout) */
  TD_ROUTE_AUDIT_READ = 1 << 4, /* a read worth an audit entry (bulk exports of personal data) */
  TD_ROUTE_AUTH_CHANGE =
      1 << 5, /* a write that changes who may sign in: drop cached credentials after commit */
  TD_ROUTE_FORM = 1 << 6, /* also takes an application/x-www-form-urlencoded body (at most 4 KiB),
                             decoded to an object of strings (the first value of each name) and
                             checked against the body schema like JSON: RFC 8058 one-click */
  TD_ROUTE_BACKGROUND = 1 << 7 /* a heavy read (a report): run on the low-priority background
                                  reader (store/reader.h), not the pool that serves requests */
};

typedef struct td__route {
  const char *method;
  const char *pattern; /* "/api/v1/candidates/{id}" */
  td__run_kind_t kind;
  td__handler_fn handler;       /* for READ_THEN_WRITE: the read part */
  td__handler_fn write_handler; /* for READ_THEN_WRITE: the write part */
  const char *body_schema;      /* name under components/schemas in openapi.json; NULL: no body */
  unsigned flags;
  const void *data; /* the handler's own (plugin routes); NULL for the core's */
  size_t max_body;  /* an upload route's own body limit when smaller than the upload limit (0: none) */
} td__route_t;

struct td__call {
  td__app_t *app;
  td__http_request_t *req; /* read-only off the loop thread */
  const td__route_t *route;
  char params[TD_MAX_PARAMS][256]; /* decoded path parameters in pattern order */
  int param_count;
  json_t *body;         /* validated request body, or NULL */
  json_t *query;        /* parsed query parameters (owned; see td__call_query) */
  char body_digest[65]; /* SHA-256 hex of a body kept in a file (uploads), or "" */
  td__principal_t principal;
  td__db_t *db;
  int64_t now_ms;
  char request_id[TD_ID_MAX];

  /* Response. */
  int status;
  json_t *result;  /* JSON body (owned) */
  json_t *problem; /* problem details (owned); wins over result */
  char *raw_body;  /* a non-JSON body (owned) */
  size_t raw_len;
  const char *raw_type;
  td__buf_t headers; /* extra header lines (td__http_header_add) */
  char *encoded;     /* result or problem encoded off the loop thread */
  size_t encoded_len;

  /* Audit: what the call changed, set by handlers of writes. */
  char audit_type[32];
  char audit_id[TD_ID_MAX];
  bool denied;

  /* Set by a write handler: runs on the loop thread after the call's transaction committed
   * (rc 0, no problem), before the response is sent (live changes that must follow the
   * stored state, e.g. script reloads). */
  void (*after_commit)(td__call_t *call);

  void *state; /* handler-owned between the read and write parts */
  void (*state_free)(void *);
  td__read_op_t read_op;
  td__write_op_t write_op;
};

/* --- problems (RFC 9457) --- */

/* Sets the call's problem: status, a short title, and a detail sentence saying what was
 * wrong and what to do. Returns TD_EINVAL so handlers can `return td__problem(...)`. */
int td__problem(td__call_t *call, int status, const char *title, const char *detail);
/* Adds {"pointer","message"} to the problem's errors (creating a 422 problem if none). */
int td__problem_field(td__call_t *call, const char *pointer, const char *message);
int td__problem_not_found(td__call_t *call, const char *what);
int td__problem_forbidden(td__call_t *call);
int td__problem_internal(td__call_t *call, int code);
/* Maps a TD_E* code from the domain to a problem. */
int td__problem_from_code(td__call_t *call, int code, const char *what);

/* --- inputs --- */

/* First value of a query parameter, percent-decoded into a call-owned string, or NULL. */
const char *td__call_query(td__call_t *call, const char *name);
/* Decodes application/x-www-form-urlencoded text (a query string or a form body) of size bytes
 * into `into`: each name maps to an array of its values (at most 100), '+' read as a space. */
void td__form_decode(const char *text, size_t size, json_t *into);
/* Every value of a repeated query parameter (a json array of strings, borrowed). */
json_t *td__call_query_all(td__call_t *call, const char *name);
/* Page size from ?limit= (default 50, at most 100) and the rowid after which to continue
 * from ?cursor=. Returns 0 or sets a 400 problem naming the parameter. */
int td__call_page(td__call_t *call, int *limit, int64_t *after);
/* Encodes a cursor that continues after rowid. Returns a new json string. */
json_t *td__cursor_json(int64_t rowid);

/* --- responses --- */

void td__call_set_result(td__call_t *call, int status, json_t *result /* taken */);
/* {"data": items, "next_cursor": cursor-or-null}; items and cursor are taken. */
void td__call_set_page(td__call_t *call, json_t *items, json_t *next_cursor);
/* Sets the ETag header for an object at version. */
void td__call_set_etag(td__call_t *call, int64_t version);
/* With If-Match present and not matching version: sets 412 and returns nonzero. */
int td__call_check_if_match(td__call_t *call, int64_t version);
/* Records what a write changed, for the audit entry. */
void td__call_audit(td__call_t *call, const char *object_type, const char *object_id);
/* Sets the Location header of a created object: "<collection>/<id>" (collection such as
 * "/api/v1/tasks"). */
void td__call_set_location(td__call_t *call, const char *collection, const char *id);

/* Decodes %XX (and '+' as a space when plus_is_space) into a new string; NULL when an
 * escape is malformed or decodes to NUL. */
char *td__percent_decode(const char *s, size_t n, bool plus_is_space);

/* The JSON body field as a string, or NULL. */
const char *td__body_str(td__call_t *call, const char *key);

/* --- the domain bridge --- */
#include "domain/context.h"

/* A domain context for this call: its connection, principal, time and request id. */
void td__call_ctx(td__call_t *call, td__ctx_t *ctx);
/* After a domain action: moves ctx's problem to the call (a 403 marks the call denied),
 * maps a bare error code to a 500/503, disposes ctx. Returns 0 only when rc was 0 and
 * nothing was refused. */
int td__call_from_ctx(td__call_t *call, td__ctx_t *ctx, int rc);

/* A 400 problem for a bad query parameter: detail "<name> <message>" and an error whose
 * pointer is /query/<name>. Returns TD_EINVAL. (td__fail_query raises it on a context.) */
int td__problem_query(td__call_t *call, const char *name, const char *message);
/* For a write after the lookup of the object it changes (rc from the lookup, version its
 * current version): a refusal or failure moves to the call (td__call_from_ctx); else
 * If-Match is checked (412). Returns 0 to go on, or nonzero with the problem set and ctx
 * disposed. */
int td__call_lookup_if_match(td__call_t *call, td__ctx_t *ctx, int rc, int64_t version);

/* One page of a list for td__call_list: up to limit items after the cursor position
 * `after` (rowid order, or whatever the function's order is), and in *next the position to
 * continue from, or 0 on the last page. Refuses through ctx (td__fail*). arg is borrowed. */
typedef int (*td__list_fn)(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items,
                           int64_t *next);
/* A list handler's whole body: the page from ?limit= and ?cursor= (400 when malformed), fn
 * on a context for this call, then {"data":[...],"next_cursor"} or fn's problem. Returns
 * 0 or TD_EINVAL with the problem set. */
int td__call_list(td__call_t *call, td__list_fn fn, void *arg);

/* A domain reader of one object by id: fills *out and *version, or refuses on ctx. */
typedef int (*td__get_fn)(td__ctx_t *ctx, const char *id, json_t **out, int64_t *version);
/* GET of one object by the route's first path parameter: 200 with the object and its
 * ETag, or the domain's problem. */
int td__call_get(td__call_t *call, td__get_fn fn);

#endif
