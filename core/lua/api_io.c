/* talent.http.request (outbound HTTP through the server's client, lua/call.h host calls)
 * and talent.config (the package's configuration, read-only). */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/api.h"
#include "lua/call.h"
#include "lua/json.h"
#include "lua/package.h"
#include "net/client.h"
#include "talentd/types.h"

#define HTTP_HEADERS_MAX 32
#define HTTP_TIMEOUT_MAX_MS 10000

static void http_done(const td__net_response_t *res, void *data) {
  td__lua_host_call_t *hc = data;
  if (res->rc != 0) {
    char msg[300];
    snprintf(msg, sizeof msg, "talent.http.request: %s", res->error != NULL ? res->error : "failed");
    td__lua_host_complete(hc, NULL, msg);
  } else {
    json_t *out =
        json_pack("{s:I, s:s%}", "status", (json_int_t)res->status, "body", res->body, res->body_len);
    if (out == NULL) out = json_pack("{s:I, s:s}", "status", (json_int_t)res->status, "body", "");
    if (res->content_type != NULL) json_object_set_new(out, "content_type", json_string(res->content_type));
    td__lua_host_complete(hc, out, NULL);
  }
}

/* Reads the request table at 1 into req (strings stay on L's stack via the table). */
static void read_request(lua_State *L, td__net_request_t *req, const char **headers, size_t *nheaders) {
  static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "method");
  req->method = methods[luaL_checkoption(L, -1, "GET", methods)];
  lua_getfield(L, 1, "url");
  req->url = luaL_checkstring(L, -1);
  lua_getfield(L, 1, "body");
  req->body = luaL_optlstring(L, -1, NULL, &req->body_len);
  lua_getfield(L, 1, "timeout_ms");
  lua_Integer t = luaL_optinteger(L, -1, 0);
  if (t < 0 || t > HTTP_TIMEOUT_MAX_MS)
    luaL_error(L, "talent.http.request: timeout_ms must be 0 to %d", HTTP_TIMEOUT_MAX_MS);
  req->timeout_ms = t;
  *nheaders = 0;
  if (lua_getfield(L, 1, "headers") != LUA_TNIL) {
    luaL_checktype(L, -1, LUA_TTABLE);
    int ht = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, ht) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "talent.http.request: headers must map names to strings");
      if (*nheaders >= HTTP_HEADERS_MAX)
        luaL_error(L, "talent.http.request: more than %d headers", HTTP_HEADERS_MAX);
      lua_pushfstring(L, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
      headers[(*nheaders)++] = lua_tostring(L, -1);
      lua_insert(L, ht); /* keep the line alive below the iteration */
      ht++;
      lua_pop(L, 1);
    }
  }
  req->headers = headers;
  req->headers_len = *nheaders;
}

/* talent.http.request{method=, url=, headers={}, body=, timeout_ms=} -> {status=, body=} | nil, error */
static int http_request(lua_State *L) {
  const char *what = "talent.http.request";
  td__lua_package_t *pkg = td__lua_package_of(L);
  if (pkg == NULL) return luaL_error(L, "%s is not available in this state", what);
  td__net_request_t req;
  memset(&req, 0, sizeof req);
  const char *headers[HTTP_HEADERS_MAX];
  size_t nheaders;
  read_request(L, &req, headers, &nheaders);
  char err[300];
  if (td__lua_host_allowed(L, what, "filters may not do I/O", err, sizeof err) != 0) {
    lua_pushstring(L, err); /* no position: the message names the function */
    return lua_error(L);
  }
  if (td__lua_count_effect(L, what, err, sizeof err) != 0) return luaL_error(L, "%s", err);
  if (pkg->host.dry_run) {
    if (pkg->dry_log == NULL) pkg->dry_log = json_array();
    json_array_append_new(pkg->dry_log, json_pack("{s:s, s:{s:s, s:s?}}", "action", what, "args", "method",
                                                  req.method, "url", req.url));
    lua_createtable(L, 0, 3);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "dry_run");
    lua_pushinteger(L, 0);
    lua_setfield(L, -2, "status");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "body");
    return 1;
  }
  if (pkg->host.net == NULL) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: outbound HTTP is not available to this script", what);
    return 2;
  }
  td__lua_host_call_t *hc = td__lua_host_new(L);
  int rc = td__net_request(pkg->host.net, &req, http_done, hc); /* copies req; calls back later */
  if (rc != 0) {
    snprintf(err, sizeof err, "%s: %s", what,
             rc == TD_ELIMIT ? "too many requests pending" : "the request was refused");
    td__lua_host_complete(hc, NULL, err);
  }
  return td__lua_host_yield(L, hc);
}

/* Replaces the table at the top by a read-only proxy, its nested tables first, so no part of
 * talent.config can be changed by the script (the tables come from JSON: no cycles, and
 * their depth is bounded by the conversion's limit). */
static void deep_readonly(td__lua_state_t *s, lua_State *L) {
  int t = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      deep_readonly(s, L);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, t); /* same key: allowed while iterating */
    } else {
      lua_pop(L, 1);
    }
  }
  td__lua_make_readonly(s, L);
}

void td__lua_api_io(td__lua_state_t *s, lua_State *L) {
  static const luaL_Reg http[] = {{"request", http_request}, {NULL, NULL}};
  luaL_newlib(L, http);
  td__lua_make_readonly(s, L);
  lua_setfield(L, -2, "http");
  td__lua_package_t *pkg = td__lua_package_of(L);
  const json_t *config = pkg != NULL ? pkg->host.config : NULL;
  if (json_is_object(config))
    td__lua_push_json(L, config, s->limits.json_max_depth, s->limits.json_max_items);
  else
    lua_newtable(L);
  deep_readonly(s, L);
  lua_setfield(L, -2, "config");
}
