/* Mail transfers for plugins (see mail.h): the host API's mail_transfer on the core's mail
 * thread (core/net/mail_xfer.h), with the plugin's permission checked, at most MAX_PER_PLUGIN
 * transfers in flight per plugin, and its callback timed. Loop thread only: the transfer runs
 * on the mail thread, the plugin's callback back on the loop. */
#include "plugin/mail.h"

#include <stdlib.h>

#include "net/mail_xfer.h"
#include "plugin/bridge.h"
#include "plugin/host.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define CALLBACK_BUDGET_MS 10
/* One plugin cannot take every connection of the mail thread's multi handle (a burst of sends
 * queues in the plugin, which knows its own order and retry policy, not here). */
#define MAX_PER_PLUGIN 16

/* Transfers in flight per plugin: a short list (one entry per plugin that sends mail). */
typedef struct inflight {
  const td_plugin_t *plugin;
  int count;
  struct inflight *next;
} inflight_t;

static inflight_t *g_inflight;

static inflight_t *inflight_of(const td_plugin_t *p) {
  for (inflight_t *i = g_inflight; i; i = i->next)
    if (i->plugin == p) return i;
  inflight_t *i = td__xcalloc(1, sizeof *i);
  i->plugin = p;
  i->next = g_inflight;
  g_inflight = i;
  return i;
}

typedef struct pending {
  td_plugin_t *plugin;
  td_mail_done_fn done;
  void *data;
} pending_t;

static void on_done(const td_mail_response_t *res, void *arg) {
  pending_t *p = arg;
  inflight_of(p->plugin)->count--;
  uint64_t t0 = td__time_mono_ns();
  p->done(res, p->data);
  td__plugin_note_duration(p->plugin, "mail_response", "mail_transfer", t0, CALLBACK_BUDGET_MS);
  free(p);
}

int td__plugin_mail_transfer(td_plugin_t *self, const td_mail_request_t *request, td_mail_done_fn done,
                             void *data) {
  if (!td__plugin_has_permission(self, "net.mail")) return TD_EDENIED;
  if (request == NULL || done == NULL) return TD_EINVAL;
  if (self->host->net == NULL) return TD_EBUSY;
  inflight_t *slot = inflight_of(self);
  if (slot->count >= MAX_PER_PLUGIN) return TD_ELIMIT;
  pending_t *p = td__xcalloc(1, sizeof *p);
  *p = (pending_t){self, done, data};
  char why[200] = "";
  int rc = td__mail_xfer_start(self->host->net, request, on_done, p, why, sizeof why);
  if (rc) {
    free(p);
    /* The reason names the member, never its value: safe to log for the plugin's author. */
    td__log(TD_LOG_WARN, "plugin_mail_refused",
            json_pack("{s:s,s:i,s:s}", "plugin", self->name, "code", rc, "reason", why));
    return rc;
  }
  slot->count++;
  return 0;
}
