/* Allocation inside the core: out of memory aborts cleanly in one place (STYLE.md). */
#ifndef TD_UTIL_MEM_H
#define TD_UTIL_MEM_H

#include <stddef.h>

void *td__xmalloc(size_t size);
void *td__xcalloc(size_t count, size_t size);
void *td__xrealloc(void *ptr, size_t size);
char *td__xstrdup(const char *s);
char *td__xstrndup(const char *s, size_t n);
/* printf into a fresh allocation. */
char *td__xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
