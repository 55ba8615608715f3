/* The stage-transition log, and the one function that changes an application's stage or
 * status (ARCHITECTURE wall 5). Every action on an application (create, move, reject,
 * withdraw, unreject, hire) ends in td__transition_apply, which checks the rules, updates
 * the application row, appends exactly one stage_transitions row, adds a stage_change
 * activity on the candidate and emits the application event, all on ctx's connection (the
 * caller's transaction). Nothing else writes applications.stage_rowid or .status after
 * creation, so the log is the source of truth for analytics. */
#ifndef TD_DOMAIN_TRANSITIONS_H
#define TD_DOMAIN_TRANSITIONS_H

#include <stdint.h>

#include "domain/context.h"
#include "util/id.h"

typedef enum td__transition_kind {
  TD_TRANSITION_CREATED,
  TD_TRANSITION_MOVED,
  TD_TRANSITION_REJECTED,
  TD_TRANSITION_WITHDRAWN,
  TD_TRANSITION_UNREJECTED,
  TD_TRANSITION_HIRED
} td__transition_kind_t;

/* "created", "moved"... as stored in stage_transitions.kind (static strings). */
const char *td__transition_kind_name(td__transition_kind_t kind);
/* The event type each kind emits: application.created, application.stage_changed,
 * application.rejected, application.withdrawn, application.unrejected, application.hired. */
const char *td__transition_event_type(td__transition_kind_t kind);

/* A proposed transition. Strings are borrowed for the call. */
typedef struct td__transition_req {
  int64_t application_rowid;
  td__transition_kind_t kind;
  int64_t to_stage_rowid; /* MOVED and HIRED: the target stage; ignored otherwise (the
                             application stays in its stage; CREATED logs its first stage) */
  const char *reason;     /* free text; required for REJECTED and WITHDRAWN */
  const char *opening_id; /* HIRED: the opening the caller fills (recorded on the application) */
} td__transition_req_t;

/* Checks the rules of req against the application's current state without writing:
 *   CREATED     the application is active and has no transition yet;
 *   MOVED       active; the target is a live stage of the same job, not the current stage,
 *               and not a 'hired'-type stage (hiring fills an opening: use HIRED);
 *   REJECTED,
 *   WITHDRAWN   active; a non-empty reason;
 *   UNREJECTED  rejected or withdrawn, and no other active application of the same
 *               candidate for the same job (409 with existing_id);
 *   HIRED       active; the target is a live 'hired'-type stage of the same job. (Which
 *               opening it fills is td__application_hire's business, checked after these
 *               rules so a rejected application is told it is not active.)
 * Returns 0, or TD_EINVAL with a problem on ctx (409 for state, 422 for input, 404 when
 * the application does not exist), or a storage error. */
int td__transition_check(td__ctx_t *ctx, const td__transition_req_t *req);

/* Checks (as above) and applies req: updates the application (stage, stage_entered_at
 * when the stage changes, status, disposition, closed_at, opening, updated_at, version),
 * appends the stage_transitions row (at, actor and actor_kind from ctx, reason, cause =
 * ctx->cause), the stage_change activity and the event. Writes the transition id into
 * id_out (may be NULL). Runs inside the caller's transaction; the caller rolls back on
 * failure (domain actions wrap it in a savepoint). Permission checks are the caller's. */
int td__transition_apply(td__ctx_t *ctx, const td__transition_req_t *req, char id_out[TD_ID_MAX]);

/* The rule of one active application per candidate and job: copies into id_out the id of an
 * active application of the candidate for the job other than except_rowid (0: none is
 * excepted). Returns 1 when there is one, 0 when not, or a storage error. */
int td__transition_other_active(td__ctx_t *ctx, int64_t candidate_rowid, int64_t job_rowid,
                                int64_t except_rowid, char id_out[TD_ID_MAX]);

#endif
