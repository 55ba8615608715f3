/* test_sequences_parsers.c - the sequences plugin's pure parsers and builders, with hand-written
 * inputs and hand-computed outputs: merge fields (plugins/sequences/merge.c: the save-time check
 * naming the field with its line and column, rendering with HTML escaping in HTML parts only),
 * the RFC 5322 / MIME builder (mime.c: CRLF everywhere, RFC 2047 words, List-Unsubscribe, the
 * multipart boundary) with the header cleaner, and the inbound mail reader (inbox_parse.c:
 * In-Reply-To / References across folded lines, case-insensitive names, RFC 3464 DSNs,
 * malformed and oversized input). These files call nothing of the host table (sq_api), so no
 * fake table is needed; plugins/sequences/CMakeLists.txt compiles them (and mail_buf.c) into
 * this test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inbox_parse.h"
#include "mail_int.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Renders text with values (taken) in mode; returns the text (caller frees) or NULL with *rc. */
static char *render(const char *text, json_t *values, int mode, int *rc) {
  sq_buf_t out = {0};
  *rc = sq_merge_render(text, values, mode, &out);
  json_decref(values);
  if (*rc) {
    sq_buf_free(&out);
    return NULL;
  }
  return sq_buf_take(&out);
}

/* Parses a copy of text in a buffer of exactly its length (no NUL after it), so a read past
 * the end is a real overread under a sanitizer. */
static void parse(const char *text, size_t len, seq_mail_in_t *m) {
  char *raw = malloc(len ? len : 1);
  assert_non_null(raw);
  memcpy(raw, text, len);
  assert_int_equal(seq_mail_parse(raw, len, m), 0);
  free(raw);
}

static void parse_str(const char *text, seq_mail_in_t *m) { parse(text, strlen(text), m); }

/* True when s is well-formed UTF-8 (no truncated or stray sequences). */
static bool utf8_ok(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    size_t n = *p < 0x80             ? 1
               : (*p & 0xE0) == 0xC0 ? 2
               : (*p & 0xF0) == 0xE0 ? 3
               : (*p & 0xF8) == 0xF0 ? 4
                                     : 0;
    if (n == 0) return false;
    for (size_t i = 1; i < n; i++)
      if ((p[i] & 0xC0) != 0x80) return false;
    p += n;
  }
  return true;
}

/* Every LF is preceded by CR and every CR followed by LF. */
static void assert_crlf_only(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\n') assert_true(i > 0 && s[i - 1] == '\r');
    if (s[i] == '\r') assert_true(i + 1 < len && s[i + 1] == '\n');
  }
}

