/* Applications: creation, reads and the actions that move them through a job's pipeline.
 * The state change itself is always td__transition_apply (wall 5); this file resolves ids,
 * checks permissions, picks stages and openings, and keeps each action atomic. */
#include "domain/applications.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/candidates.h"
#include "domain/jobs.h"
#include "domain/row_json.h"
#include "domain/touches.h"
#include "domain/transitions.h"
#include "domain/users.h"
#include "hooks/filter.h"
#include "talentd/types.h"
#include "util/buf.h"
#include "util/time.h"

#define SAVEPOINT "td_application"

/* The columns application_json reads, in order. */
#define APP_SELECT                                                                                          \
  "SELECT a.rowid, a.id, cd.id, jb.id, st.id, st.type, a.status, a.source, a.credited_to, a.answers,"       \
  " a.disposition_reason, a.disposition_kind, a.opening_id, a.applied_at, a.stage_entered_at, a.closed_at," \
  " a.updated_at, a.version FROM applications a JOIN candidates cd ON cd.rowid = a.candidate_rowid"         \
  " JOIN jobs jb ON jb.rowid = a.job_rowid JOIN stages st ON st.rowid = a.stage_rowid"

/* An application located for an action. */
typedef struct app_ref {
  int64_t rowid, job_rowid, version;
  char job_id[TD_ID_MAX];
} app_ref_t;

/* The API JSON of the row st is on (APP_SELECT columns). */
static json_t *application_json(td__stmt_t *st) {
  json_error_t err;
  json_t *answers = json_loads(td__stmt_text(st, 9), 0, &err);
  if (answers == NULL) answers = json_object();
  json_t *disposition = json_null();
  if (!td__stmt_is_null(st, 11))
    disposition = json_pack("{s:o,s:s}", "reason", td__row_text(st, 10), "kind", td__stmt_text(st, 11));
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "id",
                   td__stmt_text(st, 1), "candidate_id", td__stmt_text(st, 2), "job_id", td__stmt_text(st, 3),
                   "stage_id", td__stmt_text(st, 4), "stage_type", td__stmt_text(st, 5), "status",
                   td__stmt_text(st, 6), "source", td__row_text(st, 7), "credited_to", td__row_text(st, 8),
                   "answers", answers, "disposition", disposition, "opening_id", td__row_text(st, 12),
                   "applied_at", td__row_time(st, 13), "stage_entered_at", td__row_time(st, 14), "closed_at",
                   td__row_time(st, 15), "updated_at", td__row_time(st, 16), "version",
                   (json_int_t)td__stmt_int(st, 17));
}

