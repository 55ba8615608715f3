/* The plan, forecast and velocity route handlers (see reports.h). Parameters are checked
 * first (422 naming the parameter), then access (403/404), then the history is loaded and
 * the pure computations run; the answer is built from their plain structs. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include "reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "forecast.h"
#include "plan.h"
#include "query.h"
#include "reply.h"
#include "report_load.h"
#include "velocity.h"

#define RATE_WINDOW_MS (180 * HX_DAY_MS)
#define MODEL_WINDOW_MS (365 * HX_DAY_MS)
#define FC_MIN_DEPARTMENT_INTERVALS 50 /* the department's own history is used from this size */
#define SEED_MAX 9007199254740991ULL   /* 2^53 - 1: exact in every JSON reader */

static const td_host_api_t *api;

void an_reports_init(const td_host_api_t *host) { api = host; }

/* ---- small helpers ------------------------------------------------------------------- */

/* Decimal digits only, 1..max; returns 0 and *out, or -1. */
static int parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 16) return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v < min || v > max) return -1;
  *out = v;
  return 0;
}

/* A day or a time as text: "YYYY-MM-DD" (with_time 0) or RFC 3339 UTC. */
static json_t *format_time(int64_t ms, int with_time) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char buf[32];
  if (gmtime_r(&t, &tm) == NULL) return json_null();
  size_t n = with_time ? strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm)
                       : strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return n ? json_string(buf) : json_null();
}
static json_t *day_json(int64_t day) { return format_time(day * HX_DAY_MS, 0); }
static json_t *time_json(int64_t ms) { return format_time(ms, 1); }
static json_t *real_or_null(int defined, double v) { return defined ? json_real(v) : json_null(); }

static json_t *by_type_counts(const size_t v[HX_TYPES]) {
  json_t *o = json_object();
  for (int t = 0; t < HX_TYPES; t++)
    json_object_set_new(o, an_stage_type_name((an_stage_type_t)t), json_integer((json_int_t)v[t]));
  return o;
}

static json_t *rates_json(const hx_rates_t *r) {
  json_t *o = json_object();
  for (int t = 0; t < HX_TYPES; t++)
    json_object_set_new(o, an_stage_type_name((an_stage_type_t)t), real_or_null(r->defined[t], r->p[t]));
  json_object_set_new(o, "window_days", json_integer((json_int_t)(r->window_ms / HX_DAY_MS)));
  json_object_set_new(o, "median_applied_to_hire_seconds",
                      r->median_defined ? json_real((double)r->median_to_hire_ms / 1000.0) : json_null());
  return o;
}

static int load_failed(td_request_t *req, int rc) {
  an_answer_failure(api, req, rc ? rc : TD_EIO); /* 503 for a history over the cap */
  return rc ? rc : TD_EIO;
}

/* ---- plan ---------------------------------------------------------------------------- */

typedef struct plan_job {
  int64_t rowid;
  json_t *head; /* job_id, title, department */
  json_t *targets;
  size_t left;
  int has_deadline;
  int64_t deadline_day;
  size_t active[HX_TYPES];
} plan_job_t;

typedef struct plan_jobs {
  plan_job_t *v;
  size_t n, cap;
} plan_jobs_t;

static int on_opening(const json_t *row, void *data) {
  plan_jobs_t *js = data;
  int64_t rowid = json_integer_value(json_object_get(row, "rowid"));
  if (js->n == 0 || js->v[js->n - 1].rowid != rowid) {
    if (js->n == js->cap) {
      size_t cap = js->cap ? js->cap * 2 : 16;
      plan_job_t *p = realloc(js->v, cap * sizeof *p);
      if (p == NULL) return TD_ENOMEM;
      js->v = p, js->cap = cap;
    }
    js->v[js->n++] = (plan_job_t){
        rowid,
        json_pack("{s:O?,s:O?,s:O?}", "job_id", json_object_get(row, "id"), "title",
                  json_object_get(row, "title"), "department", json_object_get(row, "department")),
        json_array(),
        0,
        0,
        0,
        {0}};
  }
  plan_job_t *j = &js->v[js->n - 1];
  const char *status = json_string_value(json_object_get(row, "status"));
  const char *date = json_string_value(json_object_get(row, "target_date"));
  int64_t day;
  if (status == NULL || strcmp(status, "open") != 0 || hx_parse_date(date, &day) != 0) return 0;
  j->left++;
  json_array_append_new(j->targets, json_string(date));
  if (!j->has_deadline || day < j->deadline_day) j->has_deadline = 1, j->deadline_day = day;
  return 0;
}

