/* The API description: schemas/openapi/base.json plus one fragment per resource (schemas/openapi/NAME.json),
 * merged at start-up. It is served at /api/v1/openapi.json and its components/schemas validate request
 * bodies, so the document and the code cannot drift apart. */
#ifndef TD_API_OPENAPI_H
#define TD_API_OPENAPI_H

#include <jansson.h>

/* Returns the merged document (new reference) or NULL with *error set (static text). */
json_t *td__openapi_build(const char **error);

#endif
