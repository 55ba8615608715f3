/* /api/v1/sequences: create, list, read, edit, delete, pause and resume sequences. Editing
 * the steps keeps each unchanged step's id (sequence_steps.c) and moves every active
 * enrollment to the step it was at, found by id, so nothing already done runs again. Like the
 * core's objects, a sequence carries an ETag (its version): PATCH, DELETE, pause and resume
 * honour If-Match (412 when stale). */
#include <stdio.h>
#include <string.h>

#include "sequence_steps.h"

#define COLUMNS                                                                                              \
  "s.rowid AS rowid, s.id AS id, s.name AS name, s.steps AS steps, s.paused AS paused, "                     \
  "s.created_by AS created_by, s.created_at AS created_at, s.updated_at AS updated_at, "                     \
  "s.version AS version, "                                                                                   \
  "(SELECT count(*) FROM sequences_enrollments e WHERE e.sequence_rowid = s.rowid AND e.status = 'active') " \
  "AS active, "                                                                                              \
  "(SELECT count(*) FROM sequences_enrollments e WHERE e.sequence_rowid = s.rowid AND e.status = "           \
  "'completed') "                                                                                            \
  "AS completed, "                                                                                           \
  "(SELECT count(*) FROM sequences_enrollments e WHERE e.sequence_rowid = s.rowid AND e.status = "           \
  "'stopped') "                                                                                              \
  "AS stopped"

int seq_load(td_tx_t *tx, const char *id, json_t **row) {
  json_t *rows = NULL, *params = json_pack("[s]", id ? id : "");
  int rc = sq_api->query(tx, "SELECT " COLUMNS " FROM sequences_sequences s WHERE s.id = ?1", params, &rows);
  json_decref(params);
  if (rc) return rc;
  *row = json_incref(json_array_get(rows, 0));
  json_decref(rows);
  return *row ? 0 : TD_ENOTFOUND;
}

static json_t *sequence_json(const json_t *row) {
  json_t *steps = json_loads(json_string_value(json_object_get(row, "steps")), 0, NULL);
  bool paused = json_integer_value(json_object_get(row, "paused")) != 0;
  return json_pack("{s:O,s:O,s:o,s:s,s:b,s:{s:O,s:O,s:O},s:O,s:o,s:o,s:O}", "id", json_object_get(row, "id"),
                   "name", json_object_get(row, "name"), "steps", steps ? steps : json_array(), "status",
                   paused ? "paused" : "active", "paused", paused, "enrollments", "active",
                   json_object_get(row, "active"), "completed", json_object_get(row, "completed"), "stopped",
                   json_object_get(row, "stopped"), "created_by", json_object_get(row, "created_by"),
                   "created_at", sq_time_json(json_object_get(row, "created_at")), "updated_at",
                   sq_time_json(json_object_get(row, "updated_at")), "version",
                   json_object_get(row, "version"));
}

static int not_found(td_request_t *req) { return sq_api->fail(req, 404, "Not found", "no such sequence"); }

/* Answers with the sequence id as it is now in tx, its ETag, and on creation its Location. */
static int answer(td_request_t *req, td_tx_t *tx, const char *id, int status) {
  json_t *row = NULL;
  int rc = seq_load(tx, id, &row);
  if (rc) return rc;
  rc = sq_object_headers(req, "/api/v1/sequences", id, json_integer_value(json_object_get(row, "version")),
                         status);
  if (rc) {
    json_decref(row);
    return rc;
  }
  sq_api->respond(req, status, sequence_json(row));
  json_decref(row);
  return 0;
}

static int check_name(td_request_t *req, const json_t *name) {
  if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 200)
    return sq_api->fail_field(req, "/name", "must be a non-empty string of at most 200 bytes");
  return 0;
}