static void plan_jobs_free(plan_jobs_t *js) {
  for (size_t i = 0; i < js->n; i++) json_decref(js->v[i].head), json_decref(js->v[i].targets);
  free(js->v);
}

static int load_openings(td_tx_t *tx, const an_access_t *acc, int64_t first, int64_t last, const char *dept,
                         plan_jobs_t *js) {
  char pred[512], sql[1200];
  int rc = an_access_sql(acc, 4, pred, sizeof pred);
  if (rc) return rc;
  snprintf(
      sql, sizeof sql,
      "SELECT j.rowid AS rowid, j.id AS id, j.title AS title, j.department AS department,"
      " o.target_date AS target_date, o.status AS status FROM openings o JOIN jobs j ON j.rowid = o.job_rowid"
      " WHERE o.status IN ('open', 'filled') AND o.target_date >= ?1 AND o.target_date <= ?2"
      " AND (?3 IS NULL OR j.department = ?3) AND %s ORDER BY j.rowid, o.target_date, o.rowid",
      pred);
  json_t *from = day_json(first), *to = day_json(last);
  json_t *p = json_pack("[o,o,s?,s]", from, to, dept, an_access_user(acc));
  rc = api->query_each(tx, sql, p, on_opening, js);
  json_decref(p);
  return rc;
}

/* Counts each active application at its job (jobs are in rowid order). */
static void count_active(plan_jobs_t *js, const rl_data_t *d) {
  for (size_t i = 0; i < d->app_count; i++) {
    an_stage_type_t type;
    int64_t entered;
    if (hx_current(&d->apps[i], &type, &entered) != 0) continue;
    size_t lo = 0, hi = js->n;
    int64_t job = (int64_t)d->apps[i].job;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (js->v[mid].rowid < job)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo < js->n && js->v[lo].rowid == job) js->v[lo].active[type]++;
  }
}

/* Sums over the jobs, for the totals row. */
typedef struct plan_sum {
  size_t left, active[HX_TYPES];
  double expected, required;
  int required_defined;
} plan_sum_t;

static json_t *plan_job_json(plan_job_t *j, const hx_rates_t *rates, int64_t now, plan_sum_t *sum) {
  double expected = plan_expected_hires(j->active, rates), required = 0.0;
  int req_ok = plan_required_weekly(j->left, expected, rates, j->has_deadline,
                                    plan_deadline_ms(j->deadline_day), now, &required);
  json_t *o = json_deep_copy(j->head);
  json_object_set_new(o, "openings_left", json_integer((json_int_t)j->left));
  json_object_set(o, "target_dates", j->targets);
  json_object_set_new(o, "deadline", j->has_deadline ? day_json(j->deadline_day) : json_null());
  json_object_set_new(o, "active_by_stage_type", by_type_counts(j->active));
  json_object_set_new(o, "expected_hires", json_real(expected));
  json_object_set_new(o, "coverage", real_or_null(j->left > 0, j->left ? expected / (double)j->left : 0));
  json_object_set_new(o, "required_weekly_applicants", real_or_null(req_ok, required));
  sum->left += j->left, sum->expected += expected, sum->required += required;
  sum->required_defined &= req_ok;
  for (int t = 0; t < HX_TYPES; t++) sum->active[t] += j->active[t];
  return o;
}

static json_t *plan_json(const char *quarter, int64_t first, int64_t last, plan_jobs_t *js,
                         const hx_rates_t *r, int64_t now) {
  plan_sum_t sum = {.required_defined = 1};
  json_t *jobs = json_array();
  for (size_t i = 0; i < js->n; i++) json_array_append_new(jobs, plan_job_json(&js->v[i], r, now, &sum));
  json_t *totals = json_object();
  json_object_set_new(totals, "jobs", json_integer((json_int_t)js->n));
  json_object_set_new(totals, "openings_left", json_integer((json_int_t)sum.left));
  json_object_set_new(totals, "active_by_stage_type", by_type_counts(sum.active));
  json_object_set_new(totals, "expected_hires", json_real(sum.expected));
  json_object_set_new(totals, "coverage",
                      real_or_null(sum.left > 0, sum.left ? sum.expected / (double)sum.left : 0));
  json_object_set_new(totals, "required_weekly_applicants", real_or_null(sum.required_defined, sum.required));
  return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "quarter", quarter, "from", day_json(first), "to",
                   day_json(last), "jobs", jobs, "totals", totals, "hire_rates", rates_json(r));
}

