/*
 * json_schema.c - compact JSON Schema validator (draft 7 semantics) on jansson.
 *
 * Supported keywords: type, enum, const, properties, required,
 * additionalProperties, patternProperties, items (schema and tuple form),
 * additionalItems, minItems, maxItems, uniqueItems, minLength, maxLength
 * (Unicode code points), pattern, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, multipleOf, minProperties, maxProperties, propertyNames,
 * anyOf, oneOf, allOf, not, if/then/else, local $ref, boolean schemas, and
 * format for date-time, date, email and uri (a format failure is an error).
 * Annotations (title, description, default, examples, $id, $comment,
 * definitions, $defs ...) and unknown formats are ignored, as draft 7 says.
 * Assertions we do not implement (draft 7 contains and dependencies, and
 * later-draft ones such as prefixItems) make the schema unusable (-ENOTSUP)
 * rather than being silently skipped.
 *
 * Deliberate differences from draft 7:
 * - "integer" accepts only numbers written without fraction or exponent
 *   (jansson integers): 1.0 is not an integer, because callers read such
 *   fields with json_integer_value(), which would yield 0 for a real.
 * - "$ref" resolves only local references against the root document; "$id"
 *   never changes the base. Remote refs are -ENOTSUP.
 * - "pattern"/"patternProperties" are ECMA-262 regexes; we translate them to
 *   POSIX extended regexes (<regex.h>, REG_EXTENDED), see json_regex.c.
 *
 * The regex translation lives in json_regex.c and the format checks in
 * json_format.c; this file holds the keywords, messages and $ref.
 */
#include "util/json_schema.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_format.h"
#include "util/json_regex.h"

/* ------------------------------------------------------------------------ */
/* Growable strings. td__json_pointer_t is a plain growable string, so it     */
/* doubles as the string builder for error messages.                          */
/* ------------------------------------------------------------------------ */

typedef td__json_pointer_t sbuf_t;

/* Makes room for extra more bytes plus the terminating NUL. 0 or -ENOMEM. */
static int sbuf_reserve(sbuf_t *b, size_t extra) {
  if (extra > SIZE_MAX / 2 - b->len) return -ENOMEM;
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  char *p = realloc(b->buf, cap);
  if (!p) return -ENOMEM;
  b->buf = p;
  b->cap = cap;
  return 0;
}

static int sbuf_add(sbuf_t *b, const char *s, size_t n) {
  int rc = sbuf_reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
  return 0;
}

static int sbuf_adds(sbuf_t *b, const char *s) { return sbuf_add(b, s, strlen(s)); }

static int sbuf_addc(sbuf_t *b, char ch) { return sbuf_add(b, &ch, 1); }

__attribute__((format(printf, 2, 0))) static int sbuf_vaddf(sbuf_t *b, const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  int rc = n < 0 ? -EINVAL : sbuf_reserve(b, (size_t)n);
  if (rc == 0) {
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, again);
    b->len += (size_t)n;
  }
  va_end(again);
  return rc;
}

