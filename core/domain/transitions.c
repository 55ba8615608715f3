/* The one way an application's stage or status changes (see transitions.h): the rules,
 * then the row update, the append-only log entry, the candidate's history and the event. */
#include "domain/transitions.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "domain/activities.h"
#include "domain/events.h"
#include "hooks/filter.h"
#include "talentd/types.h"
#include "util/log.h"

/* What the rules need to know of the application, read once per transition. */
typedef struct app_state {
  char id[TD_ID_MAX];
  char candidate_id[TD_ID_MAX];
  char job_id[TD_ID_MAX];
  char stage_id[TD_ID_MAX];
  char status[16];
  int64_t candidate_rowid, job_rowid, stage_rowid;
  bool has_transitions;
} app_state_t;

/* The stage a MOVED or HIRED transition goes to. */
typedef struct stage_state {
  char id[TD_ID_MAX];
  char type[16];
  int64_t rowid, job_rowid;
  bool deleted;
} stage_state_t;

static const char *const kind_names[] = {
    [TD_TRANSITION_CREATED] = "created",       [TD_TRANSITION_MOVED] = "moved",
    [TD_TRANSITION_REJECTED] = "rejected",     [TD_TRANSITION_WITHDRAWN] = "withdrawn",
    [TD_TRANSITION_UNREJECTED] = "unrejected", [TD_TRANSITION_HIRED] = "hired",
};

static const char *const event_types[] = {
    [TD_TRANSITION_CREATED] = "application.created",
    [TD_TRANSITION_MOVED] = "application.stage_changed",
    [TD_TRANSITION_REJECTED] = "application.rejected",
    [TD_TRANSITION_WITHDRAWN] = "application.withdrawn",
    [TD_TRANSITION_UNREJECTED] = "application.unrejected",
    [TD_TRANSITION_HIRED] = "application.hired",
};

const char *td__transition_kind_name(td__transition_kind_t kind) {
  return (unsigned)kind <= TD_TRANSITION_HIRED ? kind_names[kind] : "unknown";
}

const char *td__transition_event_type(td__transition_kind_t kind) {
  return (unsigned)kind <= TD_TRANSITION_HIRED ? event_types[kind] : "application.unknown";
}

static void copy_text(char *dst, size_t size, const char *src) { snprintf(dst, size, "%s", src ? src : ""); }

static int load_application(td__ctx_t *ctx, int64_t rowid, app_state_t *out) {
  td__stmt_t *st =
      td__db_stmt(ctx->db,
                  "SELECT a.id, c.id, j.id, s.id, a.status, a.candidate_rowid, a.job_rowid, a.stage_rowid,"
                  " EXISTS (SELECT 1 FROM stage_transitions t WHERE t.application_rowid = a.rowid)"
                  " FROM applications a JOIN candidates c ON c.rowid = a.candidate_rowid"
                  " JOIN jobs j ON j.rowid = a.job_rowid JOIN stages s ON s.rowid = a.stage_rowid"
                  " WHERE a.rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, rowid);
  int rc = td__stmt_step(st);
  if (rc == 0) return TD_ENOTFOUND;
  if (rc < 0) return rc;
  copy_text(out->id, sizeof out->id, td__stmt_text(st, 0));
  copy_text(out->candidate_id, sizeof out->candidate_id, td__stmt_text(st, 1));
  copy_text(out->job_id, sizeof out->job_id, td__stmt_text(st, 2));
  copy_text(out->stage_id, sizeof out->stage_id, td__stmt_text(st, 3));
  copy_text(out->status, sizeof out->status, td__stmt_text(st, 4));
  out->candidate_rowid = td__stmt_int(st, 5);
  out->job_rowid = td__stmt_int(st, 6);
  out->stage_rowid = td__stmt_int(st, 7);
  out->has_transitions = td__stmt_int(st, 8) != 0;
  td__stmt_reset(st);
  return 0;
}

static int load_stage(td__ctx_t *ctx, int64_t rowid, stage_state_t *out) {
  td__stmt_t *st =
      td__db_stmt(ctx->db, "SELECT id, job_rowid, type, deleted_at IS NOT NULL FROM stages WHERE rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, rowid);
  int rc = td__stmt_step(st);
  if (rc == 0) return TD_ENOTFOUND;
  if (rc < 0) return rc;
  out->rowid = rowid;
  copy_text(out->id, sizeof out->id, td__stmt_text(st, 0));
  out->job_rowid = td__stmt_int(st, 1);
  copy_text(out->type, sizeof out->type, td__stmt_text(st, 2));
  out->deleted = td__stmt_int(st, 3) != 0;
  td__stmt_reset(st);
  return 0;
}

static int not_active(td__ctx_t *ctx, const app_state_t *a, const char *what) {
  char detail[200];
  snprintf(detail, sizeof detail, "the application is %s; only an active application can be %s%s", a->status,
           what, strcmp(a->status, "hired") == 0 ? " (a hire is final)" : " (unreject it first)");
  return td__fail(ctx, 409, "Application not active", detail);
}

/* The rules for a target stage of MOVED and HIRED. */
static int check_target(td__ctx_t *ctx, const td__transition_req_t *req, const app_state_t *a,
                        const stage_state_t *s) {
  if (s->job_rowid != a->job_rowid || s->deleted) {
    td__fail(ctx, 422, "Invalid stage", "the stage must be a current stage of the application's job");
    return td__fail_field(ctx, "/to_stage_id",
                          "is not a stage of this application's job (or it was deleted)");
  }
  bool hired_type = strcmp(s->type, "hired") == 0;
  if (req->kind == TD_TRANSITION_MOVED) {
    if (s->rowid == a->stage_rowid) {
      td__fail(ctx, 409, "Already in that stage",
               "the application is already in that stage; nothing to move");
      return td__fail_field(ctx, "/to_stage_id", "is the application's current stage");
    }
    if (hired_type) {
      td__fail(
          ctx, 409, "Use hire",
          "moving into a hired-type stage is a hire: POST /api/v1/applications/{id}/hire fills an opening"
          " and moves the application there");
      return td__fail_field(ctx, "/to_stage_id", "is a hired-type stage; use the hire action instead");
    }
  } else if (!hired_type) {
    return td__fail(ctx, 409, "No hired stage", "a hire must move the application into a hired-type stage");
  }
  return 0;
}

int td__transition_other_active(td__ctx_t *ctx, int64_t candidate_rowid, int64_t job_rowid,
                                int64_t except_rowid, char id_out[TD_ID_MAX]) {
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT id FROM applications WHERE candidate_rowid = ? AND job_rowid = ?"
                               " AND status = 'active' AND rowid <> ? LIMIT 1");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, candidate_rowid);
  td__stmt_bind_int(st, 2, job_rowid);
  td__stmt_bind_int(st, 3, except_rowid);
  int rc = td__stmt_step(st);
  if (rc == 1) {
    copy_text(id_out, TD_ID_MAX, td__stmt_text(st, 0));
    td__stmt_reset(st);
    return 1;
  }
  return rc;
}

