/* The serve command: open and migrate the store, start the writer and the HTTP listener,
 * measure event-loop lag, and stop cleanly on SIGTERM/SIGINT within 5 seconds. */
#include "api/app.h"
#include "hooks/delivery.h"
#include "hooks/events.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/openapi.h"
#include "net/client.h"
#include "net/mail_xfer.h"
#include "net/ssrf.h"
#include "plugin/host.h"
#include "auth/authn.h"
#include "domain/housekeeping.h"
#include "domain/server_started.h"
#include "domain/phone.h"
#include "hooks/registry.h"
#include "lua/manager.h"
#include "sched/sched.h"
#include "sched/stale_runner.h"
#include "store/checkpointer.h"
#include "store/migrate.h"
#include "store/reader.h"
#include "talentd/types.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/metrics.h"
#include "util/time.h"

#define LAG_INTERVAL_MS 50
#define STOP_DEADLINE_MS 4500
#define HOUSEKEEPING_INTERVAL_MS (10 * 60 * 1000)

static void apply_config(td__app_t *app) {
  const json_t *c = app->config;
  td__http_limits_t *l = &app->limits;
  td__http_limits_default(l);
  l->max_url = (size_t)td__config_int(c, "http.max_url_bytes", (long long)l->max_url);
  l->max_header = (size_t)td__config_int(c, "http.max_header_bytes", (long long)l->max_header);
  l->max_headers = (size_t)td__config_int(c, "http.max_headers", (long long)l->max_headers);
  l->max_header_bytes =
      (size_t)td__config_int(c, "http.max_total_header_bytes", (long long)l->max_header_bytes);
  l->max_body = (size_t)td__config_int(c, "http.max_body_bytes", (long long)l->max_body);
  l->header_timeout_ms = (unsigned)td__config_int(c, "http.header_timeout_ms", l->header_timeout_ms);
  l->body_timeout_ms = (unsigned)td__config_int(c, "http.body_timeout_ms", l->body_timeout_ms);
  l->keepalive_timeout_ms = (unsigned)td__config_int(c, "http.keepalive_timeout_ms", l->keepalive_timeout_ms);
  l->send_timeout_ms = (unsigned)td__config_int(c, "http.send_timeout_ms", l->send_timeout_ms);
  l->max_requests_per_conn =
      (unsigned)td__config_int(c, "http.max_requests_per_connection", l->max_requests_per_conn);
  l->max_connections = (unsigned)td__config_int(c, "http.max_connections", l->max_connections);
  l->max_connections_per_ip =
      (unsigned)td__config_int(c, "http.max_connections_per_ip", l->max_connections_per_ip);
  l->max_write_queue = (size_t)td__config_int(c, "http.max_write_queue_bytes", (long long)l->max_write_queue);
  l->max_connection_ms =
      (unsigned)td__config_int(c, "http.max_connection_ms", (long long)l->max_connection_ms);
  app->upload_limit = (size_t)td__config_int(c, "http.max_upload_bytes", 10LL * 1024 * 1024);

  td__auth_settings_t *a = &td__auth_settings;
  a->argon2_memlimit = (unsigned long long)td__config_int(c, "auth.argon2_memlimit_mib", 19) * 1024 * 1024;
  a->argon2_opslimit = (unsigned long long)td__config_int(c, "auth.argon2_opslimit", 2);
  a->session_idle_ms = td__config_int(c, "auth.session_idle_minutes", 30) * 60 * 1000;
  a->session_absolute_ms = td__config_int(c, "auth.session_absolute_hours", 12) * 3600 * 1000;
  a->login_failures_per_account = (int)td__config_int(c, "auth.login_failures_per_account_per_hour", 100);
  a->login_failures_per_ip = (int)td__config_int(c, "auth.login_failures_per_ip_per_hour", 1000);

  td__phone_set_default_calling_code(td__config_str(c, "candidates.default_calling_code", "1"));

  const char *level = td__config_str(c, "log_level", "info");
  td__log_set_level(strcmp(level, "debug") == 0   ? TD_LOG_DEBUG
                    : strcmp(level, "warn") == 0  ? TD_LOG_WARN
                    : strcmp(level, "error") == 0 ? TD_LOG_ERROR
                                                  : TD_LOG_INFO);
}

