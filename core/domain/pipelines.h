/* Pipelines: a job's ordered stages and the templates they are copied from.
 *
 * Every stage has a free name and a fixed type (lead, applied, screen, interview, offer,
 * hired). Live stages of a job have dense, unique positions 0..n-1; a deleted stage keeps
 * its row (deleted_at set, position frozen) so transitions that name it still resolve.
 * A job always keeps at least one live stage of type 'hired' (hiring moves there), and so
 * does every template. */
#ifndef TD_DOMAIN_PIPELINES_H
#define TD_DOMAIN_PIPELINES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/context.h"
#include "store/db.h"

/* True for one of the six fixed stage types. */
int td__stage_type_valid(const char *type);

/* Moves ids[from] to index `to` in place, shifting the ones between (a pure helper of stage
 * reordering). from and to must be < n; returns TD_EINVAL otherwise. */
int td__stage_order_move(int64_t *ids, size_t n, size_t from, size_t to);

/* --- stages of a job --- */

/* Copies the stages of a template (template_id NULL: the default one) into the job at
 * job_rowid, positions 0..n-1. Returns 0, TD_ENOTFOUND when there is no such template, or
 * TD_EIO. Refusals are not put on ctx: the caller names its own field. */
int td__stages_copy_template(td__ctx_t *ctx, int64_t job_rowid, const char *template_id);

/* The live stages of a job in order as a JSON array (new reference), or with
 * include_deleted also the deleted ones (after the live ones, with deleted_at). NULL on error. */
json_t *td__stages_json(td__db_t *db, int64_t job_rowid, int include_deleted);

/* Adds a stage from a validated body {name, type, position?, sla_days?} (borrowed) to the job
 * at job_rowid, inserting it at position (default: last). The caller has resolved the job
 * (td__job_resolve); the role check (update jobs) is done here. *out is the stage JSON. */
int td__stage_add(td__ctx_t *ctx, int64_t job_rowid, const json_t *body, json_t **out);

/* Renames, retypes and/or moves a live stage ({name?, type?, position?, sla_days?}). */
int td__stage_update(td__ctx_t *ctx, int64_t job_rowid, const char *stage_id, const json_t *body,
                     json_t **out);

/* Soft-deletes a live stage: 409 while active applications sit in it or when it is the last
 * live 'hired' stage; the remaining stages are renumbered densely. */
int td__stage_delete(td__ctx_t *ctx, int64_t job_rowid, const char *stage_id);

/* Moves the live stage stage_rowid to position `to` (0-based, < live count) and renumbers
 * every live stage of the job densely. Returns 0, TD_EINVAL (position out of range),
 * TD_ENOTFOUND or TD_EIO. */
int td__stages_move(td__db_t *db, int64_t job_rowid, int64_t stage_rowid, int to);

/* Renumbers the live stages of a job 0..n-1 in their current order; *count gets n. */
int td__stages_compact(td__db_t *db, int64_t job_rowid, int *count);

/* --- pipeline templates --- */

/* Creates a template from a validated body {name, is_default?, stages}; making it the
 * default unsets the previous one. */
int td__template_create(td__ctx_t *ctx, const json_t *body, json_t **out, int64_t *version);
/* The template as API JSON; TD_ENOTFOUND when there is none with that id. */
int td__template_get(td__ctx_t *ctx, const char *template_id, json_t **out, int64_t *version);
/* One page of templates after rowid `after`; *next_rowid is 0 at the end. */
int td__template_list(td__ctx_t *ctx, int limit, int64_t after, json_t **items, int64_t *next_rowid);
/* Resolves a template by id (404 on ctx otherwise); *version for the If-Match check. */
int td__template_resolve(td__ctx_t *ctx, const char *template_id, int64_t *rowid, int64_t *version);
/* Applies a validated PATCH body {name?, is_default?, stages?}. Unsetting is_default on the
 * default is refused (make another template the default instead). Jobs already created
 * keep their stages. */
int td__template_update(td__ctx_t *ctx, int64_t rowid, const json_t *body, json_t **out, int64_t *version);
/* Deletes a template; the default one is refused with 409. */
int td__template_delete(td__ctx_t *ctx, int64_t rowid);

#endif
