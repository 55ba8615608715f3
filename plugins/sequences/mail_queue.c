/* Queueing a message (sq_mail_queue): gather the merge values (candidate, job, sender),
 * refuse suppressed or missing addresses, render the template or inline parts, let
 * email.before_send filters change the subject or veto, build the RFC 5322 message with a
 * Message-ID made now, store it in the outbox (status queued), record an email_out activity
 * on the candidate, and wake the sender - all inside the caller's write transaction, so the
 * message exists exactly when the caller's change commits. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_int.h"

#define SUBJECT_MAX 900 /* header line limit is 998 */
#define ADDRESS_MAX 320

static int first_row(td_tx_t *tx, const char *sql, const char *arg, json_t **row) {
  json_t *rows = NULL, *params = json_pack("[s]", arg);
  int rc = sq_api->query(tx, sql, params, &rows);
  json_decref(params);
  if (rc) return rc;
  *row = json_incref(json_array_get(rows, 0));
  json_decref(rows);
  return *row ? 0 : TD_ENOTFOUND;
}

static void set_text(json_t *values, const char *key, const json_t *v) {
  json_object_set_new(values, key, json_string(json_is_string(v) ? json_string_value(v) : ""));
}

/* The candidate's part of the values, plus "_to" (the first email) and "_time_zone". */
static int candidate_values(td_tx_t *tx, const char *candidate_id, json_t *values, char *why, size_t why_size) {
  json_t *row = NULL;
  int rc = candidate_id ? first_row(tx,
                                    "SELECT first_name, last_name, emails, custom_fields FROM candidates WHERE id = "
                                    "coalesce((SELECT candidate_id FROM candidate_aliases WHERE alias_id = ?1), ?1)",
                                    candidate_id, &row)
                        : TD_ENOTFOUND;
  if (rc) {
    snprintf(why, why_size, rc == TD_ENOTFOUND ? "no such candidate" : "the candidate could not be read");
    return rc;
  }
  set_text(values, "candidate.first_name", json_object_get(row, "first_name"));
  set_text(values, "candidate.last_name", json_object_get(row, "last_name"));
  json_t *emails = json_loads(json_string_value(json_object_get(row, "emails")), 0, NULL);
  json_t *custom = json_loads(json_string_value(json_object_get(row, "custom_fields")), 0, NULL);
  set_text(values, "candidate.email", json_array_get(emails, 0));
  set_text(values, "_to", json_array_get(emails, 0));
  const char *zone = json_string_value(json_object_get(custom, "time_zone"));
  int32_t offset;
  if (zone && sq_api->tz_offset(zone, sq_api->now_ms(), &offset) == 0)
    json_object_set_new(values, "_time_zone", json_string(zone));
  json_decref(emails);
  json_decref(custom);
  json_decref(row);
  return 0;
}

int sq_merge_values(td_tx_t *tx, const char *candidate_id, const char *job_id, const char *sender_user_id,
                    const char *unsubscribe_url, json_t **values, char *why, size_t why_size) {
  json_t *v = json_object(), *row = NULL;
  int rc = candidate_values(tx, candidate_id, v, why, why_size);
  if (rc == 0 && job_id) {
    rc = first_row(tx, "SELECT title, department FROM jobs WHERE id = ?1", job_id, &row);
    if (rc) snprintf(why, why_size, "no such job");
    set_text(v, "job.title", json_object_get(row, "title"));
    set_text(v, "job.department", json_object_get(row, "department"));
    json_decref(row);
    row = NULL;
  }
  const sq_mail_config_t *c = sq_mail_config();
  if (rc == 0 && sender_user_id &&
      first_row(tx, "SELECT name, email FROM users WHERE id = ?1", sender_user_id, &row) == 0) {
    set_text(v, "sender.name", json_object_get(row, "name"));
    set_text(v, "sender.email", json_object_get(row, "email"));
    json_decref(row);
  } else if (rc == 0) {
    json_object_set_new(v, "sender.name", json_string(c->from_name ? c->from_name : ""));
    json_object_set_new(v, "sender.email", json_string(c->from_address ? c->from_address : ""));
  }
  json_object_set_new(v, "unsubscribe_url", json_string(unsubscribe_url ? unsubscribe_url : ""));
  if (rc) {
    json_decref(v);
    return rc;
  }
  *values = v;
  return 0;
}