int an_plan_build(td_tx_t *tx, const an_access_t *acc, const char *quarter, const char *dept, int64_t now,
                  json_t **out) {
  int64_t first, last;
  if (plan_parse_quarter(quarter, &first, &last) != 0) return TD_EINVAL;
  an_access_t hist = an_access_history(acc);
  rl_scope_t scope = {.access = &hist, .department = dept, .since_ms = now - RATE_WINDOW_MS};
  rl_data_t d;
  int rc = rl_load(api, tx, &scope, &d);
  if (rc) return rc;
  hx_rates_t rates;
  plan_jobs_t js = {0};
  rc = hx_hire_rates(d.apps, d.app_count, now, RATE_WINDOW_MS, &rates);
  if (rc == 0) rc = load_openings(tx, acc, first, last, dept, &js);
  if (rc == 0) {
    count_active(&js, &d);
    *out = plan_json(quarter, first, last, &js, &rates, now);
  }
  plan_jobs_free(&js);
  rl_free(&d);
  return rc;
}

int an_get_plan(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  an_access_t acc;
  if (an_access_begin(api, req, &acc) != 0) return TD_EDENIED;
  const char *quarter = api->request_query(req, "quarter"), *dept = api->request_query(req, "department");
  int64_t first, last;
  if (plan_parse_quarter(quarter, &first, &last) != 0)
    return api->fail_field(req, "/query/quarter", "must be a quarter like 2027Q1 (year from 1970, Q1 to Q4)");
  json_t *plan = NULL;
  int rc = an_plan_build(tx, &acc, quarter, dept, api->now_ms(), &plan);
  return rc ? load_failed(req, rc) : an_reply(api, req, AN_REPORT_PLAN, plan);
}

/* ---- forecast ------------------------------------------------------------------------ */

typedef struct fc_job {
  int64_t rowid;
  char department[256];
  int has_department;
  size_t left;
  int has_target;
  int64_t target_day;
} fc_job_t;

static int on_fc_job(const json_t *row, void *data) {
  fc_job_t *j = data;
  j->rowid = json_integer_value(json_object_get(row, "rowid"));
  const char *dept = json_string_value(json_object_get(row, "department"));
  j->has_department = dept != NULL;
  snprintf(j->department, sizeof j->department, "%s", dept ? dept : "");
  j->left = (size_t)json_integer_value(json_object_get(row, "openings_left"));
  j->has_target = hx_parse_date(json_string_value(json_object_get(row, "target_date")), &j->target_day) == 0;
  return 0;
}

static int load_fc_job(td_tx_t *tx, const char *job_id, fc_job_t *j) {
  json_t *p = json_pack("[s]", job_id);
  int rc =
      api->query_each(tx,
                      "SELECT j.rowid AS rowid, j.department AS department,"
                      " (SELECT COUNT(*) FROM openings o WHERE o.job_rowid = j.rowid AND o.status = 'open')"
                      " AS openings_left, (SELECT MIN(o.target_date) FROM openings o WHERE"
                      " o.job_rowid = j.rowid AND o.status = 'open' AND o.target_date IS NOT NULL)"
                      " AS target_date FROM jobs j WHERE j.id = ?1",
                      p, on_fc_job, j);
  json_decref(p);
  return rc;
}

static int model_has_hire(const fc_model_t *m) {
  for (int t = 0; t < HX_TYPES; t++)
    for (size_t i = 0; i < m->types[t].n; i++)
      if (m->types[t].outcome[i] == AN_STAGE_HIRED) return 1;
  return 0;
}

/* The history the model learns from: the job's department when it has enough (at least
 * FC_MIN_DEPARTMENT_INTERVALS intervals in the window, one of them a hire), else every job
 * the caller may see. *sub gets the chosen applications (borrowed from d). */
/* Whether d (one department's history, every application marked) makes a model by itself. */
static int department_suffices(const rl_data_t *d, int64_t now) {
  fc_model_t m;
  if (fc_model_build(d->apps, d->app_count, now - MODEL_WINDOW_MS, now, &m) != 0) return 0;
  int ok = m.intervals >= FC_MIN_DEPARTMENT_INTERVALS && model_has_hire(&m);
  fc_model_free(&m);
  return ok;
}

