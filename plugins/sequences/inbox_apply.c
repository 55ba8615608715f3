/* What an inbound message does (inside the poller's write transaction): a reply to one of
 * our messages, or from the address of someone in a sequence, stops that person's
 * enrollments ("replied"), goes on their activity history (kind email_in, the subject only)
 * and emits email.replied; a delivery status notification of a permanent failure stops them
 * with "bounced", suppresses the address and emits email.bounced. A message is handled once
 * (by Message-ID). No address, subject or body is logged. */
#include <stdio.h>
#include <string.h>

#include "inbox_apply.h"
#include "inbox_parse.h"

static int query_one(td_tx_t *tx, const char *sql, const char *arg, const char *column, char *out,
                     size_t out_size) {
  json_t *rows = NULL, *params = json_pack("[s]", arg);
  int rc = sq_api->query(tx, sql, params, &rows);
  json_decref(params);
  const char *v = json_string_value(json_object_get(json_array_get(rows, 0), column));
  out[0] = '\0';
  if (rc == 0 && v && strlen(v) < out_size) memcpy(out, v, strlen(v) + 1);
  json_decref(rows);
  return rc;
}

static int candidate_by_email(td_tx_t *tx, const char *address, char id[TD_PLUGIN_ID_MAX]) {
  return query_one(
      tx,
      "SELECT c.id AS id FROM candidate_emails e JOIN candidates c ON c.rowid = e.candidate_rowid "
      "WHERE e.email = ?1",
      address, "id", id, TD_PLUGIN_ID_MAX);
}

/* Whether this message was handled before; marks it handled. */
static int seen_before(td_tx_t *tx, const char *key, bool *seen) {
  json_t *params = json_pack("[s,I]", key, (json_int_t)sq_api->now_ms());
  int64_t changes = 0;
  int rc =
      sq_api->exec(tx, "INSERT OR IGNORE INTO sequences_inbox_seen (message_id, seen_at) VALUES (?1, ?2)",
                   params, &changes);
  json_decref(params);
  *seen = changes == 0;
  return rc;
}

static void emit(td_tx_t *tx, const char *type, const char *candidate_id, const json_t *data) {
  int rc = TD_HOST_HAS(sq_api, emit) ? sq_api->emit(tx, type, "candidate", candidate_id, data) : TD_EINVAL;
  if (rc)
    sq_api->log(sq_self, TD_LEVEL_WARN, "sequence_emit_failed",
                json_pack("{s:s,s:s}", "type", type, "error", td_strerror(rc)));
}

/* Adds the activity; its id into activity_id ("" when refused: logged, the rest goes on). */
static void add_activity(td_tx_t *tx, const char *candidate_id, const char *kind, const char *body,
                         json_t *data, char activity_id[TD_PLUGIN_ID_MAX]) {
  json_t *args =
      json_pack("{s:s,s:s,s:s,s:o}", "candidate_id", candidate_id, "kind", kind, "body", body, "data", data);
  json_t *result = NULL;
  char why[256];
  int rc = sq_api->act(tx, "activity.add", args, &result, why, sizeof why);
  json_decref(args);
  const char *id = json_string_value(json_object_get(result, "id"));
  activity_id[0] = '\0';
  if (rc == 0 && id && strlen(id) < TD_PLUGIN_ID_MAX) memcpy(activity_id, id, strlen(id) + 1);
  if (rc)
    sq_api->log(sq_self, TD_LEVEL_WARN, "sequence_activity_refused",
                json_pack("{s:s}", "error", td_strerror(rc)));
  json_decref(result);
}

