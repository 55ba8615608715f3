/* The Lua sandbox (core/lua/): the abuse corpus of tests/lua/ run as async event calls on
 * a real loop with a 1 ms timer ticking alongside (each hostile script is stopped with the
 * expected error naming its package, the loop is never held long, and the package works
 * again afterwards), plus synchronous filter calls and their budget, package loading
 * errors, JSON round trips and the bridge into the hook registry. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <lauxlib.h>
#include <uv.h>

#include "domain/context.h"
#include "hooks/events.h"
#include "hooks/filter.h"
#include "hooks/registry.h"
#include "lua/bridge.h"
#include "lua/call.h"
#include "lua/package.h"
#include "lua/sandbox.h"
#include "talentd/types.h"
#include "util/log.h"
#include "util/time.h"

/* The longest the loop may be held by a hostile script. Under AddressSanitizer a single large
 * memcpy (a string doubling to megabytes, which no hook can interrupt) runs several times
 * slower, so the sanitizer build gets a wider bound: it checks memory safety, the normal build
 * checks the timing. */
#if defined(__SANITIZE_ADDRESS__)
#define MAX_GAP_MS 300
#else
#define MAX_GAP_MS 100
#endif

static td__lua_limits_t test_limits(void) {
  td__lua_limits_t l = td__lua_limits_default();
  l.event_cpu_ms = 200;
  l.event_wall_ms = 2000;
  /* The corpus checks budgets and loop gaps; the loop-time share is tested on its own. */
  l.loop_share_percent = 100;
  l.load_cpu_ms = 200;
  return l;
}

/* --- running an async call with a ticking timer --- */

typedef struct run {
  bool done;
  int rc;
  char error[700];
  json_t *results;
  uint64_t last_tick, max_gap;
  int ticks;
} run_t;

static void on_tick(uv_timer_t *t) {
  run_t *r = t->data;
  uint64_t now = uv_hrtime();
  if (now - r->last_tick > r->max_gap) r->max_gap = now - r->last_tick;
  r->last_tick = now;
  r->ticks++;
}

static void on_done(void *ud, int rc, const json_t *results, const char *error) {
  run_t *r = ud;
  r->done = true;
  r->rc = rc;
  snprintf(r->error, sizeof r->error, "%s", error != NULL ? error : "");
  r->results = results != NULL ? json_deep_copy(results) : NULL;
}

static const td__lua_reg_t *find_reg(const td__lua_package_t *pkg, const char *name) {
  for (size_t i = 0; i < pkg->nregs; i++)
    if (strcmp(pkg->regs[i].name, name) == 0) return &pkg->regs[i];
  return NULL;
}

/* Runs event handler `name` of pkg on a fresh loop with a 1 ms timer; fills *r. */
static void run_event(td__lua_package_t *pkg, const char *name, const json_t *arg, run_t *r) {
  uv_loop_t loop;
  uv_timer_t timer;
  memset(r, 0, sizeof *r);
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &timer);
  timer.data = r;
  r->last_tick = uv_hrtime();
  uv_timer_start(&timer, on_tick, 1, 1);
  const td__lua_reg_t *reg = find_reg(pkg, name);
  assert_non_null(reg);
  assert_int_equal(td__lua_package_event_call(pkg, reg, &loop, arg, on_done, r), 0);
  assert_false(r->done); /* never completes from inside the call */
  while (!r->done) uv_run(&loop, UV_RUN_ONCE);
  uint64_t now = uv_hrtime();
  if (now - r->last_tick > r->max_gap) r->max_gap = now - r->last_tick;
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- the corpus --- */

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  *len = fread(buf, 1, (size_t)n, f);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

static const char *corpus_dir(char *buf, size_t size) {
  snprintf(buf, size, "%s", __FILE__);
  char *slash = strrchr(buf, '/');
  *slash = '\0'; /* tests/unit */
  slash = strrchr(buf, '/');
  snprintf(slash, size - (size_t)(slash - buf), "/lua");
  return buf;
}