/* Reads an application by rowid without a visibility check (the caller did it). */
static int fetch_json(td__ctx_t *ctx, int64_t rowid, json_t **out, int64_t *version) {
  td__stmt_t *st = td__db_stmt(ctx->db, APP_SELECT " WHERE a.rowid = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, rowid);
  return td__row_object(ctx, st, "application", application_json, 17, out, version);
}

/* ---------- creation ---------- */

/* Where a new application goes, after checking every referenced id. */
typedef struct placement {
  int64_t candidate_rowid, job_rowid, stage_rowid;
  char stage_type[16];
} placement_t;

static int check_references(td__ctx_t *ctx, const json_t *body, placement_t *pl) {
  const char *candidate_id = json_string_value(json_object_get(body, "candidate_id"));
  const char *job_id = json_string_value(json_object_get(body, "job_id"));
  const char *stage_id = json_string_value(json_object_get(body, "stage_id"));
  const char *credited = json_string_value(json_object_get(body, "credited_to"));
  td__candidate_ref_t cand;
  int rc = candidate_id ? td__candidate_find_quiet(ctx, candidate_id, &cand) : TD_ENOTFOUND;
  if (rc == TD_ENOTFOUND)
    td__fail_field(ctx, "/candidate_id", "no candidate with that id exists, or you may not see it");
  else if (rc)
    return td__fail_internal(ctx, rc);
  else
    pl->candidate_rowid = cand.rowid;
  rc = job_id ? td__policy_check_job(ctx->db, &ctx->principal, job_id) : TD_ENOTFOUND;
  if (rc == 0)
    rc = td__job_stage_lookup(ctx->db, job_id, stage_id, &pl->job_rowid, &pl->stage_rowid, pl->stage_type,
                              NULL);
  else if (rc == TD_ENOTFOUND) {
    td__fail_field(ctx, "/job_id", "no job with that id exists, or you may not see it");
    rc = 0;
  }
  if (rc == TD_ENOTFOUND && stage_id)
    td__fail_field(ctx, "/stage_id", "is not a current stage of that job");
  else if (rc == TD_ENOTFOUND)
    return td__fail(ctx, 409, "No stages", "the job has no stages; add one first");
  else if (rc)
    return td__fail_internal(ctx, rc);
  if (credited && !td__user_exists(ctx->db, credited))
    td__fail_field(ctx, "/credited_to", "must be the id of an active user");
  return ctx->problem ? TD_EINVAL : 0;
}

/* The state rules of creation: an open (not closed) job, not straight into a hire, and one
 * active application per candidate and job. */
static int check_creation(td__ctx_t *ctx, const placement_t *pl) {
  char status[16];
  int rc = td__job_status(ctx->db, pl->job_rowid, status);
  if (rc) return td__fail_internal(ctx, rc);
  if (strcmp(status, "closed") == 0) {
    td__fail(ctx, 409, "Job closed", "the job is closed and takes no applications; reopen it first");
    return td__fail_field(ctx, "/job_id", "is a closed job");
  }
  if (strcmp(pl->stage_type, "hired") == 0) {
    td__fail(ctx, 409, "Use hire", "an application cannot start in a hired-type stage; create it, then hire");
    return td__fail_field(ctx, "/stage_id", "is a hired-type stage");
  }
  char existing[TD_ID_MAX];
  rc = td__transition_other_active(ctx, pl->candidate_rowid, pl->job_rowid, 0, existing);
  if (rc < 0) return td__fail_internal(ctx, rc);
  if (rc == 1) {
    td__fail(ctx, 409, "Already applied",
             "the candidate already has an active application for this job (existing_id)");
    json_object_set_new(ctx->problem, "existing_id", json_string(existing));
    return TD_EINVAL;
  }
  return 0;
}

static int insert_application(td__ctx_t *ctx, const json_t *body, const placement_t *pl, int64_t *rowid) {
  char id[TD_ID_MAX];
  td__id_new("app", id);
  json_t *answers = json_object_get(body, "answers");
  char *answers_text = answers ? json_dumps(answers, JSON_COMPACT) : NULL;
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO applications(id, candidate_rowid, job_rowid, stage_rowid, status,"
                               " source, credited_to, answers, applied_at, stage_entered_at, updated_at)"
                               " VALUES (?,?,?,?,'active',?,?,coalesce(?,'{}'),?,?,?)");
  int rc = TD_EIO;
  if (st) {
    td__stmt_bind_text(st, 1, id);
    td__stmt_bind_int(st, 2, pl->candidate_rowid);
    td__stmt_bind_int(st, 3, pl->job_rowid);
    td__stmt_bind_int(st, 4, pl->stage_rowid);
    td__stmt_bind_text(st, 5, json_string_value(json_object_get(body, "source")));
    td__stmt_bind_text(st, 6, json_string_value(json_object_get(body, "credited_to")));
    td__stmt_bind_text(st, 7, answers_text);
    td__stmt_bind_int(st, 8, ctx->now_ms);
    td__stmt_bind_int(st, 9, ctx->now_ms);
    td__stmt_bind_int(st, 10, ctx->now_ms);
    rc = td__stmt_run(st);
  }
  free(answers_text);
  if (rc == TD_ECONFLICT)
    return td__fail(ctx, 409, "Already applied",
                    "the candidate already has an active application for this job");
  if (rc) return td__fail_internal(ctx, rc);
  *rowid = td__db_last_rowid(ctx->db);
  return 0;
}

/* The application.before_create payload (hooks/filter.h), with the current candidate id
 * (body's may be a merge alias) and the stage the application will start in. */
static json_t *creation_payload(td__ctx_t *ctx, const json_t *body, const placement_t *pl) {
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT (SELECT id FROM candidates WHERE rowid = ?1),"
                               " (SELECT id FROM stages WHERE rowid = ?2)");
  if (st == NULL) return NULL;
  td__stmt_bind_int(st, 1, pl->candidate_rowid);
  td__stmt_bind_int(st, 2, pl->stage_rowid);
  json_t *p = NULL;
  if (td__stmt_step(st) == 1) {
    const json_t *answers = json_object_get(body, "answers");
    p = json_pack("{s:s?,s:O,s:{s:s?,s:s},s:O,s:O,s:O}", "candidate_id", td__stmt_text(st, 0), "job_id",
                  json_object_get(body, "job_id"), "stage", "id", td__stmt_text(st, 1), "type",
                  pl->stage_type, "source",
                  json_object_get(body, "source") ? json_object_get(body, "source") : json_null(),
                  "credited_to",
                  json_object_get(body, "credited_to") ? json_object_get(body, "credited_to") : json_null(),
                  "answers", answers ? answers : json_null());
  }
  td__stmt_reset(st);
  return p;
}

