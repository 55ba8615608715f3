/* Configuration: a JSON file validated against schemas/config.json, plus --set overrides. */
#ifndef TD_UTIL_CONFIG_H
#define TD_UTIL_CONFIG_H

#include <jansson.h>

/* Loads path (NULL: empty config), applies each "key.path=value" of sets (value parsed as
 * JSON when it parses, else taken as a string), validates. Returns the config or NULL after
 * printing to stderr an error that names the key. */
json_t *td__config_load(const char *path, const char *const *sets, int set_count);
/* Integer at a dotted path, or fallback. */
long long td__config_int(const json_t *config, const char *path, long long fallback);
const char *td__config_str(const json_t *config, const char *path, const char *fallback);

#endif
