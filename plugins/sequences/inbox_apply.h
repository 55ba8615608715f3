/* What an inbound message does to enrollments (inbox_apply.c). */
#ifndef SEQUENCES_INBOX_APPLY_H
#define SEQUENCES_INBOX_APPLY_H

#include <stdlib.h>

#include "sequence_int.h"

/* Handles one message (raw, len bytes; borrowed) in tx: a reply or a bounce of ours stops
 * the person's enrollments and is recorded; anything else is ignored. fallback_key names the
 * message for deduplication when it has no Message-ID. *outcome: 0 seen before, 1 read as
 * a possible reply, 2 as a DSN. Returns 0 or a storage error. */
int seq_inbox_apply(td_tx_t *tx, const char *raw, size_t len, const char *fallback_key, int *outcome);

#endif
