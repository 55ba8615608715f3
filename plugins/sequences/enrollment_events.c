/* Events the sequences react to: a candidate who applies (application.created) or is hired
 * (application.hired) leaves every sequence with that reason; server.started (re)starts the
 * runner's and the inbox poller's chains of scheduled runs. Each reaction is one writer
 * transaction; stopping is idempotent, so a redelivered event does no harm. */
#include <stdlib.h>
#include <string.h>

#include "sequence_int.h"

typedef struct reaction {
  char candidate_id[TD_PLUGIN_ID_MAX];
  const char *reason; /* static; NULL for server.started */
  td_event_done_fn done;
  void *token;
} reaction_t;

static int react(td_tx_t *tx, void *data) {
  reaction_t *r = data;
  if (r->reason) return sq_enrollments_stop_candidate(tx, r->candidate_id, r->reason);
  int rc = seq_runner_restart(tx);
  return rc ? rc : seq_inbox_restart(tx);
}

static void reacted(void *data, int rc) {
  reaction_t *r = data;
  r->done(r->token, rc, rc ? "could not update enrollments" : NULL);
  free(r);
}

static void on_event(const json_t *envelope, td_event_done_fn done, void *token, void *data) {
  const char *type = json_string_value(json_object_get(envelope, "type"));
  const char *candidate =
      json_string_value(json_object_get(json_object_get(envelope, "data"), "candidate_id"));
  reaction_t *r = calloc(1, sizeof *r);
  if (r == NULL) {
    done(token, TD_ENOMEM, "out of memory");
    return;
  }
  (void)data;
  r->done = done;
  r->token = token;
  if (type && strcmp(type, "server.started") != 0) {
    if (candidate == NULL || strlen(candidate) >= sizeof r->candidate_id) {
      free(r);
      done(token, 0, NULL);
      return;
    }
    memcpy(r->candidate_id, candidate, strlen(candidate) + 1);
    r->reason = strcmp(type, "application.hired") == 0 ? "hired" : "applied";
  }
  int rc = sq_api->submit_write(sq_self, react, reacted, r);
  if (rc) {
    free(r);
    done(token, rc, "could not submit the update");
  }
}

int seq_enrollment_events(void) {
  static const char *const types[] = {"application.created", "application.hired", "server.started"};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    int rc = sq_api->subscribe(sq_self, types[i], 0, on_event, NULL);
    if (rc) return rc;
  }
  return 0;
}
