/* The stage-type replay, hire rates and dates shared by the plan, forecast and velocity
 * reports (see history.h for the definitions). */
#include "history.h"

#include <stdlib.h>
#include <string.h>

int hx_each_interval(const hx_app_t *app, int (*fn)(const hx_interval_t *iv, void *data), void *data) {
  if (app->count == 0 || app->events[0].kind != AN_CREATED) return 0;
  hx_interval_t cur = {app->events[0].to_type, HX_OPEN, app->events[0].at_ms, app->events[0].at_ms};
  int open = 1, rc;
  for (size_t i = 1; i < app->count; i++) {
    const hx_event_t *e = &app->events[i];
    switch (e->kind) {
      case AN_MOVED:
      case AN_HIRED:
        if (!open) continue;
        cur.outcome = e->kind == AN_HIRED ? AN_STAGE_HIRED : (int)e->to_type;
        cur.left_ms = e->at_ms;
        if ((rc = fn(&cur, data)) != 0) return rc;
        cur = (hx_interval_t){e->to_type, HX_OPEN, e->at_ms, e->at_ms};
        break;
      case AN_REJECTED:
      case AN_WITHDRAWN:
        if (!open) continue;
        cur.outcome = HX_OUT, cur.left_ms = e->at_ms, open = 0;
        if ((rc = fn(&cur, data)) != 0) return rc;
        break;
      case AN_UNREJECTED:
        if (open) continue;
        cur = (hx_interval_t){e->to_type, HX_OPEN, e->at_ms, e->at_ms}, open = 1;
        break;
      default: continue; /* a second created: skipped */
    }
  }
  return open ? fn(&cur, data) : 0;
}

/* Per-application facts for the hire rates, gathered in one replay. */
typedef struct entered {
  int type[HX_TYPES];
  int64_t first_applicant_ms; /* first entry into applied or later; -1 before any */
} entered_t;

static int note_entry(const hx_interval_t *iv, void *data) {
  entered_t *e = data;
  e->type[iv->type] = 1;
  if (iv->type >= AN_STAGE_APPLIED && e->first_applicant_ms < 0) e->first_applicant_ms = iv->entered_ms;
  if (iv->outcome == AN_STAGE_HIRED) { /* the hired stage is entered, its interval not replayed as one */
    e->type[AN_STAGE_HIRED] = 1;
    if (e->first_applicant_ms < 0) e->first_applicant_ms = iv->left_ms;
  }
  return 0;
}

/* The time of the last hired/rejected/withdrawn transition, or -1 when there is none. */
static int64_t resolved_at(const hx_app_t *app) {
  for (size_t i = app->count; i-- > 0;) {
    an_transition_kind_t k = app->events[i].kind;
    if (k == AN_HIRED || k == AN_REJECTED || k == AN_WITHDRAWN) return app->events[i].at_ms;
  }
  return -1;
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

int hx_hire_rates(const hx_app_t *apps, size_t n, int64_t now_ms, int64_t window_ms, hx_rates_t *out) {
  memset(out, 0, sizeof *out);
  out->window_ms = window_ms;
  int64_t *to_hire = malloc((n ? n : 1) * sizeof *to_hire);
  if (to_hire == NULL) return AN_ENOMEM;
  size_t hires = 0;
  for (size_t i = 0; i < n; i++) {
    const hx_app_t *a = &apps[i];
    if (a->status == AN_ACTIVE) continue;
    int64_t at = resolved_at(a);
    if (at < 0 || at < now_ms - window_ms || at > now_ms) continue;
    entered_t e = {{0}, -1};
    hx_each_interval(a, note_entry, &e);
    int hired = a->status == AN_STATUS_HIRED;
    for (int t = 0; t < HX_TYPES; t++)
      if (e.type[t]) out->resolved[t]++, out->hired[t] += (size_t)hired;
    if (hired && e.first_applicant_ms >= 0) to_hire[hires++] = at - e.first_applicant_ms;
  }
  for (int t = 0; t < HX_TYPES; t++) {
    out->defined[t] = out->resolved[t] > 0;
    out->p[t] = out->defined[t] ? (double)out->hired[t] / (double)out->resolved[t] : 0.0;
  }
  if (hires > 0) {
    qsort(to_hire, hires, sizeof *to_hire, cmp_i64);
    out->median_defined = 1;
    out->median_to_hire_ms = an_percentile(to_hire, hires, 50);
  }
  free(to_hire);
  return 0;
}

static int keep_last(const hx_interval_t *iv, void *data) {
  *(hx_interval_t *)data = *iv;
  return 0;
}

int hx_current(const hx_app_t *app, an_stage_type_t *type, int64_t *entered_ms) {
  hx_interval_t last = {AN_STAGE_LEAD, 0, 0, 0};
  hx_each_interval(app, keep_last, &last);
  if (app->status != AN_ACTIVE || last.outcome != HX_OPEN) return AN_EINVAL;
  *type = last.type, *entered_ms = last.entered_ms;
  return 0;
}

/* Howard Hinnant's days_from_civil. */
int64_t hx_days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, unsigned *out) {
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return AN_EINVAL;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return 0;
}

int hx_parse_date(const char *s, int64_t *days) {
  unsigned y, m, d;
  if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return AN_EINVAL;
  if (digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d)) return AN_EINVAL;
  static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return AN_EINVAL;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m == 2 && d == 29 && !leap) return AN_EINVAL;
  *days = hx_days_from_civil((int)y, m, d);
  return 0;
}
