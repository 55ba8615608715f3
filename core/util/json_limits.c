/*
 * json_limits.c - parse an untrusted JSON body, then bound its nesting depth
 * and array lengths, naming the offending place with a JSON pointer.
 */
#include "util/json_limits.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/json_schema.h" /* td__json_pointer_t */

/* What check_shape() found wrong. */
enum shape_violation { TOO_DEEP, ARRAY_TOO_LONG };

/* Formats into a fresh malloc'd string, or NULL when memory runs out. */
__attribute__((format(printf, 1, 2))) static char *format_message(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

/*
 * Walks v, a container at nesting level `level` (the top one is 1).
 * Returns 0 if within limits, 1 on a violation (path then points at the
 * offending container and *what says which limit), -ENOMEM. Recursion stops
 * at max_depth + 1, so the stack stays bounded by the limit itself.
 */
static int check_shape(const json_t *v, int level, int max_depth, size_t max_array, td__json_pointer_t *path,
                       enum shape_violation *what) {
  if (!json_is_object(v) && !json_is_array(v)) return 0;
  if (level > max_depth) {
    *what = TOO_DEEP;
    return 1;
  }
  size_t mark = path->len;
  int rc = 0;
  if (json_is_array(v)) {
    if (json_array_size(v) > max_array) {
      *what = ARRAY_TOO_LONG;
      return 1;
    }
    for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
      json_t *child = json_array_get(v, i);
      if (!json_is_object(child) && !json_is_array(child)) continue;
      rc = td__json_pointer_push_index(path, i);
      if (rc == 0) rc = check_shape(child, level + 1, max_depth, max_array, path, what);
      if (rc == 0) td__json_pointer_truncate(path, mark);
    }
    return rc;
  }
  const char *key;
  size_t key_len;
  json_t *child;
  json_object_keylen_foreach((json_t *)v, key, key_len, child) {
    if (!json_is_object(child) && !json_is_array(child)) continue;
    rc = td__json_pointer_push_key(path, key, key_len);
    if (rc == 0) rc = check_shape(child, level + 1, max_depth, max_array, path, what);
    if (rc != 0) break;
    td__json_pointer_truncate(path, mark);
  }
  return rc;
}

json_t *td__json_parse_limited(const char *buf, size_t len, int max_depth, size_t max_array,
                               char **err_pointer, char **err_message) {
  td__json_pointer_t path = {0};
  enum shape_violation what = TOO_DEEP;
  json_error_t jerr;
  char *pointer = NULL, *message = NULL;
  if (max_depth <= 0) max_depth = TD__JSON_DEFAULT_MAX_DEPTH;
  if (max_array == 0) max_array = TD__JSON_DEFAULT_MAX_ARRAY;

  json_t *root = json_loadb(buf ? buf : "", buf ? len : 0, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  /* jansson leaves the text empty when its lexer cannot even allocate. */
  if (!root && (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0'))
    goto out; /* both outputs stay NULL */
  if (!root && json_error_code(&jerr) == json_error_stack_overflow) {
    /* jansson stops at 2048 levels, before we could walk the tree. */
    pointer = format_message("%s", "");
    message = format_message("nesting deeper than %d levels", max_depth);
    goto out;
  }
  if (!root) {
    pointer = format_message("%s", "");
    message = format_message("invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    goto out;
  }
  int rc = check_shape(root, 1, max_depth, max_array, &path, &what);
  if (rc == 0) goto out;
  json_decref(root);
  root = NULL;
  if (rc < 0) goto out; /* out of memory: both outputs stay NULL */
  pointer = format_message("%s", td__json_pointer_str(&path));
  if (what == TOO_DEEP)
    message = format_message("nesting deeper than %d levels", max_depth);
  else
    message = format_message("array longer than %zu elements", max_array);
out:
  td__json_pointer_free(&path);
  if (!root && (!pointer || !message)) {
    free(pointer);
    free(message);
    pointer = message = NULL;
  }
  if (err_pointer)
    *err_pointer = pointer;
  else
    free(pointer);
  if (err_message)
    *err_message = message;
  else
    free(message);
  return root;
}