static int check_rules(td__ctx_t *ctx, const td__transition_req_t *req, const app_state_t *a,
                       const stage_state_t *target) {
  bool active = strcmp(a->status, "active") == 0;
  switch (req->kind) {
    case TD_TRANSITION_CREATED:
      if (!active || a->has_transitions)
        return td__fail(ctx, 409, "Already created", "the application's creation is already recorded");
      return 0;
    case TD_TRANSITION_MOVED:
      if (!active) return not_active(ctx, a, "moved");
      return check_target(ctx, req, a, target);
    case TD_TRANSITION_REJECTED:
    case TD_TRANSITION_WITHDRAWN:
      if (!active) return not_active(ctx, a, req->kind == TD_TRANSITION_REJECTED ? "rejected" : "withdrawn");
      if (req->reason == NULL || req->reason[0] == '\0')
        return td__fail_field(ctx, "/reason", "is required: say why the application ends");
      return 0;
    case TD_TRANSITION_UNREJECTED: {
      if (strcmp(a->status, "rejected") != 0 && strcmp(a->status, "withdrawn") != 0)
        return td__fail(ctx, 409, "Not rejected",
                        "only a rejected or withdrawn application can be unrejected");
      char existing[TD_ID_MAX];
      int rc = td__transition_other_active(ctx, a->candidate_rowid, a->job_rowid, req->application_rowid,
                                           existing);
      if (rc < 0) return rc;
      if (rc == 1) {
        td__fail(ctx, 409, "Active application exists",
                 "the candidate already has an active application for this job (existing_id); reject or"
                 " withdraw it first");
        json_object_set_new(ctx->problem, "existing_id", json_string(existing));
        return TD_EINVAL;
      }
      return 0;
    }
    case TD_TRANSITION_HIRED:
      if (!active) return not_active(ctx, a, "hired");
      return check_target(ctx, req, a, target);
  }
  return td__fail_internal(ctx, TD_EINTERNAL);
}

/* Loads what the rules need and checks them. target is filled for MOVED and HIRED. */
static int prepare(td__ctx_t *ctx, const td__transition_req_t *req, app_state_t *a, stage_state_t *target) {
  int rc = load_application(ctx, req->application_rowid, a);
  if (rc == TD_ENOTFOUND) return td__fail_not_found(ctx, "application");
  if (rc) return td__fail_internal(ctx, rc);
  if (req->kind == TD_TRANSITION_MOVED || req->kind == TD_TRANSITION_HIRED) {
    rc = load_stage(ctx, req->to_stage_rowid, target);
    if (rc == TD_ENOTFOUND) {
      td__fail(ctx, 422, "Invalid stage", "the stage must be a current stage of the application's job");
      return td__fail_field(ctx, "/to_stage_id", "is not a stage of this application's job");
    }
    if (rc) return td__fail_internal(ctx, rc);
  }
  return check_rules(ctx, req, a, target);
}

