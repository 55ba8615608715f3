/* Jobs (requisitions): title, department, status, confidentiality, hiring team, openings,
 * custom fields, and the job's own ordered pipeline stages (copied from a template when the
 * job is created; see domain/pipelines.h for stage edits and templates). */
#ifndef TD_DOMAIN_JOBS_H
#define TD_DOMAIN_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "domain/context.h"
#include "store/db.h"
#include "util/id.h"

/* --- helpers other domain code (applications) relies on; signatures are fixed --- */

/* Resolves a live (not deleted) stage of the job with public id job_id. With stage_id NULL
 * it picks the first stage by position whose type is 'applied', else the first stage.
 * Any out-parameter may be NULL; type_out needs 16 bytes. Returns 0, TD_ENOTFOUND (no such
 * job, or no such live stage in that job) or TD_EIO. No visibility check: callers check
 * td__policy_check_job first. */
int td__job_stage_lookup(td__db_t *db, const char *job_id, const char *stage_id, int64_t *job_rowid,
                         int64_t *stage_rowid, char *type_out /*16 bytes*/, int *position);

/* Finds an open opening of the job: the one named opening_id (must belong to the job and be
 * open), or with opening_id NULL the open one with the earliest target date (undated last,
 * then oldest). Copies its id into id_out. Returns 0, TD_ENOTFOUND when no such open
 * opening exists, or TD_EIO. It does not change the opening: the caller marks it filled. */
int td__job_open_opening(td__db_t *db, int64_t job_rowid,
                         const char *opening_id /*NULL: earliest target date*/, char id_out[TD_ID_MAX]);

/* Copies the status of the job at rowid ("draft", "open", "on_hold", "closed") into status.
 * Returns 0, TD_ENOTFOUND or a storage error. No visibility check. */
int td__job_status(td__db_t *db, int64_t rowid, char status[16]);

/* --- the job resource --- */

/* Creates a job from a validated body (borrowed): checks the role, hiring team users,
 * openings and custom fields, copies stages from the default template (or
 * body.pipeline_template_id), emits job.created (and job.opened when created open). On
 * success *out is the job JSON (new reference) and *version its version. A recruiter who
 * creates a confidential job is added to its recruiters, so they keep seeing it. */
int td__job_create(td__ctx_t *ctx, const json_t *body, json_t **out, int64_t *version);

/* Resolves a job the principal may see: 404 on ctx (TD_ENOTFOUND) otherwise. Either
 * out-parameter may be NULL. The API checks If-Match against *version before writing. */
int td__job_resolve(td__ctx_t *ctx, const char *job_id, int64_t *rowid, int64_t *version);

/* The job as API JSON when ctx's principal may see it (TD_ENOTFOUND, 404 on ctx otherwise). */
int td__job_get(td__ctx_t *ctx, const char *job_id, json_t **out, int64_t *version);

/* Applies a validated PATCH body (borrowed) to a job the principal may see (403 when the
 * role may not update jobs). hiring_team lists that are given replace the old ones;
 * openings without id are added, with id are changed (closing needs close_reason);
 * custom_fields merge (null removes a key). Emits job.updated, and job.opened / job.closed
 * when the status becomes open / closed. */
int td__job_update(td__ctx_t *ctx, const char *job_id, const json_t *body, json_t **out, int64_t *version);

/* One page of jobs visible to ctx's principal, filtered by status and department (either
 * may be NULL), after the rowid `after`. *items is a new array; *next_rowid is 0 at the end. */
int td__job_list(td__ctx_t *ctx, const char *status, const char *department, int limit, int64_t after,
                 json_t **items, int64_t *next_rowid);

/* Builds the API JSON of the job at rowid (new reference), or NULL on error. Sensitive
 * custom fields are redacted unless the principal may see them. */
json_t *td__job_json(td__ctx_t *ctx, int64_t rowid, int64_t *version);

/* Marks the job changed by a write elsewhere (an opening filled by a hire...): bumps its
 * version (the ETag) and updated_at. *version (may be NULL) gets the new version. Emits
 * nothing: the caller's own event says what happened. */
int td__job_touch(td__ctx_t *ctx, int64_t rowid, int64_t *version);

/* Like td__job_touch, and emits job.updated with "changed": [changed] (e.g. "stages"). */
int td__job_changed(td__ctx_t *ctx, int64_t rowid, const char *changed, int64_t *version);

/* Ends a job or pipeline write's own savepoint (opened with td__db_savepoint): released on
 * success, rolled back on failure with a 500 on ctx when no refusal was put there, so a
 * domain write is never half-done whoever calls it. Returns rc (TD_EIO if the release fails). */
int td__jobs_savepoint_end(td__ctx_t *ctx, const char *savepoint, int rc);

#endif
