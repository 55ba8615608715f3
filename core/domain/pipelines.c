/* Pipelines: a job's ordered stages (add, rename, retype, reorder, soft-delete) and the
 * templates new jobs copy their stages from. Positions of a job's live stages are always
 * dense and unique (0..n-1): every edit renumbers them in one pass. */
#include "domain/pipelines.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/jobs.h"
#include "domain/row_json.h"
#include "talentd/types.h"
#include "util/id.h"
#include "util/mem.h"
#include "util/time.h"

#define MAX_STAGES 50

static const char *const stage_types[] = {"lead", "applied", "screen", "interview", "offer", "hired"};

int td__stage_type_valid(const char *type) {
  for (size_t i = 0; type && i < sizeof stage_types / sizeof stage_types[0]; i++)
    if (strcmp(type, stage_types[i]) == 0) return 1;
  return 0;
}

int td__stage_order_move(int64_t *ids, size_t n, size_t from, size_t to) {
  if (from >= n || to >= n) return TD_EINVAL;
  int64_t moving = ids[from];
  if (from < to)
    memmove(&ids[from], &ids[from + 1], (to - from) * sizeof *ids);
  else if (from > to)
    memmove(&ids[to + 1], &ids[to], (from - to) * sizeof *ids);
  ids[to] = moving;
  return 0;
}

/* ---------- ordering ---------- */

/* The rowids of the job's live stages in their current order (a new array, freed by the
 * caller; ties in position, which a correct pipeline never has, break by rowid). */
static int live_stages(td__db_t *db, int64_t job_rowid, int64_t **ids, size_t *n) {
  *ids = NULL;
  *n = 0;
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT rowid FROM stages WHERE job_rowid = ? AND deleted_at IS NULL"
                               " ORDER BY position, rowid");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, job_rowid);
  size_t cap = 0;
  int rc;
  while ((rc = td__stmt_step(st)) == 1) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      *ids = td__xrealloc(*ids, cap * sizeof **ids);
    }
    (*ids)[(*n)++] = td__stmt_int(st, 0);
  }
  if (rc < 0) {
    free(*ids);
    *ids = NULL;
    *n = 0;
  }
  return rc < 0 ? rc : 0;
}

/* Writes position i to ids[i], touching only the rows whose position changes. */
static int write_positions(td__db_t *db, const int64_t *ids, size_t n) {
  for (size_t i = 0; i < n; i++) {
    td__stmt_t *st = td__db_stmt(db, "UPDATE stages SET position = ?1 WHERE rowid = ?2 AND position <> ?1");
    if (st == NULL) return TD_EIO;
    td__stmt_bind_int(st, 1, (int64_t)i);
    td__stmt_bind_int(st, 2, ids[i]);
    int rc = td__stmt_run(st);
    if (rc) return rc;
  }
  return 0;
}

int td__stages_move(td__db_t *db, int64_t job_rowid, int64_t stage_rowid, int to) {
  int64_t *ids;
  size_t n;
  int rc = live_stages(db, job_rowid, &ids, &n);
  if (rc) return rc;
  size_t from = n;
  for (size_t i = 0; i < n; i++)
    if (ids[i] == stage_rowid) from = i;
  if (from == n)
    rc = TD_ENOTFOUND;
  else if (to < 0 || (size_t)to >= n)
    rc = TD_EINVAL;
  else
    rc = td__stage_order_move(ids, n, from, (size_t)to);
  if (rc == 0) rc = write_positions(db, ids, n);
  free(ids);
  return rc;
}

int td__stages_compact(td__db_t *db, int64_t job_rowid, int *count) {
  int64_t *ids;
  size_t n;
  int rc = live_stages(db, job_rowid, &ids, &n);
  if (rc == 0) rc = write_positions(db, ids, n);
  if (count) *count = (int)n;
  free(ids);
  return rc;
}

/* ---------- stage rows ---------- */

