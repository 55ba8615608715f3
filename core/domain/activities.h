/* The interaction history on a candidate: notes, stage changes, emails in and out, calls,
 * meetings, system events. Every writer of history goes through td__activity_add. */
#ifndef TD_DOMAIN_ACTIVITIES_H
#define TD_DOMAIN_ACTIVITIES_H

#include <jansson.h>
#include <stdint.h>

#include "domain/context.h"
#include "util/id.h"

typedef struct td__activity {
  int64_t candidate_rowid;
  int64_t application_rowid; /* 0: none */
  const char *kind;          /* note, stage_change, email_in, email_out, call, meeting, system */
  const char *visibility;    /* private, team, admin (NULL: team) */
  const char *body;          /* may be NULL */
  json_t *data;              /* structured detail (borrowed; NULL: {}) */
} td__activity_t;

/* Appends an activity authored by ctx's actor. Writes its id into id_out (may be NULL). */
int td__activity_add(td__ctx_t *ctx, const td__activity_t *a, char id_out[TD_ID_MAX]);

#endif