/* The parts to render: the template's, or the inline ones (checked here: they were never saved). */
static int load_parts(td_tx_t *tx, const sq_compose_t *m, json_t **parts, char *why, size_t why_size) {
  if (m->template_id) {
    int rc = sq_template_load(tx, m->template_id, parts);
    if (rc == TD_ENOTFOUND) snprintf(why, why_size, "no such template");
    return rc == TD_ENOTFOUND ? TD_EINVAL : rc;
  }
  if (m->subject == NULL || m->body_text == NULL) {
    snprintf(why, why_size, "give a template_id, or an inline subject and body_text");
    return TD_EINVAL;
  }
  const char *texts[] = {m->subject, m->body_text, m->body_html};
  for (size_t i = 0; i < 3; i++)
    if (sq_merge_check(texts[i], why, why_size)) return TD_EINVAL;
  *parts = json_pack("{s:s,s:s,s:s?}", "subject", m->subject, "body_text", m->body_text, "body_html", m->body_html);
  return *parts ? 0 : TD_ENOMEM;
}

static char *render(const json_t *parts, const char *key, const json_t *values, int mode) {
  const char *src = json_string_value(json_object_get(parts, key));
  if (src == NULL) return NULL;
  sq_buf_t out = {0};
  if (sq_merge_render(src, values, mode, &out)) {
    sq_buf_free(&out);
    return NULL;
  }
  return sq_buf_take(&out);
}

/* Fires email.before_send; a filter may change the subject (cleaned again) or veto. */
static int before_send(td_tx_t *tx, const sq_compose_t *m, const char *to, char subject[SUBJECT_MAX], char *why,
                       size_t why_size) {
  json_t *seq = NULL;
  if (m->enrollment_id) /* the enrollment's sequence (sequence*.c's tables; absent: null) */
    (void)first_row(tx,
                    "SELECT s.id FROM sequences_enrollments e JOIN sequences_sequences s ON s.rowid = e.sequence_rowid "
                    "WHERE e.id = ?1",
                    m->enrollment_id, &seq);
  json_t *proposed = json_pack("{s:s,s:s?,s:s,s:s?,s:s?,s:s?}", "to", to, "candidate_id", m->candidate_id, "subject",
                               subject, "template_id", m->template_id, "sequence_id",
                               json_string_value(json_object_get(seq, "id")), "enrollment_id", m->enrollment_id);
  json_decref(seq);
  char reason[256];
  int rc = sq_api->run_filter(tx, "email.before_send", proposed, reason, sizeof reason);
  if (rc == TD_EDENIED || rc == TD_EINVAL)
    snprintf(why, why_size, "%s", reason[0] ? reason : "a rule refused to send this email");
  else if (rc == 0 && json_string_value(json_object_get(proposed, "subject")))
    sq_header_clean(json_string_value(json_object_get(proposed, "subject")), subject, SUBJECT_MAX);
  json_decref(proposed);
  return rc == TD_EINVAL ? TD_EDENIED : rc;
}

void sq_message_id_make(const char *row_id, char out[SQ_MESSAGE_ID_MAX]) {
  const char *from = sq_mail_config()->from_address;
  const char *at = from ? strrchr(from, '@') : NULL;
  const char *random = strchr(row_id, '_');
  snprintf(out, SQ_MESSAGE_ID_MAX, "<%s.%lld@%.100s>", random ? random + 1 : row_id, (long long)sq_api->now_ms(),
           at && at[1] ? at + 1 : "talentd.invalid");
}

typedef struct rendered {
  char row_id[TD_PLUGIN_ID_MAX], token[SQ_TOKEN_MAX], https[600], mailto[SQ_TOKEN_MAX + ADDRESS_MAX + 40];
  char subject[SUBJECT_MAX];
  char *text, *html, *bytes;
} rendered_t;

