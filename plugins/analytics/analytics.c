/* analytics: recruiting analytics from the stage-transition log (issue 4; see README.md).
 * This file serves the three stage tables (conversion, time in stage, drop-off; per stage of
 * one job or per stage type across jobs, with the definitions of metrics.h) and registers
 * every route; the other reports live in reports.c and sources.c. Reports are computed on a
 * reader thread (TD_PLUGIN_ROUTE_READ) from the in-memory history (cache.h), never on the
 * loop, and answered in the format asked for (reply.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <talentd/plugin.h>

#include "access.h"
#include "digest.h"
#include "load.h"
#include "metrics.h"
#include "query.h"
#include "reply.h"
#include "reports.h"
#include "sources.h"

static const td_host_api_t *api;
static td_plugin_t *me;

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

/* Loads, computes and answers one table, for the callers access.h lets see it. */
static int table(td_request_t *req, td_tx_t *tx, an_report_kind_t kind, row_fn row) {
  an_access_t acc;
  an_query_t q;
  int rc = an_query_begin(api, req, tx, &acc, &q);
  if (rc) return rc;
  an_data_t d;
  rc = an_load(api, tx, &q, &d);
  if (rc == 0 && d.job_missing) rc = TD_ENOTFOUND;
  an_report_t report;
  memset(&report, 0, sizeof report);
  an_pipeline_t pipeline = an_data_pipeline(&d);
  if (rc == 0) rc = an_compute(&pipeline, d.apps, d.app_count, NULL, &report);
  if (rc == 0) {
    json_t *stages = json_array();
    for (size_t i = 0; i < report.stage_count; i++)
      json_array_append_new(stages, row(&d, &report.stages[i], i));
    rc = an_reply(api, req, kind,
                  json_pack("{s:o,s:I}", "stages", stages, "applications", (json_int_t)report.applications));
  } else {
    if (rc == AN_EINVAL)
      api->log(me, TD_LEVEL_ERROR, "analytics_bad_log",
               json_pack("{s:I}", "application", (json_int_t)report.bad_application));
    an_answer_failure(api, req, rc);
  }
  an_report_free(&report);
  an_data_free(&d);
  return rc;
}

static int get_conversion(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  return table(req, tx, AN_REPORT_CONVERSION, conversion_row);
}
static int get_time_in_stage(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  return table(req, tx, AN_REPORT_TIME_IN_STAGE, time_row);
}
static int get_drop_off(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  return table(req, tx, AN_REPORT_DROP_OFF, dropoff_row);
}

static int init(td_plugin_t *self, const td_host_api_t *host) {
  if (!TD_HOST_HAS(host, row_is_null)) return TD_EINVAL; /* needs respond_bytes and query_rows */
  api = host;
  me = self;
  json_int_t max = json_integer_value(json_object_get(api->config(self), "max_transitions"));
  an_cache_configure(max > 0 ? (size_t)max : 0);
  an_reports_init(host);
  an_sources_init(host);
  int digest = an_digest_init(self, host);
  if (digest) return digest;
  static const struct {
    td_route_spec_t spec;
    td_route_fn fn;
  } routes[] = {
      {{"GET", "/conversion", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_BACKGROUND, NULL}, get_conversion},
      {{"GET", "/time-in-stage", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_BACKGROUND, NULL}, get_time_in_stage},
      {{"GET", "/drop-off", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_BACKGROUND, NULL}, get_drop_off},
      {{"GET", "/plan", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_BACKGROUND, NULL}, an_get_plan},
      {{"GET", "/forecast", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_BACKGROUND, NULL}, an_get_forecast},
      {{"GET", "/velocity", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_BACKGROUND, NULL}, an_get_velocity},
      {{"GET", "/sources", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_BACKGROUND, NULL}, an_get_sources},
  };
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    int rc = api->register_route(self, &routes[i].spec, routes[i].fn, NULL);
    if (rc) return rc;
  }
  return 0;
}

/* The history cache holds memory proportional to the whole log: give it back. */
static void shutdown_plugin(td_plugin_t *self) {
  (void)self;
  an_cache_reset();
}

static const td_plugin_descriptor_t descriptor = {
    TD_PLUGIN_ABI_MAJOR, sizeof(td_plugin_descriptor_t), "analytics", "0.2.0", init, shutdown_plugin};

TD_PLUGIN_EXPORT const td_plugin_descriptor_t *talentd_plugin_entry(void);
const td_plugin_descriptor_t *talentd_plugin_entry(void) { return &descriptor; }
