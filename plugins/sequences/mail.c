/* The mail part of the sequences plugin: its configuration (defaults applied once, at init),
 * the registration of its routes and of the sender's scheduled-run handler, and
 * GET /email/status. Templates live in template.c, queueing in mail_queue.c, the sender in
 * outbox_send.c, unsubscribe and suppressions in unsubscribe.c. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mail_int.h"

static sq_mail_config_t cfg;

const sq_mail_config_t *sq_mail_config(void) { return &cfg; }

static const char *text(const json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s && s[0] ? s : NULL;
}

static int64_t integer(const json_t *o, const char *key, int64_t fallback) {
  const json_t *v = json_object_get(o, key);
  return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : fallback;
}

/* "HH:MM" -> minutes after midnight (the schema checks the pattern). */
static int minutes(const char *hhmm, int fallback) {
  if (hhmm == NULL || strlen(hhmm) != 5) return fallback;
  int h = (hhmm[0] - '0') * 10 + (hhmm[1] - '0'), m = (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
  return h * 60 + m;
}

static void load_config(void) {
  const json_t *c = sq_api->config(sq_self);
  cfg = (sq_mail_config_t){0};
  cfg.smtp_url = text(c, "smtp_url");
  cfg.smtp_user = text(c, "smtp_user");
  cfg.smtp_password = text(c, "smtp_password");
  const json_t *from = json_object_get(c, "from");
  cfg.from_address = json_is_string(from) ? text(c, "from") : text(from, "address");
  cfg.from_name = json_is_object(from) ? text(from, "name") : NULL;
  cfg.require_tls = json_is_true(json_object_get(c, "require_tls"));
  cfg.public_base_url = text(c, "public_base_url");
  cfg.unsubscribe_secret = text(c, "unsubscribe_secret");
  cfg.unsubscribe_mailto = text(c, "unsubscribe_mailto");
  cfg.max_per_sender_per_day = integer(c, "max_per_sender_per_day", 500);
  cfg.per_domain_concurrency = integer(c, "per_domain_concurrency", 2);
  cfg.concurrency = integer(c, "concurrency", 8);
  cfg.default_time_zone = text(c, "default_time_zone");
  const json_t *w = json_object_get(c, "sending_window");
  cfg.window_on = json_is_object(w);
  cfg.window_start_min = minutes(text(w, "start"), 8 * 60);
  cfg.window_end_min = minutes(text(w, "end"), 18 * 60);
  cfg.window_weekdays = !json_is_false(json_object_get(w, "weekdays"));
}

json_t *sq_time_json(const json_t *ms) {
  if (!json_is_integer(ms)) return json_null();
  char buf[32];
  sq_api->time_format(json_integer_value(ms), buf);
  return json_string(buf);
}

/* Why sending is off, or NULL when it is on. */
static const char *off_reason(void) {
  if (cfg.smtp_url == NULL) return "plugins.sequences.smtp_url is not configured: messages are queued, not sent";
  if (cfg.from_address == NULL) return "plugins.sequences.from is not configured: messages are queued, not sent";
  return NULL;
}

/* GET /email/status: whether sending is on, and the outbox by status. */
static int status(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  json_t *rows = NULL;
  int rc = sq_api->query(tx, "SELECT status, count(*) AS n FROM sequences_outbox GROUP BY status", NULL, &rows);
  if (rc) return rc;
  json_t *counts = json_pack("{s:i,s:i,s:i,s:i}", "queued", 0, "sending", 0, "sent", 0, "failed", 0);
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row)
      json_object_set(counts, json_string_value(json_object_get(row, "status")), json_object_get(row, "n"));
  json_decref(rows);
  int64_t in_flight = 0, ready = 0;
  sq_outbox_counts(&in_flight, &ready);
  const char *why = off_reason();
  json_t *window = cfg.window_on ? json_pack("{s:i,s:i,s:b,s:s}", "start_minute", cfg.window_start_min,
                                             "end_minute", cfg.window_end_min, "weekdays", cfg.window_weekdays,
                                             "default_time_zone", cfg.default_time_zone ? cfg.default_time_zone : "UTC")
                                 : json_null();
  sq_api->respond(req, 200,
                  json_pack("{s:b,s:s?,s:o,s:I,s:I,s:o,s:{s:I,s:I,s:I},s:b,s:b}", "sending", why == NULL, "reason", why,
                            "messages", counts, "in_flight", (json_int_t)in_flight, "ready", (json_int_t)ready, "sending_window", window,
                            "limits", "max_per_sender_per_day", (json_int_t)cfg.max_per_sender_per_day,
                            "per_domain_concurrency", (json_int_t)cfg.per_domain_concurrency, "concurrency",
                            (json_int_t)cfg.concurrency, "unsubscribe_links", cfg.public_base_url != NULL,
                            "require_tls", cfg.require_tls != 0));
  return 0;
}

int sq_mail_init(void) {
  load_config();
  const td_route_spec_t st = {"GET", "/email/status", TD_PLUGIN_ROUTE_READ, 0, NULL};
  int rc = sq_api->register_route(sq_self, &st, status, NULL);
  if (rc == 0) rc = sq_api->register_run_handler(sq_self, "mail.send", sq_outbox_run, NULL);
  if (rc == 0) rc = sq_template_routes();
  if (rc == 0) rc = sq_message_routes();
  if (rc == 0) rc = sq_unsubscribe_routes();
  if (rc == 0) rc = sq_mail_service_init();
  return rc;
}

void sq_mail_shutdown(void) { sq_outbox_shutdown(); }
