/* Candidate export as CSV or JSON, built in memory (bounded by TD_EXPORT_MAX_ROWS). */
#ifndef TD_DOMAIN_CANDIDATE_EXPORT_H
#define TD_DOMAIN_CANDIDATE_EXPORT_H

#include <stdbool.h>

#include "domain/context.h"
#include "domain/search.h"
#include "util/buf.h"

#define TD_EXPORT_MAX_ROWS 100000

/* Appends to out the candidates visible to ctx's principal that pass f (NULL: all),
 * newest first (or by rank with a search query), in format "csv" or "json", at most
 * TD_EXPORT_MAX_ROWS of them; *truncated tells whether more matched. Needs the EXPORT
 * capability (403 otherwise).
 *   csv:  RFC 4180 (CRLF, quoted when needed), UTF-8, one header row; lists joined with
 *         "; "; custom_fields as JSON; a cell starting with = + - @ tab or CR gets a leading
 *         ' so spreadsheets do not run it as a formula.
 *   json: {"data": [candidate...], "truncated": bool}. */
int td__candidate_export(td__ctx_t *ctx, const td__candidate_filter_t *f, const char *format, td__buf_t *out,
                         bool *truncated);

/* Appends one CSV cell (with its leading comma unless first); exposed for tests. */
void td__csv_cell(td__buf_t *out, const char *text, bool first);

#endif