static int create(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (seq_require_recruiter(req)) return TD_EDENIED;
  const json_t *body = sq_api->request_body(req);
  json_t *steps = NULL;
  int rc = check_name(req, json_object_get(body, "name"));
  if (rc == 0) rc = seq_steps_normalize(req, json_object_get(body, "steps"), NULL, &steps);
  if (rc) return rc;
  char id[TD_PLUGIN_ID_MAX];
  sq_api->new_id("seq", id);
  char *text = json_dumps(steps, JSON_COMPACT);
  json_decref(steps);
  json_int_t now = sq_api->now_ms();
  json_t *params = json_pack("[s,s,s,s?,I]", id, json_string_value(json_object_get(body, "name")), text,
                             sq_api->request_user_id(req), now);
  free(text);
  rc = sq_api->exec(tx,
                    "INSERT INTO sequences_sequences (id, name, steps, created_by, created_at, updated_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params, NULL);
  json_decref(params);
  return rc ? rc : answer(req, tx, id, 201);
}

static int list(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (seq_require_recruiter(req)) return TD_EDENIED;
  json_t *rows = NULL;
  int rc = sq_api->query(tx, "SELECT " COLUMNS " FROM sequences_sequences s ORDER BY s.rowid LIMIT 1000",
                         NULL, &rows);
  if (rc) return rc;
  json_t *items = json_array();
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) json_array_append_new(items, sequence_json(row));
  json_decref(rows);
  sq_api->respond(req, 200, json_pack("{s:o,s:n}", "data", items, "next_cursor"));
  return 0;
}

static int get_one(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (seq_require_recruiter(req)) return TD_EDENIED;
  int rc = answer(req, tx, sq_api->request_param(req, 0), 200);
  return rc == TD_ENOTFOUND ? not_found(req) : rc;
}

/* Moves the active enrollments of sequence_rowid onto the new steps: to the index of the
 * step they were at (by id) when it is still there, else to the same index (clamped). */
static int remap_enrollments(td_tx_t *tx, json_int_t sequence_rowid, const json_t *steps) {
  json_t *index = json_object(), *ids = json_array();
  size_t i;
  json_t *step;
  json_array_foreach(steps, i, step) {
    json_object_set_new(index, json_string_value(json_object_get(step, "id")), json_integer((json_int_t)i));
    json_array_append(ids, json_object_get(step, "id"));
  }
  char *index_text = json_dumps(index, JSON_COMPACT), *ids_text = json_dumps(ids, JSON_COMPACT);
  json_decref(index);
  json_decref(ids);
  json_t *params = json_pack("[I,s,I,I]", sequence_rowid, index_text, (json_int_t)json_array_size(steps),
                             (json_int_t)sq_api->now_ms());
  free(index_text);
  int rc = sq_api->exec(tx,
                        "UPDATE sequences_enrollments SET current_step = coalesce(json_extract(?2, '$.\"' || "
                        "current_step_id || '\"'), min(current_step, ?3)), updated_at = ?4 "
                        "WHERE sequence_rowid = ?1 AND status = 'active'",
                        params, NULL);
  json_decref(params);
  params = json_pack("[I,s]", sequence_rowid, ids_text);
  if (rc == 0)
    rc = sq_api->exec(
        tx,
        "UPDATE sequences_enrollments SET current_step_id = json_extract(?2, '$[' || current_step || "
        "']') WHERE sequence_rowid = ?1 AND status = 'active'",
        params, NULL);
  json_decref(params);
  free(ids_text);
  return rc;
}

/* Loads the sequence for a change (404 when absent) and checks If-Match against its version
 * (412), in the write transaction, so nothing changes between the check and the write. Gives
 * the row (a new reference) when row is not NULL. Returns 0 to go on. */
static int load_current(td_request_t *req, td_tx_t *tx, const char *id, json_t **row) {
  json_t *r = NULL;
  int rc = seq_load(tx, id, &r);
  if (rc == TD_ENOTFOUND) return not_found(req);
  if (rc) return rc;
  rc = sq_if_match(req, json_integer_value(json_object_get(r, "version")));
  if (rc == 0 && row)
    *row = r;
  else
    json_decref(r);
  return rc;
}

