/* The RFC 4180 reader (see csv.h for what it accepts and how it recovers). A malformed
 * record keeps being scanned with the same grammar in a "discard" mode, so the reader finds
 * the true end of the record (a quoted newline does not end it) without storing more bytes
 * than the limits allow. */
#include "util/csv.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define DEFAULT_MAX_FIELD (64u * 1024u)
#define DEFAULT_MAX_FIELDS 256u
#define DEFAULT_MAX_RECORD (1024u * 1024u)

void td__csv_init(td__csv_reader_t *r, const char *data, size_t len, const td__csv_limits_t *limits) {
  memset(r, 0, sizeof *r);
  r->data = data;
  r->len = len;
  r->line = 1;
  if (limits) r->limits = *limits;
  if (r->limits.max_field == 0) r->limits.max_field = DEFAULT_MAX_FIELD;
  if (r->limits.max_fields == 0) r->limits.max_fields = DEFAULT_MAX_FIELDS;
  if (r->limits.max_record == 0) r->limits.max_record = DEFAULT_MAX_RECORD;
  if (r->limits.delimiter == 0) r->limits.delimiter = ',';
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) r->pos = 3;
}

void td__csv_free(td__csv_reader_t *r) {
  td__buf_free(&r->text);
  free(r->offsets);
  free(r->lengths);
  free(r->fields);
  r->offsets = NULL;
  r->lengths = NULL;
  r->fields = NULL;
  r->cap = 0;
}

size_t td__csv_offset(const td__csv_reader_t *r) { return r->pos; }

/* One record being read: where it started and whether it is already known to be bad. */
typedef struct scan {
  size_t start;
  size_t count;
  const char *error;
} scan_t;

static void fail(scan_t *s, const char *why) {
  if (s->error == NULL) s->error = why;
}

/* Consumes one line end at pos (CRLF, LF or a lone CR), counting the line. */
static void eat_line_end(td__csv_reader_t *r) {
  if (r->data[r->pos] == '\r') {
    r->pos++;
    if (r->pos < r->len && r->data[r->pos] == '\n') r->pos++;
  } else {
    r->pos++;
  }
  r->line++;
}

static bool at_line_end(const td__csv_reader_t *r) {
  return r->pos < r->len && (r->data[r->pos] == '\r' || r->data[r->pos] == '\n');
}

/* Appends bytes of the current field unless the record is already bad. */
static void keep(td__csv_reader_t *r, scan_t *s, const char *p, size_t n) {
  if (s->error || n == 0) return;
  if (r->text.len + n - r->offsets[s->count] > r->limits.max_field) {
    fail(s, "a field is longer than the import allows");
    return;
  }
  td__buf_append(&r->text, p, n);
}

/* Counts line ends inside a quoted span so record line numbers stay right. */
static void count_lines(td__csv_reader_t *r, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\n')
      r->line++;
    else if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
      r->line++;
  }
}

/* Reads a quoted field body after its opening quote. Returns false when the input ends
 * inside the quotes. */
static bool read_quoted(td__csv_reader_t *r, scan_t *s) {
  for (;;) {
    const char *p = r->data + r->pos;
    const char *q = memchr(p, '"', r->len - r->pos);
    if (q == NULL) {
      count_lines(r, p, r->len - r->pos);
      r->pos = r->len;
      fail(s, "a quoted field is never closed (a \" is missing)");
      return false;
    }
    size_t n = (size_t)(q - p);
    count_lines(r, p, n);
    keep(r, s, p, n);
    r->pos += n + 1;
    if (r->pos < r->len && r->data[r->pos] == '"') {
      keep(r, s, "\"", 1);
      r->pos++;
      continue;
    }
    return true;
  }
}

/* Reads unquoted bytes up to a delimiter, a line end or the end of input. */
static void read_plain(td__csv_reader_t *r, scan_t *s) {
  size_t from = r->pos;
  char d = r->limits.delimiter;
  while (r->pos < r->len) {
    char c = r->data[r->pos];
    if (c == d || c == '\r' || c == '\n') break;
    r->pos++;
  }
  keep(r, s, r->data + from, r->pos - from);
}

static void grow(td__csv_reader_t *r, size_t need) {
  if (need <= r->cap) return;
  size_t cap = r->cap ? r->cap * 2 : 16;
  while (cap < need) cap *= 2;
  r->offsets = td__xrealloc(r->offsets, cap * sizeof *r->offsets);
  r->lengths = td__xrealloc(r->lengths, cap * sizeof *r->lengths);
  r->fields = td__xrealloc(r->fields, cap * sizeof *r->fields);
  r->cap = cap;
}

/* Reads one field starting at pos. Returns false at the end of the record. */
static bool read_field(td__csv_reader_t *r, scan_t *s) {
  if (s->count >= r->limits.max_fields) fail(s, "a record has more fields than the import allows");
  if (!s->error) {
    grow(r, s->count + 1);
    r->offsets[s->count] = r->text.len;
  }
  if (r->pos < r->len && r->data[r->pos] == '"') {
    r->pos++;
    if (!read_quoted(r, s)) return false;
    if (r->pos < r->len && r->data[r->pos] != r->limits.delimiter && !at_line_end(r)) {
      fail(s, "text follows a closing quote; double a \" inside a quoted field");
      read_plain(r, s);
    }
  } else {
    read_plain(r, s);
  }
  if (!s->error) {
    size_t off = r->offsets[s->count];
    r->lengths[s->count] = r->text.len - off;
    if (memchr(r->text.data ? r->text.data + off : "", '\0', r->lengths[s->count]))
      fail(s, "a field contains a NUL byte");
    else if (!td__utf8_valid(r->text.data ? r->text.data + off : "", r->lengths[s->count]))
      fail(s, "a field is not valid UTF-8; save the file as UTF-8");
    td__buf_append(&r->text, "", 1); /* the field's terminator (buf adds one, keep ours) */
  }
  s->count++;
  if (r->pos - s->start > r->limits.max_record) fail(s, "a record is longer than the import allows");
  if (r->pos < r->len && r->data[r->pos] == r->limits.delimiter) {
    r->pos++;
    return true;
  }
  if (at_line_end(r)) eat_line_end(r);
  return false;
}

int td__csv_next(td__csv_reader_t *r, td__csv_record_t *rec) {
  while (at_line_end(r)) eat_line_end(r); /* empty lines are not records */
  if (r->pos >= r->len) return 0;
  scan_t s = {.start = r->pos};
  td__buf_reset(&r->text);
  rec->line = r->line;
  while (read_field(r, &s)) {
  }
  rec->error = s.error;
  if (s.error) {
    rec->count = 0;
    rec->fields = NULL;
    rec->lengths = NULL;
    return 1;
  }
  for (size_t i = 0; i < s.count; i++) r->fields[i] = r->text.data ? r->text.data + r->offsets[i] : "";
  rec->count = s.count;
  rec->fields = r->fields;
  rec->lengths = r->lengths;
  return 1;
}

bool td__utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    unsigned min, cp;
    if (c >= 0xC2 && c <= 0xDF)
      need = 1, min = 0x80, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
      need = 2, min = 0x800, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
      need = 3, min = 0x10000, cp = c & 0x07;
    else
      return false;
    if (n - i <= need) return false;
    for (size_t k = 1; k <= need; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += need + 1;
  }
  return true;
}
