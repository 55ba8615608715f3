/* The event feed: the outbox (events.h writes it) read back in the order it was written,
 * as the envelopes subscribers receive ({id, type, version, occurred_at, actor:{id, kind},
 * subject:{type, id}, data}). Positions are outbox rowids: the writer is the only one that
 * appends and commits in rowid order, so a reader that continues after the last rowid it
 * saw never skips an event that commits later. */
#ifndef TD_DOMAIN_EVENT_FEED_H
#define TD_DOMAIN_EVENT_FEED_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/context.h"

/* Rowids one page with a prefix filter (`application.*`) examines at most. A prefix filter
 * is matched by scanning the outbox in order, so a page after which only a few matching
 * events follow would otherwise read the rest of the outbox; with this bound a page may
 * hold fewer events than asked for (even none) and still carry a cursor to continue. */
#define TD_EVENT_FEED_SCAN 20000

/* Whether type is a usable filter: an event type (`candidate.created`) or a prefix that
 * ends in `.*` (`application.*`, `custom_field.*`), lowercase letters, digits and '_'
 * between the dots. */
bool td__event_feed_type_ok(const char *type);

/* The rowid of the event with public id event_id in *rowid; a refusal naming the query
 * parameter `after` when there is none (td__fail_query). */
int td__event_feed_position(td__ctx_t *ctx, const char *event_id, int64_t *rowid);

/* Up to limit envelopes after outbox position `after`, oldest first, that match type
 * (NULL: every event; exact type or `prefix.*`, see td__event_feed_type_ok; a malformed
 * one is refused naming the query parameter `type`). *items is a new array; *next is the
 * position to continue from, 0 when the outbox holds nothing more right now. Admins only
 * (the feed crosses every job, including confidential ones). A td__list_fn when type is
 * passed as arg. */
int td__event_feed_page(td__ctx_t *ctx, const char *type, int limit, int64_t after, json_t **items,
                        int64_t *next);

#endif
