/* Cron expressions for scheduled runs: the classic five fields (minute hour day-of-month
 * month day-of-week) and the next time one fires in a time zone.
 *
 * Syntax per field: a comma-separated list of items; an item is `*`, `N`, `N-M`, each
 * optionally followed by `/STEP` (`N/STEP` means N to the field's maximum). Months accept
 * jan..dec and weekdays sun..sat (any case); weekday 7 is Sunday like 0. Day-of-month and
 * day-of-week follow the Vixie rule: when both are restricted (neither starts with `*`), a
 * day matches when EITHER matches; otherwise both must match.
 *
 * Time zones: "UTC" (also "Etc/UTC", "GMT", "Z") and fixed offsets "+HH:MM" / "-HH:MM"
 * (td__cron_zone, td__cron_next), and named IANA zones with daylight saving such as
 * Europe/Berlin (td__cron_next_in, rules read from /usr/share/zoneinfo by sched/tz.h). In
 * a named zone a time skipped by the spring-forward change fires at the first instant
 * after the gap, and a time that happens twice in the fall-back overlap fires once, at its
 * first occurrence. The C library's localtime_r is not used: its zone is process-global
 * (TZ) and cannot be switched per call safely. */
#ifndef TD_SCHED_CRON_H
#define TD_SCHED_CRON_H

#include <stdbool.h>
#include <stdint.h>

#define TD_CRON_MAX 128 /* longest accepted expression, in bytes */
#define TD_TZ_MAX 64    /* longest accepted time zone name, in bytes */

typedef struct td__cron {
  uint64_t minutes;         /* bit m: minute m (0..59) */
  uint32_t hours;           /* bit h: hour h (0..23) */
  uint32_t days;            /* bit d: day of month d (1..31) */
  uint16_t months;          /* bit m: month m (1..12) */
  uint8_t weekdays;         /* bit w: weekday w (0 = Sunday .. 6) */
  bool days_restricted;     /* the day-of-month field does not start with '*' */
  bool weekdays_restricted; /* the day-of-week field does not start with '*' */
} td__cron_t;

/* Parses expr into *out. Returns 0, or TD_EINVAL with *error (static English text naming
 * the field and what is expected) set. */
int td__cron_parse(const char *expr, td__cron_t *out, const char **error);

/* Parses a fixed time zone (UTC or +HH:MM) into its offset east of UTC in seconds. Returns
 * 0, or TD_EINVAL with *error (static) set for anything else, named zones included (those
 * go through td__cron_next_in). */
int td__cron_zone(const char *zone, int32_t *offset_s, const char **error);

/* The first minute strictly after after_ms (epoch ms) at which c fires, for wall-clock time
 * at offset_s east of UTC, as epoch ms in *next_ms. Returns 0, or TD_ENOTFOUND when the
 * expression never fires within the next eight years (such as "0 0 31 2 *"). */
int td__cron_next(const td__cron_t *c, int32_t offset_s, int64_t after_ms, int64_t *next_ms);

/* The first minute strictly after after_ms at which c fires in zone (NULL is UTC; a fixed
 * offset or an IANA name such as Europe/Berlin), as epoch ms in *next_ms. Returns 0;
 * TD_EINVAL with *error (static) for an unknown zone or a time past the zone's data (2037
 * for zones with daylight saving); TD_ELIMIT when too many zones are loaded; TD_ENOTFOUND
 * with *error when the expression never fires within the next eight years. */
int td__cron_next_in(const td__cron_t *c, const char *zone, int64_t after_ms, int64_t *next_ms,
                     const char **error);

#endif
