/* talentd public SDK: the C plugin ABI.
 *
 * A plugin is a shared object exporting ONE symbol, talentd_plugin_entry, that returns a
 * static descriptor. The host checks the descriptor's ABI major and size, then calls init
 * with a handle for the plugin and the host API table. Everything a plugin registers
 * (filters, event subscribers, routes, scheduled-run handlers) is registered inside init;
 * a registration made at any other time fails with TD_EDENIED and is logged.
 *
 * Compatibility rules (append only):
 *   - The host API table only grows: new members are added at the end, never removed,
 *     reordered or retyped. A plugin built against an older SDK sees a shorter table
 *     (td_host_api_t.struct_size) and keeps working. Test for a newer member with
 *     TD_HOST_HAS(api, member) before calling it.
 *   - Optional, versioned extensions are found by name with api->get_api(name, version)
 *     (NULL when the host does not offer that version).
 *   - TD_PLUGIN_ABI_MAJOR changes only for a break; the host refuses any other major.
 *
 * JSON values are jansson's json_t (libjansson 2.x, the same shared library the host uses;
 * link the plugin with pkg-config jansson). Ownership is stated per function: "borrowed"
 * means the host keeps it (json_incref to keep it longer), "stolen" means the host takes
 * the reference the plugin passes.
 *
 * Threads. Event subscribers, route handlers of kind TD_PLUGIN_ROUTE_LOOP, scheduled-run
 * handlers and completion callbacks run on the loop thread and must never block: start I/O
 * with the host (api->http_request, api->submit_write, api->submit_read) and complete later.
 * Filters and TD_PLUGIN_ROUTE_WRITE handlers run on the writer thread inside the write
 * transaction; TD_PLUGIN_ROUTE_READ handlers run on a reader thread. A callback that takes
 * longer than its budget (filters 25 ms, anything on the loop 10 ms) is logged with the
 * plugin's name. */
#ifndef TALENTD_PLUGIN_H
#define TALENTD_PLUGIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "talentd/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TD_PLUGIN_ABI_MAJOR 1
#define TD_PLUGIN_ENTRY_SYMBOL "talentd_plugin_entry"
#define TD_PLUGIN_ID_MAX 40 /* room for an id made by new_id, with its NUL */

/* Whether the host table passed to init has member m (it may come from an older host). */
#define TD_HOST_HAS(api, m) (offsetof(td_host_api_t, m) + sizeof((api)->m) <= (api)->struct_size)

typedef struct td_plugin td_plugin_t;   /* the host's handle for one loaded plugin */
typedef struct td_tx td_tx_t;           /* a database transaction, read-only or read-write */
typedef struct td_request td_request_t; /* one call of a plugin route */
typedef struct td_run td_run_t;         /* one scheduled run being handled */
typedef struct td_host_api td_host_api_t;

typedef struct td_plugin_descriptor {
  uint32_t abi_major;   /* TD_PLUGIN_ABI_MAJOR */
  uint32_t struct_size; /* sizeof(td_plugin_descriptor_t) */
  const char *name;     /* must equal the manifest's name */
  const char *version;  /* must equal the manifest's version */
  /* Registers everything the plugin offers. Returns 0, or a TD_E* code: the plugin is then
   * not loaded and nothing it registered takes effect. */
  int (*init)(td_plugin_t *self, const td_host_api_t *api);
  /* Called once at shutdown, on the loop thread, after the last callback (may be NULL). */
  void (*shutdown)(td_plugin_t *self);
} td_plugin_descriptor_t;

/* The one exported symbol. Build with -fvisibility=hidden and mark it TD_PLUGIN_EXPORT. */
#define TD_PLUGIN_EXPORT __attribute__((visibility("default")))
typedef const td_plugin_descriptor_t *(*td_plugin_entry_fn)(void);

typedef enum td_log_level { TD_LEVEL_DEBUG = 0, TD_LEVEL_INFO, TD_LEVEL_WARN, TD_LEVEL_ERROR } td_log_level_t;

/* ---- Callback types ------------------------------------------------------------------ */

typedef enum td_verdict { TD_VERDICT_ALLOW = 0, TD_VERDICT_MODIFIED = 1, TD_VERDICT_VETO = 2 } td_verdict_t;

