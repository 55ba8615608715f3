/* The host API's act: plugins acting on the core's records (applications, activities, tasks,
 * touches) through the domain layer, under the same rules as the REST API. */
#ifndef TD_PLUGIN_ACTIONS_H
#define TD_PLUGIN_ACTIONS_H

#include <stddef.h>

#include "talentd/plugin.h"

int td__plugin_act(td_tx_t *tx, const char *action, const json_t *args, json_t **result, char *why,
                   size_t why_size);

#endif
