/* Fixed-window failure counters in a small open hash table; old windows are reused. */
#include "auth/ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define SLOTS 8192

typedef struct slot {
  unsigned char key_hash[16];
  int64_t window_start;
  int count;
} slot_t;

struct td__ratelimit {
  pthread_mutex_t lock;
  int64_t window_ms;
  slot_t slots[SLOTS];
};

td__ratelimit_t *td__ratelimit_new(int64_t window_ms) {
  td__ratelimit_t *rl = td__xcalloc(1, sizeof *rl);
  pthread_mutex_init(&rl->lock, NULL);
  rl->window_ms = window_ms;
  return rl;
}

void td__ratelimit_free(td__ratelimit_t *rl) {
  if (rl == NULL) return;
  pthread_mutex_destroy(&rl->lock);
  free(rl);
}

/* Finds the key's slot, or claims an expired one. The table is a cache: under a flood of
 * distinct keys an old counter may be evicted, never a live one within its window. */
static slot_t *find(td__ratelimit_t *rl, const char *key, int64_t now, bool create) {
  unsigned char h[16];
  crypto_generichash(h, sizeof h, (const unsigned char *)key, strlen(key), NULL, 0);
  size_t start = (size_t)(h[0] | h[1] << 8 | h[2] << 16) % SLOTS;
  slot_t *free_slot = NULL;
  for (size_t i = 0; i < 64; i++) {
    slot_t *s = &rl->slots[(start + i) % SLOTS];
    bool expired = s->count == 0 || now - s->window_start >= rl->window_ms;
    if (!expired && memcmp(s->key_hash, h, sizeof h) == 0) return s;
    if (expired && free_slot == NULL) free_slot = s;
  }
  if (!create || free_slot == NULL) return NULL;
  memcpy(free_slot->key_hash, h, sizeof h);
  free_slot->window_start = now;
  free_slot->count = 0;
  return free_slot;
}

bool td__ratelimit_exceeded(td__ratelimit_t *rl, const char *key, int limit, int64_t now_ms,
                            int64_t *retry_after_s) {
  pthread_mutex_lock(&rl->lock);
  slot_t *s = find(rl, key, now_ms, false);
  bool over = s && s->count >= limit;
  if (over && retry_after_s) *retry_after_s = (s->window_start + rl->window_ms - now_ms + 999) / 1000;
  pthread_mutex_unlock(&rl->lock);
  return over;
}

void td__ratelimit_add(td__ratelimit_t *rl, const char *key, int64_t now_ms) {
  pthread_mutex_lock(&rl->lock);
  slot_t *s = find(rl, key, now_ms, true);
  if (s) s->count++;
  pthread_mutex_unlock(&rl->lock);
}
