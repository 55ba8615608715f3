/* test_lua_api.c - the talent API of Lua packages (lua/api.h) on a migrated temporary
 * database with a real writer, reader pool and loop: actions through the domain layer as
 * the script's principal (activity and audit rows attributed to the script), a refusal
 * returned as nil, error, outbound HTTP against an in-process server, the filter refusal
 * of I/O, the key/value store, the side-effect cap, schedules, and the dry run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "domain/applications.h"
#include "domain/candidates.h"
#include "lua/dry_run.h"
#include "lua/package.h"
#include "net/client.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/reader.h"
#include "store/writer.h"
#include "talentd/types.h"

static const char *const seed =
    "INSERT INTO users(id, email, name, role, created_at, updated_at) VALUES"
    " ('usr_admin', 'a@example.test', 'A', 'admin', 0, 0),"
    " ('usr_script', 's@example.test', 'Script', 'recruiter', 0, 0),"
    " ('usr_iv', 'i@example.test', 'I', 'interviewer', 0, 0);"
    "INSERT INTO jobs(rowid, id, title, status, created_at, updated_at) VALUES"
    " (1, 'job_1', 'Engineer', 'open', 0, 0);"
    "INSERT INTO stages(rowid, id, job_rowid, name, type, position, deleted_at) VALUES"
    " (1, 'stg_applied', 1, 'Applied', 'applied', 0, NULL), (2, 'stg_screen', 1, 'Screen', 'screen', 1, "
    "NULL);";

typedef struct fx {
  char dir[64], path[128];
  char cand[TD_ID_MAX], app[TD_ID_MAX];
  uv_loop_t loop;
  td__writer_t *writer;
  td__net_t *net;
} fx_t;

static fx_t F;

static td__ctx_t admin_ctx(td__db_t *db) {
  td__ctx_t ctx = {.db = db, .actor_kind = "user", .now_ms = 1700000000000, .cause = "unit"};
  snprintf(ctx.principal.user_id, sizeof ctx.principal.user_id, "usr_admin");
  ctx.principal.role = TD_ROLE_ADMIN;
  ctx.principal.via = TD_VIA_TOKEN;
  return ctx;
}

static int setup(void **state) {
  (void)state;
  memset(&F, 0, sizeof F);
  snprintf(F.dir, sizeof F.dir, "/tmp/td-lua-api-XXXXXX");
  if (mkdtemp(F.dir) == NULL) return -1;
  snprintf(F.path, sizeof F.path, "%s/talentd.db", F.dir);
  td__db_t *db;
  const char *message = NULL;
  if (td__db_open(F.path, TD_DB_READWRITE, &db) || td__migrate(db, &message) || td__db_exec(db, seed))
    return -1;
  td__ctx_t ctx = admin_ctx(db);
  json_t *out = NULL;
  bool created;
  json_t *body = json_pack("{s:s, s:s}", "first_name", "Ana", "last_name", "Lima");
  if (td__candidate_create(&ctx, body, false, &out, &created) != 0) return -1;
  snprintf(F.cand, sizeof F.cand, "%s", json_string_value(json_object_get(out, "id")));
  json_decref(out);
  json_decref(body);
  int64_t version;
  body = json_pack("{s:s, s:s, s:s}", "candidate_id", F.cand, "job_id", "job_1", "source", "referral");
  if (td__application_create(&ctx, body, &out, &version) != 0) return -1;
  snprintf(F.app, sizeof F.app, "%s", json_string_value(json_object_get(out, "id")));
  json_decref(out);
  json_decref(body);
  td__ctx_dispose(&ctx);
  td__db_close(db);
  return 0;
}

static void start_server(void) {
  assert_int_equal(uv_loop_init(&F.loop), 0);
  td__db_t *wdb;
  assert_int_equal(td__db_open(F.path, TD_DB_READWRITE, &wdb), 0);
  assert_int_equal(td__writer_start(&F.loop, wdb, &F.writer), 0);
  td__reader_configure(F.path);
}

static void stop_server(void) {
  td__writer_stop(F.writer);
  uv_run(&F.loop, UV_RUN_DEFAULT);
  td__reader_close_all();
  assert_int_equal(uv_loop_close(&F.loop), 0);
}

static int teardown(void **state) {
  (void)state;
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", F.dir);
  return system(cmd) == 0 ? 0 : -1;
}

static td__lua_package_t *load(const char *name, const char *src, const char *user, td__role_t role) {
  td__lua_host_t host = {.loop = &F.loop, .writer = F.writer, .net = F.net};
  snprintf(host.principal.user_id, sizeof host.principal.user_id, "%s", user);
  host.principal.role = role;
  host.principal.via = TD_VIA_SYSTEM;
  host.principal.can_write = true;
  td__lua_package_t *pkg = NULL;
  char *err = NULL;
  int rc = td__lua_package_load(name, src, strlen(src), NULL, &host, &pkg, &err);
  if (rc != 0) fail_msg("load: %s", err ? err : "?");
  return pkg;
}

typedef struct outcome {
  bool done;
  int rc;
  char error[600];
} outcome_t;

static void on_done(void *ud, int rc, const json_t *results, const char *error) {
  (void)results;
  outcome_t *o = ud;
  o->done = true;
  o->rc = rc;
  snprintf(o->error, sizeof o->error, "%s", error ? error : "");
}

/* Calls the package's first event registration with an event about the candidate. */
static outcome_t fire(td__lua_package_t *pkg, const char *type) {
  json_t *env = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{}}", "id", "evt_1", "type", type, "subject", "type",
                          "candidate", "id", F.cand, "data");
  outcome_t o = {0};
  assert_int_equal(td__lua_package_event_call(pkg, &pkg->regs[0], &F.loop, env, on_done, &o), 0);
  json_decref(env);
  while (!o.done) uv_run(&F.loop, UV_RUN_ONCE);
  return o;
}

