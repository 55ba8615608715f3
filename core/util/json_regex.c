/*
 * json_regex.c - ECMA-262 patterns translated to POSIX extended regexes.
 *
 * Draft 7 patterns are ECMA-262; we run them on POSIX <regex.h>
 * (REG_EXTENDED) after a translation of the common ECMA-only syntax:
 *   \d \D \w \W \s \S     -> bracket expressions (ASCII classes only)
 *   (?:...)               -> (...)
 *   *? +? ?? {n,m}?       -> greedy forms (same verdict for a search)
 *   .                     -> [^\n\r] (ECMA dot excludes line terminators)
 *   \n \t \xHH \uHHHH ... -> the literal character
 *   escapes inside [...]  -> a rebuilt POSIX bracket expression
 *   a literal { or } that is no quantifier -> \{ \}
 * Not supported (-ENOTSUP): lookaround, backreferences, named groups,
 * \p{..}, \c, NUL, non-ASCII inside [...], empty classes [] [^].
 * Remaining differences: matching is byte-wise in the C locale, so "." or
 * [^a] match one byte of a multi-byte character rather than the character,
 * and \s and \b know only ASCII (ECMA also counts Unicode spaces).
 */
#include "util/json_regex.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Output. The translation runs twice over the same pattern: first with no  */
/* buffer to measure, then into a buffer of exactly that size. Emitting     */
/* therefore cannot fail, and only the pattern itself can be refused.       */
/* ------------------------------------------------------------------------ */

typedef struct ere_out {
  char *buf; /* NULL while measuring */
  size_t len;
} ere_out_t;

static void put(ere_out_t *o, const char *s, size_t n) {
  if (o->buf) memcpy(o->buf + o->len, s, n);
  o->len += n;
}

static void put_str(ere_out_t *o, const char *s) { put(o, s, strlen(s)); }

static void put_char(ere_out_t *o, char ch) { put(o, &ch, 1); }

/* Emits the n bytes at s as one ERE atom, so a quantifier applies to all. */
static void put_group(ere_out_t *o, const char *s, size_t n) {
  put_char(o, '(');
  put(o, s, n);
  put_char(o, ')');
}

/* ------------------------------------------------------------------------ */
/* Escapes and literals.                                                     */
/* ------------------------------------------------------------------------ */

static const char ere_special[] = ".[]{}()\\*+?^$|";

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Reads count hex digits at s[*i]; advances *i. false if malformed. */
static bool read_hex(const char *s, size_t n, size_t *i, int count, uint32_t *out) {
  uint32_t v = 0;
  for (int k = 0; k < count; k++) {
    if (*i >= n || hexval(s[*i]) < 0) return false;
    v = v * 16 + (uint32_t)hexval(s[*i]);
    (*i)++;
  }
  *out = v;
  return true;
}

/*
 * Decodes the escape whose letter is s[*i] ('x' or 'u', surrogate pairs
 * joined) into a code point; advances *i past it. 0, -EINVAL, -ENOTSUP.
 */
static int read_hex_escape(const char *s, size_t n, size_t *i, uint32_t *cp) {
  char kind = s[(*i)++];
  if (!read_hex(s, n, i, kind == 'x' ? 2 : 4, cp)) return -EINVAL;
  if (kind == 'u' && *cp >= 0xD800 && *cp <= 0xDBFF) {
    uint32_t lo;
    if (*i + 1 >= n || s[*i] != '\\' || s[*i + 1] != 'u') return -ENOTSUP;
    *i += 2;
    if (!read_hex(s, n, i, 4, &lo) || lo < 0xDC00 || lo > 0xDFFF) return -ENOTSUP;
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
  } else if (kind == 'u' && *cp >= 0xDC00 && *cp <= 0xDFFF) {
    return -ENOTSUP;
  }
  return *cp == 0 ? -ENOTSUP : 0;
}

