/* Counting failures per key in fixed windows (login attempts per account and per address).
 * In memory: a restart forgives, which is acceptable for a brute-force brake. Thread-safe. */
#ifndef TD_AUTH_RATELIMIT_H
#define TD_AUTH_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct td__ratelimit td__ratelimit_t;

td__ratelimit_t *td__ratelimit_new(int64_t window_ms);
void td__ratelimit_free(td__ratelimit_t *rl);
/* True when key already has `limit` failures in the current window; *retry_after_s says when
 * the window ends. */
bool td__ratelimit_exceeded(td__ratelimit_t *rl, const char *key, int limit, int64_t now_ms,
                            int64_t *retry_after_s);
void td__ratelimit_add(td__ratelimit_t *rl, const char *key, int64_t now_ms);

#endif
