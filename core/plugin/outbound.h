/* Outbound HTTP for plugins: the host API's http_request, on the core's outbound client
 * (core/net: libcurl multi on the loop, SSRF guard, the admin's allow-list). Needs the
 * http.outbound permission. */
#ifndef TD_PLUGIN_OUTBOUND_H
#define TD_PLUGIN_OUTBOUND_H

#include "talentd/plugin.h"

#include <stddef.h>

int td__plugin_http_request(td_plugin_t *self, const td_http_request_t *request, td_http_done_fn done,
                            void *data);

int td__plugin_http_check_url(td_plugin_t *self, const char *url, char *why, size_t why_size);

#endif
