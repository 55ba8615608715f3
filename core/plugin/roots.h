/* Where a plugin's routes live. By default under /api/v1/plugins/<name>/. A manifest's
 * api_root makes them first-class API areas: `true` gives /api/v1/<name>/, a list of names
 * gives /api/v1/<root>/ for each (a CRM plugin serving /api/v1/pools and /api/v1/segments).
 * A root the core already serves, or one another plugin claimed, is refused at load. */
#ifndef TD_PLUGIN_ROOTS_H
#define TD_PLUGIN_ROOTS_H

#include <stdbool.h>
#include <stddef.h>

#include "plugin/host.h"

/* Sets p->route_base from p's manifest and checks its roots against the core's routes and,
 * with ps (at load), the plugins of ps already loaded. Returns 0, or TD_ECONFLICT with why. */
int td__plugin_roots_setup(td__plugins_t *ps, td_plugin_t *p, char *why, size_t why_size);

/* Whether path (a route path as the plugin registers it, below route_base) lies in one of
 * p's roots. Always true without a list of roots (route_base is the whole prefix then). */
bool td__plugin_route_in_roots(const td_plugin_t *p, const char *path);

/* Whether full (an OpenAPI path such as /api/v1/pools/{id}) lies under p's routes. */
bool td__plugin_path_in_roots(const td_plugin_t *p, const char *full);

#endif