static int insert_stage(td__db_t *db, int64_t job_rowid, const char *name, const char *type, int64_t position,
                        const json_t *sla_days, int64_t *rowid) {
  char id[TD_ID_MAX];
  td__id_new("stg", id);
  td__stmt_t *st = td__db_stmt(db,
                               "INSERT INTO stages(id, job_rowid, name, type, position, sla_days)"
                               " VALUES (?, ?, ?, ?, ?, ?)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id);
  td__stmt_bind_int(st, 2, job_rowid);
  td__stmt_bind_text(st, 3, name);
  td__stmt_bind_text(st, 4, type);
  td__stmt_bind_int(st, 5, position);
  if (json_is_integer(sla_days))
    td__stmt_bind_int(st, 6, (int64_t)json_integer_value(sla_days));
  else
    td__stmt_bind_null(st, 6);
  int rc = td__stmt_run(st);
  if (rc == 0 && rowid) *rowid = td__db_last_rowid(db);
  return rc;
}

static json_t *stage_row_json(td__stmt_t *st) {
  json_t *s = json_object();
  json_object_set_new(s, "id", json_string(td__stmt_text(st, 0)));
  json_object_set_new(s, "name", json_string(td__stmt_text(st, 1)));
  json_object_set_new(s, "type", json_string(td__stmt_text(st, 2)));
  json_object_set_new(s, "position", json_integer(td__stmt_int(st, 3)));
  json_object_set_new(s, "sla_days",
                      td__stmt_is_null(st, 4) ? json_null() : json_integer(td__stmt_int(st, 4)));
  if (!td__stmt_is_null(st, 5)) {
    char at[32];
    td__time_format(td__stmt_int(st, 5), at, sizeof at);
    json_object_set_new(s, "deleted_at", json_string(at));
  }
  return s;
}

json_t *td__stages_json(td__db_t *db, int64_t job_rowid, int include_deleted) {
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT id, name, type, position, sla_days, deleted_at FROM stages"
                               " WHERE job_rowid = ?1 AND (?2 OR deleted_at IS NULL)"
                               " ORDER BY deleted_at IS NOT NULL, position, rowid");
  if (st == NULL) return NULL;
  td__stmt_bind_int(st, 1, job_rowid);
  td__stmt_bind_int(st, 2, include_deleted != 0);
  json_t *list = json_array();
  int rc;
  while ((rc = td__stmt_step(st)) == 1) json_array_append_new(list, stage_row_json(st));
  if (rc < 0) {
    json_decref(list);
    return NULL;
  }
  return list;
}

static json_t *stage_json(td__db_t *db, int64_t stage_rowid) {
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT id, name, type, position, sla_days, deleted_at FROM stages"
                               " WHERE rowid = ?");
  if (st == NULL) return NULL;
  td__stmt_bind_int(st, 1, stage_rowid);
  if (td__stmt_step(st) != 1) return NULL;
  json_t *s = stage_row_json(st);
  td__stmt_reset(st);
  return s;
}

/* A live stage of the job by public id: its rowid and type. TD_ENOTFOUND if none. */
static int find_stage(td__db_t *db, int64_t job_rowid, const char *stage_id, int64_t *rowid, char type[16]) {
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT rowid, type FROM stages WHERE job_rowid = ? AND id = ?"
                               " AND deleted_at IS NULL");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, job_rowid);
  td__stmt_bind_text(st, 2, stage_id);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  *rowid = td__stmt_int(st, 0);
  snprintf(type, 16, "%s", td__stmt_text(st, 1));
  td__stmt_reset(st);
  return 0;
}

/* The single integer a count query returns, or -1 on error. */
static int64_t count_query(td__stmt_t *st) {
  if (st == NULL) return -1;
  int rc = td__stmt_step(st);
  if (rc != 1) return -1;
  int64_t n = td__stmt_int(st, 0);
  td__stmt_reset(st);
  return n;
}

static int64_t live_hired_count(td__db_t *db, int64_t job_rowid) {
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT count(*) FROM stages WHERE job_rowid = ? AND type = 'hired'"
                               " AND deleted_at IS NULL");
  if (st) td__stmt_bind_int(st, 1, job_rowid);
  return count_query(st);
}

static int64_t active_in_stage(td__db_t *db, int64_t stage_rowid) {
  td__stmt_t *st =
      td__db_stmt(db, "SELECT count(*) FROM applications WHERE stage_rowid = ? AND status = 'active'");
  if (st) td__stmt_bind_int(st, 1, stage_rowid);
  return count_query(st);
}

static int refuse_last_hired(td__ctx_t *ctx) {
  td__fail(ctx, 409, "Conflict",
           "a job keeps at least one stage of type hired (hiring moves applications there); "
           "add another hired stage first");
  return TD_ECONFLICT;
}

/* ---------- stage edits ---------- */

