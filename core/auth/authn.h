/* Authentication: bearer tokens and session cookies (with a CSRF token on writes). Secrets
 * are stored only as SHA-256 hashes; the plain value is shown once, at creation. */
#ifndef TD_AUTH_AUTHN_H
#define TD_AUTH_AUTHN_H

#include <stdint.h>

#include "auth/principal.h"
#include "http/http.h"
#include "store/db.h"

#define TD_SESSION_COOKIE "td_session"
#define TD_TOKEN_PREFIX "tdk_"

typedef struct td__auth_settings {
  int64_t session_idle_ms;            /* 30 min */
  int64_t session_absolute_ms;        /* 12 h */
  unsigned long long argon2_memlimit; /* bytes, >= 19 MiB */
  unsigned long long argon2_opslimit; /* >= 2 */
  int login_failures_per_account;     /* per hour */
  int login_failures_per_ip;          /* per hour */
} td__auth_settings_t;

extern td__auth_settings_t td__auth_settings;

/* Resolves the caller of req. Returns 0 with *out filled, or TD_EDENIED with *why set to a
 * static sentence for the 401 problem. A cookie-authenticated write without the session's
 * CSRF token is denied too. */
int td__authenticate(td__db_t *db, const td__http_request_t *req, int64_t now_ms, td__principal_t *out,
                     const char **why);

/* Forgets every cached token lookup: call after revoking a token or changing a user (role,
 * deactivation), so the change holds for the very next request. */
void td__auth_invalidate(void);

/* SHA-256 of secret as 64 hex characters (out: 65 bytes). */
void td__secret_hash(const char *secret, char out[65]);

/* argon2id hash of password into out (crypto_pwhash_STRBYTES). Slow by design: call only
 * off the loop thread. Returns 0 or TD_ENOMEM. */
int td__password_hash(const char *password, char *out, size_t out_size);
/* Returns 0 when password matches hash, TD_EDENIED otherwise. Slow: off the loop only. */
int td__password_verify(const char *hash, const char *password);

/* Creates an API token for user_id; writes the plain token (shown once) into token_out
 * (64 bytes) and the new token's id into id_out. expires_at_ms 0 = never. */
int td__token_create(td__db_t *db, const char *user_id, const char *name, int can_write,
                     int64_t expires_at_ms, int64_t now_ms, char token_out[64], char id_out[TD_ID_MAX]);

/* Creates a session; writes the cookie value and CSRF token (both shown once). */
int td__session_create(td__db_t *db, const char *user_id, int64_t now_ms, char cookie_out[64],
                       char csrf_out[64], char id_out[TD_ID_MAX]);
int td__session_touch(td__db_t *db, const char *session_id, int64_t now_ms);
int td__session_revoke(td__db_t *db, const char *session_id, int64_t now_ms);

#endif
