/* Time helpers: the API speaks RFC 3339 UTC, storage speaks epoch milliseconds. */
#include "util/time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "talentd/types.h"

int64_t td__time_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t td__time_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void td__time_format(int64_t ms, char *out, size_t size) {
  time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int frac = (int)(ms - (int64_t)secs * 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i])) return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int days_in_month(int y, int m) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return d[m - 1];
}

static int parse_date_part(const char **p, struct tm *tm) {
  int y, mo, d;
  if (digits(p, 4, &y) || **p != '-') return -1;
  (*p)++;
  if (digits(p, 2, &mo) || **p != '-') return -1;
  (*p)++;
  if (digits(p, 2, &d)) return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return -1;
  memset(tm, 0, sizeof *tm);
  tm->tm_year = y - 1900;
  tm->tm_mon = mo - 1;
  tm->tm_mday = d;
  return 0;
}

int td__date_parse(const char *text, int64_t *ms) {
  struct tm tm;
  const char *p = text;
  if (parse_date_part(&p, &tm) || *p) return TD_EINVAL;
  *ms = (int64_t)timegm(&tm) * 1000;
  return 0;
}

int td__time_parse(const char *text, int64_t *ms) {
  struct tm tm;
  const char *p = text;
  if (parse_date_part(&p, &tm)) return TD_EINVAL;
  if (*p == '\0') {
    *ms = (int64_t)timegm(&tm) * 1000;
    return 0;
  }
  if (*p != 'T' && *p != 't') return TD_EINVAL;
  p++;
  int h, mi, s, frac_ms = 0;
  if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &s))
    return TD_EINVAL;
  if (h > 23 || mi > 59 || s > 60) return TD_EINVAL;
  if (*p == '.') {
    p++;
    int n = 0, scale = 100;
    while (isdigit((unsigned char)*p)) {
      if (n < 3) frac_ms += (*p - '0') * scale;
      scale /= 10;
      n++;
      p++;
    }
    if (n == 0) return TD_EINVAL;
  }
  int offset_min = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, oh, om;
    p++;
    if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59) return TD_EINVAL;
    offset_min = sign * (oh * 60 + om);
  } else {
    return TD_EINVAL;
  }
  if (*p) return TD_EINVAL;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  *ms = ((int64_t)timegm(&tm) - (int64_t)offset_min * 60) * 1000 + frac_ms;
  return 0;
}
