/* The talent API's actions: talent.move, talent.reject, talent.note, talent.task,
 * talent.tag and talent.schedule.*, each a writer op running the same domain function as
 * the HTTP API, as the script's principal, with an audit entry (see api.h). */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "domain/applications.h"
#include "domain/candidates.h"
#include "domain/notes.h"
#include "domain/tasks.h"
#include "lua/api.h"
#include "lua/package.h"
#include "sched/sched.h"
#include "talentd/types.h"
#include "util/time.h"

static const char *sarg(const json_t *args, const char *key) {
  return json_string_value(json_object_get(args, key));
}

static void audit_of(td__lua_audit_t *audit, const char *type, const json_t *obj, const char *fallback_id) {
  const char *id = json_string_value(json_object_get(obj, "id"));
  snprintf(audit->object_type, sizeof audit->object_type, "%s", type);
  snprintf(audit->object_id, sizeof audit->object_id, "%s", id != NULL ? id : fallback_id);
}

/* --- applications --- */

static int op_move(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  int64_t version;
  const char *id = sarg(args, "application_id");
  int rc = td__application_move(ctx, id, sarg(args, "stage_id"), sarg(args, "reason"), out, &version);
  if (rc == 0) audit_of(audit, "application", *out, id);
  return rc;
}

/* talent.move(application_id, stage_id [, reason]) */
static int talent_move(lua_State *L) {
  const char *id = luaL_checkstring(L, 1), *stage = luaL_checkstring(L, 2);
  const char *reason = luaL_optstring(L, 3, NULL);
  json_t *args = json_pack("{s:s, s:s}", "application_id", id, "stage_id", stage);
  if (reason != NULL) json_object_set_new(args, "reason", json_string(reason));
  return td__lua_api_write(L, "talent.move", op_move, args, true);
}

static int op_reject(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  int64_t version;
  const char *id = sarg(args, "application_id");
  int rc = td__application_reject(ctx, id, sarg(args, "kind"), sarg(args, "reason"), out, &version);
  if (rc == 0) audit_of(audit, "application", *out, id);
  return rc;
}

/* talent.reject(application_id, reason [, kind]): kind "rejected" (default) | "withdrawn" */
static int talent_reject(lua_State *L) {
  static const char *const kinds[] = {"rejected", "withdrawn", NULL};
  const char *id = luaL_checkstring(L, 1), *reason = luaL_checkstring(L, 2);
  int kind = luaL_checkoption(L, 3, "rejected", kinds);
  json_t *args = json_pack("{s:s, s:s, s:s}", "application_id", id, "reason", reason, "kind", kinds[kind]);
  return td__lua_api_write(L, "talent.reject", op_reject, args, true);
}

/* --- candidates --- */

static int op_note(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  const char *id = sarg(args, "candidate_id");
  int rc = td__note_create(ctx, id, json_object_get(args, "note"), out);
  if (rc == 0) audit_of(audit, "candidate", NULL, id);
  return rc;
}

/* talent.note(candidate_id, body [, {application_id = ..., visibility = ...}]) */
static int talent_note(lua_State *L) {
  const char *id = luaL_checkstring(L, 1), *body = luaL_checkstring(L, 2);
  json_t *note = json_pack("{s:s}", "body", body);
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    static const char *const keys[] = {"application_id", "visibility", NULL};
    for (const char *const *k = keys; *k != NULL; k++) {
      if (lua_getfield(L, 3, *k) == LUA_TSTRING)
        json_object_set_new(note, *k, json_string(lua_tostring(L, -1)));
      lua_pop(L, 1);
    }
  }
  json_t *args = json_pack("{s:s, s:o}", "candidate_id", id, "note", note);
  return td__lua_api_write(L, "talent.note", op_note, args, true);
}

/* Adds tag to the candidate's tags through td__candidate_update (the API's PATCH). */
static int op_tag(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  const char *id = sarg(args, "candidate_id"), *tag = sarg(args, "tag");
  json_t *cand = NULL;
  int rc = td__candidate_get(ctx, id, &cand);
  if (rc != 0) return rc;
  json_t *tags = json_copy(json_object_get(cand, "tags"));
  if (!json_is_array(tags)) {
    json_decref(tags);
    tags = json_array();
  }
  size_t i;
  json_t *t;
  bool present = false;
  json_array_foreach(tags, i, t) present |= json_is_string(t) && strcmp(json_string_value(t), tag) == 0;
  if (present) {
    json_decref(tags);
    *out = cand;
    return 0; /* nothing to change, nothing to audit */
  }
  json_decref(cand);
  json_array_append_new(tags, json_string(tag));
  json_t *body = json_pack("{s:o}", "tags", tags);
  rc = td__candidate_update(ctx, id, body, -1, out);
  json_decref(body);
  if (rc == 0) audit_of(audit, "candidate", *out, id);
  return rc;
}

/* talent.tag(candidate_id, tag) */
static int talent_tag(lua_State *L) {
  const char *id = luaL_checkstring(L, 1), *tag = luaL_checkstring(L, 2);
  json_t *args = json_pack("{s:s, s:s}", "candidate_id", id, "tag", tag);
  return td__lua_api_write(L, "talent.tag", op_tag, args, true);
}

/* --- tasks --- */

static int op_task(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  int64_t version;
  int rc = td__task_create(ctx, args, out, &version);
  if (rc == 0) audit_of(audit, "task", *out, "");
  return rc;
}

/* talent.task{title=, due_at=, assignee_id=, candidate_id=, application_id=}: the fields of
 * POST /api/v1/tasks, checked here as the API's schema would. */
