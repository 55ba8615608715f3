/* What the mail part's files (mail*.c, merge.c, mime.c, template.c, outbox*.c, unsubscribe.c)
 * offer each other. The rest of the plugin sees only sq.h. */
#ifndef SEQUENCES_MAIL_INT_H
#define SEQUENCES_MAIL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sq.h"

/* ---- a growable byte buffer (buf.c semantics: an allocation failure sets failed and
 * every later append is a no-op, so callers check once at the end) ---- */
typedef struct sq_buf {
  char *data; /* NUL-terminated while not failed */
  size_t len, cap;
  bool failed;
} sq_buf_t;

void sq_buf_add(sq_buf_t *b, const void *bytes, size_t n);
void sq_buf_str(sq_buf_t *b, const char *s);
void sq_buf_printf(sq_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sq_buf_free(sq_buf_t *b);
/* Takes the buffer's text (NULL when it failed); the buffer is empty afterwards. */
char *sq_buf_take(sq_buf_t *b);

/* ---- merge fields (merge.c) ---- */
#define SQ_MERGE_TEXT 0 /* values inserted as they are */
#define SQ_MERGE_HTML 1 /* values HTML-escaped */

/* Checks every {{field}} of text against the closed list. Returns 0, or TD_EINVAL with a
 * sentence in why naming the field and its line and column. */
int sq_merge_check(const char *text, char *why, size_t why_size);
/* Renders text with values (an object keyed by field name, e.g. "candidate.first_name";
 * borrowed; a missing value renders empty) into out. Returns 0 or TD_EINVAL (a bad field:
 * templates are checked when saved, so only inline parts get here unchecked). */
int sq_merge_render(const char *text, const json_t *values, int mode, sq_buf_t *out);
/* The closed list, comma-separated (for messages and the README). */
extern const char sq_merge_field_list[];

/* ---- MIME (mime.c) ---- */
typedef struct sq_mime {
  const char *from_name, *from_address; /* the From header */
  const char *reply_to;                 /* may be NULL */
  const char *to_name, *to_address;     /* the To header */
  const char *subject;                  /* rendered, one line */
  const char *text, *html;              /* rendered parts; html may be NULL */
  const char *message_id;               /* with angle brackets */
  const char *unsubscribe_https, *unsubscribe_mailto; /* may be NULL */
  int64_t date_ms;
} sq_mime_t;

/* Builds the RFC 5322 message (CRLF line ends, UTF-8 parts in base64, RFC 2047 words for
 * non-ASCII header text) into out. Returns 0 or TD_ENOMEM. */
int sq_mime_build(const sq_mime_t *m, sq_buf_t *out);
/* Writes s into out with CR, LF and other control characters replaced by spaces. */
void sq_header_clean(const char *s, char *out, size_t out_size);

/* "<random.time@domain-of-from>" for the outbox row row_id (mail_queue.c). */
void sq_message_id_make(const char *row_id, char out[SQ_MESSAGE_ID_MAX]);

/* Offers the mail service to other plugins (talentd/mail.h; mail_service.c). In init. */
int sq_mail_service_init(void);

/* ---- configuration (mail.c) ---- */
typedef struct sq_mail_config {
  const char *smtp_url, *smtp_user, *smtp_password; /* smtp_url NULL: sending is off */
  const char *from_address, *from_name;
  int require_tls;
  const char *public_base_url; /* for unsubscribe links; NULL: no https link */
  const char *unsubscribe_secret;
  const char *unsubscribe_mailto; /* an address; NULL: the from address */
  int64_t max_per_sender_per_day, per_domain_concurrency, concurrency;
  bool window_on;
  int window_start_min, window_end_min; /* minutes after local midnight */
  bool window_weekdays;                 /* Monday to Friday only */
  const char *default_time_zone;        /* NULL: UTC */
} sq_mail_config_t;

/* The plugin's configuration with defaults applied (strings borrowed from the host's
 * config, valid until shutdown). */
const sq_mail_config_t *sq_mail_config(void);

/* ---- the outbox and its sender (outbox.c, outbox_send.c) ---- */

/* Stores the rendered bytes of the outbox row row_id (just inserted) in tx. */
int sq_outbox_body_store(td_tx_t *tx, const char *row_id, const char *bytes);
/* Makes sure a sender run is scheduled at or before at_ms, in tx (a write tx). */
int sq_outbox_wake(td_tx_t *tx, int64_t at_ms);
/* The sender's run handler and its state (outbox_send.c). */
void sq_outbox_run(td_run_t *run, void *data);
void sq_outbox_shutdown(void);
/* Counts for GET /email/status. */
void sq_outbox_counts(int64_t *in_flight, int64_t *ready);
/* The first instant >= at_ms inside the sending window in zone (mail_window.c). */
int64_t sq_window_next(const sq_mail_config_t *c, const char *zone, int64_t at_ms);

/* ---- unsubscribe (unsubscribe.c) ---- */
#define SQ_TOKEN_MAX 96
/* The token of a message: "<message row id>.<HMAC-SHA256 base64url>". tx: a write tx (the
 * per-install key is made on first use). */
int sq_unsubscribe_token(td_tx_t *tx, const char *row_id, char token[SQ_TOKEN_MAX]);
int sq_unsubscribe_routes(void);
int sq_suppressed(td_tx_t *tx, const char *address, bool *yes);

/* ---- routes ---- */
int sq_template_routes(void);
int sq_message_routes(void);
/* Loads a template row by id into *row (new reference). 0 or TD_ENOTFOUND. */
int sq_template_load(td_tx_t *tx, const char *id, json_t **row);
/* The merge values for a candidate, a job and a sender (a new object) or NULL with why. */
int sq_merge_values(td_tx_t *tx, const char *candidate_id, const char *job_id, const char *sender_user_id,
                    const char *unsubscribe_url, json_t **values, char *why, size_t why_size);


#endif
