/* XLSX for the analytics tables, with libxlsxwriter. Version 1.1.4 (Debian) writes only to a
 * file, so the workbook goes to a private temporary file in $TMPDIR (default /tmp), which is
 * read back into memory and removed. Numbers are written as numbers, text as (inline) strings
 * that Excel never evaluates as formulas; the header row is bold and frozen, columns are as
 * wide as their longest value (within limits). */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* mkstemps */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "render_int.h"

#define XLSX_MAX_STRING 32767 /* Excel's limit on a cell's characters */
#define XLSX_MAX_FILE (256u * 1024 * 1024)

/* Writes s, cut to Excel's limit at a UTF-8 boundary. */
static lxw_error write_text(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *s, lxw_format *f) {
  size_t n = strlen(s);
  if (n <= XLSX_MAX_STRING) return worksheet_write_string(ws, row, col, s, f);
  n = XLSX_MAX_STRING;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  char *cut = strndup(s, n);
  if (!cut) return LXW_ERROR_MEMORY_MALLOC_FAILED;
  lxw_error e = worksheet_write_string(ws, row, col, cut, f);
  free(cut);
  return e;
}

/* Display width of a cell in characters (UTF-8 code points), for the column width. */
static size_t cell_width(const an_cell_t *c) {
  if (c->kind == AN_CELL_NUMBER) return 12;
  if (c->kind != AN_CELL_TEXT) return 0;
  size_t w = 0;
  for (const unsigned char *p = (const unsigned char *)c->text; *p && w < 100; p++) w += (*p & 0xC0) != 0x80;
  return w;
}

static lxw_error write_sheet(lxw_workbook *wb, const an_table_t *t, const char *sheet_name) {
  lxw_worksheet *ws = workbook_add_worksheet(wb, sheet_name);
  lxw_format *bold = workbook_add_format(wb);
  if (!ws || !bold) return LXW_ERROR_MEMORY_MALLOC_FAILED;
  format_set_bold(bold);
  for (size_t c = 0; c < t->column_count && c < LXW_COL_MAX; c++) {
    size_t w = strlen(t->columns[c]);
    for (size_t r = 0; r < t->row_count; r++) {
      size_t cw = cell_width(an_table_cell(t, r, c));
      if (cw > w) w = cw;
    }
    double width = (double)(w < 8 ? 8 : w > 60 ? 60 : w) + 2;
    lxw_error e = worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, width, NULL);
    if (e != LXW_NO_ERROR) return e;
  }
  worksheet_freeze_panes(ws, 1, 0);
  for (size_t c = 0; c < t->column_count; c++) {
    lxw_error e = write_text(ws, 0, (lxw_col_t)c, t->columns[c], bold);
    if (e != LXW_NO_ERROR) return e;
  }
  for (size_t r = 0; r < t->row_count; r++) {
    for (size_t c = 0; c < t->column_count; c++) {
      const an_cell_t *cell = an_table_cell(t, r, c);
      lxw_error e = LXW_NO_ERROR;
      if (cell->kind == AN_CELL_NUMBER)
        e = worksheet_write_number(ws, (lxw_row_t)(r + 1), (lxw_col_t)c, cell->number, NULL);
      else if (cell->kind == AN_CELL_TEXT)
        e = write_text(ws, (lxw_row_t)(r + 1), (lxw_col_t)c, cell->text, NULL);
      if (e != LXW_NO_ERROR) return e;
    }
  }
  return LXW_NO_ERROR;
}

/* Reads the whole file at path into out. */
static int read_back(const char *path, an_buf_t *out) {
  FILE *f = fopen(path, "rb");
  if (!f) return AN_EIO;
  char chunk[16384];
  size_t n;
  int rc = 0;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && rc == 0) {
    an_buf_append(out, chunk, n);
    if (out->failed)
      rc = AN_ENOMEM;
    else if (out->len > XLSX_MAX_FILE)
      rc = AN_ELIMIT;
  }
  if (rc == 0 && ferror(f)) rc = AN_EIO;
  fclose(f);
  return rc;
}

int an_xlsx_write(const an_table_t *t, const char *sheet_name, an_buf_t *out, const char **error) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  char path[512];
  if ((size_t)snprintf(path, sizeof path, "%s/talentd-analytics-XXXXXX.xlsx", dir) >= sizeof path) {
    *error = "TMPDIR is too long";
    return AN_EIO;
  }
  int fd = mkstemps(path, 5);
  if (fd < 0) {
    *error = "cannot create a temporary file for the workbook in TMPDIR";
    return AN_EIO;
  }
  close(fd);
  lxw_workbook_options opt = {.constant_memory = 1, .tmpdir = (char *)dir, .use_zip64 = 0};
  lxw_workbook *wb = workbook_new_opt(path, &opt);
  int rc = 0;
  if (!wb) {
    rc = AN_ENOMEM;
  } else {
    lxw_error e = write_sheet(wb, t, sheet_name);
    lxw_error closed = workbook_close(wb); /* frees wb whatever happened */
    if (e == LXW_ERROR_MEMORY_MALLOC_FAILED || closed == LXW_ERROR_MEMORY_MALLOC_FAILED)
      rc = AN_ENOMEM;
    else if (e != LXW_NO_ERROR || closed != LXW_NO_ERROR)
      rc = AN_EIO;
  }
  if (rc == 0) rc = read_back(path, out);
  unlink(path);
  if (rc == AN_ENOMEM)
    *error = "out of memory writing the workbook";
  else if (rc == AN_ELIMIT)
    *error = "the workbook is too large";
  else if (rc != 0)
    *error = "writing the workbook failed (temporary file in TMPDIR)";
  return rc;
}
