/* A string intern table for reports over millions of rows: each distinct source or reason is
 * stored once and handed out as a stable pointer, so rows carry pointers, not copies. */
#ifndef ANALYTICS_INTERN_H
#define ANALYTICS_INTERN_H

#include <stddef.h>

typedef struct an_intern {
  char **slots;    /* open addressing, NULL = empty */
  size_t cap;      /* a power of two */
  size_t count;
} an_intern_t;

/* The stored copy of s (NULL for NULL), or NULL with *failed set when memory ran out.
 * At most 1,000,000 distinct strings (then *failed too). */
const char *an_intern(an_intern_t *t, const char *s, int *failed);
void an_intern_free(an_intern_t *t);

#endif