/* A veto's reason for the API caller (one sentence, no personal data). */
typedef struct td_veto {
  char reason[256];
} td_veto_t;

/* A filter (`<noun>.before_<verb>`; the catalog in docs/hooks.md lists the payloads and the
 * members a filter may change). proposed is the filter's own copy: change it in place and
 * return TD_VERDICT_MODIFIED, or fill veto->reason and return TD_VERDICT_VETO. A negative
 * TD_E* code is a failure (skipped, or refused when registered fail-closed). tx is
 * read-only (api->query works, api->exec fails); no I/O. */
typedef int (*td_filter_fn)(td_tx_t *tx, const char *hook, json_t *proposed, void *data, td_veto_t *veto);

/* Completes one event delivery exactly once, now or later on the loop thread: rc 0 =
 * handled, a negative TD_E* code = failed (retried with backoff; repeated failures open the
 * subscriber's circuit breaker), TD_EPARTIAL = some of the subscriber's own targets failed
 * (retried, but the breaker is left alone: the subscriber itself works). error: a short
 * reason without personal data (copied; may be NULL). */
typedef void (*td_event_done_fn)(void *token, int rc, const char *error);
/* An event subscriber. envelope {id, type, version, occurred_at, actor, subject, data} is
 * borrowed until the callback returns. Delivery is at least once: deduplicate on "id". */
typedef void (*td_event_fn)(const json_t *envelope, td_event_done_fn done, void *token, void *data);

/* A route handler: read the request with api->request_*, answer with api->respond or
 * api->fail*. Returning nonzero without an answer gives a 500. For TD_PLUGIN_ROUTE_WRITE
 * a nonzero return or a failure rolls back everything the handler wrote. tx is NULL for
 * TD_PLUGIN_ROUTE_LOOP. */
typedef int (*td_route_fn)(td_request_t *req, td_tx_t *tx, void *data);

/* A scheduled-run handler: call api->run_finish(run, rc, error) exactly once, now or later
 * on the loop thread. */
typedef void (*td_run_fn)(td_run_t *run, void *data);

/* Work submitted to the writer thread (inside a transaction: return 0 to keep its changes,
 * nonzero to roll them back) or to a reader thread (read-only). done runs on the loop
 * thread with fn's return value, or TD_EIO when the commit failed. */
typedef int (*td_tx_fn)(td_tx_t *tx, void *data);
typedef void (*td_tx_done_fn)(void *data, int rc);

/* ---- Registration options -------------------------------------------------------------- */

enum {
  TD_FILTER_FAIL_CLOSED = 1 << 0 /* a failure of this filter refuses the action (503) */
};

typedef enum td_route_kind {
  TD_PLUGIN_ROUTE_LOOP = 0, /* on the loop thread, no database */
  TD_PLUGIN_ROUTE_READ,     /* on a reader thread with a read-only transaction */
  TD_PLUGIN_ROUTE_WRITE     /* in the writer's transaction; the answer is sent after commit */
} td_route_kind_t;

enum {
  TD_PLUGIN_ROUTE_ADMIN = 1 << 0,  /* admins only (the default: any signed-in user) */
  TD_PLUGIN_ROUTE_PUBLIC = 1 << 1, /* no authentication (e.g. an unsubscribe link) */
  TD_PLUGIN_ROUTE_QUERY = 1 << 2,  /* a POST that only reads (a search with a body, a preview):
                                      allowed with TD_PLUGIN_ROUTE_READ */
  TD_PLUGIN_ROUTE_FORM = 1 << 3,   /* also accepts an application/x-www-form-urlencoded body (at
                                      most 4 KiB), handed over as an object of strings and checked
                                      against body_schema: RFC 8058 one-click unsubscribe posts
                                      List-Unsubscribe=One-Click that way */
  TD_PLUGIN_ROUTE_BACKGROUND = 1 << 4 /* a TD_PLUGIN_ROUTE_READ handler that may take a second of
                                         CPU (a report): runs on the host's low-priority
                                         background reader, one at a time, so other requests keep
                                         their latency meanwhile */
};

typedef struct td_route_spec {
  const char *method;      /* "GET", "POST", "PATCH", "PUT", "DELETE" */
  const char *path;        /* under /api/v1/plugins/<name>: "/subscriptions/{id}" */
  td_route_kind_t kind;    /* where the handler runs */
  unsigned flags;          /* TD_PLUGIN_ROUTE_* */
  const char *body_schema; /* a schema name under components/schemas of the plugin's
                              openapi.json (validated before the handler runs), or NULL */
} td_route_spec_t;

