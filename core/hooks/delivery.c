/* The event dispatcher (see delivery.h): outbox scan on a reader thread, delivery rows and
 * their outcomes through the writer thread, subscriber calls, backoff, dead letters and a
 * circuit breaker per subscriber on the loop thread; and the store functions of the admin
 * API (list, replay). */
#include "hooks/delivery.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/events.h"
#include "hooks/registry.h"
#include "store/reader.h"
#include "talentd/types.h"
#include "util/id.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/metrics.h"
#include "util/time.h"

#define ERROR_MAX 200

/* A subscriber as the dispatcher sees it (loop thread only, except the immutable names). */
typedef struct sub {
  td__hook_entry_t *entry; /* the registry's; NULL once the package dropped it (a reload) */
  char package[TD_HOOK_PACKAGE_MAX];
  char hook[TD_HOOK_NAME_MAX]; /* the pattern */
  int inflight;
  int consecutive_failures;
  int64_t open_until; /* breaker: no calls before this time while open */
  bool open;
  bool trial;        /* half-open: one trial call in flight */
  int64_t mark;      /* the last outbox rowid handed out for first attempts (0: none yet) */
  int64_t persisted; /* the cursor as stored: every event up to it was handled or has a row */
} sub_t;

enum { T_CALLING, T_RECORDING, T_SETTLED };

/* A delivery the loop is handling: from its call until a scan started after its outcome
 * committed (before that, a scan may still see it as due and must not call it twice). */
typedef struct tracked {
  struct tracked *next;
  td__delivery_t *d;
  int64_t rowid;       /* the delivery row; 0 for a first attempt, which has no row */
  int64_t event_rowid; /* the outbox row */
  bool fresh;          /* a first attempt straight from the outbox */
  size_t sub;
  int attempts; /* before this attempt */
  int state;
  uint64_t settled_seq;
  td__write_op_t op;
  int outcome; /* 0 ok; else failed */
  char status[8];
  int64_t now, next_at;
  char error[ERROR_MAX];
} tracked_t;

struct td__delivery {
  uv_loop_t *loop;
  td__writer_t *writer;
  td__delivery_config_t cfg;
  uv_timer_t timer;
  sub_t *subs;
  size_t nsubs;
  tracked_t *tracked;
  uint64_t scan_seq; /* scans submitted so far */
  bool scanning, materializing, ready, stopping, timer_closed;
  bool resync_pending; /* the registry changed: resync when no scan or write is running */
  bool timer_running;
  uint64_t rng;
};

/* One due delivery found by a scan. */
typedef struct due {
  int64_t rowid, event_rowid; /* rowid 0: a first attempt (no delivery row) */
  size_t sub;
  int attempts;
  json_t *envelope;
} due_t;

typedef struct scan {
  td__read_op_t op;
  td__delivery_t *d;
  uint64_t seq;
  int64_t now;
  size_t nsubs;     /* subscribers when submitted (the list only grows, between scans) */
  bool *active;     /* per subscriber, when submitted: not dropped by a live change */
  int *limits;      /* per subscriber: due rows wanted (retries) */
  int *fresh;       /* per subscriber: first attempts wanted */
  int64_t *from;    /* per subscriber: its mark when submitted (first attempts after it) */
  int64_t *cursors; /* per subscriber: the stored cursor, as read */
  int64_t *advance; /* per subscriber: its new mark, or 0 */
  due_t *due;
  size_t ndue, capdue;
} scan_t;

static void maybe_resync(td__delivery_t *d);
static void on_tick(uv_timer_t *timer);

/* Stores cursors: initializes them at the end of the outbox (init) or advances them. */
typedef struct materialize {
  td__write_op_t op;
  td__delivery_t *d;
  bool init;
  bool at_start; /* init at server start: a new subscriber begins with this start's
                    server.started (so a plugin can set itself up on its first start too) */
  size_t nsubs;
  int64_t *advance; /* per subscriber: the new cursor, or 0 */
} materialize_t;

static void kick(td__delivery_t *d);
static void maybe_free(td__delivery_t *d);

td__delivery_config_t td__delivery_config_default(void) {
  return (td__delivery_config_t){.poll_ms = 50,
                                 .base_ms = 1000,
                                 .cap_ms = 3600 * 1000,
                                 .max_attempts = 10,
                                 .inflight_cap = 64,
                                 .breaker_threshold = 5,
                                 .breaker_cooldown_ms = 60 * 1000,
                                 .batch = 256};
}

static const char *sub_package(const td__delivery_t *d, size_t i) { return d->subs[i].package; }
static const char *sub_hook(const td__delivery_t *d, size_t i) { return d->subs[i].hook; }

/* ---- the scan (reader thread) ---- */

