/*
 * json_limits.h - parse an untrusted JSON request body within size limits.
 *
 * The HTTP layer bounds the total body size; this module bounds the shape:
 * nesting depth and array length (ARCHITECTURE.md section 8: depth 32,
 * 10,000 array elements).
 */
#ifndef TD_UTIL_JSON_LIMITS_H
#define TD_UTIL_JSON_LIMITS_H

#include <stddef.h>

#include <jansson.h>

#define TD__JSON_DEFAULT_MAX_DEPTH 32
#define TD__JSON_DEFAULT_MAX_ARRAY 10000

/*
 * Parses buf (len bytes, borrowed; need not be NUL-terminated) with jansson,
 * rejecting duplicate object keys, "\u0000" in strings and trailing
 * garbage, and accepting any JSON value at the top level. Then enforces:
 * nesting depth <= max_depth (an object or array counts one level; the top
 * level container is level 1; max_depth <= 0 means the default 32) and
 * every array <= max_array elements (0 means the default 10,000).
 *
 * Returns the value (caller owns one reference) or NULL. On NULL,
 * *err_pointer is a malloc'd RFC 6901 pointer to the offending container
 * ("" for a syntax error) and *err_message a malloc'd sentence such as
 * "invalid JSON at line 1, column 5: ..." or "nesting deeper than 32
 * levels"; the caller frees both. If memory runs out, NULL is returned with
 * both set to NULL (jansson may instead report its own allocation failure
 * as a syntax error). On success both are set to NULL.
 */
json_t *td__json_parse_limited(const char *buf, size_t len, int max_depth, size_t max_array,
                               char **err_pointer, char **err_message);

#endif /* TD_UTIL_JSON_LIMITS_H */
