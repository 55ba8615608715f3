/* Tasks (to-dos): create, read, list, update, with the visibility rule of tasks.h built from
 * the policy's candidate and application predicates. */
#include "domain/tasks.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/applications.h"
#include "domain/candidates.h"
#include "domain/events.h"
#include "domain/row_json.h"
#include "domain/users.h"
#include "talentd/types.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

/* The columns task_json reads, in order. */
#define TASK_SELECT                                                                                   \
  "SELECT k.rowid, k.id, k.title, k.assignee_id, k.due_at, cd.id, ap.id, k.done, k.done_at,"          \
  " k.created_by, k.created_at, k.updated_at, k.version FROM tasks k"                                 \
  " LEFT JOIN candidates cd ON cd.rowid = k.candidate_rowid LEFT JOIN applications ap ON ap.rowid = " \
  "k.application_rowid"

/* A task's values while an update is applied to them. */
typedef struct task_row {
  int64_t rowid, candidate_rowid, application_rowid, due_at, version;
  char *title;
  char assignee[TD_ID_MAX]; /* "" when unassigned */
  bool has_due, done;
} task_row_t;

/* The visibility rule (tasks.h) as SQL on alias k; uses :me. */
static void append_visible(td__buf_t *b, const td__principal_t *p) {
  td__buf_puts(b, td__policy_task_visible(p));
}

static json_t *task_json(td__stmt_t *st) {
  return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:I}", "id", td__stmt_text(st, 1), "title",
                   td__stmt_text(st, 2), "assignee_id", td__row_text(st, 3), "due_at", td__row_time(st, 4),
                   "candidate_id", td__row_text(st, 5), "application_id", td__row_text(st, 6), "done",
                   (int)td__stmt_int(st, 7), "done_at", td__row_time(st, 8), "created_by",
                   td__row_text(st, 9), "created_at", td__row_time(st, 10), "updated_at",
                   td__row_time(st, 11), "version", (json_int_t)td__stmt_int(st, 12));
}

/* The task at rowid, without a visibility check (after a write by this caller). */
static int fetch_json(td__ctx_t *ctx, int64_t rowid, json_t **out, int64_t *version) {
  td__stmt_t *st = td__db_stmt(ctx->db, TASK_SELECT " WHERE k.rowid = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, rowid);
  return td__row_object(ctx, st, "task", task_json, 12, out, version);
}

/* ---------- the candidate and application a task is about ---------- */

static int candidate_of_application(td__ctx_t *ctx, int64_t app_rowid, int64_t *candidate_rowid) {
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT candidate_rowid FROM applications WHERE rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, app_rowid);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc == 0 ? TD_ENOTFOUND : rc;
  *candidate_rowid = td__stmt_int(st, 0);
  td__stmt_reset(st);
  return 0;
}

/* Applies body's candidate_id and application_id (either may be absent, or null to clear)
 * to t. Naming an application without a candidate makes the task about that
 * application's candidate; naming both requires them to agree. */
static int apply_links(td__ctx_t *ctx, const json_t *body, task_row_t *t) {
  json_t *jc = json_object_get(body, "candidate_id");
  json_t *ja = json_object_get(body, "application_id");
  int rc;
  if (jc && json_is_null(jc))
    t->candidate_rowid = 0;
  else if (jc) {
    td__candidate_ref_t cand;
    rc = td__candidate_find_quiet(ctx, json_string_value(jc), &cand);
    if (rc == TD_ENOTFOUND)
      td__fail_field(ctx, "/candidate_id", "no candidate with that id exists, or you may not see it");
    else if (rc)
      return td__fail_internal(ctx, rc);
    else
      t->candidate_rowid = cand.rowid;
  }
  int64_t app_candidate = 0;
  if (ja && json_is_null(ja))
    t->application_rowid = 0;
  else if (ja) {
    rc = td__application_resolve(ctx, json_string_value(ja), &t->application_rowid, &app_candidate);
    if (rc == TD_ENOTFOUND)
      td__fail_field(ctx, "/application_id", "no application with that id exists, or you may not see it");
    else if (rc)
      return td__fail_internal(ctx, rc);
  } else if (t->application_rowid) {
    rc = candidate_of_application(ctx, t->application_rowid, &app_candidate);
    if (rc) return td__fail_internal(ctx, rc);
  }
  if (ctx->problem) return TD_EINVAL;
  if (t->application_rowid == 0) return 0;
  if (jc == NULL && ja)
    t->candidate_rowid = app_candidate;
  else if (t->candidate_rowid != app_candidate)
    return td__fail_field(ctx, "/application_id",
                          "belongs to another candidate than the task's candidate_id; set both together"
                          " (or application_id to null)");
  return 0;
}

