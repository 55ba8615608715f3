/*
 * json_schema.h - the core's compact JSON Schema validator (draft 7 semantics).
 *
 * One validator serves every edge of talentd: API request bodies, the config
 * file, plugin manifests and configs. It implements the keywords listed in
 * json_schema.c and is checked against the official JSON-Schema-Test-Suite by
 * tests/unit/json_schema_suite.c. Also home of the small RFC 6901 JSON pointer
 * builder that json_limits.c shares.
 */
#ifndef TD_UTIL_JSON_SCHEMA_H
#define TD_UTIL_JSON_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

/* Deepest schema nesting (subschemas and $ref hops) the validator follows. */
#define TD__SCHEMA_MAX_DEPTH 64

/*
 * One validation failure. pointer is an RFC 6901 JSON pointer into the
 * INSTANCE ("" for the whole instance, "/emails/2" ...); message is plain
 * English saying what is wrong and what is expected. Both are malloc'd and
 * owned by the td__schema_errors_t that holds them.
 */
typedef struct td__schema_error {
  char *pointer;
  char *message;
} td__schema_error_t;

/* A growable list of errors. Zero-initialise it; free it with td__schema_errors_free. */
typedef struct td__schema_errors {
  td__schema_error_t *items;
  size_t count;
  size_t cap;
} td__schema_errors_t;

/*
 * Validates instance against schema (all three borrowed for the call).
 *
 * "$ref" must be a local reference ("#", "#/json/pointer" with ~0, ~1 and
 * %XX escapes); it resolves against root, the whole document the schema came
 * from (an OpenAPI document whose components/schemas hold the schema, say).
 * Pass root == schema for a standalone schema.
 *
 * Appends at most max_errors errors to *errors (0 = unlimited); errors may be
 * NULL when only the verdict matters. Returns 0 if valid, 1 if invalid (at
 * least one error appended when errors is not NULL), or a negative errno-style
 * code when the schema cannot be used: -EINVAL (malformed keyword value, bad
 * or dangling $ref, pattern that does not compile), -ENOTSUP (a draft 7
 * assertion keyword or regex construct this validator does not implement),
 * -ELOOP (nesting deeper than TD__SCHEMA_MAX_DEPTH, e.g. a $ref loop),
 * -ENOMEM. Keyword values are checked as they are used, so a malformed
 * keyword in a branch no instance reaches goes unnoticed. Errors appended
 * before a negative return stay in *errors; the caller frees them as usual.
 */
int td__schema_validate(const json_t *root, const json_t *schema, const json_t *instance,
                        td__schema_errors_t *errors, size_t max_errors);

/* Frees every error in *errors and resets it to empty. NULL is a no-op. */
void td__schema_errors_free(td__schema_errors_t *errors);

/*
 * A JSON pointer built segment by segment while walking a document.
 * Zero-initialise it; buf is NUL-terminated once anything was pushed, and
 * td__json_pointer_str() gives "" before that. Take a mark (p->len) before a
 * push and td__json_pointer_truncate() back to it afterwards.
 */
typedef struct td__json_pointer {
  char *buf;
  size_t len;
  size_t cap;
} td__json_pointer_t;

/* Appends "/" and key (key_len bytes, escaped per RFC 6901). 0 or -ENOMEM. */
int td__json_pointer_push_key(td__json_pointer_t *p, const char *key, size_t key_len);
/* Appends "/" and the decimal array index. 0 or -ENOMEM. */
int td__json_pointer_push_index(td__json_pointer_t *p, size_t index);
/* Cuts the pointer back to len bytes (a mark taken earlier). */
void td__json_pointer_truncate(td__json_pointer_t *p, size_t len);
/* The pointer as a string, borrowed until the next push or free. */
const char *td__json_pointer_str(const td__json_pointer_t *p);
/* Frees the buffer and resets the pointer to "". */
void td__json_pointer_free(td__json_pointer_t *p);

#endif /* TD_UTIL_JSON_SCHEMA_H */