__attribute__((format(printf, 2, 3))) static int sbuf_addf(sbuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = sbuf_vaddf(b, fmt, ap);
  va_end(ap);
  return rc;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

int td__json_pointer_push_key(td__json_pointer_t *p, const char *key, size_t key_len) {
  int rc = sbuf_addc(p, '/');
  for (size_t i = 0; rc == 0 && i < key_len; i++) {
    if (key[i] == '~')
      rc = sbuf_add(p, "~0", 2);
    else if (key[i] == '/')
      rc = sbuf_add(p, "~1", 2);
    else
      rc = sbuf_addc(p, key[i]);
  }
  return rc;
}

int td__json_pointer_push_index(td__json_pointer_t *p, size_t index) { return sbuf_addf(p, "/%zu", index); }

void td__json_pointer_truncate(td__json_pointer_t *p, size_t len) {
  if (p->buf && len <= p->len) {
    p->len = len;
    p->buf[len] = '\0';
  }
}

const char *td__json_pointer_str(const td__json_pointer_t *p) { return p->buf ? p->buf : ""; }

void td__json_pointer_free(td__json_pointer_t *p) {
  free(p->buf);
  p->buf = NULL;
  p->len = p->cap = 0;
}

void td__schema_errors_free(td__schema_errors_t *errors) {
  if (!errors) return;
  for (size_t i = 0; i < errors->count; i++) {
    free(errors->items[i].pointer);
    free(errors->items[i].message);
  }
  free(errors->items);
  errors->items = NULL;
  errors->count = errors->cap = 0;
}

/* Appends copies of pointer and message to errors. 0 or -ENOMEM. */
static int errors_add(td__schema_errors_t *errors, const char *pointer, const char *message) {
  int rc = -ENOMEM;
  char *p = dup_str(pointer);
  char *m = dup_str(message);
  if (!p || !m) goto out;
  if (errors->count == errors->cap) {
    size_t cap = errors->cap ? errors->cap * 2 : 8;
    td__schema_error_t *items = realloc(errors->items, cap * sizeof(*items));
    if (!items) goto out;
    errors->items = items;
    errors->cap = cap;
  }
  errors->items[errors->count].pointer = p;
  errors->items[errors->count].message = m;
  errors->count++;
  p = m = NULL;
  rc = 0;
out:
  free(p);
  free(m);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Values: rendering for messages, numeric-aware equality, hashing.          */
/* ------------------------------------------------------------------------ */

/* True for strings we can show unquoted without ambiguity: identifiers. */
static bool is_plain_word(const char *s, size_t n) {
  if (n == 0 || !strcmp(s, "null") || !strcmp(s, "true") || !strcmp(s, "false")) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
              (i > 0 && ((ch >= '0' && ch <= '9') || ch == '-' || ch == '.'));
    if (!ok) return false;
  }
  return true;
}

/*
 * Appends a short human rendering of v to b: identifier-like strings bare,
 * anything else as compact JSON cut at about 60 bytes. 0 or -ENOMEM.
 */
static int render_value(sbuf_t *b, const json_t *v) {
  if (json_is_string(v) && is_plain_word(json_string_value(v), json_string_length(v)))
    return sbuf_add(b, json_string_value(v), json_string_length(v));
  char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
  if (!s) return -ENOMEM;
  size_t n = strlen(s);
  int rc;
  if (n <= 64) {
    rc = sbuf_add(b, s, n);
  } else {
    n = 60;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* do not cut a UTF-8 sequence */
    rc = sbuf_add(b, s, n);
    if (!rc) rc = sbuf_adds(b, "...");
  }
  free(s);
  return rc;
}

/* Compares two JSON numbers by value (1 == 1.0). Returns <0, 0 or >0. */
static int num_cmp(const json_t *a, const json_t *b) {
  if (json_is_integer(a) && json_is_integer(b)) {
    json_int_t x = json_integer_value(a), y = json_integer_value(b);
    return (x > y) - (x < y);
  }
  /* long double holds every int64 exactly on the platforms we build for. */
  long double x = json_is_integer(a) ? (long double)json_integer_value(a) : (long double)json_real_value(a);
  long double y = json_is_integer(b) ? (long double)json_integer_value(b) : (long double)json_real_value(b);
  return (x > y) - (x < y);
}

/* JSON Schema equality: deep, numbers by value, object member order ignored. */
static bool values_equal(const json_t *a, const json_t *b) {
  if (json_is_number(a) && json_is_number(b)) return num_cmp(a, b) == 0;
  if (json_typeof(a) != json_typeof(b)) return false;
  switch (json_typeof(a)) {
    case JSON_STRING:
      return json_string_length(a) == json_string_length(b) &&
             !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
    case JSON_ARRAY:
      if (json_array_size(a) != json_array_size(b)) return false;
      for (size_t i = 0; i < json_array_size(a); i++)
        if (!values_equal(json_array_get(a, i), json_array_get(b, i))) return false;
      return true;
    case JSON_OBJECT: {
      if (json_object_size(a) != json_object_size(b)) return false;
      const char *key;
      size_t key_len;
      json_t *v;
      json_object_keylen_foreach((json_t *)a, key, key_len, v) {
        json_t *w = json_object_getn(b, key, key_len);
        if (!w || !values_equal(v, w)) return false;
      }
      return true;
    }
    default: return true; /* true, false, null: same type means equal */
  }
}

static uint64_t mix64(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return h;
}

/* A hash consistent with values_equal(): equal values hash equal. */
static uint64_t value_hash(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT: {
      uint64_t h = 0x6f626a;
      const char *key;
      size_t key_len;
      json_t *m;
      json_object_keylen_foreach((json_t *)v, key, key_len, m) {
        h += mix64(hash_bytes(key, key_len) ^ mix64(value_hash(m))); /* order-free */
      }
      return mix64(h);
    }
    case JSON_ARRAY: {
      uint64_t h = 0x617272;
      for (size_t i = 0; i < json_array_size(v); i++) h = mix64(h ^ value_hash(json_array_get(v, i)));
      return h;
    }
    case JSON_STRING: return mix64(hash_bytes(json_string_value(v), json_string_length(v)) ^ 0x737472);
    case JSON_INTEGER:
    case JSON_REAL: {
      double d = json_number_value(v);
      if (d == 0.0) d = 0.0; /* fold -0.0 */
      uint64_t bits;
      memcpy(&bits, &d, sizeof(bits));
      return mix64(bits ^ 0x6e756d);
    }
    default: return (uint64_t)json_typeof(v) * 0x9e3779b97f4a7c15ULL;
  }
}

