/* The runner: one chain of scheduled runs that advances every due enrollment. A run works in
 * writer transactions of SEQ_BATCH enrollments each, submitting the next batch when the last
 * one was full, so 10,000 enrollments due at once flow in many short transactions with other
 * writes in between, and the loop never waits. After SEQ_BATCHES_PER_RUN batches it schedules
 * a follow-up run and yields.
 *
 * Runs are keyed by a token in their payload: the state keeps the token and time of the one
 * run that is expected (runner.token, runner.at). A run with another token is a leftover
 * (superseded by an earlier one, or from before a restart) and does nothing, so chains never
 * multiply. seq_runner_ensure is called in every transaction that makes an enrollment due. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step_exec.h"

#define STALE_MS (5 * 60 * 1000LL) /* an expected run this late is presumed lost */

typedef struct tick {
  td_run_t *run;
  char token[TD_PLUGIN_ID_MAX];
  int batches;
  bool more;  /* the last batch was full */
  bool stale; /* not the expected run */
} tick_t;

int seq_runner_ensure(td_tx_t *tx, int64_t at_ms) {
  char at_text[32], token[TD_PLUGIN_ID_MAX];
  int rc = seq_inbox_ensure(tx);
  if (rc == 0) rc = seq_state_get(tx, "runner.at", at_text, sizeof at_text);
  if (rc) return rc;
  int64_t now = sq_api->now_ms();
  if (at_text[0]) {
    long long at = strtoll(at_text, NULL, 10);
    if (at <= at_ms && at > now - STALE_MS) return 0; /* one is due no later */
  }
  if (at_ms < now) at_ms = now;
  sq_api->new_id("tick", token);
  json_t *payload = json_pack("{s:s}", "token", token);
  rc = sq_api->schedule(tx, SEQ_RUNNER_HANDLER, at_ms, NULL, NULL, payload, NULL);
  json_decref(payload);
  snprintf(at_text, sizeof at_text, "%lld", (long long)at_ms);
  if (rc == 0) rc = seq_state_set(tx, "runner.token", token);
  if (rc == 0) rc = seq_state_set(tx, "runner.at", at_text);
  return rc;
}

int seq_runner_restart(td_tx_t *tx) {
  int rc = seq_state_set(tx, "runner.at", NULL);
  return rc ? rc : seq_runner_ensure(tx, sq_api->now_ms());
}

/* The steps of a sequence, parsed once per batch (cache: {sequence rowid: steps}). */
static const json_t *steps_of(json_t *cache, const json_t *row) {
  char key[32];
  snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(row, "sequence_rowid")));
  json_t *steps = json_object_get(cache, key);
  if (steps == NULL) {
    steps = json_loads(json_string_value(json_object_get(row, "steps")), 0, NULL);
    if (!json_is_array(steps)) json_decref(steps), steps = json_array();
    json_object_set_new(cache, key, steps);
  }
  return steps;
}

/* After the run's last batch: the next run at the earliest next_run_at, or now when work
 * remains. */
static int schedule_next(td_tx_t *tx, tick_t *t, int64_t now) {
  if (t->more) return seq_runner_ensure(tx, now);
  json_t *rows = NULL;
  int rc = sq_api->query(
      tx,
      "SELECT e.next_run_at AS at FROM sequences_enrollments e JOIN sequences_sequences s "
      "ON s.rowid = e.sequence_rowid WHERE e.next_run_at IS NOT NULL AND e.status = 'active' AND "
      "s.paused = 0 ORDER BY e.next_run_at LIMIT 1", /* walks the next_run_at index */
      NULL, &rows);
  json_t *at = json_object_get(json_array_get(rows, 0), "at");
  if (rc == 0 && json_is_integer(at)) rc = seq_runner_ensure(tx, json_integer_value(at));
  json_decref(rows);
  return rc;
}

static int batch(td_tx_t *tx, void *data) {
  tick_t *t = data;
  int64_t now = sq_api->now_ms();
  if (t->batches == 0) {
    char token[TD_PLUGIN_ID_MAX];
    int rc = seq_state_get(tx, "runner.token", token, sizeof token);
    if (rc) return rc;
    t->stale = strcmp(token, t->token) != 0;
    if (t->stale) return 0;
    if ((rc = seq_state_set(tx, "runner.at", NULL)) != 0) return rc;
  }
  t->batches++;
  json_t *rows = NULL, *params = json_pack("[I,i]", (json_int_t)now, SEQ_BATCH);
  int rc = sq_api->query(
      tx,
      "SELECT e.rowid AS rowid, e.id AS id, e.candidate_id AS candidate_id, e.owner_id AS owner_id, "
      "e.current_step AS current_step, e.sent_count AS sent_count, e.sequence_rowid AS "
      "sequence_rowid, s.steps AS steps FROM sequences_enrollments e JOIN sequences_sequences s ON "
      "s.rowid = e.sequence_rowid WHERE e.status = 'active' AND e.next_run_at <= ?1 AND s.paused = 0 "
      "ORDER BY e.next_run_at LIMIT ?2",
      params, &rows);
  json_decref(params);
  json_t *cache = json_object();
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    if (rc) break;
    rc = seq_visit(tx, row, steps_of(cache, row), now);
  }
  t->more = json_array_size(rows) == SEQ_BATCH;
  json_decref(cache);
  json_decref(rows);
  if (rc == 0 && (!t->more || t->batches >= SEQ_BATCHES_PER_RUN)) rc = schedule_next(tx, t, now);
  return rc;
}

static void batch_done(void *data, int rc) {
  tick_t *t = data;
  /* More work and no follow-up scheduled yet: a refused submission fails the run, so the
   * scheduler retries it (its token still holds). */
  if (rc == 0 && !t->stale && t->more && t->batches < SEQ_BATCHES_PER_RUN &&
      (rc = sq_api->submit_write(sq_self, batch, batch_done, t)) == 0)
    return;
  if (rc)
    sq_api->log(sq_self, TD_LEVEL_ERROR, "sequence_runner_failed",
                json_pack("{s:s}", "error", td_strerror(rc)));
  sq_api->run_finish(t->run, rc, rc ? "the runner's transaction failed" : NULL);
  free(t);
}

static void on_run(td_run_t *run, void *data) {
  (void)data;
  tick_t *t = calloc(1, sizeof *t);
  const char *token = json_string_value(json_object_get(sq_api->run_payload(run), "token"));
  if (t == NULL || token == NULL || strlen(token) >= sizeof t->token) {
    free(t);
    sq_api->run_finish(run, 0, NULL); /* not ours to run: a malformed payload */
    return;
  }
  t->run = run;
  memcpy(t->token, token, strlen(token) + 1);
  int rc = sq_api->submit_write(sq_self, batch, batch_done, t);
  if (rc) {
    free(t);
    sq_api->run_finish(run, rc, "could not submit the runner's transaction");
  }
}

int seq_runner_init(void) { return sq_api->register_run_handler(sq_self, SEQ_RUNNER_HANDLER, on_run, NULL); }
