/* Running the due steps of one enrollment, inside the runner's write transaction: emails are
 * queued through the mail part (never twice for one step id), waits set the next run, tasks
 * become to-dos for the enrollment's owner, conditions branch on an admin's Lua chunk. The
 * enrollment's position, counters and next run are saved at the end of the visit. */
#include <stdio.h>
#include <string.h>

#include "step_exec.h"

#define RETRY_MS (60 * 60 * 1000LL) /* a step that failed for a reason that may pass */
#define LOOP_MS (60 * 1000LL)       /* a visit that ran SEQ_STEPS_PER_VISIT steps without a wait */

typedef struct visit {
  td_tx_t *tx;
  const json_t *steps;
  json_int_t rowid;
  const char *enrollment_id, *candidate_id, *owner_id;
  int64_t now;
  json_int_t step, sent;
  json_t *done;      /* step ids already done: {id: true} */
  json_t *candidate; /* loaded on first use */
  char error[400];   /* the last error, saved with the enrollment ("" for none) */
} visit_t;

static const char *field(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

static json_t *candidate(visit_t *v) {
  if (v->candidate == NULL) v->candidate = seq_candidate_ctx(v->tx, v->candidate_id);
  return v->candidate;
}

static int load_done(visit_t *v) {
  json_t *rows = NULL, *params = json_pack("[I]", v->rowid);
  int rc = sq_api->query(v->tx, "SELECT step_id FROM sequences_enrollment_steps WHERE enrollment_rowid = ?1",
                         params, &rows);
  json_decref(params);
  v->done = json_object();
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) json_object_set_new(v->done, field(row, "step_id"), json_true());
  json_decref(rows);
  return rc;
}

static int mark_done(visit_t *v, const json_t *step, const char *message_id) {
  json_t *params = json_pack("[I,s,I,s,s?,I]", v->rowid, field(step, "id"), v->step, field(step, "type"),
                             message_id, (json_int_t)v->now);
  int rc = sq_api->exec(
      v->tx,
      "INSERT OR IGNORE INTO sequences_enrollment_steps (enrollment_rowid, step_id, step_index, kind, "
      "message_id, done_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
      params, NULL);
  json_decref(params);
  json_object_set_new(v->done, field(step, "id"), json_true());
  return rc;
}

/* Ends or saves the enrollment. status NULL: still active, next run at next_run_at. */
static int save(visit_t *v, const char *status, const char *reason, int64_t next_run_at) {
  json_t *step = json_array_get(v->steps, (size_t)v->step);
  json_t *params = json_pack("[I,I,s?,I,o,s?,s?,s?,I]", v->rowid, v->step, field(step, "id"), v->sent,
                             status ? json_null() : json_integer(next_run_at), v->error[0] ? v->error : NULL,
                             status, reason, (json_int_t)v->now);
  int rc = sq_api->exec(
      v->tx,
      "UPDATE sequences_enrollments SET current_step = ?2, current_step_id = ?3, sent_count = ?4, "
      "next_run_at = ?5, last_error = ?6, status = coalesce(?7, status), stop_reason = ?8, "
      "ended_at = CASE WHEN ?7 IS NULL THEN NULL ELSE ?9 END, updated_at = ?9 WHERE rowid = ?1",
      params, NULL);
  json_decref(params);
  return rc;
}

/* The stop reason for a refusal of the mail part: for a suppressed address, the reason it
 * was suppressed (sequences_suppressions, the mail part's table); else (no address, a
 * filter's veto) manual, with the refusal in last_error. */
static const char *denied_reason(visit_t *v) {
  json_t *rows = NULL, *params = json_pack("[s]", v->candidate_id);
  const char *reason = "manual";
  if (sq_api->query(
          v->tx,
          "SELECT s.reason AS reason FROM candidates c JOIN sequences_suppressions s ON s.address = "
          "json_extract(c.emails, '$[0]') WHERE c.id = ?1",
          params, &rows) == 0) {
    const char *r = json_string_value(json_object_get(json_array_get(rows, 0), "reason"));
    if (r && strcmp(r, "bounced") == 0) reason = "bounced";
    if (r && (strcmp(r, "unsubscribed") == 0 || strcmp(r, "complaint") == 0)) reason = "unsubscribed";
  }
  json_decref(params);
  json_decref(rows);
  return reason; /* static */
}

/* 1: go on with the next step; 0: the visit ended (saved); < 0: an error. */
static int run_email(visit_t *v, const json_t *step) {
  sq_compose_t m = {.candidate_id = v->candidate_id,
                    .template_id = field(step, "template_id"),
                    .subject = field(step, "subject"),
                    .body_text = field(step, "body_text"),
                    .body_html = field(step, "body_html"),
                    .sender_user_id = v->owner_id,
                    .enrollment_id = v->enrollment_id,
                    .step_index = (int)v->step};
  char message_id[SQ_MESSAGE_ID_MAX] = "", why[256] = "";
  int rc = sq_mail_queue(v->tx, &m, message_id, why, sizeof why);
  if (rc == TD_EDENIED) {
    snprintf(v->error, sizeof v->error, "not sent: %s", why[0] ? why : "refused");
    return save(v, "stopped", denied_reason(v), 0);
  }
  if (rc) {
    snprintf(v->error, sizeof v->error, "step %lld not sent (%s): %s", (long long)v->step, td_strerror(rc),
             why[0] ? why : "retrying in an hour");
    return save(v, NULL, NULL, v->now + RETRY_MS);
  }
  v->sent++;
  rc = mark_done(v, step, message_id);
  return rc ? rc : 1;
}

