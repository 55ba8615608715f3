/* Reply and bounce detection: a chain of scheduled runs polls the configured IMAP mailbox
 * every imap_interval_seconds through the host's mail transfers (libcurl on the loop):
 * STATUS for UIDVALIDITY, UID SEARCH for messages past the last UID seen, then each
 * new message is fetched (at most SEQ_INBOX_PER_POLL per poll, each capped in size; a too
 * large one is read by its header only) and handled in one writer transaction that also
 * stores the new last UID and schedules the next poll (inbox_apply.c says what a message
 * does). A changed UIDVALIDITY makes it read the mailbox again; handled Message-IDs are
 * remembered so nothing is handled twice. Like the runner, runs carry a token so that only
 * one chain polls. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inbox_apply.h"

#define SEQ_INBOX_PER_POLL 50
#define MESSAGE_MAX (256 * 1024)
#define HEADER_MAX (64 * 1024)
#define POLL_BYTES_MAX (4 * 1024 * 1024)
#define SEEN_KEEP_MS (30LL * 86400 * 1000)

typedef struct fetched {
  int64_t uid;
  char *raw;
  size_t len;
} fetched_t;

typedef struct poll {
  td_run_t *run;
  char token[TD_PLUGIN_ID_MAX];
  char base[512], mailbox[128];
  bool stale, header_only, error_repeated;
  int64_t stored_validity, last_uid, validity, uidnext;
  int64_t uids[SEQ_INBOX_PER_POLL];
  size_t uid_count, fetch_next, msg_count, bytes;
  fetched_t msgs[SEQ_INBOX_PER_POLL];
  int handled[3]; /* seen before, replies read, DSNs read */
  char error[200];
} poll_t;

static const char *config_str(const char *key) {
  return json_string_value(json_object_get(sq_api->config(sq_self), key));
}

static int64_t interval_ms(void) {
  json_int_t s = json_integer_value(json_object_get(sq_api->config(sq_self), "imap_interval_seconds"));
  return (s > 0 ? s : 60) * 1000;
}

/* Splits imap_url into "imap://host:port" and the mailbox (default INBOX). */
static bool split_url(const char *url, poll_t *p) {
  const char *authority = url ? strstr(url, "://") : NULL;
  if (authority == NULL) return false;
  const char *path = strchr(authority + 3, '/');
  size_t n = path ? (size_t)(path - url) : strlen(url);
  if (n >= sizeof p->base) return false;
  memcpy(p->base, url, n);
  p->base[n] = '\0';
  const char *box = path && path[1] ? path + 1 : "INBOX";
  size_t m = strcspn(box, "/;?");
  if (m == 0 || m >= sizeof p->mailbox) return false;
  for (size_t i = 0; i < m; i++)
    if (!isalnum((unsigned char)box[i]) && !strchr("._-", box[i])) return false;
  memcpy(p->mailbox, box, m);
  p->mailbox[m] = '\0';
  return true;
}

static void poll_free(poll_t *p) {
  for (size_t i = 0; i < p->msg_count; i++) free(p->msgs[i].raw);
  free(p);
}

static void finish(poll_t *p, int rc) {
  sq_api->run_finish(p->run, rc, rc ? "the inbox poll's transaction failed" : NULL);
  poll_free(p);
}

/* ---- the writer transaction that ends a poll ---- */