/* Applies title, assignee_id, due_at and done of body to t. *completed is set when done
 * turns true. */
static int apply_fields(td__ctx_t *ctx, const json_t *body, task_row_t *t, bool *completed) {
  const char *title = json_string_value(json_object_get(body, "title"));
  if (title) {
    free(t->title);
    t->title = td__xstrdup(title);
  }
  json_t *assignee = json_object_get(body, "assignee_id");
  if (assignee && json_is_null(assignee))
    t->assignee[0] = '\0';
  else if (assignee && !td__user_exists(ctx->db, json_string_value(assignee)))
    td__fail_field(ctx, "/assignee_id", "must be the id of an active user");
  else if (assignee)
    snprintf(t->assignee, sizeof t->assignee, "%s", json_string_value(assignee));
  json_t *due = json_object_get(body, "due_at");
  if (due && json_is_null(due))
    t->has_due = false;
  else if (due && td__time_parse(json_string_value(due), &t->due_at) != 0)
    td__fail_field(ctx, "/due_at", "must be an RFC 3339 date-time such as 2026-05-01T09:00:00Z");
  else if (due)
    t->has_due = true;
  json_t *done = json_object_get(body, "done");
  *completed = done && json_is_true(done) && !t->done;
  if (done) t->done = json_is_true(done);
  return ctx->problem ? TD_EINVAL : 0;
}

static void bind_row(td__stmt_t *st, const td__ctx_t *ctx, const task_row_t *t, int first) {
  td__stmt_bind_text(st, first, t->title);
  td__stmt_bind_text(st, first + 1, t->assignee[0] ? t->assignee : NULL);
  if (t->has_due)
    td__stmt_bind_int(st, first + 2, t->due_at);
  else
    td__stmt_bind_null(st, first + 2);
  if (t->candidate_rowid)
    td__stmt_bind_int(st, first + 3, t->candidate_rowid);
  else
    td__stmt_bind_null(st, first + 3);
  if (t->application_rowid)
    td__stmt_bind_int(st, first + 4, t->application_rowid);
  else
    td__stmt_bind_null(st, first + 4);
  td__stmt_bind_int(st, first + 5, t->done);
  td__stmt_bind_int(st, first + 6, ctx->now_ms);
}

/* The event of a task write: ids and dates only (titles can hold personal data). */
static int emit(td__ctx_t *ctx, const char *type, int64_t rowid) {
  json_t *task = NULL;
  int rc = fetch_json(ctx, rowid, &task, NULL);
  if (rc) return rc;
  const char *id = json_string_value(json_object_get(task, "id"));
  json_t *data = json_pack("{s:s,s:O,s:O,s:O,s:O,s:O}", "task_id", id, "assignee_id",
                           json_object_get(task, "assignee_id"), "due_at", json_object_get(task, "due_at"),
                           "candidate_id", json_object_get(task, "candidate_id"), "application_id",
                           json_object_get(task, "application_id"), "done", json_object_get(task, "done"));
  rc = td__event_emit(ctx, type, "task", id, data);
  json_decref(task);
  return rc ? td__fail_internal(ctx, rc) : 0;
}

/* ---------- create ---------- */

#define SAVEPOINT "td_task"

/* Links and fields of body applied to t, collecting every field error in one 422. */
static int apply_body(td__ctx_t *ctx, const json_t *body, task_row_t *t, bool *completed) {
  int rc = apply_links(ctx, body, t);
  bool fields_only = rc == 0 || json_integer_value(json_object_get(ctx->problem, "status")) == 422;
  if (!fields_only) return rc;
  int rc2 = apply_fields(ctx, body, t, completed);
  return rc ? rc : rc2;
}

