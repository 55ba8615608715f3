/* The talentd command line: serve, migrate, user, token, demo, import, openapi, routes, validate,
 * version. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/app.h"
#include "api/openapi.h"
#include "auth/authn.h"
#include "cli/cli.h"
#include "domain/users.h"
#include "hooks/events.h"
#include "hooks/registry.h"
#include "lua/manager.h"
#include "plugin/host.h"
#include "sched/sched.h"
#include "store/migrate.h"
#include "talentd/types.h"
#include "util/config.h"
#include "util/json_schema.h"
#include "util/mem.h"
#include "util/time.h"

#define MAX_SETS 64

static void usage(FILE *to) {
  fprintf(to,
          "usage: talentd <command> [options]\n"
          "\n"
          "  serve   --data DIR [--listen HOST:PORT] [--config FILE] [--set key.path=value]...\n"
          "  migrate --data DIR                  apply schema migrations and exit\n"
          "  user add --data DIR --email E --name N --role R --password-stdin\n"
          "  token create --data DIR --email E [--name N]   prints only the new token\n"
          "  demo    --data DIR                  fill a new data directory with demo data\n"
          "  import candidates FILE.csv --data DIR [--map HEADER:FIELD]...\n"
          "  openapi                             print the API description (schemas/openapi.json)\n"
          "  routes  [--data DIR]               list every route (with the plugins enabled in DIR)\n"
          "  hooks   [--data DIR] [--config FILE] [--set k=v]  the resolved order of every hook\n"
          "  plugin  list|info NAME|enable NAME|disable NAME --data DIR [--config FILE]\n"
          "  script  load FILE [--name N]|list|remove NAME --data DIR   Lua scripts (next start)\n"
          "  script  dry-run FILE --data DIR [--since DATE]   what a script would have done\n"
          "  plugin  keygen PREFIX | sign PLUGIN_DIR KEYFILE   sign third-party plugins\n"
          "  validate SCHEMA.json [INSTANCE.json] check JSON (stdin by default) against a JSON Schema\n"
          "  version\n");
}

typedef struct options {
  const char *data, *listen, *config, *email, *name, *role;
  bool password_stdin;
  const char *since; /* script dry-run --since */
  const char *sets[MAX_SETS];
  int set_count;
  const char *maps[MAX_SETS]; /* import --map HEADER:FIELD */
  int map_count;
  int first_arg; /* index of the first positional argument after the options */
} options_t;

static int parse_options(int argc, char **argv, options_t *o) {
  static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                           {"listen", required_argument, NULL, 'l'},
                                           {"config", required_argument, NULL, 'c'},
                                           {"set", required_argument, NULL, 's'},
                                           {"email", required_argument, NULL, 'e'},
                                           {"name", required_argument, NULL, 'n'},
                                           {"role", required_argument, NULL, 'r'},
                                           {"password-stdin", no_argument, NULL, 'p'},
                                           {"map", required_argument, NULL, 'm'},
                                           {"since", required_argument, NULL, 'S'},
                                           {NULL, 0, NULL, 0}};
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (ch) {
      case 'd': o->data = optarg; break;
      case 'l': o->listen = optarg; break;
      case 'c': o->config = optarg; break;
      case 's':
        if (o->set_count == MAX_SETS) {
          fprintf(stderr, "talentd: at most %d --set options\n", MAX_SETS);
          return -1;
        }
        o->sets[o->set_count++] = optarg;
        break;
      case 'e': o->email = optarg; break;
      case 'n': o->name = optarg; break;
      case 'r': o->role = optarg; break;
      case 'p': o->password_stdin = true; break;
      case 'S': o->since = optarg; break;
      case 'm':
        if (o->map_count == MAX_SETS) {
          fprintf(stderr, "talentd: at most %d --map options\n", MAX_SETS);
          return -1;
        }
        o->maps[o->map_count++] = optarg;
        break;
      default: return -1;
    }
  }
  o->first_arg = optind;
  return 0;
}

