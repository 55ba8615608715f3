/* Mail transfers for plugins: the host API's mail_transfer (SMTP submission and IMAP) on the
 * core's libcurl multi handle, for URLs the admin configured. Needs the net.mail permission. */
#ifndef TD_PLUGIN_MAIL_H
#define TD_PLUGIN_MAIL_H

#include "talentd/plugin.h"

int td__plugin_mail_transfer(td_plugin_t *self, const td_mail_request_t *request, td_mail_done_fn done,
                             void *data);

#endif