/* ---- Outbound HTTP --------------------------------------------------------------------- */

typedef struct td_http_request {
  const char *method;         /* "POST" */
  const char *url;            /* https (http only for hosts the admin allows) */
  const char *const *headers; /* "Name: value" lines */
  size_t header_count;        /* */
  const void *body;           /* may be NULL */
  size_t body_len;            /* */
  uint32_t timeout_ms;        /* total; 0 = the default (10 s) */
  size_t max_response_bytes;  /* 0 = the default (64 KiB) */
} td_http_request_t;

typedef struct td_http_response {
  int status;        /* HTTP status, or 0 when the request failed */
  const char *body;  /* borrowed until the callback returns */
  size_t body_len;   /* */
  const char *error; /* why it failed (no personal data), or NULL */
} td_http_response_t;

typedef void (*td_http_done_fn)(const td_http_response_t *response, void *data);

/* ---- Mail (SMTP and IMAP through libcurl) ---------------------------------------------- */

/* One row of a query_rows scan (opaque). */
typedef struct td_row td_row_t;

typedef struct td_mail_request {
  const char *url;      /* smtp://, smtps://, imap://, imaps:// host[:port][/path]; for IMAP
                           the path selects the mailbox and message ("/INBOX;UID=7") */
  const char *user;     /* may be NULL (no authentication) */
  const char *password; /* may be NULL */
  int require_tls;      /* 1: smtp/imap must upgrade with STARTTLS (smtps/imaps always use
                           TLS); 0: STARTTLS when offered. Certificates are always verified. */
  /* SMTP: the envelope and the message (RFC 5322 bytes, CRLF line ends). */
  const char *mail_from;
  const char *const *rcpt;
  size_t rcpt_count;
  const void *body;
  size_t body_len;
  /* IMAP: a command for the selected mailbox ("UID SEARCH UID 1:*", "UID STORE 7 +FLAGS
     (\\Seen)"): the response body is its untagged lines. Or NULL to fetch the URL: that is how
     to read a message ("/INBOX;UID=7", or "/INBOX;UID=7;SECTION=HEADER" for its header), with
     its exact bytes as the body. Not a FETCH command: libcurl drops the contents of literals
     from a command's response, so "UID FETCH 7 BODY.PEEK[]" gives only "... BODY[] {40}". */
  const char *command;
  uint32_t timeout_ms;       /* total; 0 = the default (30 s) */
  size_t max_response_bytes; /* 0 = the default (1 MiB) */
} td_mail_request_t;

typedef struct td_mail_response {
  int ok;            /* 1 when the transfer completed */
  long code;         /* the server's last response code (SMTP 250, 550...; 0 when none) */
  int permanent;     /* 1 when the failure will not go away by retrying (SMTP 5xx, bad login) */
  const char *body;  /* IMAP: the untagged response lines or the fetched message (borrowed
                        until the callback returns); SMTP: NULL */
  size_t body_len;   /* */
  const char *error; /* why it failed (no personal data, no secrets), or NULL */
} td_mail_response_t;

typedef void (*td_mail_done_fn)(const td_mail_response_t *response, void *data);

/* ---- The host API table ---------------------------------------------------------------- */

struct td_host_api {
  uint32_t struct_size; /* of the host's table; see TD_HOST_HAS */
  uint32_t abi_major;
  const char *host_version;

  /* Optional extensions by name and version (NULL when not offered). */
  const void *(*get_api)(const char *name, int version);

  /* Logs a structured line tagged with the plugin. fields: a JSON object (stolen; may be
   * NULL). Never log personal data or secrets. */
  void (*log)(td_plugin_t *self, td_log_level_t level, const char *event, json_t *fields);
  /* The plugin's configuration: plugins.<name> of the server's config, validated against
   * the manifest's config_schema (borrowed; an empty object when not configured). */
  const json_t *(*config)(td_plugin_t *self);
  /* Milliseconds since the Unix epoch. */
  int64_t (*now_ms)(void);
  /* A new random id "<prefix>_<random>" (prefix: 2-8 lowercase letters) into out. */
  int (*new_id)(const char *prefix, char out[TD_PLUGIN_ID_MAX]);

