/* test_hooks.c - the hook registry (order by priority, package and registration, admin
 * override, freeze, listing) and filter dispatch in the write path, on a temporary database:
 * a veto refuses a real domain action and leaves no row or event, allowed modifications are
 * applied (others ignored), a failing filter is skipped until its circuit breaker opens, and
 * a fail-closed filter refuses the action. */
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

#include "domain/applications.h"
#include "domain/candidates.h"
#include "domain/jobs.h"
#include "hooks/filter.h"
#include "hooks/registry.h"
#include "store/db.h"
#include "store/migrate.h"
#include "talentd/types.h"
#include "util/buf.h"

static char dir[64];
static td__db_t *db;
static int64_t clock_ms = 1700000000000;

static const char *const seed =
    "INSERT INTO users(id, email, name, role, created_at, updated_at) VALUES"
    " ('usr_admin', 'a@example.test', 'A', 'admin', 0, 0);"
    "INSERT INTO candidates(rowid, id, first_name, last_name, created_at, updated_at) VALUES"
    " (1, 'can_1', 'Ana', 'Lima', 0, 0);"
    "INSERT INTO jobs(rowid, id, title, status, created_at, updated_at) VALUES (1, 'job_1', 'Engineer', "
    "'open', 0, 0),"
    " (2, 'job_draft', 'Designer', 'draft', 0, 0);"
    "INSERT INTO stages(rowid, id, job_rowid, name, type, position, deleted_at) VALUES"
    " (1, 'stg_applied', 1, 'Applied', 'applied', 0, NULL), (2, 'stg_screen', 1, 'Screen', 'screen', 1, "
    "NULL);";

/* ---------- fixtures ---------- */

static int setup_db(void **state) {
  (void)state;
  td__hooks_reset();
  td__filter_set_breaker_threshold(5);
  snprintf(dir, sizeof dir, "/tmp/td-hooks-XXXXXX");
  if (mkdtemp(dir) == NULL) return -1;
  char path[128];
  snprintf(path, sizeof path, "%s/talentd.db", dir);
  const char *message = NULL;
  if (td__db_open(path, TD_DB_READWRITE, &db) || td__migrate(db, &message)) return -1;
  if (td__db_exec(db, seed)) return -1;
  return td__db_exec(db, "BEGIN");
}

static int teardown_db(void **state) {
  (void)state;
  td__db_exec(db, "ROLLBACK");
  td__db_close(db);
  char path[160];
  const char *const files[] = {"talentd.db", "talentd.db-wal", "talentd.db-shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
  td__hooks_reset();
  return 0;
}

static int reset_registry(void **state) {
  (void)state;
  td__hooks_reset();
  return 0;
}

static td__ctx_t admin(void) {
  td__ctx_t ctx = {.db = db, .actor_kind = "user", .cause = "req_test"};
  snprintf(ctx.principal.user_id, sizeof ctx.principal.user_id, "%s", "usr_admin");
  ctx.principal.role = TD_ROLE_ADMIN;
  ctx.principal.via = TD_VIA_TOKEN;
  ctx.principal.can_write = true;
  clock_ms += 1000;
  ctx.now_ms = clock_ms;
  return ctx;
}

static int64_t scalar(const char *sql) {
  td__stmt_t *st = td__db_prepare(db, sql);
  assert_non_null(st);
  assert_int_equal(td__stmt_step(st), 1);
  int64_t v = td__stmt_int(st, 0);
  td__stmt_finalize(st);
  return v;
}

static const char *problem_text(const td__ctx_t *ctx, const char *member) {
  return json_string_value(json_object_get(ctx->problem, member));
}

static int problem_status(const td__ctx_t *ctx) {
  return (int)json_integer_value(json_object_get(ctx->problem, "status"));
}

/* ---------- filters used by the tests ---------- */

static int calls;

static int f_allow(td__ctx_t *ctx, const char *hook, json_t *p, void *data, td__filter_veto_t *veto) {
  (void)ctx, (void)hook, (void)p, (void)data, (void)veto;
  calls++;
  return TD_FILTER_ALLOW;
}

static int f_veto(td__ctx_t *ctx, const char *hook, json_t *p, void *data, td__filter_veto_t *veto) {
  (void)ctx, (void)hook, (void)p, (void)data;
  calls++;
  veto->reason = strdup("candidates from this source need a referral first");
  veto->owned = true;
  return TD_FILTER_VETO;
}

static int f_fail(td__ctx_t *ctx, const char *hook, json_t *p, void *data, td__filter_veto_t *veto) {
  (void)ctx, (void)hook, (void)data, (void)veto;
  calls++;
  json_object_set_new(p, "tags", json_pack("[s]", "half-done")); /* must not leak through */
  return TD_EIO;
}

/* Adds a tag (kept, normalized) and renames the candidate (not a member filters may change). */
static int f_tag(td__ctx_t *ctx, const char *hook, json_t *p, void *data, td__filter_veto_t *veto) {
  (void)ctx, (void)hook, (void)data, (void)veto;
  calls++;
  json_array_append_new(json_object_get(p, "tags"), json_string("  rust  "));
  json_object_set_new(p, "first_name", json_string("Mallory"));
  return TD_FILTER_MODIFIED;
}

/* Checks the stage-change payload and rewrites the reason. */
static int f_reason(td__ctx_t *ctx, const char *hook, json_t *p, void *data, td__filter_veto_t *veto) {
  (void)ctx, (void)data, (void)veto;
  calls++;
  assert_string_equal(hook, "application.before_stage_change");
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "from_stage"), "type")),
                      "applied");
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "to_stage"), "id")), "stg_screen");
  assert_string_equal(json_string_value(json_object_get(p, "kind")), "moved");
  json_object_set_new(p, "reason", json_string("rewritten by rule"));
  json_object_set_new(p, "job_id", json_string("job_other"));
  return TD_FILTER_MODIFIED;
}

