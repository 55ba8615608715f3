/* The event dispatcher: delivers outbox rows (table events) to every matching subscriber
 * (hooks/events.h), at least once. Each subscriber has a cursor (table delivery_cursors):
 * every event up to it was handled, or has a delivery row (table deliveries,
 * schemas/sql/0004_deliveries.sql) that carries it from then on.
 *
 * How it runs. A loop timer (poll_ms) submits a scan to a reader thread (never a query on
 * the loop): it finds, per subscriber, outbox rows past its mark (first attempts, up to its
 * free slots, in outbox order) and the delivery rows that are due (retries). They are handed
 * to the subscriber on the loop thread; it completes asynchronously.
 *   - A first attempt that works writes nothing: the subscriber's cursor moves past it, in
 *     batches, once no earlier first attempt of that subscriber is still running. This keeps
 *     the writer free when many subscribers (Lua rules) follow busy events.
 *   - A failure creates (or updates) the event's delivery row: failed, retried after an
 *     exponential backoff with jitter (base_ms * 2^(attempts-1), capped at cap_ms, then a
 *     random 50-100 % of it); after max_attempts attempts => dead. Rows are listed by GET
 *     /api/v1/deliveries (failures, dead letters, and retries that later worked) and
 *     replayable (td__delivery_replay).
 *   - After a crash or a stop, events past a cursor are handed out again (at least once:
 *     subscribers deduplicate on the event id); an event that already has a row is left to
 *     its retries.
 *
 * Isolation. Each subscriber has its own in-flight cap (inflight_cap) and circuit breaker:
 * after breaker_threshold consecutive failures it is not called for breaker_cooldown_ms
 * (logged with its package, counted in td_event_breaker_opened_total, its registry entry
 * marked disabled); then one trial call decides whether it closes again. A slow or failing
 * subscriber only fills its own slots; the others go on.
 *
 * Metrics (td__metrics_count): td_event_deliveries_ok_total, td_event_deliveries_failed_total,
 * td_event_deliveries_dead_total, td_event_breaker_opened_total.
 *
 * Threading: start, stop and every callback run on the loop thread. */
#ifndef TD_HOOKS_DELIVERY_H
#define TD_HOOKS_DELIVERY_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "store/db.h"
#include "store/writer.h"

typedef struct td__delivery td__delivery_t;

typedef struct td__delivery_config {
  int64_t poll_ms;             /* how often the outbox is scanned (default 50) */
  int64_t base_ms;             /* first retry delay (default 1,000) */
  int64_t cap_ms;              /* longest retry delay (default 3,600,000) */
  int max_attempts;            /* attempts before dead (default 10) */
  int inflight_cap;            /* calls in flight per subscriber (default 64) */
  int breaker_threshold;       /* consecutive failures that open the breaker (default 5) */
  int64_t breaker_cooldown_ms; /* how long an open breaker stays open (default 60,000) */
  int batch;                   /* rows per scan (default 256) */
} td__delivery_config_t;

/* The defaults above. */
td__delivery_config_t td__delivery_config_default(void);

/* Starts the dispatcher with the default configuration: collects the subscribers from the
 * frozen registry (none: the dispatcher idles), points the readers at db_path (copied; NULL
 * keeps the readers' current configuration) and starts polling. writer is borrowed and must
 * outlive td__delivery_stop. Returns 0 and the dispatcher in *out, or TD_EINVAL/TD_ENOMEM. */
int td__delivery_start(uv_loop_t *loop, td__writer_t *writer, const char *db_path, td__delivery_t **out);
/* The same with cfg (copied; zero members take their default). */
int td__delivery_start_with(uv_loop_t *loop, td__writer_t *writer, const char *db_path,
                            const td__delivery_config_t *cfg, td__delivery_t **out);

/* Stops calling subscribers and polling; call before td__writer_stop. Completions that
 * arrive later are dropped (those deliveries run again after a restart: at least once). The
 * dispatcher frees itself once its last outstanding operation has come back through the
 * loop (run the loop until it is idle). NULL is a no-op. */
void td__delivery_stop(td__delivery_t *d);

/* Follows a live registry change (td__hooks_replace_package): call it on the loop thread
 * right after the change, before the retired entries are freed. On return no subscriber
 * refers to a retired entry (dropped ones are never called again); new subscribers are
 * added once no scan is running and start at the end of the outbox. */
void td__delivery_resync(td__delivery_t *d);

/* --- store functions for the admin API (any connection; the writer's for replay) --- */

/* One page of deliveries, oldest first: status ("pending", "failed", "ok", "dead" or NULL for
 * all) and package (NULL for all) filter; rows with rowid > after. *items is a new array of
 * delivery objects, *next the rowid to continue after, or 0 on the last page. Returns 0 or
 * TD_EIO. */
int td__delivery_list(td__db_t *db, const char *status, const char *package, int limit, int64_t after,
                      json_t **items, int64_t *next);

/* Puts the delivery with public id back to pending, due now, with its attempts reset, so
 * the dispatcher tries it again. *out (optional) gets the updated object. Returns 0,
 * TD_ENOTFOUND, or TD_EIO. */
int td__delivery_replay(td__db_t *db, const char *id, int64_t now_ms, json_t **out);

#endif
