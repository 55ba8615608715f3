/* Replaying recorded events through a script without committing anything (dry_run.h). */
#include "lua/dry_run.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "domain/event_feed.h"
#include "hooks/events.h"
#include "lua/manager.h"
#include "lua/package.h"
#include "lua/script_file.h"
#include "store/db.h"
#include "talentd/types.h"
#include "util/time.h"

/* The role of the manifest header (default recruiter; a malformed header loads nothing,
 * like the server would refuse it). */
static int manifest_role(const char *src, size_t len, td__role_t *role, FILE *out) {
  td__script_manifest_t m;
  char *error = NULL;
  if (td__script_manifest_parse(src, len, &m, &error) != 0) {
    fprintf(out, "error: %s\n", error ? error : "bad manifest header");
    free(error);
    return TD_EINVAL;
  }
  *role = m.role;
  return 0;
}

typedef struct one_call {
  bool done;
  int rc;
  char error[512];
} one_call_t;

static void on_done(void *ud, int rc, const json_t *results, const char *error) {
  (void)results;
  one_call_t *c = ud;
  c->done = true;
  c->rc = rc;
  snprintf(c->error, sizeof c->error, "%s", error != NULL ? error : "");
}

/* Runs the handlers of pkg matching env's type and prints the event's line. */
static void replay(td__lua_package_t *pkg, uv_loop_t *loop, const json_t *env, FILE *out) {
  const char *type = json_string_value(json_object_get(env, "type"));
  const json_t *subject = json_object_get(env, "subject");
  bool matched = false;
  json_decref(pkg->dry_log);
  pkg->dry_log = json_array();
  char errors[1024] = "";
  for (size_t i = 0; i < pkg->nregs; i++) {
    const td__lua_reg_t *reg = &pkg->regs[i];
    if (reg->kind != TD_LUA_REG_EVENT || !td__event_pattern_match(reg->name, type)) continue;
    matched = true;
    one_call_t c = {0};
    if (td__lua_package_event_call(pkg, reg, loop, env, on_done, &c) != 0) {
      snprintf(c.error, sizeof c.error, "the call could not start");
      c.done = true;
      c.rc = TD_ENOMEM;
    }
    while (!c.done) uv_run(loop, UV_RUN_ONCE);
    if (c.rc != 0) {
      size_t used = strlen(errors);
      snprintf(errors + used, sizeof errors - used, "%serror: %s", used ? "; " : "", c.error);
    }
  }
  if (!matched) return;
  fprintf(out, "%s %s %s/%s: ", json_string_value(json_object_get(env, "occurred_at")), type,
          json_string_value(json_object_get(subject, "type")),
          json_string_value(json_object_get(subject, "id")));
  if (json_array_size(pkg->dry_log) > 0) {
    char *text = json_dumps(pkg->dry_log, JSON_COMPACT | JSON_ENCODE_ANY);
    fputs(text != NULL ? text : "?", out);
    free(text);
  } else if (errors[0] == '\0') {
    fputs("nothing", out);
  }
  if (errors[0] != '\0') fprintf(out, "%s%s", json_array_size(pkg->dry_log) > 0 ? " " : "", errors);
  fputc('\n', out);
}

/* Every recorded event from since_ms, oldest first, through the package. */
static int replay_all(td__lua_package_t *pkg, td__db_t *db, uv_loop_t *loop, int64_t since_ms, FILE *out) {
  td__ctx_t ctx = {.db = db, .actor_kind = "system", .now_ms = td__time_now_ms(), .cause = "dry-run"};
  ctx.principal.role = TD_ROLE_ADMIN; /* the feed crosses every job */
  ctx.principal.via = TD_VIA_SYSTEM;
  int64_t after = 0;
  int rc = 0;
  for (;;) {
    json_t *items = NULL;
    int64_t next = 0;
    rc = td__event_feed_page(&ctx, NULL, 100, after, &items, &next);
    if (rc != 0) break;
    size_t i;
    json_t *env;
    json_array_foreach(items, i, env) {
      int64_t at = 0;
      const char *occurred = json_string_value(json_object_get(env, "occurred_at"));
      if (occurred != NULL && td__time_parse(occurred, &at) == 0 && at < since_ms) continue;
      replay(pkg, loop, env, out);
    }
    json_decref(items);
    if (next == 0) break;
    after = next;
  }
  if (rc != 0) fprintf(out, "error: the events could not be read (%d)\n", rc);
  td__ctx_dispose(&ctx);
  return rc;
}

int td__lua_dry_run(const json_t *config, const char *data_dir, const char *script_path, int64_t since_ms,
                    FILE *out) {
  size_t len;
  char why[512];
  char *src =
      td__script_file_read(script_path, td__lua_limits_default().load_max_bytes, &len, why, sizeof why);
  if (src == NULL) {
    fprintf(out, "error: %s\n", why);
    return TD_EIO;
  }
  char name[TD_LUA_PACKAGE_MAX], path[4096];
  td__script_file_name(script_path, name, sizeof name);
  snprintf(path, sizeof path, "%s/talentd.db", data_dir);
  td__db_t *db = NULL;
  if (td__db_open(path, TD_DB_READONLY, &db) != 0) {
    fprintf(out, "error: cannot open the database in %s\n", data_dir);
    free(src);
    return TD_EIO;
  }
  td__role_t role = TD_ROLE_RECRUITER;
  if (manifest_role(src, len, &role, out) != 0) {
    free(src);
    td__db_close(db);
    return TD_EINVAL;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  td__lua_host_t host = {.loop = &loop, .dry_run = true};
  host.principal.role = role;
  host.principal.via = TD_VIA_SYSTEM;
  host.config = json_object_get(json_object_get(config, "scripts"), name);
  td__lua_package_t *pkg = NULL;
  char *error = NULL;
  int rc = td__lua_package_load(name, src, len, NULL, &host, &pkg, &error);
  free(src);
  if (rc != 0) {
    fprintf(out, "error: %s\n", error != NULL ? error : "the script does not load");
    free(error);
  } else {
    pkg->read_db = db;
    rc = replay_all(pkg, db, &loop, since_ms, out);
    td__lua_package_free(pkg);
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* closes the calls' handles */
  uv_loop_close(&loop);
  td__db_close(db);
  return rc;
}