static int cmd_serve(options_t *o) {
  const char *sets[MAX_SETS + 2];
  int n = 0;
  char data_set[4096], listen_set[512];
  /* --data and --listen are shorthands for --set data=... and --set listen=... */
  for (int i = 0; i < o->set_count; i++) sets[n++] = o->sets[i];
  if (o->data) {
    json_t *s = json_string(o->data);
    char *quoted = json_dumps(s, JSON_ENCODE_ANY);
    snprintf(data_set, sizeof data_set, "data=%s", quoted);
    free(quoted);
    json_decref(s);
    sets[n++] = data_set;
  }
  if (o->listen) {
    snprintf(listen_set, sizeof listen_set, "listen=%s", o->listen);
    sets[n++] = listen_set;
  }
  json_t *config = td__config_load(o->config, sets, n);
  if (config == NULL) return 2;
  return td__app_serve(config);
}

static int cmd_migrate(options_t *o) {
  td__db_t *db = NULL;
  int rc = td__cli_open_store(o->data, &db);
  if (rc) return 1;
  printf("schema version %d\n", td__migrate_latest());
  td__db_close(db);
  return 0;
}

/* Reads one line from stdin without echo concerns (it is a pipe in scripts). */
static int read_password(char *out, size_t size) {
  if (fgets(out, (int)size, stdin) == NULL) return -1;
  out[strcspn(out, "\r\n")] = '\0';
  return out[0] ? 0 : -1;
}

static int cmd_user_add(options_t *o) {
  if (!o->data || !o->email || !o->name || !o->role) {
    fprintf(stderr, "talentd user add: --data, --email, --name and --role are required\n");
    return 2;
  }
  td__role_t role = td__role_parse(o->role);
  if (role == TD_ROLE_NONE) {
    fprintf(stderr, "talentd user add: --role must be admin, recruiter, hiring_manager or interviewer\n");
    return 2;
  }
  char password[1100], hash[crypto_pwhash_STRBYTES];
  bool with_password = false;
  if (o->password_stdin) {
    if (read_password(password, sizeof password) != 0 || strlen(password) < 12) {
      fprintf(stderr, "talentd user add: the password (on stdin) must be at least 12 characters\n");
      return 2;
    }
    if (td__password_hash(password, hash, sizeof hash) != 0) return 1;
    sodium_memzero(password, sizeof password);
    with_password = true;
  }
  td__db_t *db = NULL;
  if (td__cli_open_store(o->data, &db)) return 1;
  char id[TD_ID_MAX];
  int rc = td__user_create(db, o->email, o->name, role, with_password ? hash : NULL, td__time_now_ms(), id);
  td__db_close(db);
  if (rc == TD_ECONFLICT) {
    fprintf(stderr, "talentd user add: a user with that email already exists\n");
    return 1;
  }
  if (rc) {
    fprintf(stderr, "talentd user add: %s\n", td_strerror(rc));
    return 1;
  }
  printf("%s\n", id);
  return 0;
}

static int cmd_token_create(options_t *o) {
  if (!o->data || !o->email) {
    fprintf(stderr, "talentd token create: --data and --email are required\n");
    return 2;
  }
  td__db_t *db = NULL;
  if (td__cli_open_store(o->data, &db)) return 1;
  char user_id[TD_ID_MAX], hash[256], token[64], token_id[TD_ID_MAX];
  int rc = td__user_credentials(db, o->email, user_id, hash, sizeof hash);
  if (rc == 0)
    rc = td__token_create(db, user_id, o->name ? o->name : "cli", 1, 0, td__time_now_ms(), token, token_id);
  td__db_close(db);
  if (rc == TD_ENOTFOUND) {
    fprintf(stderr, "talentd token create: no active user with that email\n");
    return 1;
  }
  if (rc) {
    fprintf(stderr, "talentd token create: %s\n", td_strerror(rc));
    return 1;
  }
  printf("%s\n", token);
  return 0;
}

