/* Core callbacks that call plugins: each registration a plugin made in init becomes a core
 * filter, event subscriber, scheduled-run handler or route whose callback is one of the
 * trampolines below. They translate the core's types to the SDK's and time every call, so
 * a slow plugin is named in the log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "hooks/events.h"
#include "hooks/filter.h"
#include "hooks/registry.h"
#include "plugin/bridge.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define LOOP_BUDGET_MS 10  /* a callback on the loop thread holds every connection */
#define READ_BUDGET_MS 250 /* a reader thread */
#define WRITE_BUDGET_MS 50 /* the writer thread: every write waits */

void td__plugin_note_duration(const td_plugin_t *p, const char *callback, const char *name, uint64_t start_ns,
                              uint64_t budget_ms) {
  uint64_t ms = (td__time_mono_ns() - start_ns) / 1000000;
  if (ms < budget_ms) return;
  td__log(TD_LOG_WARN, "slow_callback",
          json_pack("{s:s,s:s,s:s,s:I,s:I}", "plugin", p->name, "callback", callback, "name", name, "ms",
                    (json_int_t)ms, "budget_ms", (json_int_t)budget_ms));
}

/* Filters run on the writer thread inside the action's transaction; the filter dispatcher
 * already logs calls over its 25 ms budget with the package. */
static int filter_trampoline(td__ctx_t *ctx, const char *hook, json_t *proposed, void *data,
                             td__filter_veto_t *veto) {
  const td__plugin_reg_t *r = data;
  struct td_tx tx = {ctx, r->plugin, true};
  td_veto_t v = {{0}};
  int rc = ((td_filter_fn)r->fn)(&tx, hook, proposed, r->data, &v);
  switch (rc) {
    case TD_VERDICT_ALLOW: return TD_FILTER_ALLOW;
    case TD_VERDICT_MODIFIED: return TD_FILTER_MODIFIED;
    case TD_VERDICT_VETO:
      v.reason[sizeof v.reason - 1] = '\0';
      veto->reason = td__xstrdup(v.reason[0] ? v.reason : "refused by a plugin");
      veto->owned = true;
      return TD_FILTER_VETO;
    default: return rc < 0 ? rc : TD_EINTERNAL;
  }
}

static void event_trampoline(const json_t *envelope, td__event_done_fn done, void *token, void *data) {
  const td__plugin_reg_t *r = data;
  uint64_t t0 = td__time_mono_ns();
  ((td_event_fn)r->fn)(envelope, done, token, r->data);
  td__plugin_note_duration(r->plugin, "event", r->name, t0, LOOP_BUDGET_MS);
}

static void run_trampoline(td__sched_call_t *call, void *data) {
  const td__plugin_reg_t *r = data;
  struct td_run *run = td__xcalloc(1, sizeof *run);
  run->call = call;
  run->plugin = r->plugin;
  uint64_t t0 = td__time_mono_ns();
  ((td_run_fn)r->fn)(run, r->data);
  td__plugin_note_duration(r->plugin, "scheduled_run", r->name, t0, LOOP_BUDGET_MS);
}

/* Every plugin route runs through here, on the thread of its kind. */
static int route_trampoline(td__call_t *call) {
  const td__plugin_reg_t *r = call->route->data;
  struct td_request req = {call, r->plugin, false};
  td__ctx_t ctx;
  struct td_tx tx = {NULL, r->plugin, r->route_kind != TD_PLUGIN_ROUTE_WRITE};
  if (r->route_kind != TD_PLUGIN_ROUTE_LOOP) {
    td__call_ctx(call, &ctx);
    ctx.actor_kind = "user";
    tx.ctx = &ctx;
  }
  uint64_t t0 = td__time_mono_ns();
  int rc = ((td_route_fn)r->fn)(&req, tx.ctx ? &tx : NULL, r->data);
  td__plugin_note_duration(r->plugin, "route", r->pattern, t0,
                           r->route_kind == TD_PLUGIN_ROUTE_LOOP   ? LOOP_BUDGET_MS
                           : r->route_kind == TD_PLUGIN_ROUTE_READ ? READ_BUDGET_MS
                                                                   : WRITE_BUDGET_MS);
  if (tx.ctx) (void)td__call_from_ctx(call, &ctx, 0); /* moves a refusal made on ctx */
  if (call->problem) return TD_EINVAL;
  if (rc != 0 || !req.answered) {
    td__log(TD_LOG_ERROR, "plugin_route_failed",
            json_pack("{s:s,s:s,s:i}", "plugin", r->plugin->name, "route", r->pattern, "code", rc));
    return td__problem(call, 500, "Plugin error",
                       "the plugin behind this endpoint failed; see the server log");
  }
  if (r->route_kind == TD_PLUGIN_ROUTE_WRITE && call->audit_type[0] == '\0')
    snprintf(call->audit_type, sizeof call->audit_type, "plugin:%.20s", r->plugin->name);
  return 0;
}

static int apply_one(td_plugin_t *p, td__plugin_reg_t *r) {
  switch (r->kind) {
    case TD_REG_FILTER:
      return td__filter_register(r->name, p->name, r->priority, r->flags, filter_trampoline, r);
    case TD_REG_EVENT: return td__event_subscribe(p->name, r->name, r->priority, event_trampoline, r);
    case TD_REG_RUN: {
      char full[TD_SCHED_NAME_MAX];
      snprintf(full, sizeof full, "%.31s.%.31s", p->name, r->name);
      return td__sched_register(full, p->name, run_trampoline, r);
    }
    case TD_REG_ROUTE: return 0; /* td__plugin_add_routes */
  }
  return TD_EINTERNAL;
}

/* Registrations are checked as they are made (host_api.c), so applying them cannot clash
 * with another package: names are the plugin's own. */
int td__plugin_apply_registrations(td_plugin_t *p) {
  for (size_t i = 0; i < p->reg_count; i++) {
    int rc = apply_one(p, &p->regs[i]);
    if (rc) {
      td__log(TD_LOG_ERROR, "plugin_registration_failed",
              json_pack("{s:s,s:s,s:i}", "plugin", p->name, "name", p->regs[i].name, "code", rc));
      return rc;
    }
  }
  return 0;
}

int td__plugin_add_routes(td_plugin_t *p) {
  for (size_t i = 0; i < p->reg_count; i++) {
    td__plugin_reg_t *r = &p->regs[i];
    if (r->kind != TD_REG_ROUTE) continue;
    td__route_t route = {
        .method = r->method,
        .pattern = r->pattern,
        .kind = r->route_kind == TD_PLUGIN_ROUTE_LOOP   ? TD_RUN_LOOP
                : r->route_kind == TD_PLUGIN_ROUTE_READ ? TD_RUN_READ
                                                        : TD_RUN_WRITE,
        .handler = route_trampoline,
        .body_schema = r->body_schema,
        .flags = ((r->flags & TD_PLUGIN_ROUTE_ADMIN) ? TD_ROUTE_ADMIN : 0u) |
                 ((r->flags & TD_PLUGIN_ROUTE_PUBLIC) ? TD_ROUTE_PUBLIC : 0u) |
                 ((r->flags & TD_PLUGIN_ROUTE_FORM) ? TD_ROUTE_FORM : 0u) |
                 ((r->flags & TD_PLUGIN_ROUTE_BACKGROUND) ? TD_ROUTE_BACKGROUND : 0u),
        .data = r,
    };
    int rc = td__routes_add(&route);
    if (rc) return rc;
  }
  return 0;
}
