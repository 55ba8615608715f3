/* Attachments: files on a candidate (CVs, portfolios, signed offers). The bytes are stored
 * once per content under DATA/attachments/ab/cdef... (the sha256 in hex, split after two
 * characters); each upload is a row pointing at its content. Storing a file is disk I/O,
 * so it happens before the writer transaction (td__attachment_store on a pool thread);
 * the row, the activity and the event are written inside it (td__attachment_create).
 *
 * Roles: td__policy_can(TD_RES_ATTACHMENT, ...) on top of candidate visibility: a caller
 * who cannot see the candidate gets 404, one whose role may not read or upload gets 403. */
#ifndef TD_DOMAIN_ATTACHMENTS_H
#define TD_DOMAIN_ATTACHMENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/context.h"

#define TD_SHA256_HEX 65           /* 64 hex digits and a NUL */
#define TD_ATTACHMENT_NAME_MAX 200 /* bytes of a stored file name */
#define TD_MEDIA_TYPE_MAX 128

/* --- content storage (no database) --- */

/* Stores bytes under data_dir by their sha256 (written to a temporary file in the target
 * directory, fsynced, renamed, directory fsynced; content already present is not written
 * again). Writes the hex digest to sha256_hex. Returns 0 or TD_EIO (logged, no path). */
int td__attachment_store(const char *data_dir, const void *bytes, size_t len, char sha256_hex[TD_SHA256_HEX]);
/* Reads the stored content sha256_hex, which must be exactly `expected` bytes. *out is a
 * new allocation. Returns 0, TD_ENOTFOUND (missing or wrong size) or TD_EIO. */
int td__attachment_load(const char *data_dir, const char *sha256_hex, size_t expected, char **out,
                        size_t *len);

/* --- input hygiene --- */

/* A safe file name from what a client sent (may be NULL): no directories, no control or
 * bidirectional-override characters, valid UTF-8, no leading dots, at most
 * TD_ATTACHMENT_NAME_MAX bytes (the extension kept when cut); "attachment" when nothing
 * is left. out needs TD_ATTACHMENT_NAME_MAX + 1 bytes. */
void td__attachment_clean_filename(const char *raw, char out[TD_ATTACHMENT_NAME_MAX + 1]);
/* The media type to record: the declared one, lower-cased without parameters, when it is
 * well formed; when it is missing or generic, what the leading bytes show (PDF, PNG...);
 * else application/octet-stream. out needs TD_MEDIA_TYPE_MAX bytes. */
void td__attachment_media_type(const char *declared, const char *bytes, size_t len,
                               char out[TD_MEDIA_TYPE_MAX]);
/* The Content-Type to serve a download with: the recorded type when it is on a short list
 * of inert document and image types and the bytes agree with it, else
 * application/octet-stream (so HTML, SVG or scripts never render). Static string. */
const char *td__attachment_served_type(const char *recorded, const char *bytes, size_t len);

/* --- records --- */

/* Whether ctx's principal may attach files to candidate_id (its visibility, then its role).
 * Cheap enough to run before reading an upload's body. Refusals are on ctx. */
int td__attachment_check_upload(td__ctx_t *ctx, const char *candidate_id);

typedef struct td__attachment_new {
  const char *candidate_id;
  const char *sha256;       /* from td__attachment_store */
  const char *filename;     /* cleaned */
  const char *content_type; /* from td__attachment_media_type */
  int64_t size;
} td__attachment_new_t;

/* Records an upload whose content is stored: the row, a candidate activity and the event
 * attachment.created. Checks the candidate and role again (inside the transaction).
 * *out is the attachment JSON (new reference). */
int td__attachment_create(td__ctx_t *ctx, const td__attachment_new_t *a, json_t **out);

/* The attachment's JSON when ctx's principal may read it (404/403 on ctx otherwise). The
 * JSON carries sha256 and size, which a download needs. */
int td__attachment_get(td__ctx_t *ctx, const char *id, json_t **out);

/* One page of a candidate's attachments, newest last, after rowid `after`. */
int td__attachment_list(td__ctx_t *ctx, const char *candidate_id, int limit, int64_t after, json_t **items,
                        int64_t *next_rowid);

#endif
