/* The running server: loop, writer, HTTP listener, routes, configuration. */
#ifndef TD_API_APP_H
#define TD_API_APP_H

#include <jansson.h>
#include <uv.h>

#include "api/call.h"
#include "auth/ratelimit.h"
#include "http/http.h"
#include "store/writer.h"

struct td__app {
  uv_loop_t *loop;
  td__writer_t *writer;
  struct td__sched *sched;
  struct td__delivery *delivery;
  struct td__checkpointer *checkpointer;
  struct td__plugins *plugins;
  struct td__net *net;                     /* outbound HTTP (closed at stop) */
  struct td__ssrf_policy *outbound_policy; /* its rules, for checking URLs users give */
  td__http_server_t *http;
  char *data_dir;
  char *db_path;
  json_t *config;  /* validated configuration (owned) */
  json_t *openapi; /* the API description, also the source of request body schemas (owned) */
  char *openapi_text; /* the same, encoded once for GET /api/v1/openapi.json (owned) */
  size_t openapi_text_len;
  td__http_limits_t limits;
  size_t upload_limit;
  td__ratelimit_t *login_limits;
  int64_t started_ms;
  uv_timer_t lag_timer;
  uint64_t lag_expected_ns;
  uv_signal_t sig_term, sig_int;
  uv_timer_t stop_timer;
  uv_timer_t housekeeping_timer;
  td__write_op_t housekeeping_op;
  bool housekeeping_busy;
  bool stopping;
  bool drained; /* HTTP has drained during a stop */
  int exit_code;
};

/* Serves until SIGTERM/SIGINT. config is taken. Returns the process exit code. */
int td__app_serve(json_t *config);

/* Routes: the table and lookup. The table is built on first use from the core's tables and
 * the routes added before (td__routes_add, at start-up only: TD_EDENIED once built). */
const td__route_t *td__routes(size_t *count);
int td__routes_add(const td__route_t *route);
/* Whether a core route lives at prefix or below it (for plugins asking for an API root). */
bool td__routes_core_has_prefix(const char *prefix);
/* Finds the route for method and path; fills params. Returns 0, TD_ENOTFOUND, or
 * TD_EDENIED when the path exists for other methods (then *allow lists them). */
int td__route_match(const char *method, const char *path, const td__route_t **route, td__call_t *call,
                    char *allow, size_t allow_size);

/* The dispatcher the HTTP server calls for every request. */
void td__dispatch(td__http_request_t *req, void *ctx);
size_t td__dispatch_body_limit(const td__http_request_t *req, void *ctx);

#endif
