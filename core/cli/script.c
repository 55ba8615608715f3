/* `talentd script load|list|remove|dry-run`: managing Lua scripts of a data directory from
 * the command line. load validates by loading the script in a scratch sandbox (no server,
 * no actions) and stores it; a running server picks changes up at its next start (or use
 * PUT /api/v1/scripts/{name} for a live reload). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lua/dry_run.h"
#include "lua/manager.h"
#include "lua/script_file.h"
#include "talentd/types.h"
#include "util/mem.h"
#include "util/time.h"

/* Reads a script file for the CLI, saying why it cannot. */
static char *read_file(const char *path, size_t max, size_t *len) {
  char why[512];
  char *src = td__script_file_read(path, max, len, why, sizeof why);
  if (src == NULL) fprintf(stderr, "talentd script: %s\n", why);
  return src;
}

static int cmd_load(const char *data_dir, const char *file, const char *name_opt) {
  char name[TD_LUA_PACKAGE_MAX];
  td__script_file_name(file, name, sizeof name);
  if (name_opt) snprintf(name, sizeof name, "%s", name_opt);
  if (!td__script_name_valid(name)) {
    fprintf(stderr,
            "talentd script load: the name must be 1 to 63 of a-z, 0-9, '_', '.', '-' (use --name)\n");
    return 2;
  }
  size_t len = 0;
  char *src = read_file(file, td__lua_limits_default().load_max_bytes, &len);
  if (src == NULL) return 1;
  td__script_manifest_t m;
  char *error = NULL;
  td__lua_package_t *pkg = NULL;
  int rc = td__script_manifest_parse(src, len, &m, &error);
  if (rc == 0) rc = td__lua_package_load(name, src, len, NULL, NULL, &pkg, &error);
  if (rc != 0) {
    fprintf(stderr, "talentd script load: %s\n", error ? error : td_strerror(rc));
    free(error);
    free(src);
    return 1;
  }
  size_t nregs = pkg->nregs + pkg->nruns;
  td__lua_package_free(pkg);
  td__db_t *db = NULL;
  if (td__cli_open_store(data_dir, &db) != 0) {
    free(src);
    return 1;
  }
  int64_t version = 0;
  bool created = false;
  rc = td__script_store(db, name, src, len, &m, NULL, td__time_now_ms(), &version, &created);
  td__db_close(db);
  free(src);
  if (rc) {
    fprintf(stderr, "talentd script load: %s\n", td_strerror(rc));
    return 1;
  }
  printf(
      "stored script %s version %lld (%zu registrations); a running server picks it up at its next "
      "start (PUT /api/v1/scripts/%s reloads it live)\n",
      name, (long long)version, nregs, name);
  return 0;
}

static int cmd_list(const char *data_dir) {
  td__db_t *db = NULL;
  if (td__cli_open_store(data_dir, &db) != 0) return 1;
  json_t *items = NULL;
  int64_t next = 0;
  int rc = td__script_list(db, 1000, 0, &items, &next);
  td__db_close(db);
  if (rc) {
    fprintf(stderr, "talentd script list: %s\n", td_strerror(rc));
    return 1;
  }
  printf("%-24s %-8s %-8s %-15s %s\n", "NAME", "VERSION", "STATE", "ROLE", "DESCRIPTION / ERROR");
  size_t i;
  json_t *s;
  json_array_foreach(items, i, s) {
    const char *error = json_string_value(json_object_get(s, "error"));
    printf("%-24s %-8lld %-8s %-15s %s%s\n", json_string_value(json_object_get(s, "name")),
           (long long)json_integer_value(json_object_get(s, "version")),
           json_is_true(json_object_get(s, "enabled")) ? "enabled" : "disabled",
           json_string_value(json_object_get(s, "role")),
           json_string_value(json_object_get(s, "description")), error ? error : "");
  }
  if (json_array_size(items) == 0) printf("no scripts stored\n");
  json_decref(items);
  return 0;
}

static int cmd_remove(const char *data_dir, const char *name) {
  td__db_t *db = NULL;
  if (td__cli_open_store(data_dir, &db) != 0) return 1;
  int rc = td__script_delete(db, name);
  td__db_close(db);
  if (rc == TD_ENOTFOUND) {
    fprintf(stderr, "talentd script remove: no script named %s\n", name);
    return 1;
  }
  if (rc) {
    fprintf(stderr, "talentd script remove: %s\n", td_strerror(rc));
    return 1;
  }
  printf(
      "removed script %s; a running server drops it at its next start (DELETE /api/v1/scripts/%s "
      "removes it live)\n",
      name, name);
  return 0;
}

static int cmd_dry_run(const json_t *config, const char *data_dir, const char *file, const char *since) {
  int64_t since_ms = 0;
  if (since && td__date_parse(since, &since_ms) != 0 && td__time_parse(since, &since_ms) != 0) {
    fprintf(stderr, "talentd script dry-run: --since must be a date (2024-05-01) or an RFC 3339 time\n");
    return 2;
  }
  return td__lua_dry_run(config, data_dir, file, since_ms, stdout) == 0 ? 0 : 1;
}

int td__cli_script(const char *sub, int argc, char **argv, const char *data_dir, const char *name,
                   const char *since, const json_t *config) {
  if (sub == NULL) sub = "";
  if (strcmp(sub, "list") == 0) return cmd_list(data_dir);
  if (strcmp(sub, "load") == 0 && argc >= 1) return cmd_load(data_dir, argv[0], name);
  if (strcmp(sub, "remove") == 0 && argc >= 1) return cmd_remove(data_dir, argv[0]);
  if (strcmp(sub, "dry-run") == 0 && argc >= 1) {
    if (data_dir == NULL) {
      fprintf(stderr, "talentd: --data DIR is required\n");
      return 2;
    }
    return cmd_dry_run(config, data_dir, argv[0], since);
  }
  fprintf(stderr,
          "usage: talentd script load FILE [--name N] --data DIR | list --data DIR |\n"
          "       remove NAME --data DIR | dry-run FILE --data DIR [--since DATE]\n");
  return 2;
}