static int64_t count(const char *sql) {
  td__db_t *db;
  assert_int_equal(td__db_open(F.path, TD_DB_READONLY, &db), 0);
  td__stmt_t *st = td__db_prepare(db, sql);
  assert_non_null(st);
  assert_int_equal(td__stmt_step(st), 1);
  int64_t n = td__stmt_int(st, 0);
  td__stmt_finalize(st);
  td__db_close(db);
  return n;
}

/* ---------- actions ---------- */

static void test_note_and_tag(void **state) {
  (void)state;
  start_server();
  td__lua_package_t *pkg = load("welcome",
                                "talent.on('candidate.created', function(ev)\n"
                                "  local n, e = talent.note(ev.subject.id, 'Welcome aboard')\n"
                                "  assert(n, e)\n"
                                "  local c, e2 = talent.tag(ev.subject.id, 'auto-tagged')\n"
                                "  assert(c, e2)\n"
                                "  assert(c.tags[1] == 'auto-tagged', 'tags: ' .. tostring(c.tags[1]))\n"
                                "  local got = talent.get('candidate', ev.subject.id)\n"
                                "  assert(got.first_name == 'Ana')\n"
                                "end)\n",
                                "usr_script", TD_ROLE_RECRUITER);
  outcome_t o = fire(pkg, "candidate.created");
  assert_string_equal(o.error, "");
  assert_int_equal(o.rc, 0);
  td__lua_package_free(pkg);
  stop_server();
  assert_int_equal(count("SELECT count(*) FROM activities WHERE kind = 'note' AND author_kind = 'script'"
                         " AND author_id = 'usr_script' AND body = 'Welcome aboard'"),
                   1);
  assert_int_equal(count("SELECT count(*) FROM candidate_tags WHERE tag = 'auto-tagged'"), 1);
  assert_int_equal(
      count("SELECT count(*) FROM audit_log WHERE actor_kind = 'script' AND actor_id = 'usr_script'"
            " AND action = 'talent.note' AND object_type = 'candidate'"
            " AND request_id = 'script:welcome'"),
      1);
  assert_int_equal(
      count("SELECT count(*) FROM audit_log WHERE actor_kind = 'script' AND action = 'talent.tag'"), 1);
}

/* talent.config is read-only all the way down. */
static void test_config_read_only(void **state) {
  (void)state;
  json_t *config = json_pack("{s:{s:i,s:[s]},s:s}", "limits", "max", 3, "tags", "java", "mode", "strict");
  td__lua_host_t host = {.config = config};
  const char *src =
      "assert(talent.config.limits.max == 3 and talent.config.limits.tags[1] == 'java')\n"
      "assert(not pcall(function() talent.config.mode = 'loose' end))\n"
      "assert(not pcall(function() talent.config.limits.max = 99 end))\n"
      "assert(not pcall(function() talent.config.limits.tags[1] = 'x' end))\n"
      "assert(not pcall(rawset, talent.config.limits, 'max', 99))\n"
      "assert(talent.config.limits.max == 3 and talent.config.mode == 'strict')\n";
  td__lua_package_t *pkg = NULL;
  char *err = NULL;
  int rc = td__lua_package_load("cfg", src, strlen(src), NULL, &host, &pkg, &err);
  if (rc != 0) fail_msg("load: %s", err ? err : "?");
  td__lua_package_free(pkg);
  json_decref(config);
}

