/* The outbox seen from the API and from writers: waking the sender when a message is queued
 * or put back, and /email/messages (queue a one-off message; read the outbox). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_int.h"

#define STALE_WAKE_MS 10000 /* a wake-up this far in the past never ran (a crash): schedule anew */

int sq_outbox_wake(td_tx_t *tx, int64_t at_ms) {
  json_t *rows = NULL;
  int rc = sq_api->query(tx, "SELECT next_at FROM sequences_mail_pump WHERE id = 1", NULL, &rows);
  if (rc) return rc;
  const json_t *next = json_object_get(json_array_get(rows, 0), "next_at");
  int64_t now = sq_api->now_ms();
  bool scheduled = json_is_integer(next) && json_integer_value(next) <= at_ms &&
                   json_integer_value(next) > now - STALE_WAKE_MS;
  json_decref(rows);
  if (scheduled) return 0;
  if (at_ms < now) at_ms = now;
  rc = sq_api->schedule(tx, "mail.send", at_ms, NULL, NULL, NULL, NULL);
  json_t *params = json_pack("[I]", (json_int_t)at_ms);
  if (rc == 0) rc = sq_api->exec(tx, "UPDATE sequences_mail_pump SET next_at = ?1 WHERE id = 1", params, NULL);
  json_decref(params);
  return rc;
}

#define MESSAGE_COLUMNS                                                                                       \
  "id, message_id, candidate_id, enrollment_id, step_index, template_id, sender_key, to_address, subject, " \
  "status, due_at, attempts, last_code, last_error, created_at, sent_at"

static json_t *message_json(const json_t *row) {
  const char *sender = json_string_value(json_object_get(row, "sender_key"));
  return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:s?,s:O,s:O,s:O,s:o,s:O,s:O,s:O,s:o,s:o}", "id",
                   json_object_get(row, "id"), "message_id", json_object_get(row, "message_id"), "candidate_id",
                   json_object_get(row, "candidate_id"), "enrollment_id", json_object_get(row, "enrollment_id"),
                   "step_index", json_object_get(row, "step_index"), "template_id", json_object_get(row, "template_id"),
                   "sender_user_id", sender && sender[0] ? sender : NULL, "to", json_object_get(row, "to_address"),
                   "subject", json_object_get(row, "subject"), "status", json_object_get(row, "status"), "due_at",
                   sq_time_json(json_object_get(row, "due_at")), "attempts", json_object_get(row, "attempts"),
                   "last_code", json_object_get(row, "last_code"), "last_error", json_object_get(row, "last_error"),
                   "created_at", sq_time_json(json_object_get(row, "created_at")), "sent_at",
                   sq_time_json(json_object_get(row, "sent_at")));
}

static bool may_send(td_request_t *req) {
  const char *role = sq_api->request_role(req);
  return role && (strcmp(role, "admin") == 0 || strcmp(role, "recruiter") == 0);
}

static const char *str(const json_t *body, const char *key) { return json_string_value(json_object_get(body, key)); }

/* POST /email/messages: one message to one candidate, from a template or inline parts, sent
 * as the caller (their name and address in {{sender.*}}, Reply-To their address). */
static int send_message(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (!may_send(req)) return sq_api->fail(req, 403, "Forbidden", "only admins and recruiters send email");
  const json_t *b = sq_api->request_body(req);
  sq_compose_t m = {str(b, "candidate_id"), str(b, "template_id"), str(b, "subject"), str(b, "body_text"),
                    str(b, "body_html"), str(b, "job_id"), sq_api->request_user_id(req), NULL, -1};
  char message_id[SQ_MESSAGE_ID_MAX], why[512];
  int rc = sq_mail_queue(tx, &m, message_id, why, sizeof why);
  if (rc == TD_EDENIED) return sq_api->fail(req, 422, "Not sent", why);
  if (rc == TD_EINVAL) {
    const char *pointer = strstr(why, "candidate") && !strstr(why, "address") ? "/candidate_id"
                          : strstr(why, "job")                                 ? "/job_id"
                          : strstr(why, "template")                            ? "/template_id"
                                                                               : "/body_text";
    if (strstr(why, "merge field") && m.template_id == NULL) {
      /* name the inline part that holds the bad field */
      pointer = sq_merge_check(m.subject, why, sizeof why) ? "/subject"
                : sq_merge_check(m.body_text, why, sizeof why) ? "/body_text"
                                                                : "/body_html";
    }
    return sq_api->fail_field(req, pointer, why);
  }
  if (rc) return rc;
  json_t *rows = NULL, *params = json_pack("[s]", message_id);
  rc = sq_api->query(tx, "SELECT " MESSAGE_COLUMNS " FROM sequences_outbox WHERE message_id = ?1", params, &rows);
  json_decref(params);
  if (rc == 0 && json_array_size(rows) == 1) sq_api->respond(req, 202, message_json(json_array_get(rows, 0)));
  json_decref(rows);
  return rc;
}