int td__transition_check(td__ctx_t *ctx, const td__transition_req_t *req) {
  app_state_t a;
  stage_state_t target;
  return prepare(ctx, req, &a, &target);
}

static const char *status_after(td__transition_kind_t kind) {
  switch (kind) {
    case TD_TRANSITION_REJECTED: return "rejected";
    case TD_TRANSITION_WITHDRAWN: return "withdrawn";
    case TD_TRANSITION_HIRED: return "hired";
    default: return "active";
  }
}

/* The application row after the transition (creation leaves it as inserted). */
static int update_application(td__ctx_t *ctx, const td__transition_req_t *req, int64_t to_stage) {
  if (req->kind == TD_TRANSITION_CREATED) return 0;
  bool ends = req->kind == TD_TRANSITION_REJECTED || req->kind == TD_TRANSITION_WITHDRAWN;
  td__stmt_t *st =
      td__db_stmt(ctx->db,
                  "UPDATE applications SET stage_rowid = ?1, status = ?2,"
                  " disposition_reason = ?3, disposition_kind = ?4, closed_at = ?5,"
                  " opening_id = coalesce(?6, opening_id),"
                  " stage_entered_at = CASE WHEN stage_rowid = ?1 THEN stage_entered_at ELSE ?7 END,"
                  " updated_at = ?7, version = version + 1 WHERE rowid = ?8");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, to_stage);
  td__stmt_bind_text(st, 2, status_after(req->kind));
  td__stmt_bind_text(st, 3, ends ? req->reason : NULL);
  td__stmt_bind_text(st, 4, ends ? status_after(req->kind) : NULL);
  if (ends || req->kind == TD_TRANSITION_HIRED)
    td__stmt_bind_int(st, 5, ctx->now_ms);
  else
    td__stmt_bind_null(st, 5);
  td__stmt_bind_text(st, 6, req->kind == TD_TRANSITION_HIRED ? req->opening_id : NULL);
  td__stmt_bind_int(st, 7, ctx->now_ms);
  td__stmt_bind_int(st, 8, req->application_rowid);
  return td__stmt_run(st);
}

static int insert_transition(td__ctx_t *ctx, const td__transition_req_t *req, const app_state_t *a,
                             int64_t to_stage, const char *id) {
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO stage_transitions(id, application_rowid, job_rowid,"
                               " from_stage_rowid, to_stage_rowid, kind, at, actor_id, actor_kind, reason,"
                               " cause) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id);
  td__stmt_bind_int(st, 2, req->application_rowid);
  td__stmt_bind_int(st, 3, a->job_rowid);
  if (req->kind == TD_TRANSITION_CREATED)
    td__stmt_bind_null(st, 4);
  else
    td__stmt_bind_int(st, 4, a->stage_rowid);
  td__stmt_bind_int(st, 5, to_stage);
  td__stmt_bind_text(st, 6, td__transition_kind_name(req->kind));
  td__stmt_bind_int(st, 7, ctx->now_ms);
  td__stmt_bind_text(st, 8, td__ctx_actor_id(ctx));
  td__stmt_bind_text(st, 9, ctx->actor_kind ? ctx->actor_kind : "system");
  td__stmt_bind_text(st, 10, req->reason);
  td__stmt_bind_text(st, 11, ctx->cause);
  return td__stmt_run(st);
}

/* The candidate's history entry and the event, both describing the same transition. */
static int record(td__ctx_t *ctx, const td__transition_req_t *req, const app_state_t *a,
                  const char *to_stage_id, const char *transition_id) {
  json_t *from = req->kind == TD_TRANSITION_CREATED ? json_null() : json_string(a->stage_id);
  json_t *reason = req->reason ? json_string(req->reason) : json_null();
  json_t *detail = json_pack("{s:s,s:s,s:s,s:O,s:s,s:O}", "transition_id", transition_id, "kind",
                             td__transition_kind_name(req->kind), "job_id", a->job_id, "from_stage_id", from,
                             "to_stage_id", to_stage_id, "reason", reason);
  td__activity_t act = {.candidate_rowid = a->candidate_rowid,
                        .application_rowid = req->application_rowid,
                        .kind = "stage_change",
                        .data = detail};
  int rc = td__activity_add(ctx, &act, NULL);
  json_decref(detail);
  if (rc == 0) {
    json_t *data =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:o}", "application_id", a->id, "candidate_id",
                  a->candidate_id, "job_id", a->job_id, "transition_id", transition_id, "kind",
                  td__transition_kind_name(req->kind), "from_stage_id", json_incref(from), "to_stage_id",
                  to_stage_id, "status", status_after(req->kind), "reason", json_incref(reason));
    if (req->kind == TD_TRANSITION_HIRED)
      json_object_set_new(data, "opening_id", json_string(req->opening_id));
    rc = td__event_emit(ctx, td__transition_event_type(req->kind), "application", a->id, data);
  }
  json_decref(from);
  json_decref(reason);
  return rc;
}

