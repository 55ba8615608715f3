/* The script manager: loading scripts at start-up, live replacement and retirement of
 * packages (see manager.h). */
#include "lua/manager.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/delivery.h"
#include "hooks/registry.h"
#include "lua/bridge.h"
#include "sched/sched.h"
#include "store/reader.h"
#include "store/writer.h"
#include "talentd/types.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define RETIRE_POLL_MS 20

/* An old package on its way out: its snapshot is freed after a writer op, the package once
 * none of its event calls runs. */
typedef struct retire {
  td__hooks_retired_t *retired;
  td__lua_package_t *pkg;
  td__write_op_t op;
  uv_timer_t timer;
  struct retire *next;
} retire_t;

typedef struct entry {
  char name[TD_LUA_PACKAGE_MAX];
  td__lua_package_t *pkg;
} entry_t;

static struct {
  pthread_mutex_t lock; /* guards entries and n (read by reader threads) */
  entry_t *entries;
  size_t n;
  const json_t *config;
  uv_loop_t *loop;
  struct td__writer *writer;
  struct td__net *net;
  struct td__delivery *delivery;
  retire_t *retiring;
} M = {.lock = PTHREAD_MUTEX_INITIALIZER};

bool td__script_name_valid(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len >= TD_LUA_PACKAGE_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

static int manifest_fail(char **error, const char *message) {
  *error = td__xprintf("line 1: the manifest header %s", message);
  return TD_EINVAL;
}

int td__script_manifest_parse(const char *source, size_t len, td__script_manifest_t *m, char **error) {
  static const char prefix[] = "-- talentd:";
  memset(m, 0, sizeof *m);
  m->role = TD_ROLE_RECRUITER;
  *error = NULL;
  if (len < sizeof prefix - 1 || memcmp(source, prefix, sizeof prefix - 1) != 0) return 0;
  const char *start = source + sizeof prefix - 1;
  const char *end = memchr(start, '\n', len - (size_t)(start - source));
  size_t n = end ? (size_t)(end - start) : len - (size_t)(start - source);
  json_error_t jerr;
  json_t *h = json_loadb(start, n, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(h)) {
    json_decref(h);
    return manifest_fail(error,
                         "must be a JSON object: -- talentd: {\"description\": \"...\", \"role\": \"...\"}");
  }
  int rc = 0;
  const char *key;
  json_t *v;
  json_object_foreach(h, key, v) {
    if (strcmp(key, "description") == 0 && json_is_string(v) &&
        json_string_length(v) < sizeof m->description) {
      snprintf(m->description, sizeof m->description, "%s", json_string_value(v));
    } else if (strcmp(key, "role") == 0 && json_is_string(v) && td__role_parse(json_string_value(v))) {
      m->role = td__role_parse(json_string_value(v));
    } else if (strcmp(key, "description") == 0 || strcmp(key, "role") == 0) {
      rc = manifest_fail(error, strcmp(key, "role") == 0
                                    ? "member role must be admin, recruiter, hiring_manager or interviewer"
                                    : "member description must be a string under 512 bytes");
      break;
    } else {
      *error = td__xprintf(
          "line 1: the manifest header has an unknown member '%.64s' (allowed: "
          "description, role)",
          key);
      rc = TD_EINVAL;
      break;
    }
  }
  json_decref(h);
  return rc;
}

void td__lua_manager_host(const char *name, const td__principal_t *principal, td__lua_host_t *out) {
  memset(out, 0, sizeof *out);
  out->loop = M.loop;
  out->writer = M.writer;
  out->net = M.net;
  if (principal) out->principal = *principal;
  out->principal.via = TD_VIA_SYSTEM;
  out->principal.can_write = true;
  out->config = json_object_get(json_object_get(M.config, "scripts"), name);
}

/* --- the package table --- */

static entry_t *find(const char *name) {
  for (size_t i = 0; i < M.n; i++)
    if (strcmp(M.entries[i].name, name) == 0) return &M.entries[i];
  return NULL;
}

/* Sets name's package (NULL removes it) and returns the previous one. */
static td__lua_package_t *swap_entry(const char *name, td__lua_package_t *pkg) {
  pthread_mutex_lock(&M.lock);
  entry_t *e = find(name);
  td__lua_package_t *old = e ? e->pkg : NULL;
  if (e && pkg) {
    e->pkg = pkg;
  } else if (e) {
    *e = M.entries[--M.n];
  } else if (pkg) {
    M.entries = td__xrealloc(M.entries, (M.n + 1) * sizeof *M.entries);
    snprintf(M.entries[M.n].name, sizeof M.entries[M.n].name, "%s", name);
    M.entries[M.n++].pkg = pkg;
  }
  pthread_mutex_unlock(&M.lock);
  return old;
}

bool td__lua_manager_info(const char *name, json_t **regs) {
  if (regs) *regs = NULL;
  pthread_mutex_lock(&M.lock);
  entry_t *e = find(name);
  if (e && regs) {
    *regs = json_array();
    for (size_t i = 0; i < e->pkg->nregs; i++) {
      const td__lua_reg_t *r = &e->pkg->regs[i];
      const char *kind = r->kind == TD_LUA_REG_EVENT ? "event" : "filter";
      json_array_append_new(
          *regs, json_pack("{s:s, s:s, s:i}", "kind", kind, "name", r->name, "priority", r->priority));
    }
    for (size_t i = 0; i < e->pkg->nruns; i++)
      json_array_append_new(
          *regs, json_pack("{s:s, s:s, s:i}", "kind", "run", "name", e->pkg->runs[i].name, "priority", 0));
  }
  pthread_mutex_unlock(&M.lock);
  return e != NULL;
}

/* --- scheduled runs --- */

/* Every run of a script's talent.on_run handler, "script.<package>.<name>" (run names have
 * no dots), goes through one prefix handler that finds the package live at call time: a
 * script loaded or reloaded while the server runs receives its runs at once, and a reloaded
 * script the runs its earlier version scheduled. */
static void on_run_done(void *ud, int rc, const json_t *results, const char *error) {
  (void)results;
  td__sched_finish(ud, rc, rc ? (error ? error : "the script failed") : NULL);
}

static void run_dispatch(td__sched_call_t *call, void *data) {
  (void)data;
  const char *rest = call->handler + strlen(TD_SCRIPT_RUN_PREFIX);
  const char *dot = strrchr(rest, '.');
  char package[TD_LUA_PACKAGE_MAX];
  if (dot == NULL || dot == rest || (size_t)(dot - rest) >= sizeof package) {
    td__sched_finish(call, TD_EINVAL, "not a script run handler name");
    return;
  }
  snprintf(package, sizeof package, "%.*s", (int)(dot - rest), rest);
  pthread_mutex_lock(&M.lock);
  entry_t *e = find(package);
  td__lua_package_t *pkg = e ? e->pkg : NULL;
  pthread_mutex_unlock(&M.lock);
  if (pkg == NULL) {
    td__sched_finish(call, TD_ENOTFOUND, "the script is not loaded");
    return;
  }
  int rc = td__lua_package_run_call(pkg, dot + 1, call->payload, on_run_done, call);
  if (rc != 0)
    td__sched_finish(call, rc,
                     rc == TD_ENOTFOUND ? "the script has no such talent.on_run handler"
                                        : "the script could not be started");
}

/* --- start-up --- */

/* Loads one script of the start-up connection; returns 0 when it is live. */
static int start_one(td__db_t *db, const char *name, const char *source, bool list_only) {
  td__script_manifest_t m;
  char *error = NULL;
  td__principal_t principal = {0};
  int rc = td__script_manifest_parse(source, strlen(source), &m, &error);
  principal.role = m.role;
  if (rc == 0 && !list_only) {
    rc = td__script_user_ensure(db, name, m.role, td__time_now_ms(), principal.user_id);
    if (rc) error = td__xprintf("script '%s': its user could not be created (%s)", name, td_strerror(rc));
  }
  td__lua_package_t *pkg = NULL;
  if (rc == 0) {
    td__lua_host_t host;
    td__lua_manager_host(name, &principal, &host);
    rc = td__lua_package_load(name, source, strlen(source), NULL, &host, &pkg, &error);
  }
  if (rc == 0) rc = td__lua_bridge_register(pkg, M.loop);
  if (rc != 0) {
    td__log(TD_LOG_ERROR, "script.load_failed",
            json_pack("{s:s, s:s}", "package", name, "error", error ? error : td_strerror(rc)));
    if (!list_only) td__script_set_error(db, name, error ? error : td_strerror(rc));
    free(error);
    /* Registrations made before a failure stay in the registry: keep the package alive
     * until shutdown, but not in the table (it is not live). */
    if (pkg) {
      retire_t *r = td__xcalloc(1, sizeof *r);
      r->pkg = pkg;
      r->next = M.retiring;
      M.retiring = r;
    }
    return rc;
  }
  if (!list_only) {
    td__script_set_error(db, name, NULL);
  }
  swap_entry(name, pkg);
  return 0;
}

int td__lua_manager_start(td__db_t *db, const json_t *config, bool list_only) {
  M.config = config;
  if (!list_only) td__sched_register_prefix(TD_SCRIPT_RUN_PREFIX, "scripts", run_dispatch, NULL);
  td__stmt_t *st = td__db_stmt(db, "SELECT name, source FROM scripts WHERE enabled = 1 ORDER BY name");
  if (st == NULL) return 0;
  json_t *rows = json_array();
  while (td__stmt_step(st) == 1)
    json_array_append_new(rows, json_pack("[s, s]", td__stmt_text(st, 0), td__stmt_text(st, 1)));
  int loaded = 0;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    if (start_one(db, json_string_value(json_array_get(row, 0)), json_string_value(json_array_get(row, 1)),
                  list_only) == 0)
      loaded++;
  }
  json_decref(rows);
  if (json_array_size(rows) > 0 && !list_only)
    td__log(TD_LOG_INFO, "scripts.loaded", json_pack("{s:i}", "count", loaded));
  return loaded;
}

