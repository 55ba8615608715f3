/* Unit tests of the job and pipeline domain: the pure reorder helper, and on a migrated
 * temporary database the dense positions of a job's stages through add, move and soft
 * delete, the last-hired-stage rule, and the lookups applications rely on
 * (td__job_stage_lookup, td__job_open_opening). */
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

#include "domain/jobs.h"
#include "domain/pipelines.h"
#include "store/db.h"
#include "store/migrate.h"
#include "talentd/types.h"

/* ---------- the pure helper ---------- */

static void assert_order(const int64_t *got, const int64_t *want, size_t n) {
  for (size_t i = 0; i < n; i++) assert_int_equal(got[i], want[i]);
}

static void test_order_move_forward_backward_and_same(void **state) {
  (void)state;
  int64_t ids[] = {10, 11, 12, 13, 14};
  assert_int_equal(td__stage_order_move(ids, 5, 1, 3), 0);
  assert_order(ids, (int64_t[]){10, 12, 13, 11, 14}, 5);
  assert_int_equal(td__stage_order_move(ids, 5, 4, 0), 0);
  assert_order(ids, (int64_t[]){14, 10, 12, 13, 11}, 5);
  assert_int_equal(td__stage_order_move(ids, 5, 2, 2), 0);
  assert_order(ids, (int64_t[]){14, 10, 12, 13, 11}, 5);
  assert_int_equal(td__stage_order_move(ids, 5, 0, 4), 0);
  assert_order(ids, (int64_t[]){10, 12, 13, 11, 14}, 5);
}

static void test_order_move_out_of_range(void **state) {
  (void)state;
  int64_t ids[] = {1, 2, 3};
  assert_int_equal(td__stage_order_move(ids, 3, 3, 0), TD_EINVAL);
  assert_int_equal(td__stage_order_move(ids, 3, 0, 3), TD_EINVAL);
  assert_int_equal(td__stage_order_move(ids, 0, 0, 0), TD_EINVAL);
  assert_order(ids, (int64_t[]){1, 2, 3}, 3);
}

/* ---------- on a database ---------- */

typedef struct fixture {
  char dir[64];
  char path[96];
  td__db_t *db;
  td__ctx_t ctx;
  json_t *job;
  int64_t job_rowid;
} fixture_t;

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/td-jobs-unit-XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  snprintf(f->path, sizeof f->path, "%s/talentd.db", f->dir);
  const char *message = NULL;
  if (td__db_open(f->path, TD_DB_READWRITE, &f->db) != 0 || td__migrate(f->db, &message) != 0) return -1;
  f->ctx = (td__ctx_t){.db = f->db, .actor_kind = "system", .now_ms = 1700000000000, .cause = "unit"};
  f->ctx.principal.role = TD_ROLE_ADMIN;
  json_t *body = json_pack("{s:s,s:[{s:s},{s:s},{}]}", "title", "Engineer", "openings", "target_date",
                           "2027-05-01", "target_date", "2027-02-01");
  int64_t version = 0;
  int rc = td__job_create(&f->ctx, body, &f->job, &version);
  json_decref(body);
  if (rc != 0) return -1;
  const char *id = json_string_value(json_object_get(f->job, "id"));
  if (td__job_stage_lookup(f->db, id, NULL, &f->job_rowid, NULL, NULL, NULL) != 0) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  json_decref(f->job);
  td__ctx_dispose(&f->ctx);
  td__db_close(f->db);
  char path[128];
  const char *suffixes[] = {"", "-wal", "-shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s%s", f->path, suffixes[i]);
    unlink(path);
  }
  rmdir(f->dir);
  free(f);
  return 0;
}

/* The names of the job's stages (live ones in order; with deleted, those after), joined
 * by commas, and a check that live positions are exactly 0..n-1. */
static void live_names(fixture_t *f, char *out, size_t size, int include_deleted) {
  json_t *stages = td__stages_json(f->db, f->job_rowid, include_deleted);
  assert_non_null(stages);
  size_t used = 0;
  out[0] = '\0';
  size_t i;
  json_t *s;
  json_array_foreach(stages, i, s) {
    if (json_object_get(s, "deleted_at") == NULL)
      assert_int_equal(json_integer_value(json_object_get(s, "position")), (json_int_t)i);
    used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "",
                             json_string_value(json_object_get(s, "name")));
  }
  json_decref(stages);
}