/* PATCH {name?, steps?}; If-Match, when given, must name the current ETag (412). */
static int update(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (seq_require_recruiter(req)) return TD_EDENIED;
  const char *id = sq_api->request_param(req, 0);
  const json_t *body = sq_api->request_body(req);
  json_t *row = NULL;
  int rc = load_current(req, tx, id, &row);
  if (rc) return rc;
  json_int_t rowid = json_integer_value(json_object_get(row, "rowid"));
  json_t *old = json_loads(json_string_value(json_object_get(row, "steps")), 0, NULL), *steps = NULL;
  json_decref(row);
  const json_t *name = json_object_get(body, "name");
  if (name) rc = check_name(req, name);
  if (rc == 0 && json_object_get(body, "steps"))
    rc = seq_steps_normalize(req, json_object_get(body, "steps"), old, &steps);
  json_decref(old);
  if (rc) return rc;
  char *text = steps ? json_dumps(steps, JSON_COMPACT) : NULL;
  json_t *params = json_pack("[s,s?,s?,I]", id, json_string_value(name), text, (json_int_t)sq_api->now_ms());
  free(text);
  rc = sq_api->exec(tx,
                    "UPDATE sequences_sequences SET name = coalesce(?2, name), steps = coalesce(?3, steps), "
                    "updated_at = ?4, version = version + 1 WHERE id = ?1",
                    params, NULL);
  json_decref(params);
  if (rc == 0 && steps) rc = remap_enrollments(tx, rowid, steps);
  if (rc == 0 && steps) rc = seq_runner_ensure(tx, sq_api->now_ms());
  json_decref(steps);
  return rc ? rc : answer(req, tx, id, 200);
}

static int delete_one(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  if (seq_require_recruiter(req)) return TD_EDENIED;
  const char *id = sq_api->request_param(req, 0);
  int rc = load_current(req, tx, id, NULL);
  if (rc) return rc;
  json_t *params = json_pack("[s]", id);
  rc = sq_api->exec(tx, "DELETE FROM sequences_sequences WHERE id = ?1", params, NULL);
  json_decref(params);
  if (rc) return rc;
  sq_api->respond(req, 204, NULL);
  return 0;
}

/* Pause: no step of any enrollment runs. Resume: each continues where it was (a wait that
 * ended while paused runs its next step at once). */
static int set_paused(td_request_t *req, td_tx_t *tx, int paused) {
  if (seq_require_recruiter(req)) return TD_EDENIED;
  const char *id = sq_api->request_param(req, 0);
  int rc = load_current(req, tx, id, NULL);
  if (rc) return rc;
  json_t *params = json_pack("[s,i,I]", id, paused, (json_int_t)sq_api->now_ms());
  rc = sq_api->exec(tx,
                    "UPDATE sequences_sequences SET paused = ?2, updated_at = ?3, version = version + "
                    "(paused <> ?2) WHERE id = ?1",
                    params, NULL);
  json_decref(params);
  if (rc) return rc;
  if (!paused && (rc = seq_runner_ensure(tx, sq_api->now_ms())) != 0) return rc;
  return answer(req, tx, id, 200);
}

static int pause(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  return set_paused(req, tx, 1);
}

static int resume(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  return set_paused(req, tx, 0);
}

int seq_register_routes(void) {
  static const struct {
    td_route_spec_t spec;
    td_route_fn fn;
  } routes[] = {
      {{"POST", "/sequences", TD_PLUGIN_ROUTE_WRITE, 0, "SequencesSequenceCreate"}, create},
      {{"GET", "/sequences", TD_PLUGIN_ROUTE_READ, 0, NULL}, list},
      {{"GET", "/sequences/{id}", TD_PLUGIN_ROUTE_READ, 0, NULL}, get_one},
      {{"PATCH", "/sequences/{id}", TD_PLUGIN_ROUTE_WRITE, 0, "SequencesSequenceUpdate"}, update},
      {{"DELETE", "/sequences/{id}", TD_PLUGIN_ROUTE_WRITE, 0, NULL}, delete_one},
      {{"POST", "/sequences/{id}/pause", TD_PLUGIN_ROUTE_WRITE, 0, NULL}, pause},
      {{"POST", "/sequences/{id}/resume", TD_PLUGIN_ROUTE_WRITE, 0, NULL}, resume},
  };
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    int rc = sq_api->register_route(sq_self, &routes[i].spec, routes[i].fn, NULL);
    if (rc) return rc;
  }
  return 0;
}

int sq_sequences_init(void) {
  int rc = seq_register_routes();
  if (rc == 0) rc = seq_enrollment_routes();
  if (rc == 0) rc = seq_runner_init();
  if (rc == 0) rc = seq_enrollment_events();
  return rc;
}
