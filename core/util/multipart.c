/* multipart/form-data parsing (see multipart.h). The body is all addressable at once (the
 * HTTP layer streams an upload to a file, which the handler maps), so parts are found with
 * memmem on the delimiter "\r\n--boundary" and their data is never copied. */
#include "util/multipart.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "talentd/types.h"
#include "util/buf.h"
#include "util/mem.h"

#define MAX_BOUNDARY 70
#define MAX_PART_HEADERS 8
#define MAX_HEADER_LINE 2048
#define MAX_PARAM_VALUE 1024

static bool is_space(char c) { return c == ' ' || c == '\t'; }

static bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* Reads the next ";name=value" parameter of a header value at *p into name and value
 * (quoted strings unquoted; a backslash escapes only '"' and '\', so a Windows path sent
 * unescaped survives). Returns 1 for a parameter, 0 at the end, -1 when malformed. */
static int next_param(const char **p, char *name, size_t name_size, td__buf_t *value) {
  const char *s = *p;
  while (is_space(*s)) s++;
  if (*s == '\0') return 0;
  if (*s != ';') return -1;
  s++;
  while (is_space(*s)) s++;
  size_t n = 0;
  while (is_tchar(*s)) {
    if (n + 1 >= name_size) return -1;
    name[n++] = *s++;
  }
  name[n] = '\0';
  while (is_space(*s)) s++;
  if (n == 0 || *s != '=') return -1;
  s++;
  while (is_space(*s)) s++;
  td__buf_reset(value);
  if (*s == '"') {
    s++;
    while (*s && *s != '"') {
      if (*s == '\\' && (s[1] == '"' || s[1] == '\\')) s++;
      td__buf_append(value, s++, 1);
      if (value->len > MAX_PARAM_VALUE) return -1;
    }
    if (*s != '"') return -1;
    s++;
  } else {
    while (*s && *s != ';' && !is_space(*s)) {
      td__buf_append(value, s++, 1);
      if (value->len > MAX_PARAM_VALUE) return -1;
    }
  }
  if (value->data == NULL) td__buf_puts(value, "");
  *p = s;
  return 1;
}

/* Skips "type/subtype" (or a disposition type) and checks it is `want`. */
static bool take_type(const char **p, const char *want) {
  const char *s = *p;
  while (is_space(*s)) s++;
  size_t n = strlen(want);
  if (strncasecmp(s, want, n) != 0) return false;
  s += n;
  if (*s && *s != ';' && !is_space(*s)) return false;
  *p = s;
  return true;
}

static bool boundary_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("'()+_,-./:=? ", c));
}

