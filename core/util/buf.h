/* A growable byte buffer with an optional hard cap. */
#ifndef TD_UTIL_BUF_H
#define TD_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct td__buf {
  char *data; /* always NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
} td__buf_t;

/* Appends n bytes; aborts on out of memory (core allocation policy). */
void td__buf_append(td__buf_t *b, const void *data, size_t n);
void td__buf_puts(td__buf_t *b, const char *s);
void td__buf_printf(td__buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string body (no quotes), escaping as RFC 8259 requires. */
void td__buf_json_escape(td__buf_t *b, const char *s);
void td__buf_reset(td__buf_t *b);
void td__buf_free(td__buf_t *b);
/* Hands the data to the caller (who frees it) and leaves b empty. */
char *td__buf_take(td__buf_t *b);

#endif
