/* A small reader of RFC 5322 header blocks and RFC 3464 delivery status notifications, for
 * the reply detector (see inbox_parse.h). No MIME library ships in Debian for C that we
 * link already, and only a handful of headers matter here: header lines are unfolded, names
 * compared case-insensitively, values capped; bodies are never decoded. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "inbox_parse.h"

#define HEADER_VALUE_MAX 8192

/* The end of the header block starting at p (the blank line, or end): its length. */
static size_t header_block(const char *p, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (p[i] != '\n') continue;
    if (i + 1 < len && p[i + 1] == '\n') return i + 1;
    if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n') return i + 1;
  }
  return len;
}

bool seq_mail_header(const char *raw, size_t len, const char *name, char *out, size_t out_size) {
  size_t name_len = strlen(name), end = header_block(raw, len), i = 0;
  if (out_size) out[0] = '\0';
  while (i < end) {
    size_t line = i;
    while (i < end && raw[i] != '\n') i++;
    size_t line_end = i < end ? i + 1 : i;
    bool match = line_end - line > name_len && strncasecmp(raw + line, name, name_len) == 0;
    size_t j = line + name_len;
    while (match && j < line_end && (raw[j] == ' ' || raw[j] == '\t')) j++;
    if (!match || j >= line_end || raw[j] != ':') {
      i = line_end;
      continue;
    }
    /* The value: the rest of this line and every continuation line (starting with SP/HT). */
    size_t n = 0;
    j++;
    for (;;) {
      for (; j < line_end; j++) {
        char c = raw[j] == '\r' || raw[j] == '\n' || raw[j] == '\t' ? ' ' : raw[j];
        if (c == '\0') c = ' ';
        if (n + 1 < out_size && (n > 0 || c != ' ')) out[n++] = c;
      }
      if (line_end >= end || (raw[line_end] != ' ' && raw[line_end] != '\t')) break;
      j = line_end;
      line_end = j;
      while (line_end < end && raw[line_end] != '\n') line_end++;
      if (line_end < end) line_end++;
    }
    while (n > 0 && out[n - 1] == ' ') n--;
    if (out_size) out[n < out_size ? n : out_size - 1] = '\0';
    return true;
  }
  return false;
}

/* Copies the msg-ids ("<...>") found in value into ids, up to max; returns how many. */
static size_t msg_ids(const char *value, char (*ids)[SEQ_MSGID_MAX], size_t max) {
  size_t count = 0;
  for (const char *p = strchr(value, '<'); p && count < max; p = strchr(p + 1, '<')) {
    const char *q = strchr(p, '>');
    if (q == NULL) break;
    size_t n = (size_t)(q - p) + 1;
    bool clean = n > 3 && n < SEQ_MSGID_MAX;
    for (const char *c = p + 1; clean && c < q; c++)
      if (isspace((unsigned char)*c) || *c == '<') clean = false;
    if (clean) {
      memcpy(ids[count], p, n);
      ids[count][n] = '\0';
      count++;
    }
    p = q;
  }
  return count;
}

/* The address of a From (or recipient) value: inside <...> when present, else the first
 * word with an '@'; lower-cased. */
static void address_of(const char *value, char *out, size_t out_size) {
  out[0] = '\0';
  const char *start = strrchr(value, '<'), *end = NULL;
  if (start) {
    start++;
    end = strchr(start, '>');
  } else {
    const char *at = strchr(value, '@');
    if (at == NULL) return;
    start = at;
    while (start > value && !isspace((unsigned char)start[-1]) && start[-1] != ';' && start[-1] != ':')
      start--;
    end = at;
    while (*end && !isspace((unsigned char)*end) && *end != ';' && *end != ',') end++;
  }
  if (end == NULL || end <= start || (size_t)(end - start) >= out_size) return;
  size_t n = (size_t)(end - start);
  for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)start[i]);
  out[n] = '\0';
  if (strchr(out, '@') == NULL || strchr(out, ' ')) out[0] = '\0';
}

/* Finds "\n<name>:" (case-insensitive) in body and gives that header's value. */
static bool body_field(const char *body, size_t len, const char *name, char *out, size_t out_size) {
  size_t name_len = strlen(name);
  for (size_t i = 0; i + name_len < len; i++) {
    if ((i == 0 || body[i - 1] == '\n') && strncasecmp(body + i, name, name_len) == 0) {
      size_t j = i + name_len;
      while (j < len && (body[j] == ' ' || body[j] == '\t')) j++;
      if (j < len && body[j] == ':') return seq_mail_header(body + i, len - i, name, out, out_size);
    }
  }
  return false;
}

