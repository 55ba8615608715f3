/*
 * json_regex.h - JSON Schema patterns (ECMA-262 regexes) run on POSIX <regex.h>.
 *
 * Draft 7 "pattern" and "patternProperties" hold ECMA-262 regular
 * expressions; the C library offers POSIX extended ones. This module
 * translates the first into the second (json_regex.c lists what is
 * translated and what is refused), compiles the result, searches with it the
 * way ECMA test() does, and caches compiled patterns for one validation.
 * The validator (json_schema.c) is its only user.
 */
#ifndef TD_UTIL_JSON_REGEX_H
#define TD_UTIL_JSON_REGEX_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Translates the ECMA-262 pattern src (n bytes, borrowed; need not be
 * NUL-terminated) into a POSIX extended regex. On success *ere is a
 * malloc'd NUL-terminated string the caller frees; otherwise *ere is NULL
 * and the result says why: -EINVAL (malformed: a dangling "\", an
 * unterminated or reversed class, a bad \x or \u escape, a truncated UTF-8
 * sequence), -ENOTSUP (valid ECMA we cannot express: lookaround, named
 * groups, backreferences, \p{..}, \c, NUL, non-ASCII inside [...], [] and
 * [^], lone surrogates) or -ENOMEM. Unbalanced parentheses and the like
 * pass through and are caught by regcomp (td__regex_compile).
 */
int td__regex_translate(const char *src, size_t n, char **ere);

/*
 * Translates src (n bytes, borrowed) and compiles it into *re with
 * REG_EXTENDED | REG_NOSUB. On 0 the caller owns *re and releases it with
 * regfree(); on failure *re holds nothing. Errors as td__regex_translate,
 * plus -EINVAL when regcomp refuses the translation and -ENOMEM when
 * regcomp runs out of memory.
 */
int td__regex_compile(const char *src, size_t n, regex_t *re);

/*
 * Searches s (n bytes, borrowed; may contain NUL) for re anywhere, not
 * anchored, as ECMA test() does. False for subjects longer than INT_MAX.
 */
bool td__regex_search(const regex_t *re, const char *s, size_t n);

/* One compiled pattern and the schema string it came from. */
typedef struct td__regex_entry {
  const char *src;
  regex_t re;
} td__regex_entry_t;

/*
 * Compiled patterns for the length of one validation, keyed by the address
 * of the pattern text (the same schema string is compiled once however many
 * instance values it checks). Zero-initialise; free with
 * td__regex_cache_free.
 */
typedef struct td__regex_cache {
  td__regex_entry_t *entries;
  size_t count;
  size_t cap;
} td__regex_cache_t;

/*
 * Sets *re to the compiled form of src (n bytes). src must stay valid and
 * unchanged as long as the cache lives, since its address is the key. *re is
 * borrowed from the cache and valid until the next get or free. Returns 0 or
 * an error of td__regex_compile (failures are not cached).
 */
int td__regex_cache_get(td__regex_cache_t *cache, const char *src, size_t n, const regex_t **re);

/* Frees every compiled pattern and resets the cache to empty. */
void td__regex_cache_free(td__regex_cache_t *cache);

#endif /* TD_UTIL_JSON_REGEX_H */
