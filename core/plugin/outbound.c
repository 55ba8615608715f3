/* Outbound HTTP for plugins (see outbound.h). */
#include "plugin/outbound.h"

#include "plugin/host.h"
#include "util/log.h"

int td__plugin_http_request(td_plugin_t *self, const td_http_request_t *request, td_http_done_fn done,
                            void *data) {
  (void)request;
  (void)done;
  (void)data;
  if (!td__plugin_has_permission(self, "http.outbound")) return TD_EDENIED;
  return TD_EBUSY; /* wired to core/net next */
}