static int apply(td_tx_t *tx, void *data) {
  poll_t *p = data;
  char token[TD_PLUGIN_ID_MAX], text[32];
  int rc = seq_state_get(tx, "inbox.token", token, sizeof token);
  if (rc || (p->stale = strcmp(token, p->token) != 0)) return rc;
  int64_t last = p->last_uid;
  for (size_t i = 0; rc == 0 && i < p->msg_count; i++) {
    char key[64];
    int outcome = 0;
    snprintf(key, sizeof key, "uid:%lld:%lld", (long long)p->validity, (long long)p->msgs[i].uid);
    rc = seq_inbox_apply(tx, p->msgs[i].raw, p->msgs[i].len, key, &outcome);
    p->handled[outcome]++;
    last = p->msgs[i].uid;
  }
  if (rc == 0 && p->validity) {
    snprintf(text, sizeof text, "%lld", (long long)p->validity);
    rc = seq_state_set(tx, "inbox.uidvalidity", text);
    snprintf(text, sizeof text, "%lld", (long long)last);
    if (rc == 0) rc = seq_state_set(tx, "inbox.last_uid", text);
  }
  json_t *params = json_pack("[I]", (json_int_t)(sq_api->now_ms() - SEEN_KEEP_MS));
  if (rc == 0) rc = sq_api->exec(tx, "DELETE FROM sequences_inbox_seen WHERE seen_at < ?1", params, NULL);
  json_decref(params);
  char before[sizeof p->error];
  if (rc == 0) rc = seq_state_get(tx, "inbox.error", before, sizeof before);
  p->error_repeated = p->error[0] && strcmp(before, p->error) == 0; /* logged once, not every poll */
  if (rc == 0) rc = seq_state_set(tx, "inbox.error", p->error[0] ? p->error : NULL);
  return rc ? rc : seq_inbox_restart_at(tx, sq_api->now_ms() + interval_ms());
}

static void applied(void *data, int rc) {
  poll_t *p = data;
  if ((p->error[0] && !p->error_repeated) || p->handled[1] || p->handled[2])
    sq_api->log(sq_self, p->error[0] ? TD_LEVEL_WARN : TD_LEVEL_INFO, "sequence_inbox_polled",
                json_pack("{s:i,s:i,s:i,s:s?}", "fetched", (int)p->msg_count, "read", p->handled[1], "dsn",
                          p->handled[2], "error", p->error[0] ? p->error : NULL));
  finish(p, rc);
}

static void end_poll(poll_t *p, const char *error) {
  if (error) snprintf(p->error, sizeof p->error, "%s", error);
  int rc = sq_api->submit_write(sq_self, apply, applied, p);
  if (rc) finish(p, rc);
}

/* ---- the transfers ---- */

/* Starts a transfer; when it cannot start, ends the poll saying why (TD_ELIMIT: the sender
 * holds every transfer slot of the plugin just now). */
static int transfer(poll_t *p, const char *url, const char *command, size_t max, td_mail_done_fn done) {
  td_mail_request_t r = {.url = url,
                         .user = config_str("imap_user"),
                         .password = config_str("imap_password"),
                         .command = command,
                         .timeout_ms = 30000,
                         .max_response_bytes = max};
  int rc = sq_api->mail_transfer(sq_self, &r, done, p);
  if (rc) {
    char why[96];
    snprintf(why, sizeof why, "an IMAP transfer could not start (%s)", td_strerror(rc));
    end_poll(p, why);
  }
  return rc;
}

static void fetch_next(poll_t *p);

/* A failed fetch: a permanent failure of the whole message (too large) is retried for its
 * header; a permanent failure of that too skips the message (read as empty, so the UID moves
 * on); anything else (network) ends the poll and the next one tries again. */
static void fetched(const td_mail_response_t *r, void *data) {
  poll_t *p = data;
  size_t len = r->ok && r->body ? r->body_len : 0;
  if (!r->ok && (!r->permanent || !p->header_only)) {
    if (r->permanent) {
      p->header_only = true;
      fetch_next(p);
    } else {
      end_poll(p, r->error ? r->error : "a message could not be fetched");
    }
    return;
  }
  fetched_t *f = &p->msgs[p->msg_count];
  f->raw = malloc(len ? len : 1);
  if (f->raw == NULL) {
    end_poll(p, "out of memory");
    return;
  }
  if (len) memcpy(f->raw, r->body, len);
  f->len = len;
  f->uid = p->uids[p->fetch_next++];
  p->msg_count++;
  p->bytes += len;
  p->header_only = false;
  fetch_next(p);
}

