/* Attachments: content-addressed file storage, file name and media type hygiene, and the
 * attachment records (see attachments.h). */
#include "domain/attachments.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/policy.h"
#include "domain/activities.h"
#include "domain/candidates.h"
#include "domain/events.h"
#include "domain/row_json.h"
#include "talentd/types.h"
#include "util/csv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

/* ---------- content storage ---------- */

static void log_io(const char *op, int err) {
  /* The path is not logged: it is derived from content, and the op says enough. */
  td__log(TD_LOG_ERROR, "attachment_io_failed", json_pack("{s:s,s:s}", "op", op, "error", strerror(err)));
}

/* Creates dir (0700) if missing; a new directory's entry is made durable in its parent. */
static int ensure_dir(const char *dir, const char *parent) {
  if (mkdir(dir, 0700) != 0) {
    if (errno == EEXIST) return 0;
    log_io("mkdir", errno);
    return TD_EIO;
  }
  int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    log_io("fsync_dir", errno);
    if (fd >= 0) close(fd);
    return TD_EIO;
  }
  close(fd);
  return 0;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Writes bytes to a temporary file in dir, fsyncs it and renames it to final. */
static int write_atomically(const char *dir, const char *final, const void *bytes, size_t len) {
  char *tmp = td__xprintf("%s/.tmp-XXXXXX", dir);
  int fd = mkostemp(tmp, O_CLOEXEC);
  int rc = TD_EIO;
  if (fd < 0) {
    log_io("mkstemp", errno);
    free(tmp);
    return TD_EIO;
  }
  if (write_all(fd, bytes, len) != 0)
    log_io("write", errno);
  else if (fsync(fd) != 0)
    log_io("fsync", errno);
  else
    rc = 0;
  if (close(fd) != 0 && rc == 0) {
    log_io("close", errno);
    rc = TD_EIO;
  }
  if (rc == 0 && rename(tmp, final) != 0) {
    log_io("rename", errno);
    rc = TD_EIO;
  }
  if (rc != 0) unlink(tmp);
  free(tmp);
  if (rc == 0) {
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
      log_io("fsync_dir", errno);
      rc = TD_EIO;
    }
    if (dfd >= 0) close(dfd);
  }
  return rc;
}

int td__attachment_store(const char *data_dir, const void *bytes, size_t len,
                         char sha256_hex[TD_SHA256_HEX]) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, bytes, len);
  sodium_bin2hex(sha256_hex, TD_SHA256_HEX, digest, sizeof digest);
  char *root = td__xprintf("%s/attachments", data_dir);
  char *dir = td__xprintf("%s/%.2s", root, sha256_hex);
  char *final = td__xprintf("%s/%s", dir, sha256_hex + 2);
  int rc = ensure_dir(root, data_dir);
  if (rc == 0) rc = ensure_dir(dir, root);
  struct stat st;
  /* Same content already stored (its rename made it whole): nothing to write. */
  if (rc == 0 && !(stat(final, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len))
    rc = write_atomically(dir, final, bytes, len);
  free(final);
  free(dir);
  free(root);
  return rc;
}

static bool is_hex_digest(const char *s) {
  size_t n = 0;
  for (; s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))) return false;
  return n == 64;
}

