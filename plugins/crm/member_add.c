/* POST /api/v1/pools/{id}/members: adds candidates by id (at most 1,000 per call) or a saved
 * segment's current members (at most 10,000). Everything happens in the one write
 * transaction: an unknown id or a refused touch leaves no trace. Each new member gets a touch
 * (channel "pool", source the pool's name) and a system activity on their record. */
#include <stdio.h>
#include <stdlib.h>

#include "crm.h"
#include "segment_sql.h"

/* [{rowid, id}] for the given ids (a merged-away id resolves to the survivor), or a 422
 * naming /candidate_ids/N for the first unknown one. */
static int resolve_ids(td_request_t *req, td_tx_t *tx, const json_t *ids, json_t **targets) {
  char *text = json_dumps(ids, JSON_COMPACT);
  json_t *params = json_pack("[s]", text);
  free(text);
  int rc = crm_api->query(tx,
                          "SELECT j.key AS idx, c.rowid AS rowid, c.id AS id FROM json_each(?1) j"
                          " LEFT JOIN candidates c ON c.id = coalesce((SELECT a.candidate_id FROM"
                          " candidate_aliases a WHERE a.alias_id = j.value), j.value) ORDER BY j.key",
                          params, targets);
  json_decref(params);
  if (rc) return rc;
  size_t i;
  json_t *row;
  json_array_foreach(*targets, i, row) {
    if (json_is_integer(json_object_get(row, "rowid"))) continue;
    char pointer[40];
    snprintf(pointer, sizeof pointer, "/candidate_ids/%zu", i);
    json_decref(*targets);
    *targets = NULL;
    return crm_api->fail_field(req, pointer, "no candidate with that id exists; nothing was added");
  }
  return 0;
}

typedef struct collect {
  json_t *rows;
  size_t max;
} collect_t;

static int collect_row(const json_t *row, void *data) {
  collect_t *c = data;
  if (json_array_size(c->rows) >= c->max) return 1;
  json_array_append_new(c->rows, json_pack("{s:O,s:O}", "rowid", json_object_get(row, "rowid"), "id",
                                           json_object_get(row, "id")));
  return 0;
}

/* The segment's current members, computed here in the writer, at most CRM_SEGMENT_ADD_MAX. */
static int segment_targets(td_request_t *req, td_tx_t *tx, const char *segment_id, json_t **targets) {
  json_t *seg = NULL, *params = json_pack("[s]", segment_id);
  int rc = crm_query_one(tx, "SELECT definition FROM crm_segments WHERE id = ?1", params, &seg);
  json_decref(params);
  if (rc == TD_ENOTFOUND) return crm_api->fail_field(req, "/segment_id", "no segment with that id exists");
  if (rc) return rc;
  json_t *def = json_loads(json_string_value(json_object_get(seg, "definition")), 0, NULL);
  json_decref(seg);
  char *sql = NULL;
  crm_segment_error_t err;
  rc = def ? crm_segment_sql(def, 0, CRM_SEGMENT_ADD_MAX + 1, &sql, &params, &err) : TD_EINTERNAL;
  json_decref(def);
  if (rc) return rc;
  collect_t c = {json_array(), CRM_SEGMENT_ADD_MAX};
  rc = crm_api->query_each(tx, sql, params, collect_row, &c);
  free(sql);
  json_decref(params);
  if (rc == 1) {
    json_decref(c.rows);
    return crm_api->fail_field(req, "/segment_id",
                               "the segment has more than 10,000 members; narrow it or add candidates by id");
  }
  if (rc) return json_decref(c.rows), rc;
  *targets = c.rows;
  return 0;
}

/* The touch and the activity that a new membership leaves on the candidate's record. */
static int record(td_request_t *req, td_tx_t *tx, const json_t *pool, const char *candidate_id) {
  char why[256], body[300];
  const char *name = json_string_value(json_object_get(pool, "name"));
  json_t *touch = json_pack("{s:s,s:s,s:s,s:s,s:O}", "candidate_id", candidate_id, "channel", "pool",
                            "source", name, "ref_type", "pool", "ref_id", json_object_get(pool, "id"));
  int rc = crm_api->act(tx, "touch.record", touch, NULL, why, sizeof why);
  json_decref(touch);
  if (rc) return crm_fail_act(req, rc, why);
  snprintf(body, sizeof body, "Added to talent pool \"%s\"", name);
  json_t *activity =
      json_pack("{s:s,s:s,s:s,s:{s:s,s:O}}", "candidate_id", candidate_id, "kind", "system", "body", body,
                "data", "event", "crm.pool_member_added", "pool_id", json_object_get(pool, "id"));
  rc = crm_api->act(tx, "activity.add", activity, NULL, why, sizeof why);
  json_decref(activity);
  return rc ? crm_fail_act(req, rc, why) : 0;
}

/* Inserts each target (at the pool's first step, if any); sorts ids into added / already.
 * A candidate named twice (the same id again, or an alias and its survivor) counts once. */
static int add_all(td_request_t *req, td_tx_t *tx, const json_t *pool, const json_t *targets, json_t *added,
                   json_t *already) {
  json_int_t now = crm_api->now_ms();
  const char *user = crm_api->request_user_id(req);
  json_t *seen = json_object();
  size_t i;
  json_t *t;
  int rc = 0;
  json_array_foreach(targets, i, t) {
    const char *id = json_string_value(json_object_get(t, "id"));
    if (json_object_get(seen, id)) continue;
    json_object_set_new(seen, id, json_true());
    json_t *params =
        json_pack("[O,O,I,s?]", json_object_get(pool, "rowid"), json_object_get(t, "rowid"), now, user);
    int64_t changes = 0;
    rc = crm_api->exec(tx,
                       "INSERT OR IGNORE INTO crm_pool_members (pool_rowid, candidate_rowid, step, added_at,"
                       " added_by) VALUES (?1, ?2, (SELECT json_extract(steps, '$[0]') FROM crm_pools"
                       " WHERE rowid = ?1), ?3, ?4)",
                       params, &changes);
    json_decref(params);
    if (rc) break;
    json_array_append_new(changes ? added : already, json_string(id));
    if (changes && (rc = record(req, tx, pool, id)) != 0) break;
  }
  json_decref(seen);
  return rc;
}

int crm_add_members(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  json_t *pool = NULL, *targets = NULL;
  if (crm_guard(req) || crm_pool_find(req, tx, crm_api->request_param(req, 0), &pool)) return TD_EINVAL;
  const json_t *body = crm_api->request_body(req);
  const json_t *ids = json_object_get(body, "candidate_ids");
  int rc = ids ? resolve_ids(req, tx, ids, &targets)
               : segment_targets(req, tx, json_string_value(json_object_get(body, "segment_id")), &targets);
  json_t *added = json_array(), *already = json_array();
  if (rc == 0) rc = add_all(req, tx, pool, targets, added, already);
  json_decref(pool);
  json_decref(targets);
  if (rc) {
    json_decref(added);
    json_decref(already);
    return rc;
  }
  crm_api->respond(req, 200,
                   json_pack("{s:I,s:I,s:o,s:o}", "added_count", (json_int_t)json_array_size(added),
                             "already_member_count", (json_int_t)json_array_size(already), "added", added,
                             "already_members", already));
  return 0;
}
