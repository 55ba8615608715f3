/* Exporting candidates: one pass over the list query, each row written as it is read. */
#include "domain/candidate_export.h"

#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/candidates.h"
#include "talentd/types.h"
#include "util/mem.h"

static const char *const CSV_COLUMNS[] = {
    "id",   "first_name", "last_name", "emails",        "phones",      "links",      "location",   "source",
    "tags", "owner_id",   "consent",   "custom_fields", "resume_text", "created_at", "updated_at", NULL};

void td__csv_cell(td__buf_t *out, const char *text, bool first) {
  if (!first) td__buf_append(out, ",", 1);
  if (text == NULL || *text == '\0') return;
  /* OWASP's CSV injection advice: these leading characters start a formula. */
  bool formula = strchr("=+-@\t\r", text[0]) != NULL;
  size_t n = strlen(text);
  bool quote = formula || strpbrk(text, ",\"\r\n") != NULL || text[0] == ' ' || text[n - 1] == ' ';
  if (quote) td__buf_append(out, "\"", 1);
  if (formula) td__buf_append(out, "'", 1);
  for (const char *p = text; *p; p++) {
    if (*p == '"') td__buf_append(out, "\"", 1);
    td__buf_append(out, p, 1);
  }
  if (quote) td__buf_append(out, "\"", 1);
}

/* The text of one CSV column of candidate c (caller frees). */
static char *csv_value(const json_t *c, const char *column) {
  const json_t *v = json_object_get(c, column);
  if (strcmp(column, "consent") == 0) v = json_object_get(v, "status"); /* the state, not its history */
  if (v == NULL || json_is_null(v)) return NULL;
  if (json_is_string(v)) return td__xstrdup(json_string_value(v));
  if (json_is_array(v)) {
    td__buf_t b = {0};
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
      if (i) td__buf_puts(&b, "; ");
      td__buf_puts(&b, json_string_value(item) ? json_string_value(item) : "");
    }
    return b.data ? td__buf_take(&b) : NULL;
  }
  if (json_is_object(v) && json_object_size(v) == 0) return NULL;
  return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

typedef struct export_state {
  td__ctx_t *ctx;
  td__buf_t *out;
  bool csv;
  int64_t rows;
  bool truncated;
} export_state_t;

static int export_row(td__stmt_t *st, void *arg) {
  export_state_t *s = arg;
  if (s->rows == TD_EXPORT_MAX_ROWS) {
    s->truncated = true;
    return 1;
  }
  json_t *c = td__candidate_row_json(s->ctx, st);
  if (c == NULL) return TD_EIO;
  if (s->csv) {
    for (int i = 0; CSV_COLUMNS[i]; i++) {
      char *v = csv_value(c, CSV_COLUMNS[i]);
      td__csv_cell(s->out, v, i == 0);
      free(v);
    }
    td__buf_puts(s->out, "\r\n");
  } else {
    char *text = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s->rows) td__buf_append(s->out, ",", 1);
    td__buf_puts(s->out, text ? text : "null");
    free(text);
  }
  json_decref(c);
  s->rows++;
  return 0;
}

int td__candidate_export(td__ctx_t *ctx, const td__candidate_filter_t *f, const char *format, td__buf_t *out,
                         bool *truncated) {
  *truncated = false;
  if (!td__policy_can(&ctx->principal, TD_RES_CANDIDATE, TD_ACT_EXPORT)) return td__fail_forbidden(ctx);
  bool csv = format == NULL || strcmp(format, "csv") == 0;
  if (!csv && strcmp(format, "json") != 0) return td__fail_query(ctx, "format", "must be csv or json");
  export_state_t s = {.ctx = ctx, .out = out, .csv = csv};
  if (csv) {
    for (int i = 0; CSV_COLUMNS[i]; i++) td__csv_cell(out, CSV_COLUMNS[i], i == 0);
    td__buf_puts(out, "\r\n");
  } else {
    td__buf_puts(out, "{\"data\":[");
  }
  int rc = td__candidate_query(ctx, f, 0, TD_EXPORT_MAX_ROWS + 1, export_row, &s, NULL);
  if (rc == 1) rc = 0; /* stopped at the cap */
  if (rc) return ctx->problem ? rc : td__fail_internal(ctx, rc);
  if (!csv) td__buf_printf(out, "],\"truncated\":%s}", s.truncated ? "true" : "false");
  *truncated = s.truncated;
  return 0;
}
