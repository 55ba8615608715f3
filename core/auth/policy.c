/* The permission rules (see policy.h for the table). Predicates are macros so the point
 * checks below are string literals too, and their statements stay cached. */
#include "auth/policy.h"

#include <string.h>

#include "talentd/types.h"

#define ON_TEAM(roles) \
  "EXISTS (SELECT 1 FROM job_team t WHERE t.job_rowid = j.rowid AND t.user_id = :me" roles ")"

#define JOB_ADMIN "1"
#define JOB_RECRUITER "(j.confidential = 0 OR " ON_TEAM("") ")"
#define JOB_MANAGER ON_TEAM(" AND t.role IN ('hiring_manager', 'recruiter', 'coordinator')")
#define JOB_INTERVIEWER ON_TEAM(" AND t.role = 'interviewer'")

#define APP_OF(pred) "EXISTS (SELECT 1 FROM jobs j WHERE j.rowid = a.job_rowid AND " pred ")"
#define CAND_OF(pred)                                                         \
  "EXISTS (SELECT 1 FROM applications a JOIN jobs j ON j.rowid = a.job_rowid" \
  " WHERE a.candidate_rowid = c.rowid AND " pred ")"

/* Notes: private ones only for their author, admin-only ones only for admins. */
#define NOTE_ADMIN "1"
#define NOTE_MEMBER "(n.visibility = 'team' OR (n.visibility = 'private' AND n.author_id = :me))"

bool td__policy_can(const td__principal_t *p, td__resource_kind_t kind, td__action_t action) {
  switch (p->role) {
    case TD_ROLE_ADMIN: return true;
    case TD_ROLE_RECRUITER:
      if (kind == TD_RES_EVENT) return false;
      if (kind == TD_RES_USER) return action == TD_ACT_READ;
      if (kind == TD_RES_CUSTOM_FIELD || kind == TD_RES_PIPELINE_TEMPLATE)
        return action == TD_ACT_READ || action == TD_ACT_CREATE || action == TD_ACT_UPDATE;
      return true;
    case TD_ROLE_HIRING_MANAGER:
      switch (kind) {
        case TD_RES_NOTE:
        case TD_RES_TASK: return action != TD_ACT_DELETE && action != TD_ACT_EXPORT;
        case TD_RES_CANDIDATE:
        case TD_RES_JOB:
        case TD_RES_APPLICATION:
        case TD_RES_ATTACHMENT:
        case TD_RES_CUSTOM_FIELD:
        case TD_RES_PIPELINE_TEMPLATE:
        case TD_RES_USER: return action == TD_ACT_READ;
        default: return false;
      }
    case TD_ROLE_INTERVIEWER:
      switch (kind) {
        case TD_RES_NOTE: return action == TD_ACT_READ || action == TD_ACT_CREATE;
        case TD_RES_TASK: return action == TD_ACT_READ || action == TD_ACT_UPDATE;
        case TD_RES_CANDIDATE:
        case TD_RES_JOB:
        case TD_RES_APPLICATION:
        case TD_RES_CUSTOM_FIELD:
        case TD_RES_USER: return action == TD_ACT_READ;
        default: return false;
      }
    default: return false;
  }
}

const char *td__policy_job_visible(const td__principal_t *p) {
  switch (p->role) {
    case TD_ROLE_ADMIN: return JOB_ADMIN;
    case TD_ROLE_RECRUITER: return JOB_RECRUITER;
    case TD_ROLE_HIRING_MANAGER: return JOB_MANAGER;
    case TD_ROLE_INTERVIEWER: return JOB_INTERVIEWER;
    default: return "0";
  }
}

const char *td__policy_application_visible(const td__principal_t *p) {
  switch (p->role) {
    case TD_ROLE_ADMIN: return "1";
    case TD_ROLE_RECRUITER: return APP_OF(JOB_RECRUITER);
    case TD_ROLE_HIRING_MANAGER: return APP_OF(JOB_MANAGER);
    case TD_ROLE_INTERVIEWER: return APP_OF(JOB_INTERVIEWER);
    default: return "0";
  }
}

const char *td__policy_candidate_visible(const td__principal_t *p) {
  switch (p->role) {
    case TD_ROLE_ADMIN:
    case TD_ROLE_RECRUITER: return "1"; /* the CRM: every person, sourced or applied */
    case TD_ROLE_HIRING_MANAGER: return CAND_OF(JOB_MANAGER);
    case TD_ROLE_INTERVIEWER: return CAND_OF(JOB_INTERVIEWER);
    default: return "0";
  }
}

const char *td__policy_activity_visible(const td__principal_t *p) {
  return p->role == TD_ROLE_ADMIN ? NOTE_ADMIN : NOTE_MEMBER;
}

