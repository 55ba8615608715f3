/* Tokens, sessions and password hashing (libsodium: SHA-256 and argon2id). */
#include "auth/authn.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "talentd/types.h"
#include "util/id.h"

td__auth_settings_t td__auth_settings = {
    .session_idle_ms = 30LL * 60 * 1000,
    .session_absolute_ms = 12LL * 3600 * 1000,
    .argon2_memlimit = 19ULL * 1024 * 1024,
    .argon2_opslimit = 2,
    .login_failures_per_account = 100,
    .login_failures_per_ip = 1000,
};

void td__secret_hash(const char *secret, char out[65]) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, (const unsigned char *)secret, strlen(secret));
  sodium_bin2hex(out, 65, digest, sizeof digest);
}

int td__password_hash(const char *password, char *out, size_t out_size) {
  if (out_size < crypto_pwhash_STRBYTES) return TD_EINVAL;
  if (crypto_pwhash_str_alg(out, password, strlen(password), td__auth_settings.argon2_opslimit,
                            (size_t)td__auth_settings.argon2_memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return TD_ENOMEM;
  return 0;
}

int td__password_verify(const char *hash, const char *password) {
  return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? 0 : TD_EDENIED;
}

/* Finds "name=value" in a Cookie header; copies value into out. */
static int cookie_value(const char *header, const char *name, char *out, size_t out_size) {
  size_t nlen = strlen(name);
  const char *p = header;
  while (p && *p) {
    while (*p == ' ' || *p == ';') p++;
    if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
      const char *v = p + nlen + 1;
      size_t vlen = strcspn(v, ";");
      if (vlen == 0 || vlen >= out_size) return TD_EINVAL;
      memcpy(out, v, vlen);
      out[vlen] = '\0';
      return 0;
    }
    p = strchr(p, ';');
  }
  return TD_ENOTFOUND;
}

/* A cache of successful bearer-token lookups, so a busy integration does not pay a join
 * per request. Entries live TOKEN_CACHE_MS; revoking a token or changing a user calls
 * td__auth_invalidate, which drops every entry at once (by generation). Failures are never
 * cached. */
#define TOKEN_CACHE_SLOTS 1024
#define TOKEN_CACHE_MS 10000

typedef struct token_entry {
  char hash[65];
  td__principal_t principal;
  int64_t expires; /* the token's own expiry, 0 = never */
  int64_t cached_at;
  unsigned generation;
} token_entry_t;

static token_entry_t token_cache[TOKEN_CACHE_SLOTS];
static unsigned token_generation = 1;
static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;

void td__auth_invalidate(void) {
  pthread_mutex_lock(&token_lock);
  token_generation++;
  pthread_mutex_unlock(&token_lock);
}

/* The slot for a token: its hash is uniformly random hex, so its first digits will do. */
static size_t token_slot(const char *hash) {
  size_t v = 0;
  for (int i = 0; i < 6; i++) v = v * 16 + (size_t)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
  return v % TOKEN_CACHE_SLOTS;
}

static bool token_cached(const char *hash, int64_t now, td__principal_t *out, int64_t *expires) {
  bool hit = false;
  pthread_mutex_lock(&token_lock);
  token_entry_t *e = &token_cache[token_slot(hash)];
  if (e->generation == token_generation && now - e->cached_at < TOKEN_CACHE_MS &&
      strcmp(e->hash, hash) == 0) {
    *out = e->principal;
    *expires = e->expires;
    hit = true;
  }
  pthread_mutex_unlock(&token_lock);
  return hit;
}

static void token_remember(const char *hash, int64_t now, const td__principal_t *p, int64_t expires,
                           unsigned generation) {
  pthread_mutex_lock(&token_lock);
  if (generation == token_generation) {
    token_entry_t *e = &token_cache[token_slot(hash)];
    memcpy(e->hash, hash, sizeof e->hash);
    e->principal = *p;
    e->expires = expires;
    e->cached_at = now;
    e->generation = generation;
  }
  pthread_mutex_unlock(&token_lock);
}

static int by_token(td__db_t *db, const char *token, int64_t now, td__principal_t *out, const char **why) {
  char hash[65];
  td__secret_hash(token, hash);
  int64_t cached_expires = 0;
  if (token_cached(hash, now, out, &cached_expires)) {
    if (cached_expires && cached_expires <= now) {
      *why = "the bearer token has expired; create a new one";
      return TD_EDENIED;
    }
    return 0;
  }
  pthread_mutex_lock(&token_lock);
  unsigned generation = token_generation; /* a revoke racing this lookup wins */
  pthread_mutex_unlock(&token_lock);
  td__stmt_t *st = td__db_stmt(
      db,
      "SELECT u.id, u.role, t.can_write, t.expires_at FROM api_tokens t JOIN users u ON u.id = t.user_id"
      " WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.active = 1");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, hash);
  int rc = td__stmt_step(st);
  if (rc != 1) {
    *why = "the bearer token is unknown or revoked";
    return rc < 0 ? rc : TD_EDENIED;
  }
  int64_t expires = td__stmt_is_null(st, 3) ? 0 : td__stmt_int(st, 3);
  snprintf(out->user_id, sizeof out->user_id, "%s", td__stmt_text(st, 0));
  out->role = td__role_parse(td__stmt_text(st, 1));
  out->can_write = td__stmt_int(st, 2) != 0;
  out->via = TD_VIA_TOKEN;
  td__stmt_reset(st);
  if (expires && expires <= now) {
    *why = "the bearer token has expired; create a new one";
    return TD_EDENIED;
  }
  token_remember(hash, now, out, expires, generation);
  return 0;
}