void td__lua_manager_bind(uv_loop_t *loop, struct td__writer *writer, struct td__net *net,
                          struct td__delivery *delivery) {
  M.loop = loop;
  M.writer = writer;
  M.net = net;
  M.delivery = delivery;
  /* Before the loop runs: no call of these packages has started yet. */
  for (size_t i = 0; i < M.n; i++) {
    td__lua_package_t *p = M.entries[i].pkg;
    p->host.loop = loop;
    p->host.writer = writer;
    p->host.net = net;
    if (p->loop == NULL) p->loop = loop;
  }
}

/* --- retirement --- */

static void retire_unlink(retire_t *r) {
  for (retire_t **p = &M.retiring; *p; p = &(*p)->next)
    if (*p == r) {
      *p = r->next;
      return;
    }
}

static void on_retire_closed(uv_handle_t *h) {
  retire_t *r = h->data;
  retire_unlink(r);
  td__lua_package_free(r->pkg);
  free(r);
}

static void on_retire_poll(uv_timer_t *t) {
  retire_t *r = t->data;
  if (r->pkg && td__lua_calls_running(r->pkg->events) > 0) return;
  uv_timer_stop(t);
  uv_close((uv_handle_t *)t, on_retire_closed);
}

static int retire_noop(td__db_t *db, void *arg) {
  (void)db;
  (void)arg;
  return 0;
}

