/* Stored answers for Idempotency-Key retries. */
#include "api/idempotency.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "talentd/types.h"
#include "util/mem.h"

/* SHA-256 over method, path and body (or an upload's file digest): what "the same
 * request" means. */
static void request_hash(const td__call_t *call, char out[65]) {
  crypto_hash_sha256_state st;
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, (const unsigned char *)call->req->method, strlen(call->req->method));
  crypto_hash_sha256_update(&st, (const unsigned char *)" ", 1);
  crypto_hash_sha256_update(&st, (const unsigned char *)call->req->target, strlen(call->req->target));
  crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
  if (call->body_digest[0])
    crypto_hash_sha256_update(&st, (const unsigned char *)call->body_digest, strlen(call->body_digest));
  else if (call->req->body.len)
    crypto_hash_sha256_update(&st, (const unsigned char *)call->req->body.data, call->req->body.len);
  crypto_hash_sha256_final(&st, digest);
  sodium_bin2hex(out, 65, digest, sizeof digest);
}

int td__idempotency_begin(td__call_t *call, const char *key) {
  if (strlen(key) > 255) {
    td__problem(call, 400, "Invalid header", "Idempotency-Key must be at most 255 characters");
    return 1;
  }
  td__stmt_t *st = td__db_stmt(call->db,
                               "SELECT request_hash, status, body, headers FROM idempotency_keys"
                               " WHERE principal_id = ? AND key = ?");
  if (st == NULL) {
    td__problem_internal(call, TD_EIO);
    return 1;
  }
  td__stmt_bind_text(st, 1, call->principal.user_id);
  td__stmt_bind_text(st, 2, key);
  int rc = td__stmt_step(st);
  if (rc < 0) {
    td__problem_internal(call, rc);
    return 1;
  }
  if (rc == 0) return 0;
  char hash[65];
  request_hash(call, hash);
  if (strcmp(hash, td__stmt_text(st, 0)) != 0) {
    td__stmt_reset(st);
    td__problem(call, 422, "Idempotency key reused",
                "this Idempotency-Key was used with a different request; use a new key");
    td__problem_field(call, "/headers/idempotency-key", "was already used for a different request");
    return 1;
  }
  call->status = (int)td__stmt_int(st, 1);
  const char *body = td__stmt_text(st, 2);
  json_error_t err;
  call->result = body ? json_loads(body, 0, &err) : NULL;
  const char *headers = td__stmt_text(st, 3);
  if (headers) td__buf_puts(&call->headers, headers);
  td__http_header_add(&call->headers, "Idempotent-Replayed", "true");
  td__stmt_reset(st);
  return 1;
}

int td__idempotency_record(td__call_t *call, const char *key) {
  char hash[65];
  request_hash(call, hash);
  char *body = call->result ? json_dumps(call->result, JSON_COMPACT) : NULL;
  td__stmt_t *st = td__db_stmt(call->db,
                               "INSERT INTO idempotency_keys(principal_id, key, request_hash, status,"
                               " body, headers, created_at) VALUES (?,?,?,?,?,?,?)");
  int rc = TD_EIO;
  if (st) {
    td__stmt_bind_text(st, 1, call->principal.user_id);
    td__stmt_bind_text(st, 2, key);
    td__stmt_bind_text(st, 3, hash);
    td__stmt_bind_int(st, 4, call->status);
    td__stmt_bind_text(st, 5, body);
    td__stmt_bind_text(st, 6, call->headers.data ? call->headers.data : "");
    td__stmt_bind_int(st, 7, call->now_ms);
    rc = td__stmt_run(st);
  }
  free(body);
  return rc;
}
