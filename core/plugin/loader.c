/* Finding, verifying and loading C plugins (see host.h for the life of a plugin). */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/app.h"
#include "api/openapi.h"
#include "plugin/host.h"
#include "plugin/migrate.h"
#include "plugin/roots.h"
#include "plugin/trust.h"
#include "util/json_schema.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/resources.h"
#include "util/time.h"

#define WHY_SIZE 512
#define SLOW_INIT_MS 100

static void set_error(td_plugin_t *p, const char *why) {
  free(p->error);
  p->error = td__xstrdup(why);
  td__log(TD_LOG_WARN, "plugin_not_loaded", json_pack("{s:s,s:s}", "plugin", p->name, "reason", why));
}

/* The bundled plugins sit next to the binary: build/plugins in a build tree,
 * PREFIX/lib/talentd/plugins once installed. They are as trusted as the binary itself. */
static char *bundled_dir(void) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return NULL;
  exe[n] = '\0';
  char *dir = dirname(exe);
  char *candidates[2] = {td__xprintf("%s/plugins", dir), td__xprintf("%s/../lib/talentd/plugins", dir)};
  char *found = NULL;
  for (int i = 0; i < 2; i++) {
    struct stat st;
    if (found == NULL && stat(candidates[i], &st) == 0 && S_ISDIR(st.st_mode))
      found = candidates[i];
    else
      free(candidates[i]);
  }
  return found;
}

static int validate_manifest(td_plugin_t *p, const td__plugin_files_t *files, char *why) {
  json_error_t jerr;
  json_t *m = json_loadb(files->manifest.data, files->manifest.size, JSON_REJECT_DUPLICATES, &jerr);
  if (m == NULL) {
    snprintf(why, WHY_SIZE, "plugin.json is not valid JSON (line %d: %s)", jerr.line, jerr.text);
    return TD_EINVAL;
  }
  const td__resource_t *res = td__resource_find("schemas/plugin-manifest.json");
  json_t *schema = res ? json_loadb(res->data, res->size, 0, NULL) : NULL;
  td__schema_errors_t errs = {0};
  int rc = schema ? td__schema_validate(schema, schema, m, &errs, 1) : -1;
  if (rc != 0) {
    snprintf(why, WHY_SIZE, "plugin.json: %s %s", errs.count ? errs.items[0].pointer : "",
             errs.count ? errs.items[0].message : "cannot be checked");
    td__schema_errors_free(&errs);
    json_decref(schema);
    json_decref(m);
    return TD_EINVAL;
  }
  json_decref(schema);
  p->manifest = m;
  snprintf(p->name, sizeof p->name, "%s", json_string_value(json_object_get(m, "name")));
  snprintf(p->version, sizeof p->version, "%s", json_string_value(json_object_get(m, "version")));
  int roots = td__plugin_roots_setup(NULL, p, why, WHY_SIZE);
  if (roots) return roots;
  json_t *abi = json_object_get(m, "abi");
  json_int_t lo = json_integer_value(json_object_get(abi, "min")),
             hi = json_integer_value(json_object_get(abi, "max"));
  if (lo > TD_PLUGIN_ABI_MAJOR || hi < TD_PLUGIN_ABI_MAJOR) {
    snprintf(why, WHY_SIZE, "plugin.json asks for ABI %lld..%lld; this host speaks ABI %d", (long long)lo,
             (long long)hi, TD_PLUGIN_ABI_MAJOR);
    return TD_EINVAL;
  }
  return 0;
}

/* The plugin's settings: plugins.<name>, checked against the manifest's config_schema. */
static int validate_config(td_plugin_t *p, const json_t *config, char *why) {
  json_t *c = json_object_get(json_object_get(config, "plugins"), p->name);
  p->config = c ? json_incref(c) : json_object();
  if (!json_is_object(p->config)) {
    snprintf(why, WHY_SIZE, "plugins.%s must be an object", p->name);
    return TD_EINVAL;
  }
  json_t *schema = json_object_get(p->manifest, "config_schema");
  if (schema == NULL) return 0;
  td__schema_errors_t errs = {0};
  int rc = td__schema_validate(schema, schema, p->config, &errs, 1);
  if (rc != 0) {
    snprintf(why, WHY_SIZE, "plugins.%s%s: %s", p->name, errs.count ? errs.items[0].pointer : "",
             errs.count ? errs.items[0].message : "the plugin's config_schema cannot be used");
    td__schema_errors_free(&errs);
    return TD_EINVAL;
  }
  return 0;
}