/* A 50 ms timer whose lateness is the event-loop lag. */
static void on_lag_tick(uv_timer_t *t) {
  td__app_t *app = t->data;
  uint64_t now = uv_hrtime();
  if (app->lag_expected_ns) {
    double late = now > app->lag_expected_ns ? (double)(now - app->lag_expected_ns) / 1e9 : 0;
    td__metrics_observe_loop_lag(late);
  }
  app->lag_expected_ns = now + LAG_INTERVAL_MS * 1000000ULL;
}

/* Housekeeping runs as an ordinary write every few minutes. */
static int run_housekeeping(td__db_t *db, void *arg) {
  (void)arg;
  return td__housekeeping_run(db, td__time_now_ms(), td__auth_settings.session_absolute_ms);
}

static void housekeeping_done(void *arg, int rc) {
  td__app_t *app = arg;
  app->housekeeping_busy = false;
  if (rc) td__log(TD_LOG_WARN, "housekeeping_failed", json_pack("{s:i}", "code", rc));
}

static void on_housekeeping_tick(uv_timer_t *t) {
  td__app_t *app = t->data;
  if (app->housekeeping_busy || app->stopping || app->writer == NULL) return;
  app->housekeeping_busy = true;
  app->housekeeping_op = (td__write_op_t){.run = run_housekeeping, .done = housekeeping_done, .arg = app};
  td__writer_submit(app->writer, &app->housekeeping_op);
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* The last step of a stop, once HTTP has drained and the outbound client has closed (its
 * cancelled callbacks run on their own loop turns, which must happen before uv_walk). */
static void finish_stop(td__app_t *app) {
  uv_timer_stop(&app->stop_timer);
  td__lua_manager_stop();
  td__delivery_stop(app->delivery);
  app->delivery = NULL;
  td__writer_stop(app->writer);
  app->writer = NULL;
  uv_timer_stop(&app->lag_timer);
  uv_timer_stop(&app->housekeeping_timer);
  td__reader_background_stop();
  uv_walk(app->loop, close_walk, NULL);
}

static void on_drained(void *arg) {
  td__app_t *app = arg;
  app->drained = true;
  if (app->net == NULL) finish_stop(app);
}

static void on_net_closed(void *arg) {
  td__app_t *app = arg;
  app->net = NULL;
  if (app->drained) finish_stop(app);
}

/* Mail stops first (its thread joined, its transfers "cancelled"), then the outbound HTTP
 * client: a plugin's mail callback may still start an HTTP request, which the client cancels. */
static void on_mail_closed(void *arg) {
  td__app_t *app = arg;
  if (app->net) td__net_close(app->net, on_net_closed, app); /* in-flight requests: "cancelled" */
}

static void on_stop_deadline(uv_timer_t *t) {
  td__app_t *app = t->data;
  td__log(TD_LOG_WARN, "stop_deadline",
          json_pack("{s:I}", "inflight", (json_int_t)td__http_server_inflight(app->http)));
  /* Writes already queued still finish (the writer drains), in-flight reads are answered
   * by nobody: the clients see a closed connection, never a half-write. */
  td__lua_manager_stop();
  td__delivery_stop(app->delivery);
  app->delivery = NULL;
  if (app->writer) {
    td__writer_stop(app->writer);
    app->writer = NULL;
  }
  td__reader_background_stop();
  uv_walk(app->loop, close_walk, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
  td__app_t *app = s->data;
  if (app->stopping) return;
  app->stopping = true;
  td__sched_stop(app->sched); /* before the writer stops and before uv_walk closes handles */
  app->sched = NULL;
  td__mail_xfer_close(on_mail_closed, app); /* then the HTTP client */
  td__log(TD_LOG_INFO, "stopping", json_pack("{s:i}", "signal", signum));
  uv_timer_start(&app->stop_timer, on_stop_deadline, STOP_DEADLINE_MS, 0);
  td__http_server_shutdown(app->http, on_drained, app);
}

/* Removes upload spool files a previous run left behind (kill -9, or a stop past its
 * deadline). Start-up only: blocking file calls are fine before the loop runs. */
static void clean_upload_spool(const char *data_dir) {
  char *dir = td__xprintf("%s/tmp", data_dir);
  DIR *d = opendir(dir);
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strncmp(e->d_name, "upload-", 7) != 0) continue;
      char *path = td__xprintf("%s/%s", dir, e->d_name);
      unlink(path);
      free(path);
    }
    closedir(d);
  }
  free(dir);
}

static int ensure_data_dir(const char *dir) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "talentd: cannot create data directory %s: %s\n", dir, strerror(errno));
    return TD_EIO;
  }
  return 0;
}