static int by_session(td__db_t *db, const td__http_request_t *req, const char *cookie, int64_t now,
                      td__principal_t *out, const char **why) {
  char hash[65];
  td__secret_hash(cookie, hash);
  td__stmt_t *st =
      td__db_stmt(db,
                  "SELECT s.id, u.id, u.role, s.csrf_hash, s.last_seen_at, s.created_at FROM sessions s"
                  " JOIN users u ON u.id = s.user_id"
                  " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND u.active = 1");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, hash);
  int rc = td__stmt_step(st);
  if (rc != 1) {
    *why = "the session is unknown or has ended; sign in again";
    return rc < 0 ? rc : TD_EDENIED;
  }
  int64_t last_seen = td__stmt_int(st, 4), created = td__stmt_int(st, 5);
  char csrf_hash[65];
  snprintf(csrf_hash, sizeof csrf_hash, "%s", td__stmt_text(st, 3));
  snprintf(out->session_id, sizeof out->session_id, "%s", td__stmt_text(st, 0));
  snprintf(out->user_id, sizeof out->user_id, "%s", td__stmt_text(st, 1));
  out->role = td__role_parse(td__stmt_text(st, 2));
  td__stmt_reset(st);
  if (now - last_seen > td__auth_settings.session_idle_ms ||
      now - created > td__auth_settings.session_absolute_ms) {
    *why = "the session has expired; sign in again";
    return TD_EDENIED;
  }
  out->via = TD_VIA_SESSION;
  out->can_write = true;
  out->session_needs_touch = now - last_seen > 60 * 1000;
  bool safe = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  if (!safe) {
    const char *csrf = td__http_header(req, "x-csrf-token");
    char given[65];
    if (csrf == NULL) {
      *why = "a write with a session cookie needs the X-CSRF-Token header from sign-in";
      return TD_EDENIED;
    }
    td__secret_hash(csrf, given);
    if (sodium_memcmp(given, csrf_hash, 64) != 0) {
      *why = "the X-CSRF-Token header does not match this session";
      return TD_EDENIED;
    }
  }
  return 0;
}

int td__authenticate(td__db_t *db, const td__http_request_t *req, int64_t now_ms, td__principal_t *out,
                     const char **why) {
  memset(out, 0, sizeof *out);
  const char *authz = td__http_header(req, "authorization");
  if (authz) {
    if (strncasecmp(authz, "Bearer ", 7) != 0 || strlen(authz + 7) < 8 || strlen(authz + 7) > 200) {
      *why = "the Authorization header must be 'Bearer <token>'";
      return TD_EDENIED;
    }
    return by_token(db, authz + 7, now_ms, out, why);
  }
  const char *cookies = td__http_header(req, "cookie");
  char value[128];
  if (cookies && cookie_value(cookies, TD_SESSION_COOKIE, value, sizeof value) == 0)
    return by_session(db, req, value, now_ms, out, why);
  *why = "sign in (POST /api/v1/sessions) or send 'Authorization: Bearer <token>'";
  return TD_EDENIED;
}

int td__token_create(td__db_t *db, const char *user_id, const char *name, int can_write,
                     int64_t expires_at_ms, int64_t now_ms, char token_out[64], char id_out[TD_ID_MAX]) {
  char random[48], hash[65];
  td__random_token(32, random, sizeof random);
  snprintf(token_out, 64, "%s%s", TD_TOKEN_PREFIX, random);
  td__secret_hash(token_out, hash);
  td__id_new("tok", id_out);
  td__stmt_t *st = td__db_stmt(db,
                               "INSERT INTO api_tokens(id, user_id, name, token_hash, can_write,"
                               " expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id_out);
  td__stmt_bind_text(st, 2, user_id);
  td__stmt_bind_text(st, 3, name ? name : "token");
  td__stmt_bind_text(st, 4, hash);
  td__stmt_bind_int(st, 5, can_write ? 1 : 0);
  if (expires_at_ms)
    td__stmt_bind_int(st, 6, expires_at_ms);
  else
    td__stmt_bind_null(st, 6);
  td__stmt_bind_int(st, 7, now_ms);
  return td__stmt_run(st);
}

int td__session_create(td__db_t *db, const char *user_id, int64_t now_ms, char cookie_out[64],
                       char csrf_out[64], char id_out[TD_ID_MAX]) {
  char hash[65], csrf_hash[65];
  td__random_token(32, cookie_out, 64);
  td__random_token(24, csrf_out, 64);
  td__secret_hash(cookie_out, hash);
  td__secret_hash(csrf_out, csrf_hash);
  td__id_new("ses", id_out);
  td__stmt_t *st = td__db_stmt(db,
                               "INSERT INTO sessions(id, user_id, token_hash, csrf_hash, created_at,"
                               " last_seen_at) VALUES (?, ?, ?, ?, ?, ?)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id_out);
  td__stmt_bind_text(st, 2, user_id);
  td__stmt_bind_text(st, 3, hash);
  td__stmt_bind_text(st, 4, csrf_hash);
  td__stmt_bind_int(st, 5, now_ms);
  td__stmt_bind_int(st, 6, now_ms);
  return td__stmt_run(st);
}

int td__session_touch(td__db_t *db, const char *session_id, int64_t now_ms) {
  td__stmt_t *st =
      td__db_stmt(db, "UPDATE sessions SET last_seen_at = ? WHERE id = ? AND revoked_at IS NULL");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, now_ms);
  td__stmt_bind_text(st, 2, session_id);
  return td__stmt_run(st);
}

int td__session_revoke(td__db_t *db, const char *session_id, int64_t now_ms) {
  td__stmt_t *st = td__db_stmt(db, "UPDATE sessions SET revoked_at = ? WHERE id = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, now_ms);
  td__stmt_bind_text(st, 2, session_id);
  return td__stmt_run(st);
}
