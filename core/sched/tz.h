/* Named IANA time zones read from the system tz database (Debian tzdata,
 * /usr/share/zoneinfo/<Name>, TZif per RFC 8536), for cron schedules in local time.
 *
 * Only the 64-bit (version 2+) data block is used. Times after a zone's last transition
 * follow the footer's POSIX TZ string; this module applies it only when it has no
 * daylight-saving rule (a fixed offset such as "IST-5:30"). For zones with rules the
 * lookup fails with TD_ENOTFOUND instead: Debian ships "fat" files whose transitions run
 * to 2037, so this only matters for instants beyond that year.
 *
 * Nothing here touches TZ, tzset or localtime: the C library's zone is process-global.
 * Loaded zones are immutable and cached for the life of the process (at most
 * TD_TZ_CACHE_MAX distinct zones), so the returned pointers stay valid and may be shared
 * between threads. */
#ifndef TD_SCHED_TZ_H
#define TD_SCHED_TZ_H

#include <stdbool.h>
#include <stdint.h>

#define TD_TZ_NAME_MAX 64     /* longest accepted zone name, in bytes (including the NUL) */
#define TD_TZ_CACHE_MAX 256   /* distinct zones kept loaded */
#define TD_TZ_FILE_MAX 262144 /* largest TZif file read, in bytes */

typedef struct td__tz td__tz_t;

/* True when name is acceptable as a zone file name: 1..63 bytes of [A-Za-z0-9_+-/], no
 * leading or trailing '/', no empty component, no "..". Says nothing about existence. */
bool td__tz_name_valid(const char *name);

/* Loads (or finds in the cache) the zone called name. Returns 0 with *out set, or
 * TD_EINVAL with *error (static English text) for an invalid or unknown name or an
 * unreadable file, or TD_ELIMIT when the cache is full. Thread-safe. */
int td__tz_get(const char *name, const td__tz_t **out, const char **error);

/* The offset east of UTC in seconds at the UTC instant utc_s (epoch seconds). Returns 0, or
 * TD_ENOTFOUND when utc_s is past the zone's data and its footer rule is not supported. */
int td__tz_offset(const td__tz_t *tz, int64_t utc_s, int32_t *offset_s);

/* Converts local wall time local_s ("local epoch seconds": the wall clock read as if it
 * were UTC) to a UTC instant. A time skipped by a forward change (spring-forward gap) gives
 * the first instant after the gap; a time that happens twice (fall-back overlap) gives the
 * first occurrence. Returns 0, or TD_ENOTFOUND as td__tz_offset. */
int td__tz_to_utc(const td__tz_t *tz, int64_t local_s, int64_t *utc_s);

#endif
