/* /api/v1 attachments: upload to a candidate (multipart/form-data), list a candidate's
 * files, download one. An upload is READ_THEN_WRITE: the read part (pool thread) checks
 * the caller, parses the body and stores the content on disk; only the row is written in
 * the writer's transaction, so no file I/O ever holds the writer up.
 *
 * The HTTP layer streams an upload (up to http.max_upload_bytes, 10 MiB) to a temporary
 * file under DATA/tmp as it arrives (TD_ROUTE_UPLOAD); the read part maps that file, so an
 * upload never sits in the server's heap. The file is removed when the request is done. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/routes.h"
#include "domain/attachments.h"
#include "talentd/types.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/multipart.h"

typedef struct upload {
  char sha256[TD_SHA256_HEX];
  char filename[TD_ATTACHMENT_NAME_MAX + 1];
  char content_type[TD_MEDIA_TYPE_MAX];
  int64_t size;
} upload_t;

/* Finds the one part named "file", or sets the problem. */
static const td__multipart_part_t *file_part(td__call_t *call, const td__multipart_t *m) {
  size_t n = td__multipart_count(m, "file");
  if (n == 1 && td__multipart_find(m, "file")->len > 0) return td__multipart_find(m, "file");
  td__problem_field(call, "/file",
                    n == 0  ? "is required: send the file as a multipart part named file"
                    : n > 1 ? "must be sent once; upload one file per request"
                            : "is empty; choose a file with content");
  return NULL;
}

/* Read part: who may upload, the body, and the content on disk. */
static int upload_store(td__call_t *call) {
  const char *ctype = td__http_header(call->req, "content-type");
  if (ctype == NULL || strncasecmp(ctype, "multipart/form-data", 19) != 0)
    return td__problem(call, 415, "Unsupported media type",
                       "send the file as multipart/form-data with one part named file");
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  if (td__call_from_ctx(call, &ctx, td__attachment_check_upload(&ctx, call->params[0])) != 0)
    return TD_EINVAL;
  td__http_body_view_t body;
  if (td__http_body_map(call->req, &body) != 0) return td__problem_internal(call, TD_EIO);
  td__multipart_t m;
  const char *why = NULL;
  if (td__multipart_parse(ctype, body.data, body.len, &m, &why) != 0) {
    td__http_body_unmap(&body);
    return td__problem(call, 400, "Malformed multipart body", why);
  }
  const td__multipart_part_t *part = file_part(call, &m);
  int rc = part ? 0 : TD_EINVAL;
  if (rc == 0) {
    upload_t *up = td__xcalloc(1, sizeof *up);
    call->state = up;
    call->state_free = free;
    td__attachment_clean_filename(part->filename, up->filename);
    td__attachment_media_type(part->content_type, part->data, part->len, up->content_type);
    up->size = (int64_t)part->len;
    rc = td__attachment_store(call->app->data_dir, part->data, part->len, up->sha256);
    if (rc) td__problem_internal(call, rc);
  }
  td__multipart_free(&m);
  td__http_body_unmap(&body);
  return rc;
}

/* Write part: the row, activity and event. */
static int upload_record(td__call_t *call) {
  const upload_t *up = call->state;
  td__attachment_new_t a = {.candidate_id = call->params[0],
                            .sha256 = up->sha256,
                            .filename = up->filename,
                            .content_type = up->content_type,
                            .size = up->size};
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *att = NULL;
  int rc = td__attachment_create(&ctx, &a, &att);
  if (td__call_from_ctx(call, &ctx, rc) != 0) return TD_EINVAL;
  const char *id = json_string_value(json_object_get(att, "id"));
  td__call_set_location(call, "/api/v1/attachments", id);
  td__call_audit(call, "attachment", id);
  td__call_set_result(call, 201, att);
  return 0;
}

/* The attachments of the candidate named in the path (arg). */
static int list_attachments(td__ctx_t *ctx, void *arg, int limit, int64_t after, json_t **items,
                            int64_t *next) {
  return td__attachment_list(ctx, arg, limit, after, items, next);
}

static int attachments_list(td__call_t *call) {
  return td__call_list(call, list_attachments, call->params[0]);
}

/* Content-Disposition: attachment with an ASCII fallback name and the exact UTF-8 name
 * percent-encoded in filename* (RFC 6266, RFC 8187). Nothing of the name reaches the
 * header unencoded except printable ASCII other than '"', '\\' and '%'. */
static void disposition(const char *filename, td__buf_t *out) {
  td__buf_puts(out, "attachment; filename=\"");
  for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
    char c = (*p >= 0x20 && *p < 0x7F && *p != '"' && *p != '\\' && *p != '%') ? (char)*p : '_';
    td__buf_append(out, &c, 1);
  }
  td__buf_puts(out, "\"; filename*=UTF-8''");
  for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
    bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 strchr("!#$&+-.^_`|~", *p);
    if (plain)
      td__buf_append(out, p, 1);
    else
      td__buf_printf(out, "%%%02X", *p);
  }
}

/* The bytes, as a download: Content-Disposition attachment, an inert Content-Type (the
 * server adds X-Content-Type-Options: nosniff to every response). */
static int attachment_download(td__call_t *call) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *att = NULL;
  int rc = td__attachment_get(&ctx, call->params[0], &att);
  if (td__call_from_ctx(call, &ctx, rc) != 0) return TD_EINVAL;
  size_t size = (size_t)json_integer_value(json_object_get(att, "size"));
  char *bytes = NULL;
  size_t len = 0;
  rc = td__attachment_load(call->app->data_dir, json_string_value(json_object_get(att, "sha256")), size,
                           &bytes, &len);
  if (rc) {
    json_decref(att);
    return td__problem_internal(call, rc == TD_ENOTFOUND ? TD_EIO : rc); /* a row without its content */
  }
  td__buf_t value = {0};
  disposition(json_string_value(json_object_get(att, "filename")), &value);
  td__http_header_add(&call->headers, "Content-Disposition", value.data);
  td__buf_free(&value);
  call->raw_type =
      td__attachment_served_type(json_string_value(json_object_get(att, "content_type")), bytes, len);
  call->raw_body = bytes;
  call->raw_len = len;
  call->status = 200;
  json_decref(att);
  return 0;
}

const td__route_t td__routes_attachments[] = {
    {"POST", "/api/v1/candidates/{id}/attachments", TD_RUN_READ_THEN_WRITE, upload_store, upload_record, NULL,
     TD_ROUTE_UPLOAD},
    {"GET", "/api/v1/candidates/{id}/attachments", TD_RUN_READ, attachments_list, NULL, NULL, 0},
    {"GET", "/api/v1/attachments/{id}", TD_RUN_READ, attachment_download, NULL, NULL, 0},
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};