static void discover_dir(td__plugins_t *ps, const char *root, const char *trust) {
  struct dirent **entries = NULL;
  int count = scandir(root, &entries, NULL, alphasort); /* name order: a stable listing */
  for (int i = 0; i < count; i++) {
    struct dirent *e = entries[i];
    if (e->d_name[0] == '.') continue;
    char *dir = td__xprintf("%s/%s", root, e->d_name);
    td__plugin_files_t files;
    char why[WHY_SIZE];
    if (td__plugin_read_manifest(dir, &files, why, sizeof why) != 0) {
      free(dir);
      continue;
    }
    td_plugin_t *p = td__xcalloc(1, sizeof *p);
    p->dir = dir;
    p->trust = trust;
    p->host = ps;
    snprintf(p->name, sizeof p->name, "%.31s", e->d_name);
    if (validate_manifest(p, &files, why) == 0 && td__plugins_find(ps, p->name) != NULL)
      snprintf(why, sizeof why, "another plugin named %s was found first", p->name);
    else if (p->manifest && validate_config(p, ps->config, why) == 0)
      why[0] = '\0';
    if (why[0]) p->error = td__xstrdup(why);
    td__plugin_files_free(&files);
    td_plugin_t **tail = &ps->first;
    while (*tail) tail = &(*tail)->next;
    *tail = p;
  }
  for (int i = 0; i < count; i++) free(entries[i]);
  free(entries);
}

int td__plugins_discover(const json_t *config, const char *data_dir, td__plugins_t **out) {
  td__plugins_t *ps = td__xcalloc(1, sizeof *ps);
  ps->config = (json_t *)config;
  json_t *pc = json_object_get(config, "plugins");
  ps->allow_unsigned = json_is_true(json_object_get(pc, "allow_unsigned"));
  ps->trusted_keys = json_object_get(pc, "trusted_keys");
  char *bundled = bundled_dir();
  if (bundled) discover_dir(ps, bundled, "bundled");
  free(bundled);
  size_t i;
  json_t *dir;
  json_array_foreach(json_object_get(pc, "path"), i, dir)
      discover_dir(ps, json_string_value(dir), "third-party");
  if (data_dir) {
    char *own = td__xprintf("%s/plugins", data_dir);
    discover_dir(ps, own, "third-party");
    free(own);
  }
  *out = ps;
  return 0;
}

td_plugin_t *td__plugins_find(td__plugins_t *ps, const char *name) {
  for (td_plugin_t *p = ps ? ps->first : NULL; p; p = p->next)
    if (p->manifest && strcmp(p->name, name) == 0) return p;
  return NULL;
}

/* Loads the verified library bytes from a sealed memfd. The descriptor stays open while
 * the library is loaded: the dynamic loader knows the object by its /proc/self/fd path, so
 * reusing the number for another plugin would hand back the first one. */