/* The package around a corpus file: the file is the body of the "test.run" handler;
 * "test.ok" checks that the libraries still work through references taken at load. */
static char *wrap_corpus(const char *body) {
  const char *head =
      "local S, T, M = string, table, math\n"
      "talent.on('test.ok', function(e)\n"
      "  assert(S.find('abc', 'b') == 2 and S.rep('x', 3) == 'xxx' and S.format('%d', 7) == '7')\n"
      "  assert(('abc'):upper() == 'ABC' and T.concat({1, 2}, ',') == '1,2' and M.max(1, 2) == 2)\n"
      "  local t = {} for i = 1, 1000 do t[i] = i end\n"
      "end)\n"
      "talent.on('test.run', function(event)\n";
  size_t n = strlen(head) + strlen(body) + 16;
  char *src = malloc(n);
  snprintf(src, n, "%s%s\nend)\n", head, body);
  return src;
}

static int run_corpus_file(const char *dir, const char *file, double *worst_gap_ms) {
  char path[1024], name[64], expect[256];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  size_t len;
  char *text = read_file(path, &len);
  assert_non_null(text);
  assert_true(strncmp(text, "-- expect: ", 11) == 0);
  const char *eol = strchr(text, '\n');
  snprintf(expect, sizeof expect, "%.*s", (int)(eol - text - 11), text + 11);
  snprintf(name, sizeof name, "c-%.*s", (int)(strlen(file) - 4), file);
  for (char *p = name; *p; p++)
    if (*p == '_') *p = '-';
  char *src = wrap_corpus(text);
  td__lua_limits_t l = test_limits();
  td__lua_package_t *pkg = NULL;
  char *error = NULL;
  int rc = td__lua_package_load(name, src, strlen(src), &l, NULL, &pkg, &error);
  if (rc != 0) fail_msg("%s: load failed: %s", file, error);
  json_t *arg = json_pack("{s:s, s:{s:i, s:[s,s], s:n}}", "type", "test.run", "data", "n", 3, "list", "a",
                          "b", "missing");
  run_t r;
  run_event(pkg, "test.run", arg, &r);
  json_decref(arg);
  double gap_ms = (double)r.max_gap / 1e6;
  if (gap_ms > *worst_gap_ms) *worst_gap_ms = gap_ms;
  int failed = 0;
  if (strcmp(expect, "ok") == 0) {
    if (r.rc != 0) failed = fprintf(stderr, "FAIL %s: expected ok, got: %s\n", file, r.error);
  } else {
    char owner[96];
    snprintf(owner, sizeof owner, "script '%s'", name);
    if (r.rc == 0 || strstr(r.error, expect) == NULL || strstr(r.error, owner) == NULL)
      failed = fprintf(stderr, "FAIL %s: expected '%s' from %s, got rc %d: %s\n", file, expect, owner, r.rc,
                       r.error);
  }
  if (gap_ms > MAX_GAP_MS) failed = fprintf(stderr, "FAIL %s: the loop was held %.1f ms\n", file, gap_ms);
  run_t again;
  run_event(pkg, "test.ok", NULL, &again); /* the same state, still usable */
  if (again.rc != 0) failed = fprintf(stderr, "FAIL %s: the next call failed: %s\n", file, again.error);
  if (!failed) fprintf(stderr, "ok   %-32s %6.1f ms max gap  %s\n", file, gap_ms, r.error);
  json_decref(r.results);
  json_decref(again.results);
  td__lua_package_free(pkg);
  free(src);
  free(text);
  return failed ? 1 : 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}
/* TD_LUA_CORPUS=<file name> runs one file only (for debugging). */
static int lua_file(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  const char *only = getenv("TD_LUA_CORPUS");
  if (only != NULL && strcmp(only, d->d_name) != 0) return 0;
  return n > 4 && strcmp(d->d_name + n - 4, ".lua") == 0;
}

