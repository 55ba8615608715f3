/* Standard Webhooks signing: the signed content is "<msg_id>.<timestamp>.<body>", the
 * signature HMAC-SHA256 with the secret's bytes (base64 after "whsec_"), sent base64 as
 * "v1,<signature>"; several space-separated signatures while a rotated secret is valid. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "webhooks.h"

#define PREFIX "whsec_"
#define KEY_BYTES 32

void wh_secret_new(char out[WH_SECRET_MAX]) {
  unsigned char key[KEY_BYTES];
  randombytes_buf(key, sizeof key);
  memcpy(out, PREFIX, sizeof PREFIX - 1);
  sodium_bin2base64(out + sizeof PREFIX - 1, WH_SECRET_MAX - (sizeof PREFIX - 1), key, sizeof key,
                    sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(key, sizeof key);
}

static int one_signature(const char *secret, const char *msg_id, long long timestamp, const char *body,
                         size_t body_len, char *out, size_t out_size) {
  unsigned char key[64], mac[crypto_auth_hmacsha256_BYTES];
  size_t key_len = 0;
  if (secret == NULL || strncmp(secret, PREFIX, sizeof PREFIX - 1) != 0) return TD_EINVAL;
  const char *b64 = secret + sizeof PREFIX - 1;
  if (sodium_base642bin(key, sizeof key, b64, strlen(b64), NULL, &key_len, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      key_len == 0)
    return TD_EINVAL;
  char head[128];
  int n = snprintf(head, sizeof head, "%s.%lld.", msg_id, timestamp);
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, key_len);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)head, (unsigned long long)n);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(key, sizeof key);
  if (out_size < 4 + sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_ORIGINAL)) return TD_EINVAL;
  memcpy(out, "v1,", 3);
  sodium_bin2base64(out + 3, out_size - 3, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
  return 0;
}

int wh_sign(const char *secret, const char *previous, const char *msg_id, long long timestamp,
            const char *body, size_t body_len, char out[WH_SIGNATURE_MAX]) {
  int rc = one_signature(secret, msg_id, timestamp, body, body_len, out, WH_SIGNATURE_MAX);
  if (rc || previous == NULL) return rc;
  size_t used = strlen(out);
  out[used] = ' ';
  return one_signature(previous, msg_id, timestamp, body, body_len, out + used + 1,
                       WH_SIGNATURE_MAX - used - 1);
}

int wh_patterns_match(const json_t *patterns, const char *type) {
  size_t i;
  json_t *p;
  json_array_foreach(patterns, i, p) {
    const char *s = json_string_value(p);
    size_t n = s ? strlen(s) : 0;
    if (s == NULL) continue;
    if (strcmp(s, "*") == 0 || strcmp(s, type) == 0) return 1;
    if (n >= 2 && s[n - 1] == '*' && s[n - 2] == '.' && strncmp(s, type, n - 1) == 0) return 1;
  }
  return 0;
}
