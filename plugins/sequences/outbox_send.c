/* The sender: moves queued messages from the outbox to the SMTP server through the host's
 * mail transfers (libcurl multi on the loop).
 *
 * How it is driven. The SDK gives a plugin no timers of its own, only durable scheduled runs,
 * so the sender is the run handler "mail.send": queueing a message schedules a run at once
 * (sq_outbox_wake, in the queueing transaction: one run for a burst, see sequences_mail_pump).
 * A run claims a batch in one write transaction - due queued rows, plus rows left 'sending' by
 * an earlier process (a crash) - marks them 'sending' with this process's boot id, and
 * schedules the next run: in a second while due work remains, every 5 s while messages are in
 * flight (so a crash is noticed soon after a restart), or at the earliest future due time. The
 * run then finishes; the claimed messages sit in memory and are handed to the host as
 * concurrency allows (global and per recipient domain), a new transfer starting whenever one
 * ends. While due messages remain, the loop claims the next batch itself when fewer than
 * REFILL_BELOW are ready (a refill: a claim without a run), so throughput is not bound to the
 * scheduler's poll; the runs remain the durable wake-up. Outcomes are written in batches: sent; a temporary failure queued again with
 * exponential backoff (failed after MAX_ATTEMPTS); a permanent one failed, stopping the
 * person's enrollments with "bounced".
 *
 * At least once: a message is marked 'sending' before its transfer and 'sent' after, so a
 * crash in between sends it again after the restart - the same stored bytes, the same
 * Message-ID. The per-sender daily cap counts claims by UTC day; the sending window (the
 * recipient's zone) moves a due message to the next opening at claim time. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_int.h"

#define HOLD_MAX 1000      /* messages claimed and held in memory at most */
#define CLAIM_MAX 500      /* per claim */
#define REFILL_BELOW 200   /* claim more between runs when fewer are ready */
#define MAX_ATTEMPTS 8     /* then a temporary failure becomes 'failed' */
#define RETRY_BASE_MS 30000
#define RETRY_MAX_MS 3600000
#define NEXT_BUSY_MS 1000    /* due work remains */
#define NEXT_WATCH_MS 5000   /* messages in flight: notice a crash */
#define NEXT_OFF_MS 15000    /* sending is not configured: look again (cheap) */
#define DAY_MS 86400000LL
#define TRANSFER_TIMEOUT_MS 30000

enum { SENT = 0, TEMPORARY = 1, PERMANENT = 2 };

typedef struct item {
  struct item *next;
  char id[TD_PLUGIN_ID_MAX], candidate_id[TD_PLUGIN_ID_MAX];
  char *to, *domain, *mail_from, *bytes;
  int attempts;
  int outcome;
  long code;
  char error[160];
} item_t;

typedef struct domain {
  struct domain *next;
  int64_t n;
  char name[];
} domain_t;

static item_t *ready, *results;
/* Changed on the loop thread only; atomic because GET /email/status reads them elsewhere. */
static atomic_size_t ready_count, in_flight;
static bool flushing;
static domain_t *domains;
static char boot[TD_PLUGIN_ID_MAX];

static void item_free(item_t *it) {
  if (it == NULL) return;
  free(it->to), free(it->domain), free(it->mail_from), free(it->bytes);
  free(it);
}

static void free_list(item_t *it) {
  while (it) {
    item_t *next = it->next;
    item_free(it);
    it = next;
  }
}

void sq_outbox_counts(int64_t *in_flight_out, int64_t *ready_out) {
  *in_flight_out = (int64_t)in_flight;
  *ready_out = (int64_t)ready_count;
}

static domain_t *domain_get(const char *name) {
  for (domain_t *d = domains; d; d = d->next)
    if (strcmp(d->name, name) == 0) return d;
  size_t n = strlen(name);
  domain_t *d = calloc(1, sizeof *d + n + 1);
  if (d == NULL) return NULL;
  memcpy(d->name, name, n + 1);
  d->next = domains;
  domains = d;
  return d;
}

/* ---- claiming (writer thread) ---- */

typedef struct claim {
  td_run_t *run;
  int64_t now;
  int64_t capacity;
  bool off;
  bool more; /* out: due messages remain after this claim */
  char boot[TD_PLUGIN_ID_MAX];
  item_t *items;
  char error[160];
} claim_t;

static char *dup_text(const json_t *row, const char *key) {
  const char *s = json_string_value(json_object_get(row, key));
  return strdup(s ? s : "");
}

