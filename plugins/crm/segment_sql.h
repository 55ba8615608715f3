/* A segment's definition as one SQL query over the core's candidates (see segment_sql.c). */
#ifndef CRM_SEGMENT_SQL_H
#define CRM_SEGMENT_SQL_H

#include <stddef.h>
#include <stdint.h>
#include <talentd/plugin.h>

/* What a definition failed on: a JSON pointer into the definition and a sentence. */
typedef struct crm_segment_error {
  char pointer[96];
  char message[200];
} crm_segment_error_t;

/* Builds the query for def ({"q"?, "filters"?}, already checked against the CrmSegmentCreate /
 * CrmSegmentUpdate / CrmSegmentPreview schemas; borrowed). The query selects rowid, id, first_name,
 * last_name, location, source and tags of the matching candidates with rowid > after, in rowid order, at most
 * limit rows. *sql (malloc'd) and *params (new reference) are the caller's. Returns 0, or TD_EINVAL with err
 * filled (an unparsable time, a q without a word), or TD_ENOMEM / TD_ELIMIT. */
int crm_segment_sql(const json_t *def, int64_t after, int64_t limit, char **sql, json_t **params,
                    crm_segment_error_t *err);

#endif
