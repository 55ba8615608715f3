/* The weekly plan digest (see digest.h): for every active hiring manager, the current
 * quarter's plan over their jobs, as a short plain-text email queued through the mail service
 * another plugin offers (talentd/mail.h). Without that service, or with it unconfigured, the
 * digest is skipped and says why; it never fails the scheduled run for that. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include "digest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talentd/mail.h>
#include <time.h>

#include "cache.h"
#include "reports.h"

#define HANDLER "digest"
#define DEFAULT_CRON "0 7 * * 1" /* Mondays 07:00 */
#define MAX_MANAGERS 5000
#define BODY_MAX 16384

static const td_host_api_t *api;
static td_plugin_t *me;

/* "2026Q4" for the quarter holding now_ms. */
static void current_quarter(int64_t now_ms, char out[16]) {
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out, 16, "%04dQ%d", (tm.tm_year + 1900) % 10000, (tm.tm_mon / 3 + 1) % 10);
}

static void append(char *buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t *len, const char *fmt, ...) {
  if (*len >= BODY_MAX - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *len, BODY_MAX - *len, fmt, ap);
  va_end(ap);
  if (n > 0) *len = *len + (size_t)n < BODY_MAX - 1 ? *len + (size_t)n : BODY_MAX - 1;
}

static void percent_or_dash(char *out, size_t size, const json_t *v) {
  if (json_is_number(v))
    snprintf(out, size, "%.0f%%", json_number_value(v) * 100.0);
  else
    snprintf(out, size, "-");
}

/* The text of one manager's digest from their plan report; 0 when they have no job due. */
static size_t render(const json_t *plan, const char *quarter, char *buf) {
  size_t len = 0;
  const json_t *jobs = json_object_get(plan, "jobs");
  if (json_array_size(jobs) == 0) return 0;
  append(buf, &len, "Hiring plan for %s: the openings due this quarter on your jobs.\n\n", quarter);
  size_t i;
  const json_t *j;
  json_array_foreach(jobs, i, j) {
    char coverage[16];
    percent_or_dash(coverage, sizeof coverage, json_object_get(j, "coverage"));
    const json_t *weekly = json_object_get(j, "required_weekly_applicants");
    append(buf, &len, "%s\n  openings left: %lld, expected hires from the pipeline: %.1f, coverage: %s\n",
           json_string_value(json_object_get(j, "title")) ? json_string_value(json_object_get(j, "title")) : "?",
           (long long)json_integer_value(json_object_get(j, "openings_left")),
           json_number_value(json_object_get(j, "expected_hires")), coverage);
    if (json_is_number(weekly))
      append(buf, &len, "  new applicants needed per week to fill the rest on time: %.1f\n", json_number_value(weekly));
    append(buf, &len, "\n");
  }
  const json_t *totals = json_object_get(plan, "totals");
  char coverage[16];
  percent_or_dash(coverage, sizeof coverage, json_object_get(totals, "coverage"));
  append(buf, &len, "All together: %lld openings left, coverage %s.\n",
         (long long)json_integer_value(json_object_get(totals, "openings_left")), coverage);
  append(buf, &len, "Coverage is the hires the current pipeline should bring (from the last 180 days' pass-through\n"
                    "rates) divided by the openings left. Details: GET /api/v1/analytics/plan?quarter=%s\n",
         quarter);
  return len;
}

typedef struct manager {
  char id[TD_PLUGIN_ID_MAX];
  char email[256];
  char name[128];
} manager_t;

typedef struct sending {
  td_tx_t *tx;
  const td_mail_api_t *mail;
  int64_t now;
  int sent, without_jobs, refused;
} sending_t;

/* Queues one manager's digest in tx (a row of the managers query: id, email, name). */
static int on_manager(const json_t *row, void *data) {
  sending_t *s = data;
  if (s->sent + s->without_jobs + s->refused >= MAX_MANAGERS) return 0;
  manager_t m;
  snprintf(m.id, sizeof m.id, "%s", json_string_value(json_object_get(row, "id")));
  snprintf(m.email, sizeof m.email, "%s", json_string_value(json_object_get(row, "email")));
  snprintf(m.name, sizeof m.name, "%s", json_string_value(json_object_get(row, "name")));
  char quarter[16];
  current_quarter(s->now, quarter);
  an_access_t acc = {AN_ACCESS_MANAGER, m.id};
  json_t *plan = NULL;
  int rc = an_plan_build(s->tx, &acc, quarter, NULL, s->now, &plan);
  char *body = rc == 0 ? malloc(BODY_MAX) : NULL;
  if (body == NULL) {
    json_decref(plan);
    return rc ? rc : TD_ENOMEM;
  }
  size_t len = render(plan, quarter, body);
  json_decref(plan);
  char subject[64], id[160], why[160];
  snprintf(subject, sizeof subject, "Hiring plan digest, %s", quarter);
  if (len == 0)
    s->without_jobs++;
  else if (s->mail->queue_to(s->tx, m.email, m.name, subject, body, NULL, id, sizeof id, why, sizeof why) == 0)
    s->sent++;
  else { /* a suppressed address or a veto: the others still get theirs */
    s->refused++;
    api->log(me, TD_LEVEL_WARN, "digest_refused", json_pack("{s:s,s:s}", "user", m.id, "reason", why));
  }
  free(body);
  return 0;
}

