/* User records. */
#include "domain/users.h"

#include <stdio.h>

#include "talentd/types.h"
#include "util/id.h"
#include "util/time.h"

int td__user_create(td__db_t *db, const char *email, const char *name, td__role_t role,
                    const char *password_hash, int64_t now_ms, char id_out[TD_ID_MAX]) {
  td__id_new("usr", id_out);
  td__stmt_t *st =
      td__db_stmt(db,
                  "INSERT INTO users(id, email, name, role, password_hash, created_at, updated_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id_out);
  td__stmt_bind_text(st, 2, email);
  td__stmt_bind_text(st, 3, name);
  td__stmt_bind_text(st, 4, td__role_name(role));
  td__stmt_bind_text(st, 5, password_hash);
  td__stmt_bind_int(st, 6, now_ms);
  td__stmt_bind_int(st, 7, now_ms);
  return td__stmt_run(st);
}

json_t *td__user_json(td__db_t *db, const char *user_id) {
  td__stmt_t *st =
      td__db_stmt(db, "SELECT id, email, name, role, active, created_at FROM users WHERE id = ?");
  if (st == NULL) return NULL;
  td__stmt_bind_text(st, 1, user_id);
  if (td__stmt_step(st) != 1) return NULL;
  char created[32];
  td__time_format(td__stmt_int(st, 5), created, sizeof created);
  json_t *u = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "id", td__stmt_text(st, 0), "email",
                        td__stmt_text(st, 1), "name", td__stmt_text(st, 2), "role", td__stmt_text(st, 3),
                        "active", (int)td__stmt_int(st, 4), "created_at", created);
  td__stmt_reset(st);
  return u;
}

int td__user_credentials(td__db_t *db, const char *email, char id_out[TD_ID_MAX], char *hash_out,
                         size_t hash_size) {
  td__stmt_t *st = td__db_stmt(db, "SELECT id, password_hash FROM users WHERE email = ? AND active = 1");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, email);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  snprintf(id_out, TD_ID_MAX, "%s", td__stmt_text(st, 0));
  const char *hash = td__stmt_text(st, 1);
  snprintf(hash_out, hash_size, "%s", hash ? hash : "");
  td__stmt_reset(st);
  return 0;
}

int td__user_exists(td__db_t *db, const char *user_id) {
  td__stmt_t *st = td__db_stmt(db, "SELECT 1 FROM users WHERE id = ? AND active = 1");
  if (st == NULL) return 0;
  td__stmt_bind_text(st, 1, user_id);
  int rc = td__stmt_step(st);
  if (rc == 1) td__stmt_reset(st);
  return rc == 1;
}
