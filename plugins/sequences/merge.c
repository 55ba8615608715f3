/* Merge fields: {{candidate.first_name}} and friends, a closed list checked when a template is
 * saved (an unknown field is an error naming it and where it is) and rendered per message,
 * HTML-escaped in HTML parts and inserted as they are in text parts. Whitespace inside the
 * braces is allowed ("{{ job.title }}"). */
#include <stdio.h>
#include <string.h>

#include "mail_int.h"

#define FIELD_MAX 64 /* longer than any known field: longer names are unknown */

static const char *const FIELDS[] = {"candidate.first_name", "candidate.last_name", "candidate.email",
                                     "job.title",            "job.department",      "sender.name",
                                     "sender.email",         "unsubscribe_url",     NULL};

const char sq_merge_field_list[] =
    "candidate.first_name, candidate.last_name, candidate.email, job.title, job.department, "
    "sender.name, sender.email, unsubscribe_url";

static bool known(const char *name) {
  for (size_t i = 0; FIELDS[i]; i++)
    if (strcmp(FIELDS[i], name) == 0) return true;
  return false;
}

/* One "{{...}}" at text (which starts with "{{"): its trimmed name into name and the length of
 * the whole field into *len. Returns false when no "}}" closes it on the same line within
 * SCAN_MAX characters (a bounded scan: a text full of "{{" costs linear time). */
#define SCAN_MAX 256
static bool field_at(const char *text, char name[FIELD_MAX], size_t *len) {
  const char *p = text + 2, *end = NULL;
  for (const char *q = p; *q && *q != '\n' && *q != '\r' && q - p < SCAN_MAX; q++)
    if (q[0] == '}' && q[1] == '}') {
      end = q;
      break;
    }
  if (end == NULL) return false;
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  const char *q = end;
  while (q > p && (q[-1] == ' ' || q[-1] == '\t')) q--;
  size_t n = (size_t)(q - p);
  if (n >= FIELD_MAX) n = FIELD_MAX - 1; /* unknown anyway; the message shows a prefix */
  memcpy(name, p, n);
  name[n] = '\0';
  *len = (size_t)(end + 2 - text);
  return true;
}

static void position(const char *text, const char *at, int *line, int *column) {
  *line = 1;
  *column = 1;
  for (const char *p = text; p < at; p++) {
    if (*p == '\n') {
      (*line)++;
      *column = 1;
    } else if (((unsigned char)*p & 0xC0) != 0x80) /* count characters, not UTF-8 bytes */
      (*column)++;
  }
}

int sq_merge_check(const char *text, char *why, size_t why_size) {
  if (text == NULL) return 0;
  for (const char *p = strstr(text, "{{"); p; p = strstr(p, "{{")) {
    char name[FIELD_MAX];
    size_t len;
    int line, column;
    if (!field_at(p, name, &len)) {
      position(text, p, &line, &column);
      snprintf(why, why_size, "a merge field opened with {{ at line %d, column %d is not closed with }} on its line",
               line, column);
      return TD_EINVAL;
    }
    if (!known(name)) {
      position(text, p, &line, &column);
      snprintf(why, why_size, "unknown merge field {{%s}} at line %d, column %d; use one of: %s", name, line,
               column, sq_merge_field_list);
      return TD_EINVAL;
    }
    p += len;
  }
  return 0;
}

static void add_html_escaped(sq_buf_t *out, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&': sq_buf_str(out, "&amp;"); break;
      case '<': sq_buf_str(out, "&lt;"); break;
      case '>': sq_buf_str(out, "&gt;"); break;
      case '"': sq_buf_str(out, "&quot;"); break;
      case '\'': sq_buf_str(out, "&#39;"); break;
      default: sq_buf_add(out, s, 1);
    }
  }
}

int sq_merge_render(const char *text, const json_t *values, int mode, sq_buf_t *out) {
  if (text == NULL) return 0;
  const char *p = text;
  for (const char *f = strstr(p, "{{"); f; f = strstr(p, "{{")) {
    char name[FIELD_MAX];
    size_t len;
    if (!field_at(f, name, &len) || !known(name)) return TD_EINVAL;
    sq_buf_add(out, p, (size_t)(f - p));
    const char *v = json_string_value(json_object_get(values, name));
    if (v) mode == SQ_MERGE_HTML ? add_html_escaped(out, v) : sq_buf_str(out, v);
    p = f + len;
  }
  sq_buf_str(out, p);
  return out->failed ? TD_ENOMEM : 0;
}
