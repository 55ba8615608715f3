/* The one place the core reacts to running out of memory: log and abort. */
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talentd/types.h"

static void out_of_memory(size_t size) {
  fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"bytes\":%zu}\n", size);
  abort();
}

void *td__xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (p == NULL) out_of_memory(size);
  return p;
}

void *td__xcalloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (p == NULL) out_of_memory(count * size);
  return p;
}

void *td__xrealloc(void *ptr, size_t size) {
  void *p = realloc(ptr, size ? size : 1);
  if (p == NULL) out_of_memory(size);
  return p;
}

char *td__xstrdup(const char *s) { return td__xstrndup(s, strlen(s)); }

char *td__xstrndup(const char *s, size_t n) {
  char *p = td__xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *td__xprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) out_of_memory(0);
  char *p = td__xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}