static int bounce(td_tx_t *tx, const seq_mail_in_t *m) {
  char candidate[TD_PLUGIN_ID_MAX] = "", enrollment[TD_PLUGIN_ID_MAX] = "", address[SEQ_ADDR_MAX];
  if (!m->dsn_failed) return 0;
  int rc = 0;
  if (m->dsn_original_id[0]) rc = sq_mail_find(tx, m->dsn_original_id, candidate, enrollment);
  if (rc == TD_ENOTFOUND) rc = 0, candidate[0] = '\0';
  if (rc == 0 && candidate[0] == '\0' && m->dsn_recipient[0])
    rc = candidate_by_email(tx, m->dsn_recipient, candidate);
  if (rc || candidate[0] == '\0') return rc;
  snprintf(address, sizeof address, "%s", m->dsn_recipient);
  if (address[0] == '\0')
    rc = query_one(tx, "SELECT json_extract(emails, '$[0]') AS e FROM candidates WHERE id = ?1", candidate,
                   "e", address, sizeof address);
  json_t *ids = NULL;
  if (rc == 0 && address[0]) rc = sq_suppress(tx, address, "bounced");
  if (rc == 0) rc = seq_stop_candidate_ids(tx, candidate, "bounced", &ids);
  if (rc == 0) {
    char activity[TD_PLUGIN_ID_MAX];
    add_activity(tx, candidate, "system", "An email bounced; the address is suppressed",
                 json_pack("{s:s,s:s?,s:s}", "message_id", m->dsn_original_id, "status",
                           m->dsn_status[0] ? m->dsn_status : NULL, "event", "email.bounced"),
                 activity);
    json_t *data =
        json_pack("{s:s,s:s,s:s,s:s?,s:O}", "candidate_id", candidate, "message_id", m->dsn_original_id,
                  "source", "dsn", "status", m->dsn_status[0] ? m->dsn_status : NULL, "enrollment_ids", ids);
    emit(tx, "email.bounced", candidate, data);
    json_decref(data);
  }
  json_decref(ids);
  return rc;
}

/* The candidate a reply is from: by the first of its references that is one of ours, else by
 * the sender's address when that person is (or was sent mail in) a sequence. */
static int reply_candidate(td_tx_t *tx, const seq_mail_in_t *m, char candidate[TD_PLUGIN_ID_MAX],
                           const char **in_reply_to) {
  char enrollment[TD_PLUGIN_ID_MAX];
  *in_reply_to = NULL;
  candidate[0] = '\0';
  /* A copy of one of our own messages (a Bcc or a sent folder) is no reply. */
  if (m->message_id[0] && sq_mail_find(tx, m->message_id, candidate, enrollment) == 0) {
    candidate[0] = '\0';
    return 0;
  }
  for (size_t i = 0; i < m->ref_count; i++) {
    int rc = sq_mail_find(tx, m->refs[i], candidate, enrollment);
    if (rc == 0 && candidate[0]) {
      *in_reply_to = m->refs[i];
      return 0;
    }
    if (rc && rc != TD_ENOTFOUND) return rc;
  }
  candidate[0] = '\0';
  if (m->from[0] == '\0') return 0;
  int rc = candidate_by_email(tx, m->from, candidate);
  if (rc || candidate[0] == '\0') return rc;
  char enrolled[8];
  rc = query_one(
      tx,
      "SELECT 'yes' AS y FROM sequences_enrollments WHERE candidate_id = ?1 AND (status = 'active' OR "
      "sent_count > 0) LIMIT 1",
      candidate, "y", enrolled, sizeof enrolled);
  if (rc == 0 && enrolled[0] == '\0') candidate[0] = '\0';
  return rc;
}

static int reply(td_tx_t *tx, const seq_mail_in_t *m) {
  char candidate[TD_PLUGIN_ID_MAX];
  const char *in_reply_to = NULL;
  int rc = reply_candidate(tx, m, candidate, &in_reply_to);
  if (rc || candidate[0] == '\0') return rc;
  json_t *ids = NULL;
  rc = seq_stop_candidate_ids(tx, candidate, "replied", &ids);
  if (rc == 0) {
    char activity[TD_PLUGIN_ID_MAX];
    add_activity(tx, candidate, "email_in", m->subject[0] ? m->subject : "(no subject)",
                 json_pack("{s:s,s:s?,s:s}", "message_id", m->message_id, "in_reply_to", in_reply_to,
                           "subject", m->subject),
                 activity);
    json_t *data = json_pack("{s:s,s:s,s:s?,s:O}", "candidate_id", candidate, "message_id", m->message_id,
                             "in_reply_to", in_reply_to, "enrollment_ids", ids);
    if (activity[0]) json_object_set_new(data, "activity_id", json_string(activity));
    emit(tx, "email.replied", candidate, data);
    json_decref(data);
  }
  json_decref(ids);
  return rc;
}

int seq_inbox_apply(td_tx_t *tx, const char *raw, size_t len, const char *fallback_key, int *outcome) {
  *outcome = 0;
  if (len == 0) return 0; /* skipped: it could not be read */
  seq_mail_in_t *m = calloc(1, sizeof *m);
  if (m == NULL) return TD_ENOMEM;
  seq_mail_parse(raw, len, m);
  bool seen = false;
  int rc = seen_before(tx, m->message_id[0] ? m->message_id : fallback_key, &seen);
  if (rc == 0 && !seen) {
    *outcome = m->is_dsn ? 2 : 1;
    rc = m->is_dsn ? bounce(tx, m) : reply(tx, m);
  }
  free(m);
  return rc;
}
