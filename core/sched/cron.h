/* Cron expressions for scheduled runs: the classic five fields (minute hour day-of-month
 * month day-of-week) and the next time one fires in a time zone.
 *
 * Syntax per field: a comma-separated list of items; an item is `*`, `N`, `N-M`, each
 * optionally followed by `/STEP` (`N/STEP` means N to the field's maximum). Months accept
 * jan..dec and weekdays sun..sat (any case); weekday 7 is Sunday like 0. Day-of-month and
 * day-of-week follow the Vixie rule: when both are restricted (neither starts with `*`), a
 * day matches when EITHER matches; otherwise both must match.
 *
 * Time zones (first version): "UTC" (also "Etc/UTC", "GMT", "Z") and fixed offsets
 * "+HH:MM" / "-HH:MM". Named IANA zones with daylight-saving rules (Europe/Berlin) are
 * refused with a message saying so; reading their rules from the TZif files under
 * /usr/share/zoneinfo (RFC 8536) is the planned next step. The C library's localtime_r
 * is not used: its zone is process-global (TZ) and cannot be switched per call safely. */
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

/* Parses a time zone name into its offset east of UTC in seconds. Returns 0, or TD_EINVAL
 * with *error (static) set: for an unknown or not yet supported zone. */
int td__cron_zone(const char *zone, int32_t *offset_s, const char **error);

/* The first minute strictly after after_ms (epoch ms) at which c fires, for wall-clock time
 * at offset_s east of UTC, as epoch ms in *next_ms. Returns 0, or TD_ENOTFOUND when the
 * expression never fires within the next eight years (such as "0 0 31 2 *"). */
int td__cron_next(const td__cron_t *c, int32_t offset_s, int64_t after_ms, int64_t *next_ms);

#endif