static const char *stage_id_at(fixture_t *f, size_t index, char *buf) {
  json_t *stages = td__stages_json(f->db, f->job_rowid, 0);
  snprintf(buf, TD_ID_MAX, "%s", json_string_value(json_object_get(json_array_get(stages, index), "id")));
  json_decref(stages);
  return buf;
}

static void test_copied_stages_are_dense(void **state) {
  fixture_t *f = *state;
  char names[512];
  live_names(f, names, sizeof names, 0);
  assert_string_equal(names, "Lead,Applied,Phone screen,Interview,Offer,Hired");
}

static void test_add_inserts_and_renumbers(void **state) {
  fixture_t *f = *state;
  json_t *out = NULL;
  json_t *body = json_pack("{s:s,s:s,s:i}", "name", "Sourcing call", "type", "screen", "position", 0);
  assert_int_equal(td__stage_add(&f->ctx, f->job_rowid, body, &out), 0);
  assert_int_equal(json_integer_value(json_object_get(out, "position")), 0);
  json_decref(out);
  json_decref(body);
  body = json_pack("{s:s,s:s}", "name", "Debrief", "type", "interview");
  assert_int_equal(td__stage_add(&f->ctx, f->job_rowid, body, &out), 0);
  assert_int_equal(json_integer_value(json_object_get(out, "position")), 7);
  json_decref(out);
  json_decref(body);
  char names[512];
  live_names(f, names, sizeof names, 0);
  assert_string_equal(names, "Sourcing call,Lead,Applied,Phone screen,Interview,Offer,Hired,Debrief");
  /* Past the end is refused and changes nothing. */
  body = json_pack("{s:s,s:s,s:i}", "name", "Late", "type", "offer", "position", 9);
  assert_int_not_equal(td__stage_add(&f->ctx, f->job_rowid, body, &out), 0);
  assert_non_null(f->ctx.problem);
  td__ctx_dispose(&f->ctx);
  json_decref(body);
  live_names(f, names, sizeof names, 0);
  assert_string_equal(names, "Sourcing call,Lead,Applied,Phone screen,Interview,Offer,Hired,Debrief");
}

static void test_move_keeps_positions_dense(void **state) {
  fixture_t *f = *state;
  char id[TD_ID_MAX], names[512];
  json_t *out = NULL;
  json_t *body = json_pack("{s:i}", "position", 0);
  assert_int_equal(td__stage_update(&f->ctx, f->job_rowid, stage_id_at(f, 5, id), body, &out), 0);
  json_decref(out);
  json_decref(body);
  live_names(f, names, sizeof names, 0);
  assert_string_equal(names, "Hired,Lead,Applied,Phone screen,Interview,Offer");
  body = json_pack("{s:i,s:s}", "position", 4, "name", "First call");
  assert_int_equal(td__stage_update(&f->ctx, f->job_rowid, stage_id_at(f, 1, id), body, &out), 0);
  assert_string_equal(json_string_value(json_object_get(out, "name")), "First call");
  json_decref(out);
  json_decref(body);
  live_names(f, names, sizeof names, 0);
  assert_string_equal(names, "Hired,Applied,Phone screen,Interview,First call,Offer");
  /* Moving to the last position (rowid 1 is the first copied stage, now "First call"),
   * then a position out of range and a stage of no job: both change nothing. */
  assert_int_equal(td__stages_move(f->db, f->job_rowid, 1, 5), 0);
  live_names(f, names, sizeof names, 0);
  assert_string_equal(names, "Hired,Applied,Phone screen,Interview,Offer,First call");
  assert_int_equal(td__stages_move(f->db, f->job_rowid, 1, 6), TD_EINVAL);
  assert_int_equal(td__stages_move(f->db, f->job_rowid, 9999, 0), TD_ENOTFOUND);
  live_names(f, names, sizeof names, 0);
  assert_string_equal(names, "Hired,Applied,Phone screen,Interview,Offer,First call");
}

