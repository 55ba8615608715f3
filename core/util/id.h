/* Unguessable object ids: a type prefix, then base32 of 48 bits of creation time (ms) and
 * 80 random bits. The time prefix keeps index inserts local; the 80 bits keep ids secret. */
#ifndef TD_UTIL_ID_H
#define TD_UTIL_ID_H

#include <stddef.h>

#define TD_ID_MAX 40

/* Writes prefix + "_" + 26 base32 characters into out (TD_ID_MAX bytes). Ids made later
 * sort after earlier ones (to the millisecond). */
void td__id_new(const char *prefix, char out[TD_ID_MAX]);
/* Writes n random bytes as base64url without padding into out (4*n/3+2 bytes). */
void td__random_token(size_t n, char *out, size_t out_size);

#endif
