/* Route roots of plugins (see roots.h). */
#include "plugin/roots.h"

#include <stdio.h>
#include <string.h>

#include "api/app.h"

static const json_t *root_list(const td_plugin_t *p) {
  const json_t *r = json_object_get(p->manifest, "api_root");
  return json_is_array(r) ? r : NULL;
}

/* Whether path is "/<root>" or starts with "/<root>/". */
static bool under(const char *path, const char *root) {
  size_t n = strlen(root);
  return path[0] == '/' && strncmp(path + 1, root, n) == 0 && (path[n + 1] == '\0' || path[n + 1] == '/');
}

static bool claimed_by_other(const td__plugins_t *ps, const td_plugin_t *p, const char *root) {
  for (const td_plugin_t *o = ps->first; o; o = o->next) {
    if (o == p || !o->loaded || o->manifest == NULL) continue;
    const json_t *list = root_list(o);
    size_t i;
    json_t *v;
    if (list == NULL && json_is_true(json_object_get(o->manifest, "api_root")) && strcmp(o->name, root) == 0)
      return true;
    json_array_foreach(list, i, v) if (strcmp(json_string_value(v), root) == 0) return true;
  }
  return false;
}

static int check_root(td__plugins_t *ps, td_plugin_t *p, const char *root, char *why, size_t why_size) {
  char prefix[96];
  snprintf(prefix, sizeof prefix, "/api/v1/%s", root);
  if (strcmp(root, "plugins") == 0 || td__routes_core_has_prefix(prefix)) {
    snprintf(why, why_size, "api_root: the core already serves %s", prefix);
    return TD_ECONFLICT;
  }
  if (ps && claimed_by_other(ps, p, root)) {
    snprintf(why, why_size, "api_root: another plugin already serves %s", prefix);
    return TD_ECONFLICT;
  }
  return 0;
}

int td__plugin_roots_setup(td__plugins_t *ps, td_plugin_t *p, char *why, size_t why_size) {
  const json_t *list = root_list(p);
  if (list) {
    snprintf(p->route_base, sizeof p->route_base, "/api/v1");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
      int rc = check_root(ps, p, json_string_value(v), why, why_size);
      if (rc) return rc;
    }
    return 0;
  }
  bool root = json_is_true(json_object_get(p->manifest, "api_root"));
  snprintf(p->route_base, sizeof p->route_base, root ? "/api/v1/%s" : "/api/v1/plugins/%s", p->name);
  return root ? check_root(ps, p, p->name, why, why_size) : 0;
}

bool td__plugin_route_in_roots(const td_plugin_t *p, const char *path) {
  const json_t *list = root_list(p);
  if (list == NULL) return true;
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) if (under(path, json_string_value(v))) return true;
  return false;
}

bool td__plugin_path_in_roots(const td_plugin_t *p, const char *full) {
  size_t n = strlen(p->route_base);
  if (strncmp(full, p->route_base, n) != 0 || full[n] != '/') return false;
  return td__plugin_route_in_roots(p, full + n);
}
