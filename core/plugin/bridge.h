/* What the SDK's opaque handles are on the host side, shared by host_api.c (the functions
 * plugins call) and bridge.c (the core callbacks that call plugins). */
#ifndef TD_PLUGIN_BRIDGE_H
#define TD_PLUGIN_BRIDGE_H

#include <stdbool.h>

#include "api/call.h"
#include "domain/context.h"
#include "plugin/host.h"
#include "sched/sched.h"

/* A transaction as a plugin sees it: the domain context it runs in and the guard's terms. */
struct td_tx {
  td__ctx_t *ctx;
  td_plugin_t *plugin;
  bool read_only;
};

/* A call of a plugin route. */
struct td_request {
  td__call_t *call;
  td_plugin_t *plugin;
  bool answered;
};

/* A scheduled run handed to a plugin (freed by run_finish). */
struct td_run {
  td__sched_call_t *call;
  td_plugin_t *plugin;
};

/* Logs a callback that held its thread longer than budget_ms, with the plugin's name. */
void td__plugin_note_duration(const td_plugin_t *p, const char *callback, const char *name, uint64_t start_ns,
                              uint64_t budget_ms);

#endif
