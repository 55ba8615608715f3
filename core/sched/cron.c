/* Cron expression parsing and next-fire computation (cron.h). Wall-clock arithmetic is done
 * on "local epoch seconds" (UTC seconds plus the zone's offset) with gmtime_r and timegm,
 * which use no process-global zone state. */
#include "sched/cron.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sched/tz.h"
#include "talentd/types.h"

typedef struct field_spec {
  const char *name; /* for messages */
  int min, max;
  const char *const *names; /* 3-letter names for min.., or NULL */
} field_spec_t;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const weekday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const field_spec_t fields[5] = {
    {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, weekday_names},
};

static const char *const field_errors[5] = {
    "minute field: expected *, N, N-M or a list of them with optional /STEP, N in 0..59",
    "hour field: expected *, N, N-M or a list of them with optional /STEP, N in 0..23",
    "day-of-month field: expected *, N, N-M or a list of them with optional /STEP, N in 1..31",
    "month field: expected *, N, N-M or a list of them with optional /STEP, N in 1..12 or jan..dec",
    "day-of-week field: expected *, N, N-M or a list of them with optional /STEP, N in 0..7 or sun..sat",
};

/* Reads a number or a name at *p; advances *p. Returns the value or -1. */
static int read_value(const char **p, const field_spec_t *f) {
  const char *s = *p;
  if (isdigit((unsigned char)*s)) {
    int v = 0;
    while (isdigit((unsigned char)*s) && v < 1000) v = v * 10 + (*s++ - '0');
    *p = s;
    return v;
  }
  if (f->names && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
      isalpha((unsigned char)s[2])) {
    int count = f->names == month_names ? 12 : 7;
    for (int i = 0; i < count; i++)
      if (strncasecmp(s, f->names[i], 3) == 0) {
        *p = s + 3;
        return f->min + i;
      }
  }
  return -1;
}

/* Parses one item (`*`, N, N-M, each with optional /STEP) of [s, end) into *bits. */
static int parse_item(const char *s, const char *end, const field_spec_t *f, uint64_t *bits) {
  int lo = f->min, hi = f->max, step = 1;
  bool single = false;
  if (*s == '*') {
    s++;
  } else {
    if ((lo = read_value(&s, f)) < 0) return TD_EINVAL;
    hi = lo;
    single = true;
    if (s < end && *s == '-') {
      s++;
      if ((hi = read_value(&s, f)) < 0) return TD_EINVAL;
      single = false;
    }
  }
  if (s < end && *s == '/') {
    s++;
    if (!isdigit((unsigned char)*s)) return TD_EINVAL;
    step = 0;
    while (s < end && isdigit((unsigned char)*s) && step < 1000) step = step * 10 + (*s++ - '0');
    if (step < 1) return TD_EINVAL;
    if (single) hi = f->max; /* N/STEP: from N to the maximum */
  }
  if (s != end || lo < f->min || hi > f->max || lo > hi) return TD_EINVAL;
  for (int v = lo; v <= hi; v += step) *bits |= (uint64_t)1 << v;
  return 0;
}

/* Parses the field [s, end) (a comma-separated list). */
static int parse_field(const char *s, const char *end, const field_spec_t *f, uint64_t *bits) {
  *bits = 0;
  while (s < end) {
    const char *comma = memchr(s, ',', (size_t)(end - s));
    const char *item_end = comma ? comma : end;
    if (item_end == s || parse_item(s, item_end, f, bits)) return TD_EINVAL;
    s = comma ? comma + 1 : end;
    if (comma && s == end) return TD_EINVAL; /* trailing comma */
  }
  return *bits ? 0 : TD_EINVAL;
}

int td__cron_parse(const char *expr, td__cron_t *out, const char **error) {
  memset(out, 0, sizeof *out);
  *error = NULL;
  if (expr == NULL || strlen(expr) > TD_CRON_MAX) {
    *error =
        "a cron expression is five fields (minute hour day-of-month month day-of-week) of at most 128 bytes";
    return TD_EINVAL;
  }
  uint64_t bits[5];
  const char *p = expr;
  for (int i = 0; i < 5; i++) {
    while (*p == ' ' || *p == '\t') p++;
    const char *start = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    if (p == start) {
      *error = "a cron expression has exactly five fields: minute hour day-of-month month day-of-week";
      return TD_EINVAL;
    }
    if (parse_field(start, p, &fields[i], &bits[i])) {
      *error = field_errors[i];
      return TD_EINVAL;
    }
    if (i == 2) out->days_restricted = *start != '*';
    if (i == 4) out->weekdays_restricted = *start != '*';
  }
  while (*p == ' ' || *p == '\t') p++;
  if (*p) {
    *error = "a cron expression has exactly five fields: minute hour day-of-month month day-of-week";
    return TD_EINVAL;
  }
  out->minutes = bits[0];
  out->hours = (uint32_t)bits[1];
  out->days = (uint32_t)bits[2];
  out->months = (uint16_t)bits[3];
  out->weekdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday */
  return 0;
}