  /* Registration: in init only (TD_EDENIED otherwise). Names are copied; data is borrowed
   * until shutdown. */
  int (*register_filter)(td_plugin_t *self, const char *hook, int priority, unsigned flags, td_filter_fn fn,
                         void *data);
  /* pattern: an event type, "prefix.*" or "*"; one subscription per (plugin, pattern). */
  int (*subscribe)(td_plugin_t *self, const char *pattern, int priority, td_event_fn fn, void *data);
  int (*register_route)(td_plugin_t *self, const td_route_spec_t *spec, td_route_fn fn, void *data);
  /* name: [a-z0-9_.:-]; it is prefixed with "<plugin>." in the scheduler. */
  int (*register_run_handler)(td_plugin_t *self, const char *name, td_run_fn fn, void *data);

  /* Database. SQL may write only the plugin's own tables (named "<plugin>_..."), created by
   * its migrations; anything else fails with TD_EDENIED when prepared. params: a JSON array
   * bound to ?1..?n (strings, integers, reals, booleans as 0/1, null), borrowed, may be
   * NULL. query returns the rows as an array of objects keyed by column name (at most
   * 10,000 rows, else TD_ELIMIT). exec reports the number of changed rows (may be NULL). */
  int (*query)(td_tx_t *tx, const char *sql, const json_t *params, json_t **rows);
  int (*exec)(td_tx_t *tx, const char *sql, const json_t *params, int64_t *changes);
  int (*submit_write)(td_plugin_t *self, td_tx_fn fn, td_tx_done_fn done, void *data);
  int (*submit_read)(td_plugin_t *self, td_tx_fn fn, td_tx_done_fn done, void *data);
  /* Schedules a run of one of the plugin's handlers (its short name) inside tx: at run_at_ms
   * when cron is NULL, else on the cron expression in time_zone (NULL: UTC). payload is
   * borrowed (an object or NULL). The new run's id goes to id_out (may be NULL). */
  int (*schedule)(td_tx_t *tx, const char *handler, int64_t run_at_ms, const char *cron,
                  const char *time_zone, const json_t *payload, char id_out[TD_PLUGIN_ID_MAX]);

  /* Requests. Path parameters in pattern order (NULL past the last); a query parameter
   * (NULL when absent); the validated JSON body (borrowed; NULL when none). */
  const char *(*request_param)(td_request_t *req, int index);
  const char *(*request_query)(td_request_t *req, const char *name);
  const json_t *(*request_body)(td_request_t *req);
  /* The caller: user id and role name ("admin", "recruiter", "hiring_manager",
   * "interviewer"), or NULL for a public route. */
  const char *(*request_user_id)(td_request_t *req);
  const char *(*request_role)(td_request_t *req);
  /* Answers with status and a JSON body (stolen; NULL for no body, e.g. 204). */
  void (*respond)(td_request_t *req, int status, json_t *body);
  /* Answers with an RFC 9457 problem; fail_field adds an error naming the field (a JSON
   * pointer into the body) and makes it a 422. Both return TD_EINVAL for `return`. */
  int (*fail)(td_request_t *req, int status, const char *title, const char *detail);
  int (*fail_field)(td_request_t *req, const char *pointer, const char *message);

  /* Scheduled runs. */
  const json_t *(*run_payload)(td_run_t *run);
  int (*run_attempt)(td_run_t *run);
  void (*run_finish)(td_run_t *run, int rc, const char *error);

  /* Outbound HTTP through the host's client (libcurl on the loop, SSRF guard on every
   * resolved address, the admin's allow-list, no redirects followed). Needs the http.outbound
   * permission. Returns 0 and then done runs exactly once, later, on the loop thread (also
   * for a refused URL or address, a timeout or a too-large response: status 0 and error
   * set); or, with done never called, TD_EDENIED (no permission), TD_EINVAL (bad arguments)
   * or TD_ELIMIT (too many requests pending). */
  int (*http_request)(td_plugin_t *self, const td_http_request_t *request, td_http_done_fn done, void *data);
  /* Checks a URL a user gave, as http_request will (scheme, form, and for an IP literal the
   * address rules; names are resolved and checked only when sending). Returns 0, or TD_EINVAL
   * with a sentence in why (for a 422 naming the field). */
  int (*http_check_url)(td_plugin_t *self, const char *url, char *why, size_t why_size);

