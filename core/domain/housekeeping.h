/* Periodic clean-up of data that must not live forever: idempotency records (their stored
 * answers can hold personal data) and ended sessions. */
#ifndef TD_DOMAIN_HOUSEKEEPING_H
#define TD_DOMAIN_HOUSEKEEPING_H

#include <stdint.h>

#include "store/db.h"

#define TD_IDEMPOTENCY_TTL_MS (24LL * 3600 * 1000)

/* Deletes idempotency records older than a day and sessions that ended more than a day
 * ago (revoked, or past their absolute lifetime). Runs as a write. Returns 0 or TD_EIO. */
int td__housekeeping_run(td__db_t *db, int64_t now_ms, int64_t session_absolute_ms);

#endif
