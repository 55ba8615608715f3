/* The sources report (see sources.h). The application side (applications, reached, hires
 * per applications.source) replays the transition logs an_load gives with an_compute, one
 * source at a time; the credit side loads each hired application's candidate's touches and
 * hands them to at_attribute. Both use the same cohort: the applications of the jobs in
 * scope (job_id, department) applied in [from, to). */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "sources.h"

#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "attribution.h"
#include "history.h"
#include "load.h"
#include "metrics.h"
#include "query.h"

#define UNKNOWN_SOURCE "unknown" /* an application without a source, as its touch names it */
#define REACHED_TYPES 4          /* screen, interview, offer, hired */

static const td_host_api_t *api;

void an_sources_init(const td_host_api_t *host) { api = host; }

/* The cohort filter of the hires and channel queries, over applications `a` and jobs `j`: the
 * same cohort as load.c's (job, department, applied in [from, to), source, recruiter, the
 * jobs the caller may see), bound as ?1..?7 by cohort_params. */
static int cohort_sql(const an_query_t *q, char *buf, size_t size) {
  char visible[320] = "1";
  if (q->access && an_access_sql(q->access, 7, visible, sizeof visible) != 0) return TD_ELIMIT;
  int n = snprintf(buf, size,
                   "(?1 IS NULL OR j.id = ?1) AND (?2 IS NULL OR j.department = ?2) AND (?3 IS NULL OR"
                   " a.applied_at >= ?3) AND (?4 IS NULL OR a.applied_at < ?4) AND (?5 IS NULL OR a.source = ?5)"
                   " AND (?6 IS NULL OR a.credited_to = ?6) AND (?7 IS NULL OR %s)",
                   visible);
  return n < 0 || (size_t)n >= size ? TD_ELIMIT : 0;
}

static json_t *cohort_params(const an_query_t *q) {
  json_t *p = json_pack("[s?,s?]", q->job_id, q->department);
  json_array_append_new(p, q->has_from ? json_integer(q->from_ms) : json_null());
  json_array_append_new(p, q->has_to ? json_integer(q->to_ms) : json_null());
  json_array_append_new(p, q->source ? json_string(q->source) : json_null());
  json_array_append_new(p, q->recruiter_id ? json_string(q->recruiter_id) : json_null());
  json_array_append_new(p, q->access ? json_string(an_access_user(q->access)) : json_null());
  return p;
}

/* ---- one row per source label ------------------------------------------------------------ */

typedef struct src_row {
  const char *source; /* borrowed from the loaded data */
  size_t applications, hires, reached[REACHED_TYPES];
  const at_credit_t *credit; /* NULL: no credit */
} src_row_t;

typedef struct src_rows {
  src_row_t *v;
  size_t n, cap;
} src_rows_t;

static src_row_t *row_add(src_rows_t *rs, const char *source) {
  if (rs->n == rs->cap) {
    size_t cap = rs->cap ? rs->cap * 2 : 32;
    src_row_t *p = realloc(rs->v, cap * sizeof *p);
    if (p == NULL) return NULL;
    rs->v = p, rs->cap = cap;
  }
  src_row_t *r = &rs->v[rs->n++];
  memset(r, 0, sizeof *r);
  r->source = source;
  return r;
}

static const char *app_source(const an_application_t *a) { return a->source ? a->source : UNKNOWN_SOURCE; }

static int cmp_app_source(const void *x, const void *y) {
  return strcmp(app_source(x), app_source(y));
}

/* For each stage type from screen on, the index of the first stage of that type in the
 * loaded pipeline (its reached is the type's), or -1 when the pipeline has none. */
static void type_stages(const an_data_t *d, long first[REACHED_TYPES]) {
  for (int t = 0; t < REACHED_TYPES; t++) {
    first[t] = -1;
    for (size_t i = 0; i < d->stage_count && first[t] < 0; i++)
      if ((int)d->stages[i].type == AN_STAGE_SCREEN + t) first[t] = (long)i;
  }
}

/* The application side: apps grouped by source, each group replayed by an_compute. */
static int app_rows(const an_data_t *d, src_rows_t *rs) {
  an_application_t *apps = malloc((d->app_count ? d->app_count : 1) * sizeof *apps);
  if (apps == NULL) return TD_ENOMEM;
  memcpy(apps, d->apps, d->app_count * sizeof *apps);
  qsort(apps, d->app_count, sizeof *apps, cmp_app_source);
  long first[REACHED_TYPES];
  type_stages(d, first);
  an_pipeline_t pipeline = an_data_pipeline(d);
  int rc = 0;
  for (size_t i = 0, j; rc == 0 && i < d->app_count; i = j) {
    for (j = i + 1; j < d->app_count && strcmp(app_source(&apps[j]), app_source(&apps[i])) == 0;) j++;
    src_row_t *r = row_add(rs, app_source(&apps[i]));
    an_report_t rep;
    rc = r ? an_compute(&pipeline, apps + i, j - i, NULL, &rep) : TD_ENOMEM;
    if (rc) break;
    r->applications = rep.applications;
    for (int t = 0; t < REACHED_TYPES; t++) r->reached[t] = first[t] >= 0 ? rep.stages[first[t]].reached : 0;
    for (size_t k = i; k < j; k++) r->hires += apps[k].status == AN_STATUS_HIRED;
    an_report_free(&rep);
  }
  free(apps);
  return rc;
}

