/* The scheduler glue of the stale-application scan (domain/stale.h): the "core.stale_scan"
 * handler and its one cron series. Wiring in the serve command:
 *   - td__stale_ensure_series on the start-up connection, after migrations and before
 *     td__writer_start takes the connection;
 *   - td__stale_register after td__writer_start and before td__sched_start (which freezes
 *     the handler registry). */
#ifndef TD_SCHED_STALE_RUNNER_H
#define TD_SCHED_STALE_RUNNER_H

#include <jansson.h>
#include <stdint.h>

#include <uv.h>

#include "store/db.h"
#include "store/writer.h"

#define TD_STALE_HANDLER "core.stale_scan"
#define TD_STALE_CRON "*/10 * * * *" /* every 10 minutes, UTC */
#define TD_STALE_BATCH 500           /* stale visits reported per writer op at most */

/* Registers the "core.stale_scan" handler with the SLA defaults read from config
 * (applications.stale_after_days; borrowed, read now), the loop whose reader pool finds
 * stale visits and the writer that reports them (both borrowed; must outlive the
 * scheduler). A run finds up to TD_STALE_BATCH visits on a reader thread (the scan of
 * active applications never holds the writer), reports those that still hold in one
 * writer op, and when the batch was full schedules a follow-up run a second later.
 * Start-up only, before td__sched_start. Returns 0 or what td__sched_register returns. */
int td__stale_register(const json_t *config, uv_loop_t *loop, td__writer_t *writer);

/* Makes sure exactly one pending or running cron series of "core.stale_scan" on
 * TD_STALE_CRON exists: creates it when there is none (first start, or an admin cancelled
 * it), cancels any extra or outdated one. Idempotent; on db, the server's read-write
 * connection with no transaction open (start-up, before the writer thread takes it).
 * Returns 0 or a TD_E* storage error, with nothing changed. */
int td__stale_ensure_series(td__db_t *db, int64_t now_ms);

#endif
