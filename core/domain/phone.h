/* Phone numbers: normalization to E.164 (+<country code><number>, at most 15 digits) where
 * the input allows it, so that the same number typed two ways compares equal. A number we
 * cannot place (extensions, letters, too short or too long) is kept as typed, trimmed. */
#ifndef TD_DOMAIN_PHONE_H
#define TD_DOMAIN_PHONE_H

#include <stddef.h>

#define TD_PHONE_MAX 64 /* longest accepted input, in bytes */

/* Normalizes in into out (out_size >= TD_PHONE_MAX + 1):
 *   - punctuation (space, tab, - . ( ) /) is stripped;
 *   - a leading + or the international prefix 00 (and 011 when the default calling code is
 *     1, the North American prefix) introduces a country calling code;
 *   - otherwise the number is national: with default_cc "1" it must have 10 digits (or 11
 *     starting with 1) and an area code starting 2-9; with any other code one trunk 0 is
 *     dropped (except for Italy, +39, where the 0 belongs to the number);
 *   - "+44 (0)20 ..." style: the "(0)" after a country code is dropped.
 * default_cc is 1-3 digits without '+' (NULL: td__phone_default_calling_code()).
 * Returns 1 when out holds an E.164 number, 0 when out holds the trimmed input unchanged
 * (it could not be normalized), TD_EINVAL when the input is blank or longer than
 * TD_PHONE_MAX bytes (out is then empty). */
int td__phone_normalize(const char *in, const char *default_cc, char *out, size_t out_size);

/* The process-wide default country calling code ("1" unless set). Set it once at start-up,
 * before threads run (e.g. from the config key candidates.default_calling_code). Returns 0,
 * or TD_EINVAL when cc is not 1-3 digits with a non-zero first digit. */
int td__phone_set_default_calling_code(const char *cc);
const char *td__phone_default_calling_code(void);

#endif