/* The writer finished an op submitted after the swap: no filter can still read the old
 * snapshot; the old package goes once its event calls are done. */
static void retire_done(void *arg, int rc) {
  (void)rc;
  retire_t *r = arg;
  td__hooks_retired_free(r->retired);
  r->retired = NULL;
  uv_timer_init(M.loop, &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, on_retire_poll, 0, RETIRE_POLL_MS);
}

static void retire(td__hooks_retired_t *retired, td__lua_package_t *old) {
  retire_t *r = td__xcalloc(1, sizeof *r);
  r->retired = retired;
  r->pkg = old;
  r->next = M.retiring;
  M.retiring = r;
  if (M.writer == NULL) return; /* stopping: freed at shutdown */
  r->op = (td__write_op_t){.run = retire_noop, .done = retire_done, .arg = r};
  td__writer_submit(M.writer, &r->op);
}

/* --- live changes --- */

static int replace(const char *name, td__lua_package_t *pkg) {
  td__hook_spec_t *specs = td__xcalloc(TD_LUA_REG_MAX, sizeof *specs);
  size_t n = 0;
  int rc = pkg ? td__lua_bridge_specs(pkg, M.loop, specs, TD_LUA_REG_MAX, &n) : 0;
  td__hooks_retired_t *retired = NULL;
  if (rc == 0) rc = td__hooks_replace_package(name, specs, n, &retired);
  free(specs);
  if (rc != 0) {
    td__log(TD_LOG_ERROR, "script.swap_failed", json_pack("{s:s, s:i}", "package", name, "code", rc));
    return rc;
  }
  if (M.delivery) td__delivery_resync(M.delivery);
  td__lua_package_t *old = swap_entry(name, pkg);
  retire(retired, old);
  td__log(TD_LOG_INFO, pkg ? "script.installed" : "script.removed",
          json_pack("{s:s, s:I}", "package", name, "registrations", (json_int_t)n));
  return 0;
}

