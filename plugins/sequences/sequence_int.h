/* What the sequence parts share among themselves (sequence*.c, enrollment*.c, step*.c,
 * inbox*.c): the runner's clock, small state, step lookups. The contract with the mail part
 * is sq.h. */
#ifndef SEQUENCES_SEQUENCE_INT_H
#define SEQUENCES_SEQUENCE_INT_H

#include <stdint.h>

#include "sq.h"

#define SEQ_MAX_STEPS 50       /* steps per sequence */
#define SEQ_ENROLL_MAX 1000    /* candidate ids per enrollment request */
#define SEQ_BATCH 100          /* enrollments advanced per writer transaction (~30 ms) */
#define SEQ_BATCHES_PER_RUN 50 /* writer transactions per runner run before it yields */
#define SEQ_STEPS_PER_VISIT 32 /* steps one enrollment may run in one go (goto loops) */
#define SEQ_RUNNER_HANDLER "runner"
#define SEQ_INBOX_HANDLER "inbox"


/* Small durable state (sequences_state): the value of key into out ("" when absent). */
int seq_state_get(td_tx_t *tx, const char *key, char *out, size_t out_size);
int seq_state_set(td_tx_t *tx, const char *key, const char *value);

/* Makes sure a runner run is due at or before at_ms (inside tx): schedules one unless one
 * is already pending no later. Called whenever an enrollment's next_run_at is set. */
int seq_runner_ensure(td_tx_t *tx, int64_t at_ms);
/* Starts a fresh runner chain (at server start): older pending runs become no-ops. */
int seq_runner_restart(td_tx_t *tx);
int seq_runner_init(void);

/* ETags as the core makes them (core/api/call.c): "\"v<version>\"" of the object's version
 * column, which every write bumps. Used by templates (template.c) and sequences alike; the
 * two declarations below would sit better in sq.h, the plugin-wide header. */
/* The If-Match precondition, as the core checks it: absent or "*" passes; otherwise one of
 * the listed ETags must be the object's (a weak W/ ETag never matches, RFC 9110 13.1.1).
 * Returns 0 to go on, or answers req with the core's 412 problem and returns TD_ESTALE. */
int sq_if_match(td_request_t *req, int64_t version);
/* The headers of an object's answer, as the core sets them: its ETag, and when created (201)
 * its Location "<collection>/<id>" (collection: "/api/v1/templates"). Returns 0 or TD_EINVAL. */
int sq_object_headers(td_request_t *req, const char *collection, const char *id, int64_t version, int status);

/* Answers 403 unless the caller is an admin or a recruiter (then returns nonzero): sequences
 * name candidates across every job, so other roles see none of them. */
int seq_require_recruiter(td_request_t *req);

/* Routes of sequences and of enrollments. */
int seq_register_routes(void);
int seq_enrollment_routes(void);
/* Event subscriptions: applied / hired stop enrollments; server.started starts the chains. */
int seq_enrollment_events(void);
/* Started at server start, in tx (inbox.c): the IMAP polling chain. */
int seq_inbox_restart(td_tx_t *tx);
/* Schedules the next poll at at_ms with a new token (older pending polls become no-ops). */
int seq_inbox_restart_at(td_tx_t *tx, int64_t at_ms);
/* Starts the polling chain unless one is pending and not long overdue. */
int seq_inbox_ensure(td_tx_t *tx);

/* The sequence row (id, name, steps as text, paused, ...) by public id, or TD_ENOTFOUND. */
int seq_load(td_tx_t *tx, const char *id, json_t **row);

/* Stops the candidate's active enrollments with reason and gives their ids (a new array,
 * may be NULL when not wanted). */
int seq_stop_candidate_ids(td_tx_t *tx, const char *candidate_id, const char *reason, json_t **ids);

/* The candidate as a condition sees it, {id, tags, source, custom_fields}, plus owner_id (a
 * new reference), or NULL when there is no such candidate. */
json_t *seq_candidate_ctx(td_tx_t *tx, const char *candidate_id);

/* The instant n business days (Mon-Fri) after from_ms, at the same wall-clock time in zone
 * (NULL or unknown: UTC). */
int64_t seq_add_business_days(const char *zone, int64_t from_ms, int n);

#endif
