/* The "crm.segments" service (talentd/segments.h): a saved segment's current members (the same
 * query as GET /api/v1/segments/{id}/members) and a pool's members, for other plugins (the
 * sequences plugin enrols them), read with this plugin's rights inside the caller's
 * transaction. */
#include <stdlib.h>
#include <talentd/segments.h>

#include "crm.h"
#include "segment_sql.h"

typedef struct request {
  const char *id; /* the segment's or the pool's */
  size_t max;
  json_t *ids;
} request_t;

static int collect(const td_row_t *row, void *data) {
  request_t *r = data;
  if (json_array_size(r->ids) >= r->max) return TD_ELIMIT;
  json_array_append_new(r->ids, json_string(crm_api->row_text(row, 1))); /* columns: rowid, id, ... */
  return 0;
}

static int members_as_crm(td_tx_t *tx, void *data) {
  request_t *r = data;
  json_t *row = NULL, *params = json_pack("[s]", r->id);
  int rc = crm_query_one(tx, "SELECT definition FROM crm_segments WHERE id = ?1", params, &row);
  json_decref(params);
  if (rc) return rc;
  json_t *def = json_loads(json_string_value(json_object_get(row, "definition")), 0, NULL);
  json_decref(row);
  char *sql = NULL;
  crm_segment_error_t err;
  params = NULL;
  rc = def ? crm_segment_sql(def, 0, (int64_t)r->max + 1, &sql, &params, &err) : TD_EINVAL;
  json_decref(def);
  if (rc == 0) rc = crm_api->query_rows(tx, sql, params, collect, r);
  free(sql);
  json_decref(params);
  return rc;
}

static int has_pool(const td_row_t *row, void *data) {
  (void)row;
  *(int *)data = 1;
  return 0;
}

static int pool_members_as_crm(td_tx_t *tx, void *data) {
  request_t *r = data;
  json_t *params = json_pack("[s]", r->id);
  int found = 0;
  int rc = crm_api->query_rows(tx, "SELECT 1 FROM crm_pools WHERE id = ?1", params, has_pool, &found);
  if (rc == 0 && !found) rc = TD_ENOTFOUND;
  if (rc == 0)
    rc = crm_api->query_rows(tx,
                             "SELECT c.rowid, c.id FROM crm_pool_members m JOIN crm_pools p ON p.rowid = m.pool_rowid"
                             " JOIN candidates c ON c.rowid = m.candidate_rowid WHERE p.id = ?1 ORDER BY m.rowid",
                             params, collect, r);
  json_decref(params);
  return rc;
}

static int run(td_tx_t *tx, td_tx_fn fn, const char *id, size_t max, json_t **ids) {
  if (id == NULL || ids == NULL) return TD_EINVAL;
  request_t r = {id, max, json_array()};
  int rc = crm_api->tx_as(tx, crm_self, fn, &r);
  if (rc) {
    json_decref(r.ids);
    return rc;
  }
  *ids = r.ids;
  return 0;
}

static int members(td_tx_t *tx, const char *segment_id, size_t max, json_t **ids) {
  return run(tx, members_as_crm, segment_id, max, ids);
}

static int pool_members(td_tx_t *tx, const char *pool_id, size_t max, json_t **ids) {
  return run(tx, pool_members_as_crm, pool_id, max, ids);
}

static const td_segments_api_t service = {sizeof(td_segments_api_t), members, pool_members};

int crm_segments_service_init(void) {
  return crm_api->provide_api(crm_self, TD_SEGMENTS_API_NAME, TD_SEGMENTS_API_VERSION, &service);
}
