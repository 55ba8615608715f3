/* The outgoing-mail service one plugin offers the others (host API provide_api / get_api):
 * the bundled sequences plugin offers it as "sequences.mail" version 1, backed by its durable
 * SMTP outbox. A consumer (the analytics plugin's weekly digest) asks for it when it needs it
 * and degrades cleanly when it is absent (plugin disabled) or not configured (no SMTP URL).
 *
 *   const td_mail_api_t *mail = api->get_api(TD_MAIL_API_NAME, TD_MAIL_API_VERSION);
 *   if (mail == NULL || !mail->configured()) skip;
 *   mail->queue_to(tx, "ana@example.com", "Ana", "Subject", "text", NULL, id, sizeof id, why, sizeof why);
 */
#ifndef TALENTD_MAIL_H
#define TALENTD_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "talentd/plugin.h"

#define TD_MAIL_API_NAME "sequences.mail"
#define TD_MAIL_API_VERSION 1

typedef struct td_mail_api {
  uint32_t struct_size; /* of the provider's table: check members added later against it */

  /* 1 when messages can be sent (an SMTP URL and a from address are configured). */
  int (*configured)(void);

  /* Queues one message to a person who is not a candidate (a user: a digest, a notice) inside
   * tx, a write transaction; it is sent after commit, from the provider's durable outbox, with
   * its retries and limits. to_name and body_html may be NULL; the subject is one line. Writes
   * the Message-ID (with angle brackets) into message_id. Returns 0; TD_EDENIED when the
   * address is suppressed or an email.before_send filter vetoed (why says which); TD_EINVAL
   * for a bad address or an empty subject or body. */
  int (*queue_to)(td_tx_t *tx, const char *to_address, const char *to_name, const char *subject,
                  const char *body_text, const char *body_html, char *message_id, size_t message_id_size, char *why,
                  size_t why_size);
} td_mail_api_t;

#endif
