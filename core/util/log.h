/* Structured log: one JSON object per line on stderr. Callers never log personal data or
 * secrets: pass ids, counts, routes and codes, not names, emails or bodies. */
#ifndef TD_UTIL_LOG_H
#define TD_UTIL_LOG_H

#include <jansson.h>

enum { TD_LOG_DEBUG, TD_LOG_INFO, TD_LOG_WARN, TD_LOG_ERROR };

void td__log_set_level(int level);
/* Whether a line at level would be written: check it before building costly fields. */
int td__log_enabled(int level);
/* Writes {"ts","level","event",...fields}. fields is taken (may be NULL). Thread-safe. */
void td__log(int level, const char *event, json_t *fields);

#endif