/* Counts Unicode code points in valid UTF-8 (jansson guarantees validity). */
static size_t utf8_count(const char *s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) count++;
  return count;
}

/* Everything one td__schema_validate() call carries around. */
typedef struct vctx {
  const json_t *root;
  td__schema_errors_t *errors; /* NULL while probing a subschema */
  size_t base;                 /* errors->count when this call began */
  size_t max_errors;
  td__json_pointer_t path; /* instance location being validated */
  td__regex_cache_t regexes;
} vctx_t;

/* ------------------------------------------------------------------------ */
/* Validation. Every keyword handler returns 0 (valid), 1 (invalid, errors    */
/* recorded unless probing) or a negative code for an unusable schema.        */
/* ------------------------------------------------------------------------ */

typedef int (*keyword_fn)(vctx_t *c, const json_t *schema, const json_t *inst, int depth);

static int validate_node(vctx_t *c, const json_t *schema, const json_t *inst, int depth);

/* True when no more errors are wanted: probing, or max_errors reached. */
static bool should_stop(const vctx_t *c) {
  return !c->errors || (c->max_errors && c->errors->count - c->base >= c->max_errors);
}

/* Folds one result into *verdict; true when the caller should stop now. */
static bool fold(const vctx_t *c, int rc, int *verdict) {
  if (rc < 0) {
    *verdict = rc;
    return true;
  }
  if (rc > 0) {
    *verdict = 1;
    return should_stop(c);
  }
  return false;
}

__attribute__((format(printf, 2, 0))) static int vreport(vctx_t *c, const char *fmt, va_list ap) {
  if (should_stop(c)) return 1;
  sbuf_t msg = {0};
  int rc = sbuf_vaddf(&msg, fmt, ap);
  if (!rc) rc = errors_add(c->errors, td__json_pointer_str(&c->path), td__json_pointer_str(&msg));
  td__json_pointer_free(&msg);
  return rc ? rc : 1;
}

/* Records an error at the current instance location. 1 or -ENOMEM. */
__attribute__((format(printf, 2, 3))) static int report(vctx_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vreport(c, fmt, ap);
  va_end(ap);
  return rc;
}

/* Records an error at member key of the current location. 1 or -ENOMEM. */
__attribute__((format(printf, 4, 5))) static int report_key(vctx_t *c, const char *key, size_t key_len,
                                                            const char *fmt, ...) {
  size_t mark = c->path.len;
  int rc = td__json_pointer_push_key(&c->path, key, key_len);
  if (!rc) {
    va_list ap;
    va_start(ap, fmt);
    rc = vreport(c, fmt, ap);
    va_end(ap);
  }
  td__json_pointer_truncate(&c->path, mark);
  return rc;
}

/* Same as report(), at array element index of the current location. */
__attribute__((format(printf, 3, 4))) static int report_index(vctx_t *c, size_t index, const char *fmt, ...) {
  size_t mark = c->path.len;
  int rc = td__json_pointer_push_index(&c->path, index);
  if (!rc) {
    va_list ap;
    va_start(ap, fmt);
    rc = vreport(c, fmt, ap);
    va_end(ap);
  }
  td__json_pointer_truncate(&c->path, mark);
  return rc;
}

/* Validates a member value of the current instance against schema. */
static int validate_key(vctx_t *c, const json_t *schema, const json_t *value, const char *key, size_t key_len,
                        int depth) {
  size_t mark = c->path.len;
  int rc = td__json_pointer_push_key(&c->path, key, key_len);
  if (!rc) rc = validate_node(c, schema, value, depth + 1);
  td__json_pointer_truncate(&c->path, mark);
  return rc;
}

/* Validates an element of the current instance against schema. */
static int validate_index(vctx_t *c, const json_t *schema, const json_t *value, size_t index, int depth) {
  size_t mark = c->path.len;
  int rc = td__json_pointer_push_index(&c->path, index);
  if (!rc) rc = validate_node(c, schema, value, depth + 1);
  td__json_pointer_truncate(&c->path, mark);
  return rc;
}

/* Validates without recording errors: only the verdict (or a failure) counts. */
static int probe(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  td__schema_errors_t *saved = c->errors;
  c->errors = NULL;
  int rc = validate_node(c, schema, inst, depth);
  c->errors = saved;
  return rc;
}