int td__cron_zone(const char *zone, int32_t *offset_s, const char **error) {
  *offset_s = 0;
  *error = NULL;
  if (zone == NULL || strcmp(zone, "UTC") == 0 || strcmp(zone, "Etc/UTC") == 0 || strcmp(zone, "GMT") == 0 ||
      strcmp(zone, "Z") == 0)
    return 0;
  const char *z = zone;
  if ((z[0] == '+' || z[0] == '-') && isdigit((unsigned char)z[1]) && isdigit((unsigned char)z[2]) &&
      z[3] == ':' && isdigit((unsigned char)z[4]) && isdigit((unsigned char)z[5]) && z[6] == '\0') {
    int h = (z[1] - '0') * 10 + (z[2] - '0'), m = (z[4] - '0') * 10 + (z[5] - '0');
    if (h <= 14 && m < 60) {
      *offset_s = (int32_t)((h * 3600 + m * 60) * (z[0] == '-' ? -1 : 1));
      return 0;
    }
  }
  *error = "is not UTC or a fixed offset such as +02:00 (named zones go through td__cron_next_in)";
  return TD_EINVAL;
}

static bool day_matches(const td__cron_t *c, const struct tm *t) {
  bool dom = (c->days >> t->tm_mday) & 1u;
  bool dow = (c->weekdays >> t->tm_wday) & 1u;
  if (c->days_restricted && c->weekdays_restricted) return dom || dow;
  return dom && dow;
}

/* The first local minute at or after local (local epoch seconds, a whole minute) that c
 * matches, before limit. Returns 0 with *found set, or TD_ENOTFOUND. */
static int next_local(const td__cron_t *c, int64_t local, int64_t limit, int64_t *found) {
  time_t t = (time_t)local;
  struct tm tm;
  while (t < limit) {
    if (gmtime_r(&t, &tm) == NULL) return TD_EINVAL;
    if (!((c->months >> (tm.tm_mon + 1)) & 1u)) { /* first day of the next month */
      tm.tm_mon++;
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    } else if (!day_matches(c, &tm)) { /* next day */
      tm.tm_mday++;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    } else if (!((c->hours >> tm.tm_hour) & 1u)) { /* next hour */
      tm.tm_hour++;
      tm.tm_min = tm.tm_sec = 0;
    } else if (!((c->minutes >> tm.tm_min) & 1u)) {
      tm.tm_min++;
    } else {
      *found = (int64_t)t;
      return 0;
    }
    t = timegm(&tm); /* normalises overflowing fields */
  }
  return TD_ENOTFOUND;
}

/* The first whole local minute strictly after after_ms for wall-clock offset offset_s. */
static int64_t first_minute(int64_t after_ms, int32_t offset_s) {
  int64_t local = after_ms / 1000 + offset_s;
  if (after_ms < 0 && after_ms % 1000) local--;
  return local - (((local % 60) + 60) % 60) + 60;
}

int td__cron_next(const td__cron_t *c, int32_t offset_s, int64_t after_ms, int64_t *next_ms) {
  int64_t local = first_minute(after_ms, offset_s), found = 0;
  int rc = next_local(c, local, local + 8LL * 366 * 86400, &found);
  if (rc == 0) *next_ms = (found - offset_s) * 1000;
  return rc;
}

/* td__cron_next_in for a named zone. Local minutes are tried in order; each maps to UTC
 * monotonically (gap => the change, overlap => the first occurrence), so the first one
 * that lands strictly after after_ms is the answer. Only an overlap can map a local minute
 * at or before after_ms, so the loop repeats at most an hour's worth of minutes. */
static int next_named(const td__cron_t *c, const td__tz_t *tz, int64_t after_ms, int64_t *next_ms,
                      const char **error) {
  static const char *beyond = "the next run lies beyond the time zone data (year 2037) for this zone";
  int32_t offset = 0;
  int64_t after_s = after_ms / 1000 - (after_ms < 0 && after_ms % 1000 ? 1 : 0);
  if (td__tz_offset(tz, after_s, &offset)) {
    *error = beyond;
    return TD_EINVAL;
  }
  int64_t local = first_minute(after_ms, offset), limit = local + 8LL * 366 * 86400, found = 0, utc = 0;
  for (;;) {
    int rc = next_local(c, local, limit, &found);
    if (rc) return rc;
    if (td__tz_to_utc(tz, found, &utc)) {
      *error = beyond;
      return TD_EINVAL;
    }
    if (utc * 1000 > after_ms) break;
    local = found + 60;
  }
  *next_ms = utc * 1000;
  return 0;
}

int td__cron_next_in(const td__cron_t *c, const char *zone, int64_t after_ms, int64_t *next_ms,
                     const char **error) {
  int32_t offset = 0;
  const td__tz_t *tz = NULL;
  *error = NULL;
  if (td__cron_zone(zone, &offset, error) == 0) {
    if (td__cron_next(c, offset, after_ms, next_ms) == 0) return 0;
  } else {
    int rc = td__tz_get(zone, &tz, error);
    if (rc) return rc;
    rc = next_named(c, tz, after_ms, next_ms, error);
    if (rc != TD_ENOTFOUND) return rc;
  }
  *error = "the cron expression never fires (check the day-of-month against the month)";
  return TD_ENOTFOUND;
}
