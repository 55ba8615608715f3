/* Retention rules, run by the server every few minutes. */
#include "domain/housekeeping.h"

#include "talentd/types.h"

#define DAY_MS (24LL * 3600 * 1000)

int td__housekeeping_run(td__db_t *db, int64_t now_ms, int64_t session_absolute_ms) {
  td__stmt_t *st = td__db_stmt(db, "DELETE FROM idempotency_keys WHERE created_at < ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, now_ms - TD_IDEMPOTENCY_TTL_MS);
  int rc = td__stmt_run(st);
  if (rc) return rc;
  st = td__db_stmt(
      db, "DELETE FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < ?1) OR created_at < ?2");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, now_ms - DAY_MS);
  td__stmt_bind_int(st, 2, now_ms - session_absolute_ms - DAY_MS);
  return td__stmt_run(st);
}