/* Runs st (bound by the caller) and emits the event about the task at *rowid (0: the row
 * st inserts, whose rowid is then stored there), atomically. */
static int write_and_emit(td__ctx_t *ctx, td__stmt_t *st, const char *event, int64_t *rowid) {
  if (td__db_savepoint(ctx->db, SAVEPOINT)) return td__fail_internal(ctx, TD_EIO);
  int rc = td__stmt_run(st);
  if (rc) rc = td__fail_internal(ctx, rc);
  if (rc == 0 && *rowid == 0) *rowid = td__db_last_rowid(ctx->db);
  if (rc == 0) rc = emit(ctx, event, *rowid);
  if (rc) {
    td__db_rollback_to(ctx->db, SAVEPOINT);
    return rc;
  }
  return td__db_release(ctx->db, SAVEPOINT) ? td__fail_internal(ctx, TD_EIO) : 0;
}

int td__task_create(td__ctx_t *ctx, const json_t *body, json_t **out, int64_t *version) {
  if (!td__policy_can(&ctx->principal, TD_RES_TASK, TD_ACT_CREATE)) return td__fail_forbidden(ctx);
  task_row_t t = {0};
  const char *me = td__ctx_actor_id(ctx);
  if (me) snprintf(t.assignee, sizeof t.assignee, "%s", me);
  bool completed = false;
  int rc = apply_body(ctx, body, &t, &completed);
  char id[TD_ID_MAX];
  td__id_new("tsk", id);
  td__stmt_t *st = rc ? NULL
                      : td__db_stmt(ctx->db,
                                    "INSERT INTO tasks(title, assignee_id, due_at, candidate_rowid,"
                                    " application_rowid, done, done_at, id, created_by, created_at,"
                                    " updated_at) VALUES (?1,?2,?3,?4,?5,?6,CASE WHEN ?6 THEN ?7 END,"
                                    " ?8,?9,?7,?7)");
  if (rc == 0 && st == NULL) rc = td__fail_internal(ctx, TD_EIO);
  if (rc == 0) {
    bind_row(st, ctx, &t, 1);
    td__stmt_bind_text(st, 8, id);
    td__stmt_bind_text(st, 9, me);
    rc = write_and_emit(ctx, st, "task.created", &t.rowid);
  }
  free(t.title);
  return rc ? rc : fetch_json(ctx, t.rowid, out, version);
}

/* ---------- reads ---------- */

/* Prepares TASK_SELECT (or the row-state columns) for the task with id ctx may see. */
static td__stmt_t *prepare_visible(td__ctx_t *ctx, const char *select, const char *task_id) {
  td__buf_t sql = {0};
  td__buf_printf(&sql, "%s WHERE k.id = :id AND ", select);
  append_visible(&sql, &ctx->principal);
  td__stmt_t *st = td__db_prepare(ctx->db, sql.data);
  td__buf_free(&sql);
  if (st == NULL) return NULL;
  td__stmt_bind_text_named(st, ":id", task_id);
  td__policy_bind(st, &ctx->principal);
  return st;
}

int td__task_get(td__ctx_t *ctx, const char *task_id, json_t **out, int64_t *version) {
  td__stmt_t *st = prepare_visible(ctx, TASK_SELECT, task_id);
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  int rc = td__stmt_step(st);
  if (rc == 1) {
    if (version) *version = td__stmt_int(st, 12);
    *out = task_json(st);
  }
  td__stmt_finalize(st);
  if (rc == 0) return td__fail_not_found(ctx, "task");
  return rc < 0 ? td__fail_internal(ctx, rc) : 0;
}