/* Reads a count keyword (minLength ...): 0 absent, 1 present, -EINVAL. */
static int get_count(const json_t *schema, const char *keyword, size_t *out) {
  const json_t *v = json_object_get(schema, keyword);
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0) return -EINVAL;
  *out = (uintmax_t)json_integer_value(v) > SIZE_MAX ? SIZE_MAX : (size_t)json_integer_value(v);
  return 1;
}

/* Reads a non-empty array of subschemas: 0 absent, 1 present, -EINVAL. */
static int get_schema_list(const json_t *schema, const char *keyword, const json_t **out) {
  *out = json_object_get(schema, keyword);
  if (!*out) return 0;
  return json_is_array(*out) && json_array_size(*out) > 0 ? 1 : -EINVAL;
}

static const char *plural(size_t n, const char *one, const char *many) { return n == 1 ? one : many; }

/* JSON Schema type names and how messages name them. */
static const struct {
  const char *name;
  const char *noun;
} type_names[] = {
    {"null", "null"},       {"boolean", "a boolean"}, {"object", "an object"},   {"array", "an array"},
    {"number", "a number"}, {"string", "a string"},   {"integer", "an integer"},
};

/* 1 if inst has type tname, 0 if not, -EINVAL for a bad name; sets *noun. */
static int type_is(const json_t *tname, const json_t *inst, const char **noun) {
  const char *name = json_string_value(tname);
  if (!name) return -EINVAL;
  for (size_t k = 0; k < sizeof(type_names) / sizeof(type_names[0]); k++) {
    if (strcmp(name, type_names[k].name)) continue;
    *noun = type_names[k].noun;
    switch (k) {
      case 0: return json_is_null(inst);
      case 1: return json_is_boolean(inst);
      case 2: return json_is_object(inst);
      case 3: return json_is_array(inst);
      case 4: return json_is_number(inst);
      case 5: return json_is_string(inst);
      default: return json_is_integer(inst); /* 1.0 is not an integer: see top */
    }
  }
  return -EINVAL;
}

static int kw_type(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  (void)depth;
  const json_t *t = json_object_get(schema, "type");
  const char *noun = NULL;
  if (!t) return 0;
  if (json_is_string(t)) {
    int rc = type_is(t, inst, &noun);
    return rc ? (rc < 0 ? rc : 0) : report(c, "must be %s", noun);
  }
  if (!json_is_array(t) || json_array_size(t) == 0) return -EINVAL;
  sbuf_t msg = {0};
  size_t n = json_array_size(t);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    rc = type_is(json_array_get(t, i), inst, &noun);
    if (rc == 0 && i > 0) rc = sbuf_adds(&msg, i == n - 1 ? " or " : ", ");
    if (rc == 0) rc = sbuf_adds(&msg, noun);
  }
  if (rc == 0)
    rc = report(c, "must be %s", td__json_pointer_str(&msg));
  else if (rc == 1)
    rc = 0;
  td__json_pointer_free(&msg);
  return rc;
}

static int kw_enum(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  (void)depth;
  const json_t *e = json_object_get(schema, "enum");
  if (!e) return 0;
  if (!json_is_array(e)) return -EINVAL;
  for (size_t i = 0; i < json_array_size(e); i++)
    if (values_equal(inst, json_array_get(e, i))) return 0;
  if (should_stop(c)) return 1;
  sbuf_t list = {0};
  int rc = 0;
  for (size_t i = 0; i < json_array_size(e) && rc == 0; i++) {
    if (i == 20) {
      rc = sbuf_adds(&list, ", ...");
      break;
    }
    if (i > 0) rc = sbuf_adds(&list, ", ");
    if (rc == 0) rc = render_value(&list, json_array_get(e, i));
  }
  if (rc == 0) rc = report(c, "must be one of: %s", td__json_pointer_str(&list));
  td__json_pointer_free(&list);
  return rc;
}

static int kw_const(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  (void)depth;
  const json_t *k = json_object_get(schema, "const");
  if (!k || values_equal(inst, k)) return 0;
  if (should_stop(c)) return 1;
  sbuf_t val = {0};
  int rc = render_value(&val, k);
  if (rc == 0) rc = report(c, "must be exactly %s", td__json_pointer_str(&val));
  td__json_pointer_free(&val);
  return rc;
}

/* Reports "must be <relation> <limit>" with the limit rendered. */
static int report_number(vctx_t *c, const char *relation, const json_t *limit) {
  if (should_stop(c)) return 1;
  sbuf_t val = {0};
  int rc = render_value(&val, limit);
  if (rc == 0) rc = report(c, "must be %s %s", relation, td__json_pointer_str(&val));
  td__json_pointer_free(&val);
  return rc;
}