static int get_message(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (!may_send(req)) return sq_api->fail(req, 403, "Forbidden", "only admins and recruiters read the outbox");
  json_t *rows = NULL, *params = json_pack("[s]", sq_api->request_param(req, 0));
  int rc = sq_api->query(tx, "SELECT " MESSAGE_COLUMNS " FROM sequences_outbox WHERE id = ?1", params, &rows);
  json_decref(params);
  if (rc == 0 && json_array_size(rows) == 0) {
    json_decref(rows);
    return sq_api->fail(req, 404, "Not found", "no such message");
  }
  if (rc == 0) sq_api->respond(req, 200, message_json(json_array_get(rows, 0)));
  json_decref(rows);
  return rc;
}

/* GET /email/messages?candidate_id=&status=&limit=&cursor= (newest first). */
static int list_messages(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (!may_send(req)) return sq_api->fail(req, 403, "Forbidden", "only admins and recruiters read the outbox");
  const char *limit_q = sq_api->request_query(req, "limit"), *cursor = sq_api->request_query(req, "cursor");
  long limit = limit_q ? strtol(limit_q, NULL, 10) : 50;
  if (limit < 1 || limit > 100) return sq_api->fail_field(req, "/limit", "must be between 1 and 100");
  json_t *rows = NULL;
  json_t *params = json_pack("[s?,s?,I,i]", sq_api->request_query(req, "candidate_id"),
                             sq_api->request_query(req, "status"),
                             cursor ? (json_int_t)strtoll(cursor, NULL, 10) : (json_int_t)INT64_MAX, (int)limit + 1);
  int rc = sq_api->query(tx,
                         "SELECT rowid, " MESSAGE_COLUMNS " FROM sequences_outbox WHERE (?1 IS NULL OR candidate_id "
                         "= ?1) AND (?2 IS NULL OR status = ?2) AND rowid < ?3 ORDER BY rowid DESC LIMIT ?4",
                         params, &rows);
  json_decref(params);
  if (rc) return rc;
  sq_answer_page(req, rows, limit, message_json);
  json_decref(rows);
  return 0;
}

int sq_message_routes(void) {
  static const struct {
    td_route_spec_t spec;
    td_route_fn fn;
  } routes[] = {
      {{"POST", "/email/messages", TD_PLUGIN_ROUTE_WRITE, 0, "SequencesMessageCreate"}, send_message},
      {{"GET", "/email/messages", TD_PLUGIN_ROUTE_READ, 0, NULL}, list_messages},
      {{"GET", "/email/messages/{id}", TD_PLUGIN_ROUTE_READ, 0, NULL}, get_message},
  };
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    int rc = sq_api->register_route(sq_self, &routes[i].spec, routes[i].fn, NULL);
    if (rc) return rc;
  }
  return 0;
}

int sq_outbox_body_store(td_tx_t *tx, const char *row_id, const char *bytes) {
  json_t *params = json_pack("[s,s]", row_id, bytes);
  int rc = sq_api->exec(tx,
                        "INSERT INTO sequences_outbox_bodies (rowid, message) VALUES"
                        " ((SELECT rowid FROM sequences_outbox WHERE id = ?1), ?2)",
                        params, NULL);
  json_decref(params);
  return rc;
}
