/* webhooks: outbound webhooks as a plugin (see README.md). Admins register endpoints with the
 * event types they want; every matching event is POSTed to them, signed the Standard
 * Webhooks way, through the host's outbound client (SSRF guard, per-destination cap). */
#include "webhooks.h"

const td_host_api_t *wh_api;
td_plugin_t *wh_self;

static int init(td_plugin_t *self, const td_host_api_t *api) {
  if (!TD_HOST_HAS(api, http_check_url)) return TD_EINVAL; /* needs a host with URL checks */
  wh_api = api;
  wh_self = self;
  int rc = wh_register_routes();
  return rc ? rc : api->subscribe(self, "*", 0, wh_on_event, NULL);
}

static void shutdown_plugin(td_plugin_t *self) {
  (void)self;
  wh_sender_shutdown();
}

static const td_plugin_descriptor_t descriptor = {
    TD_PLUGIN_ABI_MAJOR, sizeof(td_plugin_descriptor_t), "webhooks", "1.0.0", init, shutdown_plugin};

TD_PLUGIN_EXPORT const td_plugin_descriptor_t *talentd_plugin_entry(void);
const td_plugin_descriptor_t *talentd_plugin_entry(void) { return &descriptor; }
