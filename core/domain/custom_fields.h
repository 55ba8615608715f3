/* Custom field definitions (entity, key, type, options) and the check every write of a
 * candidate, job or application runs on its custom_fields object. */
#ifndef TD_DOMAIN_CUSTOM_FIELDS_H
#define TD_DOMAIN_CUSTOM_FIELDS_H

#include <jansson.h>
#include <stdbool.h>

#include "domain/context.h"

/* Validates values (a JSON object, borrowed) for entity ("candidate", "job",
 * "application") against the defined fields: unknown keys, wrong types, options outside
 * the list, and (when is_create) missing required fields are field errors on ctx whose
 * pointers start with pointer_prefix (e.g. "/custom_fields"). Returns 0 or TD_EINVAL. */
int td__custom_fields_validate(td__ctx_t *ctx, const char *entity, const json_t *values,
                               const char *pointer_prefix, bool is_create);

/* Removes the sensitive fields of entity from values (in place), for principals that may
 * not see them (td__policy_sees_sensitive). */
void td__custom_fields_redact(td__db_t *db, const char *entity, json_t *values);

#endif