/* Checks the reject payload and rewrites the reason; an empty reason would be ignored. */
static int f_reject(td__ctx_t *ctx, const char *hook, json_t *p, void *data, td__filter_veto_t *veto) {
  (void)ctx, (void)data, (void)veto;
  calls++;
  assert_string_equal(hook, "application.before_reject");
  assert_string_equal(json_string_value(json_object_get(p, "kind")), "rejected");
  assert_string_equal(json_string_value(json_object_get(p, "reason")), "no visa");
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "from_stage"), "id")),
                      "stg_applied");
  json_object_set_new(p, "reason", json_string("needs sponsorship"));
  return TD_FILTER_MODIFIED;
}

static int f_publish(td__ctx_t *ctx, const char *hook, json_t *p, void *data, td__filter_veto_t *veto) {
  (void)ctx, (void)hook, (void)data;
  calls++;
  assert_string_equal(json_string_value(json_object_get(p, "from_status")), "draft");
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "job"), "status")), "open");
  veto->reason = "a job needs an approved budget before it opens";
  return TD_FILTER_VETO;
}

/* ---------- registry ---------- */

static void collect(const td__hook_entry_t *e, size_t position, void *arg) {
  td__buf_printf(arg, "%s:%zu:%s:%d|", e->hook, position, e->package, e->priority);
}

static void test_order(void **state) {
  (void)state;
  td__filter_fn f = f_allow;
  assert_int_equal(td__filter_register("x.before_y", "zeta", 10, 0, f, (void *)"z1"), 0);
  assert_int_equal(td__filter_register("x.before_y", "alpha", 0, 0, f, (void *)"a1"), 0);
  assert_int_equal(td__filter_register("x.before_y", "beta", 10, 0, f, (void *)"b1"), 0);
  assert_int_equal(td__filter_register("x.before_y", "alpha", 0, 0, f, (void *)"a2"), 0);
  assert_int_equal(td__filter_register("x.before_y", "omega", 50, 0, f, (void *)"o1"), 0);
  assert_int_equal(td__filter_register("a.before_b", "beta", 0, 0, f, NULL), 0);
  json_t *overrides = json_pack("{s:[s,s]}", "a.before_c", "zeta", "omega");
  assert_int_equal(td__hooks_freeze(overrides), 0);
  json_decref(overrides);
  size_t n;
  td__hook_entry_t *const *e = td__hooks_entries("x.before_y", &n);
  assert_int_equal(n, 5);
  const char *want[] = {"o1", "b1", "z1", "a1", "a2"}; /* priority, package, registration */
  for (size_t i = 0; i < n; i++) assert_string_equal((const char *)e[i]->data, want[i]);
  assert_null(td__hooks_entries("nobody.before_listens", &n));
  assert_int_equal(n, 0);

  td__buf_t out = {0};
  td__hooks_list(collect, &out);
  assert_string_equal(out.data,
                      "a.before_b:0:beta:0|x.before_y:0:omega:50|x.before_y:1:beta:10|"
                      "x.before_y:2:zeta:10|x.before_y:3:alpha:0|x.before_y:4:alpha:0|");
  td__buf_free(&out);
}

