/* Files compiled into the binary (schemas/, migrations) by cmake/embed.cmake. */
#ifndef TD_UTIL_RESOURCES_H
#define TD_UTIL_RESOURCES_H

#include <stddef.h>

typedef struct td__resource {
  const char *path; /* relative to the source root, e.g. "schemas/openapi.json" */
  const char *data; /* NUL-terminated after size bytes */
  size_t size;
} td__resource_t;

/* Terminated by an entry whose path is NULL. */
extern const td__resource_t td__resources[];

/* Returns the resource at path, or NULL. */
const td__resource_t *td__resource_find(const char *path);

#endif