/* ---- the credit side: hires and their candidates' touches -------------------------------- */

typedef struct credit_data {
  at_hire_t *hires;
  size_t hire_count, hire_cap;
  at_touch_t *touches;
  size_t touch_count, touch_cap;
  size_t *first; /* per hire, index of its first touch */
  char **strings;
  size_t string_count, string_cap;
  int64_t cur_app;
} credit_data_t;

static int grow(void **v, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap * 2 : 64;
  while (c < need) c *= 2;
  void *p = realloc(*v, c * size);
  if (p == NULL) return TD_ENOMEM;
  *v = p, *cap = c;
  return 0;
}

/* A copy of s kept until credit_free; NULL stays NULL. */
static const char *keep(credit_data_t *c, const char *s) {
  if (s == NULL || grow((void **)&c->strings, &c->string_cap, c->string_count + 1, sizeof *c->strings)) return NULL;
  return c->strings[c->string_count++] = strdup(s);
}

static int on_hire_touch(const json_t *row, void *data) {
  credit_data_t *c = data;
  int64_t app = json_integer_value(json_object_get(row, "app"));
  if (c->hire_count == 0 || app != c->cur_app) {
    size_t cap = c->hire_cap;
    if (grow((void **)&c->hires, &c->hire_cap, c->hire_count + 1, sizeof *c->hires) ||
        grow((void **)&c->first, &cap, c->hire_count + 1, sizeof *c->first))
      return TD_ENOMEM;
    c->first[c->hire_count] = c->touch_count;
    const char *src = json_string_value(json_object_get(row, "app_source"));
    c->hires[c->hire_count++] =
        (at_hire_t){json_integer_value(json_object_get(row, "hired_at")), src ? keep(c, src) : NULL, NULL, 0};
    c->cur_app = app;
  }
  const char *source = json_string_value(json_object_get(row, "source"));
  if (source == NULL) return 0; /* the LEFT JOIN's row of a candidate without touches */
  if (grow((void **)&c->touches, &c->touch_cap, c->touch_count + 1, sizeof *c->touches)) return TD_ENOMEM;
  const char *kept = keep(c, source);
  if (kept == NULL) return TD_ENOMEM;
  c->touches[c->touch_count++] = (at_touch_t){kept, json_integer_value(json_object_get(row, "at")),
                                              json_integer_value(json_object_get(row, "seq"))};
  c->hires[c->hire_count - 1].count++;
  return 0;
}

static int load_credit(td_tx_t *tx, const an_query_t *q, credit_data_t *c) {
  char cohort[768], sql[1400];
  int rc = cohort_sql(q, cohort, sizeof cohort);
  if (rc) return rc;
  snprintf(sql, sizeof sql,
           "SELECT a.rowid AS app, a.source AS app_source, h.at AS hired_at, tc.source AS source,"
           " tc.at AS at, tc.rowid AS seq FROM applications a JOIN jobs j ON j.rowid = a.job_rowid"
           " JOIN stage_transitions h ON h.application_rowid = a.rowid AND h.kind = 'hired'"
           " LEFT JOIN touches tc ON tc.candidate_rowid = a.candidate_rowid WHERE %s ORDER BY a.rowid, tc.rowid",
           cohort);
  json_t *p = cohort_params(q);
  rc = api->query_each(tx, sql, p, on_hire_touch, c);
  json_decref(p);
  for (size_t i = 0; rc == 0 && i < c->hire_count; i++) c->hires[i].touches = c->touches + c->first[i];
  return rc;
}

static void credit_free(credit_data_t *c) {
  for (size_t i = 0; i < c->string_count; i++) free(c->strings[i]);
  free(c->strings), free(c->hires), free(c->touches), free(c->first);
  memset(c, 0, sizeof *c);
}

/* ---- channels ----------------------------------------------------------------------------- */

typedef struct channels {
  at_channel_count_t *v;
  size_t n, cap;
  credit_data_t *strings; /* where the labels are kept */
} channels_t;

static int on_channel(const json_t *row, void *data) {
  channels_t *ch = data;
  if (grow((void **)&ch->v, &ch->cap, ch->n + 1, sizeof *ch->v)) return TD_ENOMEM;
  const char *s = keep(ch->strings, json_string_value(json_object_get(row, "source")));
  const char *c = keep(ch->strings, json_string_value(json_object_get(row, "channel")));
  if (s == NULL || c == NULL) return TD_ENOMEM;
  ch->v[ch->n++] = (at_channel_count_t){s, c, json_integer_value(json_object_get(row, "n"))};
  return 0;
}