static item_t *item_from_row(const json_t *row) {
  item_t *it = calloc(1, sizeof *it);
  if (it == NULL) return NULL;
  snprintf(it->id, sizeof it->id, "%s", json_string_value(json_object_get(row, "id")));
  snprintf(it->candidate_id, sizeof it->candidate_id, "%s", json_string_value(json_object_get(row, "candidate_id")));
  it->to = dup_text(row, "to_address");
  it->domain = dup_text(row, "to_domain");
  it->mail_from = dup_text(row, "mail_from");
  it->bytes = dup_text(row, "message");
  it->attempts = (int)json_integer_value(json_object_get(row, "attempts")) + 1;
  if (!it->to || !it->domain || !it->mail_from || !it->bytes) {
    item_free(it);
    return NULL;
  }
  return it;
}

static int set_due(td_tx_t *tx, const char *id, int64_t due) {
  json_t *params = json_pack("[s,I]", id, (json_int_t)due);
  int rc = sq_api->exec(tx, "UPDATE sequences_outbox SET due_at = ?2, updated_at = ?2 WHERE id = ?1", params, NULL);
  json_decref(params);
  return rc;
}

/* The messages each sender had claimed today (UTC), keyed by sender. */
static json_t *sent_today(td_tx_t *tx, int64_t day) {
  json_t *rows = NULL, *counts = json_object(), *params = json_pack("[I]", (json_int_t)day);
  if (sq_api->query(tx,
                    "SELECT sender_key, count(*) AS n FROM sequences_outbox WHERE send_day = ?1 AND status IN "
                    "('sending', 'sent') GROUP BY sender_key",
                    params, &rows) == 0) {
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_object_set(counts, json_string_value(json_object_get(row, "sender_key")),
                                                     json_object_get(row, "n"));
  }
  json_decref(params);
  json_decref(rows);
  return counts;
}

/* Whether the row may go now; otherwise its due time moves to when it may. */
static int admit(td_tx_t *tx, const json_t *row, json_t *counts, int64_t now, bool *go) {
  const sq_mail_config_t *cfg = sq_mail_config();
  const char *id = json_string_value(json_object_get(row, "id"));
  *go = false;
  if (strcmp(json_string_value(json_object_get(row, "status")), "sending") == 0) { /* a crash's leftover */
    *go = true;
    return 0;
  }
  int64_t open = sq_window_next(cfg, json_string_value(json_object_get(row, "time_zone")), now);
  if (open > now) return set_due(tx, id, open);
  const char *sender = json_string_value(json_object_get(row, "sender_key"));
  json_int_t n = json_integer_value(json_object_get(counts, sender));
  if (n >= cfg->max_per_sender_per_day) return set_due(tx, id, (now / DAY_MS + 1) * DAY_MS);
  json_object_set_new(counts, sender, json_integer(n + 1));
  *go = true;
  return 0;
}

static int mark_sending(td_tx_t *tx, claim_t *c, const json_t *row) {
  json_t *params = json_pack("[s,s,I,I]", json_string_value(json_object_get(row, "id")), c->boot,
                             (json_int_t)(c->now / DAY_MS), (json_int_t)c->now);
  int rc = sq_api->exec(tx,
                        "UPDATE sequences_outbox SET status = 'sending', boot = ?2, send_day = ?3, "
                        "attempts = attempts + 1, updated_at = ?4 WHERE id = ?1",
                        params, NULL);
  json_decref(params);
  if (rc) return rc;
  item_t *it = item_from_row(row);
  if (it == NULL) return TD_ENOMEM;
  it->next = c->items;
  c->items = it;
  return 0;
}

/* Schedules the next run as the header comment says. */
static int plan_next(td_tx_t *tx, claim_t *c) {
  json_t *rows = NULL;
  int rc = sq_api->query(tx,
                         "SELECT (SELECT min(due_at) FROM sequences_outbox WHERE status = 'queued') AS due, "
                         "(SELECT count(*) FROM sequences_outbox WHERE status = 'sending') AS sending",
                         NULL, &rows);
  if (rc) return rc;
  const json_t *row = json_array_get(rows, 0), *due = json_object_get(row, "due");
  int64_t sending = json_integer_value(json_object_get(row, "sending")), at = 0;
  if (c->off)
    at = json_is_integer(due) ? c->now + NEXT_OFF_MS : 0;
  else if (json_is_integer(due) && json_integer_value(due) <= c->now)
    at = c->now + NEXT_BUSY_MS;
  else if (sending > 0)
    at = json_is_integer(due) && json_integer_value(due) < c->now + NEXT_WATCH_MS ? json_integer_value(due)
                                                                                : c->now + NEXT_WATCH_MS;
  else if (json_is_integer(due))
    at = json_integer_value(due);
  c->more = !c->off && json_is_integer(due) && json_integer_value(due) <= c->now;
  json_decref(rows);
  return at ? sq_outbox_wake(tx, at) : 0; /* skipped when a run at or before `at` is pending */
}