int an_digest_send(td_tx_t *tx, json_t **result) {
  const td_mail_api_t *mail = api->get_api(TD_MAIL_API_NAME, TD_MAIL_API_VERSION);
  const char *skipped = mail == NULL ? "no mail service: enable the sequences plugin"
                        : !mail->configured() ? "the sequences plugin has no SMTP configured"
                                              : NULL;
  if (skipped) {
    *result = json_pack("{s:i,s:s}", "sent", 0, "skipped", skipped);
    return 0;
  }
  sending_t s = {tx, mail, api->now_ms(), 0, 0, 0};
  int rc = api->query_each(tx,
                           "SELECT DISTINCT u.id AS id, u.email AS email, u.name AS name FROM users u"
                           " JOIN job_team t ON t.user_id = u.id WHERE t.role = 'hiring_manager' AND u.active = 1"
                           " ORDER BY u.rowid",
                           NULL, on_manager, &s);
  if (rc == 0)
    *result = json_pack("{s:i,s:i,s:i,s:n}", "sent", s.sent, "without_jobs_due", s.without_jobs, "refused",
                        s.refused, "skipped");
  return rc;
}

/* ---- when it runs: weekly on a cron schedule, or now on an admin's request ---------------- */

static int post_digest(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  json_t *result = NULL;
  int rc = an_digest_send(tx, &result);
  if (rc) return api->fail(req, 500, "Internal error", "the digest could not be prepared");
  api->respond(req, 200, result);
  return 0;
}

static int run_tx(td_tx_t *tx, void *data) {
  json_t *result = NULL;
  int rc = an_digest_send(tx, &result);
  if (rc == 0) api->log(me, TD_LEVEL_INFO, "digest", result); /* counts only, no addresses */
  (void)data;
  return rc;
}

static void run_done(void *data, int rc) {
  api->run_finish(data, rc, rc ? "the digest could not be prepared" : NULL);
}

static void on_run(td_run_t *run, void *data) {
  (void)data;
  if (api->submit_write(me, run_tx, run_done, run) != 0) api->run_finish(run, TD_EBUSY, "writer busy");
}

typedef struct ensure {
  td_event_done_fn done;
  void *token;
} ensure_t;

static int has_schedule(const json_t *row, void *data) {
  (void)row;
  *(int *)data = 1;
  return 0;
}

/* Makes sure exactly one weekly series is pending (the schedule survives restarts; a changed
 * cron in the config replaces it). */
static int ensure_tx(td_tx_t *tx, void *data) {
  (void)data;
  const json_t *cfg = api->config(me);
  if (json_is_false(json_object_get(cfg, "digest"))) return 0;
  const char *cron = json_string_value(json_object_get(cfg, "digest_cron"));
  const char *zone = json_string_value(json_object_get(cfg, "digest_time_zone"));
  json_t *p = json_pack("[s]", cron ? cron : DEFAULT_CRON);
  int found = 0;
  int rc = api->query_each(tx,
                           "SELECT 1 FROM scheduled_runs WHERE handler = 'analytics.digest' AND status IN"
                           " ('pending', 'running') AND cron = ?1",
                           p, has_schedule, &found);
  json_decref(p);
  if (rc || found) return rc;
  return api->schedule(tx, HANDLER, 0, cron ? cron : DEFAULT_CRON, zone, NULL, NULL);
}

/* Loads the in-memory history right after a start, on a reader thread, so the first report
 * someone asks for does not pay for the full load (seconds on a million applications). */
static int warm_tx(td_tx_t *tx, void *data) {
  (void)data;
  an_cache_t *cache = NULL;
  int rc = an_cache_acquire(api, tx, &cache);
  an_cache_release(cache);
  return rc;
}

static void warm_done(void *data, int rc) {
  (void)data;
  if (rc) api->log(me, TD_LEVEL_WARN, "history_not_loaded", json_pack("{s:i}", "code", rc));
}

static void ensure_done(void *data, int rc) {
  ensure_t *e = data;
  api->submit_read(me, warm_tx, warm_done, NULL);
  e->done(e->token, rc, rc ? "could not schedule the digest" : NULL);
  free(e);
}

static void on_started(const json_t *envelope, td_event_done_fn done, void *token, void *data) {
  (void)envelope, (void)data;
  ensure_t *e = malloc(sizeof *e);
  if (e == NULL) {
    done(token, TD_ENOMEM, "out of memory");
    return;
  }
  *e = (ensure_t){done, token};
  if (api->submit_write(me, ensure_tx, ensure_done, e) != 0) {
    free(e);
    done(token, TD_EBUSY, "writer busy");
  }
}

int an_digest_init(td_plugin_t *self, const td_host_api_t *host) {
  api = host;
  me = self;
  td_route_spec_t route = {"POST", "/digest", TD_PLUGIN_ROUTE_WRITE, TD_PLUGIN_ROUTE_ADMIN, NULL};
  int rc = api->register_route(self, &route, post_digest, NULL);
  if (rc == 0) rc = api->register_run_handler(self, HANDLER, on_run, NULL);
  if (rc == 0) rc = api->subscribe(self, "server.started", 0, on_started, NULL);
  return rc;
}