static size_t count_of(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* ---- merge.c: the save-time check ----------------------------------------------------------- */

static void test_merge_check_known_fields(void **state) {
  (void)state;
  char why[512] = "untouched";
  assert_int_equal(sq_merge_check(NULL, why, sizeof why), 0);
  assert_int_equal(sq_merge_check("no fields at all { } }} {", why, sizeof why), 0);
  assert_int_equal(sq_merge_check("{{candidate.first_name}} {{candidate.last_name}} {{candidate.email}}\n"
                                  "{{job.title}}{{job.department}} {{sender.name}} {{sender.email}}\n"
                                  "{{unsubscribe_url}}",
                                  why, sizeof why),
                   0);
  /* whitespace inside the braces (spaces and tabs) is allowed */
  assert_int_equal(sq_merge_check("Hi {{ job.title }} and {{\tsender.name\t}}", why, sizeof why), 0);
  assert_string_equal(why, "untouched");
}

static void test_merge_check_unknown_field_line_column(void **state) {
  (void)state;
  char why[512];
  assert_int_equal(
      sq_merge_check("Hello {{candidate.first_name}},\nDear {{candidate.nickname}} x", why, sizeof why),
      TD_EINVAL);
  /* line 2; "Dear " is 5 characters, so the field starts at column 6 */
  assert_non_null(strstr(why, "unknown merge field {{candidate.nickname}} at line 2, column 6;"));
  assert_non_null(strstr(why, sq_merge_field_list));
  /* the first bad one is named, even with a good one after it */
  assert_int_equal(sq_merge_check("{{ job.salary }} {{job.title}} {{x}}", why, sizeof why), TD_EINVAL);
  assert_non_null(strstr(why, "{{job.salary}} at line 1, column 1;"));
  /* columns count characters, not bytes: "é" is two bytes and one column */
  assert_int_equal(sq_merge_check("\xc3\xa9\xc3\xa9 {{bad}}", why, sizeof why), TD_EINVAL);
  assert_non_null(strstr(why, "{{bad}} at line 1, column 4;"));
  /* case matters: the list is exact */
  assert_int_equal(sq_merge_check("{{Candidate.First_Name}}", why, sizeof why), TD_EINVAL);
}

static void test_merge_check_unclosed(void **state) {
  (void)state;
  char why[512];
  assert_int_equal(sq_merge_check("Hi {{candidate.email", why, sizeof why), TD_EINVAL);
  assert_non_null(strstr(why, "opened with {{ at line 1, column 4 is not closed"));
  /* closed only on the next line: still unclosed (a field never spans lines) */
  assert_int_equal(sq_merge_check("ok\nx {{job.title\n}}", why, sizeof why), TD_EINVAL);
  assert_non_null(strstr(why, "at line 2, column 3 is not closed"));
  assert_int_equal(sq_merge_check("a {{ job.title }\r\n}}", why, sizeof why), TD_EINVAL);
  assert_non_null(strstr(why, "line 1, column 3 is not closed"));
}

static void test_merge_check_long_names_bounded(void **state) {
  (void)state;
  char why[512], text[400];
  /* a 100-character name: unknown, reported by its first 63 characters (no overflow) */
  memset(text, 0, sizeof text);
  memcpy(text, "{{", 2);
  memset(text + 2, 'a', 100);
  memcpy(text + 102, "}}", 2);
  assert_int_equal(sq_merge_check(text, why, sizeof why), TD_EINVAL);
  char want[80] = "{{";
  memset(want + 2, 'a', 63);
  memcpy(want + 65, "}} at line 1", 13);
  assert_non_null(strstr(why, want));
  /* "}}" past the bounded scan (256 characters) counts as not closed */
  memset(text + 2, 'b', 300);
  memcpy(text + 302, "}}", 3);
  assert_int_equal(sq_merge_check(text, why, sizeof why), TD_EINVAL);
  assert_non_null(strstr(why, "not closed"));
  /* a tiny why buffer is filled and terminated, never overrun */
  char small[16];
  memset(small, 'X', sizeof small);
  assert_int_equal(sq_merge_check("{{nope}}", small, sizeof small), TD_EINVAL);
  assert_int_equal(strlen(small), sizeof small - 1);
}

/* ---- merge.c: rendering --------------------------------------------------------------------- */

static json_t *values(void) {
  return json_pack("{s:s,s:s,s:s}", "candidate.first_name", "<b>Ana & \"Co\" 'x'</b>", "job.title", "R&D",
                   "candidate.last_name", "{{unsubscribe_url}}");
}

static void test_merge_render_html_escapes_values_only(void **state) {
  (void)state;
  int rc;
  char *out = render("<p>Hi {{candidate.first_name}} - {{ job.title }}</p>", values(), SQ_MERGE_HTML, &rc);
  assert_int_equal(rc, 0);
  /* the template's own markup stays; the values' five special characters are escaped */
  assert_string_equal(out, "<p>Hi &lt;b&gt;Ana &amp; &quot;Co&quot; &#39;x&#39;&lt;/b&gt; - R&amp;D</p>");
  free(out);
}

static void test_merge_render_text_as_is(void **state) {
  (void)state;
  int rc;
  char *out = render("Hi {{candidate.first_name}} - {{job.title}}", values(), SQ_MERGE_TEXT, &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(out, "Hi <b>Ana & \"Co\" 'x'</b> - R&D");
  free(out);
}

static void test_merge_render_missing_and_nested(void **state) {
  (void)state;
  int rc;
  /* missing values render empty; a value that looks like a field is not expanded again */
  char *out =
      render("[{{sender.name}}][{{job.department}}][{{candidate.last_name}}]", values(), SQ_MERGE_TEXT, &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(out, "[][][{{unsubscribe_url}}]");
  free(out);
  out = render("{{sender.email}}", json_object(), SQ_MERGE_HTML, &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(out, "");
  free(out);
  /* a non-string value renders empty too */
  out = render("a{{job.title}}b", json_pack("{s:i}", "job.title", 7), SQ_MERGE_TEXT, &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(out, "ab");
  free(out);
  out = render("plain { text }} only", json_object(), SQ_MERGE_TEXT, &rc);
  assert_string_equal(out, "plain { text }} only");
  free(out);
}

static void test_merge_render_refuses_bad_fields(void **state) {
  (void)state;
  int rc;
  assert_null(render("x {{candidate.nickname}}", values(), SQ_MERGE_TEXT, &rc));
  assert_int_equal(rc, TD_EINVAL);
  assert_null(render("x {{job.title", values(), SQ_MERGE_HTML, &rc));
  assert_int_equal(rc, TD_EINVAL);
}

/* ---- mime.c ------------------------------------------------------------------------------- */

static sq_mime_t base_message(void) {
  return (sq_mime_t){.from_name = "Example Recruiting",
                     .from_address = "hr@example.test",
                     .reply_to = "rec@example.test",
                     .to_name = "Ana",
                     .to_address = "ana@example.test",
                     .subject = "Caf\xc3\xa9 offer \xe2\x80\x94 2026",
                     .text = "Line 1\nLine 2",
                     .html = "<p>Hi</p>",
                     .message_id = "<abc123.1700000000000@example.test>",
                     .unsubscribe_https = "https://ats.example.test/api/v1/email/unsubscribe/T0K",
                     .unsubscribe_mailto = "mailto:hr@example.test?subject=unsubscribe%20T0K",
                     .date_ms = 0};
}

static char *build(const sq_mime_t *m, size_t *len) {
  sq_buf_t out = {0};
  assert_int_equal(sq_mime_build(m, &out), 0);
  *len = out.len;
  return sq_buf_take(&out);
}

static void test_mime_headers(void **state) {
  (void)state;
  sq_mime_t m = base_message();
  size_t len;
  char *msg = build(&m, &len);
  assert_int_equal(strlen(msg), len);
  assert_crlf_only(msg, len);
  const char *head =
      "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
      "From: \"Example Recruiting\" <hr@example.test>\r\n"
      "Reply-To: <rec@example.test>\r\n"
      "To: \"Ana\" <ana@example.test>\r\n"
      /* RFC 2047: base64 of the 20 UTF-8 bytes of "Café offer — 2026" */
      "Subject: =?UTF-8?B?Q2Fmw6kgb2ZmZXIg4oCUIDIwMjY=?=\r\n"
      "Message-ID: <abc123.1700000000000@example.test>\r\n"
      "List-Unsubscribe: <https://ats.example.test/api/v1/email/unsubscribe/T0K>,\r\n"
      " <mailto:hr@example.test?subject=unsubscribe%20T0K>\r\n"
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=\"=_sq_abc123.1700000000000\"\r\n"
      "\r\n";
  assert_memory_equal(msg, head, strlen(head));
  /* the header block ends at the first blank line, right after the Content-Type */
  assert_ptr_equal(strstr(msg, "\r\n\r\n") + 4, msg + strlen(head));
  free(msg);
}

static void test_mime_multipart_parts(void **state) {
  (void)state;
  sq_mime_t m = base_message();
  size_t len;
  char *msg = build(&m, &len);
  const char *body =
      "This is a message in MIME format.\r\n"
      "--=_sq_abc123.1700000000000\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "TGluZSAxDQpMaW5lIDI=\r\n" /* "Line 1\r\nLine 2": LF made CRLF before encoding */
      "--=_sq_abc123.1700000000000\r\n"
      "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "PHA+SGk8L3A+\r\n" /* "<p>Hi</p>" */
      "--=_sq_abc123.1700000000000--\r\n";
  const char *at = strstr(msg, "\r\n\r\n") + 4;
  assert_string_equal(at, body);
  /* the boundary opens each of the two parts and closes the message; it occurs nowhere else */
  assert_int_equal(count_of(msg, "\r\n--=_sq_abc123.1700000000000\r\n"), 2);
  assert_int_equal(count_of(msg, "=_sq_abc123.1700000000000"), 4);
  free(msg);
}

static void test_mime_single_part_and_mailto_only(void **state) {
  (void)state;
  sq_mime_t m = base_message();
  m.html = NULL;
  m.reply_to = NULL;
  m.subject = "Plain ASCII subject";
  m.unsubscribe_https = NULL;
  size_t len;
  char *msg = build(&m, &len);
  assert_crlf_only(msg, len);
  assert_non_null(strstr(msg, "\r\nSubject: Plain ASCII subject\r\n"));
  assert_null(strstr(msg, "Reply-To:"));
  /* mailto only: no one-click header (RFC 8058 needs the https URI) */
  assert_non_null(
      strstr(msg, "\r\nList-Unsubscribe: <mailto:hr@example.test?subject=unsubscribe%20T0K>\r\n"));
  assert_null(strstr(msg, "List-Unsubscribe-Post"));
  assert_null(strstr(msg, "multipart"));
  assert_null(strstr(msg, "=_sq_"));
  const char *tail =
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nTGluZSAxDQpMaW5lIDI=\r\n";
  assert_string_equal(strstr(msg, "MIME-Version:"), tail);
  free(msg);
  /* neither link: no List-Unsubscribe at all */
  m.unsubscribe_mailto = NULL;
  msg = build(&m, &len);
  assert_null(strstr(msg, "List-Unsubscribe"));
  free(msg);
}

static void test_mime_long_subject_and_names(void **state) {
  (void)state;
  sq_mime_t m = base_message();
  char subject[61];
  for (int i = 0; i < 30; i++) memcpy(subject + 2 * i, "\xc3\xa9", 2); /* 30 x "é", 60 bytes */
  subject[60] = '\0';
  m.subject = subject;
  m.to_name = "A \"B\" \\ C";
  m.from_name = "Ana \xc3\x91\xc3\xba\xc3\xb1\x65z"; /* "Ana Ñúñez" */
  size_t len;
  char *msg = build(&m, &len);
  assert_crlf_only(msg, len);
  /* 45 bytes per word at most, cut back to a character boundary: 44 bytes (22 x é), then 16 */
  assert_non_null(
      strstr(msg,
             "\r\nSubject: =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?=\r\n"
             " =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqQ==?=\r\n"));
  /* an ASCII display name is a quoted string with " and \ escaped */
  assert_non_null(strstr(msg, "\r\nTo: \"A \\\"B\\\" \\\\ C\" <ana@example.test>\r\n"));
  /* a non-ASCII one is an encoded word */
  assert_non_null(strstr(msg, "From: =?UTF-8?B?QW5hIMORw7rDsWV6?= <hr@example.test>\r\n"));
  free(msg);
}

static void test_mime_text_part_line_ends(void **state) {
  (void)state;
  sq_mime_t m = base_message();
  m.html = NULL;
  m.text = "a\r\nb\nc"; /* mixed: existing CRLF kept, lone LF made CRLF -> "a\r\nb\r\nc" */
  size_t len;
  char *msg = build(&m, &len);
  assert_non_null(strstr(msg, "\r\n\r\nYQ0KYg0KYw==\r\n"));
  free(msg);
}

static void test_header_clean(void **state) {
  (void)state;
  char out[64];
  sq_header_clean("Hi\r\nBcc: evil@example.test\tx\x7fy", out, sizeof out);
  assert_string_equal(out, "Hi  Bcc: evil@example.test x y");
  assert_null(strpbrk(out, "\r\n"));
  sq_header_clean(NULL, out, sizeof out);
  assert_string_equal(out, "");
  /* truncation never leaves half a UTF-8 character: "ab" + "é" in 4 bytes gives "ab" */
  char small[4];
  sq_header_clean("ab\xc3\xa9", small, sizeof small);
  assert_string_equal(small, "ab");
  sq_header_clean("a\xc3\xa9", small, sizeof small);
  assert_string_equal(small, "a\xc3\xa9");
  /* non-ASCII text is kept as it is */
  sq_header_clean("Caf\xc3\xa9\n", out, sizeof out);
  assert_string_equal(out, "Caf\xc3\xa9 ");
}

/* ---- inbox_parse.c ------------------------------------------------------------------------ */

static const char REPLY[] =
    "Return-Path: <ana.case@example.test>\r\n"
    "X-From: <evil@example.test>\r\n"
    "From-Alias: <evil2@example.test>\r\n"
    "FROM: \"Ana Case\" <Ana.Case@Example.TEST>\r\n"
    "subject: Re: Hello\r\n"
    "message-id: <reply1@example.test>\r\n"
    "in-reply-to:\r\n"
    " <m1@example.test>\r\n"
    "REFERENCES: <m0@example.test>\r\n"
    "\t<m1@example.test>\r\n"
    "  <m2@example.test> <bad id@example.test>\r\n"
    "\r\n"
    "References: <body@example.test>\r\n"
    "From: <body@example.test>\r\n"
    "Yes, interested.\r\n";

static void check_reply(const seq_mail_in_t *m) {
  assert_string_equal(m->message_id, "<reply1@example.test>");
  /* In-Reply-To first, then References newest first; an id with a space is skipped */
  assert_int_equal(m->ref_count, 4);
  assert_string_equal(m->refs[0], "<m1@example.test>");
  assert_string_equal(m->refs[1], "<m2@example.test>");
  assert_string_equal(m->refs[2], "<m1@example.test>");
  assert_string_equal(m->refs[3], "<m0@example.test>");
  /* the real From (not X-From, From-Alias or a From in the body), lower-cased */
  assert_string_equal(m->from, "ana.case@example.test");
  assert_string_equal(m->subject, "Re: Hello");
  assert_false(m->is_dsn);
  assert_false(m->dsn_failed);
}

static void test_inbox_reply_crlf(void **state) {
  (void)state;
  seq_mail_in_t m;
  parse_str(REPLY, &m);
  check_reply(&m);
}

static void test_inbox_reply_lf_only(void **state) {
  (void)state;
  char lf[sizeof REPLY];
  size_t n = 0;
  for (const char *p = REPLY; *p; p++)
    if (*p != '\r') lf[n++] = *p;
  seq_mail_in_t m;
  parse(lf, n, &m);
  check_reply(&m);
}

static void test_inbox_header_lookup(void **state) {
  (void)state;
  const char raw[] =
      "Subject: a\r\n long\r\n\tsubject \r\nTo : x@example.test\r\nSubject: second\r\n\r\nSubject: body\r\n";
  char out[64];
  /* folded lines are joined (words in order, nothing of the next header) */
  assert_true(seq_mail_header(raw, sizeof raw - 1, "subject", out, sizeof out));
  char words[64];
  size_t n = 0;
  for (const char *p = out; *p; p++)
    if (*p != ' ' || (n > 0 && words[n - 1] != ' ')) words[n++] = *p;
  words[n] = '\0';
  assert_string_equal(words, "a long subject");
  assert_null(strpbrk(out, "\r\n\t"));
  /* a space before the colon is tolerated on read */
  assert_true(seq_mail_header(raw, sizeof raw - 1, "TO", out, sizeof out));
  assert_string_equal(out, "x@example.test");
  /* absent, and never found in the body */
  assert_false(seq_mail_header(raw, sizeof raw - 1, "Cc", out, sizeof out));
  assert_string_equal(out, "");
  /* a value longer than out is cut and terminated */
  char tiny[5];
  assert_true(seq_mail_header(raw, sizeof raw - 1, "To", tiny, sizeof tiny));
  assert_string_equal(tiny, "x@ex");
}

/* A DSN (RFC 3464) as Postfix sends it; %s is the status. A macro: a literal format string. */
#define DSN                                                        \
  "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n" \
  "To: jobs@example.test\r\n"                                      \
  "Subject: Undelivered Mail Returned to Sender\r\n"               \
  "Message-ID: <dsn1@mx.example.test>\r\n"                         \
  "MIME-Version: 1.0\r\n"                                          \
  "Content-Type: multipart/report;\r\n"                            \
  "\treport-type=delivery-status; boundary=\"b1\"\r\n"             \
  "\r\n"                                                           \
  "--b1\r\n"                                                       \
  "Content-Type: text/plain\r\n"                                   \
  "\r\n"                                                           \
  "The message could not be delivered.\r\n"                        \
  "--b1\r\n"                                                       \
  "Content-Type: message/delivery-status\r\n"                      \
  "\r\n"                                                           \
  "Reporting-MTA: dns; mx.example.test\r\n"                        \
  "\r\n"                                                           \
  "Final-Recipient: rfc822; Ana@Example.TEST\r\n"                  \
  "Action: failed\r\n"                                             \
  "Status: %s (user unknown)\r\n"                                  \
  "\r\n"                                                           \
  "--b1\r\n"                                                       \
  "Content-Type: text/rfc822-headers\r\n"                          \
  "\r\n"                                                           \
  "Message-ID: <orig42.1700@example.test>\r\n"                     \
  "Subject: Hello\r\n"                                             \
  "\r\n"                                                           \
  "--b1--\r\n"

static void test_inbox_dsn_failed(void **state) {
  (void)state;
  char raw[sizeof DSN + 16];
  snprintf(raw, sizeof raw, DSN, "5.1.1");
  seq_mail_in_t m;
  parse_str(raw, &m);
  assert_true(m.is_dsn);
  assert_true(m.dsn_failed);
  assert_string_equal(m.message_id, "<dsn1@mx.example.test>");
  assert_string_equal(m.dsn_original_id, "<orig42.1700@example.test>");
  assert_string_equal(m.dsn_recipient, "ana@example.test");
  assert_string_equal(m.dsn_status, "5.1.1");
  assert_string_equal(m.from, "mailer-daemon@mx.example.test");
  assert_int_equal(m.ref_count, 0);
}

static void test_inbox_dsn_delayed(void **state) {
  (void)state;
  char raw[sizeof DSN + 16];
  snprintf(raw, sizeof raw, DSN, "4.4.1");
  seq_mail_in_t m;
  parse_str(raw, &m);
  assert_true(m.is_dsn);
  assert_false(m.dsn_failed); /* 4.x.x: delayed, not a bounce */
  assert_string_equal(m.dsn_status, "4.4.1");
  assert_string_equal(m.dsn_original_id, "<orig42.1700@example.test>");
}

static void test_inbox_postmaster_bounce_without_report(void **state) {
  (void)state;
  const char raw[] =
      "From: postmaster@mx.example.test\r\n"
      "Subject: failure notice\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "Sorry, we could not deliver your message.\r\n"
      "--- original message follows ---\r\n"
      "message-id:   <orig7@example.test>\r\n";
  seq_mail_in_t m;
  parse_str(raw, &m);
  assert_true(m.is_dsn);
  assert_true(m.dsn_failed); /* no status: not a delay, so a failure */
  assert_string_equal(m.dsn_original_id, "<orig7@example.test>");
  assert_string_equal(m.dsn_status, "");
  assert_string_equal(m.dsn_recipient, "");
  /* a plain reply from an ordinary sender that mentions a Message-ID is no bounce */
  const char reply[] = "From: ana@example.test\r\nContent-Type: multipart/mixed\r\n\r\nMessage-ID: <x@y>\r\n";
  parse_str(reply, &m);
  assert_false(m.is_dsn);
  assert_string_equal(m.dsn_original_id, "");
}

static void test_inbox_malformed(void **state) {
  (void)state;
  seq_mail_in_t m;
  parse("", 0, &m);
  assert_string_equal(m.message_id, "");
  assert_int_equal(m.ref_count, 0);
  assert_false(m.is_dsn);
  /* no blank line, unterminated ids, empty and nested brackets, a From without an address */
  const char bad[] =
      "Message-ID: <<a@b>\r\nIn-Reply-To: <unterminated@x\r\nReferences: <> <ok@x> <\r\n"
      "From: Nobody Here\r\nSubject";
  parse(bad, sizeof bad - 1, &m);
  assert_string_equal(m.message_id, "");
  assert_int_equal(m.ref_count, 1);
  assert_string_equal(m.refs[0], "<ok@x>");
  assert_string_equal(m.from, "");
  assert_string_equal(m.subject, "");
  /* NUL bytes and a header cut in the middle of a folded line */
  const char nul[] = "From: <a@b.test>\r\nSubject: x\0y\r\n\tz\r\nReferences: <r@x>\r\n \0";
  parse(nul, sizeof nul - 1, &m);
  assert_string_equal(m.from, "a@b.test");
  assert_int_equal(m.ref_count, 1);
  /* a DSN content type whose body is empty or garbage */
  const char dsn[] = "Content-Type: multipart/report; report-type=delivery-status\r\n\r\nStatus:";
  parse(dsn, sizeof dsn - 1, &m);
  assert_true(m.is_dsn);
  assert_string_equal(m.dsn_original_id, "");
  /* pseudo-random bytes: anything goes, but no crash and terminated fields */
  char noise[4096];
  static const char alphabet[] = "<>:\r\n @\tFromReferencesMessage-ID;";
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof noise; i++) {
    x = x * 1103515245u + 12345u;
    noise[i] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
  }
  parse(noise, sizeof noise, &m);
  assert_true(strlen(m.message_id) < SEQ_MSGID_MAX && strlen(m.from) < SEQ_ADDR_MAX);
  assert_true(m.ref_count <= SEQ_REFS_MAX);
}

static void test_inbox_oversized_header(void **state) {
  (void)state;
  /* References with 100 ids (about 2 KiB) and a 10,000-byte subject */
  sq_buf_t b = {0};
  sq_buf_str(&b, "From: <ana@example.test>\r\nReferences:");
  for (int i = 0; i < 100; i++) sq_buf_printf(&b, "\r\n <id%d@example.test>", i);
  sq_buf_str(&b, "\r\nSubject: ");
  for (int i = 0; i < 5000; i++) sq_buf_str(&b, "\xc3\xa9");
  sq_buf_str(&b, "\r\nMessage-ID: <late@example.test>\r\n\r\nbody\r\n");
  assert_false(b.failed);
  seq_mail_in_t m;
  parse(b.data, b.len, &m);
  /* at most SEQ_REFS_MAX ids are kept: the first 20 of the header (where the thread's root,
   * our message, is), newest of them first */
  assert_int_equal(m.ref_count, SEQ_REFS_MAX);
  assert_string_equal(m.refs[0], "<id19@example.test>");
  assert_string_equal(m.refs[SEQ_REFS_MAX - 1], "<id0@example.test>");
  assert_string_equal(m.from, "ana@example.test");
  assert_string_equal(m.message_id, "<late@example.test>"); /* headers after the big one are read */
  assert_true(strlen(m.subject) < SEQ_SUBJECT_MAX);
  assert_true(strlen(m.subject) >= SEQ_SUBJECT_MAX - 4);
  sq_buf_free(&b);
}

/* The subject goes into JSON (the email_in activity): a cut must not leave half a character. */
static void test_inbox_subject_cut_keeps_utf8_whole(void **state) {
  (void)state;
  for (size_t pad = 0; pad < 4; pad++) {
    sq_buf_t b = {0};
    sq_buf_str(&b, "Subject: ");
    for (size_t i = 0; i < pad; i++) sq_buf_str(&b, "x");
    for (int i = 0; i < 200; i++) sq_buf_str(&b, "\xe2\x80\x94"); /* 3-byte "—" */
    sq_buf_str(&b, "\r\n\r\n");
    seq_mail_in_t m;
    parse(b.data, b.len, &m);
    assert_true(strlen(m.subject) >= SEQ_SUBJECT_MAX - 4);
    assert_true(utf8_ok(m.subject));
    sq_buf_free(&b);
  }
}

/* Raw 8-bit bytes in a header (Latin-1 sent unencoded) become '?', valid UTF-8 stays. */
static void test_inbox_raw_8bit_subject_is_repaired(void **state) {
  (void)state;
  static const char raw[] = "Subject: Caf\xe9 \xc3\xa9t\xc3 \xf0\x9f\x98\x80 ok\r\n\r\nbody";
  seq_mail_in_t m;
  parse(raw, sizeof raw - 1, &m);
  assert_string_equal(m.subject, "Caf? \xc3\xa9t? \xf0\x9f\x98\x80 ok");
  assert_true(utf8_ok(m.subject));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inbox_raw_8bit_subject_is_repaired),
      cmocka_unit_test(test_merge_check_known_fields),
      cmocka_unit_test(test_merge_check_unknown_field_line_column),
      cmocka_unit_test(test_merge_check_unclosed),
      cmocka_unit_test(test_merge_check_long_names_bounded),
      cmocka_unit_test(test_merge_render_html_escapes_values_only),
      cmocka_unit_test(test_merge_render_text_as_is),
      cmocka_unit_test(test_merge_render_missing_and_nested),
      cmocka_unit_test(test_merge_render_refuses_bad_fields),
      cmocka_unit_test(test_mime_headers),
      cmocka_unit_test(test_mime_multipart_parts),
      cmocka_unit_test(test_mime_single_part_and_mailto_only),
      cmocka_unit_test(test_mime_long_subject_and_names),
      cmocka_unit_test(test_mime_text_part_line_ends),
      cmocka_unit_test(test_header_clean),
      cmocka_unit_test(test_inbox_reply_crlf),
      cmocka_unit_test(test_inbox_reply_lf_only),
      cmocka_unit_test(test_inbox_header_lookup),
      cmocka_unit_test(test_inbox_dsn_failed),
      cmocka_unit_test(test_inbox_dsn_delayed),
      cmocka_unit_test(test_inbox_postmaster_bounce_without_report),
      cmocka_unit_test(test_inbox_malformed),
      cmocka_unit_test(test_inbox_oversized_header),
      cmocka_unit_test(test_inbox_subject_cut_keeps_utf8_whole),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