/* Runs application.before_create before any write. *effective is body (borrowed) or, when a
 * filter changed the source, a copy with the new source (new reference to release). */
static int run_filters(td__ctx_t *ctx, const json_t *body, const placement_t *pl, json_t **effective) {
  size_t n;
  *effective = (json_t *)body;
  td__hooks_entries("application.before_create", &n);
  if (n == 0) return 0;
  json_t *p = creation_payload(ctx, body, pl);
  if (p == NULL) return td__fail_internal(ctx, TD_EIO);
  int rc = td__filter_run(ctx, "application.before_create", p);
  json_t *source = json_object_get(p, "source");
  if (rc == 0 && (json_is_string(source) || json_is_null(source)) &&
      !json_equal(source, json_object_get(body, "source") ? json_object_get(body, "source") : json_null())) {
    *effective = json_copy((json_t *)body);
    json_object_set(*effective, "source", source);
  }
  json_decref(p);
  return rc;
}

int td__application_create(td__ctx_t *ctx, const json_t *body, json_t **out, int64_t *version) {
  if (!td__policy_can(&ctx->principal, TD_RES_APPLICATION, TD_ACT_CREATE)) return td__fail_forbidden(ctx);
  placement_t pl = {0};
  json_t *effective = NULL;
  int rc = check_references(ctx, body, &pl);
  if (rc == 0) rc = check_creation(ctx, &pl);
  if (rc == 0) rc = run_filters(ctx, body, &pl, &effective);
  if (rc) return rc;
  if (td__db_savepoint(ctx->db, SAVEPOINT)) {
    if (effective != body) json_decref(effective);
    return td__fail_internal(ctx, TD_EIO);
  }
  int64_t rowid = 0;
  rc = insert_application(ctx, effective, &pl, &rowid);
  if (effective != body) json_decref(effective);
  if (rc == 0) {
    td__transition_req_t req = {.application_rowid = rowid, .kind = TD_TRANSITION_CREATED};
    rc = td__transition_apply(ctx, &req, NULL);
  }
  /* Every application is a touch (channel from its source: domain/touches.h), for attribution. */
  if (rc == 0) rc = td__touch_record_application(ctx, rowid);
  if (rc) {
    td__db_rollback_to(ctx->db, SAVEPOINT);
    return rc;
  }
  if (td__db_release(ctx->db, SAVEPOINT)) return td__fail_internal(ctx, TD_EIO);
  return fetch_json(ctx, rowid, out, version);
}

/* ---------- reads ---------- */

