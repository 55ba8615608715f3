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

/* --- definitions (the /custom-fields resource) ---
 * A definition's entity and key never change. Its type may change only while no record
 * holds a value for it, and a select field may drop an option only while no record uses
 * that option (both refused with 409 naming the field). Definitions have no version
 * column: their ETag version is a hash of the mutable columns, so If-Match still detects
 * a concurrent change. Roles: td__policy_can(TD_RES_CUSTOM_FIELD, ...). */

/* Creates a definition from a validated body (borrowed). *out is the definition JSON (new
 * reference), *version its ETag version. Emits custom_field.created. */
int td__custom_field_create(td__ctx_t *ctx, const json_t *body, json_t **out, int64_t *version);
/* The definition with public id id (TD_ENOTFOUND on ctx otherwise). */
int td__custom_field_get(td__ctx_t *ctx, const char *id, json_t **out, int64_t *version);
/* One page of definitions, optionally of one entity (NULL: all), after rowid `after`.
 * *items is a new array; *next_rowid is 0 at the end. */
int td__custom_field_list(td__ctx_t *ctx, const char *entity, int limit, int64_t after, json_t **items,
                          int64_t *next_rowid);
/* Applies a validated PATCH body (label, type, options, required, sensitive). The caller
 * checks If-Match against td__custom_field_get's version first, in the same transaction.
 * Emits custom_field.updated. */
int td__custom_field_update(td__ctx_t *ctx, const char *id, const json_t *body, json_t **out,
                            int64_t *version);
/* Deletes a definition. While records hold values for it, refuses with 409 unless purge,
 * which also removes those values (bumping each record's version). Emits
 * custom_field.deleted with the number of records purged. */
int td__custom_field_delete(td__ctx_t *ctx, const char *id, bool purge);

/* The type of the field key of entity (out needs 16 bytes) and, when options_out is not
 * NULL, its options (a new array). Returns 0, TD_ENOTFOUND or TD_EIO. */
int td__custom_field_type(td__db_t *db, const char *entity, const char *key, char *type_out,
                          json_t **options_out);

#endif