static void rendered_free(rendered_t *r) { free(r->text), free(r->html), free(r->bytes); }

/* The unsubscribe links of the message (https only with public_base_url). */
static int links(td_tx_t *tx, rendered_t *r, json_t *values) {
  const sq_mail_config_t *c = sq_mail_config();
  int rc = sq_unsubscribe_token(tx, r->row_id, r->token);
  if (rc) return rc;
  if (c->public_base_url)
    snprintf(r->https, sizeof r->https, "%s/api/v1/email/unsubscribe/%s", c->public_base_url, r->token);
  const char *box = c->unsubscribe_mailto ? c->unsubscribe_mailto : c->from_address;
  if (box) snprintf(r->mailto, sizeof r->mailto, "mailto:%s?subject=unsubscribe%%20%s", box, r->token);
  json_object_set_new(values, "unsubscribe_url", json_string(r->https[0] ? r->https : r->mailto));
  return 0;
}

static int build(const sq_compose_t *m, const json_t *values, const json_t *parts, rendered_t *r,
                 const char *message_id) {
  r->text = render(parts, "body_text", values, SQ_MERGE_TEXT);
  r->html = render(parts, "body_html", values, SQ_MERGE_HTML);
  if (r->text == NULL) return TD_EINVAL;
  const sq_mail_config_t *c = sq_mail_config();
  char to_name[256], from_name[256];
  snprintf(to_name, sizeof to_name, "%s %s", json_string_value(json_object_get(values, "candidate.first_name")),
           json_string_value(json_object_get(values, "candidate.last_name")));
  sq_header_clean(to_name, to_name, sizeof to_name);
  const char *sender = json_string_value(json_object_get(values, "sender.name"));
  sq_header_clean(m->sender_user_id && sender && sender[0] ? sender : c->from_name, from_name, sizeof from_name);
  const char *reply = m->sender_user_id ? json_string_value(json_object_get(values, "sender.email")) : NULL;
  sq_mime_t mime = {from_name, c->from_address ? c->from_address : "unconfigured@talentd.invalid",
                    reply && reply[0] ? reply : NULL, to_name, json_string_value(json_object_get(values, "_to")),
                    r->subject, r->text, r->html, message_id, r->https[0] ? r->https : NULL,
                    r->mailto[0] ? r->mailto : NULL, sq_api->now_ms()};
  sq_buf_t out = {0};
  int rc = sq_mime_build(&mime, &out);
  r->bytes = sq_buf_take(&out);
  return rc ? rc : r->bytes ? 0 : TD_ENOMEM;
}

static int store(td_tx_t *tx, const sq_compose_t *m, const json_t *values, const rendered_t *r, const char *mid) {
  const char *to = json_string_value(json_object_get(values, "_to"));
  const char *at = strrchr(to, '@');
  const sq_mail_config_t *c = sq_mail_config();
  json_int_t now = sq_api->now_ms();
  json_t *params = json_pack("[s,s,s,s?,i,s?,s,s,s,s,s,s?,I]", r->row_id, mid, m->candidate_id, m->enrollment_id,
                             m->step_index, m->template_id, m->sender_user_id ? m->sender_user_id : "", to,
                             at ? at + 1 : "", c->from_address ? c->from_address : "", r->subject,
                             json_string_value(json_object_get(values, "_time_zone")), now);
  int rc = sq_api->exec(tx,
                        "INSERT INTO sequences_outbox (id, message_id, candidate_id, enrollment_id, step_index, "
                        "template_id, sender_key, to_address, to_domain, mail_from, subject, time_zone, "
                        "due_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, lower(?9), ?10, ?11, "
                        "?12, ?13, ?13, ?13)",
                        params, NULL);
  json_decref(params);
  if (rc == 0) rc = sq_outbox_body_store(tx, r->row_id, r->bytes);
  if (rc == 0) rc = sq_outbox_wake(tx, now);
  return rc;
}

/* The email_out activity, recorded when the message is queued (data.status "queued"; the
 * outbox row, GET /email/messages/{id}, has its later state). */