int td__attachment_load(const char *data_dir, const char *sha256_hex, size_t expected, char **out,
                        size_t *len) {
  *out = NULL;
  *len = 0;
  if (!is_hex_digest(sha256_hex)) return TD_ENOTFOUND;
  char *path = td__xprintf("%s/attachments/%.2s/%s", data_dir, sha256_hex, sha256_hex + 2);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  if (fd < 0) return errno == ENOENT ? TD_ENOTFOUND : TD_EIO;
  struct stat st;
  if (fstat(fd, &st) != 0 || (size_t)st.st_size != expected) {
    close(fd);
    return TD_ENOTFOUND;
  }
  char *buf = td__xmalloc(expected + 1);
  size_t got = 0;
  while (got < expected) {
    ssize_t n = read(fd, buf + got, expected - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (got != expected) {
    free(buf);
    return TD_EIO;
  }
  *out = buf;
  *len = got;
  return 0;
}

/* ---------- file names and media types ---------- */

/* Bidirectional controls (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) can make
 * "cv\u202Efdp.exe" display as "cv.exe.pdf": never kept. */
static bool is_bidi_control(const unsigned char *p, size_t n) {
  if (n < 3 || p[0] != 0xE2) return false;
  if (p[1] == 0x80) return p[2] == 0x8E || p[2] == 0x8F || (p[2] >= 0xAA && p[2] <= 0xAE);
  return p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9;
}

static size_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

/* Cuts s (len bytes) to at most max bytes, keeping a short extension. */
static void cut_keeping_extension(char *s, size_t len, size_t max) {
  if (len <= max) return;
  const char *dot = strrchr(s, '.');
  size_t ext = dot && len - (size_t)(dot - s) <= 16 ? len - (size_t)(dot - s) : 0;
  size_t keep = max - ext;
  while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80) keep--; /* on a character start */
  memmove(s + keep, s + len - ext, ext);
  s[keep + ext] = '\0';
}

void td__attachment_clean_filename(const char *raw, char out[TD_ATTACHMENT_NAME_MAX + 1]) {
  const char *base = raw ? raw : "";
  for (const char *p = base; *p; p++)
    if (*p == '/' || *p == '\\') base = p + 1;
  td__buf_t b = {0};
  const unsigned char *p = (const unsigned char *)base;
  size_t n = strlen(base);
  for (size_t i = 0; i < n;) {
    size_t k = utf8_len(p[i]);
    if (p[i] < 0x20 || p[i] == 0x7F) {
      k = 1; /* control characters are dropped */
    } else if (i + k > n || !td__utf8_valid((const char *)p + i, k)) {
      td__buf_append(&b, "_", 1);
      k = 1;
    } else if (!is_bidi_control(p + i, k)) {
      td__buf_append(&b, p + i, k);
    }
    i += k;
  }
  char *s = b.data ? b.data : td__xstrdup("");
  size_t start = strspn(s, ". ");
  size_t len = strlen(s + start);
  while (len > 0 && (s[start + len - 1] == ' ' || s[start + len - 1] == '.')) len--;
  s[start + len] = '\0';
  memmove(s, s + start, len + 1);
  cut_keeping_extension(s, len, TD_ATTACHMENT_NAME_MAX);
  snprintf(out, TD_ATTACHMENT_NAME_MAX + 1, "%s", s[0] ? s : "attachment");
  free(s);
}

typedef struct known_type {
  const char *type;
  const char *magic; /* leading bytes, or NULL when the type has none to check */
  size_t magic_len;
  bool text; /* no NUL byte may appear in the first 8 KiB */
} known_type_t;

/* Inert types a browser may be told about. Everything else is served as a download of
 * application/octet-stream. */
static const known_type_t known[] = {
    {"application/pdf", "%PDF-", 5, false},
    {"image/png", "\x89PNG\r\n\x1a\n", 8, false},
    {"image/jpeg", "\xFF\xD8\xFF", 3, false},
    {"image/gif", "GIF8", 4, false},
    {"application/msword", "\xD0\xCF\x11\xE0", 4, false},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "PK\x03\x04", 4, false},
    {"application/vnd.oasis.opendocument.text", "PK\x03\x04", 4, false},
    {"application/zip", "PK\x03\x04", 4, false},
    {"application/rtf", "{\\rtf", 5, false},
    {"text/plain", NULL, 0, true},
    {"text/csv", NULL, 0, true},
};

