/* /users, /sessions and /tokens: who may sign in, and how. Password hashing (argon2id)
 * runs in the read part of READ_THEN_WRITE routes, on a pool thread: never on the loop and
 * never inside the writer's batch. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/routes.h"
#include "auth/authn.h"
#include "domain/row_json.h"
#include "domain/users.h"
#include "talentd/types.h"
#include "util/mem.h"
#include "util/time.h"

/* ---------- users ---------- */

typedef struct new_user {
  char hash[crypto_pwhash_STRBYTES];
  bool has_password;
} new_user_t;

static int users_create_hash(td__call_t *call) {
  new_user_t *nu = td__xcalloc(1, sizeof *nu);
  call->state = nu;
  call->state_free = free;
  const char *password = td__body_str(call, "password");
  if (password) {
    if (td__password_hash(password, nu->hash, sizeof nu->hash) != 0)
      return td__problem_internal(call, TD_ENOMEM);
    nu->has_password = true;
  }
  return 0;
}

static int users_create(td__call_t *call) {
  new_user_t *nu = call->state;
  char id[TD_ID_MAX];
  td__role_t role = td__role_parse(td__body_str(call, "role"));
  int rc = td__user_create(call->db, td__body_str(call, "email"), td__body_str(call, "name"), role,
                           nu->has_password ? nu->hash : NULL, call->now_ms, id);
  if (rc == TD_ECONFLICT) {
    td__problem(call, 409, "Conflict", "a user with that email already exists");
    return td__problem_field(call, "/email", "is already used by another user");
  }
  if (rc) return td__problem_internal(call, rc);
  td__call_audit(call, "user", id);
  td__call_set_result(call, 201, td__user_json(call->db, id));
  return 0;
}

static json_t *user_row_json(td__stmt_t *st) {
  return json_pack("{s:s,s:s,s:s,s:s,s:b}", "id", td__stmt_text(st, 1), "email", td__stmt_text(st, 2), "name",
                   td__stmt_text(st, 3), "role", td__stmt_text(st, 4), "active", (int)td__stmt_int(st, 5));
}

/* Every user, in the order they were created. */
static int list_users(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items, int64_t *next) {
  (void)arg;
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT rowid, id, email, name, role, active FROM users WHERE rowid > ?"
                               " ORDER BY rowid LIMIT ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, after);
  td__stmt_bind_int(st, 2, limit + 1);
  return td__row_page(ctx, st, 0, limit, user_row_json, items, next);
}

static int users_list(td__call_t *call) { return td__call_list(call, list_users, NULL); }

static int users_me(td__call_t *call) {
  json_t *u = td__user_json(call->db, call->principal.user_id);
  if (u == NULL) return td__problem_not_found(call, "user");
  td__call_set_result(call, 200, u);
  return 0;
}

/* ---------- sessions ---------- */

/* A real argon2id hash to verify against when the account does not exist. */
static char dummy[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static void make_dummy_hash(void) { td__password_hash("no such account", dummy, sizeof dummy); }

typedef struct sign_in {
  char user_id[TD_ID_MAX];
} sign_in_t;

/* The read part of sign-in: rate limits, then the password check (slow on purpose). */
static int sessions_verify(td__call_t *call) {
  td__app_t *app = call->app;
  const char *email = td__body_str(call, "email");
  const char *password = td__body_str(call, "password");
  char account_key[300], ip_key[80];
  snprintf(account_key, sizeof account_key, "acct:%s", email);
  snprintf(ip_key, sizeof ip_key, "ip:%s", call->req->remote_ip);
  int64_t retry = 0;
  if (td__ratelimit_exceeded(app->login_limits, account_key, td__auth_settings.login_failures_per_account,
                             call->now_ms, &retry) ||
      td__ratelimit_exceeded(app->login_limits, ip_key, td__auth_settings.login_failures_per_ip, call->now_ms,
                             &retry)) {
    char seconds[24];
    snprintf(seconds, sizeof seconds, "%lld", (long long)retry);
    td__http_header_add(&call->headers, "Retry-After", seconds);
    call->denied = true;
    return td__problem(call, 429, "Too many attempts",
                       "too many failed sign-ins for this account or address; wait for Retry-After seconds");
  }
  sign_in_t *s = td__xcalloc(1, sizeof *s);
  call->state = s;
  call->state_free = free;
  char hash[crypto_pwhash_STRBYTES + 1];
  int rc = td__user_credentials(call->db, email, s->user_id, hash, sizeof hash);
  if (rc < 0 && rc != TD_ENOTFOUND) return td__problem_internal(call, rc);
  /* An unknown account costs the same time as a wrong password: no account probing. */
  pthread_once(&dummy_once, make_dummy_hash);
  bool ok = rc == 0 && hash[0] && td__password_verify(hash, password) == 0;
  if (rc != 0 || !hash[0]) td__password_verify(dummy, password);
  if (!ok) {
    td__ratelimit_add(app->login_limits, account_key, call->now_ms);
    td__ratelimit_add(app->login_limits, ip_key, call->now_ms);
    call->denied = true;
    return td__problem(call, 401, "Unauthorized", "the email or password is wrong");
  }
  return 0;
}

static int sessions_create(td__call_t *call) {
  sign_in_t *s = call->state;
  char cookie[64], csrf[64], id[TD_ID_MAX];
  int rc = td__session_create(call->db, s->user_id, call->now_ms, cookie, csrf, id);
  if (rc) return td__problem_internal(call, rc);
  call->principal.via = TD_VIA_SESSION;
  snprintf(call->principal.user_id, sizeof call->principal.user_id, "%s", s->user_id);
  char header[256];
  bool tls = td__http_header(call->req, "x-forwarded-proto") &&
             strcmp(td__http_header(call->req, "x-forwarded-proto"), "https") == 0;
  snprintf(header, sizeof header, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%lld%s", TD_SESSION_COOKIE,
           cookie, (long long)(td__auth_settings.session_absolute_ms / 1000), tls ? "; Secure" : "");
  td__http_header_add(&call->headers, "Set-Cookie", header);
  td__call_audit(call, "session", id);
  json_t *user = td__user_json(call->db, s->user_id);
  td__call_set_result(call, 201, json_pack("{s:s,s:s,s:o}", "id", id, "csrf_token", csrf, "user", user));
  return 0;
}

static int sessions_delete(td__call_t *call) {
  if (call->principal.via != TD_VIA_SESSION)
    return td__problem(call, 400, "No session", "this request was not made with a session cookie");
  int rc = td__session_revoke(call->db, call->principal.session_id, call->now_ms);
  if (rc) return td__problem_internal(call, rc);
  char header[128];
  snprintf(header, sizeof header, "%s=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", TD_SESSION_COOKIE);
  td__http_header_add(&call->headers, "Set-Cookie", header);
  td__call_audit(call, "session", call->principal.session_id);
  call->status = 204;
  return 0;
}

/* ---------- tokens ---------- */

static json_t *token_json(td__stmt_t *st) {
  char created[32], expires[32];
  td__time_format(td__stmt_int(st, 4), created, sizeof created);
  if (!td__stmt_is_null(st, 3)) td__time_format(td__stmt_int(st, 3), expires, sizeof expires);
  return json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", td__stmt_text(st, 0), "name", td__stmt_text(st, 1), "scope",
                   td__stmt_int(st, 2) ? "write" : "read", "created_at", created, "expires_at",
                   td__stmt_is_null(st, 3) ? "never" : expires);
}

