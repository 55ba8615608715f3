/* The mail service this plugin offers the others ("sequences.mail", talentd/mail.h): a plain
 * message to a person who is not a candidate (the analytics digest to hiring managers), sent
 * through the same durable outbox, suppression list and email.before_send filters as every
 * candidate email, but without merge fields, unsubscribe links or candidate history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talentd/mail.h>

#include "mail_int.h"

#define ADDRESS_MAX 320

static int configured(void) {
  const sq_mail_config_t *c = sq_mail_config();
  return c->smtp_url != NULL && c->from_address != NULL;
}

static int check(const char *to, const char *subject, const char *text, char *why, size_t why_size) {
  const char *at = to ? strchr(to, '@') : NULL;
  if (at == NULL || at == to || at[1] == '\0' || strlen(to) > ADDRESS_MAX || strpbrk(to, "\r\n <>,")) {
    snprintf(why, why_size, "to must be one email address");
    return TD_EINVAL;
  }
  if (subject == NULL || subject[0] == '\0' || text == NULL || text[0] == '\0') {
    snprintf(why, why_size, "a subject and a text body are required");
    return TD_EINVAL;
  }
  return 0;
}

/* email.before_send for a message without a candidate: filters may change the subject or veto. */
static int filter(td_tx_t *tx, const char *to, char *subject, size_t subject_size, char *why, size_t why_size) {
  json_t *proposed = json_pack("{s:s,s:n,s:s,s:n,s:n}", "to", to, "candidate_id", "subject", subject, "template_id",
                               "sequence_id");
  char reason[256] = "";
  int rc = sq_api->run_filter(tx, "email.before_send", proposed, reason, sizeof reason);
  if (rc)
    snprintf(why, why_size, "%s", reason[0] ? reason : "a rule refused to send this email");
  else if (json_string_value(json_object_get(proposed, "subject")))
    sq_header_clean(json_string_value(json_object_get(proposed, "subject")), subject, subject_size);
  json_decref(proposed);
  return rc ? TD_EDENIED : 0;
}

static int store(td_tx_t *tx, const char *row_id, const char *mid, const char *to, const char *subject,
                 const char *bytes) {
  const sq_mail_config_t *c = sq_mail_config();
  json_int_t now = sq_api->now_ms();
  json_t *params = json_pack("[s,s,s,s,s,s,I]", row_id, mid, to, strrchr(to, '@') + 1, c->from_address, subject, now);
  int rc = sq_api->exec(tx,
                        "INSERT INTO sequences_outbox (id, message_id, candidate_id, sender_key, to_address, to_domain,"
                        " mail_from, subject, due_at, created_at, updated_at) VALUES (?1, ?2, '', '', ?3,"
                        " lower(?4), ?5, ?6, ?7, ?7, ?7)",
                        params, NULL);
  json_decref(params);
  if (rc == 0) rc = sq_outbox_body_store(tx, row_id, bytes);
  return rc ? rc : sq_outbox_wake(tx, now);
}

typedef struct request {
  const char *to, *to_name, *subject, *text, *html;
  char *message_id;
  size_t message_id_size;
  char *why;
  size_t why_size;
} request_t;

/* Runs in the caller's transaction as this plugin (tx_as): the outbox is ours to write. */
static int queue_as_self(td_tx_t *tx, void *data) {
  request_t *q = data;
  char *why = q->why;
  size_t why_size = q->why_size;
  int rc = check(q->to, q->subject, q->text, why, why_size);
  bool suppressed = false;
  if (rc == 0 && (rc = sq_suppressed(tx, q->to, &suppressed)) == 0 && suppressed) {
    snprintf(why, why_size, "the address is on the suppression list");
    rc = TD_EDENIED;
  }
  char clean_subject[900], name[256], row_id[TD_PLUGIN_ID_MAX], mid[SQ_MESSAGE_ID_MAX];
  sq_header_clean(q->subject ? q->subject : "", clean_subject, sizeof clean_subject);
  sq_header_clean(q->to_name ? q->to_name : "", name, sizeof name);
  if (rc == 0) rc = filter(tx, q->to, clean_subject, sizeof clean_subject, why, why_size);
  if (rc) return rc;
  sq_api->new_id("eml", row_id);
  sq_message_id_make(row_id, mid);
  const sq_mail_config_t *c = sq_mail_config();
  sq_mime_t mime = {c->from_name, c->from_address, NULL, name,  q->to, clean_subject, q->text, q->html, mid, NULL,
                    NULL,         sq_api->now_ms()};
  sq_buf_t out = {0};
  rc = sq_mime_build(&mime, &out);
  char *bytes = sq_buf_take(&out);
  if (rc == 0 && bytes == NULL) rc = TD_ENOMEM;
  if (rc == 0) rc = store(tx, row_id, mid, q->to, clean_subject, bytes);
  free(bytes);
  if (rc == 0 && q->message_id && q->message_id_size) snprintf(q->message_id, q->message_id_size, "%s", mid);
  if (rc && why[0] == '\0') snprintf(why, why_size, "the message could not be queued");
  return rc;
}

static int queue_to(td_tx_t *tx, const char *to, const char *to_name, const char *subject, const char *text,
                    const char *html, char *message_id, size_t message_id_size, char *why, size_t why_size) {
  char scratch[160];
  request_t q = {to, to_name, subject, text, html, message_id, message_id_size, why ? why : scratch,
                 why && why_size ? why_size : sizeof scratch};
  q.why[0] = '\0';
  return sq_api->tx_as(tx, sq_self, queue_as_self, &q);
}

static const td_mail_api_t service = {sizeof(td_mail_api_t), configured, queue_to};

int sq_mail_service_init(void) {
  return sq_api->provide_api(sq_self, TD_MAIL_API_NAME, TD_MAIL_API_VERSION, &service);
}
