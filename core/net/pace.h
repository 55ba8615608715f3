/* A token bucket: at most `rate` events per second on average, at most `burst` at once.
 * Used by the mail thread to pace SMTP messages (mail.max_messages_per_second). Not
 * thread-safe: one owner. */
#ifndef TD_NET_PACE_H
#define TD_NET_PACE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  double rate;   /* tokens per second; <= 0: no limit */
  double burst;  /* the bucket's size */
  double tokens; /* available now */
  uint64_t last_ns;
} td__pace_t;

/* Starts full at now_ns. A burst below 1 is taken as 1. */
void td__pace_init(td__pace_t *p, double rate, double burst, uint64_t now_ns);

/* Takes one token when one is available at now_ns. Always true without a limit. */
bool td__pace_take(td__pace_t *p, uint64_t now_ns);

/* Milliseconds until a token is available (0: now; at least 1 otherwise). */
int td__pace_wait_ms(td__pace_t *p, uint64_t now_ns);

#endif