static void test_admin_override(void **state) {
  (void)state;
  td__filter_fn f = f_allow;
  td__filter_register("x.before_y", "zeta", 10, 0, f, (void *)"z1");
  td__filter_register("x.before_y", "alpha", 0, 0, f, (void *)"a1");
  td__filter_register("x.before_y", "beta", 10, 0, f, (void *)"b1");
  td__filter_register("x.before_y", "alpha", 0, 0, f, (void *)"a2");
  td__filter_register("x.before_y", "omega", 50, 0, f, (void *)"o1");
  /* alpha first (its two entries keep their order), then zeta; unlisted packages follow;
   * a listed package without entries is ignored. */
  json_t *overrides = json_pack("{s:[s,s,s]}", "x.before_y", "alpha", "ghost", "zeta");
  assert_int_equal(td__hooks_freeze(overrides), 0);
  json_decref(overrides);
  size_t n;
  td__hook_entry_t *const *e = td__hooks_entries("x.before_y", &n);
  assert_int_equal(n, 5);
  const char *want[] = {"a1", "a2", "z1", "o1", "b1"};
  for (size_t i = 0; i < n; i++) assert_string_equal((const char *)e[i]->data, want[i]);
}

static void test_freeze(void **state) {
  (void)state;
  assert_int_equal(td__filter_register("x.before_y", "alpha", 0, 0, f_allow, NULL), 0);
  size_t n;
  assert_null(td__hooks_entries("x.before_y", &n)); /* nothing runs before the freeze */
  assert_int_equal(n, 0);
  assert_false(td__hooks_frozen());
  assert_int_equal(td__hooks_freeze(NULL), 0);
  assert_true(td__hooks_frozen());
  assert_int_equal(td__filter_register("x.before_y", "late", 0, 0, f_allow, NULL), TD_EDENIED);
  assert_int_equal(td__hooks_freeze(NULL), TD_EDENIED);
  td__hooks_entries("x.before_y", &n);
  assert_int_equal(n, 1);
  assert_int_equal(td__filter_register("", "alpha", 0, 0, f_allow, NULL), TD_EDENIED);
  td__hooks_reset();
  assert_int_equal(td__filter_register("", "alpha", 0, 0, f_allow, NULL), TD_EINVAL);
  assert_int_equal(td__filter_register("x.before_y", "", 0, 0, f_allow, NULL), TD_EINVAL);
  assert_int_equal(td__filter_register("x.before_y", "alpha", 0, 0, NULL, NULL), TD_EINVAL);
}

/* ---------- filters in the write path ---------- */

static int create_candidate(td__ctx_t *ctx, json_t **out) {
  json_t *body =
      json_pack("{s:s,s:[s],s:[s]}", "first_name", "Bo", "emails", "bo@example.test", "tags", "Go");
  int rc = td__candidate_create(ctx, body, false, out, NULL);
  json_decref(body);
  return rc;
}

static void test_veto_candidate_create(void **state) {
  (void)state;
  calls = 0;
  td__filter_register("candidate.before_create", "allow-all", 100, 0, f_allow, NULL);
  td__filter_register("candidate.before_create", "referrals", 10, 0, f_veto, NULL);
  td__filter_register("candidate.before_create", "after-veto", 0, 0, f_allow, NULL);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  int64_t events = scalar("SELECT count(*) FROM events");
  td__ctx_t ctx = admin();
  json_t *out = NULL;
  assert_int_not_equal(create_candidate(&ctx, &out), 0);
  assert_null(out);
  assert_int_equal(calls, 2); /* the filter after the veto never ran */
  assert_int_equal(problem_status(&ctx), 422);
  assert_string_equal(problem_text(&ctx, "title"), "Refused by a rule");
  assert_string_equal(problem_text(&ctx, "detail"), "candidates from this source need a referral first");
  assert_string_equal(problem_text(&ctx, "owner"), "referrals");
  assert_string_equal(problem_text(&ctx, "hook"), "candidate.before_create");
  assert_int_equal(scalar("SELECT count(*) FROM candidates"), 1);
  assert_int_equal(scalar("SELECT count(*) FROM candidate_emails"), 0);
  assert_int_equal(scalar("SELECT count(*) FROM activities"), 0);
  assert_int_equal(scalar("SELECT count(*) FROM events"), events);
  td__ctx_dispose(&ctx);
}

