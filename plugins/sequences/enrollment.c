/* Enrollments: putting candidates into a sequence (by ids, or every member of a crm talent
 * pool), listing them with what they were sent, and stopping them: by hand, or when the
 * person applies, is hired, replies, unsubscribes or bounces (sq_enrollments_stop_candidate). */
#include <stdio.h>
#include <string.h>
#include <talentd/segments.h>

#include "mail_int.h"
#include "sequence_int.h"

static int not_found(td_request_t *req) { return sq_api->fail(req, 404, "Not found", "no such sequence"); }

/* The first index of ids that names no candidate, or -1. */
static int first_unknown(td_tx_t *tx, const json_t *ids, json_int_t *index) {
  char *text = json_dumps(ids, JSON_COMPACT);
  json_t *rows = NULL, *params = json_pack("[s]", text);
  free(text);
  int rc = sq_api->query(tx,
                         "SELECT j.key AS i FROM json_each(?1) j WHERE j.type <> 'text' OR NOT EXISTS "
                         "(SELECT 1 FROM candidates c WHERE c.id = j.value) ORDER BY j.key LIMIT 1",
                         params, &rows);
  json_decref(params);
  json_t *row = json_array_get(rows, 0);
  *index = row ? json_integer_value(json_object_get(row, "i")) : -1;
  json_decref(rows);
  return rc;
}

/* The candidate ids of a crm pool's or segment's members, through the crm plugin's service
 * (talentd/segments.h). Answers req with a 422 naming the field when crm is not enabled, the
 * pool or segment is unknown, or it has more members than one enrolment takes. */
static int audience(td_request_t *req, td_tx_t *tx, const char *field, const char *id, json_t **ids) {
  const td_segments_api_t *crm = sq_api->get_api(TD_SEGMENTS_API_NAME, TD_SEGMENTS_API_VERSION);
  if (crm == NULL) return sq_api->fail_field(req, field, "the crm plugin is not enabled");
  int is_pool = strcmp(field, "/pool_id") == 0;
  int rc = is_pool ? crm->pool_members(tx, id, SEQ_ENROLL_MAX, ids) : crm->members(tx, id, SEQ_ENROLL_MAX, ids);
  if (rc == TD_ENOTFOUND) return sq_api->fail_field(req, field, is_pool ? "no such pool" : "no such segment");
  if (rc == TD_ELIMIT)
    return sq_api->fail_field(req, field, "has more than 1000 members: enrol them in parts (candidate_ids)");
  return rc;
}

/* The ids to enroll from the body: candidate_ids, pool_id or segment_id. */
static int enroll_ids(td_request_t *req, td_tx_t *tx, const json_t *body, json_t **ids) {
  *ids = NULL;
  json_t *given = json_object_get(body, "candidate_ids");
  const char *pool = json_string_value(json_object_get(body, "pool_id"));
  const char *segment = json_string_value(json_object_get(body, "segment_id"));
  int sources = (given != NULL) + (pool != NULL) + (segment != NULL);
  if (sources != 1)
    return sq_api->fail_field(req, "/candidate_ids", "give exactly one of candidate_ids, pool_id, segment_id");
  int rc = pool ? audience(req, tx, "/pool_id", pool, ids) : segment ? audience(req, tx, "/segment_id", segment, ids) : 0;
  if (rc) return rc;
  if (given) {
    if (!json_is_array(given) || json_array_size(given) == 0 || json_array_size(given) > SEQ_ENROLL_MAX)
      return sq_api->fail_field(req, "/candidate_ids", "must be an array of 1 to 1000 candidate ids");
    *ids = json_incref(given);
  }
  json_int_t bad = -1;
  if ((rc = first_unknown(tx, *ids, &bad)) != 0) return rc;
  if (bad >= 0) {
    char pointer[48];
    snprintf(pointer, sizeof pointer, "/candidate_ids/%lld", (long long)bad);
    return sq_api->fail_field(req, pointer, "no such candidate");
  }
  return 0;
}

/* Enrolls one candidate unless already active in the sequence: 1 when enrolled, 0 when not. */
static int enroll_one(td_tx_t *tx, const json_t *seq, const json_t *first_step_id, const char *candidate_id,
                      const char *owner, int64_t now) {
  char id[TD_PLUGIN_ID_MAX];
  sq_api->new_id("enr", id);
  json_t *params = json_pack("[s,O,s,s?,O,I]", id, json_object_get(seq, "rowid"), candidate_id, owner,
                             first_step_id, (json_int_t)now);
  int64_t changes = 0;
  int rc = sq_api->exec(
      tx,
      "INSERT INTO sequences_enrollments (id, sequence_rowid, candidate_id, owner_id, current_step_id, "
      "next_run_at, created_at, updated_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6 WHERE NOT EXISTS "
      "(SELECT 1 FROM sequences_enrollments WHERE candidate_id = ?3 AND status = 'active' AND "
      "+sequence_rowid = ?2)", /* + : by the candidate's index, not a scan of the sequence */
      params, &changes);
  json_decref(params);
  if (rc || changes == 0) return rc;
  char why[256];
  json_t *touch = json_pack("{s:s,s:s,s:O,s:s,s:s}", "candidate_id", candidate_id, "channel", "sequence",
                            "source", json_object_get(seq, "name"), "ref_type", "sequence", "ref_id",
                            json_string_value(json_object_get(seq, "id")));
  rc = sq_api->act(tx, "touch.record", touch, NULL, why, sizeof why);
  json_decref(touch);
  return rc ? rc : 1;
}

