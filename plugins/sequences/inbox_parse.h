/* Reading what the reply detector needs from one inbound message (inbox_parse.c): its ids,
 * sender, subject, and whether it is a delivery status notification (a bounce). Only
 * headers and, for a DSN, the report's fields are read; nothing here allocates more than
 * the message's size, and malformed input gives empty fields, never a crash. */
#ifndef SEQUENCES_INBOX_PARSE_H
#define SEQUENCES_INBOX_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define SEQ_MSGID_MAX 256
#define SEQ_REFS_MAX 20
#define SEQ_ADDR_MAX 256
#define SEQ_SUBJECT_MAX 300

typedef struct seq_mail_in {
  char message_id[SEQ_MSGID_MAX];         /* "<...>", or "" */
  char refs[SEQ_REFS_MAX][SEQ_MSGID_MAX]; /* In-Reply-To first, then References, newest first */
  size_t ref_count;
  char from[SEQ_ADDR_MAX];             /* the sender's address, lower case, or "" */
  char subject[SEQ_SUBJECT_MAX];       /* as written (encoded words left as they are) */
  bool is_dsn;                         /* a delivery status notification */
  bool dsn_failed;                     /* ... that reports a permanent failure */
  char dsn_original_id[SEQ_MSGID_MAX]; /* the bounced message's Message-ID, or "" */
  char dsn_recipient[SEQ_ADDR_MAX];    /* Final-Recipient / Original-Recipient, or "" */
  char dsn_status[32];                 /* "5.1.1", or "" */
} seq_mail_in_t;

/* Parses raw (len bytes, not NUL-terminated; borrowed) into *out. Always returns 0. */
int seq_mail_parse(const char *raw, size_t len, seq_mail_in_t *out);

/* The value of header name (case-insensitive) in the header block at raw (len bytes),
 * unfolded, into out (truncated to out_size). Returns true when present. */
bool seq_mail_header(const char *raw, size_t len, const char *name, char *out, size_t out_size);

#endif
