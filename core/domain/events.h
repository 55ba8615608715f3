/* Events: past-tense facts (`candidate.created`, `application.stage_changed`...) appended
 * to the outbox in the same transaction as the change, so a committed change always has
 * its event and a rolled-back one never does. Envelope: {id, type, version, occurred_at,
 * actor, subject:{type,id}, data}. */
#ifndef TD_DOMAIN_EVENTS_H
#define TD_DOMAIN_EVENTS_H

#include <jansson.h>

#include "domain/context.h"

/* Appends one event. data is taken (NULL: {}). Returns 0 or TD_EIO. */
int td__event_emit(td__ctx_t *ctx, const char *type, const char *subject_type, const char *subject_id,
                   json_t *data);

#endif
