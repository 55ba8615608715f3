/* The growing byte buffer the analytics renderers write into, and the one number format they
 * share (shortest round-trip), so CSV cells and SVG labels print a value the same way. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

/* Makes room for n more bytes plus the terminating NUL; sets failed when it cannot. */
static int reserve(an_buf_t *b, size_t n) {
  if (b->failed) return -1;
  if (n >= (size_t)-1 / 2 - b->len) {
    b->failed = 1;
    return -1;
  }
  if (b->len + n + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    b->failed = 1;
    return -1;
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

void an_buf_append(an_buf_t *b, const char *s, size_t n) {
  if (reserve(b, n) != 0) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void an_buf_puts(an_buf_t *b, const char *s) { an_buf_append(b, s, strlen(s)); }

void an_buf_printf(an_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    an_buf_append(b, small, (size_t)n);
    return;
  }
  if (reserve(b, (size_t)n) != 0) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void an_buf_free(an_buf_t *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

void an_buf_number(an_buf_t *b, double v) {
  if (!isfinite(v)) return;
  if (v == floor(v) && fabs(v) < 9007199254740992.0) {
    an_buf_printf(b, "%.0f", v == 0 ? 0.0 : v); /* no "-0" */
    return;
  }
  char s[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(s, sizeof s, "%.*g", prec, v);
    if (strtod(s, NULL) == v) break;
  }
  an_buf_puts(b, s);
}

const char *const an_stage_types[6] = {"lead", "applied", "screen", "interview", "offer", "hired"};