/* True if x is an integer multiple of d (d > 0). */
static bool is_multiple(const json_t *x, const json_t *d) {
  if (json_is_integer(x) && json_is_integer(d)) return json_integer_value(x) % json_integer_value(d) == 0;
  double q = json_number_value(x) / json_number_value(d);
  if (!isfinite(q)) return false;
  /* Decimal divisors such as 0.01 are inexact in binary; allow rounding noise. */
  return fabs(q - nearbyint(q)) <= 1e-9 * fmax(1.0, fabs(q));
}

static int kw_numeric(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  /* Each bound fails when num_cmp(instance, limit) lies in [bad_lo, bad_hi]. */
  static const struct {
    const char *keyword;
    int bad_lo, bad_hi;
    const char *relation;
  } bounds[] = {
      {"minimum", -1, -1, "at least"},
      {"maximum", 1, 1, "at most"},
      {"exclusiveMinimum", -1, 0, "greater than"},
      {"exclusiveMaximum", 0, 1, "less than"},
  };
  (void)depth;
  const json_t *m = json_object_get(schema, "multipleOf");
  if (m && (!json_is_number(m) || json_number_value(m) <= 0)) return -EINVAL;
  for (size_t k = 0; k < sizeof(bounds) / sizeof(bounds[0]); k++) {
    const json_t *limit = json_object_get(schema, bounds[k].keyword);
    if (limit && !json_is_number(limit)) return -EINVAL;
  }
  if (!json_is_number(inst)) return 0;
  int verdict = 0;
  for (size_t k = 0; k < sizeof(bounds) / sizeof(bounds[0]); k++) {
    const json_t *limit = json_object_get(schema, bounds[k].keyword);
    if (!limit) continue;
    int cmp = num_cmp(inst, limit);
    if (cmp >= bounds[k].bad_lo && cmp <= bounds[k].bad_hi &&
        fold(c, report_number(c, bounds[k].relation, limit), &verdict))
      return verdict;
  }
  if (m && !is_multiple(inst, m)) fold(c, report_number(c, "a multiple of", m), &verdict);
  return verdict;
}

static int kw_string_length(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  (void)depth;
  size_t min = 0, max = 0;
  int has_min = get_count(schema, "minLength", &min);
  int has_max = get_count(schema, "maxLength", &max);
  if (has_min < 0 || has_max < 0) return -EINVAL;
  if (!json_is_string(inst) || (!has_min && !has_max)) return 0;
  size_t n = utf8_count(json_string_value(inst), json_string_length(inst));
  int verdict = 0;
  if (has_min && n < min &&
      fold(c, report(c, "must be at least %zu %s long", min, plural(min, "character", "characters")),
           &verdict))
    return verdict;
  if (has_max && n > max)
    fold(c, report(c, "must be at most %zu %s long", max, plural(max, "character", "characters")), &verdict);
  return verdict;
}

static int kw_pattern(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  (void)depth;
  const json_t *p = json_object_get(schema, "pattern");
  const regex_t *re;
  if (p && !json_is_string(p)) return -EINVAL;
  if (!p || !json_is_string(inst)) return 0;
  int rc = td__regex_cache_get(&c->regexes, json_string_value(p), json_string_length(p), &re);
  if (rc) return rc;
  if (td__regex_search(re, json_string_value(inst), json_string_length(inst))) return 0;
  return report(c, "must match the pattern %s", json_string_value(p));
}

static int kw_format(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  (void)depth;
  const json_t *f = json_object_get(schema, "format");
  if (f && !json_is_string(f)) return -EINVAL;
  if (!f || !json_is_string(inst)) return 0;
  /* NULL also for unknown formats (int64, uuid ...): they are annotations. */
  const char *expected =
      td__format_check(json_string_value(f), json_string_value(inst), json_string_length(inst));
  return expected ? report(c, "%s", expected) : 0;
}

static int kw_items(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  const json_t *items = json_object_get(schema, "items");
  if (!items || !json_is_array(inst)) return 0;
  size_t n = json_array_size(inst);
  int verdict = 0;
  if (!json_is_array(items)) {
    for (size_t i = 0; i < n; i++)
      if (fold(c, validate_index(c, items, json_array_get(inst, i), i, depth), &verdict)) return verdict;
    return verdict;
  }
  size_t tuple = json_array_size(items);
  for (size_t i = 0; i < n && i < tuple; i++)
    if (fold(c, validate_index(c, json_array_get(items, i), json_array_get(inst, i), i, depth), &verdict))
      return verdict;
  const json_t *extra = json_object_get(schema, "additionalItems");
  if (!extra || n <= tuple) return verdict;
  if (json_is_false(extra)) {
    fold(c,
         report_index(c, tuple, "is not allowed: at most %zu %s expected", tuple,
                      plural(tuple, "item is", "items are")),
         &verdict);
    return verdict;
  }
  for (size_t i = tuple; i < n; i++)
    if (fold(c, validate_index(c, extra, json_array_get(inst, i), i, depth), &verdict)) return verdict;
  return verdict;
}

