/* The API description: schemas/openapi/base.json plus one fragment per resource (schemas/openapi/NAME.json),
 * merged at start-up. It is served at /api/v1/openapi.json and its components/schemas validate request
 * bodies, so the document and the code cannot drift apart. */
#ifndef TD_API_OPENAPI_H
#define TD_API_OPENAPI_H

#include <jansson.h>

/* Returns the merged document (new reference) or NULL with *error set (static text). */
json_t *td__openapi_build(const char **error);

/* Merges fragment's paths and components/schemas into doc (both borrowed). Returns 0, or -1
 * with *error set when a path-method or a schema name is defined twice (doc may then hold
 * part of the fragment: callers stop on failure). */
int td__openapi_merge(json_t *doc, const json_t *fragment, const char **error);

#endif
