/* RFC 8058 one-click unsubscribe and the suppression list.
 *
 * A message's token is "<outbox row id>.<MAC>", the MAC HMAC-SHA256 over "unsubscribe:<id>"
 * (base64url, no padding) with plugins.sequences.unsubscribe_secret, or else a random key
 * made on first use and kept in sequences_mail_keys. POST /email/unsubscribe/{token} needs
 * no login; the first use suppresses the address, stops the person's enrollments
 * ("unsubscribed") and records an activity; a later use of the same token answers 200 with
 * status "already_unsubscribed" and changes nothing. GET shows a small page with a button
 * (a mail client's link click must not unsubscribe by itself: RFC 8058 section 3.2). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_int.h"

#define KEY_BYTES 32
#define MAC_TEXT sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)

/* The signing key: the configured secret's bytes, or the install's random key (made here when
 * tx can write). */
static int signing_key(td_tx_t *tx, unsigned char *key, size_t *key_len) {
  const char *secret = sq_mail_config()->unsubscribe_secret;
  if (secret) {
    crypto_hash_sha256(key, (const unsigned char *)secret, strlen(secret)); /* any length -> 32 bytes */
    *key_len = KEY_BYTES;
    return 0;
  }
  json_t *rows = NULL;
  int rc = sq_api->query(tx, "SELECT value FROM sequences_mail_keys WHERE name = 'unsubscribe'", NULL, &rows);
  if (rc == 0 && json_array_size(rows) == 0) { /* first use: make the key (a write tx) */
    unsigned char fresh[KEY_BYTES];
    char fresh_b64[sodium_base64_ENCODED_LEN(KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    randombytes_buf(fresh, sizeof fresh);
    sodium_bin2base64(fresh_b64, sizeof fresh_b64, fresh, sizeof fresh, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(fresh, sizeof fresh);
    json_t *params = json_pack("[s]", fresh_b64);
    rc = sq_api->exec(tx, "INSERT INTO sequences_mail_keys (name, value) VALUES ('unsubscribe', ?1)", params, NULL);
    json_decref(params);
    json_decref(rows);
    rows = NULL;
    if (rc == 0)
      rc = sq_api->query(tx, "SELECT value FROM sequences_mail_keys WHERE name = 'unsubscribe'", NULL, &rows);
  }
  const char *b64 = json_string_value(json_object_get(json_array_get(rows, 0), "value"));
  if (rc == 0 && (b64 == NULL || sodium_base642bin(key, KEY_BYTES, b64, strlen(b64), NULL, key_len, NULL,
                                                   sodium_base64_VARIANT_ORIGINAL) != 0))
    rc = TD_ENOTFOUND;
  json_decref(rows);
  return rc;
}

static int mac(td_tx_t *tx, const char *row_id, size_t id_len, char out[MAC_TEXT]) {
  unsigned char key[KEY_BYTES], digest[crypto_auth_hmacsha256_BYTES];
  size_t key_len = 0;
  int rc = signing_key(tx, key, &key_len);
  if (rc) return rc;
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, key_len);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)"unsubscribe:", 12);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)row_id, id_len);
  crypto_auth_hmacsha256_final(&st, digest);
  sodium_memzero(key, sizeof key);
  sodium_bin2base64(out, MAC_TEXT, digest, sizeof digest, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return 0;
}

int sq_unsubscribe_token(td_tx_t *tx, const char *row_id, char token[SQ_TOKEN_MAX]) {
  char m[MAC_TEXT];
  int rc = mac(tx, row_id, strlen(row_id), m);
  if (rc == 0) snprintf(token, SQ_TOKEN_MAX, "%s.%s", row_id, m);
  return rc;
}

/* The outbox row id of a genuine token into row_id, or TD_ENOTFOUND. */
static int verify(td_tx_t *tx, const char *token, char row_id[TD_PLUGIN_ID_MAX]) {
  const char *dot = token ? strrchr(token, '.') : NULL;
  if (dot == NULL || (size_t)(dot - token) >= TD_PLUGIN_ID_MAX || strlen(dot + 1) != MAC_TEXT - 1)
    return TD_ENOTFOUND;
  char want[MAC_TEXT];
  if (mac(tx, token, (size_t)(dot - token), want) != 0) return TD_ENOTFOUND;
  if (sodium_memcmp(want, dot + 1, MAC_TEXT - 1) != 0) return TD_ENOTFOUND;
  snprintf(row_id, TD_PLUGIN_ID_MAX, "%.*s", (int)(dot - token), token);
  return 0;
}

int sq_suppressed(td_tx_t *tx, const char *address, bool *yes) {
  json_t *rows = NULL, *params = json_pack("[s]", address);
  int rc = sq_api->query(tx, "SELECT 1 AS x FROM sequences_suppressions WHERE address = ?1", params, &rows);
  json_decref(params);
  *yes = rc == 0 && json_array_size(rows) > 0;
  json_decref(rows);
  return rc;
}