static int tokens_create(td__call_t *call) {
  const char *scope = td__body_str(call, "scope");
  const char *expires = td__body_str(call, "expires_at");
  int64_t expires_ms = 0;
  if (expires && (td__time_parse(expires, &expires_ms) != 0 || expires_ms <= call->now_ms))
    return td__problem_field(call, "/expires_at", "must be a future RFC 3339 time");
  char token[64], id[TD_ID_MAX];
  bool can_write = scope == NULL || strcmp(scope, "write") == 0;
  int rc = td__token_create(call->db, call->principal.user_id, td__body_str(call, "name"), can_write,
                            expires_ms, call->now_ms, token, id);
  if (rc) return td__problem_internal(call, rc);
  td__call_audit(call, "api_token", id);
  char expires_text[32] = "never";
  if (expires_ms) td__time_format(expires_ms, expires_text, sizeof expires_text);
  td__call_set_result(call, 201,
                      json_pack("{s:s,s:s,s:s,s:s}", "id", id, "token", token, "scope",
                                can_write ? "write" : "read", "expires_at", expires_text));
  return 0;
}

static int tokens_list(td__call_t *call) {
  td__stmt_t *st = td__db_stmt(call->db,
                               "SELECT id, name, can_write, expires_at, created_at FROM api_tokens"
                               " WHERE user_id = ? AND revoked_at IS NULL ORDER BY rowid LIMIT 1000");
  if (st == NULL) return td__problem_internal(call, TD_EIO);
  td__stmt_bind_text(st, 1, call->principal.user_id);
  json_t *items = json_array();
  int rc;
  while ((rc = td__stmt_step(st)) == 1) json_array_append_new(items, token_json(st));
  if (rc < 0) {
    json_decref(items);
    return td__problem_internal(call, rc);
  }
  td__call_set_page(call, items, NULL);
  return 0;
}

static int tokens_delete(td__call_t *call) {
  /* Admins may revoke anyone's token; others only their own. */
  td__stmt_t *st = td__db_stmt(call->db,
                               "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
                               " AND (user_id = ? OR ? = 1)");
  if (st == NULL) return td__problem_internal(call, TD_EIO);
  td__stmt_bind_int(st, 1, call->now_ms);
  td__stmt_bind_text(st, 2, call->params[0]);
  td__stmt_bind_text(st, 3, call->principal.user_id);
  td__stmt_bind_int(st, 4, call->principal.role == TD_ROLE_ADMIN);
  int rc = td__stmt_run(st);
  if (rc) return td__problem_internal(call, rc);
  if (td__db_changes(call->db) == 0) return td__problem_not_found(call, "token");
  td__call_audit(call, "api_token", call->params[0]);
  call->status = 204;
  return 0;
}

const td__route_t td__routes_auth[] = {
    {"POST", "/api/v1/users", TD_RUN_READ_THEN_WRITE, users_create_hash, users_create, "UserCreate",
     TD_ROUTE_ADMIN},
    {"GET", "/api/v1/users", TD_RUN_READ, users_list, NULL, NULL, 0},
    {"GET", "/api/v1/users/me", TD_RUN_READ, users_me, NULL, NULL, 0},
    {"POST", "/api/v1/sessions", TD_RUN_READ_THEN_WRITE, sessions_verify, sessions_create, "SessionCreate",
     TD_ROUTE_PUBLIC},
    {"DELETE", "/api/v1/sessions/current", TD_RUN_WRITE, sessions_delete, NULL, NULL, 0},
    {"POST", "/api/v1/tokens", TD_RUN_WRITE, tokens_create, NULL, "TokenCreate", 0},
    {"GET", "/api/v1/tokens", TD_RUN_READ, tokens_list, NULL, NULL, 0},
    {"DELETE", "/api/v1/tokens/{id}", TD_RUN_WRITE, tokens_delete, NULL, NULL, TD_ROUTE_AUTH_CHANGE},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
