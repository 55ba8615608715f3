/*
 * json_format.h - the JSON Schema "format" values the validator checks.
 *
 * Draft 7 leaves format checking optional; talentd checks date-time, date,
 * email and uri (syntax only: no DNS, no reachability) and treats every
 * other format as an annotation. The validator (json_schema.c) is the only
 * user; tests/unit/test_json_format.c covers the edge cases.
 */
#ifndef TD_UTIL_JSON_FORMAT_H
#define TD_UTIL_JSON_FORMAT_H

#include <stddef.h>

/*
 * Checks the string s (n bytes, borrowed; may contain NUL) against the
 * format called name (a NUL-terminated string, borrowed).
 *
 * Returns NULL when s conforms, or when name is not a format we check
 * (draft 7: unknown formats such as "uuid" or "int64" are annotations).
 * Otherwise returns the sentence to report, saying what is expected with an
 * example, e.g. "must be a date in YYYY-MM-DD form, for example 2024-05-01";
 * it is a string constant, never freed.
 *
 *   date-time  RFC 3339 date-time; T and Z in either case; a leap second
 *              (:60) only at 23:59:60 UTC once the offset is applied
 *   date       RFC 3339 full-date, a real calendar day (leap years known)
 *   email      a dot-atom local part "@" a DNS host name (no quoted local
 *              parts, no address literals)
 *   uri        an absolute RFC 3986 URI: a scheme is required
 */
const char *td__format_check(const char *name, const char *s, size_t n);

#endif /* TD_UTIL_JSON_FORMAT_H */
