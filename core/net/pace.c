/* Token bucket (see pace.h). */
#include "net/pace.h"

/* An earlier now_ns (a caller's stale reading) adds nothing and keeps last_ns: time is only
 * ever counted once. */
static void refill(td__pace_t *p, uint64_t now_ns) {
  if (now_ns <= p->last_ns) return;
  p->tokens += p->rate * (double)(now_ns - p->last_ns) / 1e9;
  if (p->tokens > p->burst) p->tokens = p->burst;
  p->last_ns = now_ns;
}

void td__pace_init(td__pace_t *p, double rate, double burst, uint64_t now_ns) {
  p->rate = rate;
  p->burst = burst < 1 ? 1 : burst;
  p->tokens = p->burst;
  p->last_ns = now_ns;
}

bool td__pace_take(td__pace_t *p, uint64_t now_ns) {
  if (p->rate <= 0) return true;
  refill(p, now_ns);
  if (p->tokens < 1) return false;
  p->tokens -= 1;
  return true;
}

int td__pace_wait_ms(td__pace_t *p, uint64_t now_ns) {
  if (p->rate <= 0) return 0;
  refill(p, now_ns);
  if (p->tokens >= 1) return 0;
  double ms = (1 - p->tokens) / p->rate * 1000.0;
  return ms < 1 ? 1 : (int)ms + 1;
}
