/* The host side of C plugins: what the core knows about each plugin it found, and the
 * functions that find, verify, load, start and stop them.
 *
 * Life of a plugin (all on the thread that starts the server, before the loop runs):
 *   1. td__plugins_discover: every directory holding a plugin.json in the bundled plugin
 *      directory (next to the binary), DATA/plugins and plugins.path; manifests validated
 *      against schemas/plugin-manifest.json, configs against their config_schema.
 *   2. td__plugins_load (for the ones enabled in this data directory): read every file
 *      once into memory, verify the signature over those bytes unless bundled (trust.h),
 *      run the plugin's migrations, load the library from the verified bytes (a sealed
 *      memfd, dlopen RTLD_NOW | RTLD_LOCAL), check the descriptor, call init, and only when
 *      init succeeds apply what it registered to the hook registry, the scheduler and the
 *      route table. A plugin that fails any step is left out with the reason recorded
 *      (talentd plugin list, GET /api/v1/plugins, the log) and the server starts without it.
 *   3. td__plugins_start once the loop, writer and outbound client exist; td__plugins_stop
 *      at shutdown (each plugin's shutdown, then dlclose). */
#ifndef TD_PLUGIN_HOST_H
#define TD_PLUGIN_HOST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "store/db.h"
#include "store/writer.h"
#include "talentd/plugin.h"

typedef struct td__plugins td__plugins_t;
struct td__net;
struct td__ssrf_policy;

/* One registration made during init, applied after init succeeded. */
typedef enum td__reg_kind { TD_REG_FILTER, TD_REG_EVENT, TD_REG_ROUTE, TD_REG_RUN } td__reg_kind_t;

typedef struct td__plugin_reg {
  td__reg_kind_t kind;
  td_plugin_t *plugin;
  char name[128]; /* hook, pattern, route path or handler name */
  int priority;
  unsigned flags;
  void *fn; /* the plugin's callback, cast back by the bridge for its kind */
  void *data;
  /* routes */
  char method[8];
  char pattern[192]; /* the full route pattern: /api/v1/plugins/<name><path> */
  char *body_schema;
  td_route_kind_t route_kind;
} td__plugin_reg_t;

struct td_plugin {
  char name[32];
  char version[32];
  char route_base[64]; /* "/api/v1/plugins/<name>", or "/api/v1/<name>" with api_root */
  char *dir;         /* directory holding plugin.json (owned) */
  json_t *manifest;  /* validated manifest (owned) */
  json_t *config;    /* plugins.<name> of the server config, validated (owned) */
  json_t *openapi;   /* the plugin's OpenAPI fragment, or NULL (owned) */
  const char *trust; /* "bundled", "signed", "unsigned" */
  bool enabled;      /* in this data directory */
  bool loaded;       /* init succeeded and its registrations are live */
  char *error;       /* why it is not loaded (owned), or NULL */
  void *handle;      /* dlopen handle */
  int library_fd;    /* the memfd the library was loaded from, open while loaded */
  const td_plugin_descriptor_t *desc;
  bool in_init;           /* registrations are accepted only while true */
  td__plugin_reg_t *regs; /* registrations (owned) */
  size_t reg_count, reg_cap;
  td__plugins_t *host;
  td_plugin_t *next;
};

struct td__plugins {
  td_plugin_t *first;
  json_t *config; /* the server config (borrowed) */
  bool allow_unsigned;
  const json_t *trusted_keys; /* array of hex Ed25519 public keys (borrowed) */
  uv_loop_t *loop;
  td__writer_t *writer;
  struct td__net *net;
  struct td__ssrf_policy *policy; /* the outbound rules, for checking URLs users give (owned) */
  const json_t *openapi;          /* the server's merged document, for checking what plugins
                                     pass to the core (borrowed; set by td__plugins_load) */
};

/* Finds every plugin (step 1). data_dir may be NULL (then DATA/plugins is skipped). Never
 * fails for one bad plugin: it is listed with its error. Returns 0 or TD_ENOMEM. */
int td__plugins_discover(const json_t *config, const char *data_dir, td__plugins_t **out);
/* Marks the plugins enabled in db's plugin_states table. */
int td__plugins_read_states(td__plugins_t *ps, td__db_t *db);
/* Enables or disables name in db (takes effect at the next start). TD_ENOTFOUND when no
 * plugin of that name was discovered. */
int td__plugins_set_enabled(td__plugins_t *ps, td__db_t *db, const char *name, bool enabled);
/* Loads every enabled plugin (step 2) against db (the server's read-write connection, no
 * transaction open; NULL: skip migrations) and merges their OpenAPI fragments into openapi (borrowed). */
void td__plugins_load(td__plugins_t *ps, td__db_t *db, json_t *openapi);
/* Discover, read states and load, in one: what `serve` and `talentd hooks` do. Without
 * migrate, plugin migrations are not applied (a listing must not change the database). */
int td__plugins_boot(const json_t *config, const char *data_dir, td__db_t *db, bool migrate, json_t *openapi,
                     td__plugins_t **out);
/* Merges the OpenAPI fragments of every bundled plugin into doc, enabled or not: the
 * published document (schemas/openapi.json) describes what ships. */
int td__plugins_merge_bundled_openapi(td__plugins_t *ps, json_t *doc, const char **error);
/* Binds the running server's loop, writer, outbound client and its policy (borrowed; the
 * policy is used to check URLs users give before anything is sent). */
void td__plugins_start(td__plugins_t *ps, uv_loop_t *loop, td__writer_t *writer, struct td__net *net,
                       struct td__ssrf_policy *policy);
/* Calls every loaded plugin's shutdown (on the loop thread, after the last callback). */
void td__plugins_shutdown(td__plugins_t *ps);
/* Unloads and frees everything (after td__hooks_reset and td__sched_reset). */
void td__plugins_free(td__plugins_t *ps);

td_plugin_t *td__plugins_find(td__plugins_t *ps, const char *name);
/* A JSON description of one plugin for the CLI and the API (new reference). */
json_t *td__plugin_describe(const td_plugin_t *p);
/* Whether the manifest grants permission ("http.outbound", "store.read", ...). */
bool td__plugin_has_permission(const td_plugin_t *p, const char *permission);

/* The host API table handed to init (host_api.c). */
const td_host_api_t *td__plugin_host_api(void);
/* Applies a plugin's registrations after a successful init (bridge.c). Returns 0 or a
 * TD_E* code with nothing applied. */
int td__plugin_apply_registrations(td_plugin_t *p);
/* The plugin's routes as core routes (bridge.c): appended to the route table. */
int td__plugin_add_routes(td_plugin_t *p);

#endif