int td__stages_copy_template(td__ctx_t *ctx, int64_t job_rowid, const char *template_id) {
  td__stmt_t *st = template_id
                       ? td__db_stmt(ctx->db, "SELECT stages FROM pipeline_templates WHERE id = ?")
                       : td__db_stmt(ctx->db, "SELECT stages FROM pipeline_templates WHERE is_default = 1");
  if (st == NULL) return TD_EIO;
  if (template_id) td__stmt_bind_text(st, 1, template_id);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  json_error_t jerr;
  json_t *stages = json_loads(td__stmt_text(st, 0), 0, &jerr);
  td__stmt_reset(st);
  rc = json_is_array(stages) ? 0 : TD_EINTERNAL;
  size_t i;
  json_t *s;
  json_array_foreach(stages, i, s) {
    if (rc == 0)
      rc = insert_stage(ctx->db, job_rowid, json_string_value(json_object_get(s, "name")),
                        json_string_value(json_object_get(s, "type")), (int64_t)i, NULL, NULL);
  }
  json_decref(stages);
  return rc;
}

/* Common prologue of stage edits: the role may update jobs, and the savepoint is open. */
static int begin_stage_edit(td__ctx_t *ctx, const char *savepoint) {
  if (!td__policy_can(&ctx->principal, TD_RES_JOB, TD_ACT_UPDATE)) return td__fail_forbidden(ctx);
  if (td__db_savepoint(ctx->db, savepoint)) return td__fail_internal(ctx, TD_EIO);
  return 0;
}

int td__stage_add(td__ctx_t *ctx, int64_t job_rowid, const json_t *body, json_t **out) {
  *out = NULL;
  int rc = begin_stage_edit(ctx, "stage_add");
  if (rc) return rc;
  int count = 0;
  int64_t rowid = 0;
  const char *type = json_string_value(json_object_get(body, "type"));
  if (!td__stage_type_valid(type))
    rc = td__fail_field(ctx, "/type", "must be one of lead, applied, screen, interview, offer, hired");
  if (rc == 0) rc = td__stages_compact(ctx->db, job_rowid, &count);
  if (rc == 0 && count >= MAX_STAGES) {
    td__fail(ctx, 409, "Conflict", "a job has at most 50 stages; delete one first");
    rc = TD_ECONFLICT;
  }
  const json_t *position = json_object_get(body, "position");
  json_int_t to = json_is_integer(position) ? json_integer_value(position) : count;
  if (rc == 0 && (to < 0 || to > count)) {
    char message[96];
    snprintf(message, sizeof message, "must be from 0 to %d (the end of the pipeline)", count);
    td__fail_field(ctx, "/position", message);
    rc = TD_EINVAL;
  }
  if (rc == 0)
    rc = insert_stage(ctx->db, job_rowid, json_string_value(json_object_get(body, "name")), type, count,
                      json_object_get(body, "sla_days"), &rowid);
  if (rc == 0) rc = td__stages_move(ctx->db, job_rowid, rowid, (int)to);
  if (rc == 0) rc = td__job_changed(ctx, job_rowid, "stages", NULL);
  if (rc == 0 && (*out = stage_json(ctx->db, rowid)) == NULL) rc = TD_EIO;
  return td__jobs_savepoint_end(ctx, "stage_add", rc);
}

/* Checks a stage PATCH against the pipeline: a retype must leave a hired stage, a new
 * position must be within the live stages. */
static int check_stage_change(td__ctx_t *ctx, int64_t job_rowid, const char *cur_type, const json_t *body,
                              int *count) {
  const char *type = json_string_value(json_object_get(body, "type"));
  if (json_object_get(body, "type") && !td__stage_type_valid(type))
    return td__fail_field(ctx, "/type", "must be one of lead, applied, screen, interview, offer, hired");
  if (type && strcmp(cur_type, "hired") == 0 && strcmp(type, "hired") != 0 &&
      live_hired_count(ctx->db, job_rowid) <= 1)
    return refuse_last_hired(ctx);
  int rc = td__stages_compact(ctx->db, job_rowid, count);
  if (rc) return rc;
  const json_t *position = json_object_get(body, "position");
  if (position && (!json_is_integer(position) || json_integer_value(position) < 0 ||
                   json_integer_value(position) >= *count)) {
    char message[96];
    snprintf(message, sizeof message, "must be from 0 to %d (the last stage)", *count - 1);
    return td__fail_field(ctx, "/position", message);
  }
  return 0;
}

