/* talent.get, talent.transitions and talent.store.*: reading the model through the domain
 * get functions as the script's principal, and the package-private key/value store
 * (table lua_store, schemas/sql/0008_lua_store.sql). See api.h for where they run. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "domain/applications.h"
#include "domain/candidates.h"
#include "domain/jobs.h"
#include "lua/api.h"
#include "lua/package.h"
#include "talentd/types.h"

static const char *sarg(const json_t *args, const char *key) {
  return json_string_value(json_object_get(args, key));
}

static int op_get(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  (void)audit;
  const char *kind = sarg(args, "kind"), *id = sarg(args, "id");
  int64_t version;
  if (strcmp(kind, "candidate") == 0) return td__candidate_get(ctx, id, out);
  if (strcmp(kind, "job") == 0) return td__job_get(ctx, id, out, &version);
  return td__application_get(ctx, id, out, &version);
}

/* talent.get(kind, id) -> object | nil, error */
static int talent_get(lua_State *L) {
  static const char *const kinds[] = {"candidate", "job", "application", NULL};
  int k = luaL_checkoption(L, 1, NULL, kinds);
  const char *id = luaL_checkstring(L, 2);
  return td__lua_api_read(L, "talent.get", op_get, json_pack("{s:s, s:s}", "kind", kinds[k], "id", id));
}

static int op_transitions(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  (void)audit;
  int64_t next;
  return td__application_transitions(ctx, sarg(args, "id"), 100, 0, out, &next);
}

/* talent.transitions(application_id) -> array (oldest first, at most 100) | nil, error */
static int talent_transitions(lua_State *L) {
  const char *id = luaL_checkstring(L, 1);
  return td__lua_api_read(L, "talent.transitions", op_transitions, json_pack("{s:s}", "id", id));
}

/* --- the store --- */

static int op_store_get(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  (void)audit;
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT value FROM lua_store WHERE package = ? AND key = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, sarg(args, "package"));
  td__stmt_bind_text(st, 2, sarg(args, "key"));
  int rc = td__stmt_step(st);
  if (rc < 0) return td__fail_internal(ctx, rc);
  if (rc == 1) {
    *out = json_loads(td__stmt_text(st, 0), JSON_DECODE_ANY, NULL);
    td__stmt_reset(st);
  }
  return 0;
}

static int op_store_set(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  (void)audit;
  const char *pkg = sarg(args, "package"), *key = sarg(args, "key");
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT (SELECT count(*) FROM lua_store WHERE package = ?1),"
                               " EXISTS(SELECT 1 FROM lua_store WHERE package = ?1 AND key = ?2)");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, pkg);
  td__stmt_bind_text(st, 2, key);
  if (td__stmt_step(st) != 1) return td__fail_internal(ctx, TD_EIO);
  int64_t count = td__stmt_int(st, 0), exists = td__stmt_int(st, 1);
  td__stmt_reset(st);
  if (!exists && count >= TD_LUA_STORE_KEYS_MAX)
    return td__fail_field(ctx, "/key", "the package already stores 10000 keys; delete some first");
  st = td__db_stmt(ctx->db,
                   "INSERT INTO lua_store(package, key, value, updated_at) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT(package, key) DO UPDATE SET value = excluded.value,"
                   " updated_at = excluded.updated_at");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, pkg);
  td__stmt_bind_text(st, 2, key);
  td__stmt_bind_text(st, 3, sarg(args, "value"));
  td__stmt_bind_int(st, 4, ctx->now_ms);
  int rc = td__stmt_run(st);
  if (rc != 0) return td__fail_internal(ctx, rc);
  *out = json_true();
  return 0;
}

static int op_store_delete(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  (void)audit;
  td__stmt_t *st = td__db_stmt(ctx->db, "DELETE FROM lua_store WHERE package = ? AND key = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, sarg(args, "package"));
  td__stmt_bind_text(st, 2, sarg(args, "key"));
  int rc = td__stmt_run(st);
  if (rc != 0) return td__fail_internal(ctx, rc);
  *out = json_true();
  return 0;
}

static const char *store_key(lua_State *L, const char *what) {
  size_t len;
  const char *key = luaL_checklstring(L, 1, &len);
  if (len == 0 || len > TD_LUA_STORE_KEY_MAX || strlen(key) != len)
    luaL_error(L, "%s: a key is 1 to %d bytes of text", what, TD_LUA_STORE_KEY_MAX);
  return key;
}

static json_t *store_args(lua_State *L, const char *key) {
  td__lua_package_t *pkg = td__lua_package_of(L);
  if (pkg == NULL) luaL_error(L, "talent.store is not available in this state");
  return json_pack("{s:s, s:s}", "package", pkg->name, "key", key);
}

/* talent.store.get(key) -> value | nil */
static int store_get(lua_State *L) {
  const char *key = store_key(L, "talent.store.get");
  return td__lua_api_read(L, "talent.store.get", op_store_get, store_args(L, key));
}

/* talent.store.set(key, value) -> true | nil, error. value: anything JSON can hold. */
static int store_set(lua_State *L) {
  const char *key = store_key(L, "talent.store.set");
  luaL_checkany(L, 2);
  json_t *v = td__lua_arg_json(L, 2, "talent.store.set");
  char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  json_decref(v);
  if (text == NULL) return luaL_error(L, "talent.store.set: the value could not be encoded");
  if (strlen(text) > TD_LUA_STORE_VALUE_MAX) {
    free(text);
    return luaL_error(L, "talent.store.set: the value is larger than 64 KiB as JSON");
  }
  json_t *args = store_args(L, key);
  json_object_set_new(args, "value", json_string(text));
  free(text);
  return td__lua_api_write(L, "talent.store.set", op_store_set, args, false);
}

/* talent.store.delete(key) */
static int store_delete(lua_State *L) {
  const char *key = store_key(L, "talent.store.delete");
  return td__lua_api_write(L, "talent.store.delete", op_store_delete, store_args(L, key), false);
}

void td__lua_api_model(lua_State *L) {
  lua_pushcfunction(L, talent_get);
  lua_setfield(L, -2, "get");
  lua_pushcfunction(L, talent_transitions);
  lua_setfield(L, -2, "transitions");
  static const luaL_Reg store[] = {
      {"get", store_get}, {"set", store_set}, {"delete", store_delete}, {NULL, NULL}};
  luaL_newlib(L, store);
  td__lua_make_readonly(td__lua_state_of(L), L);
  lua_setfield(L, -2, "store");
}