int sq_suppress(td_tx_t *tx, const char *address, const char *reason) {
  if (address == NULL || address[0] == '\0') return TD_EINVAL;
  json_t *params = json_pack("[s,s,I]", address, reason ? reason : "manual", (json_int_t)sq_api->now_ms());
  int rc = sq_api->exec(tx,
                        "INSERT OR IGNORE INTO sequences_suppressions (address, reason, created_at) "
                        "VALUES (lower(?1), ?2, ?3)",
                        params, NULL);
  json_decref(params);
  return rc;
}

static int bad_token(td_request_t *req) {
  return sq_api->fail(req, 404, "Not found", "this unsubscribe link is not valid");
}

/* The first use of a token: suppress, stop enrollments, record it on the person. */
static int unsubscribe_once(td_tx_t *tx, const char *row_id, const json_t *row) {
  const char *candidate = json_string_value(json_object_get(row, "candidate_id"));
  const char *address = json_string_value(json_object_get(row, "to_address"));
  int rc = sq_suppress(tx, address, "unsubscribed");
  if (rc == 0) rc = sq_enrollments_stop_candidate(tx, candidate, "unsubscribed");
  if (rc) return rc;
  /* The activity is written by a scheduled run, as the plugin: the caller of this public
   * route has no principal, and the core shows a candidate to no one unauthenticated. */
  json_t *payload = json_pack("{s:s,s:O,s:s}", "candidate_id", candidate, "message_id",
                              json_object_get(row, "message_id"), "outbox_id", row_id);
  rc = sq_api->schedule(tx, "mail.unsubscribed", sq_api->now_ms(), NULL, NULL, payload, NULL);
  json_decref(payload);
  return rc;
}

/* Writes the unsubscribe's activity (writer thread; data: the run, whose payload is read-only
 * and lives until run_finish). */
static int note_unsubscribe(td_tx_t *tx, void *data) {
  const json_t *p = sq_api->run_payload(data);
  json_t *args = json_pack("{s:O,s:s,s:s,s:{s:s,s:O,s:O}}", "candidate_id", json_object_get(p, "candidate_id"),
                           "kind", "system", "body", "Unsubscribed from email (one-click link)", "data", "event",
                           "email.unsubscribed", "message_id", json_object_get(p, "message_id"), "outbox_id",
                           json_object_get(p, "outbox_id"));
  char why[256];
  int rc = args ? sq_api->act(tx, "activity.add", args, NULL, why, sizeof why) : TD_ENOMEM;
  json_decref(args);
  return rc == TD_ENOTFOUND ? 0 : rc; /* a candidate deleted since: nothing to note */
}

static void noted(void *data, int rc) { sq_api->run_finish(data, rc, rc ? "the activity was not recorded" : NULL); }

/* The "mail.unsubscribed" run: the unsubscribe's activity on the candidate. */
static void unsubscribed_run(td_run_t *run, void *data) {
  (void)data;
  if (sq_api->submit_write(sq_self, note_unsubscribe, noted, run) != 0)
    sq_api->run_finish(run, TD_EBUSY, "the writer is not available");
}

/* POST /email/unsubscribe/{token} (public): RFC 8058 one-click. */
static int unsubscribe(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  char row_id[TD_PLUGIN_ID_MAX];
  if (verify(tx, sq_api->request_param(req, 0), row_id) != 0) return bad_token(req);
  json_t *rows = NULL, *params = json_pack("[s]", row_id);
  int rc = sq_api->query(tx, "SELECT candidate_id, to_address, message_id FROM sequences_outbox WHERE id = ?1",
                         params, &rows);
  json_decref(params);
  json_t *row = json_array_get(rows, 0);
  if (rc == 0 && row == NULL) {
    json_decref(rows);
    return bad_token(req);
  }
  int64_t changes = 0;
  params = json_pack("[s,I]", row_id, (json_int_t)sq_api->now_ms());
  if (rc == 0)
    rc = sq_api->exec(tx, "INSERT OR IGNORE INTO sequences_unsubscribes (outbox_id, used_at) VALUES (?1, ?2)", params,
                      &changes);
  json_decref(params);
  if (rc == 0 && changes == 1) rc = unsubscribe_once(tx, row_id, row);
  json_decref(rows);
  if (rc) return rc;
  sq_api->respond(req, 200, json_pack("{s:s}", "status", changes == 1 ? "unsubscribed" : "already_unsubscribed"));
  return 0;
}

