/* Running one enrollment's due steps (step_exec.c). */
#ifndef SEQUENCES_STEP_EXEC_H
#define SEQUENCES_STEP_EXEC_H

#include "sequence_int.h"

/* Runs the due steps of the enrollment row (rowid, id, candidate_id, owner_id, current_step,
 * sent_count; borrowed) of a sequence with steps (borrowed) at now, in tx, until a wait, the
 * end, a stop or SEQ_STEPS_PER_VISIT steps, and saves it. A step that fails for a reason
 * that may pass is retried an hour later (last_error says why). Returns 0 or a storage error. */
int seq_visit(td_tx_t *tx, const json_t *row, const json_t *steps, int64_t now);

#endif
