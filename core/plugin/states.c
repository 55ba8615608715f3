/* Which plugins are enabled in a data directory (table plugin_states), and how a plugin is
 * described to admins (talentd plugin list|info, GET /api/v1/plugins). */
#include <string.h>

#include "plugin/host.h"
#include "util/time.h"

int td__plugins_read_states(td__plugins_t *ps, td__db_t *db) {
  td__stmt_t *st = td__db_stmt(db, "SELECT name FROM plugin_states WHERE enabled = 1");
  if (st == NULL) return TD_EIO;
  int rc;
  while ((rc = td__stmt_step(st)) == 1) {
    for (td_plugin_t *p = ps->first; p; p = p->next)
      if (strcmp(p->name, td__stmt_text(st, 0)) == 0) p->enabled = true;
  }
  return rc;
}

int td__plugins_set_enabled(td__plugins_t *ps, td__db_t *db, const char *name, bool enabled) {
  td_plugin_t *p = td__plugins_find(ps, name);
  if (p == NULL) return TD_ENOTFOUND;
  td__stmt_t *st = td__db_stmt(db,
                               "INSERT INTO plugin_states (name, enabled, updated_at) VALUES (?1, ?2, ?3) "
                               "ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, "
                               "updated_at = excluded.updated_at");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, name);
  td__stmt_bind_int(st, 2, enabled ? 1 : 0);
  td__stmt_bind_int(st, 3, td__time_now_ms());
  int rc = td__stmt_run(st);
  if (rc == 0) p->enabled = enabled;
  return rc;
}

static json_t *routes_json(const td_plugin_t *p) {
  json_t *routes = json_array();
  for (size_t i = 0; i < p->reg_count; i++) {
    const td__plugin_reg_t *r = &p->regs[i];
    if (r->kind == TD_REG_ROUTE)
      json_array_append_new(routes, json_pack("{s:s,s:s}", "method", r->method, "path", r->pattern));
  }
  return routes;
}

json_t *td__plugin_describe(const td_plugin_t *p) {
  const json_t *m = p->manifest;
  json_t *d = json_pack("{s:s,s:s?,s:s?,s:b,s:b,s:s,s:s?}", "name", p->name, "version", m ? p->version : NULL,
                        "description", json_string_value(json_object_get(m, "description")), "enabled",
                        p->enabled, "loaded", p->loaded, "trust", p->trust, "error", p->error);
  json_t *hooks = json_object_get(m, "hooks"), *perms = json_object_get(m, "permissions");
  json_object_set_new(d, "hooks", hooks ? json_deep_copy(hooks) : json_array());
  json_object_set_new(d, "permissions", perms ? json_deep_copy(perms) : json_array());
  json_object_set_new(d, "routes", routes_json(p));
  json_object_set_new(d, "directory", json_string(p->dir));
  return d;
}