static void test_corpus(void **state) {
  (void)state;
  char dir[512];
  corpus_dir(dir, sizeof dir);
  struct dirent **list;
  int n = scandir(dir, &list, lua_file, by_name);
  assert_true(n >= (getenv("TD_LUA_CORPUS") != NULL ? 1 : 50));
  int failures = 0;
  double worst = 0;
  for (int i = 0; i < n; i++) {
    failures += run_corpus_file(dir, list[i]->d_name, &worst);
    free(list[i]);
  }
  free(list);
  fprintf(stderr, "corpus: %d files, %d failed, worst loop gap %.1f ms\n", n, failures, worst);
  assert_int_equal(failures, 0);
}

/* --- synchronous filters --- */

static td__lua_package_t *load_ok(const char *name, const char *src) {
  td__lua_limits_t l = test_limits();
  td__lua_package_t *pkg = NULL;
  char *error = NULL;
  int rc = td__lua_package_load(name, src, strlen(src), &l, NULL, &pkg, &error);
  if (rc != 0) fail_msg("load %s: %s", name, error);
  return pkg;
}

static void test_filter_sync(void **state) {
  (void)state;
  td__lua_package_t *pkg =
      load_ok("tagger",
              "talent.filter('candidate.before_create', function(p)\n"
              "  if p.source == 'spam' then return false, 'no spam' end\n"
              "  table.insert(p.tags, 'lua')\n"
              "  return p\n"
              "end, { priority = 5 })\n"
              "talent.filter('candidate.before_update', function(p) while true do end end)\n");
  assert_int_equal(pkg->nregs, 2);
  assert_non_null(pkg->filters);
  assert_int_equal(pkg->regs[0].priority, 5);
  json_t *proposed =
      json_pack("{s:s, s:[s], s:{}, s:[]}", "source", "web", "tags", "a", "custom_fields", "links");
  json_t *results = NULL;
  char *error = NULL;
  assert_int_equal(td__lua_package_filter_call(pkg, &pkg->regs[0], NULL, proposed, &results, &error), 0);
  json_t *got = json_array_get(results, 0);
  assert_string_equal(json_string_value(json_array_get(json_object_get(got, "tags"), 1)), "lua");
  assert_true(json_is_object(json_object_get(got, "custom_fields"))); /* {} stays an object */
  assert_true(json_is_array(json_object_get(got, "links")));          /* [] stays an array */
  json_decref(results);
  json_object_set_new(proposed, "source", json_string("spam"));
  assert_int_equal(td__lua_package_filter_call(pkg, &pkg->regs[0], NULL, proposed, &results, &error), 0);
  assert_true(json_is_false(json_array_get(results, 0)));
  assert_string_equal(json_string_value(json_array_get(results, 1)), "no spam");
  json_decref(results);
  /* The filter budget is 25 ms of CPU. */
  uint64_t t0 = td__time_mono_ns();
  assert_int_equal(td__lua_package_filter_call(pkg, &pkg->regs[1], NULL, proposed, &results, &error),
                   TD_ELIMIT);
  assert_true(td__time_mono_ns() - t0 < 200000000ull);
  assert_string_equal(error, "script 'tagger': CPU budget of 25 ms exceeded");
  free(error);
  json_decref(proposed);
  td__lua_package_free(pkg);
}

/* --- loading --- */

static void expect_load_error(const char *name, const char *src, const char *want) {
  td__lua_limits_t l = test_limits();
  td__lua_package_t *pkg = NULL;
  char *error = NULL;
  assert_int_not_equal(td__lua_package_load(name, src, strlen(src), &l, NULL, &pkg, &error), 0);
  assert_null(pkg);
  if (strstr(error, want) == NULL) fail_msg("expected '%s' in '%s'", want, error);
  free(error);
}

