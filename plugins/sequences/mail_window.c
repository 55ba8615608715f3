/* Sending windows in the recipient's time zone: a message due outside the window (or on a
 * weekend when the window is weekdays only) waits for the next opening. */
#include "mail_int.h"

#define DAY_MS 86400000LL
#define MINUTE_MS 60000LL

int64_t sq_window_next(const sq_mail_config_t *c, const char *zone, int64_t at_ms) {
  if (!c->window_on) return at_ms;
  if (zone == NULL) zone = c->default_time_zone ? c->default_time_zone : "UTC";
  int32_t offset = 0;
  if (sq_api->tz_offset(zone, at_ms, &offset) != 0) {
    zone = "UTC";
    offset = 0;
  }
  int64_t local = at_ms + (int64_t)offset * 1000;
  int64_t midnight = local - ((local % DAY_MS) + DAY_MS) % DAY_MS;
  for (int d = 0; d < 8; d++) {
    int64_t day = midnight + d * DAY_MS;
    int64_t weekday = ((day / DAY_MS) % 7 + 7 + 4) % 7; /* 1970-01-01 was a Thursday; 0 = Sunday */
    if (c->window_weekdays && (weekday == 0 || weekday == 6)) continue;
    int64_t open = day + c->window_start_min * MINUTE_MS, close = day + c->window_end_min * MINUTE_MS;
    if (d == 0 && local >= open && local < close) return at_ms;
    int64_t open_utc;
    if (sq_api->tz_to_utc(zone, open, &open_utc) != 0) open_utc = open - (int64_t)offset * 1000;
    if (open_utc > at_ms) return open_utc;
  }
  return at_ms; /* an empty window (start >= end): never hold messages forever */
}
