/* Lookup over the resources compiled into the binary. */
#include "util/resources.h"

#include <string.h>

const td__resource_t *td__resource_find(const char *path) {
  for (const td__resource_t *r = td__resources; r->path != NULL; r++)
    if (strcmp(r->path, path) == 0) return r;
  return NULL;
}
