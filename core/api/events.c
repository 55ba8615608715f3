/* /api/v1/events: the replayable event feed (domain/event_feed.h), oldest first.
 * ?type= filters (exact, or `prefix.*`); ?cursor= continues a page; ?after=<event id>
 * resumes after the last event a consumer processed, so a consumer that reached the end
 * (next_cursor null) can poll for what came later without keeping our cursors.
 * Admins only for now: events name objects of every job, confidential ones included. */
#include "api/routes.h"
#include "domain/event_feed.h"
#include "talentd/types.h"

typedef struct feed_query {
  const char *type;
  const char *after_id;
} feed_query_t;

static int list_events(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items, int64_t *next) {
  const feed_query_t *q = arg;
  *items = NULL;
  *next = 0;
  if (q->after_id) {
    int rc = td__event_feed_position(ctx, q->after_id, &after);
    if (rc) return rc;
  }
  return td__event_feed_page(ctx, q->type, limit, after, items, next);
}

static int events_list(td__call_t *call) {
  feed_query_t q = {td__call_query(call, "type"), td__call_query(call, "after")};
  if (q.type && *q.type == '\0') q.type = NULL;
  if (q.after_id && *q.after_id == '\0') q.after_id = NULL;
  const char *cursor = td__call_query(call, "cursor");
  if (q.after_id && cursor && *cursor)
    return td__problem_query(call, "after",
                             "cannot be combined with cursor: follow next_cursor, or pass after alone");
  return td__call_list(call, list_events, &q);
}

const td__route_t td__routes_events[] = {
    {"GET", "/api/v1/events", TD_RUN_READ, events_list, NULL, NULL, TD_ROUTE_ADMIN},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