/* Emits one literal character as an ERE atom (multi-byte ones grouped). */
static void emit_literal(ere_out_t *o, uint32_t cp) {
  if (cp < 0x80) {
    if (strchr(ere_special, (int)cp)) put_char(o, '\\');
    put_char(o, (char)cp);
    return;
  }
  char u[4];
  size_t len;
  if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    len = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    len = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    len = 4;
  }
  for (size_t k = 1; k < len; k++) u[k] = (char)(0x80 | ((cp >> (6 * (len - 1 - k))) & 0x3F));
  put_group(o, u, len);
}

/* The character a simple ECMA escape letter stands for, or -1. */
static int control_escape(char e) {
  switch (e) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'f': return '\f';
    case 'v': return '\v';
    default: return -1;
  }
}

/* Translates an escape outside a class; s[*i] is the letter after '\'. */
static int re_escape(const char *s, size_t n, size_t *i, ere_out_t *o) {
  static const char *const shorthand[][2] = {
      {"d", "[0-9]"},         {"D", "[^0-9]"},         {"w", "[0-9A-Za-z_]"}, {"W", "[^0-9A-Za-z_]"},
      {"s", "[\t\n\v\f\r ]"}, {"S", "[^\t\n\v\f\r ]"}, {"b", "\\b"},          {"B", "\\B"},
  };
  char e = s[*i];
  for (size_t k = 0; k < sizeof(shorthand) / sizeof(shorthand[0]); k++) {
    if (e == shorthand[k][0][0]) {
      (*i)++;
      put_str(o, shorthand[k][1]);
      return 0;
    }
  }
  if (e == 'x' || e == 'u') {
    uint32_t cp;
    int rc = read_hex_escape(s, n, i, &cp);
    if (rc == 0) emit_literal(o, cp);
    return rc;
  }
  /* strchr also finds e == '\0': a NUL after '\' is refused like any NUL. */
  if ((unsigned char)e >= 0x80 || strchr("0123456789cpPk", e)) return -ENOTSUP;
  (*i)++;
  int ctl = control_escape(e);
  emit_literal(o, ctl >= 0 ? (uint32_t)ctl : (unsigned char)e);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Character classes: parsed into a set of ASCII bytes, then re-emitted.    */
/* ------------------------------------------------------------------------ */

static void set_range(bool *set, int lo, int hi) {
  for (int ch = lo; ch <= hi; ch++) set[ch] = true;
}

/*
 * Reads one class atom at s[*i] inside [...]: a character (*ch >= 0) or a
 * shorthand class \d \w \s added straight to set (*ch = -1). Advances *i.
 */
static int class_atom(const char *s, size_t n, size_t *i, bool *set, int *ch) {
  unsigned char c0 = (unsigned char)s[*i];
  if (c0 >= 0x80) return -ENOTSUP;
  (*i)++;
  if (c0 != '\\') {
    *ch = c0;
    return c0 ? 0 : -ENOTSUP;
  }
  if (*i >= n) return -EINVAL;
  char e = s[*i];
  *ch = -1;
  switch (e) {
    case 'd': set_range(set, '0', '9'); break;
    case 'w':
      set_range(set, '0', '9');
      set_range(set, 'A', 'Z');
      set_range(set, 'a', 'z');
      set['_'] = true;
      break;
    case 's':
      set_range(set, '\t', '\r');
      set[' '] = true;
      break;
    case 'b': *ch = '\b'; break;
    case 'x':
    case 'u': {
      uint32_t cp;
      int rc = read_hex_escape(s, n, i, &cp);
      if (rc) return rc;
      if (cp >= 0x80) return -ENOTSUP;
      *ch = (int)cp;
      return 0;
    }
    default:
      if (control_escape(e) >= 0)
        *ch = control_escape(e);
      else if ((unsigned char)e >= 0x80 || strchr("DWS0123456789cpPk", e))
        return -ENOTSUP;
      else
        *ch = (unsigned char)e; /* identity escape: \] \- \\ \. ... */
  }
  (*i)++;
  return 0;
}

/*
 * Writes the set as a POSIX bracket expression. POSIX has no escapes inside
 * brackets, so placement makes the specials literal: ']' first, '^' not
 * first, '-' last; '[' is safe since it is never followed by ':', '.', '='
 * (emission is in ascending byte order).
 */
static int class_emit(ere_out_t *o, const bool *set, bool negated) {
  char body[3 * 128 + 8];
  size_t len = 0;
  if (set[']']) body[len++] = ']';
  for (int ch = 1; ch < 128; ch++) {
    bool in = set[ch] && ch != ']' && ch != '^' && ch != '-';
    if (!in) continue;
    int end = ch;
    while (end + 1 < 128 && set[end + 1] && end + 1 != ']' && end + 1 != '^' && end + 1 != '-') end++;
    body[len++] = (char)ch;
    if (end - ch >= 2) body[len++] = '-';
    if (end > ch) body[len++] = (char)end;
    ch = end;
  }
  if (len == 0 && !negated && set['^'] && !set['-']) {
    put_str(o, "\\^"); /* "[^]" would be a negation */
    return 0;
  }
  if (len == 0 && !negated && set['^']) {
    put_str(o, "[-^]");
    return 0;
  }
  if (set['^']) body[len++] = '^';
  if (set['-']) body[len++] = '-';
  if (len == 0) return -ENOTSUP; /* [] or [^] */
  put_str(o, negated ? "[^" : "[");
  put(o, body, len);
  put_char(o, ']');
  return 0;
}

/* Translates the ECMA class starting at s[*i] == '['; advances past ']'. */
static int re_class(const char *s, size_t n, size_t *i, ere_out_t *o) {
  bool set[128] = {false};
  bool negated = false;
  (*i)++;
  if (*i < n && s[*i] == '^') {
    negated = true;
    (*i)++;
  }
  while (*i < n && s[*i] != ']') {
    int lo, hi, rc = class_atom(s, n, i, set, &lo);
    if (rc) return rc;
    if (lo >= 0 && *i + 1 < n && s[*i] == '-' && s[*i + 1] != ']') {
      (*i)++;
      rc = class_atom(s, n, i, set, &hi);
      if (rc) return rc;
      if (hi < 0) return -ENOTSUP; /* [a-\d] */
      if (hi < lo) return -EINVAL;
      set_range(set, lo, hi);
    } else if (lo >= 0) {
      set[lo] = true;
    }
  }
  if (*i >= n) return -EINVAL;
  (*i)++;
  return class_emit(o, set, negated);
}

/* ------------------------------------------------------------------------ */
/* The pattern as a whole.                                                   */
/* ------------------------------------------------------------------------ */

/* True if s[i] starts a quantifier {n}, {n,} or {n,m}; *end is past '}'. */
static bool is_brace_quantifier(const char *s, size_t n, size_t i, size_t *end) {
  size_t j = i + 1, digits = 0;
  while (j < n && s[j] >= '0' && s[j] <= '9') j++, digits++;
  if (!digits) return false;
  if (j < n && s[j] == ',') {
    j++;
    while (j < n && s[j] >= '0' && s[j] <= '9') j++;
  }
  if (j >= n || s[j] != '}') return false;
  *end = j + 1;
  return true;
}

/* Translates the group opening at s[*i] == '('; only (?:...) of the (?...) forms. */
static int re_group(const char *s, size_t n, size_t *i, ere_out_t *o) {
  if (*i + 1 < n && s[*i + 1] == '?') {
    if (*i + 2 >= n || s[*i + 2] != ':') return -ENOTSUP; /* lookaround, named group */
    *i += 2;
  }
  (*i)++;
  put_char(o, '(');
  return 0;
}

static size_t utf8_seq_len(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

/* Copies the multi-byte UTF-8 character at s[*i] as one grouped atom. */
static int re_utf8(const char *s, size_t n, size_t *i, ere_out_t *o) {
  size_t len = utf8_seq_len((unsigned char)s[*i]);
  if (len > n - *i) return -EINVAL;
  put_group(o, s + *i, len);
  *i += len;
  return 0;
}

/* Translates ECMA-262 pattern s (n bytes) into o. 0, -EINVAL or -ENOTSUP. */
static int translate(const char *s, size_t n, ere_out_t *o) {
  size_t i = 0, end;
  while (i < n) {
    unsigned char ch = (unsigned char)s[i];
    bool quantifier = false;
    int rc = 0;
    if (ch == '\\') {
      i++;
      rc = i < n ? re_escape(s, n, &i, o) : -EINVAL;
    } else if (ch == '[') {
      rc = re_class(s, n, &i, o);
    } else if (ch == '(') {
      rc = re_group(s, n, &i, o);
    } else if (ch == '.') {
      i++;
      put_str(o, "[^\n\r]");
    } else if (ch == '*' || ch == '+' || ch == '?') {
      i++;
      put_char(o, (char)ch);
      quantifier = true;
    } else if (ch == '{' && is_brace_quantifier(s, n, i, &end)) {
      put(o, s + i, end - i);
      i = end;
      quantifier = true;
    } else if (ch == '{' || ch == '}') {
      i++;
      emit_literal(o, ch);
    } else if (ch >= 0x80) {
      rc = re_utf8(s, n, &i, o);
    } else if (ch == 0) {
      rc = -ENOTSUP;
    } else {
      i++;
      put_char(o, (char)ch);
    }
    if (rc) return rc;
    if (quantifier && i < n && s[i] == '?') i++; /* lazy and greedy agree on whether a match exists */
  }
  return 0;
}

int td__regex_translate(const char *src, size_t n, char **ere) {
  *ere = NULL;
  /* A class emits at most ~400 bytes, anything else at most 7 per input
   * byte; past this bound the measured length itself could overflow. */
  if (n > SIZE_MAX / 512) return -ENOMEM;
  ere_out_t o = {0};
  int rc = translate(src, n, &o);
  if (rc) return rc;
  o.buf = malloc(o.len + 1);
  if (!o.buf) return -ENOMEM;
  o.len = 0;
  translate(src, n, &o); /* same pattern, same path: succeeds again */
  o.buf[o.len] = '\0';
  *ere = o.buf;
  return 0;
}

int td__regex_compile(const char *src, size_t n, regex_t *re) {
  char *ere;
  int rc = td__regex_translate(src, n, &ere);
  if (rc) return rc;
  int rerc = regcomp(re, ere, REG_EXTENDED | REG_NOSUB);
  free(ere);
  if (rerc) return rerc == REG_ESPACE ? -ENOMEM : -EINVAL;
  return 0;
}

bool td__regex_search(const regex_t *re, const char *s, size_t n) {
  if (n > INT_MAX) return false; /* regoff_t is int; bodies are capped far below */
  regmatch_t m[1];
  m[0].rm_so = 0;
  m[0].rm_eo = (regoff_t)n;
  return regexec(re, s, 1, m, REG_STARTEND) == 0;
}

int td__regex_cache_get(td__regex_cache_t *cache, const char *src, size_t n, const regex_t **re) {
  for (size_t k = 0; k < cache->count; k++) {
    if (cache->entries[k].src == src) {
      *re = &cache->entries[k].re;
      return 0;
    }
  }
  if (cache->count == cache->cap) {
    size_t cap = cache->cap ? cache->cap * 2 : 8;
    td__regex_entry_t *entries = realloc(cache->entries, cap * sizeof(*entries));
    if (!entries) return -ENOMEM;
    cache->entries = entries;
    cache->cap = cap;
  }
  td__regex_entry_t *e = &cache->entries[cache->count];
  int rc = td__regex_compile(src, n, &e->re);
  if (rc) return rc;
  e->src = src;
  cache->count++;
  *re = &e->re;
  return 0;
}

void td__regex_cache_free(td__regex_cache_t *cache) {
  for (size_t k = 0; k < cache->count; k++) regfree(&cache->entries[k].re);
  free(cache->entries);
  cache->entries = NULL;
  cache->count = cache->cap = 0;
}
