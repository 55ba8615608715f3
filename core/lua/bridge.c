/* Lua package registrations as hook registry entries (see bridge.h). */
#include "lua/bridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/events.h"
#include "hooks/filter.h"
#include "talentd/types.h"
#include "util/log.h"

typedef struct event_done {
  td__event_done_fn done;
  void *token;
} event_done_t;

static void on_event_done(void *ud, int rc, const json_t *results, const char *error) {
  (void)results;
  event_done_t *d = ud;
  d->done(d->token, rc, error);
  free(d);
}

static void lua_event(const json_t *envelope, td__event_done_fn done, void *token, void *data) {
  td__lua_reg_t *r = data;
  event_done_t *d = malloc(sizeof *d);
  if (d == NULL) {
    done(token, TD_ENOMEM, "out of memory starting the script");
    return;
  }
  d->done = done;
  d->token = token;
  int rc = td__lua_package_event_call(r->pkg, r, r->pkg->loop, envelope, on_event_done, d);
  if (rc != 0) {
    free(d);
    done(token, rc, "the script could not be started");
  }
}

static int filter_failed(const td__lua_reg_t *r, int rc, const char *error) {
  td__log(TD_LOG_WARN, "script.filter_failed",
          json_pack("{s:s, s:s, s:s}", "package", r->pkg->name, "hook", r->name, "error",
                    error != NULL ? error : "unknown"));
  return rc < 0 ? rc : TD_EINVAL;
}

static int veto_with(td__filter_veto_t *veto, const td__lua_reg_t *r, const json_t *reason) {
  char buf[160];
  const char *text = json_string_value(reason);
  if (text == NULL || text[0] == '\0') {
    snprintf(buf, sizeof buf, "Refused by script '%s'", r->pkg->name);
    text = buf;
  }
  veto->reason = strdup(text);
  veto->owned = veto->reason != NULL;
  if (veto->reason == NULL) veto->reason = "Refused by a script";
  return TD_FILTER_VETO;
}

static int lua_filter(td__ctx_t *ctx, const char *hook, json_t *proposed, void *data,
                      td__filter_veto_t *veto) {
  (void)hook;
  td__lua_reg_t *r = data;
  json_t *results = NULL;
  char *error = NULL;
  int rc = td__lua_package_filter_call(r->pkg, r, ctx, proposed, &results, &error);
  if (rc != 0) {
    rc = filter_failed(r, rc, error);
    free(error);
    return rc;
  }
  const json_t *first = json_array_get(results, 0), *second = json_array_get(results, 1);
  int verdict;
  if (first == NULL || json_is_true(first) || (json_is_null(first) && !json_is_string(second))) {
    verdict = TD_FILTER_ALLOW;
  } else if (json_is_false(first) || json_is_null(first)) {
    verdict = veto_with(veto, r, second);
  } else if (json_is_object(first)) {
    json_object_update(proposed, (json_t *)first);
    verdict = TD_FILTER_MODIFIED;
  } else {
    verdict =
        filter_failed(r, TD_EINVAL, "a filter must return nothing, true, a table, or false and a reason");
  }
  json_decref(results);
  return verdict;
}

int td__lua_bridge_register(td__lua_package_t *pkg, uv_loop_t *loop) {
  pkg->loop = loop;
  for (size_t i = 0; i < pkg->nregs; i++) {
    td__lua_reg_t *r = &pkg->regs[i];
    int rc = r->kind == TD_LUA_REG_EVENT
                 ? td__event_subscribe(pkg->name, r->name, r->priority, lua_event, r)
                 : td__filter_register(r->name, pkg->name, r->priority,
                                       r->fail_closed ? TD_HOOK_FAIL_CLOSED : 0, lua_filter, r);
    if (rc != 0) {
      td__log(TD_LOG_ERROR, "script.register_failed",
              json_pack("{s:s, s:s, s:i}", "package", pkg->name, "hook", r->name, "code", rc));
      return rc;
    }
  }
  return 0;
}

int td__lua_bridge_specs(td__lua_package_t *pkg, uv_loop_t *loop, td__hook_spec_t *specs, size_t max,
                         size_t *n) {
  pkg->loop = loop;
  *n = 0;
  for (size_t i = 0; i < pkg->nregs; i++) {
    td__lua_reg_t *r = &pkg->regs[i];
    if (*n == max) return TD_ENOMEM;
    int rc = r->kind == TD_LUA_REG_EVENT
                 ? td__event_spec(pkg->name, r->name, r->priority, lua_event, r, &specs[*n])
                 : td__filter_spec(r->name, r->priority, r->fail_closed ? TD_HOOK_FAIL_CLOSED : 0, lua_filter,
                                   r, &specs[*n]);
    if (rc != 0) {
      td__log(TD_LOG_ERROR, "script.register_failed",
              json_pack("{s:s, s:s, s:i}", "package", pkg->name, "hook", r->name, "code", rc));
      return rc;
    }
    (*n)++;
  }
  return 0;
}