int td__application_get(td__ctx_t *ctx, const char *application_id, json_t **out, int64_t *version) {
  int rc = td__policy_check_application(ctx->db, &ctx->principal, application_id);
  if (rc == TD_ENOTFOUND) return td__fail_not_found(ctx, "application");
  if (rc) return td__fail_internal(ctx, rc);
  td__stmt_t *st = td__db_stmt(ctx->db, APP_SELECT " WHERE a.id = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, application_id);
  return td__row_object(ctx, st, "application", application_json, 17, out, version);
}

int td__application_resolve(td__ctx_t *ctx, const char *application_id, int64_t *rowid,
                            int64_t *candidate_rowid) {
  int rc = td__policy_check_application(ctx->db, &ctx->principal, application_id);
  if (rc) return rc;
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT rowid, candidate_rowid FROM applications WHERE id = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, application_id);
  rc = td__stmt_step(st);
  if (rc != 1) return rc == 0 ? TD_ENOTFOUND : rc;
  *rowid = td__stmt_int(st, 0);
  *candidate_rowid = td__stmt_int(st, 1);
  td__stmt_reset(st);
  return 0;
}

int td__application_list(td__ctx_t *ctx, const td__application_filter_t *f, int limit, int64_t after,
                         json_t **items, int64_t *next_rowid) {
  td__buf_t sql = {0};
  td__buf_printf(&sql, APP_SELECT " WHERE a.rowid > :after AND (%s)",
                 td__policy_application_visible(&ctx->principal));
  if (f->job_id) td__buf_puts(&sql, " AND a.job_rowid = (SELECT rowid FROM jobs WHERE id = :job)");
  if (f->stage_id) td__buf_puts(&sql, " AND a.stage_rowid = (SELECT rowid FROM stages WHERE id = :stage)");
  if (f->status) td__buf_puts(&sql, " AND a.status = :status");
  if (f->candidate_id)
    td__buf_puts(&sql,
                 " AND a.candidate_rowid = (SELECT rowid FROM candidates WHERE id = coalesce("
                 "(SELECT candidate_id FROM candidate_aliases WHERE alias_id = :cand), :cand))");
  td__buf_puts(&sql, " ORDER BY a.rowid LIMIT :limit");
  td__stmt_t *st = td__db_prepare(ctx->db, sql.data);
  td__buf_free(&sql);
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int_named(st, ":after", after);
  td__stmt_bind_int_named(st, ":limit", limit + 1);
  td__policy_bind(st, &ctx->principal);
  if (f->job_id) td__stmt_bind_text_named(st, ":job", f->job_id);
  if (f->stage_id) td__stmt_bind_text_named(st, ":stage", f->stage_id);
  if (f->status) td__stmt_bind_text_named(st, ":status", f->status);
  if (f->candidate_id) td__stmt_bind_text_named(st, ":cand", f->candidate_id);
  int rc = td__row_page(ctx, st, 0, limit, application_json, items, next_rowid);
  td__stmt_finalize(st);
  return rc;
}

static json_t *transition_json(td__stmt_t *st) {
  char at[32];
  td__time_format(td__stmt_int(st, 5), at, sizeof at);
  return json_pack("{s:s,s:s,s:o,s:s,s:s,s:o,s:s,s:o,s:o}", "id", td__stmt_text(st, 1), "kind",
                   td__stmt_text(st, 2), "from_stage_id", td__row_text(st, 3), "to_stage_id",
                   td__stmt_text(st, 4), "at", at, "actor", td__row_text(st, 6), "actor_kind",
                   td__stmt_text(st, 7), "reason", td__row_text(st, 8), "cause", td__row_text(st, 9));
}

int td__application_transitions(td__ctx_t *ctx, const char *application_id, int limit, int64_t after,
                                json_t **items, int64_t *next_rowid) {
  int rc = td__policy_check_application(ctx->db, &ctx->principal, application_id);
  if (rc == TD_ENOTFOUND) return td__fail_not_found(ctx, "application");
  if (rc) return td__fail_internal(ctx, rc);
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT t.rowid, t.id, t.kind, fs.id, ts.id, t.at, t.actor_id, t.actor_kind,"
                               " t.reason, t.cause FROM stage_transitions t"
                               " LEFT JOIN stages fs ON fs.rowid = t.from_stage_rowid"
                               " JOIN stages ts ON ts.rowid = t.to_stage_rowid"
                               " WHERE t.application_rowid = (SELECT rowid FROM applications WHERE id = ?)"
                               " AND t.rowid > ? ORDER BY t.rowid LIMIT ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, application_id);
  td__stmt_bind_int(st, 2, after);
  td__stmt_bind_int(st, 3, limit + 1);
  return td__row_page(ctx, st, 0, limit, transition_json, items, next_rowid);
}