static int open_library(td_plugin_t *p, const td__blob_t *lib, char *why) {
  int fd = memfd_create(p->name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    snprintf(why, WHY_SIZE, "memfd_create failed");
    return TD_EIO;
  }
  size_t done = 0;
  while (done < lib->size) {
    ssize_t n = write(fd, lib->data + done, lib->size - done);
    if (n <= 0) break;
    done += (size_t)n;
  }
  if (done != lib->size ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    close(fd);
    snprintf(why, WHY_SIZE, "cannot stage the library in memory");
    return TD_EIO;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (p->handle == NULL) {
    const char *err = dlerror();
    close(fd);
    snprintf(why, WHY_SIZE, "the library does not load: %s", err ? err : "?");
    return TD_EINVAL;
  }
  p->library_fd = fd;
  return 0;
}

static int check_descriptor(td_plugin_t *p, char *why) {
  td_plugin_entry_fn entry;
  *(void **)&entry = dlsym(p->handle, TD_PLUGIN_ENTRY_SYMBOL);
  const td_plugin_descriptor_t *d = entry ? entry() : NULL;
  if (d == NULL) {
    snprintf(why, WHY_SIZE, "the library exports no %s (or it returned NULL)", TD_PLUGIN_ENTRY_SYMBOL);
    return TD_EINVAL;
  }
  if (d->abi_major != TD_PLUGIN_ABI_MAJOR) {
    snprintf(why, WHY_SIZE, "the library was built for ABI %u; this host speaks ABI %d", d->abi_major,
             TD_PLUGIN_ABI_MAJOR);
    return TD_EINVAL;
  }
  if (d->struct_size < sizeof(td_plugin_descriptor_t) || d->init == NULL || d->name == NULL ||
      d->version == NULL) {
    snprintf(why, WHY_SIZE, "the library's descriptor is incomplete");
    return TD_EINVAL;
  }
  if (strcmp(d->name, p->name) != 0 || strcmp(d->version, p->version) != 0) {
    snprintf(why, WHY_SIZE, "the library says it is %.40s %.20s but plugin.json says %s %s", d->name,
             d->version, p->name, p->version);
    return TD_EINVAL;
  }
  p->desc = d;
  return 0;
}

static void drop_registrations(td_plugin_t *p) {
  for (size_t i = 0; i < p->reg_count; i++) free(p->regs[i].body_schema);
  free(p->regs);
  p->regs = NULL;
  p->reg_count = p->reg_cap = 0;
}

static void unload(td_plugin_t *p) {
  if (p->handle) dlclose(p->handle);
  p->handle = NULL;
  p->desc = NULL;
  if (p->library_fd > 0) close(p->library_fd);
  p->library_fd = 0;
}

static int run_init(td_plugin_t *p, char *why) {
  uint64_t t0 = td__time_mono_ns();
  p->in_init = true;
  int rc = p->desc->init(p, td__plugin_host_api());
  p->in_init = false;
  uint64_t ms = (td__time_mono_ns() - t0) / 1000000;
  if (ms > SLOW_INIT_MS)
    td__log(TD_LOG_WARN, "slow_callback",
            json_pack("{s:s,s:s,s:I}", "plugin", p->name, "callback", "init", "ms", (json_int_t)ms));
  if (rc != 0) {
    snprintf(why, WHY_SIZE, "init failed: %s", td_strerror(rc));
    return rc;
  }
  return 0;
}

/* Merges the plugin's OpenAPI fragment; its paths must sit under the plugin's prefix. */
static int merge_openapi(td_plugin_t *p, const td__blob_t *blob, json_t *openapi, char *why) {
  if (blob->data == NULL) return 0;
  json_t *frag = json_loadb(blob->data, blob->size, 0, NULL);
  const char *path;
  json_t *v;
  int rc = frag ? 0 : TD_EINVAL;
  json_object_foreach(json_object_get(frag, "paths"), path, v) {
    if (!td__plugin_path_in_roots(p, path)) rc = TD_EINVAL;
  }
  const char *error = "its paths must lie under the plugin's routes (/api/v1/plugins/<name>/, or its api_root)";
  /* A trial merge first, so a clash leaves the server's document untouched. */
  json_t *trial = rc == 0 ? json_deep_copy(openapi) : NULL;
  if (rc == 0) rc = td__openapi_merge(trial, frag, &error);
  json_decref(trial);
  if (rc == 0) rc = td__openapi_merge(openapi, frag, &error);
  if (rc != 0)
    snprintf(why, WHY_SIZE, "%s: %s", blob->path ? blob->path : "openapi", error);
  else
    p->openapi = json_incref(frag);
  json_decref(frag);
  return rc;
}

/* Parses the manifest again from the bytes that will be verified, so what was validated,
 * what is signed and what is used are one and the same. */
static int reparse_manifest(td_plugin_t *p, const td__plugin_files_t *files, char *why) {
  char name[sizeof p->name];
  memcpy(name, p->name, sizeof name);
  json_decref(p->manifest);
  p->manifest = NULL;
  int rc = validate_manifest(p, files, why);
  if (rc == 0 && strcmp(name, p->name) != 0) {
    snprintf(why, WHY_SIZE, "plugin.json changed while the server started");
    rc = TD_ECONFLICT;
  }
  return rc;
}

static int load_one(td__plugins_t *ps, td_plugin_t *p, td__db_t *db, json_t *openapi, char *why) {
  td__plugin_files_t files;
  int rc = td__plugin_read_manifest(p->dir, &files, why, WHY_SIZE);
  if (rc == 0) rc = reparse_manifest(p, &files, why);
  if (rc == 0) rc = td__plugin_roots_setup(ps, p, why, WHY_SIZE);
  if (rc == 0) rc = td__plugin_read_files(p->dir, p->manifest, &files, why, WHY_SIZE);
  if (rc == 0 && strcmp(p->trust, "bundled") != 0) {
    rc = td__plugin_verify(p->dir, &files, ps->trusted_keys, why, WHY_SIZE);
    if (rc == 0)
      p->trust = "signed";
    else if (ps->allow_unsigned) {
      td__log(TD_LOG_WARN, "plugin_unsigned", json_pack("{s:s,s:s}", "plugin", p->name, "reason", why));
      p->trust = "unsigned";
      rc = 0;
    } else {
      size_t n = strlen(why);
      snprintf(why + n, WHY_SIZE - n, "; set plugins.allow_unsigned to load it anyway");
    }
  }
  if (rc == 0 && db) rc = td__plugin_migrate(p, db, &files, why, WHY_SIZE);
  if (rc == 0) rc = open_library(p, &files.library, why);
  if (rc == 0) rc = check_descriptor(p, why);
  if (rc == 0) rc = run_init(p, why);
  if (rc == 0) rc = merge_openapi(p, &files.openapi, openapi, why);
  if (rc == 0 && (rc = td__plugin_apply_registrations(p)) != 0)
    snprintf(why, WHY_SIZE, "its registrations were refused");
  if (rc == 0 && (rc = td__plugin_add_routes(p)) != 0) snprintf(why, WHY_SIZE, "its routes were refused");
  td__plugin_files_free(&files);
  return rc;
}

void td__plugins_load(td__plugins_t *ps, td__db_t *db, json_t *openapi) {
  ps->openapi = openapi;
  for (td_plugin_t *p = ps->first; p; p = p->next) {
    if (!p->enabled || p->error) continue;
    char why[WHY_SIZE] = "";
    if (load_one(ps, p, db, openapi, why) != 0) {
      if (p->desc && p->desc->shutdown && p->reg_count) p->desc->shutdown(p);
      drop_registrations(p);
      unload(p);
      set_error(p, why[0] ? why : "it failed to load");
      continue;
    }
    p->loaded = true;
    td__log(TD_LOG_INFO, "plugin_loaded",
            json_pack("{s:s,s:s,s:s}", "plugin", p->name, "version", p->version, "trust", p->trust));
  }
}

int td__plugins_boot(const json_t *config, const char *data_dir, td__db_t *db, bool migrate, json_t *openapi,
                     td__plugins_t **out) {
  int rc = td__plugins_discover(config, data_dir, out);
  if (rc == 0) rc = td__plugins_read_states(*out, db);
  if (rc == 0) td__plugins_load(*out, migrate ? db : NULL, openapi);
  return rc;
}

int td__plugins_merge_bundled_openapi(td__plugins_t *ps, json_t *doc, const char **error) {
  for (td_plugin_t *p = ps->first; p; p = p->next) {
    const char *name = json_string_value(json_object_get(p->manifest, "openapi"));
    if (strcmp(p->trust, "bundled") != 0 || name == NULL) continue;
    char *path = td__xprintf("%s/%s", p->dir, name);
    json_t *frag = json_load_file(path, 0, NULL);
    free(path);
    int rc = frag ? td__openapi_merge(doc, frag, error) : -1;
    if (frag == NULL) *error = "a bundled plugin's OpenAPI fragment is not valid JSON";
    json_decref(frag);
    if (rc) return TD_EINVAL;
  }
  return 0;
}

void td__plugins_start(td__plugins_t *ps, uv_loop_t *loop, td__writer_t *writer, struct td__net *net,
                       struct td__ssrf_policy *policy) {
  ps->policy = policy;
  ps->loop = loop;
  ps->writer = writer;
  ps->net = net;
}

void td__plugins_shutdown(td__plugins_t *ps) {
  for (td_plugin_t *p = ps ? ps->first : NULL; p; p = p->next)
    if (p->loaded && p->desc->shutdown) p->desc->shutdown(p);
}

void td__plugins_free(td__plugins_t *ps) {
  if (ps == NULL) return;
  td_plugin_t *p = ps->first;
  while (p) {
    td_plugin_t *next = p->next;
    drop_registrations(p);
    unload(p);
    json_decref(p->manifest);
    json_decref(p->config);
    json_decref(p->openapi);
    free(p->dir);
    free(p->error);
    free(p);
    p = next;
  }
  free(ps);
}

bool td__plugin_has_permission(const td_plugin_t *p, const char *permission) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(p->manifest, "permissions"), i, v) {
    if (strcmp(json_string_value(v), permission) == 0) return true;
  }
  return false;
}
