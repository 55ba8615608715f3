/* Per-object permissions, in one place. Every resource's reads filter by the visibility
 * predicates here, and every action asks td__policy_can first; an object the caller may
 * not see answers 404, an action their role may not take answers 403.
 *
 *   admin           everything
 *   recruiter       every job, candidate and application, except confidential jobs (and
 *                   their applications) they are not on the hiring team of
 *   hiring_manager  jobs where they are on the hiring team, their applications and those
 *                   candidates: read, notes, tasks; no moves, no deletes
 *   interviewer     applications of jobs where they are an interviewer: read and notes;
 *                   never private notes of others nor sensitive custom fields */
#ifndef TD_AUTH_POLICY_H
#define TD_AUTH_POLICY_H

#include <stdbool.h>

#include "auth/principal.h"
#include "store/db.h"

typedef enum td__resource_kind {
  TD_RES_CANDIDATE,
  TD_RES_JOB,
  TD_RES_APPLICATION,
  TD_RES_NOTE,
  TD_RES_TASK,
  TD_RES_ATTACHMENT,
  TD_RES_CUSTOM_FIELD,
  TD_RES_PIPELINE_TEMPLATE,
  TD_RES_IMPORT,
  TD_RES_USER,
  TD_RES_EVENT /* the event feed: ids across every job, so admins only for now */
} td__resource_kind_t;

typedef enum td__action {
  TD_ACT_READ,
  TD_ACT_CREATE,
  TD_ACT_UPDATE,
  TD_ACT_DELETE,
  TD_ACT_MOVE, /* change an application's stage, reject, hire */
  TD_ACT_EXPORT
} td__action_t;

/* Role-level capability: may this role take this action on this kind of object at all?
 * Object-level visibility is the predicates below. */
bool td__policy_can(const td__principal_t *p, td__resource_kind_t kind, td__action_t action);

/* SQL predicates for visibility. Each is a static string to AND into a WHERE clause, with
 * its table alias fixed: jobs `j`, applications `a`, candidates `c`, activities `n`. When
 * the text contains the parameter :me, bind it with td__policy_bind. */
const char *td__policy_job_visible(const td__principal_t *p);
const char *td__policy_application_visible(const td__principal_t *p);
const char *td__policy_candidate_visible(const td__principal_t *p);
const char *td__policy_activity_visible(const td__principal_t *p);
/* Tasks (alias `k`): admins see all; others their own (assignee or creator) and those on a
 * candidate (and application, if named) they can see. */
const char *td__policy_task_visible(const td__principal_t *p);
/* Binds :me (if the statement has it) to the principal's user id. */
void td__policy_bind(td__stmt_t *st, const td__principal_t *p);

/* Whether every candidate is visible to p (admins and recruiters): a caller that already
 * knows the candidate exists may skip the point check. */
bool td__policy_sees_all_candidates(const td__principal_t *p);

/* Whether sensitive custom fields (compensation...) may be shown to p. */
bool td__policy_sees_sensitive(const td__principal_t *p);

/* Point checks for one object by public id (0 = visible, TD_ENOTFOUND otherwise). */
int td__policy_check_job(td__db_t *db, const td__principal_t *p, const char *job_id);
int td__policy_check_application(td__db_t *db, const td__principal_t *p, const char *application_id);
int td__policy_check_candidate(td__db_t *db, const td__principal_t *p, const char *candidate_id);

#endif
