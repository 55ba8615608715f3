/* A multipart/form-data parser (RFC 7578 over RFC 2046) for a body in memory or mapped from
 * the file an upload was streamed to (nothing past its last byte is ever read, and it need
 * not be NUL-terminated). Parts point into the body (no copy of the data); their names, file
 * names and content types are copied. Strict where it matters for safety: the boundary must come from the
 * Content-Type, every delimiter line must end in CRLF, part headers are bounded in size and number, and the
 * closing delimiter must be present. */
#ifndef TD_UTIL_MULTIPART_H
#define TD_UTIL_MULTIPART_H

#include <stddef.h>

#define TD_MULTIPART_MAX_PARTS 16

typedef struct td__multipart_part {
  char *name;         /* the form field name (owned), never NULL */
  char *filename;     /* the file name as sent (owned, UTF-8 from filename* when given), or NULL */
  char *content_type; /* the part's Content-Type (owned), or NULL when absent */
  const char *data;   /* the part's bytes, borrowed from the body */
  size_t len;
} td__multipart_part_t;

typedef struct td__multipart {
  td__multipart_part_t parts[TD_MULTIPART_MAX_PARTS];
  size_t count;
} td__multipart_t;

/* Parses body[0..len) (borrowed; must outlive *out) sent with the Content-Type header
 * value content_type. Returns 0, or TD_EINVAL with *error set to a static sentence saying
 * what is wrong with the body (out is then empty). Always call td__multipart_free. */
int td__multipart_parse(const char *content_type, const char *body, size_t len, td__multipart_t *out,
                        const char **error);
/* The first part named name, or NULL. */
const td__multipart_part_t *td__multipart_find(const td__multipart_t *m, const char *name);
/* How many parts are named name. */
size_t td__multipart_count(const td__multipart_t *m, const char *name);
void td__multipart_free(td__multipart_t *m);

/* Copies the boundary parameter of a multipart Content-Type value into out (quotes
 * removed). Returns 0, or TD_EINVAL when it is missing, empty, longer than 70 characters or
 * not a multipart/form-data type. */
int td__multipart_boundary(const char *content_type, char *out, size_t size);

#endif