/* Creates an application of can_1 to job_1 in stg_applied; writes its id into id. */
static void create_application(char id[TD_ID_MAX]) {
  td__ctx_t ctx = admin();
  json_t *body =
      json_pack("{s:s,s:s,s:s}", "candidate_id", "can_1", "job_id", "job_1", "stage_id", "stg_applied");
  json_t *out = NULL;
  int64_t version;
  assert_int_equal(td__application_create(&ctx, body, &out, &version), 0);
  snprintf(id, TD_ID_MAX, "%s", json_string_value(json_object_get(out, "id")));
  json_decref(out);
  json_decref(body);
  td__ctx_dispose(&ctx);
}

static void test_veto_stage_move(void **state) {
  (void)state;
  td__filter_register("application.before_stage_change", "gatekeeper", 0, 0, f_veto, NULL);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  char app[TD_ID_MAX];
  create_application(app);
  int64_t transitions = scalar("SELECT count(*) FROM stage_transitions");
  int64_t events = scalar("SELECT count(*) FROM events");
  int64_t activities = scalar("SELECT count(*) FROM activities");
  assert_int_equal(transitions, 1);
  calls = 0;
  td__ctx_t ctx = admin();
  json_t *out = NULL;
  int64_t version;
  assert_int_not_equal(td__application_move(&ctx, app, "stg_screen", "looks good", &out, &version), 0);
  assert_null(out);
  assert_int_equal(calls, 1);
  assert_int_equal(problem_status(&ctx), 422);
  assert_string_equal(problem_text(&ctx, "owner"), "gatekeeper");
  assert_int_equal(scalar("SELECT count(*) FROM stage_transitions"), transitions);
  assert_int_equal(scalar("SELECT count(*) FROM events"), events);
  assert_int_equal(scalar("SELECT count(*) FROM activities"), activities);
  assert_int_equal(scalar("SELECT stage_rowid FROM applications"), 1);
  assert_int_equal(scalar("SELECT version FROM applications"), 1);
  td__ctx_dispose(&ctx);
}

static void test_modification_applied(void **state) {
  (void)state;
  calls = 0;
  td__filter_register("candidate.before_create", "tagger", 0, 0, f_tag, NULL);
  td__filter_register("application.before_stage_change", "reasons", 0, 0, f_reason, NULL);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  td__ctx_t ctx = admin();
  json_t *out = NULL;
  assert_int_equal(create_candidate(&ctx, &out), 0);
  assert_int_equal(calls, 1);
  assert_string_equal(json_string_value(json_object_get(out, "first_name")), "Bo"); /* not a mutable member */
  json_t *tags = json_object_get(out, "tags");
  assert_int_equal(json_array_size(tags), 2);
  assert_string_equal(json_string_value(json_array_get(tags, 0)), "Go");
  assert_string_equal(json_string_value(json_array_get(tags, 1)), "rust"); /* normalized like input */
  assert_int_equal(scalar("SELECT count(*) FROM candidate_tags WHERE tag = 'rust'"), 1);
  json_decref(out);
  td__ctx_dispose(&ctx);

  char app[TD_ID_MAX];
  create_application(app);
  ctx = admin();
  int64_t version;
  assert_int_equal(td__application_move(&ctx, app, "stg_screen", "looks good", &out, &version), 0);
  assert_int_equal(calls, 2);
  assert_string_equal(json_string_value(json_object_get(out, "job_id")), "job_1");
  assert_int_equal(scalar("SELECT count(*) FROM stage_transitions WHERE kind = 'moved'"
                          " AND reason = 'rewritten by rule'"),
                   1);
  json_decref(out);
  td__ctx_dispose(&ctx);
}