static int record_activity(td_tx_t *tx, const sq_compose_t *m, const char *to, const rendered_t *r, const char *mid,
                           char *why, size_t why_size) {
  sq_buf_t body = {0};
  sq_buf_printf(&body, "%s\n\n%s", r->subject, r->text);
  json_t *args = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?}}", "candidate_id", m->candidate_id,
                           "kind", "email_out", "body", body.failed ? r->subject : body.data, "data", "status", "queued",
                           "message_id", mid, "outbox_id", r->row_id, "to", to, "template_id", m->template_id,
                           "enrollment_id", m->enrollment_id, "sender_user_id", m->sender_user_id);
  int rc = args ? sq_api->act(tx, "activity.add", args, NULL, why, why_size) : TD_ENOMEM;
  json_decref(args);
  sq_buf_free(&body);
  return rc;
}

int sq_mail_queue(td_tx_t *tx, const sq_compose_t *m, char message_id[SQ_MESSAGE_ID_MAX], char *why,
                  size_t why_size) {
  json_t *values = NULL, *parts = NULL;
  rendered_t r = {0};
  why[0] = '\0';
  int rc = sq_merge_values(tx, m->candidate_id, m->job_id, m->sender_user_id, NULL, &values, why, why_size);
  if (rc) return rc == TD_ENOTFOUND ? TD_EINVAL : rc;
  const char *to = json_string_value(json_object_get(values, "_to"));
  bool suppressed = false;
  if (to == NULL || to[0] == '\0' || strchr(to, '@') == NULL) {
    snprintf(why, why_size, "the candidate has no email address");
    rc = TD_EDENIED;
  } else if ((rc = sq_suppressed(tx, to, &suppressed)) == 0 && suppressed) {
    snprintf(why, why_size, "the candidate's address is on the suppression list (unsubscribed or bounced)");
    rc = TD_EDENIED;
  }
  if (rc == 0) rc = load_parts(tx, m, &parts, why, why_size);
  if (rc == 0) {
    sq_api->new_id("eml", r.row_id);
    sq_message_id_make(r.row_id, message_id);
    rc = links(tx, &r, values);
  }
  if (rc == 0) {
    char *subject = render(parts, "subject", values, SQ_MERGE_TEXT);
    sq_header_clean(subject ? subject : "", r.subject, sizeof r.subject);
    free(subject);
    rc = before_send(tx, m, to, r.subject, why, why_size);
  }
  if (rc == 0) rc = build(m, values, parts, &r, message_id);
  if (rc == 0) rc = store(tx, m, values, &r, message_id);
  if (rc == 0) rc = record_activity(tx, m, to, &r, message_id, why, why_size);
  if (rc && why[0] == '\0') snprintf(why, why_size, "the message could not be queued (%d)", rc);
  rendered_free(&r);
  json_decref(parts);
  json_decref(values);
  return rc;
}

int sq_mail_find(td_tx_t *tx, const char *message_id, char candidate_id[TD_PLUGIN_ID_MAX],
                 char enrollment_id[TD_PLUGIN_ID_MAX]) {
  char key[SQ_MESSAGE_ID_MAX + 2];
  size_t n = strlen(message_id);
  if (n == 0 || n >= SQ_MESSAGE_ID_MAX) return TD_ENOTFOUND;
  if (message_id[0] == '<')
    snprintf(key, sizeof key, "%s", message_id);
  else
    snprintf(key, sizeof key, "<%s>", message_id);
  json_t *row = NULL;
  int rc = first_row(tx, "SELECT candidate_id, enrollment_id FROM sequences_outbox WHERE message_id = ?1", key, &row);
  if (rc) return rc;
  const char *c = json_string_value(json_object_get(row, "candidate_id"));
  const char *e = json_string_value(json_object_get(row, "enrollment_id"));
  snprintf(candidate_id, TD_PLUGIN_ID_MAX, "%s", c ? c : "");
  snprintf(enrollment_id, TD_PLUGIN_ID_MAX, "%s", e ? e : "");
  json_decref(row);
  return 0;
}
