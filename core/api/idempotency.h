/* Idempotency-Key on POST: a retry gets the stored answer; the same key with another body
 * gets 422. The record is written in the same transaction as the change it answers. */
#ifndef TD_API_IDEMPOTENCY_H
#define TD_API_IDEMPOTENCY_H

#include "api/call.h"

/* Before the handler. Returns 0 to go on; 1 when the call was answered from the record
 * (replay) or refused (422) and the handler must not run. */
int td__idempotency_begin(td__call_t *call, const char *key);
/* After a successful handler: stores the answer under the key. */
int td__idempotency_record(td__call_t *call, const char *key);

#endif
