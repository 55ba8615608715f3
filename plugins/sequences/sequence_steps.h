/* Checking a sequence's steps at save time and giving each its stable id (sequence_steps.c). */
#ifndef SEQUENCES_SEQUENCE_STEPS_H
#define SEQUENCES_SEQUENCE_STEPS_H

#include "sequence_int.h"

/* Checks steps (the request body's, borrowed) and gives in *out (a new array) a copy where
 * every step has its stable id, reusing ids of old (the previous version's steps, borrowed,
 * NULL on create). On an invalid step it answers req with a 422 naming /steps/N/<field> and
 * returns TD_EINVAL. */
int seq_steps_normalize(td_request_t *req, const json_t *steps, const json_t *old, json_t **out);

#endif