static int choose_history(const rl_data_t *d, const fc_job_t *job, int64_t now, fc_model_t *m, hx_app_t **sub,
                          size_t *sub_n, int *by_department) {
  *by_department = 0;
  *sub = malloc((d->app_count ? d->app_count : 1) * sizeof **sub);
  if (*sub == NULL) return TD_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < d->app_count; i++)
    if (d->mark[i]) (*sub)[k++] = d->apps[i];
  if (job->has_department) {
    int rc = fc_model_build(*sub, k, now - MODEL_WINDOW_MS, now, m);
    if (rc) return rc;
    if (m->intervals >= FC_MIN_DEPARTMENT_INTERVALS && model_has_hire(m)) {
      *sub_n = k, *by_department = 1;
      return 0;
    }
    fc_model_free(m);
  }
  memcpy(*sub, d->apps, d->app_count * sizeof **sub);
  *sub_n = d->app_count;
  return fc_model_build(*sub, *sub_n, now - MODEL_WINDOW_MS, now, m);
}

/* The job's active applications as simulation inputs, with the per-type counts. */
static fc_active_t *job_actives(const rl_data_t *d, int64_t job, int64_t now, size_t *n,
                                size_t counts[HX_TYPES]) {
  fc_active_t *v = malloc((d->app_count ? d->app_count : 1) * sizeof *v);
  *n = 0;
  memset(counts, 0, HX_TYPES * sizeof *counts);
  for (size_t i = 0; v && i < d->app_count; i++) {
    an_stage_type_t type;
    int64_t entered;
    if ((int64_t)d->apps[i].job != job || hx_current(&d->apps[i], &type, &entered) != 0) continue;
    v[(*n)++] = (fc_active_t){type, now > entered ? now - entered : 0};
    counts[type]++;
  }
  return v;
}

typedef struct fc_params {
  const char *job_id;
  uint64_t simulations, seed;
} fc_params_t;

static int fc_read_params(td_request_t *req, fc_params_t *p) {
  const char *sims = api->request_query(req, "simulations"), *seed = api->request_query(req, "seed");
  p->job_id = api->request_query(req, "job_id");
  p->simulations = 10000, p->seed = 1;
  if (p->job_id == NULL || p->job_id[0] == '\0') return api->fail_field(req, "/query/job_id", "is required");
  if (sims && parse_count(sims, 1, FC_MAX_SIMULATIONS, &p->simulations) != 0)
    return api->fail_field(req, "/query/simulations", "must be an integer from 1 to 100000");
  if (seed && parse_count(seed, 0, SEED_MAX, &p->seed) != 0)
    return api->fail_field(req, "/query/seed", "must be an integer from 0 to 9007199254740991");
  return 0;
}

static json_t *forecast_json(const fc_params_t *p, const fc_job_t *job, const fc_result_t *r, int64_t now,
                             int req_ok, double required, int by_department, size_t active) {
  json_t *fill = json_object();
  static const char *const names[3] = {"p10", "p50", "p90"};
  for (int i = 0; i < 3; i++)
    json_object_set_new(fill, names[i], r->fill_defined[i] ? time_json(now + r->fill_ms[i]) : json_null());
  return json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:I,s:I,s:s,s:I}", "job_id", p->job_id, "openings_left",
                   (json_int_t)job->left, "target_date",
                   job->has_target ? day_json(job->target_day) : json_null(), "p_filled_by_target",
                   real_or_null(r->p_defined, r->p_filled), "fill_date", fill, "required_weekly_applicants",
                   real_or_null(req_ok, required), "simulations", (json_int_t)p->simulations, "seed",
                   (json_int_t)p->seed, "history", by_department ? "department" : "all", "active",
                   (json_int_t)active);
}

/* Runs the model and the simulation for a loaded job and answers. */
static int forecast_run(td_request_t *req, const fc_params_t *p, const fc_job_t *job, const rl_data_t *d,
                        int64_t now) {
  fc_model_t m;
  hx_app_t *sub = NULL;
  size_t sub_n = 0, n = 0, counts[HX_TYPES];
  int by_dept, rc = choose_history(d, job, now, &m, &sub, &sub_n, &by_dept);
  if (rc) {
    free(sub);
    return load_failed(req, rc);
  }
  hx_rates_t rates;
  fc_result_t res;
  fc_active_t *act = job_actives(d, job->rowid, now, &n, counts);
  rc = act ? hx_hire_rates(sub, sub_n, now, RATE_WINDOW_MS, &rates) : TD_ENOMEM;
  int64_t deadline = plan_deadline_ms(job->target_day);
  if (rc == 0)
    rc = fc_simulate(&m, act, n, job->left, (unsigned)p->simulations, p->seed, job->has_target,
                     deadline - now, &res);
  if (rc == 0) {
    double required = 0.0;
    int ok = plan_required_weekly(job->left, plan_expected_hires(counts, &rates), &rates, job->has_target,
                                  deadline, now, &required);
    rc = an_reply(api, req, AN_REPORT_FORECAST, forecast_json(p, job, &res, now, ok, required, by_dept, n));
  } else {
    load_failed(req, rc);
  }
  free(act), free(sub);
  fc_model_free(&m);
  return rc;
}