static void fetch_next(poll_t *p) {
  if (p->fetch_next >= p->uid_count || p->bytes >= POLL_BYTES_MAX) {
    end_poll(p, NULL);
    return;
  }
  char url[800];
  snprintf(url, sizeof url, "%s/%s/;UIDVALIDITY=%lld;UID=%lld%s", p->base, p->mailbox, (long long)p->validity,
           (long long)p->uids[p->fetch_next], p->header_only ? ";SECTION=HEADER" : "");
  transfer(p, url, NULL, p->header_only ? HEADER_MAX : MESSAGE_MAX, fetched);
}

static int compare_uid(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* "* SEARCH 3 4 9": the UIDs past last_uid, lowest first, at most SEQ_INBOX_PER_POLL. */
static void searched(const td_mail_response_t *r, void *data) {
  poll_t *p = data;
  if (!r->ok) {
    end_poll(p, r->error ? r->error : "IMAP SEARCH failed");
    return;
  }
  int64_t all[1024];
  size_t n = 0;
  const char *s = r->body ? r->body : "", *end = s + r->body_len;
  for (const char *line = s; line < end && n < 1024;) {
    const char *eol = memchr(line, '\n', (size_t)(end - line));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - line) > 8 && strncasecmp(line, "* SEARCH", 8) == 0) {
      for (const char *c = line + 8; c < eol && n < 1024;) {
        if (!isdigit((unsigned char)*c)) {
          c++;
          continue;
        }
        int64_t v = 0;
        while (c < eol && isdigit((unsigned char)*c) && v < (INT64_MAX / 10 - 10)) v = v * 10 + (*c++ - '0');
        if (v > p->last_uid) all[n++] = v;
      }
    }
    line = eol + 1;
  }
  qsort(all, n, sizeof all[0], compare_uid);
  for (size_t i = 0; i < n && p->uid_count < SEQ_INBOX_PER_POLL; i++)
    if (p->uid_count == 0 || all[i] != p->uids[p->uid_count - 1]) p->uids[p->uid_count++] = all[i];
  fetch_next(p);
}

static int64_t number_after(const char *body, size_t len, const char *word) {
  size_t n = strlen(word);
  for (size_t i = 0; i + n < len; i++) {
    if (strncasecmp(body + i, word, n) != 0) continue;
    size_t j = i + n;
    while (j < len && body[j] == ' ') j++;
    int64_t v = 0;
    while (j < len && isdigit((unsigned char)body[j]) && v < INT64_MAX / 10 - 10)
      v = v * 10 + (body[j++] - '0');
    return v;
  }
  return 0;
}

static void statused(const td_mail_response_t *r, void *data) {
  poll_t *p = data;
  if (!r->ok || r->body == NULL) {
    end_poll(p, r->error ? r->error : "IMAP STATUS failed");
    return;
  }
  p->validity = number_after(r->body, r->body_len, "UIDVALIDITY");
  p->uidnext = number_after(r->body, r->body_len, "UIDNEXT");
  if (p->validity == 0) {
    end_poll(p, "the IMAP server gave no UIDVALIDITY");
    return;
  }
  if (p->validity != p->stored_validity) p->last_uid = 0; /* a new mailbox: read it again */
  /* No shortcut on UIDNEXT: on a reused connection with the mailbox selected, a server may
   * answer STATUS from its session's view; UID SEARCH syncs the mailbox first. */
  char url[700], command[64];
  snprintf(url, sizeof url, "%s/%s", p->base, p->mailbox);
  snprintf(command, sizeof command, "UID SEARCH UID %lld:*", (long long)p->last_uid + 1);
  transfer(p, url, command, 256 * 1024, searched);
}

/* ---- the run ---- */