/* ---------- actions ---------- */

/* Visible (404), movable by this role (403), then its rowid, job and version. */
static int locate_for_action(td__ctx_t *ctx, const char *application_id, app_ref_t *ref) {
  int rc = td__policy_check_application(ctx->db, &ctx->principal, application_id);
  if (rc == TD_ENOTFOUND) return td__fail_not_found(ctx, "application");
  if (rc) return td__fail_internal(ctx, rc);
  if (!td__policy_can(&ctx->principal, TD_RES_APPLICATION, TD_ACT_MOVE)) return td__fail_forbidden(ctx);
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT a.rowid, a.job_rowid, a.version, j.id FROM applications a"
                               " JOIN jobs j ON j.rowid = a.job_rowid WHERE a.id = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, application_id);
  rc = td__stmt_step(st);
  if (rc == 0) return td__fail_not_found(ctx, "application");
  if (rc < 0) return td__fail_internal(ctx, rc);
  ref->rowid = td__stmt_int(st, 0);
  ref->job_rowid = td__stmt_int(st, 1);
  ref->version = td__stmt_int(st, 2);
  snprintf(ref->job_id, sizeof ref->job_id, "%s", td__stmt_text(st, 3));
  td__stmt_reset(st);
  return 0;
}

int td__application_for_action(td__ctx_t *ctx, const char *application_id, int64_t *version) {
  app_ref_t ref;
  int rc = locate_for_action(ctx, application_id, &ref);
  if (rc == 0 && version) *version = ref.version;
  return rc;
}

/* What an action does once the application is located, inside its savepoint. */
typedef int (*action_fn)(td__ctx_t *ctx, const app_ref_t *ref, const void *arg);

static int run_action(td__ctx_t *ctx, const char *application_id, action_fn fn, const void *arg, json_t **out,
                      int64_t *version) {
  app_ref_t ref;
  int rc = locate_for_action(ctx, application_id, &ref);
  if (rc) return rc;
  if (td__db_savepoint(ctx->db, SAVEPOINT)) return td__fail_internal(ctx, TD_EIO);
  rc = fn(ctx, &ref, arg);
  if (rc) {
    td__db_rollback_to(ctx->db, SAVEPOINT);
    return rc;
  }
  if (td__db_release(ctx->db, SAVEPOINT)) return td__fail_internal(ctx, TD_EIO);
  if (out == NULL && version == NULL) return 0;
  return fetch_json(ctx, ref.rowid, out, version);
}

typedef struct move_args {
  const char *to_stage_id, *reason;
} move_args_t;

static int do_move(td__ctx_t *ctx, const app_ref_t *ref, const void *arg) {
  const move_args_t *m = arg;
  td__transition_req_t req = {
      .application_rowid = ref->rowid, .kind = TD_TRANSITION_MOVED, .reason = m->reason};
  int rc = m->to_stage_id ? td__job_stage_lookup(ctx->db, ref->job_id, m->to_stage_id, NULL,
                                                 &req.to_stage_rowid, NULL, NULL)
                          : TD_ENOTFOUND;
  if (rc == TD_ENOTFOUND) {
    td__fail(ctx, 422, "Invalid stage", "the stage must be a current stage of the application's job");
    return td__fail_field(ctx, "/to_stage_id",
                          "is not a stage of this application's job (or it was deleted)");
  }
  if (rc) return td__fail_internal(ctx, rc);
  return td__transition_apply(ctx, &req, NULL);
}

int td__application_move(td__ctx_t *ctx, const char *application_id, const char *to_stage_id,
                         const char *reason, json_t **out, int64_t *version) {
  move_args_t m = {to_stage_id, reason};
  return run_action(ctx, application_id, do_move, &m, out, version);
}

static int do_reject(td__ctx_t *ctx, const app_ref_t *ref, const void *arg) {
  const td__transition_req_t *proto = arg;
  td__transition_req_t req = *proto;
  req.application_rowid = ref->rowid;
  return td__transition_apply(ctx, &req, NULL);
}

