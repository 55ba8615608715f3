/* Reading script files for the command line (see script_file.h). */
#include "lua/script_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

char *td__script_file_read(const char *path, size_t max, size_t *len, char *why, size_t why_size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(why, why_size, "cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  char *buf = td__xmalloc(max + 2);
  size_t n = fread(buf, 1, max + 1, f);
  bool failed = ferror(f) != 0;
  fclose(f);
  if (failed || n > max || memchr(buf, '\0', n) != NULL) {
    snprintf(why, why_size, "%s is %s", path,
             failed    ? "unreadable"
             : n > max ? "larger than the script size limit"
                       : "not text");
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

void td__script_file_name(const char *path, char *out, size_t size) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 4 && strcmp(base + n - 4, ".lua") == 0) n -= 4;
  snprintf(out, size, "%.*s", (int)n, base);
}
