/* analytics: recruiting analytics from the stage-transition log (issue 4; see README.md).
 * This first slice serves conversion, time in stage and drop-off, per stage of one job or per
 * stage type across jobs, with the definitions of metrics.h. Reports are computed on a reader
 * thread (TD_PLUGIN_ROUTE_READ), never on the loop. */
#define _DEFAULT_SOURCE /* timegm */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <talentd/plugin.h>
#include <time.h>

#include "load.h"
#include "metrics.h"

static const td_host_api_t *api;
static td_plugin_t *me;

/* "2026-01-31" or "2026-01-31T12:00:00Z" -> epoch ms. */
static int parse_time(const char *s, int64_t *out) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  int n = 0;
  if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3) return -1;
  if (s[n] == 'T' && sscanf(s + n, "T%2d:%2d:%2dZ", &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 3) return -1;
  if (s[n] != '\0' && s[n] != 'T') return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *out = (int64_t)timegm(&tm) * 1000;
  return 0;
}

/* Reads the query parameters every table takes; answers 400 naming a bad one. */
static int read_query(td_request_t *req, an_query_t *q) {
  memset(q, 0, sizeof *q);
  q->job_id = api->request_query(req, "job_id");
  q->department = api->request_query(req, "department");
  q->source = api->request_query(req, "source");
  q->recruiter_id = api->request_query(req, "recruiter_id");
  const char *from = api->request_query(req, "from"), *to = api->request_query(req, "to");
  if (from && (q->has_from = 1, parse_time(from, &q->from_ms) != 0))
    return api->fail(req, 400, "Bad query parameter", "from must be a date (YYYY-MM-DD) or a UTC time");
  if (to && (q->has_to = 1, parse_time(to, &q->to_ms) != 0))
    return api->fail(req, 400, "Bad query parameter", "to must be a date (YYYY-MM-DD) or a UTC time");
  return 0;
}

typedef json_t *(*row_fn)(const an_data_t *d, const an_stage_metrics_t *m, size_t i);

static json_t *stage_head(const an_data_t *d, size_t i) {
  return json_pack("{s:s?,s:s,s:s,s:i}", "stage_id", d->stage_ids[i][0] ? d->stage_ids[i] : NULL, "name",
                   d->stage_names[i], "type", an_stage_type_name(d->stages[i].type), "position",
                   d->stages[i].position);
}

static json_t *conversion_row(const an_data_t *d, const an_stage_metrics_t *m, size_t i) {
  json_t *r = stage_head(d, i);
  json_object_set_new(r, "reached", json_integer((json_int_t)m->reached));
  json_object_set_new(r, "conversion", m->conversion_defined ? json_real(m->conversion) : json_null());
  return r;
}

static json_t *seconds(int defined, int64_t ms) {
  return defined ? json_real((double)ms / 1000.0) : json_null();
}

static json_t *time_row(const an_data_t *d, const an_stage_metrics_t *m, size_t i) {
  json_t *r = stage_head(d, i);
  json_object_set_new(r, "count", json_integer((json_int_t)m->count));
  json_object_set_new(r, "median_seconds", seconds(m->stats_defined, m->median_ms));
  json_object_set_new(r, "p75_seconds", seconds(m->stats_defined, m->p75_ms));
  json_object_set_new(r, "p90_seconds", seconds(m->stats_defined, m->p90_ms));
  json_object_set_new(r, "open", json_integer((json_int_t)m->open));
  return r;
}

static json_t *dropoff_row(const an_data_t *d, const an_stage_metrics_t *m, size_t i) {
  json_t *r = stage_head(d, i), *reasons = json_array();
  for (size_t k = 0; k < m->reason_count; k++) {
    const an_reason_count_t *c = &m->reasons[k];
    json_array_append_new(
        reasons, json_pack("{s:s?,s:I,s:I,s:I}", "reason", c->reason, "rejected", (json_int_t)c->rejected,
                           "withdrawn", (json_int_t)c->withdrawn, "total", (json_int_t)c->total));
  }
  json_object_set_new(r, "rejected", json_integer((json_int_t)m->rejected));
  json_object_set_new(r, "withdrawn", json_integer((json_int_t)m->withdrawn));
  json_object_set_new(r, "reasons", reasons);
  return r;
}

/* Loads, computes and answers one table; only admins and recruiters see analytics. */
static int table(td_request_t *req, td_tx_t *tx, row_fn row) {
  const char *role = api->request_role(req);
  if (role == NULL || (strcmp(role, "admin") != 0 && strcmp(role, "recruiter") != 0))
    return api->fail(req, 403, "Forbidden", "analytics are for admins and recruiters");
  an_query_t q;
  if (read_query(req, &q) != 0) return TD_EINVAL;
  an_data_t d;
  int rc = an_load(api, tx, &q, &d);
  if (rc == 0 && d.job_missing) {
    an_data_free(&d);
    return api->fail(req, 404, "Not found", "no such job");
  }
  an_report_t report;
  memset(&report, 0, sizeof report);
  an_pipeline_t pipeline = {d.stages, d.stage_count};
  if (rc == 0) rc = an_compute(&pipeline, d.apps, d.app_count, NULL, &report);
  if (rc == 0) {
    json_t *stages = json_array();
    for (size_t i = 0; i < report.stage_count; i++)
      json_array_append_new(stages, row(&d, &report.stages[i], i));
    api->respond(req, 200,
                 json_pack("{s:o,s:I}", "stages", stages, "applications", (json_int_t)report.applications));
  } else if (rc == AN_EINVAL) {
    api->log(me, TD_LEVEL_ERROR, "analytics_bad_log",
             json_pack("{s:I}", "application", (json_int_t)report.bad_application));
  }
  an_report_free(&report);
  an_data_free(&d);
  return rc;
}

static int get_conversion(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  return table(req, tx, conversion_row);
}
static int get_time_in_stage(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  return table(req, tx, time_row);
}
static int get_drop_off(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  return table(req, tx, dropoff_row);
}

static int init(td_plugin_t *self, const td_host_api_t *host) {
  if (!TD_HOST_HAS(host, query_each)) return TD_EINVAL;
  api = host;
  me = self;
  static const struct {
    td_route_spec_t spec;
    td_route_fn fn;
  } routes[] = {
      {{"GET", "/conversion", TD_PLUGIN_ROUTE_READ, 0, NULL}, get_conversion},
      {{"GET", "/time-in-stage", TD_PLUGIN_ROUTE_READ, 0, NULL}, get_time_in_stage},
      {{"GET", "/drop-off", TD_PLUGIN_ROUTE_READ, 0, NULL}, get_drop_off},
  };
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    int rc = api->register_route(self, &routes[i].spec, routes[i].fn, NULL);
    if (rc) return rc;
  }
  return 0;
}

static const td_plugin_descriptor_t descriptor = {
    TD_PLUGIN_ABI_MAJOR, sizeof(td_plugin_descriptor_t), "analytics", "0.1.0", init, NULL};

TD_PLUGIN_EXPORT const td_plugin_descriptor_t *talentd_plugin_entry(void);
const td_plugin_descriptor_t *talentd_plugin_entry(void) { return &descriptor; }