/* Two index range scans (status, due_at), not one OR over the whole outbox. */
#define CLAIM_COLUMNS                                                                                  \
  "o.id AS id, o.candidate_id AS candidate_id, o.to_address AS to_address, o.to_domain AS to_domain,"   \
  " o.mail_from AS mail_from, o.sender_key AS sender_key, o.time_zone AS time_zone, b.message AS message," \
  " o.status AS status, o.attempts AS attempts, o.due_at AS due_at"
#define CLAIM_FROM " FROM sequences_outbox o JOIN sequences_outbox_bodies b ON b.rowid = o.rowid"

static int claim(td_tx_t *tx, void *data) {
  claim_t *c = data;
  /* A run consumes the pending wake-up; a refill (no run) leaves it. */
  int rc = c->run ? sq_api->exec(tx, "UPDATE sequences_mail_pump SET next_at = NULL WHERE id = 1", NULL, NULL) : 0;
  json_t *rows = NULL, *counts = NULL;
  if (rc == 0 && !c->off && c->capacity > 0) {
    json_t *params = json_pack("[I,s,I]", (json_int_t)c->now, c->boot, (json_int_t)c->capacity);
    rc = sq_api->query(tx,
                       "SELECT * FROM (SELECT " CLAIM_COLUMNS CLAIM_FROM " WHERE o.status = 'sending' "
                       "AND o.boot IS NOT ?2 UNION ALL SELECT " CLAIM_COLUMNS CLAIM_FROM " WHERE o.status = "
                       "'queued' AND o.due_at <= ?1) ORDER BY due_at LIMIT ?3",
                       params, &rows);
    json_decref(params);
    counts = sent_today(tx, c->now / DAY_MS);
  }
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    bool go = false;
    if (rc == 0) rc = admit(tx, row, counts, c->now, &go);
    if (rc == 0 && go) rc = mark_sending(tx, c, row);
  }
  json_decref(rows);
  json_decref(counts);
  if (rc == 0) rc = plan_next(tx, c);
  if (rc) {
    free_list(c->items);
    c->items = NULL;
    snprintf(c->error, sizeof c->error, "claiming messages failed (%d)", rc);
  }
  return rc;
}

/* ---- sending (loop thread) ---- */

static void flush(void);
static void start_more(void);
static void refill(void);

static void push_result(item_t *it) {
  it->next = results;
  results = it;
}

static void on_sent(const td_mail_response_t *res, void *data) {
  item_t *it = data;
  domain_t *d = domain_get(it->domain);
  if (d && d->n > 0) d->n--;
  in_flight--;
  if (!res->ok && res->error && strstr(res->error, "cancel")) {
    /* the server is stopping: the row stays 'sending' and the next process sends it again */
    item_free(it);
    return;
  }
  it->code = res->code;
  it->outcome = res->ok ? SENT : res->permanent ? PERMANENT : TEMPORARY;
  if (!res->ok) snprintf(it->error, sizeof it->error, "%s", res->error ? res->error : "the transfer failed");
  push_result(it);
  flush();
  start_more();
}

/* Starts transfers for ready messages while the limits allow. */
static void start_more(void) {
  const sq_mail_config_t *cfg = sq_mail_config();
  item_t **pp = &ready;
  while (*pp && (int64_t)in_flight < cfg->concurrency) {
    item_t *it = *pp;
    domain_t *d = domain_get(it->domain);
    if (d && d->n >= cfg->per_domain_concurrency) {
      pp = &it->next;
      continue;
    }
    *pp = it->next;
    ready_count--;
    const char *rcpt[] = {it->to};
    td_mail_request_t r = {cfg->smtp_url, cfg->smtp_user, cfg->smtp_password, cfg->require_tls, it->mail_from,
                           rcpt, 1, it->bytes, strlen(it->bytes), NULL, TRANSFER_TIMEOUT_MS, 0};
    int rc = sq_api->mail_transfer(sq_self, &r, on_sent, it);
    if (rc == TD_ELIMIT) { /* the host is full: try again when a transfer ends */
      it->next = *pp;
      *pp = it;
      ready_count++;
      break;
    }
    if (rc != 0) {
      it->outcome = TEMPORARY;
      snprintf(it->error, sizeof it->error, "the host refused the mail transfer (%d)", rc);
      push_result(it);
      continue;
    }
    in_flight++;
    if (d) d->n++;
  }
  flush();
  refill();
}

/* ---- recording outcomes (writer thread) ---- */