int td__task_list(td__ctx_t *ctx, const td__task_filter_t *f, int limit, int64_t after, json_t **items,
                  int64_t *next_rowid) {
  td__buf_t sql = {0};
  td__buf_puts(&sql, TASK_SELECT " WHERE k.rowid > :after AND ");
  append_visible(&sql, &ctx->principal);
  if (f->assignee_id) td__buf_puts(&sql, " AND k.assignee_id = :assignee");
  if (f->done >= 0) td__buf_puts(&sql, " AND k.done = :done");
  if (f->candidate_id)
    td__buf_puts(&sql,
                 " AND k.candidate_rowid = (SELECT rowid FROM candidates WHERE id = coalesce("
                 "(SELECT candidate_id FROM candidate_aliases WHERE alias_id = :cand), :cand))");
  if (f->application_id)
    td__buf_puts(&sql, " AND k.application_rowid = (SELECT rowid FROM applications WHERE id = :app)");
  if (f->due_before_ms) td__buf_puts(&sql, " AND k.due_at < :due");
  td__buf_puts(&sql, " ORDER BY k.rowid LIMIT :limit");
  td__stmt_t *st = td__db_prepare(ctx->db, sql.data);
  td__buf_free(&sql);
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int_named(st, ":after", after);
  td__stmt_bind_int_named(st, ":limit", limit + 1);
  td__policy_bind(st, &ctx->principal);
  const char *assignee =
      f->assignee_id && strcmp(f->assignee_id, "me") == 0 ? ctx->principal.user_id : f->assignee_id;
  if (assignee) td__stmt_bind_text_named(st, ":assignee", assignee);
  if (f->done >= 0) td__stmt_bind_int_named(st, ":done", f->done);
  if (f->candidate_id) td__stmt_bind_text_named(st, ":cand", f->candidate_id);
  if (f->application_id) td__stmt_bind_text_named(st, ":app", f->application_id);
  if (f->due_before_ms) td__stmt_bind_int_named(st, ":due", f->due_before_ms);
  int rc = td__row_page(ctx, st, 0, limit, task_json, items, next_rowid);
  td__stmt_finalize(st);
  return rc;
}

/* ---------- update ---------- */

/* Loads the task's current values, if ctx may see it. */
static int load_row(td__ctx_t *ctx, const char *task_id, task_row_t *t) {
  td__stmt_t *st = prepare_visible(ctx,
                                   "SELECT k.rowid, k.title, k.assignee_id, k.due_at, k.candidate_rowid,"
                                   " k.application_rowid, k.done, k.version FROM tasks k",
                                   task_id);
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  int rc = td__stmt_step(st);
  if (rc == 1) {
    t->rowid = td__stmt_int(st, 0);
    t->title = td__xstrdup(td__stmt_text(st, 1));
    snprintf(t->assignee, sizeof t->assignee, "%s", td__stmt_is_null(st, 2) ? "" : td__stmt_text(st, 2));
    t->has_due = !td__stmt_is_null(st, 3);
    t->due_at = td__stmt_int(st, 3);
    t->candidate_rowid = td__stmt_int(st, 4);
    t->application_rowid = td__stmt_int(st, 5);
    t->done = td__stmt_int(st, 6) != 0;
    t->version = td__stmt_int(st, 7);
  }
  td__stmt_finalize(st);
  if (rc == 0) return td__fail_not_found(ctx, "task");
  return rc < 0 ? td__fail_internal(ctx, rc) : 0;
}

int td__task_update(td__ctx_t *ctx, const char *task_id, const json_t *body, json_t **out, int64_t *version) {
  task_row_t t = {0};
  int rc = load_row(ctx, task_id, &t);
  if (rc == 0 && !td__policy_can(&ctx->principal, TD_RES_TASK, TD_ACT_UPDATE)) rc = td__fail_forbidden(ctx);
  bool completed = false;
  if (rc == 0) rc = apply_body(ctx, body, &t, &completed);
  td__stmt_t *st =
      rc ? NULL
         : td__db_stmt(ctx->db,
                       "UPDATE tasks SET title = ?1, assignee_id = ?2, due_at = ?3,"
                       " candidate_rowid = ?4, application_rowid = ?5, done = ?6,"
                       " done_at = CASE WHEN NOT ?6 THEN NULL WHEN done THEN done_at ELSE ?7 END,"
                       " updated_at = ?7, version = version + 1 WHERE rowid = ?8");
  if (rc == 0 && st == NULL) rc = td__fail_internal(ctx, TD_EIO);
  if (rc == 0) {
    bind_row(st, ctx, &t, 1);
    td__stmt_bind_int(st, 8, t.rowid);
    rc = write_and_emit(ctx, st, completed ? "task.completed" : "task.updated", &t.rowid);
  }
  free(t.title);
  return rc ? rc : fetch_json(ctx, t.rowid, out, version);
}
