/* Database rows as API JSON: nullable text and time columns, and one page of a list. The
 * domain's *_json functions build their objects from these so that NULL, times and paging
 * read the same in every resource. */
#ifndef TD_DOMAIN_ROW_JSON_H
#define TD_DOMAIN_ROW_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "domain/context.h"
#include "store/db.h"

/* Column col of the current row as a new json string, or json null when it is NULL. */
json_t *td__row_text(td__stmt_t *st, int col);
/* Column col (epoch ms) as a new RFC 3339 UTC json string, or json null when it is NULL. */
json_t *td__row_time(td__stmt_t *st, int col);

/* The API JSON of the row st is on (a new reference). */
typedef json_t *(*td__row_json_fn)(td__stmt_t *st);

/* Steps st, which is bound to select one object, and gives that row's JSON (to_json) in
 * *out and column version_col in *version (either may be NULL). No row: a 404 naming what
 * on ctx; a step error: td__fail_internal. Both return TD_EINVAL. st is reset. */
int td__row_object(td__ctx_t *ctx, td__stmt_t *st, const char *what, td__row_json_fn to_json, int version_col,
                   json_t **out, int64_t *version);

/* Steps st, which is bound to return at most limit + 1 rows in page order, and collects the
 * first limit of them through to_json into a new array in *items. *next_rowid is the value
 * of column rowid_col of the last collected row when another row follows (the cursor of the
 * next page), else 0. st stays the caller's (reset here when rows are left; finalize a
 * prepared one). A step error frees what was collected and fails ctx (td__fail_internal). */
int td__row_page(td__ctx_t *ctx, td__stmt_t *st, int rowid_col, int limit, td__row_json_fn to_json,
                 json_t **items, int64_t *next_rowid);

#endif
