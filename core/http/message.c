/* Helpers on HTTP messages shared by the parser and the server: header lookup, the safe
 * response-header setter, reason phrases, the token alphabet, a request's body wherever it
 * is kept, freeing a request. */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/parser.h"
#include "talentd/types.h"
#include "util/mem.h"

bool td__http_is_tchar(unsigned char c) {
  /* RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
   * "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. isalnum is locale-free in the C locale we run. */
  return (c < 0x80 && isalnum(c)) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void on_body_file_removed(uv_fs_t *fs) {
  uv_fs_req_cleanup(fs);
  free(fs);
}

/* Removes a body file: through the loop when there is one (the loop never waits on the
 * disk), else at once (a parser used without a server never has one). */
static void remove_body_file(td__http_request_t *r) {
  if (r->body_file.path == NULL) return;
  uv_fs_t *fs = r->loop ? td__xcalloc(1, sizeof *fs) : NULL;
  if (fs == NULL || uv_fs_unlink(r->loop, fs, r->body_file.path, on_body_file_removed) != 0) {
    free(fs);
    unlink(r->body_file.path);
  }
  free(r->body_file.path);
  r->body_file.path = NULL;
}

void td__http_request_free(td__http_request_t *r) {
  if (r == NULL) return;
  remove_body_file(r);
  free(r->spool_dir);
  for (size_t i = 0; i < r->header_count; i++) {
    free(r->headers[i].name);
    free(r->headers[i].value);
  }
  free(r->headers);
  free(r->target);
  free(r->path);
  free(r->query);
  td__buf_free(&r->body);
  td__buf_free(&r->response);
  free(r);
}

void td__http_body_to_file(const td__http_request_t *req, const char *dir) {
  /* The request is the parser's, not const: the callback's const only promises that what
   * was parsed stays as it is. Where the body goes is the callback's to say. */
  td__http_request_t *r = (td__http_request_t *)req;
  free(r->spool_dir);
  r->spool_dir = dir ? td__xstrdup(dir) : NULL;
}

int td__http_body_map(const td__http_request_t *req, td__http_body_view_t *view) {
  *view = (td__http_body_view_t){.data = req->body.data ? req->body.data : "", .len = req->body.len};
  if (req->body_file.path == NULL) return 0;
  *view = (td__http_body_view_t){.data = ""};
  if (req->body_file.size == 0) return 0;
  int fd = open(req->body_file.path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return TD_EIO;
  struct stat st;
  void *map = MAP_FAILED;
  if (fstat(fd, &st) == 0 && (size_t)st.st_size == req->body_file.size)
    map = mmap(NULL, req->body_file.size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return TD_EIO;
  madvise(map, req->body_file.size, MADV_SEQUENTIAL);
  *view = (td__http_body_view_t){
      .data = map, .len = req->body_file.size, .map = map, .map_len = req->body_file.size};
  return 0;
}

void td__http_body_unmap(td__http_body_view_t *view) {
  if (view->map) munmap(view->map, view->map_len);
  *view = (td__http_body_view_t){.data = ""};
}

const char *td__http_header(const td__http_request_t *req, const char *lower_name) {
  for (size_t i = 0; i < req->header_count; i++)
    if (strcmp(req->headers[i].name, lower_name) == 0) return req->headers[i].value;
  return NULL;
}

bool td__http_field_value_ok(const char *value, size_t value_len) {
  /* field-value = *( VCHAR / obs-text / SP / HTAB ): any other control byte could split the
   * response or confuse a downstream parser. */
  for (size_t i = 0; i < value_len; i++) {
    unsigned char c = (unsigned char)value[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

int td__http_header_addn(td__buf_t *headers, const char *name, const char *value, size_t value_len) {
  if (headers == NULL || name == NULL || *name == '\0' || value == NULL) return TD_EINVAL;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    if (!td__http_is_tchar(*p)) return TD_EINVAL;
  if (!td__http_field_value_ok(value, value_len)) return TD_EINVAL;
  td__buf_puts(headers, name);
  td__buf_puts(headers, ": ");
  td__buf_append(headers, value, value_len);
  td__buf_puts(headers, "\r\n");
  return 0;
}

int td__http_header_add(td__buf_t *headers, const char *name, const char *value) {
  return td__http_header_addn(headers, name, value, value ? strlen(value) : 0);
}

const char *td__http_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}
