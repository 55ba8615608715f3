/* Notes on candidates and the candidate's activity history as users read it: notes,
 * stage changes, emails and system events written by any part of the core through
 * td__activity_add (domain/activities.h), filtered by who may read what. */
#ifndef TD_DOMAIN_NOTES_H
#define TD_DOMAIN_NOTES_H

#include <jansson.h>
#include <stdint.h>

#include "domain/context.h"

/* Adds a note to the candidate candidate_id (an alias resolves) from body (borrowed):
 * {"body", "visibility": "private"|"team"|"admin" (default team), "application_id"?}.
 * The candidate must be visible to ctx's principal (404); the application, when given,
 * must be one of this candidate's that the principal may see (422 /application_id).
 * Team notes are added to the candidate's search row. Emits note.created (ids and
 * visibility only: note bodies stay out of the outbox). *out is the activity's JSON. */
int td__note_create(td__ctx_t *ctx, const char *candidate_id, const json_t *body, json_t **out);

/* One page of the candidate's history, newest first, after the activity rowid `before`
 * (0: from the newest): only what ctx's principal may read (td__policy_activity_visible,
 * and for entries tied to an application, td__policy_application_visible). kind filters
 * by kind when not NULL. *items is a new array; *next is the rowid to continue before, or
 * 0 at the end. */
int td__activity_list(td__ctx_t *ctx, const char *candidate_id, const char *kind, int limit, int64_t before,
                      json_t **items, int64_t *next);

#endif
