/*
 * json_format.c - syntax checks for the JSON Schema formats date-time,
 * date, email and uri (RFC 3339, RFC 5321 in its practical form, RFC 3986).
 * No DNS and no reachability: a value is judged by its characters alone.
 */
#include "util/json_format.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

/* ASCII only, whatever the locale (isalpha() and friends follow the locale). */
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static bool is_alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

static bool is_alnum(char ch) { return is_alpha(ch) || is_digit(ch); }

/* Reads exactly count digits at s[*i] as a number; advances *i. */
static bool read_digits(const char *s, size_t n, size_t *i, int count, int *out) {
  int v = 0;
  for (int k = 0; k < count; k++, (*i)++) {
    if (*i >= n || !is_digit(s[*i])) return false;
    v = v * 10 + (s[*i] - '0');
  }
  *out = v;
  return true;
}

static bool expect_char(const char *s, size_t n, size_t *i, char ch) {
  if (*i >= n || s[*i] != ch) return false;
  (*i)++;
  return true;
}

/* RFC 3339 full-date at s[*i]: YYYY-MM-DD, a real calendar day. */
static bool read_full_date(const char *s, size_t n, size_t *i) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y, m, d;
  if (!read_digits(s, n, i, 4, &y) || !expect_char(s, n, i, '-') || !read_digits(s, n, i, 2, &m) ||
      !expect_char(s, n, i, '-') || !read_digits(s, n, i, 2, &d))
    return false;
  if (m < 1 || m > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= days[m - 1] + (m == 2 && leap);
}

static bool format_date(const char *s, size_t n) {
  size_t i = 0;
  return read_full_date(s, n, &i) && i == n;
}

/*
 * RFC 3339 date-time: full-date "T" HH:MM:SS[.frac] ("Z" | +HH:MM | -HH:MM),
 * T and Z in either case. Second 60 is accepted only where a leap second
 * can be, at 23:59:60 UTC.
 */
static bool format_date_time(const char *s, size_t n) {
  size_t i = 0;
  int hh, mm, ss, oh = 0, om = 0, sign = 0;
  if (!read_full_date(s, n, &i) || i >= n || (s[i] != 'T' && s[i] != 't')) return false;
  i++;
  if (!read_digits(s, n, &i, 2, &hh) || !expect_char(s, n, &i, ':') || !read_digits(s, n, &i, 2, &mm) ||
      !expect_char(s, n, &i, ':') || !read_digits(s, n, &i, 2, &ss))
    return false;
  if (hh > 23 || mm > 59 || ss > 60) return false;
  if (i < n && s[i] == '.') {
    size_t start = ++i;
    while (i < n && is_digit(s[i])) i++;
    if (i == start) return false;
  }
  if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i < n && (s[i] == '+' || s[i] == '-')) {
    sign = s[i++] == '+' ? 1 : -1;
    if (!read_digits(s, n, &i, 2, &oh) || !expect_char(s, n, &i, ':') || !read_digits(s, n, &i, 2, &om) ||
        oh > 23 || om > 59)
      return false;
  } else {
    return false;
  }
  if (i != n) return false;
  if (ss == 60) {
    int utc = ((hh * 60 + mm - sign * (oh * 60 + om)) % 1440 + 1440) % 1440;
    return utc == 23 * 60 + 59;
  }
  return true;
}

/* A DNS host name: dot-separated labels of 1-63 letters, digits, '-'. */
static bool is_hostname(const char *s, size_t n) {
  if (n == 0 || n > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '.') {
      if (label == 0 || s[i - 1] == '-') return false;
      label = 0;
    } else if (is_alnum(s[i]) || (s[i] == '-' && label > 0)) {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0 && s[n - 1] != '-';
}

/*
 * email: RFC 5321 Mailbox restricted to the practical form: a dot-atom
 * local part (no quoted strings) "@" a host name (no address literals).
 */
static bool format_email(const char *s, size_t n) {
  const char *at = memchr(s, '@', n);
  if (!at || n > 254) return false;
  size_t local = (size_t)(at - s);
  if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.') return false;
  for (size_t i = 0; i < local; i++) {
    if (s[i] == '.' && s[i + 1] == '.') return false;
    if (!is_alnum(s[i]) && !strchr(".!#$%&'*+-/=?^_`{|}~", s[i])) return false;
  }
  return is_hostname(at + 1, n - local - 1);
}

/* True if s[i] starts a valid %HH escape. */
static bool is_pct(const char *s, size_t n, size_t i) {
  return s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2]);
}