int td__stage_update(td__ctx_t *ctx, int64_t job_rowid, const char *stage_id, const json_t *body,
                     json_t **out) {
  *out = NULL;
  int rc = begin_stage_edit(ctx, "stage_update");
  if (rc) return rc;
  int64_t rowid = 0;
  char type[16];
  int count = 0;
  rc = find_stage(ctx->db, job_rowid, stage_id, &rowid, type);
  if (rc == TD_ENOTFOUND) td__fail_not_found(ctx, "stage");
  if (rc == 0) rc = check_stage_change(ctx, job_rowid, type, body, &count);
  if (rc == 0) {
    const json_t *sla = json_object_get(body, "sla_days");
    td__stmt_t *st = td__db_stmt(ctx->db,
                                 "UPDATE stages SET name = coalesce(?, name), type = coalesce(?, type),"
                                 " sla_days = CASE WHEN ? THEN ? ELSE sla_days END WHERE rowid = ?");
    rc = TD_EIO;
    if (st) {
      td__stmt_bind_text(st, 1, json_string_value(json_object_get(body, "name")));
      td__stmt_bind_text(st, 2, json_string_value(json_object_get(body, "type")));
      td__stmt_bind_int(st, 3, sla != NULL);
      if (json_is_integer(sla))
        td__stmt_bind_int(st, 4, (int64_t)json_integer_value(sla));
      else
        td__stmt_bind_null(st, 4);
      td__stmt_bind_int(st, 5, rowid);
      rc = td__stmt_run(st);
    }
  }
  const json_t *position = json_object_get(body, "position");
  if (rc == 0 && position) rc = td__stages_move(ctx->db, job_rowid, rowid, (int)json_integer_value(position));
  if (rc == 0) rc = td__job_changed(ctx, job_rowid, "stages", NULL);
  if (rc == 0 && (*out = stage_json(ctx->db, rowid)) == NULL) rc = TD_EIO;
  return td__jobs_savepoint_end(ctx, "stage_update", rc);
}

int td__stage_delete(td__ctx_t *ctx, int64_t job_rowid, const char *stage_id) {
  int rc = begin_stage_edit(ctx, "stage_delete");
  if (rc) return rc;
  int64_t rowid = 0;
  char type[16];
  rc = find_stage(ctx->db, job_rowid, stage_id, &rowid, type);
  if (rc == TD_ENOTFOUND) td__fail_not_found(ctx, "stage");
  int64_t active = rc == 0 ? active_in_stage(ctx->db, rowid) : 0;
  if (active < 0) rc = TD_EIO;
  if (rc == 0 && active > 0) {
    char detail[160];
    snprintf(detail, sizeof detail,
             "%lld active application(s) are in this stage; move them to another stage first",
             (long long)active);
    td__fail(ctx, 409, "Conflict", detail);
    rc = TD_ECONFLICT;
  }
  if (rc == 0 && strcmp(type, "hired") == 0 && live_hired_count(ctx->db, job_rowid) <= 1)
    rc = refuse_last_hired(ctx);
  if (rc == 0) {
    /* Soft delete: transitions and closed applications that name the stage still resolve. */
    td__stmt_t *st = td__db_stmt(ctx->db, "UPDATE stages SET deleted_at = ? WHERE rowid = ?");
    rc = TD_EIO;
    if (st) {
      td__stmt_bind_int(st, 1, ctx->now_ms);
      td__stmt_bind_int(st, 2, rowid);
      rc = td__stmt_run(st);
    }
  }
  if (rc == 0) rc = td__stages_compact(ctx->db, job_rowid, NULL);
  if (rc == 0) rc = td__job_changed(ctx, job_rowid, "stages", NULL);
  return td__jobs_savepoint_end(ctx, "stage_delete", rc);
}

/* ---------- templates ---------- */

static json_t *template_row_json(td__stmt_t *st) {
  json_error_t jerr;
  char created[32], updated[32];
  td__time_format(td__stmt_int(st, 4), created, sizeof created);
  td__time_format(td__stmt_int(st, 5), updated, sizeof updated);
  json_t *stages = json_loads(td__stmt_text(st, 3), 0, &jerr);
  return json_pack("{s:s,s:s,s:b,s:o,s:s,s:s}", "id", td__stmt_text(st, 0), "name", td__stmt_text(st, 1),
                   "is_default", (int)td__stmt_int(st, 2), "stages", stages ? stages : json_array(),
                   "created_at", created, "updated_at", updated);
}