static int64_t backoff(int attempts) {
  int64_t d = RETRY_BASE_MS;
  for (int i = 1; i < attempts && d < RETRY_MAX_MS; i++) d *= 2;
  return d < RETRY_MAX_MS ? d : RETRY_MAX_MS;
}

static int record_one(td_tx_t *tx, const item_t *it, int64_t now) {
  bool retry = it->outcome == TEMPORARY && it->attempts < MAX_ATTEMPTS;
  const char *status = it->outcome == SENT ? "sent" : retry ? "queued" : "failed";
  int64_t due = retry ? now + backoff(it->attempts) : now;
  json_t *params = json_pack("[s,s,I,I,s?,I]", it->id, status, (json_int_t)it->code, (json_int_t)due,
                             it->outcome == SENT ? NULL : it->error, (json_int_t)now);
  int rc = sq_api->exec(tx,
                        "UPDATE sequences_outbox SET status = ?2, last_code = nullif(?3, 0), due_at = ?4, "
                        "last_error = ?5, updated_at = ?6, sent_at = CASE WHEN ?2 = 'sent' THEN ?6 ELSE sent_at END "
                        "WHERE id = ?1",
                        params, NULL);
  json_decref(params);
  if (rc == 0 && retry) rc = sq_outbox_wake(tx, due);
  if (rc == 0 && it->outcome != SENT && !retry) rc = sq_enrollments_stop_candidate(tx, it->candidate_id, "bounced");
  return rc;
}

static int record(td_tx_t *tx, void *data) {
  int64_t now = sq_api->now_ms();
  for (item_t *it = data; it; it = it->next) {
    int rc = record_one(tx, it, now);
    if (rc) return rc;
  }
  return 0;
}

static void recorded(void *data, int rc) {
  item_t *batch = data;
  flushing = false;
  if (rc != 0) /* the rows stay 'sending': the watchdog run after a restart sends them again */
    sq_api->log(sq_self, TD_LEVEL_ERROR, "mail_outcomes_not_recorded", json_pack("{s:i}", "code", rc));
  free_list(batch);
  flush();
}

static void flush(void) {
  if (flushing || results == NULL) return;
  item_t *batch = results;
  results = NULL;
  flushing = true;
  if (sq_api->submit_write(sq_self, record, recorded, batch) != 0) {
    results = batch;
    flushing = false;
  }
}

/* ---- the run handler ---- */

static bool claiming, more_due;

static void claimed(void *data, int rc) {
  claim_t *c = data;
  claiming = false;
  more_due = rc == 0 && c->more;
  if (rc == 0) {
    while (c->items) { /* claimed newest first; order does not matter for delivery */
      item_t *it = c->items;
      c->items = it->next;
      it->next = ready;
      ready = it;
      ready_count++;
    }
  }
  free_list(c->items);
  if (c->run) sq_api->run_finish(c->run, rc, rc ? (c->error[0] ? c->error : "claiming messages failed") : NULL);
  free(c);
  start_more();
}

/* Claims a batch now, for a run (run_finish when claimed) or, with run NULL, to refill the
 * ready queue between runs (so throughput is not bound to the scheduler's one-second poll).
 * Returns 0 or an error with nothing claimed. */
static int claim_now(td_run_t *run) {
  const sq_mail_config_t *cfg = sq_mail_config();
  if (boot[0] == '\0') sq_api->new_id("boot", boot);
  claim_t *c = calloc(1, sizeof *c);
  if (c == NULL) return TD_ENOMEM;
  c->run = run;
  c->now = sq_api->now_ms();
  c->off = cfg->smtp_url == NULL || cfg->from_address == NULL;
  int64_t held = (int64_t)(ready_count + in_flight);
  c->capacity = held >= HOLD_MAX ? 0 : (HOLD_MAX - held < CLAIM_MAX ? HOLD_MAX - held : CLAIM_MAX);
  snprintf(c->boot, sizeof c->boot, "%s", boot);
  if (sq_api->submit_write(sq_self, claim, claimed, c) != 0) {
    free(c);
    return TD_EBUSY;
  }
  claiming = true;
  return 0;
}

void sq_outbox_run(td_run_t *run, void *data) {
  (void)data;
  int rc = claim_now(run);
  if (rc) sq_api->run_finish(run, rc, "the writer is not available");
}

/* Refills the ready queue when it runs low and due messages are known to remain. */
static void refill(void) {
  if (more_due && !claiming && ready_count < REFILL_BELOW) (void)claim_now(NULL);
}

void sq_outbox_shutdown(void) {
  free_list(ready);
  free_list(results);
  ready = results = NULL;
  ready_count = 0;
  while (domains) {
    domain_t *next = domains->next;
    free(domains);
    domains = next;
  }
}