/* minItems/maxItems and minProperties/maxProperties: one check, named by its keywords. The
 * keywords are checked for sanity even when the instance is of another type (applies false),
 * which then passes. */
static int check_size(vctx_t *c, const json_t *schema, const char *min_kw, const char *max_kw, bool applies,
                      size_t n, const char *one, const char *many) {
  size_t min = 0, max = 0;
  int has_min = get_count(schema, min_kw, &min);
  int has_max = get_count(schema, max_kw, &max);
  if (has_min < 0 || has_max < 0) return -EINVAL;
  if (!applies) return 0;
  int verdict = 0;
  if (has_min && n < min &&
      fold(c, report(c, "must have at least %zu %s", min, plural(min, one, many)), &verdict))
    return verdict;
  if (has_max && n > max)
    fold(c, report(c, "must have at most %zu %s", max, plural(max, one, many)), &verdict);
  return verdict;
}

static int kw_array_size(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  (void)depth;
  return check_size(c, schema, "minItems", "maxItems", json_is_array(inst), json_array_size(inst), "item",
                    "items");
}

/* One array element's hash and position, for duplicate search. */
typedef struct hashed_item {
  uint64_t hash;
  size_t index;
} hashed_item_t;

static int hashed_item_cmp(const void *a, const void *b) {
  const hashed_item_t *x = a, *y = b;
  if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

/*
 * uniqueItems in O(n log n): sort elements by hash, compare only within runs
 * of equal hashes. Reports the earliest element that repeats an earlier one.
 */
static int kw_unique(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  (void)depth;
  const json_t *u = json_object_get(schema, "uniqueItems");
  if (u && !json_is_boolean(u)) return -EINVAL;
  size_t n = json_array_size(inst);
  if (!json_is_true(u) || n < 2) return 0;
  hashed_item_t *h = malloc(n * sizeof(*h));
  if (!h) return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    h[i].hash = value_hash(json_array_get(inst, i));
    h[i].index = i;
  }
  qsort(h, n, sizeof(*h), hashed_item_cmp);
  size_t dup = SIZE_MAX, first = 0;
  for (size_t run = 0; run < n;) {
    size_t end = run + 1;
    while (end < n && h[end].hash == h[run].hash) end++;
    for (size_t a = run; a < end; a++)
      for (size_t b = a + 1; b < end; b++)
        if (h[b].index < dup &&
            values_equal(json_array_get(inst, h[a].index), json_array_get(inst, h[b].index))) {
          dup = h[b].index;
          first = h[a].index;
        }
    run = end;
  }
  free(h);
  if (dup == SIZE_MAX) return 0;
  return report_index(c, dup, "repeats item %zu: items must be unique", first);
}

static int kw_required(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  (void)depth;
  const json_t *req = json_object_get(schema, "required");
  if (!req) return 0;
  if (!json_is_array(req)) return -EINVAL;
  int verdict = 0;
  for (size_t i = 0; i < json_array_size(req); i++) {
    const json_t *name = json_array_get(req, i);
    if (!json_is_string(name)) return -EINVAL;
    if (!json_is_object(inst)) continue;
    const char *key = json_string_value(name);
    size_t key_len = json_string_length(name);
    if (!json_object_getn(inst, key, key_len) &&
        fold(c, report_key(c, key, key_len, "is required"), &verdict))
      return verdict;
  }
  return verdict;
}

/*
 * properties, patternProperties and additionalProperties together: a member
 * is "additional" only when neither of the first two applied to it.
 */