static json_t *template_json(td__db_t *db, int64_t rowid, int64_t *version) {
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT id, name, is_default, stages, created_at, updated_at, version"
                               " FROM pipeline_templates WHERE rowid = ?");
  if (st == NULL) return NULL;
  td__stmt_bind_int(st, 1, rowid);
  if (td__stmt_step(st) != 1) return NULL;
  json_t *t = template_row_json(st);
  if (version) *version = td__stmt_int(st, 6);
  td__stmt_reset(st);
  return t;
}

/* Template stages must keep a hired stage, like every job's pipeline. */
static int check_template_stages(td__ctx_t *ctx, const json_t *stages) {
  size_t i;
  json_t *s;
  json_array_foreach(stages, i, s) {
    const char *type = json_string_value(json_object_get(s, "type"));
    if (type && strcmp(type, "hired") == 0) return 0;
  }
  return td__fail_field(ctx, "/stages", "must include at least one stage of type hired");
}

/* Clears the current default (before another template becomes it: at most one default). */
static int clear_default(td__db_t *db, int64_t now_ms) {
  td__stmt_t *st = td__db_stmt(db,
                               "UPDATE pipeline_templates SET is_default = 0, updated_at = ?,"
                               " version = version + 1 WHERE is_default = 1");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, now_ms);
  return td__stmt_run(st);
}

static int name_taken(td__ctx_t *ctx) {
  td__fail(ctx, 409, "Conflict", "another pipeline template has that name");
  td__fail_field(ctx, "/name", "is already used by another pipeline template");
  return TD_ECONFLICT;
}

int td__template_create(td__ctx_t *ctx, const json_t *body, json_t **out, int64_t *version) {
  *out = NULL;
  if (!td__policy_can(&ctx->principal, TD_RES_PIPELINE_TEMPLATE, TD_ACT_CREATE))
    return td__fail_forbidden(ctx);
  const json_t *stages = json_object_get(body, "stages");
  if (check_template_stages(ctx, stages)) return TD_EINVAL;
  bool is_default = json_is_true(json_object_get(body, "is_default"));
  char id[TD_ID_MAX];
  td__id_new("tpl", id);
  char *stages_text = json_dumps(stages, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (stages_text == NULL) return td__fail_internal(ctx, TD_ENOMEM);
  if (td__db_savepoint(ctx->db, "template_create")) {
    free(stages_text);
    return td__fail_internal(ctx, TD_EIO);
  }
  int rc = is_default ? clear_default(ctx->db, ctx->now_ms) : 0;
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO pipeline_templates(id, name, is_default, stages, created_at,"
                               " updated_at) VALUES (?, ?, ?, ?, ?, ?)");
  if (rc == 0 && st == NULL) rc = TD_EIO;
  if (rc == 0) {
    td__stmt_bind_text(st, 1, id);
    td__stmt_bind_text(st, 2, json_string_value(json_object_get(body, "name")));
    td__stmt_bind_int(st, 3, is_default);
    td__stmt_bind_text(st, 4, stages_text);
    td__stmt_bind_int(st, 5, ctx->now_ms);
    td__stmt_bind_int(st, 6, ctx->now_ms);
    rc = td__stmt_run(st);
    if (rc == TD_ECONFLICT) name_taken(ctx);
  }
  free(stages_text);
  if (rc == 0 && (*out = template_json(ctx->db, td__db_last_rowid(ctx->db), version)) == NULL) rc = TD_EIO;
  return td__jobs_savepoint_end(ctx, "template_create", rc);
}

int td__template_resolve(td__ctx_t *ctx, const char *template_id, int64_t *rowid, int64_t *version) {
  if (!td__policy_can(&ctx->principal, TD_RES_PIPELINE_TEMPLATE, TD_ACT_READ)) return td__fail_forbidden(ctx);
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT rowid, version FROM pipeline_templates WHERE id = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, template_id);
  int rc = td__stmt_step(st);
  if (rc < 0) return td__fail_internal(ctx, rc);
  if (rc == 0) {
    td__fail_not_found(ctx, "pipeline template");
    return TD_ENOTFOUND;
  }
  if (rowid) *rowid = td__stmt_int(st, 0);
  if (version) *version = td__stmt_int(st, 1);
  td__stmt_reset(st);
  return 0;
}