static int enroll(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (seq_require_recruiter(req)) return TD_EDENIED;
  json_t *seq = NULL, *ids = NULL;
  int rc = seq_load(tx, sq_api->request_param(req, 0), &seq);
  if (rc == TD_ENOTFOUND) return not_found(req);
  if (rc == 0) rc = enroll_ids(req, tx, sq_api->request_body(req), &ids);
  json_t *enrolled = json_array(), *already = json_array();
  json_t *steps = seq ? json_loads(json_string_value(json_object_get(seq, "steps")), 0, NULL) : NULL;
  json_t *first_step_id = json_object_get(json_array_get(steps, 0), "id");
  int64_t now = sq_api->now_ms();
  size_t i;
  json_t *v;
  json_array_foreach(ids, i, v) {
    if (rc) break;
    int r = enroll_one(tx, seq, first_step_id, json_string_value(v), sq_api->request_user_id(req), now);
    if (r < 0) rc = r;
    json_array_append(r == 1 ? enrolled : already, v);
  }
  if (rc == 0 && json_array_size(enrolled)) rc = seq_runner_ensure(tx, now);
  json_decref(steps);
  json_decref(seq);
  json_decref(ids);
  if (rc) {
    json_decref(enrolled);
    json_decref(already);
    return rc;
  }
  sq_api->respond(req, json_array_size(enrolled) ? 201 : 200,
                  json_pack("{s:o,s:o}", "enrolled", enrolled, "already_active", already));
  return 0;
}

/* One enrollment row as API JSON, with the messages it sent: their status and sent_at come
 * from the mail part's outbox (sequences_outbox, migrations/0001_mail.sql). */
static json_t *enrollment_json(td_tx_t *tx, const json_t *row) {
  json_t *rows = NULL, *params = json_pack("[O]", json_object_get(row, "rowid"));
  sq_api->query(
      tx,
      "SELECT s.step_id AS step_id, s.step_index AS step_index, s.message_id AS message_id, s.done_at AS "
      "done_at, o.status AS status, o.sent_at AS sent_at FROM sequences_enrollment_steps s LEFT JOIN "
      "sequences_outbox o ON o.message_id = s.message_id WHERE s.enrollment_rowid = ?1 AND s.message_id "
      "IS NOT NULL ORDER BY s.done_at, s.step_index",
      params, &rows);
  json_decref(params);
  json_t *messages = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(rows, i, m) json_array_append_new(
      messages,
      json_pack("{s:O,s:O,s:O,s:o,s:O,s:o}", "message_id", json_object_get(m, "message_id"), "step_id",
                json_object_get(m, "step_id"), "step_index", json_object_get(m, "step_index"), "queued_at",
                sq_time_json(json_object_get(m, "done_at")), "status", json_object_get(m, "status"),
                "sent_at", sq_time_json(json_object_get(m, "sent_at"))));
  json_decref(rows);
  return json_pack(
      "{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:o,s:O,s:o,s:o,s:o}", "id", json_object_get(row, "id"), "candidate_id",
      json_object_get(row, "candidate_id"), "status", json_object_get(row, "status"), "stop_reason",
      json_object_get(row, "stop_reason"), "current_step", json_object_get(row, "current_step"), "sent_count",
      json_object_get(row, "sent_count"), "last_error", json_object_get(row, "last_error"), "next_run_at",
      sq_time_json(json_object_get(row, "next_run_at")), "owner_id", json_object_get(row, "owner_id"),
      "messages", messages, "created_at", sq_time_json(json_object_get(row, "created_at")), "ended_at",
      sq_time_json(json_object_get(row, "ended_at")));
}