static void test_soft_delete_renumbers_and_keeps_row(void **state) {
  fixture_t *f = *state;
  char id[TD_ID_MAX], names[512];
  assert_int_equal(td__stage_delete(&f->ctx, f->job_rowid, stage_id_at(f, 1, id)), 0);
  live_names(f, names, sizeof names, 0);
  assert_string_equal(names, "Lead,Phone screen,Interview,Offer,Hired");
  live_names(f, names, sizeof names, 1);
  assert_string_equal(names, "Lead,Phone screen,Interview,Offer,Hired,Applied");
  /* The deleted stage no longer resolves for new moves, and the default-stage lookup
   * falls back to the first stage when no applied stage is left. */
  const char *job_id = json_string_value(json_object_get(f->job, "id"));
  assert_int_equal(td__job_stage_lookup(f->db, job_id, id, NULL, NULL, NULL, NULL), TD_ENOTFOUND);
  char type[16];
  int position = -1;
  assert_int_equal(td__job_stage_lookup(f->db, job_id, NULL, NULL, NULL, type, &position), 0);
  assert_string_equal(type, "lead");
  assert_int_equal(position, 0);
  /* A second delete of the same stage finds nothing. */
  assert_int_not_equal(td__stage_delete(&f->ctx, f->job_rowid, id), 0);
  td__ctx_dispose(&f->ctx);
}

static void test_last_hired_stage_stays(void **state) {
  fixture_t *f = *state;
  char id[TD_ID_MAX], names[512];
  assert_int_equal(td__stage_delete(&f->ctx, f->job_rowid, stage_id_at(f, 5, id)), TD_ECONFLICT);
  assert_int_equal(json_integer_value(json_object_get(f->ctx.problem, "status")), 409);
  td__ctx_dispose(&f->ctx);
  json_t *out = NULL;
  json_t *body = json_pack("{s:s}", "type", "offer");
  assert_int_equal(td__stage_update(&f->ctx, f->job_rowid, id, body, &out), TD_ECONFLICT);
  td__ctx_dispose(&f->ctx);
  json_decref(body);
  live_names(f, names, sizeof names, 0);
  assert_string_equal(names, "Lead,Applied,Phone screen,Interview,Offer,Hired");
}

static void test_lookups_for_applications(void **state) {
  fixture_t *f = *state;
  const char *job_id = json_string_value(json_object_get(f->job, "id"));
  int64_t job_rowid = 0, stage_rowid = 0;
  char type[16], id[TD_ID_MAX];
  int position = -1;
  assert_int_equal(td__job_stage_lookup(f->db, job_id, NULL, &job_rowid, &stage_rowid, type, &position), 0);
  assert_int_equal(job_rowid, f->job_rowid);
  assert_string_equal(type, "applied");
  assert_int_equal(position, 1);
  assert_int_equal(td__job_stage_lookup(f->db, job_id, stage_id_at(f, 3, id), NULL, NULL, type, &position),
                   0);
  assert_string_equal(type, "interview");
  assert_int_equal(position, 3);
  assert_int_equal(td__job_stage_lookup(f->db, "job_nope", NULL, NULL, NULL, NULL, NULL), TD_ENOTFOUND);

  /* Openings: the earliest target date first, undated last; a named one must be open. */
  json_t *openings = json_object_get(f->job, "openings");
  const char *may = json_string_value(json_object_get(json_array_get(openings, 0), "id"));
  const char *feb = json_string_value(json_object_get(json_array_get(openings, 1), "id"));
  assert_int_equal(td__job_open_opening(f->db, f->job_rowid, NULL, id), 0);
  assert_string_equal(id, feb);
  assert_int_equal(td__job_open_opening(f->db, f->job_rowid, may, id), 0);
  assert_string_equal(id, may);
  assert_int_equal(td__job_open_opening(f->db, f->job_rowid, "opn_nope", id), TD_ENOTFOUND);
  assert_int_equal(td__db_exec(f->db, "UPDATE openings SET status = 'filled'"), 0);
  assert_int_equal(td__job_open_opening(f->db, f->job_rowid, NULL, id), TD_ENOTFOUND);
  assert_int_equal(td__job_open_opening(f->db, f->job_rowid, may, id), TD_ENOTFOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_move_forward_backward_and_same),
      cmocka_unit_test(test_order_move_out_of_range),
      cmocka_unit_test_setup_teardown(test_copied_stages_are_dense, setup, teardown),
      cmocka_unit_test_setup_teardown(test_add_inserts_and_renumbers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_move_keeps_positions_dense, setup, teardown),
      cmocka_unit_test_setup_teardown(test_soft_delete_renumbers_and_keeps_row, setup, teardown),
      cmocka_unit_test_setup_teardown(test_last_hired_stage_stays, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lookups_for_applications, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