static int kw_members(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  const json_t *props = json_object_get(schema, "properties");
  const json_t *pats = json_object_get(schema, "patternProperties");
  const json_t *extra = json_object_get(schema, "additionalProperties");
  if ((props && !json_is_object(props)) || (pats && !json_is_object(pats))) return -EINVAL;
  if (!json_is_object(inst) || (!props && !pats && !extra)) return 0;
  int verdict = 0;
  const char *key;
  size_t key_len;
  json_t *value;
  json_object_keylen_foreach((json_t *)inst, key, key_len, value) {
    bool matched = false;
    const json_t *sub = props ? json_object_getn(props, key, key_len) : NULL;
    if (sub) {
      matched = true;
      if (fold(c, validate_key(c, sub, value, key, key_len, depth), &verdict)) return verdict;
    }
    const char *pattern;
    size_t pattern_len;
    json_t *psub;
    json_object_keylen_foreach((json_t *)pats, pattern, pattern_len, psub) {
      const regex_t *re;
      int rc = td__regex_cache_get(&c->regexes, pattern, pattern_len, &re);
      if (rc) return rc;
      if (!td__regex_search(re, key, key_len)) continue;
      matched = true;
      if (fold(c, validate_key(c, psub, value, key, key_len, depth), &verdict)) return verdict;
    }
    if (matched || !extra) continue;
    int rc = json_is_false(extra) ? report_key(c, key, key_len, "unknown field")
                                  : validate_key(c, extra, value, key, key_len, depth);
    if (fold(c, rc, &verdict)) return verdict;
  }
  return verdict;
}

/*
 * propertyNames: each member name, as a string, must match the subschema.
 * The error sits at the member and borrows the subschema's first message.
 */
static int kw_property_names(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  const json_t *names = json_object_get(schema, "propertyNames");
  if (!names || !json_is_object(inst)) return 0;
  int verdict = 0;
  const char *key;
  size_t key_len;
  json_t *value;
  json_object_keylen_foreach((json_t *)inst, key, key_len, value) {
    (void)value;
    td__schema_errors_t first = {0};
    td__schema_errors_t *saved = c->errors;
    size_t saved_base = c->base, saved_max = c->max_errors;
    json_t *name = json_stringn(key, key_len);
    int rc = -ENOMEM;
    if (name) {
      if (saved) {
        c->errors = &first;
        c->base = 0;
        c->max_errors = 1;
      }
      rc = validate_node(c, names, name, depth + 1);
      c->errors = saved;
      c->base = saved_base;
      c->max_errors = saved_max;
      json_decref(name);
    }
    if (rc == 1 && first.count > 0) rc = report_key(c, key, key_len, "field name %s", first.items[0].message);
    td__schema_errors_free(&first);
    if (fold(c, rc, &verdict)) return verdict;
  }
  return verdict;
}

static int kw_object_size(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  (void)depth;
  return check_size(c, schema, "minProperties", "maxProperties", json_is_object(inst), json_object_size(inst),
                    "field", "fields");
}

static int kw_all_of(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  const json_t *list;
  int rc = get_schema_list(schema, "allOf", &list), verdict = 0;
  if (rc <= 0) return rc;
  for (size_t i = 0; i < json_array_size(list); i++)
    if (fold(c, validate_node(c, json_array_get(list, i), inst, depth + 1), &verdict)) return verdict;
  return verdict;
}

/* anyOf and oneOf report one error at the instance, not each branch's errors. */
static int kw_any_of(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  const json_t *list;
  int rc = get_schema_list(schema, "anyOf", &list);
  if (rc <= 0) return rc;
  for (size_t i = 0; i < json_array_size(list); i++) {
    rc = probe(c, json_array_get(list, i), inst, depth + 1);
    if (rc <= 0) return rc;
  }
  return report(c, "must match at least one of the %zu allowed alternatives", json_array_size(list));
}

static int kw_one_of(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  const json_t *list;
  int rc = get_schema_list(schema, "oneOf", &list);
  if (rc <= 0) return rc;
  size_t matches = 0;
  for (size_t i = 0; i < json_array_size(list) && matches < 2; i++) {
    rc = probe(c, json_array_get(list, i), inst, depth + 1);
    if (rc < 0) return rc;
    matches += rc == 0;
  }
  if (matches == 1) return 0;
  return report(c, "must match exactly one of the %zu allowed alternatives, but matches %s",
                json_array_size(list), matches ? "more than one" : "none");
}

static int kw_not(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  const json_t *sub = json_object_get(schema, "not");
  if (!sub) return 0;
  int rc = probe(c, sub, inst, depth + 1);
  if (rc <= 0) return rc < 0 ? rc : report(c, "must not match the excluded schema");
  return 0;
}

static int kw_if(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  const json_t *cond = json_object_get(schema, "if");
  if (!cond) return 0;
  const json_t *then_s = json_object_get(schema, "then");
  const json_t *else_s = json_object_get(schema, "else");
  if (!then_s && !else_s) return 0;
  int rc = probe(c, cond, inst, depth + 1);
  if (rc < 0) return rc;
  const json_t *branch = rc == 0 ? then_s : else_s;
  return branch ? validate_node(c, branch, inst, depth + 1) : 0;
}

/*
 * Resolves a local $ref ("#" or "#/json/pointer", the fragment
 * percent-decoded, then ~1 and ~0 unescaped) against the root document.
 * 0 with *out set, -EINVAL (malformed or dangling), -ENOTSUP (not local),
 * -ENOMEM.
 */