static json_t *envelope_from_row(td__stmt_t *st, int col) {
  char at[40];
  td__time_format(td__stmt_int(st, col + 3), at, sizeof at);
  json_t *data = json_loads(td__stmt_text(st, col + 8), 0, NULL);
  return json_pack("{s:s,s:s,s:I,s:s,s:{s:s?,s:s},s:{s:s,s:s},s:o}", "id", td__stmt_text(st, col), "type",
                   td__stmt_text(st, col + 1), "version", (json_int_t)td__stmt_int(st, col + 2),
                   "occurred_at", at, "actor", "id", td__stmt_text(st, col + 4), "kind",
                   td__stmt_text(st, col + 5), "subject", "type", td__stmt_text(st, col + 6), "id",
                   td__stmt_text(st, col + 7), "data", data ? data : json_object());
}

static void add_due(scan_t *s, due_t due) {
  if (s->ndue == s->capdue) {
    s->capdue = s->capdue ? s->capdue * 2 : 64;
    s->due = td__xrealloc(s->due, s->capdue * sizeof *s->due);
  }
  s->due[s->ndue++] = due;
}

/* Whether sub i already has a row for the event (a failure recorded before a stop or crash
 * let the cursor behind it): then retries own it and no first attempt is made. */
static bool has_row(td__db_t *db, const td__delivery_t *d, size_t i, int64_t event_rowid) {
  td__stmt_t *st =
      td__db_stmt(db, "SELECT 1 FROM deliveries WHERE package = ? AND hook = ? AND event_rowid = ?");
  if (st == NULL) return false;
  td__stmt_bind_text(st, 1, sub_package(d, i));
  td__stmt_bind_text(st, 2, sub_hook(d, i));
  td__stmt_bind_int(st, 3, event_rowid);
  int rc = td__stmt_step(st);
  if (rc == 1) td__stmt_reset(st);
  return rc == 1;
}

/* First attempts: outbox rows past each subscriber's mark (or stored cursor), in order, up
 * to its free slots. A subscriber's new mark stops before the first matching row it had no
 * slot for, so that row is handed out by a later scan. */
static int scan_fresh(td__db_t *db, scan_t *s) {
  const td__delivery_t *d = s->d;
  int64_t from = INT64_MAX;
  bool *full = td__xcalloc(s->nsubs + 1, sizeof *full);
  int *taken = td__xcalloc(s->nsubs + 1, sizeof *taken);
  for (size_t i = 0; i < s->nsubs; i++) {
    if (s->from[i] < s->cursors[i]) s->from[i] = s->cursors[i];
    if (s->active[i] && s->fresh[i] > 0 && s->from[i] < from) from = s->from[i];
  }
  td__stmt_t *st = from == INT64_MAX ? NULL
                                     : td__db_stmt(db,
                                                   "SELECT rowid, rowid, 0, id, type, version, occurred_at, "
                                                   "actor_id, actor_kind, subject_type, subject_id, data "
                                                   "FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?");
  int rc = 0;
  if (st) {
    td__stmt_bind_int(st, 1, from);
    td__stmt_bind_int(st, 2, d->cfg.batch);
    while ((rc = td__stmt_step(st)) == 1) {
      int64_t rowid = td__stmt_int(st, 0);
      const char *type = td__stmt_text(st, 4);
      json_t *envelope = NULL;
      for (size_t i = 0; i < s->nsubs; i++) {
        if (!s->active[i] || s->fresh[i] <= 0 || full[i] || rowid <= s->from[i]) continue;
        if (!td__event_pattern_match(sub_hook(d, i), type)) {
          s->advance[i] = rowid; /* nothing to deliver to i: passed */
          continue;
        }
        if (has_row(db, d, i, rowid)) {
          s->advance[i] = rowid;
          continue;
        }
        if (taken[i] == s->fresh[i]) {
          full[i] = true;
          continue;
        }
        if (envelope == NULL) envelope = envelope_from_row(st, 3);
        add_due(s, (due_t){0, rowid, i, 0, json_incref(envelope)});
        taken[i]++;
        s->advance[i] = rowid;
      }
      json_decref(envelope);
    }
  }
  free(full);
  free(taken);
  return rc < 0 ? rc : 0;
}