  /* Runs the filters of a hook the core does not fire itself (email.before_send, fired by
   * whichever plugin sends email, or the plugin's own "<name>.before_<verb>") on proposed, in
   * tx (a write transaction: filters run on the writer thread). proposed is changed in place
   * with the members the hook lets filters change. Returns 0 to go on; TD_EDENIED when a
   * filter vetoed (its reason in reason); TD_EINVAL for a refused hook or a read-only tx, or
   * when a fail-closed filter failed (the reason says so). */
  int (*run_filter)(td_tx_t *tx, const char *hook, json_t *proposed, char *reason, size_t reason_size);

  /* Like query, without the row cap: calls row(object keyed by column name, borrowed for the
   * call; data) for each row in order; a nonzero return from row stops and is returned. For
   * reports over many rows (run it in a TD_PLUGIN_ROUTE_READ handler or submit_read). */
  int (*query_each)(td_tx_t *tx, const char *sql, const json_t *params,
                    int (*row)(const json_t *row, void *data), void *data);

  /* ---- Added in host 0.3 (check with TD_HOST_HAS) ---- */

  /* Answers with a non-JSON body (copied): content_type one of "text/csv", "image/svg+xml",
   * "text/plain", "text/html", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
   * "application/pdf", "application/octet-stream" (parameters given are dropped; charset=utf-8
   * is set on the text types);
   * filename (may be NULL) asks the client to save it: Content-Disposition: attachment.
   * Returns 0, or TD_EINVAL for another type, a bad filename or more than 64 MiB. */
  int (*respond_bytes)(td_request_t *req, int status, const char *content_type, const void *body, size_t len,
                       const char *filename);

  /* Acts on the core's records through the same domain rules as the REST API, inside tx (a
   * write transaction): as the caller in a route, else as the plugin (with an admin's
   * rights). Needs the "domain.write" permission. action and args (borrowed):
   *   "application.create" {"candidate_id","job_id","source"?,"stage_id"?,"credited_to"?}
   *                        -> the application, as GET /api/v1/applications/{id} gives it
   *   "activity.add"       {"candidate_id","kind","body"?,"data"?,"visibility"?,"application_id"?}
   *                        kind: note, email_in, email_out, call, meeting, system -> {"id"}
   *   "task.create"        the body of POST /api/v1/tasks -> the task
   *   "touch.record"       {"candidate_id","channel","source"?,"ref_type"?,"ref_id"?,"at"?}
   *                        channel: application, pool, sequence, referral, board, event -> {"id"}
   * Returns 0 with *result (a new reference; pass NULL when not wanted); or TD_EINVAL,
   * TD_ENOTFOUND, TD_EDENIED (permission or a filter's veto) or TD_ECONFLICT with the
   * refusal's detail in why. A refusal does not end the transaction: the plugin decides. */
  int (*act)(td_tx_t *tx, const char *action, const json_t *args, json_t **result, char *why, size_t why_size);

  /* Evaluates an admin-written Lua chunk in a fresh sandbox (the rules' sandbox: no I/O, a
   * 25 ms CPU budget, 4 MiB): the chunk receives vars (borrowed; a JSON object, may be NULL)
   * as its first argument (`local ctx = ...`) and its first return value becomes *result (a
   * new reference; null for nil). With result NULL the chunk is only compiled (to check it
   * when it is saved). Any thread. Returns 0, or TD_EINVAL (compile or run error, message in
   * why, naming the line) or TD_ELIMIT (budget), never crashing on what the chunk does. */
  int (*lua_eval)(td_plugin_t *self, const char *chunk, const json_t *vars, json_t **result, char *why,
                  size_t why_size);

  /* Mail transfers through the host's libcurl on its mail thread (SMTP submission and IMAP), for
   * URLs the admin configured. Needs the "net.mail" permission. Same contract as
   * http_request: 0 and then done exactly once later on the loop thread, or an error code
   * with done never called. SMTP messages start at the host's pace (mail.max_messages_per_second,
   * shared by every plugin): one may wait its turn before timeout_ms starts counting. */
  int (*mail_transfer)(td_plugin_t *self, const td_mail_request_t *request, td_mail_done_fn done, void *data);

