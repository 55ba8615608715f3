/* The scripts table and the scripts' principal users (see lua/manager.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/users.h"
#include "lua/manager.h"
#include "talentd/types.h"
#include "util/time.h"

void td__script_user_email(const char *name, char *out, size_t size) {
  snprintf(out, size, "script+%s@scripts.talentd.invalid", name);
}

int td__script_user_find(td__db_t *db, const char *name, char id_out[TD_ID_MAX]) {
  char email[160];
  td__script_user_email(name, email, sizeof email);
  td__stmt_t *st = td__db_stmt(db, "SELECT id FROM users WHERE email = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, email);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  snprintf(id_out, TD_ID_MAX, "%s", td__stmt_text(st, 0));
  td__stmt_reset(st);
  return 0;
}

int td__script_user_ensure(td__db_t *db, const char *name, td__role_t role, int64_t now_ms,
                           char id_out[TD_ID_MAX]) {
  int rc = td__script_user_find(db, name, id_out);
  if (rc == TD_ENOTFOUND) {
    char email[160], display[96];
    td__script_user_email(name, email, sizeof email);
    snprintf(display, sizeof display, "Script %s", name);
    /* No password hash: nobody can sign in as a script. */
    return td__user_create(db, email, display, role, NULL, now_ms, id_out);
  }
  if (rc) return rc;
  /* A script loaded again after a delete gets its user back (active again). */
  td__stmt_t *st = td__db_stmt(db,
                               "UPDATE users SET role = ?, active = 1, updated_at = ?, version = version + 1"
                               " WHERE id = ? AND (role <> ? OR active = 0)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, td__role_name(role));
  td__stmt_bind_int(st, 2, now_ms);
  td__stmt_bind_text(st, 3, id_out);
  td__stmt_bind_text(st, 4, td__role_name(role));
  return td__stmt_run(st);
}

int td__script_store(td__db_t *db, const char *name, const char *source, size_t len,
                     const td__script_manifest_t *m, const char *updated_by, int64_t now_ms,
                     int64_t *version_out, bool *created) {
  (void)len; /* the source holds no NUL byte (checked by the caller) */
  td__stmt_t *st = td__db_stmt(db, "SELECT version FROM scripts WHERE name = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, name);
  int rc = td__stmt_step(st);
  if (rc < 0) return rc;
  int64_t version = rc == 1 ? td__stmt_int(st, 0) + 1 : 1;
  if (rc == 1) td__stmt_reset(st);
  *created = rc == 0;
  st = td__db_stmt(db,
                   "INSERT INTO scripts(name, source, description, role, enabled, version, updated_at,"
                   " updated_by, error) VALUES (?, ?, ?, ?, 1, ?, ?, ?, NULL)"
                   " ON CONFLICT(name) DO UPDATE SET source = excluded.source,"
                   " description = excluded.description, role = excluded.role, enabled = 1,"
                   " version = excluded.version, updated_at = excluded.updated_at,"
                   " updated_by = excluded.updated_by, error = NULL");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, name);
  td__stmt_bind_text(st, 2, source);
  td__stmt_bind_text(st, 3, m->description);
  td__stmt_bind_text(st, 4, td__role_name(m->role));
  td__stmt_bind_int(st, 5, version);
  td__stmt_bind_int(st, 6, now_ms);
  td__stmt_bind_text(st, 7, updated_by);
  rc = td__stmt_run(st);
  if (rc == 0) *version_out = version;
  return rc;
}

int td__script_delete(td__db_t *db, const char *name) {
  td__stmt_t *st = td__db_stmt(db, "DELETE FROM scripts WHERE name = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, name);
  int rc = td__stmt_run(st);
  if (rc) return rc;
  if (td__db_changes(db) == 0) return TD_ENOTFOUND;
  /* The script's user stays (history points at it) but is marked inactive: it acts no more. */
  char email[160];
  td__script_user_email(name, email, sizeof email);
  st = td__db_stmt(db, "UPDATE users SET active = 0, version = version + 1 WHERE email = ? AND active = 1");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, email);
  return td__stmt_run(st);
}

int td__script_set_error(td__db_t *db, const char *name, const char *error) {
  td__stmt_t *st = td__db_stmt(db, "UPDATE scripts SET error = ? WHERE name = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, error);
  td__stmt_bind_text(st, 2, name);
  return td__stmt_run(st);
}

/* One row (columns as in the SELECTs below) as API JSON, with what is live. */
static json_t *row_json(td__stmt_t *st, bool with_source) {
  char updated[32];
  td__time_format(td__stmt_int(st, 6), updated, sizeof updated);
  const char *name = td__stmt_text(st, 0);
  json_t *regs = NULL;
  bool loaded = td__lua_manager_info(name, &regs);
  json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:b, s:s?, s:o, s:s, s:s?}", "name", name, "description",
                        td__stmt_text(st, 1), "role", td__stmt_text(st, 2), "enabled",
                        (int)td__stmt_int(st, 3), "version", (json_int_t)td__stmt_int(st, 4), "loaded",
                        loaded, "error", td__stmt_text(st, 5), "registrations", regs ? regs : json_array(),
                        "updated_at", updated, "updated_by", td__stmt_text(st, 7));
  if (o && with_source) json_object_set_new(o, "source", json_string(td__stmt_text(st, 8)));
  return o;
}

json_t *td__script_json(td__db_t *db, const char *name, bool with_source) {
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT name, description, role, enabled, version, error, updated_at,"
                               " updated_by, source FROM scripts WHERE name = ?");
  if (st == NULL) return NULL;
  td__stmt_bind_text(st, 1, name);
  if (td__stmt_step(st) != 1) return NULL;
  json_t *o = row_json(st, with_source);
  td__stmt_reset(st);
  return o;
}

int td__script_list(td__db_t *db, int limit, int64_t after, json_t **items, int64_t *next) {
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT name, description, role, enabled, version, error, updated_at,"
                               " updated_by, rowid FROM scripts WHERE rowid > ? ORDER BY rowid LIMIT ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, after);
  td__stmt_bind_int(st, 2, limit + 1);
  *items = json_array();
  *next = 0;
  int rc, n = 0;
  int64_t last = 0;
  while ((rc = td__stmt_step(st)) == 1) {
    if (n == limit) {
      *next = last;
      td__stmt_reset(st);
      break;
    }
    json_array_append_new(*items, row_json(st, false));
    last = td__stmt_int(st, 8);
    n++;
  }
  return rc < 0 ? rc : 0;
}