static bool bytes_fit(const known_type_t *k, const char *bytes, size_t len) {
  if (k->magic && (len < k->magic_len || memcmp(bytes, k->magic, k->magic_len) != 0)) return false;
  if (k->text && memchr(bytes, '\0', len < 8192 ? len : 8192)) return false;
  return true;
}

static bool type_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$&-^_.+", c));
}

void td__attachment_media_type(const char *declared, const char *bytes, size_t len,
                               char out[TD_MEDIA_TYPE_MAX]) {
  size_t n = 0, slashes = 0;
  bool ok = declared != NULL;
  for (const char *p = declared ? declared : ""; *p && *p != ';' && ok; p++) {
    char c = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    if (c == ' ' || c == '\t') continue;
    if (c == '/')
      slashes++;
    else if (!type_char(c))
      ok = false;
    if (n + 1 >= TD_MEDIA_TYPE_MAX)
      ok = false;
    else
      out[n++] = c;
  }
  out[n] = '\0';
  ok = ok && slashes == 1 && out[0] != '/' && out[n - 1] != '/';
  if (ok && strcmp(out, "application/octet-stream") != 0) return;
  /* Missing or generic: what do the bytes say? Only types with a signature count. */
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    if (known[i].magic && bytes_fit(&known[i], bytes, len)) {
      snprintf(out, TD_MEDIA_TYPE_MAX, "%s", known[i].type);
      return;
    }
  }
  snprintf(out, TD_MEDIA_TYPE_MAX, "application/octet-stream");
}

const char *td__attachment_served_type(const char *recorded, const char *bytes, size_t len) {
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(recorded, known[i].type) == 0 && bytes_fit(&known[i], bytes, len)) return known[i].type;
  return "application/octet-stream";
}

/* ---------- records ---------- */

#define ATTACHMENT_COLUMNS \
  "a.rowid, a.id, c.id, a.sha256, a.filename, a.content_type, a.size, a.uploaded_by, a.created_at"

static json_t *attachment_json(td__stmt_t *st) {
  char created[32];
  td__time_format(td__stmt_int(st, 8), created, sizeof created);
  return json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:o,s:s}", "id", td__stmt_text(st, 1), "candidate_id",
                   td__stmt_text(st, 2), "filename", td__stmt_text(st, 4), "content_type",
                   td__stmt_text(st, 5), "size", (json_int_t)td__stmt_int(st, 6), "sha256",
                   td__stmt_text(st, 3), "uploaded_by", td__row_text(st, 7), "created_at", created);
}

/* The candidate (or the survivor of a merge) is visible to ctx's principal and its role
 * may take action on attachments. */
static int check_candidate(td__ctx_t *ctx, const char *candidate_id, td__action_t action, int64_t *rowid,
                           char current_id[TD_ID_MAX]) {
  td__candidate_ref_t ref;
  int rc = td__candidate_find(ctx, candidate_id, &ref);
  if (rc) return rc;
  if (!td__policy_can(&ctx->principal, TD_RES_ATTACHMENT, action)) return td__fail_forbidden(ctx);
  *rowid = ref.rowid;
  snprintf(current_id, TD_ID_MAX, "%s", ref.id);
  return 0;
}

int td__attachment_check_upload(td__ctx_t *ctx, const char *candidate_id) {
  int64_t rowid;
  char current[TD_ID_MAX];
  return check_candidate(ctx, candidate_id, TD_ACT_CREATE, &rowid, current);
}

static int load_attachment(td__ctx_t *ctx, const char *id, json_t **out) {
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT " ATTACHMENT_COLUMNS
                                        " FROM attachments a"
                                        " JOIN candidates c ON c.rowid = a.candidate_rowid WHERE a.id = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, id);
  int rc = td__stmt_step(st);
  if (rc < 0) return td__fail_internal(ctx, rc);
  if (rc == 0) {
    td__fail_not_found(ctx, "attachment");
    return TD_ENOTFOUND;
  }
  *out = attachment_json(st);
  td__stmt_reset(st);
  return 0;
}

