/* The server.started event (server_started.h). */
#include "domain/server_started.h"

#include "domain/context.h"
#include "domain/events.h"
#include "store/migrate.h"
#include "talentd/types.h"
#include "util/id.h"

int td__server_started_emit(td__db_t *db, const json_t *plugin_names, int64_t now_ms) {
  json_t *plugins = json_array();
  size_t i;
  const json_t *name;
  json_array_foreach(plugin_names, i, name) {
    if (json_is_string(name)) json_array_append_new(plugins, json_string(json_string_value(name)));
  }
  json_t *data =
      json_pack("{s:s,s:i,s:o}", "version", TD_VERSION, "schema", td__migrate_latest(), "plugins", plugins);
  if (data == NULL) return TD_ENOMEM;
  char start_id[TD_ID_MAX];
  td__id_new("srv", start_id);
  td__ctx_t ctx = {.db = db, .actor_kind = "system", .now_ms = now_ms, .cause = "server.start"};
  ctx.principal.via = TD_VIA_SYSTEM;
  int rc = td__event_emit(&ctx, "server.started", "server", start_id, data);
  td__ctx_dispose(&ctx);
  return rc;
}
