/* `talentd plugin list|info|enable|disable|keygen|sign`: managing C plugins from the command
 * line. list, info, enable and disable work on a data directory without loading any plugin
 * code; enable and disable take effect at the next start (hooks are fixed while serving). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "plugin/host.h"
#include "plugin/trust.h"
#include "util/mem.h"

static int with_plugins(const char *data_dir, const json_t *config, td__db_t **db, td__plugins_t **ps) {
  if (td__cli_open_store(data_dir, db) != 0) return 1;
  td__plugins_discover(config, data_dir, ps);
  if (td__plugins_read_states(*ps, *db) != 0) {
    fprintf(stderr, "talentd plugin: cannot read plugin states\n");
    return 1;
  }
  return 0;
}

static void print_line(const td_plugin_t *p) {
  printf("%-20s %-10s %-8s %-11s %s\n", p->name, p->manifest ? p->version : "-",
         p->enabled ? "enabled" : "disabled", p->trust, p->error ? p->error : "");
}

static int cmd_list(td__plugins_t *ps) {
  printf("%-20s %-10s %-8s %-11s %s\n", "NAME", "VERSION", "STATE", "ORIGIN", "PROBLEM");
  for (td_plugin_t *p = ps->first; p; p = p->next) print_line(p);
  if (ps->first == NULL) printf("no plugins found\n");
  return 0;
}

/* info also checks the signature, without loading the library. */
static int cmd_info(td__plugins_t *ps, const char *name) {
  td_plugin_t *p = td__plugins_find(ps, name);
  if (p == NULL) {
    fprintf(stderr, "talentd plugin info: no plugin named %s\n", name);
    return 1;
  }
  json_t *d = td__plugin_describe(p);
  if (strcmp(p->trust, "bundled") != 0) {
    td__plugin_files_t files;
    char why[512] = "";
    int rc = td__plugin_read_manifest(p->dir, &files, why, sizeof why);
    if (rc == 0) rc = td__plugin_read_files(p->dir, p->manifest, &files, why, sizeof why);
    if (rc == 0) rc = td__plugin_verify(p->dir, &files, ps->trusted_keys, why, sizeof why);
    json_object_set_new(d, "signature", json_string(rc == 0 ? "valid" : why));
    td__plugin_files_free(&files);
  }
  json_dumpf(d, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  printf("\n");
  json_decref(d);
  return 0;
}

static int cmd_enable(td__plugins_t *ps, td__db_t *db, const char *name, bool enable) {
  td_plugin_t *p = td__plugins_find(ps, name);
  if (p == NULL) {
    fprintf(stderr, "talentd plugin: no plugin named %s (see talentd plugin list)\n", name);
    return 1;
  }
  if (enable && p->error) {
    fprintf(stderr, "talentd plugin enable: %s cannot load: %s\n", name, p->error);
    return 1;
  }
  if (td__plugins_set_enabled(ps, db, name, enable) != 0) {
    fprintf(stderr, "talentd plugin: cannot save the plugin state\n");
    return 1;
  }
  printf("%s %s; restart the server to apply\n", name, enable ? "enabled" : "disabled");
  return 0;
}

/* keygen PREFIX: PREFIX.key (secret, mode 0600) and PREFIX.pub (the key to trust). */
static int cmd_keygen(const char *prefix) {
  char pub[65], sec[129];
  td__plugin_keygen(pub, sec);
  char *kpath = td__xprintf("%s.key", prefix), *ppath = td__xprintf("%s.pub", prefix);
  int fd = open(kpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  FILE *pf = fd >= 0 ? fopen(ppath, "wx") : NULL;
  int rc = 1;
  if (fd >= 0 && pf && dprintf(fd, "%s\n", sec) > 0 && fprintf(pf, "%s\n", pub) > 0) {
    printf(
        "secret key: %s (keep it private)\npublic key: %s\ntrust it with: --set "
        "plugins.trusted_keys='[\"%s\"]'\n",
        kpath, ppath, pub);
    rc = 0;
  } else
    fprintf(stderr, "talentd plugin keygen: cannot create %s and %s (do they exist already?)\n", kpath,
            ppath);
  if (fd >= 0) close(fd);
  if (pf) fclose(pf);
  memset(sec, 0, sizeof sec);
  free(kpath);
  free(ppath);
  return rc;
}

/* sign DIR KEYFILE: writes DIR/plugin.sig over the files the host will load. */
static int cmd_sign(const char *dir, const char *key_path) {
  char key[200] = "";
  FILE *kf = fopen(key_path, "r");
  if (kf == NULL || fgets(key, sizeof key, kf) == NULL) {
    fprintf(stderr, "talentd plugin sign: cannot read %s\n", key_path);
    if (kf) fclose(kf);
    return 1;
  }
  fclose(kf);
  key[strcspn(key, "\r\n")] = '\0';
  td__plugin_files_t files;
  char why[512] = "", sig[129];
  int rc = td__plugin_read_manifest(dir, &files, why, sizeof why);
  json_t *manifest = rc == 0 ? json_loadb(files.manifest.data, files.manifest.size, 0, NULL) : NULL;
  if (rc == 0 && manifest == NULL) snprintf(why, sizeof why, "plugin.json is not valid JSON");
  if (manifest) rc = td__plugin_read_files(dir, manifest, &files, why, sizeof why);
  if (manifest && rc == 0 && td__plugin_sign(&files, key, sig) != 0)
    snprintf(why, sizeof why, "bad secret key");
  json_decref(manifest);
  td__plugin_files_free(&files);
  memset(key, 0, sizeof key);
  if (why[0]) {
    fprintf(stderr, "talentd plugin sign: %s\n", why);
    return 1;
  }
  char *path = td__xprintf("%s/plugin.sig", dir);
  FILE *out = fopen(path, "w");
  bool ok = out && fprintf(out, "%s\n", sig) > 0;
  if (out) fclose(out);
  printf(ok ? "signed: %s\n" : "cannot write %s\n", path);
  free(path);
  return ok ? 0 : 1;
}

int td__cli_plugin(int argc, char **argv, const char *data_dir, const json_t *config) {
  const char *sub = argc > 0 ? argv[0] : "";
  if (strcmp(sub, "keygen") == 0 && argc == 2) return cmd_keygen(argv[1]);
  if (strcmp(sub, "sign") == 0 && argc == 3) return cmd_sign(argv[1], argv[2]);
  bool named = strcmp(sub, "info") == 0 || strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0;
  if (!(strcmp(sub, "list") == 0 && argc == 1) && !(named && argc == 2)) {
    fprintf(stderr,
            "usage: talentd plugin list|info NAME|enable NAME|disable NAME --data DIR\n"
            "       talentd plugin keygen PREFIX | sign PLUGIN_DIR KEYFILE\n");
    return 2;
  }
  td__db_t *db = NULL;
  td__plugins_t *ps = NULL;
  int rc = with_plugins(data_dir, config, &db, &ps);
  if (rc == 0) {
    if (strcmp(sub, "list") == 0)
      rc = cmd_list(ps);
    else if (strcmp(sub, "info") == 0)
      rc = cmd_info(ps, argv[1]);
    else
      rc = cmd_enable(ps, db, argv[1], strcmp(sub, "enable") == 0);
  }
  td__plugins_free(ps);
  if (db) td__db_close(db);
  return rc;
}
