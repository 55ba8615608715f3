/* Growable buffer: amortised doubling, always NUL-terminated. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static void reserve(td__buf_t *b, size_t extra) {
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  b->data = td__xrealloc(b->data, cap);
  b->cap = cap;
}

void td__buf_append(td__buf_t *b, const void *data, size_t n) {
  reserve(b, n);
  if (n) memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void td__buf_puts(td__buf_t *b, const char *s) { td__buf_append(b, s, strlen(s)); }

void td__buf_printf(td__buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void td__buf_json_escape(td__buf_t *b, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': td__buf_puts(b, "\\\""); break;
      case '\\': td__buf_puts(b, "\\\\"); break;
      case '\n': td__buf_puts(b, "\\n"); break;
      case '\r': td__buf_puts(b, "\\r"); break;
      case '\t': td__buf_puts(b, "\\t"); break;
      default:
        if (*p < 0x20)
          td__buf_printf(b, "\\u%04x", *p);
        else
          td__buf_append(b, p, 1);
    }
  }
}

void td__buf_reset(td__buf_t *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void td__buf_free(td__buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *td__buf_take(td__buf_t *b) {
  char *p = b->data ? b->data : td__xstrdup("");
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}
