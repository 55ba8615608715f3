/* Wall-clock time as milliseconds since the Unix epoch, and RFC 3339 UTC text. */
#ifndef TD_UTIL_TIME_H
#define TD_UTIL_TIME_H

#include <stddef.h>
#include <stdint.h>

int64_t td__time_now_ms(void);
/* Monotonic nanoseconds, for durations only. */
uint64_t td__time_mono_ns(void);
/* Writes "2026-11-23T05:22:09.123Z" (needs 25 bytes). */
void td__time_format(int64_t ms, char *out, size_t size);
/* Parses RFC 3339 ("...Z" or "+hh:mm", optional fraction) or a plain date "YYYY-MM-DD"
 * (midnight UTC). Returns 0 and sets *ms, or TD_EINVAL. */
int td__time_parse(const char *text, int64_t *ms);
/* Parses "YYYY-MM-DD" only. */
int td__date_parse(const char *text, int64_t *ms);

#endif