int td__application_reject(td__ctx_t *ctx, const char *application_id, const char *kind, const char *reason,
                           json_t **out, int64_t *version) {
  td__transition_req_t req = {.reason = reason};
  if (kind == NULL || strcmp(kind, "rejected") == 0)
    req.kind = TD_TRANSITION_REJECTED;
  else if (strcmp(kind, "withdrawn") == 0)
    req.kind = TD_TRANSITION_WITHDRAWN;
  else
    return td__fail_field(ctx, "/kind", "must be rejected (we rejected) or withdrawn (they withdrew)");
  return run_action(ctx, application_id, do_reject, &req, out, version);
}

int td__application_unreject(td__ctx_t *ctx, const char *application_id, const char *reason, json_t **out,
                             int64_t *version) {
  td__transition_req_t req = {.kind = TD_TRANSITION_UNREJECTED, .reason = reason};
  return run_action(ctx, application_id, do_reject, &req, out, version);
}

/* The job's first live hired-type stage (1 when found). */
static int hired_stage(td__ctx_t *ctx, int64_t job_rowid, int64_t *stage_rowid) {
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT rowid FROM stages WHERE job_rowid = ? AND type = 'hired'"
                               " AND deleted_at IS NULL ORDER BY position, rowid LIMIT 1");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, job_rowid);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc;
  *stage_rowid = td__stmt_int(st, 0);
  td__stmt_reset(st);
  return 1;
}

static int fill_opening(td__ctx_t *ctx, const char *opening_id, int64_t application_rowid) {
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "UPDATE openings SET status = 'filled', closed_at = ?,"
                               " filled_by_application = (SELECT id FROM applications WHERE rowid = ?)"
                               " WHERE id = ? AND status = 'open'");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, ctx->now_ms);
  td__stmt_bind_int(st, 2, application_rowid);
  td__stmt_bind_text(st, 3, opening_id);
  int rc = td__stmt_run(st);
  if (rc == 0 && td__db_changes(ctx->db) != 1) rc = TD_ECONFLICT;
  return rc;
}

static int do_hire(td__ctx_t *ctx, const app_ref_t *ref, const void *arg) {
  const char *wanted = arg;
  td__transition_req_t req = {.application_rowid = ref->rowid, .kind = TD_TRANSITION_HIRED};
  int rc = hired_stage(ctx, ref->job_rowid, &req.to_stage_rowid);
  if (rc < 0) return td__fail_internal(ctx, rc);
  if (rc == 0)
    return td__fail(ctx, 409, "No hired stage",
                    "the job's pipeline has no hired-type stage; add one, then hire");
  /* The rules first, so a rejected application says so rather than "no opening". */
  rc = td__transition_check(ctx, &req);
  if (rc) return rc;
  char opening[TD_ID_MAX];
  rc = td__job_open_opening(ctx->db, ref->job_rowid, wanted, opening);
  if (rc == TD_ENOTFOUND) {
    td__fail(ctx, 409, "No open opening",
             wanted ? "that opening is not an open opening of this job"
                    : "the job has no open opening to fill; add an opening to the job first");
    return wanted ? td__fail_field(ctx, "/opening_id", "is not an open opening of this job") : TD_EINVAL;
  }
  if (rc) return td__fail_internal(ctx, rc);
  req.opening_id = opening;
  rc = fill_opening(ctx, opening, ref->rowid);
  if (rc) return td__fail_internal(ctx, rc);
  rc = td__transition_apply(ctx, &req, NULL);
  if (rc) return rc;
  /* The filled opening changed the job: its ETag moves and its subscribers hear of it
   * (job.updated with changed ["openings"]; application.hired names the opening). */
  rc = td__job_changed(ctx, ref->job_rowid, "openings", NULL);
  return rc ? td__fail_internal(ctx, rc) : 0;
}

int td__application_hire(td__ctx_t *ctx, const char *application_id, const char *opening_id, json_t **out,
                         int64_t *version) {
  return run_action(ctx, application_id, do_hire, opening_id, out, version);
}