int td__template_get(td__ctx_t *ctx, const char *template_id, json_t **out, int64_t *version) {
  int64_t rowid;
  *out = NULL;
  int rc = td__template_resolve(ctx, template_id, &rowid, NULL);
  if (rc) return rc;
  *out = template_json(ctx->db, rowid, version);
  return *out ? 0 : td__fail_internal(ctx, TD_EIO);
}

int td__template_list(td__ctx_t *ctx, int limit, int64_t after, json_t **items, int64_t *next_rowid) {
  *items = NULL;
  *next_rowid = 0;
  if (!td__policy_can(&ctx->principal, TD_RES_PIPELINE_TEMPLATE, TD_ACT_READ)) return td__fail_forbidden(ctx);
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT id, name, is_default, stages, created_at, updated_at, rowid"
                               " FROM pipeline_templates WHERE rowid > ? ORDER BY rowid LIMIT ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, after);
  td__stmt_bind_int(st, 2, limit + 1);
  return td__row_page(ctx, st, 6, limit, template_row_json, items, next_rowid);
}

static int template_is_default(td__db_t *db, int64_t rowid) {
  td__stmt_t *st = td__db_stmt(db, "SELECT is_default FROM pipeline_templates WHERE rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, rowid);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  int v = td__stmt_int(st, 0) != 0;
  td__stmt_reset(st);
  return v;
}

static int refuse_no_default(td__ctx_t *ctx, const char *pointer) {
  td__fail(ctx, 409, "Conflict",
           "exactly one pipeline template is the default; make another template the default first");
  if (pointer) td__fail_field(ctx, pointer, "cannot be unset on the default template");
  return TD_ECONFLICT;
}

int td__template_update(td__ctx_t *ctx, int64_t rowid, const json_t *body, json_t **out, int64_t *version) {
  *out = NULL;
  if (!td__policy_can(&ctx->principal, TD_RES_PIPELINE_TEMPLATE, TD_ACT_UPDATE))
    return td__fail_forbidden(ctx);
  const json_t *stages = json_object_get(body, "stages");
  if (stages && check_template_stages(ctx, stages)) return TD_EINVAL;
  const json_t *def = json_object_get(body, "is_default");
  int was_default = template_is_default(ctx->db, rowid);
  if (was_default < 0) return td__fail_internal(ctx, was_default);
  if (was_default && json_is_false(def)) return refuse_no_default(ctx, "/is_default");
  char *stages_text = stages ? json_dumps(stages, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (td__db_savepoint(ctx->db, "template_update")) {
    free(stages_text);
    return td__fail_internal(ctx, TD_EIO);
  }
  int rc = json_is_true(def) && !was_default ? clear_default(ctx->db, ctx->now_ms) : 0;
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "UPDATE pipeline_templates SET name = coalesce(?, name),"
                               " is_default = coalesce(?, is_default), stages = coalesce(?, stages),"
                               " updated_at = ?, version = version + 1 WHERE rowid = ?");
  if (rc == 0 && st == NULL) rc = TD_EIO;
  if (rc == 0) {
    td__stmt_bind_text(st, 1, json_string_value(json_object_get(body, "name")));
    if (json_is_boolean(def))
      td__stmt_bind_int(st, 2, json_is_true(def));
    else
      td__stmt_bind_null(st, 2);
    td__stmt_bind_text(st, 3, stages_text);
    td__stmt_bind_int(st, 4, ctx->now_ms);
    td__stmt_bind_int(st, 5, rowid);
    rc = td__stmt_run(st);
    if (rc == TD_ECONFLICT) name_taken(ctx);
  }
  free(stages_text);
  if (rc == 0 && (*out = template_json(ctx->db, rowid, version)) == NULL) rc = TD_EIO;
  return td__jobs_savepoint_end(ctx, "template_update", rc);
}

int td__template_delete(td__ctx_t *ctx, int64_t rowid) {
  if (!td__policy_can(&ctx->principal, TD_RES_PIPELINE_TEMPLATE, TD_ACT_DELETE))
    return td__fail_forbidden(ctx);
  int is_default = template_is_default(ctx->db, rowid);
  if (is_default < 0) return td__fail_internal(ctx, is_default);
  if (is_default) return refuse_no_default(ctx, NULL);
  td__stmt_t *st = td__db_stmt(ctx->db, "DELETE FROM pipeline_templates WHERE rowid = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, rowid);
  int rc = td__stmt_run(st);
  return rc ? td__fail_internal(ctx, rc) : 0;
}
