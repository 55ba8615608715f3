/* An RFC 4180 CSV reader over a buffer in memory: quoted fields, doubled quotes, CRLF or LF
 * (or a lone CR) line ends, newlines inside quoted fields, a leading UTF-8 BOM. Field and
 * record sizes are bounded, so a hostile file costs at most the limits in memory.
 *
 * A malformed record (text after a closing quote, a field or record over its limit, a NUL
 * byte, invalid UTF-8) does not stop the reader: the record comes back with `error` set and
 * reading resumes at the next record. Only an unterminated quote ends the input, since
 * everything after it belongs to the open field. Quotes inside an unquoted field are kept
 * literally (as most spreadsheet exports expect). Empty lines are skipped. */
#ifndef TD_UTIL_CSV_H
#define TD_UTIL_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

typedef struct td__csv_limits {
  size_t max_field;  /* bytes in one field (default 64 KiB) */
  size_t max_fields; /* fields in one record (default 256) */
  size_t max_record; /* bytes in one record, quotes included (default 1 MiB) */
  char delimiter;    /* default ',' */
} td__csv_limits_t;

typedef struct td__csv_record {
  size_t count;        /* fields in the record (0 when error is set) */
  const char **fields; /* NUL-terminated UTF-8, borrowed until the next call */
  size_t *lengths;
  size_t line;       /* 1-based line on which the record starts */
  const char *error; /* NULL, or a static sentence saying why the record is malformed */
} td__csv_record_t;

typedef struct td__csv_reader {
  const char *data;
  size_t len, pos;
  size_t line;
  td__csv_limits_t limits;
  td__buf_t text;  /* the current record's field bytes, NUL-separated */
  size_t *offsets; /* field starts in text */
  size_t *lengths;
  const char **fields;
  size_t cap;
} td__csv_reader_t;

/* Starts reading data[0..len) (borrowed; must outlive the reader). limits may be NULL;
 * zero members take their defaults. */
void td__csv_init(td__csv_reader_t *r, const char *data, size_t len, const td__csv_limits_t *limits);
/* Reads the next record into *rec. Returns 1 when a record (possibly with rec->error) was
 * read, 0 at the end of the input. */
int td__csv_next(td__csv_reader_t *r, td__csv_record_t *rec);
/* Bytes consumed so far (for progress reports). */
size_t td__csv_offset(const td__csv_reader_t *r);
void td__csv_free(td__csv_reader_t *r);

/* Whether s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool td__utf8_valid(const char *s, size_t n);

#endif