static int talent_task(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  static const char *const keys[] = {"title",        "due_at",         "assignee_id",
                                     "candidate_id", "application_id", NULL};
  json_t *args = json_object();
  for (const char *const *k = keys; *k != NULL; k++) {
    int t = lua_getfield(L, 1, *k);
    if (t != LUA_TNIL && t != LUA_TSTRING) {
      json_decref(args);
      return luaL_error(L, "talent.task: %s must be a string", *k);
    }
    if (t == LUA_TSTRING) json_object_set_new(args, *k, json_string(lua_tostring(L, -1)));
    lua_pop(L, 1);
  }
  const char *title = json_string_value(json_object_get(args, "title"));
  const char *due = json_string_value(json_object_get(args, "due_at"));
  int64_t ms;
  const char *bad = title == NULL || title[0] == '\0' || strlen(title) > 500
                        ? "title must be 1 to 500 characters"
                    : due != NULL && td__time_parse(due, &ms) != 0 ? "due_at must be an RFC 3339 date-time"
                                                                   : NULL;
  if (bad != NULL) {
    json_decref(args);
    return luaL_error(L, "talent.task: %s", bad);
  }
  return td__lua_api_write(L, "talent.task", op_task, args, true);
}

/* --- schedules --- */

static int op_schedule(td__ctx_t *ctx, const json_t *args, json_t **out, td__lua_audit_t *audit) {
  char id[TD_ID_MAX];
  const char *handler = sarg(args, "handler"), *cron = sarg(args, "cron");
  const json_t *payload = json_object_get(args, "payload");
  int rc;
  if (cron != NULL)
    rc = td__sched_cron(ctx, handler, cron, sarg(args, "tz"), payload, NULL, id);
  else if (json_object_get(args, "at") != NULL)
    rc = td__sched_at(ctx, handler, json_integer_value(json_object_get(args, "at")), payload, NULL, id);
  else
    rc = td__sched_after(ctx, handler, json_integer_value(json_object_get(args, "after")), payload, NULL, id);
  if (rc != 0) return rc;
  *out = json_pack("{s:s, s:s}", "id", id, "handler", handler);
  audit_of(audit, "scheduled_run", *out, id);
  return 0;
}

/* Builds the args of a schedule: handler "script.<package>.<name>" and the payload (an
 * object; nil for {}) at index idx; then what and when are added by the caller. */
static json_t *schedule_args(lua_State *L, const char *what, int name_idx, int payload_idx) {
  td__lua_package_t *pkg = td__lua_package_of(L);
  const char *name = luaL_checkstring(L, name_idx);
  if (pkg == NULL) luaL_error(L, "%s is not available in this state", what);
  char handler[TD_SCHED_NAME_MAX + 8];
  int n = snprintf(handler, sizeof handler, "script.%s.%s", pkg->name, name);
  if (n < 0 || n >= TD_SCHED_NAME_MAX)
    luaL_error(L, "%s: the handler name script.<package>.<name> is too long", what);
  json_t *payload = NULL;
  if (!lua_isnoneornil(L, payload_idx)) {
    luaL_checktype(L, payload_idx, LUA_TTABLE);
    payload = td__lua_arg_json(L, payload_idx, what);
    if (!json_is_object(payload)) {
      json_decref(payload);
      luaL_error(L, "%s: the payload must be a table with string keys", what);
    }
  }
  return json_pack("{s:s, s:o}", "handler", handler, "payload", payload != NULL ? payload : json_object());
}

/* talent.schedule.after(ms, name [, payload]) */
static int schedule_after(lua_State *L) {
  lua_Integer ms = luaL_checkinteger(L, 1);
  if (ms < 0) return luaL_error(L, "talent.schedule.after: the delay must be >= 0 ms");
  json_t *args = schedule_args(L, "talent.schedule.after", 2, 3);
  json_object_set_new(args, "after", json_integer(ms));
  return td__lua_api_write(L, "talent.schedule.after", op_schedule, args, true);
}

/* talent.schedule.at(time_ms, name [, payload]): time_ms since the epoch */
static int schedule_at(lua_State *L) {
  lua_Integer ms = luaL_checkinteger(L, 1);
  json_t *args = schedule_args(L, "talent.schedule.at", 2, 3);
  json_object_set_new(args, "at", json_integer(ms));
  return td__lua_api_write(L, "talent.schedule.at", op_schedule, args, true);
}

/* talent.schedule.cron(expr, tz, name [, payload]): tz nil for UTC */
static int schedule_cron(lua_State *L) {
  const char *expr = luaL_checkstring(L, 1);
  const char *tz = luaL_optstring(L, 2, NULL);
  json_t *args = schedule_args(L, "talent.schedule.cron", 3, 4);
  json_object_set_new(args, "cron", json_string(expr));
  if (tz != NULL) json_object_set_new(args, "tz", json_string(tz));
  return td__lua_api_write(L, "talent.schedule.cron", op_schedule, args, true);
}

void td__lua_api_actions(lua_State *L) {
  static const luaL_Reg fns[] = {{"move", talent_move}, {"reject", talent_reject}, {"note", talent_note},
                                 {"tag", talent_tag},   {"task", talent_task},     {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
  static const luaL_Reg sched[] = {
      {"after", schedule_after}, {"at", schedule_at}, {"cron", schedule_cron}, {NULL, NULL}};
  luaL_newlib(L, sched);
  td__lua_make_readonly(td__lua_state_of(L), L);
  lua_setfield(L, -2, "schedule");
}
