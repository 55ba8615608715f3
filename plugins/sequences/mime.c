/* RFC 5322 / MIME messages: headers (RFC 2047 encoded words for non-ASCII text), a
 * multipart/alternative body with a UTF-8 text part and an optional HTML part, each base64
 * (RFC 2045, 76-character lines), CRLF line ends throughout. The message is built once, when
 * it is queued, and stored: a re-send after a crash sends the same bytes, Message-ID included. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mail_int.h"

#define B64_LINE 76   /* RFC 2045 */
#define WORD_BYTES 45 /* raw UTF-8 bytes per encoded word: 60 base64 characters, a 72-column word */

void sq_header_clean(const char *s, char *out, size_t out_size) {
  size_t n = 0;
  for (; s && *s && n + 1 < out_size; s++) out[n++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s;
  /* never end inside a UTF-8 sequence cut by out_size */
  while (n > 0 && ((unsigned char)out[n - 1] & 0x80)) {
    size_t start = n - 1;
    while (start > 0 && ((unsigned char)out[start] & 0xC0) == 0x80) start--;
    unsigned char lead = (unsigned char)out[start];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - start >= want) break;
    n = start;
  }
  if (out_size) out[n] = '\0';
}

static bool ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80) return false;
  return true;
}

static void add_base64(sq_buf_t *out, const unsigned char *bytes, size_t n) {
  char enc[sodium_base64_ENCODED_LEN(WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(enc, sizeof enc, bytes, n, sodium_base64_VARIANT_ORIGINAL);
  sq_buf_str(out, enc);
}

/* Encoded words "=?UTF-8?B?...?=" for s, folded with CRLF SP, never splitting a character. */
static void add_encoded_words(sq_buf_t *out, const char *s) {
  size_t len = strlen(s), at = 0;
  while (at < len) {
    size_t n = len - at < WORD_BYTES ? len - at : WORD_BYTES;
    while (n > 0 && at + n < len && ((unsigned char)s[at + n] & 0xC0) == 0x80) n--; /* a char boundary */
    if (n == 0) n = 1;
    if (at) sq_buf_str(out, "\r\n ");
    sq_buf_str(out, "=?UTF-8?B?");
    add_base64(out, (const unsigned char *)s + at, n);
    sq_buf_str(out, "?=");
    at += n;
  }
}

/* Unstructured header text (Subject). */
static void add_text_header(sq_buf_t *out, const char *name, const char *value) {
  sq_buf_printf(out, "%s: ", name);
  if (ascii(value))
    sq_buf_str(out, value);
  else
    add_encoded_words(out, value);
  sq_buf_str(out, "\r\n");
}

/* An address with an optional display name: a quoted string, or encoded words when not ASCII. */
static void add_address_header(sq_buf_t *out, const char *name, const char *display, const char *address) {
  sq_buf_printf(out, "%s: ", name);
  if (display && display[0]) {
    if (ascii(display)) {
      sq_buf_str(out, "\"");
      for (const char *p = display; *p; p++) {
        if (*p == '"' || *p == '\\') sq_buf_str(out, "\\");
        sq_buf_add(out, p, 1);
      }
      sq_buf_str(out, "\" ");
    } else {
      add_encoded_words(out, display);
      sq_buf_str(out, " ");
    }
  }
  sq_buf_printf(out, "<%s>\r\n", address);
}

static void add_date(sq_buf_t *out, int64_t ms) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  sq_buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A text part's body: line ends made CRLF (canonical form, RFC 2046), then base64 in lines. */
static void add_part(sq_buf_t *out, const char *type, const char *text) {
  sq_buf_t canon = {0};
  for (const char *p = text; *p; p++) {
    if (*p == '\n' && (p == text || p[-1] != '\r')) sq_buf_str(&canon, "\r");
    sq_buf_add(&canon, p, 1);
  }
  sq_buf_printf(out, "Content-Type: %s; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", type);
  const size_t chunk = B64_LINE / 4 * 3; /* 57 bytes: one full line */
  for (size_t at = 0; !canon.failed && at < canon.len; at += chunk) {
    size_t n = canon.len - at < chunk ? canon.len - at : chunk;
    char enc[sodium_base64_ENCODED_LEN(B64_LINE / 4 * 3, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(enc, sizeof enc, (const unsigned char *)canon.data + at, n, sodium_base64_VARIANT_ORIGINAL);
    sq_buf_printf(out, "%s\r\n", enc);
  }
  if (canon.failed) out->failed = true;
  sq_buf_free(&canon);
}

int sq_mime_build(const sq_mime_t *m, sq_buf_t *out) {
  add_date(out, m->date_ms);
  add_address_header(out, "From", m->from_name, m->from_address);
  if (m->reply_to && m->reply_to[0]) add_address_header(out, "Reply-To", NULL, m->reply_to);
  add_address_header(out, "To", m->to_name, m->to_address);
  add_text_header(out, "Subject", m->subject);
  sq_buf_printf(out, "Message-ID: %s\r\n", m->message_id);
  if (m->unsubscribe_https || m->unsubscribe_mailto) {
    sq_buf_str(out, "List-Unsubscribe: ");
    if (m->unsubscribe_https) sq_buf_printf(out, "<%s>", m->unsubscribe_https);
    if (m->unsubscribe_https && m->unsubscribe_mailto) sq_buf_str(out, ",\r\n ");
    if (m->unsubscribe_mailto) sq_buf_printf(out, "<%s>", m->unsubscribe_mailto);
    sq_buf_str(out, "\r\n");
    /* RFC 8058: one-click needs the https URI */
    if (m->unsubscribe_https) sq_buf_str(out, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
  }
  sq_buf_str(out, "MIME-Version: 1.0\r\n");
  if (m->html == NULL || m->html[0] == '\0') {
    add_part(out, "text/plain", m->text ? m->text : "");
    return out->failed ? TD_ENOMEM : 0;
  }
  /* The boundary: "--" never occurs in base64 lines, and the id makes it unique per message. */
  char boundary[SQ_MESSAGE_ID_MAX + 8];
  const char *local = m->message_id[0] == '<' ? m->message_id + 1 : m->message_id;
  snprintf(boundary, sizeof boundary, "=_sq_%.*s", (int)strcspn(local, "@>"), local);
  sq_buf_printf(out, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary);
  sq_buf_str(out, "This is a message in MIME format.\r\n");
  sq_buf_printf(out, "--%s\r\n", boundary);
  add_part(out, "text/plain", m->text ? m->text : "");
  sq_buf_printf(out, "--%s\r\n", boundary);
  add_part(out, "text/html", m->html);
  sq_buf_printf(out, "--%s--\r\n", boundary);
  return out->failed ? TD_ENOMEM : 0;
}
