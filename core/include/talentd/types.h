/* talentd public SDK: error codes and small shared types.
 * Everything in core/include/talentd/ is the contract with plugins: append only. */
#ifndef TALENTD_TYPES_H
#define TALENTD_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* Functions return 0 on success or one of these negative codes. */
enum {
  TD_OK = 0,
  TD_ENOMEM = -1,    /* allocation failed */
  TD_EINVAL = -2,    /* an argument or input was invalid */
  TD_ENOTFOUND = -3, /* no such object, or the caller may not see it */
  TD_ECONFLICT = -4, /* a uniqueness rule or the object's state forbids it */
  TD_EDENIED = -5,   /* the caller is known but not allowed */
  TD_EIO = -6,       /* storage or network failed */
  TD_ELIMIT = -7,    /* a size, count, time or rate limit was hit */
  TD_ESTALE = -8,    /* the object changed since the caller read it */
  TD_EBUSY = -9,     /* try again later */
  TD_EINTERNAL = -10, /* a bug: logged with detail, reported without */
  TD_EPARTIAL = -11   /* part of the work failed (some targets of a fan-out); retry that part */
};

/* Returns a static English name for a TD_E* code. Inline, so plugins have it without
 * linking against anything the host would have to export. */
static inline const char *td_strerror(int code) {
  switch (code) {
    case TD_OK: return "ok";
    case TD_ENOMEM: return "out of memory";
    case TD_EINVAL: return "invalid input";
    case TD_ENOTFOUND: return "not found";
    case TD_ECONFLICT: return "conflict";
    case TD_EDENIED: return "denied";
    case TD_EIO: return "i/o error";
    case TD_ELIMIT: return "limit exceeded";
    case TD_ESTALE: return "stale";
    case TD_EBUSY: return "busy";
    case TD_EPARTIAL: return "partly failed";
    default: return "internal error";
  }
}

#endif
