/* Shared query parameters of the analytics tables (see query.h). */
#include "query.h"

#include <stdio.h>
#include <string.h>

#include "history.h"

/* "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ" -> epoch ms; -1 for anything else,
 * impossible dates included. */
static int parse_time(const char *s, int64_t *ms) {
  char day[11];
  int64_t days;
  size_t n = strlen(s);
  if (n != 10 && n != 20) return -1;
  memcpy(day, s, 10);
  day[10] = '\0';
  if (hx_parse_date(day, &days) != 0) return -1;
  unsigned h = 0, mi = 0, sec = 0;
  if (n == 20) {
    char tail = 0;
    if (s[10] != 'T' || s[19] != 'Z' || sscanf(s + 11, "%2u:%2u:%2u%c", &h, &mi, &sec, &tail) != 4 || tail != 'Z' ||
        h > 23 || mi > 59 || sec > 59)
      return -1;
  }
  *ms = days * HX_DAY_MS + (int64_t)(h * 3600 + mi * 60 + sec) * 1000;
  return 0;
}

static int read_params(const td_host_api_t *api, td_request_t *req, an_query_t *q) {
  memset(q, 0, sizeof *q);
  q->job_id = api->request_query(req, "job_id");
  q->department = api->request_query(req, "department");
  q->source = api->request_query(req, "source");
  q->recruiter_id = api->request_query(req, "recruiter_id");
  const char *from = api->request_query(req, "from"), *to = api->request_query(req, "to");
  if (from && (q->has_from = 1, parse_time(from, &q->from_ms) != 0))
    return api->fail(req, 400, "Bad query parameter", "from must be a date (YYYY-MM-DD) or a UTC time");
  if (to && (q->has_to = 1, parse_time(to, &q->to_ms) != 0))
    return api->fail(req, 400, "Bad query parameter", "to must be a date (YYYY-MM-DD) or a UTC time");
  if (q->has_from && q->has_to && q->from_ms > q->to_ms)
    return api->fail(req, 400, "Bad query parameter", "from must not be after to");
  return 0;
}

int an_query_begin(const td_host_api_t *api, td_request_t *req, td_tx_t *tx, an_access_t *acc, an_query_t *q) {
  if (an_access_begin(api, req, acc) != 0) return TD_EDENIED;
  if (read_params(api, req, q) != 0) return TD_EINVAL;
  if (q->job_id && an_access_job(api, tx, req, acc, q->job_id) != 0) return TD_ENOTFOUND;
  if (!an_access_sees_all(acc)) q->access = acc; /* across jobs: only the caller's */
  return 0;
}

void an_answer_failure(const td_host_api_t *api, td_request_t *req, int rc) {
  if (rc == TD_ENOTFOUND)
    api->fail(req, 404, "Not found", "no such job");
  else if (rc == AN_ELIMIT_LOAD)
    api->fail(req, 503, "History too large",
              "the transition log is larger than plugins.analytics.max_transitions allows in memory");
  else
    api->fail(req, 500, "Internal error", "the report could not be computed");
}
