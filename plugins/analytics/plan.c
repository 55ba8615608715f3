/* The hiring plan's numbers (see plan.h and README.md for the definitions). */
#include "plan.h"

#include <string.h>

int plan_parse_quarter(const char *s, int64_t *first_day, int64_t *last_day) {
  if (s == NULL || strlen(s) != 6 || (s[4] != 'Q' && s[4] != 'q') || s[5] < '1' || s[5] > '4')
    return AN_EINVAL;
  int y = 0;
  for (int i = 0; i < 4; i++) {
    if (s[i] < '0' || s[i] > '9') return AN_EINVAL;
    y = y * 10 + (s[i] - '0');
  }
  if (y < 1970) return AN_EINVAL;
  unsigned q = (unsigned)(s[5] - '1'), m = q * 3 + 1;
  *first_day = hx_days_from_civil(y, m, 1);
  *last_day = (q == 3 ? hx_days_from_civil(y + 1, 1, 1) : hx_days_from_civil(y, m + 3, 1)) - 1;
  return 0;
}

double plan_expected_hires(const size_t active[HX_TYPES], const hx_rates_t *rates) {
  double sum = 0.0;
  for (int t = 0; t < HX_TYPES; t++)
    if (rates->defined[t]) sum += (double)active[t] * rates->p[t];
  return sum;
}

int64_t plan_deadline_ms(int64_t target_day) { return (target_day + 1) * HX_DAY_MS; }

double plan_weeks_available(int64_t deadline_ms, const hx_rates_t *rates, int64_t now_ms) {
  int64_t median = rates->median_defined ? rates->median_to_hire_ms : 0;
  double weeks = (double)(deadline_ms - median - now_ms) / (double)PLAN_WEEK_MS;
  return weeks < 1.0 ? 1.0 : weeks;
}

int plan_required_weekly(size_t openings_left, double expected, const hx_rates_t *rates, int has_deadline,
                         int64_t deadline_ms, int64_t now_ms, double *out) {
  double p = rates->p[AN_STAGE_APPLIED];
  if (!rates->defined[AN_STAGE_APPLIED] || p <= 0.0) return 0;
  double missing = (double)openings_left - expected;
  if (missing <= 0.0) return *out = 0.0, 1;
  if (!has_deadline) return 0;
  *out = missing / p / plan_weeks_available(deadline_ms, rates, now_ms);
  return 1;
}