static bool contains_nocase(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (strncasecmp(hay, needle, n) == 0) return true;
  return false;
}

/* The DSN's fields: the original Message-ID (in the returned message or its headers), the
 * final recipient and the status; a status of 4.x.x (delayed) is not a failure. */
static void read_dsn(const char *raw, size_t len, seq_mail_in_t *out) {
  size_t head = header_block(raw, len);
  const char *body = raw + head;
  size_t body_len = len - head;
  char value[1024];
  if (body_field(body, body_len, "Message-ID", value, sizeof value)) {
    char ids[1][SEQ_MSGID_MAX];
    if (msg_ids(value, ids, 1)) memcpy(out->dsn_original_id, ids[0], sizeof ids[0]);
  }
  if (body_field(body, body_len, "Final-Recipient", value, sizeof value) ||
      body_field(body, body_len, "Original-Recipient", value, sizeof value)) {
    const char *semi = strchr(value, ';');
    address_of(semi ? semi + 1 : value, out->dsn_recipient, sizeof out->dsn_recipient);
  }
  if (body_field(body, body_len, "Status", value, sizeof value)) {
    size_t n = strspn(value, "0123456789.");
    if (n >= sizeof out->dsn_status) n = sizeof out->dsn_status - 1;
    memcpy(out->dsn_status, value, n);
    out->dsn_status[n] = '\0';
  }
  out->dsn_failed = out->dsn_status[0] != '4';
}

/* Makes s valid UTF-8 in place, for the JSON it goes into: a sequence cut short at the end
 * (the subject is capped) is dropped, and every byte that does not start or continue a valid
 * sequence (raw 8-bit text in a header that should have been encoded) becomes '?'. */
static void utf8_repair(char *s) {
  unsigned char *p = (unsigned char *)s;
  while (*p) {
    size_t want = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
    size_t have = 1;
    while (want > 1 && have < want && (p[have] & 0xC0) == 0x80) have++;
    if (want > 1 && have < want && p[have] == '\0') { /* cut short at the end */
      *p = '\0';
      return;
    }
    if (want == 0 || have < want || (want == 2 && *p < 0xC2)) { /* invalid or overlong */
      *p++ = '?';
      continue;
    }
    p += want;
  }
}

int seq_mail_parse(const char *raw, size_t len, seq_mail_in_t *out) {
  memset(out, 0, sizeof *out);
  char value[HEADER_VALUE_MAX];
  char ids[1][SEQ_MSGID_MAX];
  if (seq_mail_header(raw, len, "Message-ID", value, sizeof value) && msg_ids(value, ids, 1))
    memcpy(out->message_id, ids[0], sizeof ids[0]);
  if (seq_mail_header(raw, len, "In-Reply-To", value, sizeof value))
    out->ref_count = msg_ids(value, out->refs, SEQ_REFS_MAX);
  if (seq_mail_header(raw, len, "References", value, sizeof value)) {
    char refs[SEQ_REFS_MAX][SEQ_MSGID_MAX];
    size_t n = msg_ids(value, refs, SEQ_REFS_MAX);
    /* The newest are last in References: take them first. */
    for (size_t i = n; i > 0 && out->ref_count < SEQ_REFS_MAX; i--)
      memcpy(out->refs[out->ref_count++], refs[i - 1], SEQ_MSGID_MAX);
  }
  bool daemon = false;
  if (seq_mail_header(raw, len, "From", value, sizeof value)) {
    address_of(value, out->from, sizeof out->from);
    daemon = contains_nocase(value, "mailer-daemon") || strncmp(out->from, "postmaster@", 11) == 0;
  }
  if (seq_mail_header(raw, len, "Subject", out->subject, sizeof out->subject)) utf8_repair(out->subject);
  bool report = seq_mail_header(raw, len, "Content-Type", value, sizeof value) &&
                contains_nocase(value, "multipart/report") && contains_nocase(value, "delivery-status");
  if (report || daemon) {
    out->is_dsn = true;
    read_dsn(raw, len, out);
  }
  return 0;
}