/* Opens the database, applies migrations, and hands the connection back for the writer. */
static int open_store(td__app_t *app, td__db_t **out) {
  td__db_t *db = NULL;
  if (td__db_open(app->db_path, TD_DB_READWRITE, &db) != 0) {
    fprintf(stderr, "talentd: cannot open %s\n", app->db_path);
    return TD_EIO;
  }
  const char *message = NULL;
  int rc = td__migrate(db, &message);
  if (rc) {
    fprintf(stderr, "talentd: %s\n", message ? message : "migration failed");
    td__db_close(db);
    return rc;
  }
  *out = db;
  return 0;
}

/* server.started, with the plugins that loaded (on the start-up connection, before the
 * writer thread owns it). */
static void emit_server_started(td__app_t *app, td__db_t *db) {
  json_t *names = json_array();
  for (td_plugin_t *p = app->plugins ? app->plugins->first : NULL; p; p = p->next)
    if (p->loaded) json_array_append_new(names, json_string(p->name));
  td__server_started_emit(db, names, td__time_now_ms());
  json_decref(names);
}

/* The outbound HTTP client and its SSRF policy from outbound.* of the configuration. */
static int start_outbound(td__app_t *app) {
  const json_t *out = json_object_get(app->config, "outbound");
  const json_t *hosts = json_object_get(out, "allow_hosts");
  size_t n = json_array_size(hosts);
  const char **allow = td__xcalloc(n + 1, sizeof *allow);
  for (size_t i = 0; i < n; i++) allow[i] = json_string_value(json_array_get(hosts, i));
  td__net_config_t cfg = td__net_config_default();
  cfg.allow_hosts = allow;
  cfg.allow_hosts_len = n;
  cfg.allow_http = json_is_true(json_object_get(out, "allow_http"));
  cfg.per_destination_concurrency = (int)td__config_int(app->config, "outbound.per_destination_concurrency",
                                                        cfg.per_destination_concurrency);
  cfg.max_pending = (int)td__config_int(app->config, "outbound.max_pending", cfg.max_pending);
  cfg.connect_timeout_ms = td__config_int(app->config, "outbound.connect_timeout_ms", cfg.connect_timeout_ms);
  cfg.timeout_ms = td__config_int(app->config, "outbound.timeout_ms", cfg.timeout_ms);
  cfg.max_response_bytes =
      (size_t)td__config_int(app->config, "outbound.max_response_bytes", (long long)cfg.max_response_bytes);
  char err[200] = "";
  int rc = td__net_new(app->loop, &cfg, &app->net, err, sizeof err);
  if (rc == 0) rc = td__ssrf_policy_new(allow, n, cfg.allow_http, &app->outbound_policy, err, sizeof err);
  free(allow);
  if (rc) fprintf(stderr, "talentd: outbound.allow_hosts: %s\n", err);
  return rc;
}

