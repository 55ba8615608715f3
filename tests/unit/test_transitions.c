/* test_transitions.c - the rules of application actions and the transition log they write,
 * on a temporary database: creation, moves (and the illegal ones), reject / withdraw,
 * re-application after a rejection, unreject against another active application, hire
 * (filling an opening), permissions, and that refused actions leave no trace. */
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
#include "domain/transitions.h"
#include "store/db.h"
#include "store/migrate.h"
#include "talentd/types.h"

static char dir[64];
static td__db_t *db;
static int64_t clock_ms = 1700000000000;

static const char *const seed =
    "INSERT INTO users(id, email, name, role, created_at, updated_at) VALUES"
    " ('usr_admin', 'a@example.test', 'A', 'admin', 0, 0), ('usr_rec', 'r@example.test', 'R', 'recruiter', "
    "0, 0),"
    " ('usr_hm', 'h@example.test', 'H', 'hiring_manager', 0, 0), ('usr_hm2', 'h2@example.test', 'H2', "
    "'hiring_manager', 0, 0);"
    "INSERT INTO candidates(rowid, id, first_name, last_name, created_at, updated_at) VALUES"
    " (1, 'can_1', 'Ana', 'Lima', 0, 0), (2, 'can_2', 'Bo', 'Chen', 0, 0);"
    "INSERT INTO jobs(rowid, id, title, status, created_at, updated_at) VALUES"
    " (1, 'job_1', 'Engineer', 'open', 0, 0), (2, 'job_2', 'Designer', 'open', 0, 0),"
    " (3, 'job_closed', 'Old', 'closed', 0, 0), (4, 'job_nohire', 'No hire stage', 'open', 0, 0);"
    "INSERT INTO job_team(job_rowid, user_id, role) VALUES (1, 'usr_hm', 'hiring_manager');"
    "INSERT INTO stages(rowid, id, job_rowid, name, type, position, deleted_at) VALUES"
    " (1, 'stg_lead', 1, 'Lead', 'lead', 0, NULL), (2, 'stg_applied', 1, 'Applied', 'applied', 1, NULL),"
    " (3, 'stg_screen', 1, 'Screen', 'screen', 2, NULL), (4, 'stg_interview', 1, 'Interview', 'interview', "
    "3, NULL),"
    " (5, 'stg_hired', 1, 'Hired', 'hired', 4, NULL), (6, 'stg_gone', 1, 'Gone', 'screen', 5, 1),"
    " (7, 'stg_j2_applied', 2, 'Applied', 'applied', 0, NULL), (8, 'stg_j3', 3, 'Applied', 'applied', 0, "
    "NULL),"
    " (9, 'stg_j4_applied', 4, 'Applied', 'applied', 0, NULL);"
    "INSERT INTO openings(id, job_rowid, target_date, status, created_at) VALUES"
    " ('opn_late', 1, '2030-06-01', 'open', 0), ('opn_early', 1, '2030-01-01', 'open', 0),"
    " ('opn_j4', 4, NULL, 'open', 0);";

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/td-transitions-XXXXXX");
  if (mkdtemp(dir) == NULL) return -1;
  char path[128];
  snprintf(path, sizeof path, "%s/talentd.db", dir);
  const char *message = NULL;
  if (td__db_open(path, TD_DB_READWRITE, &db) || td__migrate(db, &message)) return -1;
  return td__db_exec(db, seed);
}

