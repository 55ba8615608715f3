/* JSON <-> Lua conversion with depth and size limits (see json.h). */
#include "lua/json.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char array_marker_key = 0;

/* Pushes the marker metatable of decoded arrays (created on first use). */
static void push_array_marker(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &array_marker_key) != LUA_TNIL) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &array_marker_key);
}

typedef struct push_ctx {
  int max_depth;
  size_t max_items, items;
} push_ctx_t;

static void push_value(lua_State *L, const json_t *v, int depth, push_ctx_t *c) {
  if (++c->items > c->max_items)
    luaL_error(L, "JSON value has more than %I items", (lua_Integer)c->max_items);
  if (depth > c->max_depth) luaL_error(L, "JSON value nests deeper than %d levels", c->max_depth);
  luaL_checkstack(L, 4, "JSON value nests too deep");
  switch (json_typeof(v)) {
    case JSON_OBJECT: {
      const char *key;
      json_t *member;
      lua_createtable(L, 0, (int)json_object_size(v));
      json_object_foreach((json_t *)v, key, member) {
        push_value(L, member, depth + 1, c);
        lua_setfield(L, -2, key);
      }
      break;
    }
    case JSON_ARRAY: {
      size_t i;
      json_t *item;
      lua_createtable(L, (int)json_array_size(v), 0);
      json_array_foreach(v, i, item) {
        push_value(L, item, depth + 1, c);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
      }
      push_array_marker(L);
      lua_setmetatable(L, -2);
      break;
    }
    case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
    case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
    case JSON_TRUE: lua_pushboolean(L, 1); break;
    case JSON_FALSE: lua_pushboolean(L, 0); break;
    default: lua_pushlightuserdata(L, NULL); break;
  }
}

void td__lua_push_json(lua_State *L, const json_t *v, int max_depth, size_t max_items) {
  if (v == NULL) {
    lua_pushnil(L);
    return;
  }
  push_ctx_t c = {max_depth, max_items, 0};
  push_value(L, v, 1, &c);
}

typedef struct conv {
  int max_depth;
  size_t max_items, items;
  char path[256];
  size_t path_len;
  char *err;
  size_t errsize;
} conv_t;

static int fail(conv_t *c, const char *msg) {
  snprintf(c->err, c->errsize, "%s: %s", c->path_len ? c->path : "/", msg);
  return -1;
}

static json_t *convert(lua_State *L, int idx, int depth, conv_t *c);

/* Appends "/seg" to the path; returns the old length to restore. */
static size_t path_push(conv_t *c, const char *seg) {
  size_t old = c->path_len;
  int n = snprintf(c->path + old, sizeof c->path - old, "/%s", seg);
  if (n > 0) c->path_len = old + (size_t)n < sizeof c->path ? old + (size_t)n : sizeof c->path - 1;
  return old;
}

static void path_pop(conv_t *c, size_t old) {
  c->path_len = old;
  c->path[old] = '\0';
}

/* Whether the table at idx is an array (keys exactly 1..n); *n gets n. */
static int is_array(lua_State *L, int idx, size_t *n, int *empty) {
  size_t len = lua_rawlen(L, idx), count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    count++;
    lua_pop(L, 1);
  }
  *n = len;
  *empty = count == 0;
  return count > 0 && count == len;
}

static int is_marked_array(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &array_marker_key);
  int r = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return r;
}

static json_t *convert_array(lua_State *L, int idx, size_t n, int depth, conv_t *c) {
  json_t *a = json_array();
  for (size_t i = 1; a != NULL && i <= n; i++) {
    char seg[24];
    snprintf(seg, sizeof seg, "%zu", i - 1);
    size_t old = path_push(c, seg);
    lua_rawgeti(L, idx, (lua_Integer)i);
    json_t *item = convert(L, lua_gettop(L), depth + 1, c);
    lua_pop(L, 1);
    path_pop(c, old);
    if (item == NULL || json_array_append_new(a, item) != 0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

static json_t *convert_object(lua_State *L, int idx, int depth, conv_t *c) {
  json_t *o = json_object();
  lua_pushnil(L);
  while (o != NULL && lua_next(L, idx) != 0) {
    size_t klen;
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      json_decref(o);
      fail(c,
           "a table mixing array items and named keys (or with non-string keys) cannot be converted to JSON");
      return NULL;
    }
    const char *key = lua_tolstring(L, -2, &klen);
    if (strlen(key) != klen) {
      lua_pop(L, 2);
      json_decref(o);
      fail(c, "a key with a NUL byte cannot be converted to JSON");
      return NULL;
    }
    size_t old = path_push(c, key);
    json_t *item = convert(L, lua_gettop(L), depth + 1, c);
    path_pop(c, old);
    lua_pop(L, 1);
    if (item == NULL || json_object_set_new(o, key, item) != 0) {
      if (item != NULL) fail(c, "a key that is not UTF-8 cannot be converted to JSON");
      lua_pop(L, 1);
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

static json_t *convert(lua_State *L, int idx, int depth, conv_t *c) {
  if (++c->items > c->max_items) return fail(c, "too many values to convert to JSON"), NULL;
  if (depth > c->max_depth) return fail(c, "nesting too deep (or a cycle) to convert to JSON"), NULL;
  if (!lua_checkstack(L, 4)) return fail(c, "nesting too deep to convert to JSON"), NULL;
  switch (lua_type(L, idx)) {
    case LUA_TNIL: return json_null();
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) return json_integer((json_int_t)lua_tointeger(L, idx));
      if (!isfinite(lua_tonumber(L, idx)))
        return fail(c, "NaN and infinity cannot be converted to JSON"), NULL;
      return json_real(lua_tonumber(L, idx));
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      json_t *j = json_stringn(s, len);
      if (j == NULL) fail(c, "a string that is not UTF-8 cannot be converted to JSON");
      return j;
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) return json_null();
      break;
    case LUA_TTABLE: {
      size_t n;
      int empty;
      if (is_array(L, idx, &n, &empty)) return convert_array(L, idx, n, depth, c);
      if (empty && is_marked_array(L, idx)) return json_array();
      return convert_object(L, idx, depth, c);
    }
    default: break;
  }
  char msg[96];
  snprintf(msg, sizeof msg, "a %s cannot be converted to JSON", lua_typename(L, lua_type(L, idx)));
  fail(c, msg);
  return NULL;
}

int td__lua_to_json(lua_State *L, int idx, int max_depth, size_t max_items, json_t **out, char *err,
                    size_t errsize) {
  conv_t c = {.max_depth = max_depth, .max_items = max_items, .err = err, .errsize = errsize};
  c.path[0] = '\0';
  if (errsize > 0) err[0] = '\0';
  *out = convert(L, lua_absindex(L, idx), 1, &c);
  if (*out == NULL && errsize > 0 && err[0] == '\0')
    snprintf(err, errsize, "out of memory converting to JSON");
  return *out == NULL ? -1 : 0;
}