/* How often each label was recorded with each channel, over every touch of the candidates
 * with an application in the cohort. */
static int load_channels(td_tx_t *tx, const an_query_t *q, channels_t *ch) {
  char cohort[768], sql[1400];
  int rc = cohort_sql(q, cohort, sizeof cohort);
  if (rc) return rc;
  snprintf(sql, sizeof sql,
           "SELECT tc.source AS source, tc.channel AS channel, count(*) AS n FROM touches tc"
           " WHERE tc.candidate_rowid IN (SELECT a.candidate_rowid FROM applications a"
           " JOIN jobs j ON j.rowid = a.job_rowid WHERE %s) GROUP BY tc.source, tc.channel",
           cohort);
  json_t *p = cohort_params(q);
  rc = api->query_each(tx, sql, p, on_channel, ch);
  json_decref(p);
  if (rc == 0) at_channels_sort(ch->v, ch->n);
  return rc;
}

/* ---- the answer --------------------------------------------------------------------------- */

static int cmp_row_source(const void *x, const void *y) {
  return strcmp(((const src_row_t *)x)->source, ((const src_row_t *)y)->source);
}

/* Adds a row for each credited source without applications, links credits, sorts by label. */
static int merge_credit(src_rows_t *rs, const at_result_t *credit) {
  size_t app_rows_n = rs->n; /* sorted by source already (app_rows groups in strcmp order) */
  for (size_t i = 0; i < credit->count; i++) {
    const at_credit_t *c = &credit->rows[i];
    src_row_t key = {.source = c->source};
    src_row_t *r = app_rows_n ? bsearch(&key, rs->v, app_rows_n, sizeof *rs->v, cmp_row_source) : NULL;
    if (r == NULL && (r = row_add(rs, c->source)) == NULL) return TD_ENOMEM;
    r->credit = c;
  }
  if (rs->n > 1) qsort(rs->v, rs->n, sizeof *rs->v, cmp_row_source);
  return 0;
}

static json_t *row_json(const src_row_t *r, const channels_t *ch) {
  static const char *const names[REACHED_TYPES] = {"screen", "interview", "offer", "hired"};
  json_t *reached = json_object();
  for (int t = 0; t < REACHED_TYPES; t++) json_object_set_new(reached, names[t], json_integer((json_int_t)r->reached[t]));
  const at_credit_t *c = r->credit;
  json_t *credit = json_pack("{s:f,s:f,s:f}", "first_touch", c ? c->first_touch : 0.0, "last_touch",
                             c ? c->last_touch : 0.0, "linear", c ? c->linear : 0.0);
  return json_pack("{s:s,s:s?,s:I,s:o,s:I,s:o,s:o}", "source", r->source, "channel",
                   at_channel_of(ch->v, ch->n, r->source), "applications", (json_int_t)r->applications, "reached",
                   reached, "hires", (json_int_t)r->hires, "conversion_to_hire",
                   r->applications ? json_real((double)r->hires / (double)r->applications) : json_null(), "credit",
                   credit);
}

static json_t *answer(const src_rows_t *rs, const channels_t *ch, const at_result_t *credit, size_t applications) {
  json_t *arr = json_array();
  for (size_t i = 0; i < rs->n; i++) json_array_append_new(arr, row_json(&rs->v[i], ch));
  return json_pack("{s:o,s:I,s:I,s:I}", "sources", arr, "applications", (json_int_t)applications, "hires",
                   (json_int_t)credit->hires, "untouched_hires", (json_int_t)credit->untouched);
}

/* Loads both sides and answers; d is loaded. */
static int compute(td_request_t *req, td_tx_t *tx, const an_query_t *q, const an_data_t *d) {
  src_rows_t rs = {0};
  credit_data_t cd = {0};
  channels_t ch = {.strings = &cd};
  at_result_t credit = {0};
  int rc = app_rows(d, &rs);
  if (rc == 0) rc = load_credit(tx, q, &cd);
  if (rc == 0) rc = at_attribute(cd.hires, cd.hire_count, &credit);
  if (rc == 0) rc = load_channels(tx, q, &ch);
  if (rc == 0) rc = merge_credit(&rs, &credit);
  if (rc == 0)
    rc = an_reply(api, req, AN_REPORT_SOURCES, answer(&rs, &ch, &credit, d->app_count));
  else
    api->fail(req, 500, "Internal error", "the sources report could not be computed");
  at_result_free(&credit);
  free(ch.v);
  credit_free(&cd);
  free(rs.v);
  return rc;
}

int an_get_sources(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  an_access_t acc;
  an_query_t q;
  int rc = an_query_begin(api, req, tx, &acc, &q);
  if (rc) return rc;
  an_data_t d;
  rc = an_load(api, tx, &q, &d);
  if (rc == 0 && d.job_missing) rc = TD_ENOTFOUND;
  if (rc == 0)
    rc = compute(req, tx, &q, &d);
  else
    an_answer_failure(api, req, rc);
  an_data_free(&d);
  return rc;
}
