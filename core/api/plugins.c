/* /api/v1/plugins: the C plugins this server found, for admins: which are enabled in this
 * data directory, which loaded, where they came from (bundled, signed, unsigned) and why a
 * plugin did not load. The list is fixed after start-up, so reading it needs no lock. */
#include "api/app.h"
#include "api/routes.h"
#include "plugin/host.h"

static int plugins_list(td__call_t *call) {
  json_t *items = json_array();
  for (td_plugin_t *p = call->app->plugins ? call->app->plugins->first : NULL; p; p = p->next)
    json_array_append_new(items, td__plugin_describe(p));
  td__call_set_result(call, 200, json_pack("{s:o}", "data", items));
  return 0;
}

const td__route_t td__routes_plugins[] = {
    {"GET", "/api/v1/plugins", TD_RUN_READ, plugins_list, NULL, NULL, TD_ROUTE_ADMIN},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