/* GET /email/unsubscribe/{token} (public): a page whose button sends the one-click POST. */
static int confirm_page(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  char row_id[TD_PLUGIN_ID_MAX];
  const char *token = sq_api->request_param(req, 0);
  if (verify(tx, token, row_id) != 0) return bad_token(req);
  char page[1024];
  int n = snprintf(page, sizeof page,
                   "<!doctype html><html><head><meta charset=\"utf-8\"><title>Unsubscribe</title></head><body>"
                   "<h1>Unsubscribe</h1><p>Stop receiving these emails?</p>"
                   "<form method=\"post\" action=\"%s\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
                   "<button type=\"submit\">Unsubscribe</button></form>"
                   "</body></html>",
                   token); /* the token is [A-Za-z0-9_.-]: verified above, safe in an attribute */
  return sq_api->respond_bytes(req, 200, "text/html", page, (size_t)n, NULL);
}

/* ---- /email/suppressions (admins) ---- */

static int list_suppressions(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  const char *limit_q = sq_api->request_query(req, "limit"), *cursor = sq_api->request_query(req, "cursor");
  long limit = limit_q ? strtol(limit_q, NULL, 10) : 50;
  if (limit < 1 || limit > 100) return sq_api->fail_field(req, "/limit", "must be between 1 and 100");
  json_t *rows = NULL, *params = json_pack("[s,i]", cursor ? cursor : "", (int)limit + 1);
  int rc = sq_api->query(tx,
                         "SELECT address, reason, created_at FROM sequences_suppressions WHERE address > ?1 "
                         "ORDER BY address LIMIT ?2",
                         params, &rows);
  json_decref(params);
  if (rc) return rc;
  json_t *items = json_array();
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    if ((long)i == limit) break;
    json_array_append_new(items, json_pack("{s:O,s:O,s:o}", "address", json_object_get(row, "address"), "reason",
                                           json_object_get(row, "reason"), "created_at",
                                           sq_time_json(json_object_get(row, "created_at"))));
  }
  const char *next = (long)json_array_size(rows) > limit
                         ? json_string_value(json_object_get(json_array_get(items, (size_t)limit - 1), "address"))
                         : NULL;
  sq_api->respond(req, 200, json_pack("{s:O,s:s?}", "data", items, "next_cursor", next));
  json_decref(items);
  json_decref(rows);
  return 0;
}

static int add_suppression(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  const json_t *body = sq_api->request_body(req);
  const char *address = json_string_value(json_object_get(body, "address"));
  const char *reason = json_string_value(json_object_get(body, "reason"));
  if (address == NULL || strchr(address, '@') == NULL)
    return sq_api->fail_field(req, "/address", "must be an email address");
  int rc = sq_suppress(tx, address, reason ? reason : "manual");
  if (rc) return rc;
  sq_api->respond(req, 201, json_pack("{s:s,s:s}", "address", address, "reason", reason ? reason : "manual"));
  return 0;
}

static int remove_suppression(td_request_t *req, td_tx_t *tx, void *data) {
  (void)data;
  json_t *params = json_pack("[s]", sq_api->request_param(req, 0));
  int64_t changes = 0;
  int rc = sq_api->exec(tx, "DELETE FROM sequences_suppressions WHERE address = ?1", params, &changes);
  json_decref(params);
  if (rc) return rc;
  if (changes == 0) return sq_api->fail(req, 404, "Not found", "that address is not suppressed");
  sq_api->respond(req, 204, NULL);
  return 0;
}

int sq_unsubscribe_routes(void) {
  static const struct {
    td_route_spec_t spec;
    td_route_fn fn;
  } routes[] = {
      {{"POST", "/email/unsubscribe/{token}", TD_PLUGIN_ROUTE_WRITE, TD_PLUGIN_ROUTE_PUBLIC | TD_PLUGIN_ROUTE_FORM,
        "SequencesOneClick"},
       unsubscribe},
      {{"GET", "/email/unsubscribe/{token}", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_PUBLIC, NULL}, confirm_page},
      {{"GET", "/email/suppressions", TD_PLUGIN_ROUTE_READ, TD_PLUGIN_ROUTE_ADMIN, NULL}, list_suppressions},
      {{"POST", "/email/suppressions", TD_PLUGIN_ROUTE_WRITE, TD_PLUGIN_ROUTE_ADMIN, "SequencesSuppression"},
       add_suppression},
      {{"DELETE", "/email/suppressions/{address}", TD_PLUGIN_ROUTE_WRITE, TD_PLUGIN_ROUTE_ADMIN, NULL},
       remove_suppression},
  };
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    int rc = sq_api->register_route(sq_self, &routes[i].spec, routes[i].fn, NULL);
    if (rc) return rc;
  }
  return sq_api->register_run_handler(sq_self, "mail.unsubscribed", unsubscribed_run, NULL);
}
