/* Candidates: the people, sourced or applied. Creating, reading, updating, merging and
 * erasing them, with normalization (emails lower-cased and validated, phones to E.164,
 * tags trimmed and deduplicated, links http(s) only), duplicate detection by email, merge
 * aliases so a merged-away id keeps resolving, and the search index kept in step.
 *
 * Every function takes the domain context (domain/context.h): refusals are problems on
 * ctx (404 for a candidate the principal may not see, 403 for an action their role may not
 * take, 422 with pointers for bad fields, 409 for a duplicate email). */
#ifndef TD_DOMAIN_CANDIDATES_H
#define TD_DOMAIN_CANDIDATES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/context.h"
#include "store/db.h"
#include "util/id.h"

/* The columns td__candidate_row_json reads, in order, with the candidates alias c. */
#define TD_CANDIDATE_COLUMNS                                                                      \
  "c.rowid, c.id, c.first_name, c.last_name, c.emails, c.phones, c.links, c.location, c.source, " \
  "c.tags, c.custom_fields, c.resume_text, c.owner_id, c.consent, c.created_at, c.updated_at, "   \
  "c.version"

/* A resolved candidate: its current id (never an alias), rowid and version. */
typedef struct td__candidate_ref {
  int64_t rowid;
  char id[TD_ID_MAX];
  int64_t version;
} td__candidate_ref_t;

/* Resolves id, which may be the id of a candidate merged into another (then the survivor
 * is returned), without any visibility check: for internal callers such as applications
 * and imports. Returns 0, TD_ENOTFOUND or TD_EIO. */
int td__candidate_resolve(td__db_t *db, const char *id, td__candidate_ref_t *ref);

/* Resolves id like td__candidate_resolve and checks that ctx's principal may see the
 * candidate. Returns 0, or a refusal on ctx (404) / storage failure. */
int td__candidate_find(td__ctx_t *ctx, const char *id, td__candidate_ref_t *ref);
/* td__candidate_find without the refusal: returns 0, TD_ENOTFOUND (no such candidate, or
 * one ctx's principal may not see) or a storage error, and leaves ctx's problem alone, for
 * callers that report a missing candidate as a field error. */
int td__candidate_find_quiet(td__ctx_t *ctx, const char *id, td__candidate_ref_t *ref);

/* Creates a candidate from body (borrowed; the CandidateCreate fields). When an email of
 * body already belongs to a candidate: without merge_duplicate a 409 whose problem has
 * existing_id and an error pointing at /emails/N; with it, body is merged into that
 * candidate instead (its values win; lists are united; empty fields are filled) and
 * *created is false. On success *out is the candidate's JSON (new reference). Emits
 * candidate.created (or candidate.updated for a merge). */
int td__candidate_create(td__ctx_t *ctx, const json_t *body, bool merge_duplicate, json_t **out,
                         bool *created);

/* The candidate's JSON (new reference) when ctx's principal may see it. */
int td__candidate_get(td__ctx_t *ctx, const char *id, json_t **out);

/* Applies a partial update (borrowed; CandidatePatch fields: lists replace, custom_fields
 * merge key by key with null removing a key, null clears optional text fields). With
 * expect_version >= 0 a different current version is refused with 412. Emits
 * candidate.updated with the names of the changed fields when something changed. */
int td__candidate_update(td__ctx_t *ctx, const char *id, const json_t *body, int64_t expect_version,
                         json_t **out);

/* Erases the candidate completely (GDPR): the row, its emails, tags, applications and
 * their transitions, activities, tasks, attachment records, aliases and search row.
 * Emits candidate.deleted (with ids only). */
int td__candidate_delete(td__ctx_t *ctx, const char *id, int64_t expect_version);

/* Merges duplicate_id into survivor_id: emails, phones, links and tags are united, empty
 * fields filled, applications, activities, tasks and attachments move to the survivor, the
 * duplicate is deleted and its id becomes an alias of the survivor. When both have an
 * active application to the same job, the survivor's stays and the duplicate's is
 * withdrawn with reason "merged" (logged as a transition). Emits candidate.merged. */
int td__candidate_merge(td__ctx_t *ctx, const char *survivor_id, const char *duplicate_id, json_t **out);

/* The API JSON of a row whose columns are TD_CANDIDATE_COLUMNS (new reference); sensitive
 * custom fields are removed unless ctx's principal may see them. */
json_t *td__candidate_row_json(td__ctx_t *ctx, td__stmt_t *st);
/* The API JSON of the candidate at rowid (new reference), or NULL when there is none. */
json_t *td__candidate_json(td__ctx_t *ctx, int64_t rowid);

#endif
