/* Database rows as API JSON (row_json.h). */
#include "domain/row_json.h"

#include "util/time.h"

json_t *td__row_text(td__stmt_t *st, int col) {
  return td__stmt_is_null(st, col) ? json_null() : json_string(td__stmt_text(st, col));
}

json_t *td__row_time(td__stmt_t *st, int col) {
  if (td__stmt_is_null(st, col)) return json_null();
  char text[32];
  td__time_format(td__stmt_int(st, col), text, sizeof text);
  return json_string(text);
}

int td__row_object(td__ctx_t *ctx, td__stmt_t *st, const char *what, td__row_json_fn to_json, int version_col,
                   json_t **out, int64_t *version) {
  int rc = td__stmt_step(st);
  if (rc == 0) return td__fail_not_found(ctx, what);
  if (rc < 0) return td__fail_internal(ctx, rc);
  if (version) *version = td__stmt_int(st, version_col);
  if (out) *out = to_json(st);
  td__stmt_reset(st);
  return 0;
}

int td__row_page(td__ctx_t *ctx, td__stmt_t *st, int rowid_col, int limit, td__row_json_fn to_json,
                 json_t **items, int64_t *next_rowid) {
  json_t *list = json_array();
  int64_t last = 0;
  int rc;
  *next_rowid = 0;
  while ((rc = td__stmt_step(st)) == 1) {
    /* The limit + 1st row only says that another page follows. */
    if ((int)json_array_size(list) == limit) {
      td__stmt_reset(st);
      *next_rowid = last;
      rc = 0;
      break;
    }
    last = td__stmt_int(st, rowid_col);
    json_array_append_new(list, to_json(st));
  }
  if (rc < 0) {
    json_decref(list);
    return td__fail_internal(ctx, rc);
  }
  *items = list;
  return 0;
}
