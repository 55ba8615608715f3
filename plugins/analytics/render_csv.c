/* CSV for the analytics tables: RFC 4180 (CRLF line ends, a header row, fields with a comma,
 * quote, CR or LF quoted with quotes doubled), UTF-8 without a byte-order mark, and guarded
 * against formula injection: a text cell a spreadsheet would evaluate (starting with = + - @
 * TAB or CR) gets a leading apostrophe, unless it is a plain number such as "-5". */
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

/* A plain number: optional sign, digits with at most one point, optional exponent. */
static int plain_number(const char *s) {
  const char *p = s;
  if (*p == '+' || *p == '-') p++;
  size_t digits = 0;
  int point = 0;
  for (; *p; p++) {
    if (*p >= '0' && *p <= '9')
      digits++;
    else if (*p == '.' && !point)
      point = 1;
    else
      break;
  }
  if (!digits) return 0;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!(*p >= '0' && *p <= '9')) return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  return *p == '\0';
}

int an_csv_needs_guard(const char *s) {
  return (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') &&
         !plain_number(s);
}

static void write_text(an_buf_t *out, const char *s) {
  int guard = an_csv_needs_guard(s);
  if (!guard && !strpbrk(s, ",\"\r\n")) {
    an_buf_puts(out, s);
    return;
  }
  int quote = strpbrk(s, ",\"\r\n") != NULL;
  if (quote) an_buf_puts(out, "\"");
  if (guard) an_buf_puts(out, "'");
  for (const char *p = s; *p; p++) {
    const char *q = strchr(p, '"');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    an_buf_append(out, p, n);
    if (!q) break;
    an_buf_puts(out, "\"\"");
    p = q;
  }
  if (quote) an_buf_puts(out, "\"");
}

int an_csv_write(const an_table_t *t, an_buf_t *out) {
  for (size_t c = 0; c < t->column_count; c++) {
    if (c) an_buf_puts(out, ",");
    write_text(out, t->columns[c]);
  }
  an_buf_puts(out, "\r\n");
  for (size_t r = 0; r < t->row_count; r++) {
    for (size_t c = 0; c < t->column_count; c++) {
      const an_cell_t *cell = an_table_cell(t, r, c);
      if (c) an_buf_puts(out, ",");
      if (cell->kind == AN_CELL_NUMBER)
        an_buf_number(out, cell->number);
      else if (cell->kind == AN_CELL_TEXT)
        write_text(out, cell->text);
    }
    an_buf_puts(out, "\r\n");
  }
  return out->failed ? AN_ENOMEM : 0;
}
