/* Internals shared by the analytics renderers (render*.c, svg_*.c): a growing byte buffer,
 * the flat table every report becomes for CSV and XLSX, and the per-format writers. Nothing
 * here is part of render.h's contract. */
#ifndef ANALYTICS_RENDER_INT_H
#define ANALYTICS_RENDER_INT_H

#include <stdarg.h>
#include <stddef.h>

#include "render.h"

/* A growing byte buffer. A failed allocation sets failed and makes later appends no-ops, so a
 * writer checks once at the end. The data is always NUL-terminated (not counted in len). */
typedef struct an_buf {
  char *data;
  size_t len, cap;
  int failed;
} an_buf_t;

void an_buf_append(an_buf_t *b, const char *s, size_t n);
void an_buf_puts(an_buf_t *b, const char *s);
void an_buf_printf(an_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void an_buf_free(an_buf_t *b);

/* Writes v in the shortest form that reads back as the same double ("0.5", "3600", "1e+20");
 * integral values within 2^53 without a fraction. Non-finite values write nothing. */
void an_buf_number(an_buf_t *b, double v);

/* The six stage types in pipeline order, the columns of by-type members. */
extern const char *const an_stage_types[6];

/* One cell: empty, text (owned, UTF-8) or a number. */
typedef enum an_cell_kind { AN_CELL_EMPTY, AN_CELL_TEXT, AN_CELL_NUMBER } an_cell_kind_t;
typedef struct an_cell {
  an_cell_kind_t kind;
  double number;
  char *text; /* owned when kind == AN_CELL_TEXT */
} an_cell_t;

/* A table: column names (static strings or owned, see names_owned) and rows * columns cells,
 * row-major. */
typedef struct an_table {
  const char **columns;
  unsigned char *column_owned; /* 1 where columns[i] is owned */
  size_t column_count;
  an_cell_t *cells;
  size_t row_count, row_cap;
} an_table_t;

/* Flattens report into a table for kind (README.md, "Output formats", lists the columns). Returns 0, AN_ELIMIT
 * (more than AN_RENDER_MAX_ROWS rows) or AN_ENOMEM; free with an_table_free either way. */
int an_table_build(an_report_kind_t kind, const json_t *report, an_table_t *t);
void an_table_free(an_table_t *t);
static inline const an_cell_t *an_table_cell(const an_table_t *t, size_t row, size_t col) {
  return &t->cells[row * t->column_count + col];
}

/* The writers. Each returns 0 or a negative AN_E* code, setting *error on failure. */
int an_csv_write(const an_table_t *t, an_buf_t *out);
int an_xlsx_write(const an_table_t *t, const char *sheet_name, an_buf_t *out, const char **error);
int an_svg_write(an_report_kind_t kind, const json_t *report, an_buf_t *out);

/* Whether a CSV text cell must get a leading apostrophe against formula injection: it starts
 * with = + - @ TAB or CR and is not a plain number. */
int an_csv_needs_guard(const char *s);

#endif
