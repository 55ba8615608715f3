/* sequences: the recruiting CRM's email (see README.md). Templates with merge fields,
 * durable SMTP sending from the loop through the host's mail transfers, one-click
 * unsubscribe and a suppression list, and nurture sequences whose enrollments stop when a
 * person replies, unsubscribes, bounces, applies or is hired. This file only wires the parts
 * together; sq.h says what each offers the others. */
#include "sq.h"

const td_host_api_t *sq_api;
td_plugin_t *sq_self;

static int init(td_plugin_t *self, const td_host_api_t *api) {
  if (!TD_HOST_HAS(api, tx_as)) return TD_EINVAL; /* needs mail, act, lua_eval, zones, provide_api */
  sq_api = api;
  sq_self = self;
  int rc = sq_mail_init();
  if (rc == 0) rc = sq_sequences_init();
  if (rc == 0) rc = sq_inbox_init();
  return rc;
}

static void shutdown_plugin(td_plugin_t *self) {
  (void)self;
  sq_inbox_shutdown();
  sq_mail_shutdown();
}

static const td_plugin_descriptor_t descriptor = {
    TD_PLUGIN_ABI_MAJOR, sizeof(td_plugin_descriptor_t), "sequences", "0.1.0", init, shutdown_plugin};

TD_PLUGIN_EXPORT const td_plugin_descriptor_t *talentd_plugin_entry(void);
const td_plugin_descriptor_t *talentd_plugin_entry(void) { return &descriptor; }