static void test_interviewer_move_refused(void **state) {
  (void)state;
  start_server();
  char src[512];
  snprintf(src, sizeof src,
           "talent.on('candidate.created', function(ev)\n"
           "  local r, e = talent.move('%s', 'stg_screen', 'fast track')\n"
           "  error('R=' .. tostring(r) .. ' E=' .. tostring(e))\n"
           "end)\n",
           F.app);
  td__lua_package_t *pkg = load("mover", src, "usr_iv", TD_ROLE_INTERVIEWER);
  outcome_t o = fire(pkg, "candidate.created");
  assert_int_not_equal(o.rc, 0);
  assert_non_null(strstr(o.error, "R=nil E="));
  assert_null(strstr(o.error, "E=nil"));
  td__lua_package_free(pkg);
  stop_server();
  assert_int_equal(count("SELECT count(*) FROM applications a JOIN stages s ON s.rowid = a.stage_rowid"
                         " WHERE s.id = 'stg_screen'"),
                   0);
  /* The refusal is audited apart (the action's own savepoint, with its entry, was rolled back). */
  assert_int_equal(count("SELECT count(*) FROM audit_log WHERE actor_kind = 'script' AND actor_id = 'usr_iv'"
                         " AND action = 'talent.move' AND status IN (403, 404)"),
                   1);
}

/* A recruiter script may move: the same call succeeds and is audited. */
static void test_recruiter_move(void **state) {
  (void)state;
  start_server();
  char src[512];
  snprintf(src, sizeof src,
           "talent.on('candidate.created', function(ev)\n"
           "  local r, e = talent.move('%s', 'stg_screen', 'fast track')\n"
           "  assert(r, e)\n"
           "  assert(r.stage_id == 'stg_screen', 'stage ' .. tostring(r.stage_id))\n"
           "  local t = talent.transitions('%s')\n"
           "  assert(#t == 2, 'transitions ' .. #t)\n"
           "end)\n",
           F.app, F.app);
  td__lua_package_t *pkg = load("mover", src, "usr_script", TD_ROLE_RECRUITER);
  outcome_t o = fire(pkg, "candidate.created");
  assert_string_equal(o.error, "");
  td__lua_package_free(pkg);
  stop_server();
  assert_int_equal(
      count("SELECT count(*) FROM audit_log WHERE action = 'talent.move' AND actor_kind = 'script'"), 1);
}

/* ---------- the store, the cap, schedules ---------- */

static void test_store_round_trip(void **state) {
  (void)state;
  start_server();
  td__lua_package_t *pkg = load("counter",
                                "talent.on('candidate.*', function(ev)\n"
                                "  local v = talent.store.get('seen')\n"
                                "  local n = (v and v.n or 0) + 1\n"
                                "  assert(talent.store.set('seen', {n = n, last = ev.type}))\n"
                                "  error('N=' .. n)\n"
                                "end)\n",
                                "usr_script", TD_ROLE_RECRUITER);
  outcome_t o = fire(pkg, "candidate.created");
  assert_non_null(strstr(o.error, "N=1"));
  o = fire(pkg, "candidate.updated");
  assert_non_null(strstr(o.error, "N=2"));
  td__lua_package_free(pkg);
  stop_server();
  assert_int_equal(count("SELECT count(*) FROM lua_store WHERE package = 'counter' AND key = 'seen'"
                         " AND json_extract(value, '$.n') = 2"),
                   1);
}

static void test_side_effect_cap(void **state) {
  (void)state;
  start_server();
  td__lua_package_t *pkg = load("flood",
                                "talent.on('candidate.created', function(ev)\n"
                                "  for i = 1, 11 do assert(talent.note(ev.subject.id, 'n' .. i)) end\n"
                                "end)\n",
                                "usr_script", TD_ROLE_RECRUITER);
  outcome_t o = fire(pkg, "candidate.created");
  assert_int_not_equal(o.rc, 0);
  assert_non_null(strstr(o.error, "talent.note: more than 10 side effects in one call"));
  td__lua_package_free(pkg);
  stop_server();
  assert_int_equal(count("SELECT count(*) FROM activities WHERE author_kind = 'script'"), 10);
}