/* The filter hook a transition kind fires, or NULL. */
static const char *filter_hook(td__transition_kind_t kind) {
  switch (kind) {
    case TD_TRANSITION_MOVED:
    case TD_TRANSITION_HIRED: return "application.before_stage_change";
    case TD_TRANSITION_REJECTED:
    case TD_TRANSITION_WITHDRAWN: return "application.before_reject";
    default: return NULL;
  }
}

static json_t *stage_json(const stage_state_t *s) {
  return json_pack("{s:s,s:s}", "id", s->id, "type", s->type);
}

/* Runs the transition's filter hook (hooks/filter.h documents the payload) after the rules
 * and before any write, so a veto leaves no trace. A filter may rewrite the reason: then
 * req->reason points into *hold, which the caller releases after the apply. A rewritten
 * reason that is not a string (or an empty one where a reason is required) is ignored. */
static int run_filters(td__ctx_t *ctx, td__transition_req_t *req, const app_state_t *a,
                       const stage_state_t *target, json_t **hold) {
  const char *hook = filter_hook(req->kind);
  size_t n;
  if (hook == NULL || (td__hooks_entries(hook, &n), n == 0)) return 0;
  stage_state_t from;
  int rc = load_stage(ctx, a->stage_rowid, &from);
  if (rc) return td__fail_internal(ctx, rc);
  json_t *p = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s?}", "application_id", a->id, "candidate_id",
                        a->candidate_id, "job_id", a->job_id, "from_stage", stage_json(&from), "kind",
                        td__transition_kind_name(req->kind), "reason", req->reason);
  if (req->kind == TD_TRANSITION_MOVED || req->kind == TD_TRANSITION_HIRED)
    json_object_set_new(p, "to_stage", stage_json(target));
  rc = td__filter_run(ctx, hook, p);
  json_t *reason = json_object_get(p, "reason");
  bool required = req->kind == TD_TRANSITION_REJECTED || req->kind == TD_TRANSITION_WITHDRAWN;
  if (rc == 0 && json_is_string(reason) && (!required || json_string_length(reason) > 0)) {
    req->reason = json_string_value(reason);
    *hold = p;
    return 0;
  }
  if (rc == 0 && !json_is_string(reason) && req->reason)
    td__log(TD_LOG_WARN, "filter_change_ignored", json_pack("{s:s,s:s}", "hook", hook, "member", "reason"));
  json_decref(p);
  return rc;
}

/* Applies r (the request after its filters) once the rules passed. */
static int apply_checked(td__ctx_t *ctx, const td__transition_req_t *r, const app_state_t *a,
                         const stage_state_t *target, char id_out[TD_ID_MAX]) {
  bool changes_stage = r->kind == TD_TRANSITION_MOVED || r->kind == TD_TRANSITION_HIRED;
  int64_t to_stage = changes_stage ? target->rowid : a->stage_rowid;
  const char *to_stage_id = changes_stage ? target->id : a->stage_id;
  char id[TD_ID_MAX];
  td__id_new("trn", id);
  int rc = update_application(ctx, r, to_stage);
  if (rc == 0) rc = insert_transition(ctx, r, a, to_stage, id);
  if (rc == 0) rc = record(ctx, r, a, to_stage_id, id);
  if (rc == TD_ECONFLICT) {
    /* The unique index on active applications caught a race the rules could not see. */
    return td__fail(ctx, 409, "Conflict", "the candidate already has an active application for this job");
  }
  if (rc) return td__fail_internal(ctx, rc);
  if (id_out) copy_text(id_out, TD_ID_MAX, id);
  return 0;
}

int td__transition_apply(td__ctx_t *ctx, const td__transition_req_t *req, char id_out[TD_ID_MAX]) {
  app_state_t a;
  stage_state_t target;
  int rc = prepare(ctx, req, &a, &target);
  if (rc) return rc;
  /* The filter hooks run inside this transaction, after the rules and before any write. */
  td__transition_req_t r = *req;
  json_t *hold = NULL;
  rc = run_filters(ctx, &r, &a, &target, &hold);
  if (rc == 0) rc = apply_checked(ctx, &r, &a, &target, id_out);
  json_decref(hold);
  return rc;
}