static void print_hook_entry(const td__hook_entry_t *e, size_t position, void *arg) {
  int *count = arg;
  if (position == 0) printf("%s\n", e->hook);
  printf("  %zu. %s (priority %d)\n", position + 1, e->package, e->priority);
  (*count)++;
}

/* What the CLI loads to show a data directory's hooks and routes: its database, enabled
 * plugins (without their migrations) and, for hooks, its scripts (list only, no loop). */
typedef struct extensions {
  json_t *config;
  td__db_t *db;
  td__plugins_t *plugins;
} extensions_t;

static int extensions_load(options_t *o, bool scripts, extensions_t *x) {
  *x = (extensions_t){0};
  x->config = td__config_load(o->config, o->sets, o->set_count);
  if (x->config == NULL) return 2;
  if (o->data == NULL) return 0;
  if (td__cli_open_store(o->data, &x->db) != 0) return 1;
  json_t *scratch = td__openapi_build(&(const char *){NULL});
  td__plugins_boot(x->config, o->data, x->db, false, scratch, &x->plugins);
  json_decref(scratch);
  if (scripts) td__lua_manager_start(x->db, x->config, true);
  return 0;
}

static void extensions_unload(extensions_t *x) {
  td__hooks_reset();
  td__event_subscribers_reset();
  td__sched_reset();
  td__lua_manager_shutdown();
  td__plugins_free(x->plugins);
  if (x->db) td__db_close(x->db);
  json_decref(x->config);
}

/* `talentd hooks`: the resolved order of every hook with its owning package. */
static int cmd_hooks(options_t *o) {
  extensions_t x;
  int rc = extensions_load(o, true, &x);
  if (rc == 0 && td__hooks_freeze(json_object_get(json_object_get(x.config, "hooks"), "order")) != 0) {
    fprintf(stderr, "talentd hooks: hooks.order in the configuration is invalid\n");
    rc = 1;
  }
  int count = 0;
  if (rc == 0) td__hooks_list(print_hook_entry, &count);
  if (rc == 0 && count == 0) printf("no hooks registered (no plugin or script is enabled)\n");
  extensions_unload(&x);
  return rc;
}

/* Prints "METHOD PATTERN" for every route, for tests and for people. */
static int cmd_routes(options_t *o) {
  extensions_t x;
  int rc = extensions_load(o, false, &x); /* with --data, the routes of its plugins too */
  size_t count = 0;
  const td__route_t *routes = rc == 0 ? td__routes(&count) : NULL;
  for (size_t i = 0; i < count; i++) printf("%s %s\n", routes[i].method, routes[i].pattern);
  extensions_unload(&x);
  return rc;
}

static int cmd_openapi(void) {
  const char *error = NULL;
  json_t *doc = td__openapi_build(&error);
  td__plugins_t *bundled = NULL;
  td__plugins_discover(NULL, NULL, &bundled);
  if (doc && td__plugins_merge_bundled_openapi(bundled, doc, &error) != 0) {
    json_decref(doc);
    doc = NULL;
  }
  td__plugins_free(bundled);
  if (doc == NULL) {
    fprintf(stderr, "talentd: %s\n", error);
    return 1;
  }
  json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  printf("\n");
  json_decref(doc);
  return 0;
}

/* `talentd validate SCHEMA.json [INSTANCE.json]`: the core's own validator (the one that
 * checks request bodies and the config) on any document, e.g. an event payload against
 * schemas/events/<type>.json. Exit 0 valid; 1 invalid, one "POINTER: message" line per
 * error on stdout; 2 when a file cannot be read or the schema cannot be used. */