static void test_schedule_after(void **state) {
  (void)state;
  start_server();
  td__lua_package_t *pkg =
      load("remind",
           "talent.on_run('ping', function(p) end)\n"
           "talent.on('candidate.created', function(ev)\n"
           "  local r = assert(talent.schedule.after(60000, 'ping', {candidate = ev.subject.id}))\n"
           "  assert(r.handler == 'script.remind.ping', r.handler)\n"
           "end)\n",
           "usr_script", TD_ROLE_RECRUITER);
  assert_int_equal(pkg->nruns, 1);
  outcome_t o = fire(pkg, "candidate.created");
  assert_string_equal(o.error, "");
  /* the on_run handler can be called for a due run */
  outcome_t r = {0};
  json_t *payload = json_pack("{s:s}", "candidate", F.cand);
  assert_int_equal(td__lua_package_run_call(pkg, "ping", payload, on_done, &r), 0);
  assert_int_equal(td__lua_package_run_call(pkg, "nope", payload, on_done, &r), TD_ENOTFOUND);
  json_decref(payload);
  while (!r.done) uv_run(&F.loop, UV_RUN_ONCE);
  assert_int_equal(r.rc, 0);
  td__lua_package_free(pkg);
  stop_server();
  assert_int_equal(count("SELECT count(*) FROM scheduled_runs WHERE handler = 'script.remind.ping'"
                         " AND status = 'pending' AND json_extract(payload, '$.candidate') IS NOT NULL"),
                   1);
}

/* ---------- filters ---------- */

static void test_filter_refuses_io_but_reads(void **state) {
  (void)state;
  start_server();
  td__lua_package_t *pkg = load("x",
                                "talent.filter('candidate.before_create', function(p)\n"
                                "  if p.mode == 'read' then\n"
                                "    local c, e = talent.get('candidate', p.id)\n"
                                "    return {first_name = c and c.first_name or e}\n"
                                "  end\n"
                                "  talent.http.request{url = 'https://example.com/'}\n"
                                "end)\n",
                                "usr_script", TD_ROLE_RECRUITER);
  json_t *proposed = json_pack("{s:s}", "mode", "io"), *results = NULL;
  char *err = NULL;
  int rc = td__lua_package_filter_call(pkg, &pkg->regs[0], NULL, proposed, &results, &err);
  assert_int_not_equal(rc, 0);
  assert_string_equal(err,
                      "script 'x': talent.http.request cannot be used in a filter (filters may not do I/O)");
  free(err);
  json_decref(proposed);
  /* reads run synchronously on the filter's transaction */
  td__db_t *db;
  assert_int_equal(td__db_open(F.path, TD_DB_READONLY, &db), 0);
  td__ctx_t ctx = admin_ctx(db);
  proposed = json_pack("{s:s, s:s}", "mode", "read", "id", F.cand);
  rc = td__lua_package_filter_call(pkg, &pkg->regs[0], &ctx, proposed, &results, &err);
  assert_int_equal(rc, 0);
  assert_string_equal(json_string_value(json_object_get(json_array_get(results, 0), "first_name")), "Ana");
  json_decref(results);
  json_decref(proposed);
  td__ctx_dispose(&ctx);
  td__db_close(db);
  td__lua_package_free(pkg);
  stop_server();
}

/* ---------- http ---------- */

typedef struct conn {
  uv_tcp_t tcp;
  char buf[4096];
  size_t len;
} conn_t;

static void conn_closed(uv_handle_t *h) { free(h->data); }
static void written(uv_write_t *w, int status) {
  (void)status;
  uv_close((uv_handle_t *)w->handle, conn_closed);
  free(w);
}
static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)s;
  conn_t *c = h->data;
  *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len - 1));
}
static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  (void)b;
  conn_t *c = st->data;
  if (n < 0) {
    uv_close((uv_handle_t *)st, conn_closed);
    return;
  }
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  if (strstr(c->buf, "\r\n\r\n") == NULL) return;
  uv_read_stop(st);
  static char reply[] =
      "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
      "Connection: close\r\n\r\nhello world";
  uv_write_t *w = calloc(1, sizeof *w);
  uv_buf_t out = uv_buf_init(reply, sizeof reply - 1);
  uv_write(w, st, &out, 1, written);
}
static void on_conn(uv_stream_t *l, int status) {
  (void)status;
  conn_t *c = calloc(1, sizeof *c);
  uv_tcp_init(l->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) == 0) uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}