static void test_load_errors(void **state) {
  (void)state;
  expect_load_error("syntax", "x = = 1", "script 'syntax': syntax:1:");
  expect_load_error("loops", "while true do end", "script 'loops': CPU budget of 200 ms exceeded");
  expect_load_error("boom", "\n\nerror('boom')", "script 'boom': boom:3: boom");
  expect_load_error("notahook", "talent.filter('candidate.created', function() end)", "not a filter hook");
  expect_load_error("twice", "talent.on('a.b', print) talent.on('a.b', print)", "already registered");
  expect_load_error("Bad Name", "", "a script name");
  expect_load_error("binary", "\x1bLua", "binary");
}

/* --- isolation and memory reuse --- */

static void test_isolation_and_memory(void **state) {
  (void)state;
  td__lua_package_t *a = load_ok("a", "SHARED = 1 talent.on('x.y', function() local s = ('x'):rep(1e9) end)");
  td__lua_package_t *b = load_ok("b", "talent.on('x.y', function() assert(SHARED == nil) return 1 end)");
  size_t before = a->events->mem_used;
  run_t r;
  run_event(a, "x.y", NULL, &r);
  assert_int_equal(r.rc, TD_ENOMEM);
  assert_string_equal(r.error, "script 'a': memory limit of 16 MiB exceeded");
  assert_true(a->events->mem_used < before + 64 * 1024); /* collected after the failure */
  run_event(b, "x.y", NULL, &r);
  assert_int_equal(r.rc, 0);
  assert_true(r.ticks >= 0);
  td__lua_package_free(a);
  td__lua_package_free(b);
}

/* --- the share of the loop's time async calls may use --- */

/* A runaway call at a 25 % share needs at least four times its CPU budget in wall time: the
 * loop is free the other 75 %. (A busier machine only makes it slower.) */