static int insert_row(td__ctx_t *ctx, const td__attachment_new_t *a, int64_t candidate_rowid,
                      const char *id) {
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO attachments(id, candidate_rowid, sha256, filename, content_type,"
                               " size, uploaded_by, created_at) VALUES (?,?,?,?,?,?,?,?)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id);
  td__stmt_bind_int(st, 2, candidate_rowid);
  td__stmt_bind_text(st, 3, a->sha256);
  td__stmt_bind_text(st, 4, a->filename);
  td__stmt_bind_text(st, 5, a->content_type);
  td__stmt_bind_int(st, 6, a->size);
  td__stmt_bind_text(st, 7, td__ctx_actor_id(ctx));
  td__stmt_bind_int(st, 8, ctx->now_ms);
  return td__stmt_run(st);
}

int td__attachment_create(td__ctx_t *ctx, const td__attachment_new_t *a, json_t **out) {
  *out = NULL;
  int64_t candidate_rowid;
  char candidate_id[TD_ID_MAX], id[TD_ID_MAX];
  int rc = check_candidate(ctx, a->candidate_id, TD_ACT_CREATE, &candidate_rowid, candidate_id);
  if (rc) return rc;
  td__id_new("att", id);
  rc = insert_row(ctx, a, candidate_rowid, id);
  if (rc == 0) {
    json_t *data =
        json_pack("{s:s,s:s,s:I}", "attachment_id", id, "filename", a->filename, "size", (json_int_t)a->size);
    td__activity_t act = {.candidate_rowid = candidate_rowid, .kind = "attachment", .data = data};
    rc = td__activity_add(ctx, &act, NULL);
    json_decref(data);
  }
  if (rc == 0)
    rc = td__event_emit(
        ctx, "attachment.created", "attachment", id,
        json_pack("{s:s,s:s,s:s,s:I,s:s}", "candidate_id", candidate_id, "filename", a->filename,
                  "content_type", a->content_type, "size", (json_int_t)a->size, "sha256", a->sha256));
  if (rc) return td__fail_internal(ctx, rc);
  return load_attachment(ctx, id, out);
}

int td__attachment_get(td__ctx_t *ctx, const char *id, json_t **out) {
  *out = NULL;
  json_t *att = NULL;
  int rc = load_attachment(ctx, id, &att);
  if (rc) return rc;
  int64_t rowid;
  char current[TD_ID_MAX];
  rc = check_candidate(ctx, json_string_value(json_object_get(att, "candidate_id")), TD_ACT_READ, &rowid,
                       current);
  if (rc && json_integer_value(json_object_get(ctx->problem, "status")) == 404) {
    /* Say "attachment", not "candidate": the caller asked for an attachment. */
    td__ctx_dispose(ctx);
    td__fail_not_found(ctx, "attachment");
  }
  if (rc) {
    json_decref(att);
    return rc;
  }
  *out = att;
  return 0;
}

int td__attachment_list(td__ctx_t *ctx, const char *candidate_id, int limit, int64_t after, json_t **items,
                        int64_t *next_rowid) {
  *items = NULL;
  *next_rowid = 0;
  int64_t rowid;
  char current[TD_ID_MAX];
  int rc = check_candidate(ctx, candidate_id, TD_ACT_READ, &rowid, current);
  if (rc) return rc;
  td__stmt_t *st =
      td__db_stmt(ctx->db, "SELECT " ATTACHMENT_COLUMNS
                           " FROM attachments a"
                           " JOIN candidates c ON c.rowid = a.candidate_rowid"
                           " WHERE a.candidate_rowid = ? AND a.rowid > ? ORDER BY a.rowid LIMIT ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, rowid);
  td__stmt_bind_int(st, 2, after);
  td__stmt_bind_int(st, 3, limit + 1);
  return td__row_page(ctx, st, 0, limit, attachment_json, items, next_rowid);
}
