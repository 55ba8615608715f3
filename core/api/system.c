/* Operational endpoints: /healthz, /metrics, /api/v1/openapi.json. */
#include <stdlib.h>

#include "api/app.h"
#include "api/routes.h"
#include "util/buf.h"
#include "util/metrics.h"
#include "util/mem.h"
#include "util/time.h"

static int healthz(td__call_t *call) {
  td__app_t *app = call->app;
  int status = app->stopping ? 503 : 200;
  td__call_set_result(
      call, status,
      json_pack("{s:s,s:s,s:I}", "status", app->stopping ? "stopping" : "ok", "version", TD_VERSION,
                "uptime_s", (json_int_t)((call->now_ms - app->started_ms) / 1000)));
  return 0;
}

static int metrics(td__call_t *call) {
  td__buf_t out = {0};
  td__metrics_render(&out);
  td__buf_printf(&out, "# TYPE td_http_connections gauge\ntd_http_connections %zu\n",
                 td__http_server_connections(call->app->http));
  td__buf_printf(&out, "# TYPE td_writer_pending gauge\ntd_writer_pending %zu\n",
                 td__writer_pending(call->app->writer));
  call->raw_len = out.len;
  call->raw_body = td__buf_take(&out);
  call->raw_type = "text/plain; version=0.0.4";
  call->status = 200;
  return 0;
}

/* Served from the text encoded once at start-up: encoding the 120 KB document per request
 * would hold the loop thread for milliseconds. */
static int openapi(td__call_t *call) {
  const td__app_t *app = call->app;
  call->raw_body = td__xstrndup(app->openapi_text, app->openapi_text_len);
  call->raw_len = app->openapi_text_len;
  call->raw_type = "application/json";
  call->status = 200;
  return 0;
}

const td__route_t td__routes_system[] = {
    {"GET", "/healthz", TD_RUN_LOOP, healthz, NULL, NULL, TD_ROUTE_PUBLIC},
    {"GET", "/metrics", TD_RUN_LOOP, metrics, NULL, NULL, TD_ROUTE_PUBLIC},
    {"GET", "/api/v1/openapi.json", TD_RUN_LOOP, openapi, NULL, NULL, TD_ROUTE_PUBLIC},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