static int load_state(td_tx_t *tx, void *data) {
  poll_t *p = data;
  char token[TD_PLUGIN_ID_MAX], text[32];
  int rc = seq_state_get(tx, "inbox.token", token, sizeof token);
  p->stale = rc == 0 && strcmp(token, p->token) != 0;
  if (rc == 0) rc = seq_state_get(tx, "inbox.uidvalidity", text, sizeof text);
  p->stored_validity = strtoll(text, NULL, 10);
  if (rc == 0) rc = seq_state_get(tx, "inbox.last_uid", text, sizeof text);
  p->last_uid = strtoll(text, NULL, 10);
  return rc;
}

static void state_loaded(void *data, int rc) {
  poll_t *p = data;
  if (rc || p->stale) {
    finish(p, rc);
    return;
  }
  char command[200];
  snprintf(command, sizeof command, "STATUS \"%s\" (UIDVALIDITY UIDNEXT)", p->mailbox);
  char url[600];
  snprintf(url, sizeof url, "%s/", p->base);
  transfer(p, url, command, 64 * 1024, statused);
}

static void on_run(td_run_t *run, void *data) {
  (void)data;
  poll_t *p = calloc(1, sizeof *p);
  const char *token = json_string_value(json_object_get(sq_api->run_payload(run), "token"));
  if (p == NULL || token == NULL || strlen(token) >= sizeof p->token ||
      !split_url(config_str("imap_url"), p)) {
    free(p);
    sq_api->run_finish(run, 0, NULL); /* not configured (any more), or not ours */
    return;
  }
  p->run = run;
  memcpy(p->token, token, strlen(token) + 1);
  int rc = sq_api->submit_read(sq_self, load_state, state_loaded, p);
  if (rc) {
    free(p);
    sq_api->run_finish(run, rc, "could not read the inbox state");
  }
}

int seq_inbox_restart_at(td_tx_t *tx, int64_t at_ms) {
  poll_t probe;
  if (!split_url(config_str("imap_url"), &probe)) return 0;
  char token[TD_PLUGIN_ID_MAX];
  sq_api->new_id("poll", token);
  json_t *payload = json_pack("{s:s}", "token", token);
  int rc = sq_api->schedule(tx, SEQ_INBOX_HANDLER, at_ms, NULL, NULL, payload, NULL);
  json_decref(payload);
  char at_text[32];
  snprintf(at_text, sizeof at_text, "%lld", (long long)at_ms);
  if (rc == 0) rc = seq_state_set(tx, "inbox.at", at_text);
  return rc ? rc : seq_state_set(tx, "inbox.token", token);
}

/* A subscriber sees events only from its first start on, so the first server.started is
 * missed: the chain is also started (or restarted when its run is long overdue) whenever
 * enrollments become due. */
int seq_inbox_ensure(td_tx_t *tx) {
  char at_text[32];
  int rc = seq_state_get(tx, "inbox.at", at_text, sizeof at_text);
  if (rc) return rc;
  int64_t now = sq_api->now_ms();
  if (at_text[0] && strtoll(at_text, NULL, 10) > now - interval_ms() - 5 * 60 * 1000LL) return 0;
  return seq_inbox_restart_at(tx, now);
}

int seq_inbox_restart(td_tx_t *tx) { return seq_inbox_restart_at(tx, sq_api->now_ms()); }

int sq_inbox_init(void) {
  const char *url = config_str("imap_url");
  poll_t probe;
  if (url && !split_url(url, &probe)) {
    sq_api->log(sq_self, TD_LEVEL_ERROR, "sequence_inbox_bad_url",
                json_pack("{s:s}", "reason",
                          "imap_url must be imap(s)://host[:port][/mailbox] with a plain mailbox name"));
    return TD_EINVAL;
  }
  return sq_api->register_run_handler(sq_self, SEQ_INBOX_HANDLER, on_run, NULL);
}

void sq_inbox_shutdown(void) {}