  /* IANA time zones (the system's tz database), for sending windows and business days in a
   * person's zone. tz_offset: the offset east of UTC in seconds of zone at the instant
   * at_ms. tz_to_utc: the instant (ms) of the wall-clock time local_ms ("local epoch ms": the
   * wall clock read as if it were UTC) in zone; a skipped time gives the first instant after
   * the gap, a repeated one its first occurrence. Both return 0, or TD_EINVAL for an unknown
   * zone name. Thread-safe. */
  int (*tz_offset)(const char *zone, int64_t at_ms, int32_t *offset_seconds);
  int (*tz_to_utc)(const char *zone, int64_t local_ms, int64_t *at_ms);

  /* Emits an event the plugin owns (email.replied...) in tx, a write transaction: appended
   * to the outbox with the transaction and delivered after commit, at least once, to webhooks,
   * Lua rules and plugins like the core's events. type must be listed in the manifest's
   * "emits" and must not use a core noun (candidate., application., job., note., task. ...);
   * its payload is documented by schemas/events/<type>.json. data: an object (borrowed; NULL
   * for {}). Returns 0, TD_EDENIED (type not declared) or TD_EINVAL. */
  int (*emit)(td_tx_t *tx, const char *type, const char *subject_type, const char *subject_id, const json_t *data);

  /* Like query_each, for scans of millions of rows (reports): no JSON object per row; row
   * hands over the current row, read with the row_* accessors by 0-based column index
   * (row_int and row_real give 0 for NULL, row_text NULL; text is borrowed until the
   * callback returns). A nonzero return from row stops and is returned. */
  int (*query_rows)(td_tx_t *tx, const char *sql, const json_t *params,
                    int (*row)(const td_row_t *row, void *data), void *data);
  int64_t (*row_int)(const td_row_t *row, int column);
  double (*row_real)(const td_row_t *row, int column);
  const char *(*row_text)(const td_row_t *row, int column);
  int (*row_is_null)(const td_row_t *row, int column);

  /* A request header (case-insensitive name; NULL when absent), such as If-Match. */
  const char *(*request_header)(td_request_t *req, const char *name);
  /* Adds a response header: only ETag, Location, Cache-Control and Retry-After (values without
   * CR or LF, at most 512 bytes). Returns 0 or TD_EINVAL. */
  int (*respond_header)(td_request_t *req, const char *name, const char *value);

  /* Offers a table of functions to other plugins (in init only): get_api(name, version) finds
   * it once this plugin has loaded, NULL otherwise, so a consumer degrades cleanly when the
   * provider is absent. name: "<plugin>.<what>" (the sequences plugin offers "sequences.mail").
   * table is borrowed for the plugin's life. Returns 0, TD_EDENIED (after init, or a name
   * outside the plugin's prefix) or TD_ECONFLICT (offered twice). */
  int (*provide_api)(td_plugin_t *self, const char *name, int version, const void *table);

  /* The core's candidate-search sanitizer: a user's search text as a safe FTS5 MATCH
   * expression for the candidate_search table (every word quoted and ANDed, the last one a
   * prefix; at most 16 words), so a plugin finds whom GET /api/v1/candidates?q= finds. Returns
   * a malloc'd string (release with free), or NULL when the text has no word. */
  char *(*search_match)(const char *text);

  /* Runs fn(view, data) with a view of tx that belongs to self: the same transaction, under
   * self's storage rules and permissions. For the provider of an API (provide_api) called
   * with a consumer's transaction, so it writes its own tables inside the consumer's commit.
   * Returns fn's return value, or TD_EINVAL. */
  int (*tx_as)(td_tx_t *tx, td_plugin_t *self, td_tx_fn fn, void *data);

  /* Times the way the REST API writes and reads them. time_format writes epoch ms as RFC 3339
   * UTC with milliseconds ("2026-11-23T05:22:09.123Z"; out needs 32 bytes). time_parse reads
   * RFC 3339 ("Z" or "+hh:mm", optional fraction) or a plain "YYYY-MM-DD" (midnight UTC):
   * 0 with *ms, or TD_EINVAL. */
  void (*time_format)(int64_t ms, char out[32]);
  int (*time_parse)(const char *text, int64_t *ms);
};

#ifdef __cplusplus
}
#endif

#endif
