/* Talent pools and saved segments as a service between plugins (host API provide_api /
 * get_api): the bundled crm plugin offers it as "crm.segments" version 1, so the sequences
 * plugin can enrol a pool's or a segment's members without knowing how crm stores or evaluates
 * them. A consumer degrades cleanly (a 422 saying the crm plugin is not enabled) when get_api
 * gives NULL. */
#ifndef TALENTD_SEGMENTS_H
#define TALENTD_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "talentd/plugin.h"

#define TD_SEGMENTS_API_NAME "crm.segments"
#define TD_SEGMENTS_API_VERSION 1

typedef struct td_segments_api {
  uint32_t struct_size; /* of the provider's table */

  /* The ids of the candidates segment_id matches now, in tx (any transaction; evaluated
   * with the provider's rights): *ids is a new JSON array of strings in candidate order.
   * Returns 0; TD_ENOTFOUND (no such segment); TD_ELIMIT when it matches more than max
   * (nothing returned); or a storage error. */
  int (*members)(td_tx_t *tx, const char *segment_id, size_t max, json_t **ids);

  /* The ids of pool_id's members, in the order they were added; the same contract. */
  int (*pool_members)(td_tx_t *tx, const char *pool_id, size_t max, json_t **ids);
} td_segments_api_t;

#endif