static int resolve_ref(const json_t *root, const json_t *ref, const json_t **out) {
  const char *s = json_string_value(ref);
  size_t n = json_string_length(ref);
  if (!s) return -EINVAL;
  if (n == 0 || s[0] != '#') return -ENOTSUP;
  char *frag = malloc(n);
  int rc = -EINVAL;
  if (!frag) return -ENOMEM;
  size_t len = 0;
  for (size_t i = 1; i < n; i++) {
    if (s[i] != '%') {
      frag[len++] = s[i];
    } else if (i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
      char hex[3] = {s[i + 1], s[i + 2], '\0'};
      frag[len++] = (char)strtol(hex, NULL, 16);
      i += 2;
    } else {
      goto out;
    }
  }
  if (len > 0 && frag[0] != '/') {
    rc = -ENOTSUP; /* "#name" anchors need $id, which we do not track */
    goto out;
  }
  const json_t *node = root;
  for (size_t i = 0; i < len;) {
    size_t start = ++i, seg = 0;
    while (i < len && frag[i] != '/') i++;
    /* Unescape in place: the segment only shrinks. */
    for (size_t k = start; k < i; k++) {
      char ch = frag[k];
      if (ch == '~') {
        if (k + 1 >= i || (frag[k + 1] != '0' && frag[k + 1] != '1')) goto out;
        ch = frag[++k] == '0' ? '~' : '/';
      }
      frag[start + seg++] = ch;
    }
    if (json_is_object(node)) {
      node = json_object_getn(node, frag + start, seg);
    } else if (json_is_array(node)) {
      char *end;
      frag[start + seg] = '\0'; /* seg < segment length or at a '/' */
      if (seg == 0 || (seg > 1 && frag[start] == '0') || frag[start] < '0' || frag[start] > '9') goto out;
      unsigned long long idx = strtoull(frag + start, &end, 10);
      if (*end != '\0' || idx >= json_array_size(node)) goto out;
      node = json_array_get(node, (size_t)idx);
    } else {
      node = NULL;
    }
    if (!node) goto out;
  }
  *out = node;
  rc = 0;
out:
  free(frag);
  return rc;
}

/* Keyword handlers in the order their errors are reported. */
static const keyword_fn keywords[] = {
    kw_type,           kw_enum,        kw_const,    kw_numeric,
    kw_string_length,  kw_pattern,     kw_format,   kw_items,
    kw_array_size,     kw_unique,      kw_required, kw_members,
    kw_property_names, kw_object_size, kw_all_of,   kw_any_of,
    kw_one_of,         kw_not,         kw_if,
};

/* Assertions (draft 7 and later drafts) that we refuse rather than ignore. */
static const char *const unsupported[] = {
    "contains",    "dependencies",          "dependentRequired", "dependentSchemas",
    "prefixItems", "unevaluatedProperties", "unevaluatedItems",  "minContains",
    "maxContains", "$recursiveRef",         "$dynamicRef",
};

/*
 * Validates inst against one (sub)schema at nesting depth. A "$ref" replaces
 * its siblings, as in draft 7. Every keyword runs unless probing or the error
 * budget is spent, so one call can report several problems.
 */
static int validate_node(vctx_t *c, const json_t *schema, const json_t *inst, int depth) {
  if (depth >= TD__SCHEMA_MAX_DEPTH) return -ELOOP;
  if (json_is_true(schema)) return 0;
  if (json_is_false(schema)) return report(c, "is not allowed");
  if (!json_is_object(schema)) return -EINVAL;
  const json_t *ref = json_object_get(schema, "$ref");
  if (ref) {
    const json_t *target;
    int rc = resolve_ref(c->root, ref, &target);
    return rc ? rc : validate_node(c, target, inst, depth + 1);
  }
  for (size_t k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]); k++)
    if (json_object_get(schema, unsupported[k])) return -ENOTSUP;
  int verdict = 0;
  for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
    if (fold(c, keywords[k](c, schema, inst, depth), &verdict)) break;
  return verdict;
}

int td__schema_validate(const json_t *root, const json_t *schema, const json_t *instance,
                        td__schema_errors_t *errors, size_t max_errors) {
  if (!root || !schema || !instance) return -EINVAL;
  vctx_t c = {
      .root = root,
      .errors = errors,
      .base = errors ? errors->count : 0,
      .max_errors = max_errors,
  };
  int rc = validate_node(&c, schema, instance, 0);
  td__regex_cache_free(&c.regexes);
  td__json_pointer_free(&c.path);
  return rc;
}
