/* Applications: a candidate in a job's pipeline. Creation and every action (move, reject,
 * withdraw, unreject, hire) go through td__transition_apply (domain/transitions.h), the
 * only way a stage or status changes. Each action is atomic on its own (a savepoint), so
 * API handlers, Lua rules and plugins can call it inside or outside a larger transaction.
 *
 * Permissions: creating needs TD_ACT_CREATE on applications; moves, rejections, unrejections
 * and hires need TD_ACT_MOVE (403 when the caller may see the application, 404 otherwise).
 * Reads filter by td__policy_application_visible. */
#ifndef TD_DOMAIN_APPLICATIONS_H
#define TD_DOMAIN_APPLICATIONS_H

#include <jansson.h>
#include <stdint.h>

#include "domain/context.h"
#include "util/id.h"

/* Creates an application from a validated body (borrowed): candidate_id, job_id, source,
 * and optionally stage_id (default: the job's first 'applied'-type stage), credited_to (an
 * active user) and answers. The job must be visible and not closed; at most one active
 * application per candidate and job (409 with existing_id); a hired-type stage is refused
 * (hiring goes through td__application_hire). Writes the 'created' transition.
 * On success *out is the application JSON (new reference) and *version its version. */
int td__application_create(td__ctx_t *ctx, const json_t *body, json_t **out, int64_t *version);

/* The application as API JSON when ctx's principal may see it (404 on ctx otherwise). */
int td__application_get(td__ctx_t *ctx, const char *application_id, json_t **out, int64_t *version);

/* Resolves an application for an action: visible (404) and the role may move it (403).
 * Copies its current version (for If-Match) into *version (may be NULL). */
int td__application_for_action(td__ctx_t *ctx, const char *application_id, int64_t *version);

/* Resolves an application ctx's principal may see: its rowid and its candidate's rowid.
 * Returns 0, TD_ENOTFOUND (no refusal set: callers name their own field) or TD_EIO. */
int td__application_resolve(td__ctx_t *ctx, const char *application_id, int64_t *rowid,
                            int64_t *candidate_rowid);

/* List filters; NULL members do not filter. status must be one of active, rejected,
 * withdrawn, hired (the caller validates). */
typedef struct td__application_filter {
  const char *job_id;
  const char *stage_id;
  const char *status;
  const char *candidate_id;
} td__application_filter_t;

/* One page of visible applications by rowid after `after`. *items is a new array;
 * *next_rowid is the cursor for the next page, 0 at the end. */
int td__application_list(td__ctx_t *ctx, const td__application_filter_t *filter, int limit, int64_t after,
                         json_t **items, int64_t *next_rowid);

/* One page of the application's transition log, oldest first, creation included. */
int td__application_transitions(td__ctx_t *ctx, const char *application_id, int limit, int64_t after,
                                json_t **items, int64_t *next_rowid);

/* The actions. Each checks visibility and TD_ACT_MOVE, then the transition rules, writes
 * one transition, and returns the updated application in *out (new reference, may be NULL
 * when not wanted) with its new *version. Strings are borrowed. */
int td__application_move(td__ctx_t *ctx, const char *application_id, const char *to_stage_id,
                         const char *reason, json_t **out, int64_t *version);
/* kind is "rejected" (we rejected) or "withdrawn" (they withdrew); reason is required. */
int td__application_reject(td__ctx_t *ctx, const char *application_id, const char *kind, const char *reason,
                           json_t **out, int64_t *version);
/* Back to active in the same stage (reason optional); 409 (with existing_id) when the
 * candidate has another active application for the job. */
int td__application_unreject(td__ctx_t *ctx, const char *application_id, const char *reason, json_t **out,
                             int64_t *version);
/* Fills an opening (opening_id, or the job's open opening with the earliest target date),
 * marks it filled by this application, moves the application to the job's first live
 * hired-type stage with status hired. 409 when no open opening or no hired-type stage. */
int td__application_hire(td__ctx_t *ctx, const char *application_id, const char *opening_id, json_t **out,
                         int64_t *version);

#endif
