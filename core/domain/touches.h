/* Touches: the contacts a person had with us (schemas/sql/0010_touches.sql), recorded by the
 * core when an application is created and by plugins (pools, sequences, job boards) and
 * integrators (POST /api/v1/candidates/{id}/touches); the analytics plugin attributes hires
 * to sources from them.
 *
 * The touch of an application (td__touch_record_application) has source = the application's
 * source ("unknown" when it has none), ref_type "application", ref_id its id, at its applied
 * time, and the channel its source names (td__touch_channel_for_source):
 *   "referral"                                        -> referral
 *   a job board: "linkedin", "indeed", "glassdoor",
 *   "stepstone" (any letter case) or "board:<name>"   -> board
 *   anything else                                     -> application */
#ifndef TD_DOMAIN_TOUCHES_H
#define TD_DOMAIN_TOUCHES_H

#include <jansson.h>
#include <stdint.h>

#include "domain/context.h"
#include "util/id.h"

#define TD_TOUCH_SOURCE_MAX 200          /* bytes */
#define TD_TOUCH_PER_CANDIDATE_MAX 10000 /* touches the API records for one candidate */

typedef struct td__touch {
  int64_t candidate_rowid;
  const char *channel;  /* application, pool, sequence, referral, board, event */
  const char *source;   /* a free label ("linkedin", a pool's name...); NULL: the channel */
  const char *ref_type; /* what the touch refers to ("application", "pool"...), may be NULL */
  const char *ref_id;   /* that object's id, may be NULL */
  int64_t at_ms;        /* 0: ctx->now_ms */
} td__touch_t;

/* Whether channel is one of the six above. */
int td__touch_channel_valid(const char *channel);

/* Appends a touch by ctx's actor (channel must be valid; source at most 200 bytes). Writes
 * its id into id_out (may be NULL). Returns 0, TD_EINVAL or TD_EIO. */
int td__touch_record(td__ctx_t *ctx, const td__touch_t *t, char id_out[TD_ID_MAX]);

/* The channel of an application's touch for its source (the mapping above; never NULL;
 * source may be NULL). */
const char *td__touch_channel_for_source(const char *source);

/* Records the touch of the application at application_rowid (just created, in ctx's
 * transaction), as described above. A source longer than 200 bytes is cut at a character
 * boundary. Returns 0, or fails ctx (td__fail_internal). */
int td__touch_record_application(td__ctx_t *ctx, int64_t application_rowid);

/* POST /candidates/{id}/touches: records a touch for the candidate (id may be a merged-away
 * id) from a validated body (borrowed): channel; optional source, ref_type, ref_id, at (RFC
 * 3339, not in the future). On a candidate ctx's principal may see (404), admins and
 * recruiters only (td__policy_can: update on candidates; 403). *out is the touch's JSON (new
 * reference). Refusals are problems on ctx. */
int td__touch_create(td__ctx_t *ctx, const char *candidate_id, const json_t *body, json_t **out);

/* One page of the candidate's touches in the order recorded (rowid after `after`), when
 * ctx's principal may see the candidate (td__candidate_find; 404 otherwise). *next_rowid
 * is 0 at the end. */
int td__touch_list(td__ctx_t *ctx, const char *candidate_id, int limit, int64_t after, json_t **items,
                   int64_t *next_rowid);

#endif