int an_get_forecast(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  an_access_t acc;
  fc_params_t p;
  if (an_access_begin(api, req, &acc) != 0) return TD_EDENIED;
  if (fc_read_params(req, &p) != 0) return TD_EINVAL;
  if (an_access_job(api, tx, req, &acc, p.job_id) != 0) return TD_ENOTFOUND;
  fc_job_t job = {0};
  int rc = load_fc_job(tx, p.job_id, &job);
  if (rc) return load_failed(req, rc);
  int64_t now = api->now_ms();
  an_access_t hist = an_access_history(&acc);
  const char *dept = job.has_department ? job.department : NULL;
  /* The department's history alone first: when it is enough (choose_history's rule), the
   * other departments' applications need not be read at all. */
  rl_scope_t scope = {.access = &hist, .since_ms = now - MODEL_WINDOW_MS, .department = dept, .mark_department = dept};
  rl_data_t d;
  rc = dept ? rl_load(api, tx, &scope, &d) : TD_ENOTFOUND;
  if (rc == 0 && !department_suffices(&d, now)) {
    rl_free(&d);
    rc = TD_ENOTFOUND;
  }
  if (rc == TD_ENOTFOUND) {
    scope.department = NULL;
    rc = rl_load(api, tx, &scope, &d);
  }
  if (rc) return load_failed(req, rc);
  rc = forecast_run(req, &p, &job, &d, now);
  rl_free(&d);
  return rc;
}

/* ---- velocity ------------------------------------------------------------------------ */

static json_t *velocity_json(const velocity_week_t *w, unsigned weeks) {
  json_t *arr = json_array();
  for (unsigned i = 0; i < weeks; i++) {
    json_t *med = json_object();
    for (int t = 0; t < HX_TYPES; t++)
      json_object_set_new(
          med, an_stage_type_name((an_stage_type_t)t),
          w[i].median_defined[t] ? json_real((double)w[i].median_ms[t] / 1000.0) : json_null());
    json_array_append_new(arr, json_pack("{s:o,s:o,s:o,s:o}", "week_start", time_json(w[i].start_ms),
                                         "entries", by_type_counts(w[i].entries), "intervals",
                                         by_type_counts(w[i].closed), "median_seconds", med));
  }
  return json_pack("{s:o}", "weeks", arr);
}

int an_get_velocity(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  an_access_t acc;
  if (an_access_begin(api, req, &acc) != 0) return TD_EDENIED;
  const char *ws = api->request_query(req, "weeks");
  uint64_t weeks = 12;
  if (ws && parse_count(ws, 1, VELOCITY_MAX_WEEKS, &weeks) != 0)
    return api->fail_field(req, "/query/weeks", "must be an integer from 1 to 104");
  rl_scope_t scope = {.access = &acc,
                      .job_id = api->request_query(req, "job_id"),
                      .department = api->request_query(req, "department"),
                      .source = api->request_query(req, "source"),
                      .recruiter_id = api->request_query(req, "recruiter_id")};
  if (scope.job_id && an_access_job(api, tx, req, &acc, scope.job_id) != 0) return TD_ENOTFOUND;
  int64_t now = api->now_ms();
  scope.since_ms = velocity_week_start(now) - (int64_t)(weeks - 1) * PLAN_WEEK_MS;
  rl_data_t d;
  int rc = rl_load(api, tx, &scope, &d);
  if (rc) return load_failed(req, rc);
  velocity_week_t *w = malloc(weeks * sizeof *w);
  rc = w ? velocity_compute(d.apps, d.app_count, now, (unsigned)weeks, w) : TD_ENOMEM;
  if (rc == 0)
    rc = an_reply(api, req, AN_REPORT_VELOCITY, velocity_json(w, (unsigned)weeks));
  else
    load_failed(req, rc);
  free(w);
  rl_free(&d);
  return rc;
}
