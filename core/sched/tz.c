/* Time zones from TZif files (tz.h). A zone is its transition times, the offset in force
 * after each, and whether its footer rule (after the last transition) is a fixed offset. */
#include "sched/tz.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "talentd/types.h"
#include "util/mem.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo/"

struct td__tz {
  char name[TD_TZ_NAME_MAX];
  uint32_t count;       /* transitions */
  int64_t *at;          /* count transition instants, ascending, epoch seconds */
  int32_t *offset;      /* count offsets in force from at[i] on */
  int32_t first_offset; /* before the first transition (time type 0) */
  bool footer_fixed;    /* the footer has no DST rule: the last offset holds for ever */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static td__tz_t *cache[TD_TZ_CACHE_MAX];
static size_t cache_count;

bool td__tz_name_valid(const char *name) {
  if (name == NULL || name[0] == '\0' || name[0] == '/') return false;
  size_t n = strnlen(name, TD_TZ_NAME_MAX);
  if (n >= TD_TZ_NAME_MAX || name[n - 1] == '/' || strstr(name, "..") || strstr(name, "//")) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '+' || ch == '-' || ch == '/';
    if (!ok) return false;
  }
  return true;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t be64(const unsigned char *p) { return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4)); }

/* Reads the whole file at path (at most TD_TZ_FILE_MAX bytes) into a fresh buffer. */
static unsigned char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  unsigned char *buf = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size <= TD_TZ_FILE_MAX) {
    buf = td__xmalloc((size_t)st.st_size);
    ssize_t got = read(fd, buf, (size_t)st.st_size);
    if (got != (ssize_t)st.st_size) {
      free(buf);
      buf = NULL;
    }
    *len = (size_t)st.st_size;
  }
  close(fd);
  return buf;
}

/* The six counts of the header at p: isutcnt isstdcnt leapcnt timecnt typecnt charcnt. */
static void counts(const unsigned char *p, uint32_t c[6]) {
  for (int i = 0; i < 6; i++) c[i] = be32(p + 20 + 4 * i);
}

/* Size of the data block described by c, with time values of tsize bytes. */
static size_t block_size(const uint32_t c[6], size_t tsize) {
  return (size_t)c[3] * tsize + c[3] + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * (tsize + 4) + c[1] + c[0];
}

/* Parses the version 2+ block and footer of the TZif data d[0..len) into z. */
static int parse_tzif(const unsigned char *d, size_t len, td__tz_t *z) {
  uint32_t c[6];
  if (len < 44 || memcmp(d, "TZif", 4) != 0 || d[4] < '2') return TD_EINVAL;
  counts(d, c);
  size_t off = 44 + block_size(c, 4);
  if (off + 44 > len || memcmp(d + off, "TZif", 4) != 0) return TD_EINVAL;
  counts(d + off, c);
  const unsigned char *p = d + off + 44;
  /* Leap-second ("right/") zones count TAI-like seconds: not supported. */
  if (c[2] != 0 || c[4] == 0 || c[3] > 100000 || c[4] > 256) return TD_EINVAL;
  size_t need = off + 44 + block_size(c, 8);
  if (need > len) return TD_EINVAL;
  const unsigned char *idx = p + (size_t)c[3] * 8, *types = idx + c[3];
  z->count = c[3];
  z->at = td__xcalloc(c[3] ? c[3] : 1, sizeof *z->at);
  z->offset = td__xcalloc(c[3] ? c[3] : 1, sizeof *z->offset);
  z->first_offset = (int32_t)be32(types);
  for (uint32_t i = 0; i < c[3]; i++) {
    if (idx[i] >= c[4] || (i && be64(p + 8 * i) <= z->at[i - 1])) return TD_EINVAL;
    z->at[i] = be64(p + 8 * i);
    z->offset[i] = (int32_t)be32(types + 6 * (size_t)idx[i]);
  }
  /* Footer: "\nTZSTRING\n". A rule (",M3.5.0,...") means daylight saving continues. */
  const char *f = (const char *)d + need, *end = (const char *)d + len;
  z->footer_fixed = end - f >= 2 && f[0] == '\n' && memchr(f + 1, ',', (size_t)(end - f - 1)) == NULL;
  return 0;
}