/* RFC 3986 unreserved or sub-delims, plus the extra characters in extra. */
static bool is_uri_char(char ch, const char *extra) {
  return is_alnum(ch) || (ch && strchr("-._~!$&'()*+,;=", ch)) || (ch && strchr(extra, ch));
}

/* Checks s[from..to) holds only allowed URI characters and %HH escapes. */
static bool uri_span_ok(const char *s, size_t n, size_t from, size_t to, const char *extra) {
  for (size_t i = from; i < to; i++) {
    if (s[i] == '%') {
      if (!is_pct(s, n, i) || i + 2 >= to) return false;
      i += 2;
    } else if (!is_uri_char(s[i], extra)) {
      return false;
    }
  }
  return true;
}

/* RFC 3986 authority s[from..to): [userinfo "@"] host [":" port]. */
static bool uri_authority_ok(const char *s, size_t n, size_t from, size_t to) {
  size_t host = from;
  for (size_t i = from; i < to; i++)
    if (s[i] == '@') host = i + 1;
  if (host > from && !uri_span_ok(s, n, from, host - 1, ":")) return false;
  size_t port = to;
  if (host < to && s[host] == '[') {
    const char *close = memchr(s + host, ']', to - host);
    if (!close) return false;
    size_t end = (size_t)(close - s);
    for (size_t i = host + 1; i < end; i++)
      if (!is_alnum(s[i]) && s[i] != ':' && s[i] != '.') return false; /* IPv6 or IPvFuture, loosely */
    if (end + 1 < to && s[end + 1] != ':') return false;
    port = end + 1;
  } else {
    const char *colon = memchr(s + host, ':', to - host);
    if (colon) port = (size_t)(colon - s);
    if (!uri_span_ok(s, n, host, port, "")) return false;
  }
  for (size_t i = port + 1; i < to; i++)
    if (!is_digit(s[i])) return false;
  return true;
}

/* uri: an absolute RFC 3986 URI (scheme required; a reference is not enough). */
static bool format_uri(const char *s, size_t n) {
  size_t i = 0;
  if (n == 0 || !is_alpha(s[0])) return false;
  while (i < n && (is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) i++;
  if (i >= n || s[i] != ':') return false;
  i++;
  if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
    size_t start = i + 2, end = start;
    while (end < n && s[end] != '/' && s[end] != '?' && s[end] != '#') end++;
    if (!uri_authority_ok(s, n, start, end)) return false;
    i = end;
  }
  const char *hash = memchr(s + i, '#', n - i);
  size_t body_end = hash ? (size_t)(hash - s) : n;
  if (!uri_span_ok(s, n, i, body_end, ":@/?")) return false;
  return !hash || uri_span_ok(s, n, body_end + 1, n, ":@/?");
}

/* One supported format: its checker and what we tell the user. */
typedef struct format_def {
  const char *name;
  bool (*check)(const char *s, size_t n);
  const char *expected;
} format_def_t;

static const format_def_t formats[] = {
    {"date-time", format_date_time,
     "must be a date and time in RFC 3339 form, for example 2024-05-01T09:30:00Z"},
    {"date", format_date, "must be a date in YYYY-MM-DD form, for example 2024-05-01"},
    {"email", format_email, "must be an email address, for example ada@example.com"},
    {"uri", format_uri, "must be an absolute URI, for example https://example.com/jobs"},
};

const char *td__format_check(const char *name, const char *s, size_t n) {
  for (size_t k = 0; k < sizeof(formats) / sizeof(formats[0]); k++)
    if (!strcmp(name, formats[k].name)) return formats[k].check(s, n) ? NULL : formats[k].expected;
  return NULL;
}