static void net_closed(void *d) { *(bool *)d = true; }

static void test_http_request(void **state) {
  (void)state;
  start_server();
  uv_tcp_t listener;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(&F.loop, &listener);
  assert_int_equal(uv_tcp_bind(&listener, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&listener, 16, on_conn), 0);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getsockname(&listener, (struct sockaddr *)&ss, &len);
  int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  static const char *const allow[] = {"127.0.0.1"};
  td__net_config_t cfg = td__net_config_default();
  cfg.allow_hosts = allow;
  cfg.allow_hosts_len = 1;
  char err[128];
  assert_int_equal(td__net_new(&F.loop, &cfg, &F.net, err, sizeof err), 0);
  char src[600];
  snprintf(src, sizeof src,
           "talent.on('candidate.created', function(ev)\n"
           "  local r, e = talent.http.request{method = 'POST', url = 'http://127.0.0.1:%d/hook',\n"
           "    headers = {['X-Test'] = 'yes'}, body = 'ping', timeout_ms = 2000}\n"
           "  assert(r, e)\n"
           "  error('S=' .. r.status .. ' B=' .. r.body)\n"
           "end)\n",
           port);
  td__lua_package_t *pkg = load("caller", src, "usr_script", TD_ROLE_RECRUITER);
  outcome_t o = fire(pkg, "candidate.created");
  assert_non_null(strstr(o.error, "S=201 B=hello world"));
  td__lua_package_free(pkg);
  bool closed = false;
  td__net_close(F.net, net_closed, &closed);
  uv_close((uv_handle_t *)&listener, NULL);
  while (!closed) uv_run(&F.loop, UV_RUN_ONCE);
  F.net = NULL;
  stop_server();
}

/* ---------- dry run ---------- */

static char *file_bytes(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void test_dry_run(void **state) {
  (void)state;
  char script[160];
  snprintf(script, sizeof script, "%s/welcome.lua", F.dir);
  FILE *f = fopen(script, "w");
  assert_non_null(f);
  fputs(
      "-- talentd: {\"role\": \"recruiter\"}\n"
      "talent.on('candidate.created', function(ev)\n"
      "  local c = assert(talent.get('candidate', ev.subject.id))\n"
      "  talent.note(ev.subject.id, 'Hello ' .. c.first_name)\n"
      "  talent.tag(ev.subject.id, 'dry')\n"
      "  talent.store.set('k', 1)\n"
      "end)\n"
      "talent.on('application.created', function(ev) end)\n",
      f);
  fclose(f);
  size_t before_len, after_len;
  char *before = file_bytes(F.path, &before_len);
  char *out = NULL;
  size_t out_len = 0;
  FILE *mem = open_memstream(&out, &out_len);
  json_t *config = json_pack("{s:{s:{s:i}}}", "scripts", "welcome", "x", 1);
  assert_int_equal(td__lua_dry_run(config, F.dir, script, 0, mem), 0);
  fclose(mem);
  json_decref(config);
  char *after = file_bytes(F.path, &after_len);
  assert_int_equal(before_len, after_len);
  assert_memory_equal(before, after, before_len);
  free(before);
  free(after);
  assert_non_null(strstr(out, "candidate.created candidate/"));
  assert_non_null(strstr(out, "\"action\":\"talent.note\""));
  assert_non_null(strstr(out, "Hello Ana"));
  assert_non_null(strstr(out, "\"action\":\"talent.tag\""));
  assert_non_null(strstr(out, "\"action\":\"talent.store.set\""));
  assert_non_null(strstr(out, "application.created application/"));
  assert_non_null(strstr(out, ": nothing\n"));
  free(out);
  assert_int_equal(count("SELECT count(*) FROM activities WHERE author_kind = 'script'"), 0);
  assert_int_equal(count("SELECT count(*) FROM candidate_tags"), 0);
  assert_int_equal(count("SELECT count(*) FROM lua_store"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_note_and_tag, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_read_only, setup, teardown),
      cmocka_unit_test_setup_teardown(test_interviewer_move_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_recruiter_move, setup, teardown),
      cmocka_unit_test_setup_teardown(test_store_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_side_effect_cap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_schedule_after, setup, teardown),
      cmocka_unit_test_setup_teardown(test_filter_refuses_io_but_reads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_http_request, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