int td__lua_manager_install(td__lua_package_t *pkg) {
  char name[TD_LUA_PACKAGE_MAX];
  snprintf(name, sizeof name, "%s", pkg->name);
  pkg->host.loop = M.loop;
  pkg->host.writer = M.writer;
  pkg->host.net = M.net;
  int rc = replace(name, pkg);
  if (rc) td__lua_package_free(pkg);
  return rc;
}

int td__lua_manager_remove(const char *name) {
  if (!td__lua_manager_info(name, NULL)) return TD_ENOTFOUND;
  return replace(name, NULL);
}

/* td__lua_manager_put: the load on a reader thread, the install on the loop. */
typedef struct put {
  td__read_op_t op;
  char name[TD_LUA_PACKAGE_MAX];
  char *source;
  size_t len;
  td__principal_t principal;
  td__lua_package_t *pkg;
  char *error;
  td__lua_manager_done_fn done;
  void *ud;
} put_t;

static int put_run(td__db_t *db, void *arg) {
  (void)db;
  put_t *p = arg;
  td__script_manifest_t m;
  int rc = td__script_manifest_parse(p->source, p->len, &m, &p->error);
  if (rc) return rc;
  if (p->principal.role == TD_ROLE_NONE) p->principal.role = m.role;
  td__lua_host_t host;
  td__lua_manager_host(p->name, &p->principal, &host);
  return td__lua_package_load(p->name, p->source, p->len, NULL, &host, &p->pkg, &p->error);
}

static void put_done(void *arg, int rc) {
  put_t *p = arg;
  if (rc == 0 && p->pkg) rc = td__lua_manager_install(p->pkg);
  if (rc != 0 && p->error == NULL) p->error = td__xprintf("script '%s': %s", p->name, td_strerror(rc));
  if (p->done) p->done(p->ud, rc, rc ? p->error : NULL);
  free(p->error);
  free(p->source);
  free(p);
}

int td__lua_manager_put(const char *name, const char *source, size_t len, td__lua_manager_done_fn done,
                        void *ud) {
  put_t *p = td__xcalloc(1, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  p->source = td__xmalloc(len + 1);
  memcpy(p->source, source, len);
  p->source[len] = '\0';
  p->len = len;
  p->done = done;
  p->ud = ud;
  pthread_mutex_lock(&M.lock);
  entry_t *e = find(name);
  if (e) p->principal = e->pkg->host.principal;
  pthread_mutex_unlock(&M.lock);
  p->op = (td__read_op_t){.run = put_run, .done = put_done, .arg = p};
  int rc = td__reader_submit(M.loop, &p->op);
  if (rc) {
    free(p->source);
    free(p);
  }
  return rc;
}

typedef struct note {
  td__write_op_t op;
  char name[TD_LUA_PACKAGE_MAX];
  char *message;
} note_t;

static int note_run(td__db_t *db, void *arg) {
  note_t *n = arg;
  return td__script_set_error(db, n->name, n->message);
}

static void note_done(void *arg, int rc) {
  (void)rc;
  note_t *n = arg;
  free(n->message);
  free(n);
}

void td__lua_manager_note_error(const char *name, const char *message) {
  td__log(TD_LOG_ERROR, "script.swap_failed", json_pack("{s:s, s:s}", "package", name, "error", message));
  if (M.writer == NULL) return;
  note_t *n = td__xcalloc(1, sizeof *n);
  snprintf(n->name, sizeof n->name, "%s", name);
  n->message = td__xprintf("script '%s': %s", name, message);
  n->op = (td__write_op_t){.run = note_run, .done = note_done, .arg = n};
  td__writer_submit(M.writer, &n->op);
}

void td__lua_manager_shutdown(void) {
  while (M.retiring) {
    retire_t *r = M.retiring;
    M.retiring = r->next;
    td__hooks_retired_free(r->retired);
    td__lua_package_free(r->pkg);
    free(r);
  }
  for (size_t i = 0; i < M.n; i++) td__lua_package_free(M.entries[i].pkg);
  free(M.entries);
  M.entries = NULL;
  M.n = 0;
  M.writer = NULL;
  M.net = NULL;
  M.delivery = NULL;
  M.loop = NULL;
  M.config = NULL;
}

void td__lua_manager_stop(void) {
  M.writer = NULL;
  M.delivery = NULL;
}