static void test_failing_filter_and_breaker(void **state) {
  (void)state;
  calls = 0;
  td__filter_set_breaker_threshold(3);
  td__filter_register("candidate.before_create", "flaky", 0, 0, f_fail, NULL);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  char email[64];
  for (int i = 0; i < 5; i++) {
    td__ctx_t ctx = admin();
    snprintf(email, sizeof email, "c%d@example.test", i);
    json_t *body = json_pack("{s:s,s:[s],s:[s]}", "first_name", "Cy", "emails", email, "tags", "Go");
    json_t *out = NULL;
    assert_int_equal(td__candidate_create(&ctx, body, false, &out, NULL), 0); /* fail-open */
    json_t *tags = json_object_get(out, "tags");
    assert_int_equal(json_array_size(tags), 1); /* the failed filter's change did not leak */
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "Go");
    assert_int_equal(calls, i < 3 ? i + 1 : 3); /* the breaker opened after 3 failures */
    json_decref(out);
    json_decref(body);
    td__ctx_dispose(&ctx);
  }
  size_t n;
  td__hook_entry_t *const *e = td__hooks_entries("candidate.before_create", &n);
  assert_int_equal(n, 1);
  assert_true(atomic_load(&e[0]->disabled));
  assert_int_equal(scalar("SELECT count(*) FROM candidates"), 6);
}

static void test_fail_closed(void **state) {
  (void)state;
  calls = 0;
  td__filter_set_breaker_threshold(2);
  td__filter_register("candidate.before_create", "compliance", 0, TD_HOOK_FAIL_CLOSED, f_fail, NULL);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  for (int i = 0; i < 3; i++) {
    td__ctx_t ctx = admin();
    json_t *out = NULL;
    assert_int_not_equal(create_candidate(&ctx, &out), 0);
    assert_null(out);
    assert_int_equal(problem_status(&ctx), 503);
    assert_string_equal(problem_text(&ctx, "owner"), "compliance");
    td__ctx_dispose(&ctx);
  }
  assert_int_equal(calls, 2); /* disabled after 2 failures, and still refusing */
  assert_int_equal(scalar("SELECT count(*) FROM candidates"), 1);
  assert_int_equal(scalar("SELECT count(*) FROM events"), 0);
}

static void test_reject_and_publish(void **state) {
  (void)state;
  calls = 0;
  td__filter_register("application.before_reject", "reasons", 0, 0, f_reject, NULL);
  td__filter_register("job.before_publish", "budget", 0, 0, f_publish, NULL);
  assert_int_equal(td__hooks_freeze(NULL), 0);
  char app[TD_ID_MAX];
  create_application(app);
  td__ctx_t ctx = admin();
  json_t *out = NULL;
  int64_t version;
  assert_int_equal(td__application_reject(&ctx, app, "rejected", "no visa", &out, &version), 0);
  assert_int_equal(calls, 1);
  assert_string_equal(json_string_value(json_object_get(json_object_get(out, "disposition"), "reason")),
                      "needs sponsorship");
  json_decref(out);
  td__ctx_dispose(&ctx);

  int64_t events = scalar("SELECT count(*) FROM events");
  ctx = admin();
  json_t *body = json_pack("{s:s,s:s}", "status", "open", "title", "Senior designer");
  assert_int_not_equal(td__job_update(&ctx, "job_draft", body, &out, &version), 0);
  assert_int_equal(calls, 2);
  assert_int_equal(problem_status(&ctx), 422);
  assert_string_equal(problem_text(&ctx, "owner"), "budget");
  assert_string_equal(problem_text(&ctx, "detail"), "a job needs an approved budget before it opens");
  assert_int_equal(scalar("SELECT count(*) FROM jobs WHERE id = 'job_draft' AND status = 'draft'"
                          " AND title = 'Designer' AND version = 1"),
                   1);
  assert_int_equal(scalar("SELECT count(*) FROM events"), events);
  json_decref(body);
  td__ctx_dispose(&ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_order, reset_registry, reset_registry),
      cmocka_unit_test_setup_teardown(test_admin_override, reset_registry, reset_registry),
      cmocka_unit_test_setup_teardown(test_freeze, reset_registry, reset_registry),
      cmocka_unit_test_setup_teardown(test_veto_candidate_create, setup_db, teardown_db),
      cmocka_unit_test_setup_teardown(test_veto_stage_move, setup_db, teardown_db),
      cmocka_unit_test_setup_teardown(test_modification_applied, setup_db, teardown_db),
      cmocka_unit_test_setup_teardown(test_failing_filter_and_breaker, setup_db, teardown_db),
      cmocka_unit_test_setup_teardown(test_fail_closed, setup_db, teardown_db),
      cmocka_unit_test_setup_teardown(test_reject_and_publish, setup_db, teardown_db),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