int td__multipart_boundary(const char *content_type, char *out, size_t size) {
  const char *p = content_type;
  if (p == NULL || !take_type(&p, "multipart/form-data")) return TD_EINVAL;
  char name[32];
  td__buf_t value = {0};
  int rc, result = TD_EINVAL;
  while ((rc = next_param(&p, name, sizeof name, &value)) == 1) {
    if (strcasecmp(name, "boundary") != 0) continue;
    size_t n = value.len;
    if (n == 0 || n > MAX_BOUNDARY || n + 1 > size || value.data[n - 1] == ' ') break;
    bool ok = true;
    for (size_t i = 0; i < n; i++) ok = ok && boundary_char(value.data[i]);
    if (!ok) break;
    memcpy(out, value.data, n + 1);
    result = 0;
    break;
  }
  td__buf_free(&value);
  return result;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes an RFC 8187 ext-value "UTF-8'lang'%xx..." into a new string, or NULL when it is
 * not UTF-8 or malformed. */
static char *decode_ext_value(const char *v) {
  if (strncasecmp(v, "UTF-8'", 6) != 0) return NULL;
  const char *q = strchr(v + 6, '\'');
  if (q == NULL) return NULL;
  td__buf_t out = {0};
  for (const char *s = q + 1; *s; s++) {
    if (*s == '%') {
      int hi = s[1] ? hexval(s[1]) : -1, lo = hi >= 0 && s[2] ? hexval(s[2]) : -1;
      int c = hi >= 0 && lo >= 0 ? hi * 16 + lo : 0;
      if (c == 0) {
        td__buf_free(&out);
        return NULL;
      }
      char ch = (char)c;
      td__buf_append(&out, &ch, 1);
      s += 2;
    } else {
      td__buf_append(&out, s, 1);
    }
  }
  return td__buf_take(&out);
}

/* Reads a Content-Disposition value: must be form-data with a name. */
static int parse_disposition(const char *v, td__multipart_part_t *part, const char **error) {
  const char *p = v;
  if (!take_type(&p, "form-data")) {
    *error = "a part's Content-Disposition is not form-data";
    return TD_EINVAL;
  }
  char name[32];
  td__buf_t value = {0};
  char *ext = NULL;
  int rc;
  while ((rc = next_param(&p, name, sizeof name, &value)) == 1) {
    if (strcasecmp(name, "name") == 0 && part->name == NULL)
      part->name = td__xstrdup(value.data);
    else if (strcasecmp(name, "filename") == 0 && part->filename == NULL)
      part->filename = td__xstrdup(value.data);
    else if (strcasecmp(name, "filename*") == 0 && ext == NULL)
      ext = decode_ext_value(value.data);
  }
  td__buf_free(&value);
  if (ext) {
    free(part->filename);
    part->filename = ext;
  }
  if (rc < 0) {
    *error = "a part's Content-Disposition header is malformed";
    return TD_EINVAL;
  }
  if (part->name == NULL) {
    *error = "a part's Content-Disposition has no name";
    return TD_EINVAL;
  }
  return 0;
}

/* Parses the header block of a part at body[*pos..], up to and including the blank line. */
static int parse_part_headers(const char *body, size_t len, size_t *pos, td__multipart_part_t *part,
                              const char **error) {
  bool seen_disposition = false;
  for (int n = 0;; n++) {
    const char *line = body + *pos;
    const char *crlf = memmem(line, len - *pos, "\r\n", 2);
    if (crlf == NULL) {
      *error = "the body ends inside a part's headers";
      return TD_EINVAL;
    }
    size_t llen = (size_t)(crlf - line);
    *pos += llen + 2;
    if (llen == 0) break;
    if (n >= MAX_PART_HEADERS || llen > MAX_HEADER_LINE) {
      *error = "a part has too many or too long headers";
      return TD_EINVAL;
    }
    char *text = td__xstrndup(line, llen);
    char *colon = strchr(text, ':');
    int rc = 0;
    if (colon == NULL || colon == text || strlen(text) != llen) {
      *error = "a part's header line is malformed";
      rc = TD_EINVAL;
    } else {
      *colon = '\0';
      const char *v = colon + 1;
      while (is_space(*v)) v++;
      if (strcasecmp(text, "content-disposition") == 0) {
        if (seen_disposition) {
          *error = "a part has two Content-Disposition headers";
          rc = TD_EINVAL;
        } else {
          seen_disposition = true;
          rc = parse_disposition(v, part, error);
        }
      } else if (strcasecmp(text, "content-type") == 0 && part->content_type == NULL) {
        part->content_type = td__xstrdup(v);
      }
    }
    free(text);
    if (rc) return rc;
  }
  if (!seen_disposition) {
    *error = "a part has no Content-Disposition header";
    return TD_EINVAL;
  }
  return 0;
}

/* After a delimiter at body[*pos]: "--" closes the body (returns 1); transport padding then
 * CRLF starts a part (returns 0). */
static int after_delimiter(const char *body, size_t len, size_t *pos, const char **error) {
  if (len - *pos >= 2 && body[*pos] == '-' && body[*pos + 1] == '-') return 1;
  while (*pos < len && is_space(body[*pos])) (*pos)++;
  if (len - *pos < 2 || body[*pos] != '\r' || body[*pos + 1] != '\n') {
    *error = "a boundary line does not end in CRLF";
    return TD_EINVAL;
  }
  *pos += 2;
  return 0;
}

static int parse_parts(const char *body, size_t len, const char *delim, td__multipart_t *out,
                       const char **error) {
  size_t dlen = strlen(delim); /* "\r\n--boundary" */
  size_t pos;
  /* The first delimiter may open the body (without its CRLF) or follow a preamble. */
  if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
    pos = dlen - 2;
  } else {
    const char *first = memmem(body, len, delim, dlen);
    if (first == NULL) {
      *error = "the body does not contain the boundary named in Content-Type";
      return TD_EINVAL;
    }
    pos = (size_t)(first - body) + dlen;
  }
  for (;;) {
    int rc = after_delimiter(body, len, &pos, error);
    if (rc == 1) return 0;
    if (rc) return rc;
    if (out->count == TD_MULTIPART_MAX_PARTS) {
      *error = "the body has more parts than allowed (16)";
      return TD_EINVAL;
    }
    td__multipart_part_t *part = &out->parts[out->count++];
    if ((rc = parse_part_headers(body, len, &pos, part, error)) != 0) return rc;
    const char *end = memmem(body + pos, len - pos, delim, dlen);
    if (end == NULL) {
      *error = "the body ends before the closing boundary";
      return TD_EINVAL;
    }
    part->data = body + pos;
    part->len = (size_t)(end - (body + pos));
    pos = (size_t)(end - body) + dlen;
  }
}

int td__multipart_parse(const char *content_type, const char *body, size_t len, td__multipart_t *out,
                        const char **error) {
  memset(out, 0, sizeof *out);
  char boundary[MAX_BOUNDARY + 1];
  if (td__multipart_boundary(content_type, boundary, sizeof boundary) != 0) {
    *error = "Content-Type must be multipart/form-data with a boundary of 1 to 70 characters";
    return TD_EINVAL;
  }
  char delim[MAX_BOUNDARY + 5];
  size_t blen = strlen(boundary);
  memcpy(delim, "\r\n--", 4);
  memcpy(delim + 4, boundary, blen + 1);
  if (body == NULL) body = "";
  int rc = parse_parts(body, len, delim, out, error);
  if (rc) td__multipart_free(out);
  return rc;
}

const td__multipart_part_t *td__multipart_find(const td__multipart_t *m, const char *name) {
  for (size_t i = 0; i < m->count; i++)
    if (strcmp(m->parts[i].name, name) == 0) return &m->parts[i];
  return NULL;
}

size_t td__multipart_count(const td__multipart_t *m, const char *name) {
  size_t n = 0;
  for (size_t i = 0; i < m->count; i++) n += strcmp(m->parts[i].name, name) == 0;
  return n;
}

void td__multipart_free(td__multipart_t *m) {
  for (size_t i = 0; i < m->count; i++) {
    free(m->parts[i].name);
    free(m->parts[i].filename);
    free(m->parts[i].content_type);
  }
  memset(m, 0, sizeof *m);
}
