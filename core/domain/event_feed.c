/* The event feed (event_feed.h): pages of the outbox as event envelopes. */
#include "domain/event_feed.h"

#include "auth/policy.h"

#include <stdlib.h>
#include <string.h>

#include "domain/row_json.h"
#include "talentd/types.h"

#define TYPE_MAX 64

#define EVENT_COLUMNS \
  "rowid, id, type, version, occurred_at, actor_id, actor_kind, subject_type, subject_id, data"

/* One segment of a type: [a-z][a-z0-9_]*. Returns its length, 0 when there is none. */
static size_t segment_length(const char *s) {
  if (*s < 'a' || *s > 'z') return 0;
  size_t n = 1;
  while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_') n++;
  return n;
}

bool td__event_feed_type_ok(const char *type) {
  if (type == NULL || strlen(type) > TYPE_MAX) return false;
  const char *p = type;
  int segments = 0;
  for (;;) {
    size_t n = segment_length(p);
    if (n == 0) return segments > 0 && strcmp(p, "*") == 0; /* "noun.*" */
    p += n;
    segments++;
    if (*p == '\0') return segments > 1; /* "noun.verb": a bare noun is neither */
    if (*p++ != '.') return false;
  }
}

/* The envelope of the outbox row st is on. A data column that does not parse (the writer
 * only stores json_dumps output, so it cannot happen short of corruption) is delivered as
 * null rather than dropped, so that the feed never silently skips an event. */
static json_t *envelope_json(td__stmt_t *st) {
  json_t *data = json_loads(td__stmt_text(st, 9), 0, NULL);
  return json_pack("{s:s,s:s,s:I,s:o,s:{s:o,s:s},s:{s:s,s:s},s:o}", "id", td__stmt_text(st, 1), "type",
                   td__stmt_text(st, 2), "version", (json_int_t)td__stmt_int(st, 3), "occurred_at",
                   td__row_time(st, 4), "actor", "id", td__row_text(st, 5), "kind", td__stmt_text(st, 6),
                   "subject", "type", td__stmt_text(st, 7), "id", td__stmt_text(st, 8), "data",
                   data ? data : json_null());
}

int td__event_feed_position(td__ctx_t *ctx, const char *event_id, int64_t *rowid) {
  *rowid = 0;
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT rowid FROM events WHERE id = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, event_id);
  int rc = td__stmt_step(st);
  if (rc < 0) return td__fail_internal(ctx, rc);
  if (rc == 0)
    return td__fail_query(
        ctx, "after", "is not the id of an event in the feed; pass the id of the last event you processed");
  *rowid = td__stmt_int(st, 0);
  td__stmt_reset(st);
  return 0;
}

/* The highest outbox position so far (0 when empty) in *out. */
static int last_position(td__ctx_t *ctx, int64_t *out) {
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT coalesce(max(rowid), 0) FROM events");
  if (st == NULL) return TD_EIO;
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_EIO;
  *out = td__stmt_int(st, 0);
  td__stmt_reset(st);
  return 0;
}

/* A page for a `prefix.*` filter: scans at most TD_EVENT_FEED_SCAN positions in feed order
 * (types under one prefix are few but a type index would return them type by type, and
 * sorting them back into feed order costs as much as the whole prefix holds). */
static int prefix_page(td__ctx_t *ctx, const char *type, int limit, int64_t after, json_t **items,
                       int64_t *next) {
  char prefix[TYPE_MAX + 1];
  size_t n = strlen(type) - 1; /* keeps the '.' before the '*' */
  memcpy(prefix, type, n);
  prefix[n] = '\0';
  int64_t upto = after > INT64_MAX - TD_EVENT_FEED_SCAN ? INT64_MAX : after + TD_EVENT_FEED_SCAN;
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT " EVENT_COLUMNS
                                        " FROM events WHERE rowid > ?1 AND rowid <= ?2"
                                        " AND substr(type, 1, ?3) = ?4 ORDER BY rowid LIMIT ?5");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, after);
  td__stmt_bind_int(st, 2, upto);
  td__stmt_bind_int(st, 3, (int64_t)n);
  td__stmt_bind_text(st, 4, prefix);
  td__stmt_bind_int(st, 5, limit + 1);
  int rc = td__row_page(ctx, st, 0, limit, envelope_json, items, next);
  if (rc || *next) return rc;
  /* The window ended before the page filled: continue after it if the outbox goes on. */
  int64_t last = 0;
  if ((rc = last_position(ctx, &last)) != 0) {
    json_decref(*items);
    *items = NULL;
    return td__fail_internal(ctx, rc);
  }
  if (upto < last) *next = upto;
  return 0;
}

int td__event_feed_page(td__ctx_t *ctx, const char *type, int limit, int64_t after, json_t **items,
                        int64_t *next) {
  *items = NULL;
  *next = 0;
  if (!td__policy_can(&ctx->principal, TD_RES_EVENT, TD_ACT_READ)) return td__fail_forbidden(ctx);
  if (type && !td__event_feed_type_ok(type))
    return td__fail_query(ctx, "type",
                          "must be an event type such as application.hired, or a prefix ending in .* such as "
                          "application.*");
  if (type && type[strlen(type) - 1] == '*') return prefix_page(ctx, type, limit, after, items, next);
  td__stmt_t *st;
  if (type) {
    /* events_type (type, rowid) gives these in feed order without a sort. */
    st = td__db_stmt(ctx->db, "SELECT " EVENT_COLUMNS
                              " FROM events WHERE rowid > ?1 AND type = ?3"
                              " ORDER BY rowid LIMIT ?2");
    if (st) td__stmt_bind_text(st, 3, type);
  } else {
    st =
        td__db_stmt(ctx->db, "SELECT " EVENT_COLUMNS " FROM events WHERE rowid > ?1 ORDER BY rowid LIMIT ?2");
  }
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, after);
  td__stmt_bind_int(st, 2, limit + 1);
  return td__row_page(ctx, st, 0, limit, envelope_json, items, next);
}