/* Loads the zone name from disk into a fresh zone; NULL with *error set on failure. */
static td__tz_t *load(const char *name, const char **error) {
  char path[sizeof ZONEINFO_DIR + TD_TZ_NAME_MAX];
  snprintf(path, sizeof path, "%s%s", ZONEINFO_DIR, name);
  size_t len = 0;
  unsigned char *data = read_file(path, &len);
  if (data == NULL) {
    *error =
        "time_zone is not a known IANA zone name (such as Europe/Berlin), UTC or an offset such as +02:00";
    return NULL;
  }
  td__tz_t *z = td__xcalloc(1, sizeof *z);
  snprintf(z->name, sizeof z->name, "%s", name);
  int rc = parse_tzif(data, len, z);
  free(data);
  if (rc) {
    free(z->at);
    free(z->offset);
    free(z);
    *error = "time_zone names a file that is not a usable TZif (version 2+, without leap seconds) zone";
    return NULL;
  }
  return z;
}

int td__tz_get(const char *name, const td__tz_t **out, const char **error) {
  *out = NULL;
  *error = NULL;
  if (!td__tz_name_valid(name)) {
    *error =
        "time_zone must be an IANA zone name such as Europe/Berlin: up to 63 bytes of A-Z a-z 0-9 _ + - /";
    return TD_EINVAL;
  }
  pthread_mutex_lock(&cache_lock);
  for (size_t i = 0; i < cache_count; i++)
    if (strcmp(cache[i]->name, name) == 0) {
      *out = cache[i];
      pthread_mutex_unlock(&cache_lock);
      return 0;
    }
  int rc = 0;
  td__tz_t *z = NULL;
  if (cache_count == TD_TZ_CACHE_MAX) {
    *error = "too many distinct time zones are in use";
    rc = TD_ELIMIT;
  } else if ((z = load(name, error)) == NULL) {
    rc = TD_EINVAL;
  } else {
    cache[cache_count++] = z; /* kept for the process's life: pointers handed out stay valid */
    *out = z;
  }
  pthread_mutex_unlock(&cache_lock);
  return rc;
}

/* The index of the last transition at or before t, or -1 when t precedes them all. */
static long last_at_or_before(const td__tz_t *tz, int64_t t) {
  long lo = 0, hi = (long)tz->count - 1, found = -1;
  while (lo <= hi) {
    long mid = lo + (hi - lo) / 2;
    if (tz->at[mid] <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/* The offset at t and the start of the period with that offset (INT64_MIN if none). */
static int period(const td__tz_t *tz, int64_t t, int32_t *offset, int64_t *start) {
  long i = last_at_or_before(tz, t);
  if (i < 0) {
    *offset = tz->first_offset;
    *start = INT64_MIN;
    return 0;
  }
  if ((uint32_t)i == tz->count - 1 && !tz->footer_fixed) return TD_ENOTFOUND;
  *offset = tz->offset[i];
  *start = tz->at[i];
  return 0;
}

int td__tz_offset(const td__tz_t *tz, int64_t utc_s, int32_t *offset_s) {
  int64_t start;
  return period(tz, utc_s, offset_s, &start);
}

int td__tz_to_utc(const td__tz_t *tz, int64_t local_s, int64_t *utc_s) {
  /* The offsets a day either side bracket any single change near local_s. */
  int32_t before, after, o1, o2;
  int64_t start;
  if (period(tz, local_s - 86400, &before, &start) || period(tz, local_s + 86400, &after, &start))
    return TD_ENOTFOUND;
  int64_t u1 = local_s - before, u2 = local_s - after;
  if (period(tz, u1, &o1, &start) || period(tz, u2, &o2, &start)) return TD_ENOTFOUND;
  bool ok1 = o1 == before, ok2 = o2 == after;
  if (ok1 && ok2) {
    *utc_s = u1 < u2 ? u1 : u2; /* overlap: the first occurrence */
  } else if (ok1 || ok2) {
    *utc_s = ok1 ? u1 : u2;
  } else { /* gap: u1 lies just after the change; the change itself is the first instant after it */
    if (period(tz, u1, &o1, &start)) return TD_ENOTFOUND;
    *utc_s = start;
  }
  return 0;
}
