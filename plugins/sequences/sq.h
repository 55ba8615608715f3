/* The sequences plugin's internal interfaces: what its parts (mail, templates, unsubscribe,
 * sequences and enrollments, the inbox poller) offer each other. Everything runs through the
 * public SDK (sq_api / sq_self). */
#ifndef SEQUENCES_SQ_H
#define SEQUENCES_SQ_H

#include <stddef.h>
#include <talentd/plugin.h>

extern const td_host_api_t *sq_api;
extern td_plugin_t *sq_self;

#define SQ_MESSAGE_ID_MAX 160

/* RFC 3339 UTC text of epoch ms as the REST API writes it (a new json string; null for a
 * non-integer) (mail.c). */
json_t *sq_time_json(const json_t *ms);

/* Answers a page of rows (a query's result with up to limit + 1 rows, each with its "rowid"):
 * {"data": [to_json(row)...], "next_cursor": the last rowid shown, or null on the last page}.
 * rows is borrowed (page.c). */
void sq_answer_page(td_request_t *req, json_t *rows, long limit, json_t *(*to_json)(const json_t *row));

/* ---- init of each part (called by sequences.c, in this order) ---- */
int sq_mail_init(void);      /* mail_*.c: config, outbox, sender, routes of templates/email */
int sq_sequences_init(void); /* sequence*.c, enrollment*.c: routes, runner, event subscriptions */
int sq_inbox_init(void);     /* inbox*.c: IMAP polling for replies and bounces */
void sq_mail_shutdown(void);
void sq_inbox_shutdown(void);

/* ---- mail (owned by mail_*.c / template*.c) ---- */

/* One message to queue: from a template or inline parts, rendered for a candidate. */
typedef struct sq_compose {
  const char *candidate_id;
  const char *template_id;    /* or NULL, then the inline parts below */
  const char *subject;        /* inline: with merge fields */
  const char *body_text;      /* inline */
  const char *body_html;      /* inline, may be NULL */
  const char *job_id;         /* for {{job.*}}, may be NULL */
  const char *sender_user_id; /* for {{sender.*}} and the per-sender daily cap; NULL: the
                                 configured from address */
  const char *enrollment_id;  /* the enrollment that sends it, may be NULL */
  int step_index;             /* its step, -1 when none */
} sq_compose_t;

/* Renders m for its candidate and queues it durably inside tx (it is sent after commit, from
 * the loop). Fires email.before_send. Writes the new message's RFC 5322 Message-ID (with the
 * angle brackets) into message_id. Returns 0; TD_EDENIED when it must not be sent (the
 * address is suppressed, the candidate has no email, a filter vetoed: why says which, and
 * the caller stops the enrollment with that reason); TD_EINVAL for a bad template or field. */
int sq_mail_queue(td_tx_t *tx, const sq_compose_t *m, char message_id[SQ_MESSAGE_ID_MAX], char *why,
                  size_t why_size);

/* Finds the queued message with this Message-ID (with or without angle brackets): its
 * candidate and enrollment ids (either may come back ""). Returns 0 or TD_ENOTFOUND. */
int sq_mail_find(td_tx_t *tx, const char *message_id, char candidate_id[TD_PLUGIN_ID_MAX],
                 char enrollment_id[TD_PLUGIN_ID_MAX]);

/* Adds address to the suppression list (reason: "unsubscribed", "bounced", "complaint",
 * "manual"): no later message is sent to it. Idempotent. */
int sq_suppress(td_tx_t *tx, const char *address, const char *reason);

/* ---- enrollments (owned by enrollment*.c) ---- */

/* Stops every active enrollment of the candidate with reason ("replied", "unsubscribed",
 * "bounced", "applied", "hired", "manual"), in tx. Idempotent; returns 0 or an error. */
int sq_enrollments_stop_candidate(td_tx_t *tx, const char *candidate_id, const char *reason);

#endif