static void test_loop_share(void **state) {
  (void)state;
  td__lua_limits_t l = test_limits();
  l.event_cpu_ms = 100;
  l.event_wall_ms = 10000;
  l.loop_share_percent = 25;
  td__lua_package_t *pkg = NULL;
  char *error = NULL;
  const char *src = "talent.on('spin', function() while true do end end)\n";
  assert_int_equal(td__lua_package_load("share", src, strlen(src), &l, NULL, &pkg, &error), 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  run_t spin;
  memset(&spin, 0, sizeof spin);
  uint64_t t0 = td__time_mono_ns();
  assert_int_equal(td__lua_package_event_call(pkg, find_reg(pkg, "spin"), &loop, NULL, on_done, &spin), 0);
  while (!spin.done) uv_run(&loop, UV_RUN_ONCE);
  uint64_t ms = (td__time_mono_ns() - t0) / 1000000;
  assert_string_equal(spin.error, "script 'share': CPU budget of 100 ms exceeded");
  assert_true(ms >= 350);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  td__lua_package_free(pkg);
}

/* --- wall deadline and interleaved calls --- */

static void test_wall_and_interleaving(void **state) {
  (void)state;
  td__lua_limits_t l = test_limits();
  l.event_cpu_ms = 10000;
  l.event_wall_ms = 150;
  td__lua_package_t *pkg = NULL;
  char *error = NULL;
  const char *src =
      "talent.on('spin', function() while true do end end)\n"
      "talent.on('quick', function(e) return e.n end)\n";
  assert_int_equal(td__lua_package_load("wall", src, strlen(src), &l, NULL, &pkg, &error), 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  run_t spin, quick;
  memset(&spin, 0, sizeof spin);
  memset(&quick, 0, sizeof quick);
  uint64_t t0 = td__time_mono_ns();
  assert_int_equal(td__lua_package_event_call(pkg, find_reg(pkg, "spin"), &loop, NULL, on_done, &spin), 0);
  json_t *arg = json_pack("{s:i}", "n", 1);
  assert_int_equal(td__lua_package_event_call(pkg, find_reg(pkg, "quick"), &loop, arg, on_done, &quick), 0);
  json_decref(arg);
  assert_int_equal(td__lua_calls_running(pkg->events), 2);
  while (!spin.done) {
    uv_run(&loop, UV_RUN_ONCE);
    if (!spin.done) assert_true(quick.done || td__time_mono_ns() - t0 < 50000000ull);
  }
  assert_true(quick.done); /* finished while the other call was still spinning */
  assert_int_equal(quick.rc, 0);
  assert_string_equal(spin.error, "script 'wall': wall-clock deadline of 150 ms exceeded");
  assert_int_equal(td__lua_calls_running(pkg->events), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  json_decref(spin.results);
  td__lua_package_free(pkg);
}

/* --- the bridge into the hook registry --- */

typedef struct ev_seen {
  int calls, rc;
  char error[300];
} ev_seen_t;

static void on_event_done(void *token, int rc, const char *error) {
  ev_seen_t *s = token;
  s->calls++;
  s->rc = rc;
  snprintf(s->error, sizeof s->error, "%s", error != NULL ? error : "");
}

static void test_bridge(void **state) {
  (void)state;
  td__hooks_reset();
  td__event_subscribers_reset();
  td__lua_package_t *pkg = load_ok("rules",
                                   "talent.filter('candidate.before_create', function(p)\n"
                                   "  if p.source == 'spam' then return nil, 'spam is refused' end\n"
                                   "  return { tags = { 'checked' }, first_name = 'ignored' }\n"
                                   "end)\n"
                                   "talent.on('candidate.*', function(e)\n"
                                   "  if e.data.fail then error('handler failed') end\n"
                                   "  talent.log('info', 'seen', { id = e.id })\n"
                                   "end)\n");
  uv_loop_t loop;
  uv_loop_init(&loop);
  assert_int_equal(td__lua_bridge_register(pkg, &loop), 0);
  assert_int_equal(td__hooks_freeze(NULL), 0);

  td__ctx_t ctx;
  memset(&ctx, 0, sizeof ctx);
  json_t *p = json_pack("{s:s, s:s, s:[]}", "first_name", "Ada", "source", "web", "tags");
  assert_int_equal(td__filter_run(&ctx, "candidate.before_create", p), 0);
  assert_string_equal(json_string_value(json_array_get(json_object_get(p, "tags"), 0)), "checked");
  assert_string_equal(json_string_value(json_object_get(p, "first_name")), "Ada"); /* not changeable */
  json_object_set_new(p, "source", json_string("spam"));
  assert_int_not_equal(td__filter_run(&ctx, "candidate.before_create", p), 0);
  assert_non_null(ctx.problem);
  assert_string_equal(json_string_value(json_object_get(ctx.problem, "detail")), "spam is refused");
  td__ctx_dispose(&ctx);
  json_decref(p);

  size_t n;
  td__hook_entry_t *const *entries = td__hooks_entries("candidate.*", &n);
  assert_int_equal(n, 1);
  ev_seen_t seen = {0};
  json_t *env = json_pack("{s:s, s:s, s:{}}", "id", "evt_1", "type", "candidate.created", "data");
  td__event_call(entries[0], env, on_event_done, &seen);
  while (seen.calls == 0) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(seen.rc, 0);
  json_object_set_new(json_object_get(env, "data"), "fail", json_true());
  td__event_call(entries[0], env, on_event_done, &seen);
  while (seen.calls == 1) uv_run(&loop, UV_RUN_ONCE);
  assert_int_not_equal(seen.rc, 0);
  assert_non_null(strstr(seen.error, "script 'rules': rules:6: handler failed"));
  json_decref(env);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  td__hooks_reset();
  td__event_subscribers_reset();
  td__lua_package_free(pkg);
}

int main(void) {
  td__log_set_level(TD_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_filter_sync),
      cmocka_unit_test(test_load_errors),
      cmocka_unit_test(test_isolation_and_memory),
      cmocka_unit_test(test_wall_and_interleaving),
      cmocka_unit_test(test_loop_share),
      cmocka_unit_test(test_bridge),
      cmocka_unit_test(test_corpus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
