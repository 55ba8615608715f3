/* The analytics access rule (see access.h), written once for every report. */
#include "access.h"

#include <stdio.h>
#include <string.h>

int an_access_begin(const td_host_api_t *api, td_request_t *req, an_access_t *out) {
  const char *role = api->request_role(req), *user = api->request_user_id(req);
  if (role == NULL || user == NULL) {
    api->fail(req, 401, "Unauthorized", "sign in to see analytics");
    return TD_EDENIED;
  }
  if (strcmp(role, "admin") == 0)
    out->role = AN_ACCESS_ADMIN;
  else if (strcmp(role, "recruiter") == 0)
    out->role = AN_ACCESS_RECRUITER;
  else if (strcmp(role, "hiring_manager") == 0)
    out->role = AN_ACCESS_MANAGER;
  else {
    api->fail(req, 403, "Forbidden", "analytics are for admins, recruiters and hiring managers");
    return TD_EDENIED;
  }
  out->user_id = user;
  return 0;
}

an_access_t an_access_history(const an_access_t *a) {
  an_access_t h = *a;
  if (h.role == AN_ACCESS_MANAGER) h.role = AN_ACCESS_RECRUITER;
  return h;
}

int an_access_sees_all(const an_access_t *a) { return a->role == AN_ACCESS_ADMIN; }

const char *an_access_user(const an_access_t *a) { return a->user_id ? a->user_id : ""; }

int an_access_sql(const an_access_t *a, int param, char *buf, size_t size) {
  int n;
  switch (a->role) {
    case AN_ACCESS_ADMIN: n = snprintf(buf, size, "(?%d IS NOT NULL)", param); break;
    case AN_ACCESS_RECRUITER:
      n = snprintf(buf, size,
                   "(j.confidential = 0 OR EXISTS (SELECT 1 FROM job_team t WHERE t.job_rowid = j.rowid"
                   " AND t.user_id = ?%d))",
                   param);
      break;
    default:
      n = snprintf(buf, size,
                   "EXISTS (SELECT 1 FROM job_team t WHERE t.job_rowid = j.rowid AND t.user_id = ?%d"
                   " AND t.role = 'hiring_manager')",
                   param);
  }
  return n < 0 || (size_t)n >= size ? TD_ELIMIT : 0;
}

static int found(const json_t *row, void *data) {
  (void)row;
  *(int *)data = 1;
  return 0;
}

int an_access_job(const td_host_api_t *api, td_tx_t *tx, td_request_t *req, const an_access_t *a,
                  const char *job_id) {
  char pred[512], sql[700];
  if (an_access_sql(a, 2, pred, sizeof pred) != 0) return TD_ELIMIT;
  snprintf(sql, sizeof sql, "SELECT 1 AS one FROM jobs j WHERE j.id = ?1 AND %s", pred);
  json_t *p = json_pack("[s,s]", job_id, an_access_user(a));
  int seen = 0, rc = api->query_each(tx, sql, p, found, &seen);
  json_decref(p);
  if (rc != 0) {
    api->fail(req, 500, "Internal error", "the job could not be checked");
    return TD_EIO;
  }
  if (!seen) {
    api->fail(req, 404, "Not found", "no such job");
    return TD_ENOTFOUND;
  }
  return 0;
}