int td__app_serve(json_t *config) {
  td__app_t app_storage = {0}, *app = &app_storage;
  app->config = config;
  app->loop = uv_default_loop();
  app->started_ms = td__time_now_ms();
  apply_config(app);
  const char *data = td__config_str(config, "data", "data");
  app->data_dir = td__xstrdup(data);
  app->db_path = td__xprintf("%s/talentd.db", data);
  int exit_code = 1;
  td__db_t *db = NULL;
  const char *error = NULL;
  if (ensure_data_dir(app->data_dir) || open_store(app, &db)) goto out;
  clean_upload_spool(app->data_dir);
  app->openapi = td__openapi_build(&error);
  if (app->openapi == NULL) {
    fprintf(stderr, "talentd: %s\n", error);
    td__db_close(db);
    goto out;
  }
  /* Plugins register their hooks, handlers and routes now, before anything is frozen. */
  td__plugins_boot(config, app->data_dir, db, true, app->openapi, &app->plugins);
  app->openapi_text = json_dumps(app->openapi, JSON_COMPACT | JSON_PRESERVE_ORDER);
  app->openapi_text_len = app->openapi_text ? strlen(app->openapi_text) : 0;
  /* Lua scripts of the data directory: one that fails to load is logged and skipped. */
  td__lua_manager_start(db, config, false);
  /* Every package registered its hooks while starting; from here the registry is read-only
   * (the writer thread reads it without locks). */
  if (td__hooks_freeze(json_object_get(json_object_get(config, "hooks"), "order")) != 0) {
    fprintf(stderr, "talentd: hooks.order in the configuration is invalid\n");
    td__db_close(db);
    goto out;
  }
  td__reader_configure(app->db_path);
  /* Checkpoints run on their own thread, not inside the writer's commits. */
  td__db_exec(db, "PRAGMA wal_autocheckpoint=0");
  if (td__checkpointer_start(app->db_path, 500, &app->checkpointer) != 0) {
    td__db_exec(db, "PRAGMA wal_autocheckpoint=2000");
    app->checkpointer = NULL;
  }
  td__stale_ensure_series(db, td__time_now_ms());
  emit_server_started(app, db);
  td__writer_start(app->loop, db, &app->writer);
  td__mail_xfer_configure(
      (double)td__config_int(app->config, "mail.max_messages_per_second", TD_MAIL_DEFAULT_PER_SECOND));
  if (start_outbound(app) != 0) {
    if (app->net) td__net_close(app->net, NULL, NULL);
    td__writer_stop(app->writer);
    uv_run(app->loop, UV_RUN_DEFAULT);
    td__checkpointer_stop(app->checkpointer);
    goto out;
  }
  td__plugins_start(app->plugins, app->loop, app->writer, app->net, app->outbound_policy);
  td__stale_register(config, app->loop, app->writer);
  td__sched_start(app->loop, app->writer, &app->sched);
  if (td__delivery_start(app->loop, app->writer, NULL, &app->delivery) != 0) app->delivery = NULL;
  td__lua_manager_bind(app->loop, app->writer, app->net, app->delivery);
  app->login_limits = td__ratelimit_new(3600 * 1000);

  const char *listen = td__config_str(config, "listen", "127.0.0.1:8080");
  char host[256];
  const char *colon = strrchr(listen, ':');
  snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - listen) : 0, listen);
  int port = colon ? atoi(colon + 1) : 8080; /* validated by the config schema */
  if (td__http_server_start(app->loop, host, port, &app->limits, td__dispatch, td__dispatch_body_limit, app,
                            &app->http) != 0) {
    fprintf(stderr, "talentd: cannot listen on %s\n", listen);
    td__mail_xfer_close(NULL, NULL); /* a plugin may have started a transfer in its start */
    td__net_close(app->net, NULL, NULL);
    td__sched_stop(app->sched);
    app->sched = NULL;
    td__delivery_stop(app->delivery);
    td__writer_stop(app->writer);
    uv_run(app->loop, UV_RUN_DEFAULT);
    goto out;
  }
  uv_timer_init(app->loop, &app->lag_timer);
  app->lag_timer.data = app;
  uv_timer_start(&app->lag_timer, on_lag_tick, LAG_INTERVAL_MS, LAG_INTERVAL_MS);
  uv_timer_init(app->loop, &app->housekeeping_timer);
  app->housekeeping_timer.data = app;
  uv_timer_start(&app->housekeeping_timer, on_housekeeping_tick, 1000, HOUSEKEEPING_INTERVAL_MS);
  uv_timer_init(app->loop, &app->stop_timer);
  app->stop_timer.data = app;
  uv_signal_init(app->loop, &app->sig_term);
  uv_signal_init(app->loop, &app->sig_int);
  app->sig_term.data = app->sig_int.data = app;
  uv_signal_start(&app->sig_term, on_signal, SIGTERM);
  uv_signal_start(&app->sig_int, on_signal, SIGINT);
  signal(SIGPIPE, SIG_IGN);

  printf("talentd listening on http://%s:%d\n", host, td__http_server_port(app->http));
  fflush(stdout);
  td__log(TD_LOG_INFO, "listening",
          json_pack("{s:s,s:i}", "host", host, "port", td__http_server_port(app->http)));
  uv_run(app->loop, UV_RUN_DEFAULT);
  td__reader_close_all();
  td__checkpointer_stop(app->checkpointer);
  td__plugins_shutdown(app->plugins);
  td__hooks_reset();
  td__event_subscribers_reset();
  td__sched_reset();
  /* After the loop ended and the registry forgot them: no call of a script can run. */
  td__lua_manager_shutdown();
  td__log(TD_LOG_INFO, "stopped", NULL);
  exit_code = 0;
out:
  uv_loop_close(app->loop);
  td__lua_manager_shutdown(); /* a no-op after a normal stop */
  td__plugins_free(app->plugins);
  td__ssrf_policy_free(app->outbound_policy);
  free(app->http);
  td__ratelimit_free(app->login_limits);
  json_decref(app->openapi);
  free(app->openapi_text);
  json_decref(app->config);
  free(app->data_dir);
  free(app->db_path);
  return exit_code;
}
