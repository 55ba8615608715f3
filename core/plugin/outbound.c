/* Outbound HTTP for plugins (see outbound.h): the host API's http_request and http_check_url
 * on the core's client, with the plugin's permission checked and its callback timed. */
#include "plugin/outbound.h"

#include <stdlib.h>

#include "net/client.h"
#include "net/ssrf.h"
#include "plugin/bridge.h"
#include "util/mem.h"
#include "util/time.h"

#define CALLBACK_BUDGET_MS 10

typedef struct pending {
  td_plugin_t *plugin;
  td_http_done_fn done;
  void *data;
} pending_t;

static void on_done(const td__net_response_t *res, void *arg) {
  pending_t *p = arg;
  td_http_response_t r = {res->rc == 0 ? (int)res->status : 0, res->body, res->body_len, res->error};
  uint64_t t0 = td__time_mono_ns();
  p->done(&r, p->data);
  td__plugin_note_duration(p->plugin, "http_response", "http_request", t0, CALLBACK_BUDGET_MS);
  free(p);
}

int td__plugin_http_request(td_plugin_t *self, const td_http_request_t *request, td_http_done_fn done,
                            void *data) {
  if (!td__plugin_has_permission(self, "http.outbound")) return TD_EDENIED;
  if (request == NULL || done == NULL) return TD_EINVAL;
  if (self->host->net == NULL) return TD_EBUSY;
  td__net_request_t nr = {.method = request->method,
                          .url = request->url,
                          .headers = request->headers,
                          .headers_len = request->header_count,
                          .body = request->body,
                          .body_len = request->body_len,
                          .timeout_ms = request->timeout_ms,
                          .max_response_bytes = request->max_response_bytes};
  pending_t *p = td__xcalloc(1, sizeof *p);
  *p = (pending_t){self, done, data};
  int rc = td__net_request(self->host->net, &nr, on_done, p);
  if (rc) free(p);
  return rc;
}

int td__plugin_http_check_url(td_plugin_t *self, const char *url, char *why, size_t why_size) {
  if (url == NULL || self->host->policy == NULL) {
    snprintf(why, why_size, "is not a URL");
    return TD_EINVAL;
  }
  td__ssrf_target_t target = {0};
  int rc = td__ssrf_check_url(self->host->policy, url, &target, why, why_size);
  td__ssrf_target_clear(&target);
  return rc ? TD_EINVAL : 0;
}