static int run_wait(visit_t *v, const json_t *step) {
  json_t *delay = json_object_get(step, "delay_seconds");
  int64_t at;
  if (delay) {
    at = v->now + json_integer_value(delay) * 1000;
  } else {
    const char *zone = field(json_object_get(candidate(v), "custom_fields"), "time_zone");
    if (zone == NULL) zone = field(sq_api->config(sq_self), "default_time_zone");
    at = seq_add_business_days(zone, v->now, (int)json_integer_value(json_object_get(step, "business_days")));
  }
  v->step++;
  return save(v, NULL, NULL, at);
}

static int run_task(visit_t *v, const json_t *step) {
  json_t *args =
      json_pack("{s:O,s:s}", "title", json_object_get(step, "title"), "candidate_id", v->candidate_id);
  if (v->owner_id) json_object_set_new(args, "assignee_id", json_string(v->owner_id));
  json_t *days = json_object_get(step, "due_in_days");
  if (days) {
    json_t *ms = json_integer(v->now + json_integer_value(days) * 86400000LL);
    json_object_set_new(args, "due_at", sq_time_json(ms));
    json_decref(ms);
  }
  char why[256] = "";
  int rc = sq_api->act(v->tx, "task.create", args, NULL, why, sizeof why);
  json_decref(args);
  if (rc) snprintf(v->error, sizeof v->error, "task not created: %s", why);
  rc = mark_done(v, step, NULL);
  return rc ? rc : 1;
}

/* Follows a branch: 1 to go on at v->step, 0 when the enrollment ended. */
static int branch(visit_t *v, const json_t *b, const char *fallback) {
  const char *word = b ? json_string_value(b) : fallback;
  if (word && strcmp(word, "stop") == 0) return save(v, "completed", NULL, 0); /* 0: ended */
  json_t *target = json_object_get(b, "goto");
  if (json_is_integer(target))
    v->step = json_integer_value(target);
  else
    v->step++;
  return 1;
}

static int run_condition(visit_t *v, const json_t *step) {
  json_t *cand = json_deep_copy(candidate(v));
  json_object_del(cand, "owner_id");
  json_t *ctx =
      json_pack("{s:o,s:{s:s,s:I,s:I},s:I}", "candidate", cand ? cand : json_null(), "enrollment", "id",
                v->enrollment_id, "step", v->step, "sent", v->sent, "now", (json_int_t)(v->now / 1000));
  json_t *result = NULL;
  char why[256] = "";
  int rc = sq_api->lua_eval(sq_self, field(step, "lua"), ctx, &result, why, sizeof why);
  json_decref(ctx);
  bool truthy = rc == 0 && result && !json_is_null(result) && !json_is_false(result);
  json_decref(result);
  if (rc)
    snprintf(v->error, sizeof v->error, "condition at step %lld failed (taken as false): %s",
             (long long)v->step, why);
  return truthy ? branch(v, json_object_get(step, "then"), "continue")
                : branch(v, json_object_get(step, "else"), "stop");
}

static int visit_steps(visit_t *v) {
  for (int n = 0; n < SEQ_STEPS_PER_VISIT; n++) {
    if (v->step < 0 || (size_t)v->step >= json_array_size(v->steps)) {
      v->step = (json_int_t)json_array_size(v->steps);
      return save(v, "completed", NULL, 0);
    }
    const json_t *step = json_array_get(v->steps, (size_t)v->step);
    const char *type = field(step, "type");
    const char *id = field(step, "id");
    int rc;
    if (type == NULL || id == NULL) { /* not a step saved by this plugin: pass over it */
      v->step++;
      continue;
    }
    if (strcmp(type, "wait") != 0 && strcmp(type, "condition") != 0 && json_object_get(v->done, id)) {
      v->step++; /* done before this edit or this goto: never again */
      continue;
    }
    if (strcmp(type, "email") == 0)
      rc = run_email(v, step);
    else if (strcmp(type, "wait") == 0)
      return run_wait(v, step);
    else if (strcmp(type, "task") == 0)
      rc = run_task(v, step);
    else
      rc = run_condition(v, step);
    if (rc <= 0) return rc;
    if (strcmp(type, "condition") != 0) v->step++; /* a condition moved v->step itself */
  }
  return save(v, NULL, NULL, v->now + LOOP_MS);
}

int seq_visit(td_tx_t *tx, const json_t *row, const json_t *steps, int64_t now) {
  visit_t v = {.tx = tx,
               .steps = steps,
               .rowid = json_integer_value(json_object_get(row, "rowid")),
               .enrollment_id = field(row, "id"),
               .candidate_id = field(row, "candidate_id"),
               .owner_id = field(row, "owner_id"),
               .now = now,
               .step = json_integer_value(json_object_get(row, "current_step")),
               .sent = json_integer_value(json_object_get(row, "sent_count"))};
  int rc = load_done(&v);
  if (rc == 0) rc = visit_steps(&v);
  json_decref(v.done);
  json_decref(v.candidate);
  return rc;
}