#define TASK_OF(cand, app)                                                              \
  "(k.assignee_id = :me OR k.created_by = :me OR (k.candidate_rowid IS NOT NULL"        \
  " AND EXISTS (SELECT 1 FROM candidates c WHERE c.rowid = k.candidate_rowid AND " cand \
  ")"                                                                                   \
  " AND (k.application_rowid IS NULL OR EXISTS (SELECT 1 FROM applications a"           \
  " WHERE a.rowid = k.application_rowid AND " app "))))"

const char *td__policy_task_visible(const td__principal_t *p) {
  switch (p->role) {
    case TD_ROLE_ADMIN: return "1";
    case TD_ROLE_RECRUITER: return TASK_OF("1", APP_OF(JOB_RECRUITER));
    case TD_ROLE_HIRING_MANAGER: return TASK_OF(CAND_OF(JOB_MANAGER), APP_OF(JOB_MANAGER));
    case TD_ROLE_INTERVIEWER: return TASK_OF(CAND_OF(JOB_INTERVIEWER), APP_OF(JOB_INTERVIEWER));
    default: return "0";
  }
}

void td__policy_bind(td__stmt_t *st, const td__principal_t *p) {
  td__stmt_bind_text_named(st, ":me", p->user_id);
}

bool td__policy_sees_all_candidates(const td__principal_t *p) {
  return strcmp(td__policy_candidate_visible(p), "1") == 0;
}

bool td__policy_sees_sensitive(const td__principal_t *p) { return p->role != TD_ROLE_INTERVIEWER; }

static int run_check(td__db_t *db, const char *sql, const td__principal_t *p, const char *id) {
  td__stmt_t *st = td__db_stmt(db, sql);
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id);
  td__policy_bind(st, p);
  int rc = td__stmt_step(st);
  if (rc == 1) {
    td__stmt_reset(st);
    return 0;
  }
  return rc < 0 ? rc : TD_ENOTFOUND;
}

int td__policy_check_job(td__db_t *db, const td__principal_t *p, const char *job_id) {
  static const char *const sql[] = {
      [TD_ROLE_NONE] = "SELECT 1 FROM jobs j WHERE j.id = ? AND 0",
      [TD_ROLE_ADMIN] = "SELECT 1 FROM jobs j WHERE j.id = ? AND " JOB_ADMIN,
      [TD_ROLE_RECRUITER] = "SELECT 1 FROM jobs j WHERE j.id = ? AND " JOB_RECRUITER,
      [TD_ROLE_HIRING_MANAGER] = "SELECT 1 FROM jobs j WHERE j.id = ? AND " JOB_MANAGER,
      [TD_ROLE_INTERVIEWER] = "SELECT 1 FROM jobs j WHERE j.id = ? AND " JOB_INTERVIEWER,
  };
  return run_check(db, sql[p->role <= TD_ROLE_INTERVIEWER ? p->role : 0], p, job_id);
}

int td__policy_check_application(td__db_t *db, const td__principal_t *p, const char *application_id) {
  static const char *const sql[] = {
      [TD_ROLE_NONE] = "SELECT 1 FROM applications a WHERE a.id = ? AND 0",
      [TD_ROLE_ADMIN] = "SELECT 1 FROM applications a WHERE a.id = ?",
      [TD_ROLE_RECRUITER] = "SELECT 1 FROM applications a WHERE a.id = ? AND " APP_OF(JOB_RECRUITER),
      [TD_ROLE_HIRING_MANAGER] = "SELECT 1 FROM applications a WHERE a.id = ? AND " APP_OF(JOB_MANAGER),
      [TD_ROLE_INTERVIEWER] = "SELECT 1 FROM applications a WHERE a.id = ? AND " APP_OF(JOB_INTERVIEWER),
  };
  return run_check(db, sql[p->role <= TD_ROLE_INTERVIEWER ? p->role : 0], p, application_id);
}

int td__policy_check_candidate(td__db_t *db, const td__principal_t *p, const char *candidate_id) {
  static const char *const sql[] = {
      [TD_ROLE_NONE] = "SELECT 1 FROM candidates c WHERE c.id = ? AND 0",
      [TD_ROLE_ADMIN] = "SELECT 1 FROM candidates c WHERE c.id = ?",
      [TD_ROLE_RECRUITER] = "SELECT 1 FROM candidates c WHERE c.id = ?",
      [TD_ROLE_HIRING_MANAGER] = "SELECT 1 FROM candidates c WHERE c.id = ? AND " CAND_OF(JOB_MANAGER),
      [TD_ROLE_INTERVIEWER] = "SELECT 1 FROM candidates c WHERE c.id = ? AND " CAND_OF(JOB_INTERVIEWER),
  };
  return run_check(db, sql[p->role <= TD_ROLE_INTERVIEWER ? p->role : 0], p, candidate_id);
}