/* GET: in enrollment order; ?status= filters; ?limit (<= 100) and ?cursor page. */
static int list(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (seq_require_recruiter(req)) return TD_EDENIED;
  json_t *seq = NULL;
  int rc = seq_load(tx, sq_api->request_param(req, 0), &seq);
  if (rc == TD_ENOTFOUND) return not_found(req);
  if (rc) return rc;
  const char *limit_text = sq_api->request_query(req, "limit"),
             *cursor = sq_api->request_query(req, "cursor");
  const char *status = sq_api->request_query(req, "status");
  long limit = limit_text ? strtol(limit_text, NULL, 10) : 100;
  if (limit < 1 || limit > 100) {
    json_decref(seq);
    return sq_api->fail(req, 400, "Bad limit", "limit must be from 1 to 100");
  }
  json_t *rows = NULL, *params = json_pack("[O,I,s?,I]", json_object_get(seq, "rowid"),
                                           (json_int_t)(cursor ? strtoll(cursor, NULL, 10) : 0), status,
                                           (json_int_t)limit + 1);
  json_decref(seq);
  rc = sq_api->query(
      tx,
      "SELECT rowid, id, candidate_id, owner_id, status, stop_reason, current_step, sent_count, "
      "last_error, next_run_at, created_at, ended_at FROM sequences_enrollments WHERE sequence_rowid = ?1 "
      "AND rowid > ?2 AND (?3 IS NULL OR status = ?3) ORDER BY rowid LIMIT ?4",
      params, &rows);
  json_decref(params);
  if (rc) return rc;
  json_t *items = json_array(), *next = json_null();
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    if ((long)i == limit) {
      char buf[32];
      snprintf(buf, sizeof buf, "%lld",
               (long long)json_integer_value(json_object_get(json_array_get(rows, i - 1), "rowid")));
      json_decref(next);
      next = json_string(buf);
      break;
    }
    json_array_append_new(items, enrollment_json(tx, row));
  }
  json_decref(rows);
  sq_api->respond(req, 200, json_pack("{s:o,s:o}", "data", items, "next_cursor", next));
  return 0;
}

int seq_stop_candidate_ids(td_tx_t *tx, const char *candidate_id, const char *reason, json_t **ids) {
  json_t *rows = NULL, *params = json_pack("[s]", candidate_id ? candidate_id : "");
  int rc = ids ? sq_api->query(
                     tx,
                     "SELECT id FROM sequences_enrollments WHERE candidate_id = ?1 AND status = 'active' "
                     "ORDER BY rowid",
                     params, &rows)
               : 0;
  json_decref(params);
  params = json_pack("[s,s,I]", candidate_id ? candidate_id : "", reason, (json_int_t)sq_api->now_ms());
  if (rc == 0)
    rc = sq_api->exec(
        tx,
        "UPDATE sequences_enrollments SET status = 'stopped', stop_reason = ?2, next_run_at = NULL, "
        "ended_at = ?3, updated_at = ?3 WHERE candidate_id = ?1 AND status = 'active'",
        params, NULL);
  json_decref(params);
  if (ids) {
    *ids = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_array_append(*ids, json_object_get(row, "id"));
  }
  json_decref(rows);
  return rc;
}

int sq_enrollments_stop_candidate(td_tx_t *tx, const char *candidate_id, const char *reason) {
  return seq_stop_candidate_ids(tx, candidate_id, reason, NULL);
}

/* POST /sequences/{id}/enrollments/{candidate_id}/stop: stops that one enrollment (manual). */
static int stop_one(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (seq_require_recruiter(req)) return TD_EDENIED;
  json_t *seq = NULL;
  int rc = seq_load(tx, sq_api->request_param(req, 0), &seq);
  if (rc == TD_ENOTFOUND) return not_found(req);
  if (rc) return rc;
  json_int_t now = sq_api->now_ms();
  json_t *params = json_pack("[O,s,I]", json_object_get(seq, "rowid"), sq_api->request_param(req, 1), now);
  json_decref(seq);
  int64_t changes = 0;
  rc = sq_api->exec(
      tx,
      "UPDATE sequences_enrollments SET status = 'stopped', stop_reason = 'manual', next_run_at = NULL, "
      "ended_at = ?3, updated_at = ?3 WHERE candidate_id = ?2 AND +sequence_rowid = ?1 AND status = 'active'",
      params, &changes);
  json_t *rows = NULL;
  json_array_remove(params, 2);
  if (rc == 0)
    rc = sq_api->query(
        tx,
        "SELECT rowid, id, candidate_id, owner_id, status, stop_reason, current_step, sent_count, "
        "last_error, next_run_at, created_at, ended_at FROM sequences_enrollments WHERE "
        "sequence_rowid = ?1 AND candidate_id = ?2 ORDER BY rowid DESC LIMIT 1",
        params, &rows);
  json_decref(params);
  if (rc == 0 && json_array_size(rows) == 0)
    rc = sq_api->fail(req, 404, "Not found", "the candidate is not enrolled in this sequence");
  else if (rc == 0 && changes == 0)
    rc = sq_api->fail(req, 409, "Not active", "the enrollment has already ended");
  else if (rc == 0)
    sq_api->respond(req, 200, enrollment_json(tx, json_array_get(rows, 0)));
  json_decref(rows);
  return rc;
}

int seq_enrollment_routes(void) {
  static const struct {
    td_route_spec_t spec;
    td_route_fn fn;
  } routes[] = {
      {{"POST", "/sequences/{id}/enrollments", TD_PLUGIN_ROUTE_WRITE, 0, "SequencesEnroll"}, enroll},
      {{"GET", "/sequences/{id}/enrollments", TD_PLUGIN_ROUTE_READ, 0, NULL}, list},
      {{"POST", "/sequences/{id}/enrollments/{candidate_id}/stop", TD_PLUGIN_ROUTE_WRITE, 0, NULL}, stop_one},
  };
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    int rc = sq_api->register_route(sq_self, &routes[i].spec, routes[i].fn, NULL);
    if (rc) return rc;
  }
  return 0;
}