static int scan_due(td__db_t *db, scan_t *s, size_t i) {
  td__stmt_t *st =
      td__db_stmt(db,
                  "SELECT d.rowid, d.event_rowid, d.attempts, e.id, e.type, e.version, e.occurred_at, "
                  "e.actor_id, e.actor_kind, e.subject_type, e.subject_id, e.data "
                  "FROM deliveries d JOIN events e ON e.rowid = d.event_rowid "
                  "WHERE d.package = ? AND d.hook = ? AND d.status IN ('pending', 'failed') "
                  "AND d.next_attempt_at <= ? ORDER BY d.event_rowid LIMIT ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, sub_package(s->d, i));
  td__stmt_bind_text(st, 2, sub_hook(s->d, i));
  td__stmt_bind_int(st, 3, s->now);
  td__stmt_bind_int(st, 4, s->limits[i]);
  int rc;
  while ((rc = td__stmt_step(st)) == 1)
    add_due(s, (due_t){td__stmt_int(st, 0), td__stmt_int(st, 1), i, (int)td__stmt_int(st, 2),
                       envelope_from_row(st, 3)});
  return rc < 0 ? rc : 0;
}

static int scan_run(td__db_t *db, void *arg) {
  scan_t *s = arg;
  const td__delivery_t *d = s->d;
  int64_t *cursors = s->cursors;
  int rc = 0;
  for (size_t i = 0; i < s->nsubs && rc == 0; i++) {
    td__stmt_t *st =
        td__db_stmt(db, "SELECT last_event_rowid FROM delivery_cursors WHERE package = ? AND hook = ?");
    if (st == NULL) {
      rc = TD_EIO;
      break;
    }
    td__stmt_bind_text(st, 1, sub_package(d, i));
    td__stmt_bind_text(st, 2, sub_hook(d, i));
    int step = td__stmt_step(st);
    if (step != 1) {
      rc = step < 0 ? step : TD_EIO; /* cursors are created at start */
      break;
    }
    cursors[i] = td__stmt_int(st, 0);
    td__stmt_reset(st);
  }
  for (size_t i = 0; i < s->nsubs && rc == 0; i++)
    if (s->limits[i] > 0) rc = scan_due(db, s, i);
  if (rc == 0) rc = scan_fresh(db, s);
  return rc;
}

/* ---- creating delivery rows (writer thread) ---- */

static int materialize_run(td__db_t *db, void *arg) {
  materialize_t *m = arg;
  const td__delivery_t *d = m->d;
  for (size_t i = 0; i < m->nsubs; i++) {
    td__stmt_t *st =
        m->at_start ? td__db_stmt(db,
                                  "INSERT INTO delivery_cursors(package, hook, last_event_rowid) "
                                  "VALUES (?, ?, coalesce((SELECT max(rowid) - 1 FROM events"
                                  " WHERE type = 'server.started'), (SELECT max(rowid) FROM events), 0)) "
                                  "ON CONFLICT(package, hook) DO NOTHING")
        : m->init ? td__db_stmt(db,
                              "INSERT INTO delivery_cursors(package, hook, last_event_rowid) "
                              "VALUES (?, ?, (SELECT coalesce(max(rowid), 0) FROM events)) "
                              "ON CONFLICT(package, hook) DO NOTHING")
                : td__db_stmt(db,
                              "UPDATE delivery_cursors SET last_event_rowid = max(last_event_rowid, ?3) "
                              "WHERE package = ?1 AND hook = ?2");
    if (st == NULL) return TD_EIO;
    if (!m->init && m->advance[i] == 0) continue;
    td__stmt_bind_text(st, 1, sub_package(d, i));
    td__stmt_bind_text(st, 2, sub_hook(d, i));
    if (!m->init) td__stmt_bind_int(st, 3, m->advance[i]);
    int rc = td__stmt_run(st);
    if (rc) return rc;
  }
  return 0;
}

static void materialize_done(void *arg, int rc) {
  materialize_t *m = arg;
  td__delivery_t *d = m->d;
  if (rc)
    td__log(TD_LOG_ERROR, "delivery_materialize_failed", json_pack("{s:i}", "code", rc));
  else if (m->init)
    d->ready = true;
  else
    for (size_t i = 0; i < m->nsubs; i++)
      if (m->advance[i] > d->subs[i].persisted) d->subs[i].persisted = m->advance[i];
  d->materializing = false;
  free(m->advance);
  free(m);
  maybe_resync(d);
  if (rc == 0) kick(d);
  maybe_free(d);
}

/* advance (taken; NULL with init) has one entry per subscriber of the list now. */
static void materialize_submit(td__delivery_t *d, bool init, bool at_start, int64_t *advance) {
  materialize_t *m = td__xcalloc(1, sizeof *m);
  *m = (materialize_t){.d = d, .init = init, .at_start = at_start, .nsubs = d->nsubs, .advance = advance};
  m->op = (td__write_op_t){.run = materialize_run, .done = materialize_done, .arg = m};
  d->materializing = true;
  td__writer_submit(d->writer, &m->op);
}

/* ---- recording an outcome (writer thread) ---- */

/* A retry updates its row; a failed first attempt creates the row it did not have (a row
 * left by a crash before the cursor moved on is updated instead). */
static int record_run(td__db_t *db, void *arg) {
  tracked_t *t = arg;
  const td__delivery_t *d = t->d;
  td__stmt_t *st;
  if (t->fresh) {
    st = td__db_stmt(
        db,
        "INSERT INTO deliveries(id, event_rowid, package, hook, status, attempts, "
        "next_attempt_at, last_error, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, "
        "?8, ?8) ON CONFLICT(package, hook, event_rowid) DO UPDATE SET status = excluded.status, "
        "attempts = attempts + 1, next_attempt_at = excluded.next_attempt_at, "
        "last_error = excluded.last_error, updated_at = excluded.updated_at");
    if (st == NULL) return TD_EIO;
    char id[TD_ID_MAX];
    td__id_new("dlv", id);
    td__stmt_bind_text(st, 1, id);
    td__stmt_bind_int(st, 2, t->event_rowid);
    td__stmt_bind_text(st, 3, sub_package(d, t->sub));
    td__stmt_bind_text(st, 4, sub_hook(d, t->sub));
    td__stmt_bind_text(st, 5, t->status);
    td__stmt_bind_int(st, 6, t->next_at);
    td__stmt_bind_text(st, 7, t->error);
    td__stmt_bind_int(st, 8, t->now);
    return td__stmt_run(st);
  }
  st = td__db_stmt(db,
                   "UPDATE deliveries SET status = ?, attempts = attempts + 1, "
                   "next_attempt_at = ?, last_error = ?, updated_at = ? WHERE rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, t->status);
  td__stmt_bind_int(st, 2, t->next_at);
  td__stmt_bind_text(st, 3, t->outcome ? t->error : NULL);
  td__stmt_bind_int(st, 4, t->now);
  td__stmt_bind_int(st, 5, t->rowid);
  return td__stmt_run(st);
}

static void untrack(td__delivery_t *d, tracked_t *t) {
  for (tracked_t **p = &d->tracked; *p; p = &(*p)->next)
    if (*p == t) {
      *p = t->next;
      break;
    }
  free(t);
}

static void record_done(void *arg, int rc) {
  tracked_t *t = arg;
  td__delivery_t *d = t->d;
  if (rc) /* the row keeps its previous state and is tried again: at least once */
    td__log(TD_LOG_ERROR, "delivery_record_failed",
            json_pack("{s:I,s:i}", "delivery", (json_int_t)t->rowid, "code", rc));
  t->state = T_SETTLED;
  t->settled_seq = d->scan_seq;
  /* A first attempt's row (when rc == 0) now holds it; if the write failed, the cursor never
   * passed it and it is handed out again after a restart. Either way it needs no tracking. */
  if (d->stopping || t->fresh) untrack(d, t);
  if (!d->stopping) kick(d);
  maybe_free(d);
}

/* ---- backoff and the circuit breaker (loop thread) ---- */

static uint64_t next_random(td__delivery_t *d) {
  d->rng ^= d->rng << 13; /* xorshift64: jitter needs spread, not secrecy */
  d->rng ^= d->rng >> 7;
  d->rng ^= d->rng << 17;
  return d->rng;
}

/* The delay before retry number `attempts` (1-based): base * 2^(attempts-1) capped, then a
 * random 50-100 % of it so that subscribers failing together do not retry together. */
static int64_t backoff_ms(td__delivery_t *d, int attempts) {
  int64_t delay = d->cfg.base_ms;
  for (int i = 1; i < attempts && delay < d->cfg.cap_ms; i++) delay *= 2;
  if (delay > d->cfg.cap_ms) delay = d->cfg.cap_ms;
  int64_t half = delay / 2;
  return half + (half > 0 ? (int64_t)(next_random(d) % (uint64_t)(half + 1)) : 0);
}

static void breaker_success(td__delivery_t *d, sub_t *s) {
  (void)d;
  s->consecutive_failures = 0;
  if (s->entry) atomic_store(&s->entry->failures, 0);
  s->trial = false;
  if (s->open) {
    s->open = false;
    if (s->entry) atomic_store(&s->entry->disabled, false);
    td__log(TD_LOG_INFO, "event_subscriber_enabled",
            json_pack("{s:s,s:s}", "package", s->package, "hook", s->hook));
  }
}

static void breaker_failure(td__delivery_t *d, sub_t *s, int64_t now) {
  s->consecutive_failures++;
  if (s->entry) atomic_store(&s->entry->failures, s->consecutive_failures);
  bool reopen = s->trial;
  s->trial = false;
  if (!reopen && (s->open || s->consecutive_failures < d->cfg.breaker_threshold)) return;
  s->open = true;
  s->open_until = now + d->cfg.breaker_cooldown_ms;
  if (s->entry) atomic_store(&s->entry->disabled, true);
  td__metrics_count("td_event_breaker_opened_total", 1);
  td__log(TD_LOG_ERROR, "event_subscriber_disabled",
          json_pack("{s:s,s:s,s:i,s:I}", "package", s->package, "hook", s->hook, "failures",
                    s->consecutive_failures, "cooldown_ms", (json_int_t)d->cfg.breaker_cooldown_ms));
}

/* Whether s may get one more call now (in-flight cap, breaker). */
static bool may_call(td__delivery_t *d, sub_t *s, int64_t now) {
  if (s->entry == NULL || s->inflight >= d->cfg.inflight_cap) return false;
  if (!s->open) return true;
  if (now < s->open_until || s->trial) return false;
  s->trial = true; /* half-open: this call decides */
  return true;
}

/* ---- calling subscribers (loop thread) ---- */

/* The completion a subscriber calls (td__event_done_fn). */
static void on_event_done(void *token, int rc, const char *error) {
  tracked_t *t = token;
  td__delivery_t *d = t->d;
  if (t->state != T_CALLING) {
    td__log(TD_LOG_ERROR, "event_done_twice", json_pack("{s:I}", "delivery", (json_int_t)t->rowid));
    return;
  }
  sub_t *s = &d->subs[t->sub];
  s->inflight--;
  t->now = td__time_now_ms();
  t->outcome = rc;
  if (rc == 0) {
    memcpy(t->status, "ok", 3);
    t->next_at = t->now;
    td__metrics_count("td_event_deliveries_ok_total", 1);
    if (!d->stopping) breaker_success(d, s);
  } else {
    int attempts = t->attempts + 1;
    bool dead = attempts >= d->cfg.max_attempts;
    memcpy(t->status, dead ? "dead" : "failed", dead ? 5 : 7);
    t->next_at = dead ? t->now : t->now + backoff_ms(d, attempts);
    snprintf(t->error, sizeof t->error, "%s", error && *error ? error : td_strerror(rc));
    td__metrics_count(dead ? "td_event_deliveries_dead_total" : "td_event_deliveries_failed_total", 1);
    td__log(dead ? TD_LOG_ERROR : TD_LOG_WARN, dead ? "event_delivery_dead" : "event_delivery_failed",
            json_pack("{s:s,s:s,s:I,s:i,s:i}", "package", s->package, "hook", s->hook, "delivery",
                      (json_int_t)t->rowid, "attempts", attempts, "code", rc));
    /* A partial failure says the subscriber works but some of its own targets did not take
     * the event (one webhook endpoint down): retried, but the subscriber stays open. */
    if (!d->stopping && rc != TD_EPARTIAL) breaker_failure(d, s, t->now);
  }
  if (d->stopping) { /* not recorded: delivered again after restart */
    untrack(d, t);
    maybe_free(d);
    return;
  }
  if (t->fresh && rc == 0) { /* a first attempt that worked writes nothing: the cursor moves on */
    untrack(d, t);
    kick(d);
    return;
  }
  t->state = T_RECORDING;
  t->op = (td__write_op_t){.run = record_run, .done = record_done, .arg = t};
  td__writer_submit(d->writer, &t->op);
}

/* Whether the delivery row rowid is being handled (first attempts have no row). */
static bool is_tracked(const td__delivery_t *d, int64_t rowid) {
  for (const tracked_t *t = d->tracked; t; t = t->next)
    if (t->rowid == rowid && rowid != 0) return true;
  return false;
}

/* Cursors that may move on: up to the subscriber's mark, but before its first attempt
 * still running or being recorded (a crash then hands that event out again). NULL when
 * none moves. */
static int64_t *cursor_advances(td__delivery_t *d) {
  int64_t *advance = NULL;
  for (size_t i = 0; i < d->nsubs; i++) {
    int64_t to = d->subs[i].mark;
    for (const tracked_t *t = d->tracked; t; t = t->next)
      if (t->fresh && t->sub == i && t->event_rowid - 1 < to) to = t->event_rowid - 1;
    if (to <= d->subs[i].persisted) continue;
    if (advance == NULL) advance = td__xcalloc(d->nsubs, sizeof *advance);
    advance[i] = to;
  }
  return advance;
}

static void call_subscriber(td__delivery_t *d, due_t *due) {
  tracked_t *t = td__xcalloc(1, sizeof *t);
  t->d = d;
  t->rowid = due->rowid;
  t->event_rowid = due->event_rowid;
  t->fresh = due->rowid == 0;
  t->sub = due->sub;
  t->attempts = due->attempts;
  t->state = T_CALLING;
  t->next = d->tracked;
  d->tracked = t;
  d->subs[due->sub].inflight++;
  td__event_call(d->subs[due->sub].entry, due->envelope, on_event_done, t);
}

/* Outbox order first, then subscriber priority (the subs array is in registry order). */
static int due_cmp(const void *pa, const void *pb) {
  const due_t *a = pa, *b = pb;
  if (a->event_rowid != b->event_rowid) return a->event_rowid < b->event_rowid ? -1 : 1;
  return a->sub < b->sub ? -1 : a->sub > b->sub;
}

/* Forgets settled deliveries whose outcome the scan (submitted at seq) already saw. */
static void forget_settled(td__delivery_t *d, uint64_t seq) {
  tracked_t **p = &d->tracked;
  while (*p) {
    tracked_t *t = *p;
    if (t->state == T_SETTLED && t->settled_seq < seq) {
      *p = t->next;
      free(t);
    } else {
      p = &t->next;
    }
  }
}

static void scan_free(scan_t *s) {
  for (size_t i = 0; i < s->ndue; i++) json_decref(s->due[i].envelope);
  free(s->due);
  free(s->advance);
  free(s->limits);
  free(s->fresh);
  free(s->from);
  free(s->cursors);
  free(s->active);
  free(s);
}

static void scan_done(void *arg, int rc) {
  scan_t *s = arg;
  td__delivery_t *d = s->d;
  d->scanning = false;
  if (rc) td__log(TD_LOG_ERROR, "delivery_scan_failed", json_pack("{s:i}", "code", rc));
  if (rc == 0 && !d->stopping) {
    forget_settled(d, s->seq);
    for (size_t i = 0; i < s->nsubs; i++) {
      sub_t *sub = &d->subs[i];
      if (s->cursors[i] > sub->persisted) sub->persisted = s->cursors[i];
      if (sub->mark < sub->persisted) sub->mark = sub->persisted;
      if (s->advance[i] > sub->mark) sub->mark = s->advance[i];
    }
    if (s->ndue > 1) qsort(s->due, s->ndue, sizeof *s->due, due_cmp);
    int64_t now = td__time_now_ms();
    for (size_t i = 0; i < s->ndue; i++) {
      due_t *due = &s->due[i];
      if (is_tracked(d, due->rowid)) continue;
      if (!may_call(d, &d->subs[due->sub], now)) {
        /* A first attempt not made now must be handed out again: pull the mark back. */
        if (due->rowid == 0 && due->event_rowid - 1 < d->subs[due->sub].mark)
          d->subs[due->sub].mark = due->event_rowid - 1;
        continue;
      }
      call_subscriber(d, due);
    }
    int64_t *advance = cursor_advances(d);
    if (advance) materialize_submit(d, false, false, advance);
  }
  scan_free(s);
  maybe_resync(d);
  maybe_free(d);
}

static void scan_submit(td__delivery_t *d) {
  if (d->scanning || d->materializing || !d->ready || d->stopping || d->resync_pending || d->nsubs == 0)
    return;
  scan_t *s = td__xcalloc(1, sizeof *s);
  s->d = d;
  s->seq = ++d->scan_seq;
  s->now = td__time_now_ms();
  s->nsubs = d->nsubs;
  s->active = td__xcalloc(d->nsubs, sizeof *s->active);
  s->limits = td__xcalloc(d->nsubs, sizeof *s->limits);
  s->fresh = td__xcalloc(d->nsubs, sizeof *s->fresh);
  s->from = td__xcalloc(d->nsubs, sizeof *s->from);
  s->cursors = td__xcalloc(d->nsubs, sizeof *s->cursors);
  s->advance = td__xcalloc(d->nsubs, sizeof *s->advance);
  for (size_t i = 0; i < d->nsubs; i++) {
    s->active[i] = d->subs[i].entry != NULL;
    s->from[i] = d->subs[i].mark;
    const sub_t *sub = &d->subs[i];
    bool closed = !sub->open || (s->now >= sub->open_until && !sub->trial);
    int free_slots = d->cfg.inflight_cap - sub->inflight;
    int tracked = 0;
    for (const tracked_t *t = d->tracked; t; t = t->next) tracked += t->sub == i;
    /* Ask for the free slots plus what the loop already handles (it may still look due). */
    s->limits[i] = closed && free_slots > 0 && sub->entry ? free_slots + tracked : 0;
    s->fresh[i] = closed && free_slots > 0 && sub->entry ? free_slots : 0;
  }
  s->op = (td__read_op_t){.run = scan_run, .done = scan_done, .arg = s};
  d->scanning = true;
  if (td__reader_submit(d->loop, &s->op) != 0) {
    d->scanning = false;
    scan_free(s);
  }
}

static void kick(td__delivery_t *d) { scan_submit(d); }

static void on_tick(uv_timer_t *timer) { scan_submit(timer->data); }

/* ---- start and stop ---- */

static sub_t sub_from_entry(td__hook_entry_t *entry) {
  sub_t sub = {.entry = entry};
  snprintf(sub.package, sizeof sub.package, "%s", entry->package);
  snprintf(sub.hook, sizeof sub.hook, "%s", entry->hook);
  return sub;
}

static void collect_sub(const td__hook_entry_t *entry, size_t position, void *arg) {
  (void)position;
  td__delivery_t *d = arg;
  if (!td__event_is_subscriber(entry)) return;
  d->subs = td__xrealloc(d->subs, (d->nsubs + 1) * sizeof *d->subs);
  d->subs[d->nsubs++] = sub_from_entry((td__hook_entry_t *)entry);
}

/* Orders subscribers as the registry orders a hook's entries (priority, package, seq), so
 * that the calls for one event follow it across patterns too. */
static void order_subs(td__delivery_t *d) {
  if (d->nsubs < 2) return;
  td__hook_entry_t **entries = td__xcalloc(d->nsubs, sizeof *entries);
  for (size_t i = 0; i < d->nsubs; i++) entries[i] = d->subs[i].entry;
  td__hooks_order(entries, d->nsubs, NULL);
  for (size_t i = 0; i < d->nsubs; i++) d->subs[i] = sub_from_entry(entries[i]);
  free(entries);
}

/* ---- following live registry changes (script reloads) ---- */

typedef struct resync {
  td__delivery_t *d;
  bool added;  /* the registry has subscribers the list lacks */
  bool append; /* add them now */
} resync_t;

static sub_t *find_sub(td__delivery_t *d, const char *package, const char *hook) {
  for (size_t i = 0; i < d->nsubs; i++)
    if (strcmp(d->subs[i].package, package) == 0 && strcmp(d->subs[i].hook, hook) == 0) return &d->subs[i];
  return NULL;
}

/* A subscriber of the current registry: the same (package, pattern) gets the new entry and
 * keeps its state and index (in-flight deliveries refer to it); a new one is noted, and
 * appended when append is set. */
static void resync_one(const td__hook_entry_t *entry, size_t position, void *arg) {
  (void)position;
  resync_t *r = arg;
  if (!td__event_is_subscriber(entry)) return;
  sub_t *sub = find_sub(r->d, entry->package, entry->hook);
  if (sub) {
    sub->entry = (td__hook_entry_t *)entry;
    return;
  }
  r->added = true;
  if (!r->append) return;
  r->d->subs = td__xrealloc(r->d->subs, (r->d->nsubs + 1) * sizeof *r->d->subs);
  r->d->subs[r->d->nsubs++] = sub_from_entry((td__hook_entry_t *)entry);
}

/* Points every subscriber at the current registry's entry, or NULL when its package dropped
 * it: never called again, its pending rows stay for the admin to see. Done at once, so no
 * entry the registry retires is used after the change (other threads never read entries:
 * scans carry their own active flags). With append, subscribers new to the list are added:
 * that grows the list, which scans and writes read on other threads, so it waits until
 * none is running; new ones get a cursor at the end of the outbox first (ready waits). */
static void apply_resync(td__delivery_t *d, bool append) {
  for (size_t i = 0; i < d->nsubs; i++) d->subs[i].entry = NULL;
  resync_t r = {d, false, append};
  td__hooks_list(resync_one, &r);
  if (!append) {
    d->resync_pending = r.added;
    return;
  }
  d->resync_pending = false;
  if (r.added) {
    d->ready = false;
    materialize_submit(d, true, false, NULL);
  }
  if (d->nsubs && !d->timer_running) {
    uv_timer_start(&d->timer, on_tick, (uint64_t)d->cfg.poll_ms, (uint64_t)d->cfg.poll_ms);
    d->timer_running = true;
  }
}

static void maybe_resync(td__delivery_t *d) {
  if (!d->resync_pending || d->scanning || d->materializing || d->stopping) return;
  apply_resync(d, true);
}

void td__delivery_resync(td__delivery_t *d) {
  if (d == NULL || d->stopping) return;
  apply_resync(d, false);
  maybe_resync(d);
}

static int64_t or_default(int64_t v, int64_t def) { return v > 0 ? v : def; }

int td__delivery_start_with(uv_loop_t *loop, td__writer_t *writer, const char *db_path,
                            const td__delivery_config_t *cfg, td__delivery_t **out) {
  if (loop == NULL || writer == NULL || out == NULL) return TD_EINVAL;
  td__delivery_config_t def = td__delivery_config_default(), c = cfg ? *cfg : def;
  c.poll_ms = or_default(c.poll_ms, def.poll_ms);
  c.base_ms = or_default(c.base_ms, def.base_ms);
  c.cap_ms = or_default(c.cap_ms, def.cap_ms);
  c.max_attempts = (int)or_default(c.max_attempts, def.max_attempts);
  c.inflight_cap = (int)or_default(c.inflight_cap, def.inflight_cap);
  c.breaker_threshold = (int)or_default(c.breaker_threshold, def.breaker_threshold);
  c.breaker_cooldown_ms = or_default(c.breaker_cooldown_ms, def.breaker_cooldown_ms);
  c.batch = (int)or_default(c.batch, def.batch);
  td__delivery_t *d = td__xcalloc(1, sizeof *d);
  d->loop = loop;
  d->writer = writer;
  d->cfg = c;
  d->rng = (uint64_t)td__time_mono_ns() | 1;
  if (db_path) td__reader_configure(db_path);
  td__hooks_list(collect_sub, d);
  order_subs(d);
  uv_timer_init(loop, &d->timer);
  d->timer.data = d;
  if (d->nsubs) {
    materialize_submit(d, true, true, NULL);
    uv_timer_start(&d->timer, on_tick, (uint64_t)c.poll_ms, (uint64_t)c.poll_ms);
    d->timer_running = true;
  }
  td__log(TD_LOG_INFO, "delivery_started", json_pack("{s:I}", "subscribers", (json_int_t)d->nsubs));
  *out = d;
  return 0;
}

int td__delivery_start(uv_loop_t *loop, td__writer_t *writer, const char *db_path, td__delivery_t **out) {
  return td__delivery_start_with(loop, writer, db_path, NULL, out);
}

static void maybe_free(td__delivery_t *d) {
  if (!d->stopping || !d->timer_closed || d->scanning || d->materializing) return;
  for (const tracked_t *t = d->tracked; t; t = t->next)
    if (t->state != T_SETTLED) return;
  while (d->tracked) {
    tracked_t *t = d->tracked;
    d->tracked = t->next;
    free(t);
  }
  free(d->subs);
  free(d);
}

static void on_timer_closed(uv_handle_t *handle) {
  td__delivery_t *d = handle->data;
  d->timer_closed = true;
  maybe_free(d);
}

void td__delivery_stop(td__delivery_t *d) {
  if (d == NULL || d->stopping) return;
  d->stopping = true;
  uv_timer_stop(&d->timer);
  uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

/* ---- the admin API's store functions ---- */

#define DELIVERY_COLUMNS                                                                                    \
  "d.rowid, d.id, e.id, e.type, d.package, d.hook, d.status, d.attempts, d.next_attempt_at, d.last_error, " \
  "d.created_at, d.updated_at"

static json_t *time_json(int64_t ms) {
  char at[40];
  td__time_format(ms, at, sizeof at);
  return json_string(at);
}

static json_t *delivery_json(td__stmt_t *st) {
  bool retrying = strcmp(td__stmt_text(st, 6), "pending") == 0 || strcmp(td__stmt_text(st, 6), "failed") == 0;
  return json_pack("{s:s,s:s?,s:s?,s:{s:s,s:s},s:s,s:I,s:o,s:s?,s:o,s:o}", "id", td__stmt_text(st, 1),
                   "event_id", td__stmt_text(st, 2), "event_type", td__stmt_text(st, 3), "subscriber",
                   "package", td__stmt_text(st, 4), "hook", td__stmt_text(st, 5), "status",
                   td__stmt_text(st, 6), "attempts", (json_int_t)td__stmt_int(st, 7), "next_attempt_at",
                   retrying ? time_json(td__stmt_int(st, 8)) : json_null(), "last_error",
                   td__stmt_text(st, 9), "created_at", time_json(td__stmt_int(st, 10)), "updated_at",
                   time_json(td__stmt_int(st, 11)));
}

int td__delivery_list(td__db_t *db, const char *status, const char *package, int limit, int64_t after,
                      json_t **items, int64_t *next) {
  *items = json_array();
  *next = 0;
  td__stmt_t *st = td__db_stmt(db, "SELECT " DELIVERY_COLUMNS
                                   " FROM deliveries d "
                                   "LEFT JOIN events e ON e.rowid = d.event_rowid "
                                   "WHERE d.rowid > ?1 AND (?2 IS NULL OR d.status = ?2) "
                                   "AND (?3 IS NULL OR d.package = ?3) ORDER BY d.rowid LIMIT ?4");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, after);
  td__stmt_bind_text(st, 2, status);
  td__stmt_bind_text(st, 3, package);
  td__stmt_bind_int(st, 4, (int64_t)limit + 1);
  int rc, n = 0;
  int64_t last = 0;
  while ((rc = td__stmt_step(st)) == 1) {
    if (n == limit) {
      *next = last;
      td__stmt_reset(st);
      rc = 0;
      break;
    }
    last = td__stmt_int(st, 0);
    json_array_append_new(*items, delivery_json(st));
    n++;
  }
  return rc < 0 ? rc : 0;
}

static int delivery_get(td__db_t *db, const char *id, json_t **out) {
  td__stmt_t *st = td__db_stmt(db, "SELECT " DELIVERY_COLUMNS
                                   " FROM deliveries d "
                                   "LEFT JOIN events e ON e.rowid = d.event_rowid WHERE d.id = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id);
  int rc = td__stmt_step(st);
  if (rc == 1) {
    *out = delivery_json(st);
    td__stmt_reset(st);
    return 0;
  }
  return rc == 0 ? TD_ENOTFOUND : rc;
}

int td__delivery_replay(td__db_t *db, const char *id, int64_t now_ms, json_t **out) {
  td__stmt_t *st = td__db_stmt(db,
                               "UPDATE deliveries SET status = 'pending', attempts = 0, "
                               "next_attempt_at = ?1, updated_at = ?1 WHERE id = ?2");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, now_ms);
  td__stmt_bind_text(st, 2, id);
  int rc = td__stmt_run(st);
  if (rc) return rc;
  if (td__db_changes(db) == 0) return TD_ENOTFOUND;
  return out ? delivery_get(db, id, out) : 0;
}
