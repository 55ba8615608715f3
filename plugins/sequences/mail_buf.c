/* A growable byte buffer for building messages and rendered templates (see mail_int.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_int.h"

#define SQ_BUF_MAX (16u << 20) /* no message or rendering of ours comes near 16 MiB */

static bool grow(sq_buf_t *b, size_t extra) {
  if (b->failed) return false;
  if (b->len + extra + 1 <= b->cap) return true;
  if (b->len + extra + 1 > SQ_BUF_MAX) {
    b->failed = true;
    return false;
  }
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (p == NULL) {
    b->failed = true;
    return false;
  }
  b->data = p;
  b->cap = cap;
  return true;
}

void sq_buf_add(sq_buf_t *b, const void *bytes, size_t n) {
  if (!grow(b, n)) return;
  if (n) memcpy(b->data + b->len, bytes, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void sq_buf_str(sq_buf_t *b, const char *s) { sq_buf_add(b, s, strlen(s)); }

void sq_buf_printf(sq_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !grow(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void sq_buf_free(sq_buf_t *b) {
  free(b->data);
  *b = (sq_buf_t){0};
}

char *sq_buf_take(sq_buf_t *b) {
  char *out = b->failed ? NULL : b->data;
  if (out == NULL && !b->failed) out = calloc(1, 1);
  if (b->failed) free(b->data);
  *b = (sq_buf_t){0};
  return out;
}