static int cmd_validate(int argc, char **argv) {
  if (argc < 1 || argc > 2) {
    fprintf(stderr,
            "usage: talentd validate SCHEMA.json [INSTANCE.json]  (the instance on stdin by default)\n");
    return 2;
  }
  json_error_t jerr;
  json_t *schema = json_load_file(argv[0], JSON_DECODE_ANY, &jerr);
  if (schema == NULL) {
    fprintf(stderr, "talentd validate: %s: line %d: %s\n", argv[0], jerr.line, jerr.text);
    return 2;
  }
  const char *from = argc == 2 ? argv[1] : "stdin";
  json_t *instance =
      argc == 2 ? json_load_file(argv[1], JSON_DECODE_ANY, &jerr) : json_loadf(stdin, JSON_DECODE_ANY, &jerr);
  if (instance == NULL) {
    fprintf(stderr, "talentd validate: %s: line %d: %s\n", from, jerr.line, jerr.text);
    json_decref(schema);
    return 2;
  }
  td__schema_errors_t errors = {0};
  int rc = td__schema_validate(schema, schema, instance, &errors, 100);
  int status = rc == 0 ? 0 : rc == 1 ? 1 : 2;
  if (rc < 0)
    fprintf(stderr, "talentd validate: %s cannot be used as a schema (%s)\n", argv[0],
            rc == -ENOTSUP  ? "it uses a keyword or pattern this validator does not implement"
            : rc == -ELOOP  ? "its nesting or $ref chain is too deep"
            : rc == -ENOMEM ? "out of memory"
                            : "a keyword has a malformed value or a $ref does not resolve");
  for (size_t i = 0; rc == 1 && i < errors.count; i++)
    printf("%s: %s\n", errors.items[i].pointer[0] ? errors.items[i].pointer : "(document)",
           errors.items[i].message);
  td__schema_errors_free(&errors);
  json_decref(instance);
  json_decref(schema);
  return status;
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) {
    fprintf(stderr, "talentd: libsodium failed to initialise\n");
    return 1;
  }
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  bool two_words = argc > 2 && (strcmp(cmd, "user") == 0 || strcmp(cmd, "token") == 0 ||
                                strcmp(cmd, "import") == 0 || strcmp(cmd, "script") == 0);
  const char *sub = two_words ? argv[2] : NULL;
  int shift = two_words ? 2 : 1;
  options_t o = {0};
  if (parse_options(argc - shift, argv + shift, &o) != 0) {
    usage(stderr);
    return 2;
  }
  char **rest = argv + shift + o.first_arg;
  int rest_count = argc - shift - o.first_arg;
  if (strcmp(cmd, "serve") == 0) return cmd_serve(&o);
  if (strcmp(cmd, "migrate") == 0) return cmd_migrate(&o);
  if (strcmp(cmd, "user") == 0 && sub && strcmp(sub, "add") == 0) return cmd_user_add(&o);
  if (strcmp(cmd, "token") == 0 && sub && strcmp(sub, "create") == 0) return cmd_token_create(&o);
  if (strcmp(cmd, "demo") == 0) return td__cli_demo(o.data);
  if (strcmp(cmd, "import") == 0 && sub && strcmp(sub, "candidates") == 0)
    return td__cli_import_candidates(o.data, rest_count > 0 ? rest[0] : NULL, o.maps, o.map_count);
  if (strcmp(cmd, "openapi") == 0) return cmd_openapi();
  if (strcmp(cmd, "routes") == 0) return cmd_routes(&o);
  if (strcmp(cmd, "hooks") == 0) return cmd_hooks(&o);
  if (strcmp(cmd, "plugin") == 0) {
    json_t *config = td__config_load(o.config, o.sets, o.set_count);
    if (config == NULL) return 2;
    int rc = td__cli_plugin(rest_count, rest, o.data ? o.data : "data", config);
    json_decref(config);
    return rc;
  }
  if (strcmp(cmd, "script") == 0) {
    json_t *config = td__config_load(o.config, o.sets, o.set_count);
    if (config == NULL) return 2;
    int rc = td__cli_script(sub, rest_count, rest, o.data, o.name, o.since, config);
    json_decref(config);
    return rc;
  }
  if (strcmp(cmd, "validate") == 0) return cmd_validate(rest_count, rest);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    printf("talentd %s (schema %d)\n", TD_VERSION, td__migrate_latest());
    return 0;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
    usage(stdout);
    return 0;
  }
  usage(stderr);
  return 2;
}