static int teardown(void **state) {
  (void)state;
  td__db_close(db);
  char path[160];
  const char *const files[] = {"talentd.db", "talentd.db-wal", "talentd.db-shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
  return 0;
}

/* A context acting as user with role, one second after the previous action. */
static td__ctx_t ctx_as(const char *user, td__role_t role) {
  td__ctx_t ctx = {.db = db, .actor_kind = "user", .cause = "req_test"};
  snprintf(ctx.principal.user_id, sizeof ctx.principal.user_id, "%s", user);
  ctx.principal.role = role;
  ctx.principal.via = TD_VIA_TOKEN;
  ctx.principal.can_write = true;
  clock_ms += 1000;
  ctx.now_ms = clock_ms;
  return ctx;
}

static td__ctx_t admin(void) { return ctx_as("usr_admin", TD_ROLE_ADMIN); }

static int problem_status(const td__ctx_t *ctx) {
  return (int)json_integer_value(json_object_get(ctx->problem, "status"));
}

static const char *problem_pointer(const td__ctx_t *ctx) {
  return json_string_value(
      json_object_get(json_array_get(json_object_get(ctx->problem, "errors"), 0), "pointer"));
}

/* One integer from a query with one text parameter (NULL: none). */
static int64_t scalar(const char *sql, const char *param) {
  td__stmt_t *st = td__db_prepare(db, sql);
  assert_non_null(st);
  if (param) td__stmt_bind_text(st, 1, param);
  assert_int_equal(td__stmt_step(st), 1);
  int64_t v = td__stmt_int(st, 0);
  td__stmt_finalize(st);
  return v;
}

static int64_t transitions_of(const char *app_id) {
  return scalar(
      "SELECT count(*) FROM stage_transitions t JOIN applications a ON a.rowid = t.application_rowid"
      " WHERE a.id = ?",
      app_id);
}

/* Creates an application and returns its id (into id_out); asserts success. */
static void create_ok(const char *candidate, const char *job, const char *stage, char id_out[TD_ID_MAX]) {
  td__ctx_t ctx = admin();
  json_t *body = json_pack("{s:s,s:s,s:s}", "candidate_id", candidate, "job_id", job, "source", "referral");
  if (stage) json_object_set_new(body, "stage_id", json_string(stage));
  json_t *out = NULL;
  int64_t version = 0;
  int rc = td__application_create(&ctx, body, &out, &version);
  if (rc) fprintf(stderr, "create: %s\n", json_dumps(ctx.problem, 0));
  assert_int_equal(rc, 0);
  assert_int_equal(version, 1);
  snprintf(id_out, TD_ID_MAX, "%s", json_string_value(json_object_get(out, "id")));
  json_decref(out);
  json_decref(body);
  td__ctx_dispose(&ctx);
}

/* The last transition of an application as "kind from->to reason". */
static void last_transition(const char *app_id, char *out, size_t size) {
  td__stmt_t *st = td__db_prepare(
      db,
      "SELECT t.kind, coalesce(f.id, '-'), s.id, coalesce(t.reason, ''), t.actor_id,"
      " t.cause FROM stage_transitions t JOIN applications a ON a.rowid = t.application_rowid"
      " LEFT JOIN stages f ON f.rowid = t.from_stage_rowid JOIN stages s ON s.rowid = t.to_stage_rowid"
      " WHERE a.id = ? ORDER BY t.rowid DESC LIMIT 1");
  td__stmt_bind_text(st, 1, app_id);
  assert_int_equal(td__stmt_step(st), 1);
  snprintf(out, size, "%s %s->%s %s by %s (%s)", td__stmt_text(st, 0), td__stmt_text(st, 1),
           td__stmt_text(st, 2), td__stmt_text(st, 3), td__stmt_text(st, 4), td__stmt_text(st, 5));
  td__stmt_finalize(st);
}

static void test_create_writes_created_transition(void **state) {
  (void)state;
  char id[TD_ID_MAX], line[256];
  create_ok("can_1", "job_1", NULL, id);
  assert_int_equal(transitions_of(id), 1);
  last_transition(id, line, sizeof line);
  /* Without stage_id: the first applied-type stage, not the first stage (a lead stage). */
  assert_string_equal(line, "created -->stg_applied  by usr_admin (req_test)");
  assert_int_equal(
      scalar("SELECT count(*) FROM activities v JOIN applications a ON a.rowid = v.application_rowid"
             " WHERE a.id = ? AND v.kind = 'stage_change'",
             id),
      1);
  assert_int_equal(
      scalar("SELECT count(*) FROM events WHERE subject_id = ? AND type = 'application.created'", id), 1);
  td__ctx_t ctx = admin();
  json_t *app = NULL;
  assert_int_equal(td__application_get(&ctx, id, &app, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(app, "status")), "active");
  assert_string_equal(json_string_value(json_object_get(app, "stage_id")), "stg_applied");
  assert_string_equal(json_string_value(json_object_get(app, "source")), "referral");
  assert_true(json_is_null(json_object_get(app, "disposition")));
  json_decref(app);
}

static void test_one_active_application_per_job(void **state) {
  (void)state;
  char id[TD_ID_MAX];
  create_ok("can_2", "job_2", NULL, id);
  td__ctx_t ctx = admin();
  json_t *body = json_pack("{s:s,s:s,s:s}", "candidate_id", "can_2", "job_id", "job_2", "source", "web");
  json_t *out = NULL;
  assert_int_equal(td__application_create(&ctx, body, &out, NULL), TD_EINVAL);
  assert_int_equal(problem_status(&ctx), 409);
  assert_string_equal(json_string_value(json_object_get(ctx.problem, "existing_id")), id);
  assert_int_equal(scalar("SELECT count(*) FROM applications WHERE job_rowid = 2", NULL), 1);
  json_decref(body);
  td__ctx_dispose(&ctx);
}

static void test_create_refusals(void **state) {
  (void)state;
  struct {
    const char *candidate, *job, *stage;
    int status;
    const char *pointer;
  } cases[] = {
      {"can_1", "job_closed", NULL, 409, "/job_id"},
      {"can_1", "job_1", "stg_hired", 409, "/stage_id"},
      {"can_1", "job_1", "stg_gone", 422, "/stage_id"},
      {"can_1", "job_1", "stg_j2_applied", 422, "/stage_id"},
      {"can_nobody", "job_1", NULL, 422, "/candidate_id"},
      {"can_1", "job_nobody", NULL, 422, "/job_id"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    td__ctx_t ctx = admin();
    json_t *body =
        json_pack("{s:s,s:s,s:s}", "candidate_id", cases[i].candidate, "job_id", cases[i].job, "source", "x");
    if (cases[i].stage) json_object_set_new(body, "stage_id", json_string(cases[i].stage));
    assert_int_equal(td__application_create(&ctx, body, NULL, NULL), TD_EINVAL);
    assert_int_equal(problem_status(&ctx), cases[i].status);
    assert_string_equal(problem_pointer(&ctx), cases[i].pointer);
    json_decref(body);
    td__ctx_dispose(&ctx);
  }
}

/* Moves id to stage and expects the problem status (0: success). */
static void move(const char *id, const char *stage, int status, const char *pointer) {
  td__ctx_t ctx = admin();
  json_t *out = NULL;
  int64_t version = 0;
  int rc = td__application_move(&ctx, id, stage, "why not", &out, &version);
  if (status == 0) {
    assert_int_equal(rc, 0);
    assert_string_equal(json_string_value(json_object_get(out, "stage_id")), stage);
  } else {
    assert_int_equal(rc, TD_EINVAL);
    assert_int_equal(problem_status(&ctx), status);
    if (pointer) assert_string_equal(problem_pointer(&ctx), pointer);
  }
  json_decref(out);
  td__ctx_dispose(&ctx);
}

static void test_moves_and_illegal_moves(void **state) {
  (void)state;
  char id[TD_ID_MAX], line[256];
  create_ok("can_2", "job_1", "stg_lead", id);
  int64_t entered = scalar("SELECT stage_entered_at FROM applications WHERE id = ?", id);
  move(id, "stg_screen", 0, NULL);
  last_transition(id, line, sizeof line);
  assert_string_equal(line, "moved stg_lead->stg_screen why not by usr_admin (req_test)");
  assert_true(scalar("SELECT stage_entered_at FROM applications WHERE id = ?", id) > entered);
  assert_int_equal(scalar("SELECT version FROM applications WHERE id = ?", id), 2);
  /* Backwards is a legal move too. */
  move(id, "stg_applied", 0, NULL);
  int64_t before = transitions_of(id);
  int64_t events = scalar("SELECT count(*) FROM events", NULL);
  move(id, "stg_applied", 409, "/to_stage_id");    /* the current stage */
  move(id, "stg_hired", 409, "/to_stage_id");      /* a hire goes through hire */
  move(id, "stg_gone", 422, "/to_stage_id");       /* deleted */
  move(id, "stg_j2_applied", 422, "/to_stage_id"); /* another job's */
  move(id, "stg_nowhere", 422, "/to_stage_id");
  move("app_nobody", "stg_screen", 404, NULL);
  /* Refusals leave no trace. */
  assert_int_equal(transitions_of(id), before);
  assert_int_equal(scalar("SELECT count(*) FROM events", NULL), events);
  assert_int_equal(scalar("SELECT version FROM applications WHERE id = ?", id), 3);
}

static void reject(const char *id, const char *kind, int status) {
  td__ctx_t ctx = admin();
  json_t *out = NULL;
  int rc = td__application_reject(&ctx, id, kind, "not a fit", &out, NULL);
  assert_int_equal(rc, status ? TD_EINVAL : 0);
  if (status)
    assert_int_equal(problem_status(&ctx), status);
  else
    assert_string_equal(json_string_value(json_object_get(out, "status")), kind);
  json_decref(out);
  td__ctx_dispose(&ctx);
}

static int unreject(const char *id, json_t **problem) {
  td__ctx_t ctx = admin();
  int rc = td__application_unreject(&ctx, id, "second look", NULL, NULL);
  *problem = json_incref(ctx.problem);
  td__ctx_dispose(&ctx);
  return rc;
}

static void test_reject_reapply_unreject(void **state) {
  (void)state;
  char first[TD_ID_MAX], second[TD_ID_MAX], line[256];
  /* can_1 applied to job_1 in the first test. */
  td__ctx_t ctx = admin();
  td__application_filter_t f = {.candidate_id = "can_1", .job_id = "job_1", .status = "active"};
  json_t *items = NULL;
  int64_t next = 0;
  assert_int_equal(td__application_list(&ctx, &f, 10, 0, &items, &next), 0);
  assert_int_equal(json_array_size(items), 1);
  snprintf(first, sizeof first, "%s", json_string_value(json_object_get(json_array_get(items, 0), "id")));
  json_decref(items);
  move(first, "stg_interview", 0, NULL);
  reject(first, "rejected", 0);
  last_transition(first, line, sizeof line);
  assert_string_equal(line, "rejected stg_interview->stg_interview not a fit by usr_admin (req_test)");
  assert_int_equal(scalar("SELECT count(*) FROM applications WHERE id = ? AND disposition_kind = 'rejected'"
                          " AND disposition_reason = 'not a fit' AND closed_at IS NOT NULL",
                          first),
                   1);
  reject(first, "rejected", 409);       /* already rejected */
  move(first, "stg_screen", 409, NULL); /* not active */
  /* Re-application after a rejection is allowed. */
  create_ok("can_1", "job_1", NULL, second);
  /* Unrejecting the first now conflicts with the second, naming it. */
  json_t *problem = NULL;
  assert_int_equal(unreject(first, &problem), TD_EINVAL);
  assert_int_equal(json_integer_value(json_object_get(problem, "status")), 409);
  assert_string_equal(json_string_value(json_object_get(problem, "existing_id")), second);
  json_decref(problem);
  /* Once the second is withdrawn, the first comes back in the stage it left from. */
  reject(second, "withdrawn", 0);
  assert_int_equal(unreject(first, &problem), 0);
  assert_null(problem);
  last_transition(first, line, sizeof line);
  assert_string_equal(line, "unrejected stg_interview->stg_interview second look by usr_admin (req_test)");
  assert_int_equal(scalar("SELECT count(*) FROM applications WHERE id = ? AND status = 'active'"
                          " AND disposition_kind IS NULL AND closed_at IS NULL",
                          first),
                   1);
  /* An active application cannot be unrejected. */
  assert_int_equal(unreject(first, &problem), TD_EINVAL);
  assert_int_equal(json_integer_value(json_object_get(problem, "status")), 409);
  json_decref(problem);
  /* created, moved, moved, rejected, unrejected */
  assert_int_equal(transitions_of(first), 4);
  td__ctx_dispose(&ctx);
}

static int hire(const char *id, const char *opening, json_t **problem, json_t **out) {
  td__ctx_t ctx = admin();
  int rc = td__application_hire(&ctx, id, opening, out, NULL);
  if (rc && getenv("TD_TEST_VERBOSE")) fprintf(stderr, "hire: %s\n", json_dumps(ctx.problem, 0));
  *problem = json_incref(ctx.problem);
  td__ctx_dispose(&ctx);
  return rc;
}

static void test_hire(void **state) {
  (void)state;
  char id[TD_ID_MAX], rejected[TD_ID_MAX], line[256];
  json_t *problem = NULL, *out = NULL;
  int64_t job_version = scalar("SELECT version FROM jobs WHERE id = 'job_1'", NULL);
  /* The active application of can_1 in job_1 (unrejected above). */
  td__stmt_t *st = td__db_prepare(db,
                                  "SELECT id FROM applications WHERE candidate_rowid = 1 AND job_rowid = 1"
                                  " AND status = 'active'");
  assert_int_equal(td__stmt_step(st), 1);
  snprintf(id, sizeof id, "%s", td__stmt_text(st, 0));
  td__stmt_finalize(st);
  st = td__db_prepare(db, "SELECT id FROM applications WHERE status = 'withdrawn' LIMIT 1");
  assert_int_equal(td__stmt_step(st), 1);
  snprintf(rejected, sizeof rejected, "%s", td__stmt_text(st, 0));
  td__stmt_finalize(st);

  /* A withdrawn application cannot be hired, and an unknown opening is refused. */
  assert_int_equal(hire(rejected, NULL, &problem, &out), TD_EINVAL);
  assert_int_equal(json_integer_value(json_object_get(problem, "status")), 409);
  json_decref(problem);
  assert_int_equal(hire(id, "opn_j4", &problem, &out), TD_EINVAL); /* another job's opening */
  assert_int_equal(json_integer_value(json_object_get(problem, "status")), 409);
  json_decref(problem);
  assert_int_equal(scalar("SELECT count(*) FROM openings WHERE status = 'filled'", NULL), 0);

  /* Without opening_id: the open opening with the earliest target date. */
  assert_int_equal(hire(id, NULL, &problem, &out), 0);
  assert_null(problem);
  assert_string_equal(json_string_value(json_object_get(out, "status")), "hired");
  assert_string_equal(json_string_value(json_object_get(out, "stage_id")), "stg_hired");
  assert_string_equal(json_string_value(json_object_get(out, "opening_id")), "opn_early");
  json_decref(out);
  assert_int_equal(scalar("SELECT count(*) FROM openings WHERE id = 'opn_early' AND status = 'filled'"
                          " AND filled_by_application = ?",
                          id),
                   1);
  assert_true(scalar("SELECT version FROM jobs WHERE id = 'job_1'", NULL) > job_version);
  last_transition(id, line, sizeof line);
  assert_string_equal(line, "hired stg_interview->stg_hired  by usr_admin (req_test)");
  assert_int_equal(
      scalar("SELECT count(*) FROM events WHERE subject_id = ? AND type = 'application.hired'", id), 1);
  /* Hired is final for the actions. */
  assert_int_equal(hire(id, NULL, &problem, &out), TD_EINVAL);
  assert_int_equal(json_integer_value(json_object_get(problem, "status")), 409);
  json_decref(problem);
}

static void test_hire_needs_open_opening_and_hired_stage(void **state) {
  (void)state;
  char a[TD_ID_MAX], b[TD_ID_MAX], c[TD_ID_MAX];
  json_t *problem = NULL, *out = NULL;
  /* job_1 has one opening left (opn_late): one more hire fills it, the next finds none. */
  assert_int_equal(
      td__db_exec(db,
                  "INSERT INTO candidates(rowid, id, first_name, last_name, created_at, updated_at)"
                  " VALUES (3, 'can_3', 'Cy', 'Diaz', 0, 0), (4, 'can_4', 'Di', 'Eng', 0, 0)"),
      0);
  create_ok("can_3", "job_1", NULL, a);
  assert_int_equal(hire(a, NULL, &problem, &out), 0);
  assert_string_equal(json_string_value(json_object_get(out, "opening_id")), "opn_late");
  json_decref(out);
  create_ok("can_4", "job_1", NULL, b);
  int64_t before = transitions_of(b);
  assert_int_equal(hire(b, NULL, &problem, &out), TD_EINVAL);
  assert_int_equal(json_integer_value(json_object_get(problem, "status")), 409);
  assert_string_equal(json_string_value(json_object_get(problem, "title")), "No open opening");
  json_decref(problem);
  assert_int_equal(transitions_of(b), before);
  assert_int_equal(scalar("SELECT status = 'active' FROM applications WHERE id = ?", b), 1);
  /* A job without a hired-type stage cannot hire, even with an open opening. */
  create_ok("can_3", "job_nohire", NULL, c);
  assert_int_equal(hire(c, NULL, &problem, &out), TD_EINVAL);
  assert_string_equal(json_string_value(json_object_get(problem, "title")), "No hired stage");
  json_decref(problem);
  assert_int_equal(scalar("SELECT count(*) FROM openings WHERE id = 'opn_j4' AND status = 'open'", NULL), 1);
}

static void test_permissions(void **state) {
  (void)state;
  char id[TD_ID_MAX];
  td__stmt_t *st =
      td__db_prepare(db, "SELECT id FROM applications WHERE job_rowid = 1 AND status = 'active' LIMIT 1");
  assert_int_equal(td__stmt_step(st), 1);
  snprintf(id, sizeof id, "%s", td__stmt_text(st, 0));
  td__stmt_finalize(st);
  /* A hiring manager on the job sees it (403 on a move), one who is not gets a 404. */
  td__ctx_t hm = ctx_as("usr_hm", TD_ROLE_HIRING_MANAGER);
  json_t *out = NULL;
  assert_int_equal(td__application_get(&hm, id, &out, NULL), 0);
  json_decref(out);
  assert_int_equal(td__application_move(&hm, id, "stg_screen", NULL, NULL, NULL), TD_EINVAL);
  assert_int_equal(problem_status(&hm), 403);
  td__ctx_dispose(&hm);
  td__ctx_t hm2 = ctx_as("usr_hm2", TD_ROLE_HIRING_MANAGER);
  assert_int_equal(td__application_reject(&hm2, id, "rejected", "no", NULL, NULL), TD_EINVAL);
  assert_int_equal(problem_status(&hm2), 404);
  td__ctx_dispose(&hm2);
  /* Nor may a hiring manager create applications. */
  td__ctx_t hm3 = ctx_as("usr_hm", TD_ROLE_HIRING_MANAGER);
  json_t *body = json_pack("{s:s,s:s,s:s}", "candidate_id", "can_3", "job_id", "job_2", "source", "x");
  assert_int_equal(td__application_create(&hm3, body, NULL, NULL), TD_EINVAL);
  assert_int_equal(problem_status(&hm3), 403);
  json_decref(body);
  td__ctx_dispose(&hm3);
  /* A recruiter may. */
  td__ctx_t rec = ctx_as("usr_rec", TD_ROLE_RECRUITER);
  assert_int_equal(td__application_move(&rec, id, "stg_screen", NULL, NULL, NULL), 0);
  td__ctx_dispose(&rec);
}

static void test_log_is_append_only_and_complete(void **state) {
  (void)state;
  /* Every application has exactly one 'created' entry, and it is its first. */
  assert_int_equal(scalar("SELECT count(*) FROM applications a WHERE (SELECT kind FROM stage_transitions t"
                          " WHERE t.application_rowid = a.rowid ORDER BY t.rowid LIMIT 1) IS NOT 'created'",
                          NULL),
                   0);
  assert_int_equal(scalar("SELECT count(*) - count(DISTINCT application_rowid) FROM stage_transitions"
                          " WHERE kind = 'created'",
                          NULL),
                   0);
  /* The log agrees with the rows: each application's last entry ends in its stage. */
  assert_int_equal(
      scalar("SELECT count(*) FROM applications a WHERE a.stage_rowid <> (SELECT to_stage_rowid"
             " FROM stage_transitions t WHERE t.application_rowid = a.rowid ORDER BY t.rowid DESC LIMIT 1)",
             NULL),
      0);
  /* One event and one activity per transition. */
  assert_int_equal(scalar("SELECT count(*) FROM stage_transitions", NULL),
                   scalar("SELECT count(*) FROM events WHERE subject_type = 'application'", NULL));
  assert_int_equal(scalar("SELECT count(*) FROM stage_transitions", NULL),
                   scalar("SELECT count(*) FROM activities WHERE kind = 'stage_change'", NULL));
  assert_int_not_equal(td__db_exec(db, "UPDATE stage_transitions SET reason = 'rewritten'"), 0);
  assert_int_equal(scalar("SELECT count(*) FROM stage_transitions WHERE reason = 'rewritten'", NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_writes_created_transition),
      cmocka_unit_test(test_one_active_application_per_job),
      cmocka_unit_test(test_create_refusals),
      cmocka_unit_test(test_moves_and_illegal_moves),
      cmocka_unit_test(test_reject_reapply_unreject),
      cmocka_unit_test(test_hire),
      cmocka_unit_test(test_hire_needs_open_opening_and_hired_stage),
      cmocka_unit_test(test_permissions),
      cmocka_unit_test(test_log_is_append_only_and_complete),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
