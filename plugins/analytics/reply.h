/* Answering a report in the format the caller asked for (?format=json|csv|xlsx|svg): JSON as
 * computed, or rendered by render.h and sent with the host's respond_bytes. */
#ifndef ANALYTICS_REPLY_H
#define ANALYTICS_REPLY_H

#include <talentd/plugin.h>

#include "render.h"

/* Answers body (taken) for a report of kind in the requested format. A format that is not
 * one of the four, or svg for a report without a chart, is a 400 naming the parameter; a
 * table over the row limit a 413. Returns 0, or TD_EINVAL after answering a problem. */
int an_reply(const td_host_api_t *api, td_request_t *req, an_report_kind_t kind, json_t *body);

#endif
